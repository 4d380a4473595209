//! A worker's start: its number, and what a start that did not join failed of.

use std::time::Duration;

use super::retry::{retry_for, Retry};
use crate::model::WorkerFailure;

#[derive(Debug, Clone, Default)]
pub struct StartAttempt {
    /// The head stopped answering during the start: if it does not join, the network cut it off.
    cut_off: bool,
    /// The number of the latest start, which a drain of that worker carries (one at most).
    number: u64,
}

impl StartAttempt {
    pub fn started(&mut self) {
        self.number += 1;
        self.cut_off = false;
    }

    pub fn number(&self) -> u64 {
        self.number
    }

    pub fn cut_off(&mut self) {
        self.cut_off = true;
    }

    /// The start did not join `within` and was stopped: what it failed of. Its output ends with our
    /// SIGTERM, so only a named cause counts; a start the network cut off is an outage.
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
