//! The rogue-head rule: a head at a Tailscale address is reachable only while Tailscale
//! vouches for it.
//!
//! A TCP answer on 100.64.0.1:6379 proves nothing by itself: with Tailscale logged out or quit,
//! any network (a café's, a hotel's) may route that address to a machine of its own, and a
//! stock Ray head there would get a worker that runs its tasks as the user. So for a head whose
//! address is a Tailscale one ([`HeadAddress::is_tailscale`]) the probe also reports what
//! Tailscale says, and the head counts as reachable only when Tailscale is Running and the head
//! is an online machine of the tailnet. A LAN address or another name is not affected.

use std::time::Duration;

use super::events::HeadProbe;
use super::settings::{TAILSCALE_ANSWER_BEFORE_START, TAILSCALE_ANSWER_MAX_AGE};
use crate::model::{HeadAddress, TailscaleCheck, TailscaleProblem, Unreachable};

/// Why `probe`'s head cannot be joined now; `None`: it may be.
pub fn unreachable(probe: &HeadProbe) -> Option<Unreachable> {
    if !probe.head.is_tailscale() {
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

/// The oldest Tailscale answer that may vouch for `head` in the next probe: a recent one when
/// a start may follow it (a worker is never started on a verdict half a minute old), the
/// cached one otherwise (one `tailscale` process per half minute while idle).
pub fn answer_max_age(head: &HeadAddress, start_may_follow: bool) -> Duration {
    if head.is_tailscale() && start_may_follow {
        TAILSCALE_ANSWER_BEFORE_START
    } else {
        TAILSCALE_ANSWER_MAX_AGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(head: &str, tailscale: Option<TailscaleCheck>) -> HeadProbe {
        HeadProbe {
            head: head.parse().expect("head"),
            unreachable: None,
            tailscale,
        }
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
}
