//! A worker's start: whether the head's answers vouch for starting one, and what a start that
//! did not join failed of.

use std::time::Duration;

use super::retry::{retry_for, Retry};
use crate::model::WorkerFailure;

/// What the head's answers are worth to a start. A head at a Tailscale address is started on
/// only with an answer to a probe asked with the answer age a start needs: one asked while
/// nothing could start (paused, say) may be half a minute old.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Vouch {
    /// The probe last asked was not asked for a start.
    #[default]
    NotAsked,
    /// It was; no answer to it said the head is up.
    Asked,
    /// The head answered a probe asked for a start.
    Vouched,
}

/// The current start, and the count of starts.
#[derive(Debug, Clone, Default)]
pub struct StartAttempt {
    vouch: Vouch,
    /// The head stopped answering while the current worker was starting: a start that then
    /// does not join was cut off by the network, not broken.
    cut_off: bool,
    /// The number of the latest start; a drain of that worker carries it (a worker is drained
    /// once at most).
    number: u64,
}

impl StartAttempt {
    /// A probe is asked, `for_start` with the answer age a start needs.
    pub fn probe_asked(&mut self, for_start: bool) {
        self.vouch = match (for_start, self.vouch) {
            (false, _) => Vouch::NotAsked,
            (true, Vouch::Vouched) => Vouch::Vouched,
            (true, _) => Vouch::Asked,
        };
    }

    /// An answer: the head may be joined (`up`) or not.
    pub fn probe_answered(&mut self, up: bool) {
        self.vouch = match (self.vouch, up) {
            (Vouch::NotAsked, _) => Vouch::NotAsked,
            (_, true) => Vouch::Vouched,
            (_, false) => Vouch::Asked,
        };
    }

    /// Whether the head's latest answer may start a worker at a Tailscale address.
    pub fn vouched(&self) -> bool {
        self.vouch == Vouch::Vouched
    }

    /// A worker is started.
    pub fn started(&mut self) {
        self.number += 1;
        self.cut_off = false;
    }

    /// The number of the latest start.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The head stopped answering while the worker was starting.
    pub fn cut_off(&mut self) {
        self.cut_off = true;
    }

    /// The start did not join `within` and was stopped: what it failed of. Its output ends
    /// with our own SIGTERM ("received SIGTERM. Draining…"), so only an explanation that names
    /// a cause counts. A start the network cut off is an outage, never counted towards the
    /// breaker.
    pub fn join_timed_out(
        &mut self,
        said: Option<WorkerFailure>,
        within: Duration,
    ) -> WorkerFailure {
        let failure = match said {
            Some(WorkerFailure::Crashed { .. } | WorkerFailure::ExitedSilently { .. }) | None => {
                WorkerFailure::DidNotJoin {
                    within_secs: within.as_secs(),
                }
            }
            Some(named) => named,
        };
        if std::mem::take(&mut self.cut_off) && retry_for(&failure) != Retry::Never {
            WorkerFailure::HeadUnreachable
        } else {
            failure
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_answer_to_a_probe_asked_for_a_start_vouches() {
        let mut start = StartAttempt::default();
        start.probe_asked(false);
        start.probe_answered(true);
        assert!(!start.vouched(), "asked while nothing could start");
        start.probe_asked(true);
        assert!(!start.vouched());
        start.probe_answered(false);
        assert!(!start.vouched());
        start.probe_answered(true);
        assert!(start.vouched());
        start.probe_asked(true);
        assert!(start.vouched(), "until the next answer");
        start.probe_asked(false);
        assert!(!start.vouched());
    }

    #[test]
    fn a_start_cut_off_by_the_network_is_an_outage_unless_retrying_cannot_help() {
        let within = Duration::from_secs(120);
        let did_not_join = WorkerFailure::DidNotJoin { within_secs: 120 };
        let mut start = StartAttempt::default();
        start.started();
        assert_eq!(start.number(), 1);
        let sigterm = WorkerFailure::Crashed {
            last_line: "received SIGTERM. Draining".into(),
        };
        assert_eq!(start.join_timed_out(Some(sigterm), within), did_not_join);
        start.cut_off();
        assert_eq!(
            start.join_timed_out(None, within),
            WorkerFailure::HeadUnreachable
        );
        assert_eq!(start.join_timed_out(None, within), did_not_join, "once");
        start.cut_off();
        assert_eq!(
            start.join_timed_out(Some(WorkerFailure::AuthRefused), within),
            WorkerFailure::AuthRefused
        );
        start.cut_off();
        start.started();
        assert_eq!(start.join_timed_out(None, within), did_not_join);
    }
}
