//! The rogue-head rule: a head at a Tailscale address is reachable only while Tailscale vouches.
//!
//! With Tailscale logged out or quit, any network (a café's) may route 100.64.0.1 to a machine
//! of its own, and a stock Ray head there would get a worker that runs its tasks as the user. So
//! a head reached through Tailscale ([`HeadAddress::through_tailscale`]) counts as reachable only
//! when Tailscale is Running and vouches for that address as an online machine of the tailnet.

use std::time::Duration;

use super::events::HeadProbe;
use super::settings::{
    TAILSCALE_ANSWER_BEFORE_START, TAILSCALE_ANSWER_MAX_AGE, TAILSCALE_VOUCH_KEPT,
};
use crate::model::{HeadAddress, TailscaleCheck, TailscaleProblem, Unreachable};

/// Why `probe`'s head cannot be joined now; `None`: it may be.
pub fn unreachable(probe: &HeadProbe) -> Option<Unreachable> {
    if !probe.through_tailscale() {
        return probe.unreachable.clone();
    }
    match &probe.tailscale {
        Some(TailscaleCheck::OnlinePeer) => probe.unreachable.clone(),
        Some(TailscaleCheck::Problem { problem }) => Some(Unreachable::Tailscale {
            problem: problem.clone(),
        }),
        // Not asked: nothing vouches for the head.
        None => Some(Unreachable::Tailscale {
            problem: TailscaleProblem::NotAnswering,
        }),
    }
}

/// The oldest Tailscale answer that may vouch for `head` in the next probe: a new one after a
/// network change (what vouched may be gone), a recent one when a start may follow it (a
/// worker is never started on a verdict half a minute old), else the kept one.
pub fn answer_max_age(
    head: &HeadAddress,
    start_may_follow: bool,
    network_changed: bool,
) -> Duration {
    if !head.may_be_tailscale() {
        TAILSCALE_ANSWER_MAX_AGE
    } else if network_changed {
        Duration::ZERO
    } else if start_may_follow {
        TAILSCALE_ANSWER_BEFORE_START
    } else {
        TAILSCALE_VOUCH_KEPT
    }
}

/// How old an answer the probe uses once it knows whether the head answered: `asked` for one
/// that did (the answer may vouch for it), else the one kept to explain why.
pub fn answer_max_age_after_connect(asked: Duration, head_answered: bool) -> Duration {
    if head_answered {
        asked
    } else {
        TAILSCALE_ANSWER_MAX_AGE
    }
}

/// Whether an answer that did not vouch, taken under `asked`, is asked again with
/// [`TAILSCALE_ANSWER_MAX_AGE`]: a problem (stopped, logged out) is kept less than a vouch.
pub fn refresh_a_problem(asked: Duration) -> bool {
    asked > TAILSCALE_ANSWER_MAX_AGE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(head: &str, tailscale: Option<TailscaleCheck>) -> HeadProbe {
        let head: HeadAddress = head.parse().expect("head");
        HeadProbe {
            resolved: head.ip(),
            head,
            unreachable: None,
            tailscale,
        }
    }

    /// A probe of the name `head`, which resolved to `ip`.
    fn probe_of_name(head: &str, ip: &str, tailscale: Option<TailscaleCheck>) -> HeadProbe {
        HeadProbe {
            resolved: Some(ip.parse().expect("ip")),
            ..probe(head, tailscale)
        }
    }

    #[test]
    fn how_old_an_answer_may_vouch() {
        let ts: HeadAddress = "100.64.0.1".parse().expect("head");
        let lan: HeadAddress = "192.168.1.10".parse().expect("head");
        assert_eq!(answer_max_age(&ts, true, true), Duration::ZERO);
        assert_eq!(answer_max_age(&ts, false, true), Duration::ZERO);
        assert_eq!(
            answer_max_age(&ts, true, false),
            TAILSCALE_ANSWER_BEFORE_START
        );
        assert_eq!(answer_max_age(&ts, false, false), TAILSCALE_VOUCH_KEPT);
        assert_eq!(answer_max_age(&lan, true, true), TAILSCALE_ANSWER_MAX_AGE);
        // A name may resolve to a Tailscale address (MagicDNS short names do).
        let name: HeadAddress = "desktop".parse().expect("head");
        assert_eq!(
            answer_max_age(&name, true, false),
            TAILSCALE_ANSWER_BEFORE_START
        );
        assert_eq!(
            answer_max_age_after_connect(TAILSCALE_VOUCH_KEPT, true),
            TAILSCALE_VOUCH_KEPT
        );
        assert_eq!(
            answer_max_age_after_connect(Duration::ZERO, false),
            TAILSCALE_ANSWER_MAX_AGE
        );
        assert!(refresh_a_problem(TAILSCALE_VOUCH_KEPT));
        assert!(!refresh_a_problem(TAILSCALE_ANSWER_BEFORE_START));
    }

    #[test]
    fn a_tailscale_head_needs_tailscale_to_vouch_for_it() {
        let stopped = TailscaleCheck::Problem {
            problem: TailscaleProblem::Stopped,
        };
        assert_eq!(
            unreachable(&probe("100.64.0.1", Some(stopped.clone()))),
            Some(Unreachable::Tailscale {
                problem: TailscaleProblem::Stopped
            })
        );
        assert_eq!(
            unreachable(&probe("desktop.tail1234.ts.net", None)),
            Some(Unreachable::Tailscale {
                problem: TailscaleProblem::NotAnswering
            })
        );
        assert_eq!(
            unreachable(&probe("100.64.0.1", Some(TailscaleCheck::OnlinePeer))),
            None
        );
        // A LAN head is not Tailscale's business.
        assert_eq!(unreachable(&probe("192.168.1.10", Some(stopped))), None);
        assert_eq!(unreachable(&probe("127.0.0.1", None)), None);
    }

    #[test]
    fn a_name_is_judged_by_the_address_it_resolved_to() {
        let stopped = TailscaleCheck::Problem {
            problem: TailscaleProblem::Stopped,
        };
        for name in ["desktop", "rayhead.example.com"] {
            assert_eq!(
                unreachable(&probe_of_name(name, "100.64.0.1", Some(stopped.clone()))),
                Some(Unreachable::Tailscale {
                    problem: TailscaleProblem::Stopped
                }),
                "{name}"
            );
            assert!(
                unreachable(&probe_of_name(name, "100.100.7.9", None)).is_some(),
                "{name}: nothing vouched"
            );
            let vouched = Some(TailscaleCheck::OnlinePeer);
            assert_eq!(
                unreachable(&probe_of_name(name, "100.64.0.1", vouched)),
                None
            );
            assert_eq!(
                unreachable(&probe_of_name(name, "192.168.1.10", None)),
                None
            );
        }
    }
}
