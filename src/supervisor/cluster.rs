//! The cluster's size for the menu: asked of the head's dashboard at once on connecting and
//! every [`CLUSTER_ASK_EVERY`] while connected to a real head, never of the built-in demo head
//! (it runs no dashboard worth a request, and its cluster is this machine), and forgotten when
//! not connected. The deadline is [`Timer::ClusterAsk`] in the supervisor's one table.

use std::time::Instant;

use super::settings::CLUSTER_ASK_EVERY;
use super::timers::{Timer, Timers};
use crate::model::{ClusterSize, Phase, Status};

/// The cluster's size while it is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterAsks {
    /// The head is asked now.
    asking: bool,
    /// Its last answer.
    size: Option<ClusterSize>,
}

impl ClusterAsks {
    /// Follows the state after each step: the first ask at once on connecting, none and no
    /// figure otherwise.
    pub fn follow(&mut self, now: Instant, status: &Status, timers: &mut Timers) {
        let wanted = status.phase == Phase::Connected && !status.demo;
        if wanted && !self.asking {
            timers.set(Timer::ClusterAsk, now);
        } else if !wanted {
            timers.stop(Timer::ClusterAsk);
            self.size = None;
        }
        self.asking = wanted;
    }

    /// [`Timer::ClusterAsk`] fired: ask now, and again in [`CLUSTER_ASK_EVERY`].
    pub fn ask(&mut self, now: Instant, timers: &mut Timers) -> bool {
        if self.asking {
            timers.set(Timer::ClusterAsk, now + CLUSTER_ASK_EVERY);
        }
        self.asking
    }

    /// The dashboard's answer (`None`: it did not answer); one that comes after the connection
    /// ended is dropped.
    pub fn answered(&mut self, size: Option<ClusterSize>) {
        if self.asking {
            self.size = size;
        }
    }

    /// The figure for the menu.
    pub fn size(&self) -> Option<ClusterSize> {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(phase: Phase, demo: bool) -> Status {
        Status {
            phase,
            demo,
            ..Status::default()
        }
    }

    const SIZE: ClusterSize = ClusterSize { cpus: 22, nodes: 2 };

    #[test]
    fn asked_at_once_on_connecting_then_every_half_minute_and_forgotten_after() {
        let (t0, mut timers) = (Instant::now(), Timers::default());
        let mut asks = ClusterAsks::default();
        asks.follow(t0, &status(Phase::Starting, false), &mut timers);
        assert_eq!(timers.next(), None, "not before the worker joined");
        asks.follow(t0, &status(Phase::Connected, false), &mut timers);
        assert_eq!(timers.take_expired(t0), [Timer::ClusterAsk]);
        assert!(asks.ask(t0, &mut timers));
        asks.answered(Some(SIZE));
        assert_eq!(asks.size(), Some(SIZE));
        // Later steps while connected do not move the cadence.
        asks.follow(t0, &status(Phase::Connected, false), &mut timers);
        assert_eq!(timers.get(Timer::ClusterAsk), Some(t0 + CLUSTER_ASK_EVERY));
        asks.follow(t0, &status(Phase::Disconnecting, false), &mut timers);
        assert_eq!(timers.next(), None);
        assert_eq!(asks.size(), None, "no figure once the connection went");
        asks.answered(Some(SIZE));
        assert_eq!(asks.size(), None, "a late answer is dropped");
    }

    #[test]
    fn the_demo_head_is_never_asked() {
        let (t0, mut timers) = (Instant::now(), Timers::default());
        let mut asks = ClusterAsks::default();
        asks.follow(t0, &status(Phase::Connected, true), &mut timers);
        assert_eq!(timers.next(), None);
        assert!(!asks.ask(t0, &mut timers));
    }
}
