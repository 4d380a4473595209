//! The head watch: does the head answer, the probe out, the connection held to its Ray port
//! while the worker is joined, and the outage from the first miss until the worker rejoins.

use std::time::{Duration, Instant};

use super::events::{HeadConnection, HeadProbe};
use super::settings::{HELD_CONNECTIONS_LOST_QUICKLY, PROBE_EVERY_WHILE_HELD};
use super::{tailnet, Settings};
use crate::model::{HeadAddress, TailscaleCheck, Unreachable};

/// Whether the head may be joined, as the last word about it said.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Reach {
    /// Not known since the start, a wake or a new head.
    #[default]
    Unknown,
    /// It answered.
    Up,
    /// `vouched`: Tailscale said the head is an online peer, yet it did not answer.
    Down { why: Unreachable, vouched: bool },
}

/// Whether the latest answer may start a worker at a Tailscale address: only one to a probe asked
/// for a start (its Tailscale word is fresh; others may be half a minute old).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ForStart {
    /// The probe last asked was not asked for a start.
    #[default]
    NotAsked,
    /// It was; no answer to it said the head is up.
    Asked,
    /// The head answered a probe asked for a start.
    Answered,
}

/// The connection held to the head's Ray port while the worker is joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Connection {
    #[default]
    Off,
    Opening,
    /// The OS watches the path: the head is probed every [`PROBE_EVERY_WHILE_HELD`].
    Held {
        since: Instant,
    },
    /// None could be held: not tried again before the head has been away and back.
    NotHeld,
}

/// An outage of the head, from the first miss until the worker rejoins.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Outage {
    since: Instant,
    /// The user was told (the grace ran out): they will be told of the return too.
    told: bool,
    /// Ray at the head stopped (its port refused, or it closed the held connection): what
    /// answers next is a new cluster (without GCS fault tolerance).
    ray_stopped: bool,
}

/// What a probe's answer changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The head may be joined; it was not known to before (`came_back`); Ray there stopped
    /// meanwhile, so the worker belongs to a cluster that is gone (`ray_restarted`).
    Up {
        came_back: bool,
        ray_restarted: bool,
    },
    /// It may not; the grace starts now (`newly`).
    Down { newly: bool },
}

/// When to probe after a word of the held connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextProbe {
    /// The next probe stays as it was.
    AsPlanned,
    /// Within `probe_every_up`: no connection watches the path.
    Usual,
    /// At once; the grace starts now (`newly_down`).
    Now { newly_down: bool },
}

#[derive(Debug, Clone, Default)]
pub struct HeadWatch {
    reach: Reach,
    /// A probe is out: its answer sets the next.
    probe_in_flight: bool,
    for_start: ForStart,
    /// The network changed since the last probe was asked: Tailscale's word is asked afresh.
    network_changed: bool,
    /// The number of the latest connection asked for: words of earlier ones are ignored.
    watch: u64,
    connection: Connection,
    /// Held connections lost in a row soon after being held.
    quick_losses: u32,
    outage: Option<Outage>,
}

impl HeadWatch {
    pub fn reach(&self) -> &Reach {
        &self.reach
    }

    /// Why the head may not be joined, if it may not.
    pub fn unreachable(&self) -> Option<Unreachable> {
        match &self.reach {
            Reach::Down { why, .. } => Some(why.clone()),
            Reach::Unknown | Reach::Up => None,
        }
    }

    /// None is out.
    pub fn may_probe(&self) -> bool {
        !self.probe_in_flight
    }

    /// The head answered the latest probe, asked for a start.
    pub fn answered_for_start(&self) -> bool {
        self.for_start == ForStart::Answered
    }

    /// A probe of `head` is asked (`for_start`: a start may follow its answer): the oldest
    /// Tailscale answer that may vouch for it.
    pub fn probe_asked(&mut self, head: &HeadAddress, for_start: bool) -> Duration {
        self.probe_in_flight = true;
        self.for_start = match (for_start, self.for_start) {
            (false, _) => ForStart::NotAsked,
            (true, ForStart::Answered) => ForStart::Answered,
            (true, _) => ForStart::Asked,
        };
        let network_changed = std::mem::take(&mut self.network_changed);
        tailnet::answer_max_age(head, for_start, network_changed)
    }

    /// A probe's answer; `joined`: a worker is joined (not draining).
    pub fn answered(&mut self, now: Instant, probe: &HeadProbe, joined: bool) -> Answer {
        self.probe_in_flight = false;
        let Some(why) = tailnet::unreachable(probe) else {
            if self.for_start != ForStart::NotAsked {
                self.for_start = ForStart::Answered;
            }
            let came_back = self.reach != Reach::Up;
            self.reach = Reach::Up;
            let ray_restarted = self.outage.is_some_and(|o| o.ray_stopped);
            // A blip the worker rode through is over: nothing to tell.
            if ray_restarted || joined {
                self.outage = None;
            }
            return Answer::Up {
                came_back,
                ray_restarted,
            };
        };
        if self.for_start == ForStart::Answered {
            self.for_start = ForStart::Asked;
        }
        let vouched = probe.tailscale == Some(TailscaleCheck::OnlinePeer)
            && !matches!(why, Unreachable::Tailscale { .. });
        Answer::Down {
            newly: self.down(now, why, vouched),
        }
    }

    /// The head does not answer; whether it did before.
    fn down(&mut self, now: Instant, why: Unreachable, vouched: bool) -> bool {
        if self.connection == Connection::NotHeld {
            self.connection = Connection::Off;
        }
        let newly = !matches!(self.reach, Reach::Down { .. });
        let refused = why == Unreachable::Refused;
        self.reach = Reach::Down { why, vouched };
        self.outage_since(now).ray_stopped |= refused;
        newly
    }

    fn outage_since(&mut self, now: Instant) -> &mut Outage {
        self.outage.get_or_insert(Outage {
            since: now,
            told: false,
            ray_stopped: false,
        })
    }

    /// How long until the next probe; `idle`: paused or in error, nothing depends on it soon.
    pub fn probe_every(&self, settings: &Settings, idle: bool) -> Duration {
        match (&self.reach, self.connection) {
            _ if idle => settings.probe_every_idle,
            (Reach::Up, Connection::Held { .. }) => {
                PROBE_EVERY_WHILE_HELD.max(settings.probe_every_up)
            }
            (Reach::Up, _) => settings.probe_every_up,
            _ => settings.probe_every_down,
        }
    }

    /// After an answer: the number of a connection to hold now (the head answers, a worker is
    /// `joined`, none is held), unless [`HELD_CONNECTIONS_LOST_QUICKLY`] were lost quickly.
    pub fn hold(&mut self, joined: bool) -> Option<u64> {
        if self.reach != Reach::Up || self.connection != Connection::Off {
            None
        } else if self.quick_losses >= HELD_CONNECTIONS_LOST_QUICKLY {
            self.connection = Connection::NotHeld;
            None
        } else {
            joined.then(|| self.open())
        }
    }

    /// The number of a connection asked for now.
    pub fn open(&mut self) -> u64 {
        self.watch += 1;
        self.connection = Connection::Opening;
        self.watch
    }

    /// The held connection no longer stands for the head: its later words are ignored.
    pub fn retire(&mut self) {
        self.watch += 1;
        self.connection = Connection::Off;
    }

    /// What was known of the head is stale (the machine slept).
    pub fn forget(&mut self) {
        self.reach = Reach::Unknown;
        self.probe_in_flight = false;
        self.retire();
    }

    /// Another head: nothing known of this one, the network change aside.
    pub fn new_head(&mut self) {
        *self = HeadWatch {
            watch: self.watch + 1,
            network_changed: self.network_changed,
            ..HeadWatch::default()
        };
    }

    /// The network changed: Tailscale is asked afresh, and the held connection may be dead.
    pub fn network_changed(&mut self) {
        self.network_changed = true;
        self.quick_losses = 0;
        self.retire();
    }

    pub fn connection(
        &mut self,
        now: Instant,
        watch: u64,
        state: HeadConnection,
        joined: bool,
    ) -> NextProbe {
        // A late word from a watch that was replaced or ended.
        if watch != self.watch || self.connection == Connection::Off {
            return NextProbe::AsPlanned;
        }
        match state {
            HeadConnection::Held => {
                // The next probe's answer sets the slower cadence.
                self.connection = Connection::Held { since: now };
                NextProbe::AsPlanned
            }
            HeadConnection::NotHeld => {
                self.connection = Connection::NotHeld;
                NextProbe::Usual
            }
            HeadConnection::Lost => {
                self.lost(now);
                // As a probe that timed out, unless a probe already said better why.
                let newly_down = !matches!(self.reach, Reach::Down { .. })
                    && self.down(now, Unreachable::TimedOut, false);
                NextProbe::Now { newly_down }
            }
            HeadConnection::Closed => {
                self.lost(now);
                if !joined {
                    return NextProbe::Usual;
                }
                // Ray at the head stopped: what answers next is a new cluster. A head side that
                // closes every connection (a proxy) is counted: after a few quick closes none is
                // held, and the replacements back off meanwhile.
                self.outage_since(now).ray_stopped = true;
                NextProbe::Now { newly_down: false }
            }
        }
    }

    /// The held connection ended; counted when it ended soon after being held.
    fn lost(&mut self, now: Instant) {
        let quick = matches!(self.connection, Connection::Held { since }
            if now.saturating_duration_since(since) < PROBE_EVERY_WHILE_HELD);
        self.quick_losses = if quick { self.quick_losses + 1 } else { 0 };
        self.connection = Connection::Off;
    }

    /// The grace ran out with a worker contributing: the user is told.
    pub fn outage_told(&mut self) {
        if let Some(outage) = &mut self.outage {
            outage.told = true;
        }
    }

    /// The worker joined: the outage, if any, is over; how long it lasted if the user was told.
    pub fn rejoined(&mut self, now: Instant) -> Option<u64> {
        let outage = self.outage.take().filter(|outage| outage.told)?;
        Some(now.saturating_duration_since(outage.since).as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(unreachable: Option<Unreachable>) -> HeadProbe {
        HeadProbe {
            head: "192.168.1.10".parse().expect("head"),
            unreachable,
            resolved: None,
            tailscale: None,
        }
    }

    fn up(came_back: bool, ray_restarted: bool) -> Answer {
        Answer::Up {
            came_back,
            ray_restarted,
        }
    }

    #[test]
    fn the_grace_starts_at_the_first_miss_and_a_told_outage_is_timed() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut watch = HeadWatch::default();
        assert!(watch.may_probe());
        watch.probe_asked(&probe(None).head, true);
        assert!(!watch.may_probe(), "one probe at a time");
        assert_eq!(watch.answered(t0, &probe(None), true), up(true, false));
        assert_eq!(watch.answered(t0, &probe(None), true), up(false, false));
        let timed_out = Some(Unreachable::TimedOut);
        assert_eq!(
            watch.answered(t0 + s(1), &probe(timed_out.clone()), true),
            Answer::Down { newly: true }
        );
        assert_eq!(
            watch.answered(t0 + s(2), &probe(timed_out), true),
            Answer::Down { newly: false }
        );
        assert_eq!(watch.unreachable(), Some(Unreachable::TimedOut));
        watch.outage_told();
        // Back while the worker is gone: the outage lasts until it joins again.
        assert_eq!(
            watch.answered(t0 + s(40), &probe(None), false),
            up(true, false)
        );
        assert_eq!(watch.rejoined(t0 + s(45)), Some(44));
        assert_eq!(watch.rejoined(t0 + s(45)), None, "over");
    }

    #[test]
    fn a_closed_connection_or_a_refused_port_means_a_new_cluster() {
        let t0 = Instant::now();
        let mut watch = HeadWatch::default();
        watch.answered(t0, &probe(None), true);
        let number = watch.hold(true).expect("held while joined");
        assert_eq!(
            watch.connection(t0, number, HeadConnection::Closed, true),
            NextProbe::Now { newly_down: false }
        );
        // Ray there restarted, however quickly: what answers is a new cluster.
        assert_eq!(watch.answered(t0, &probe(None), true), up(false, true));
        assert_eq!(watch.answered(t0, &probe(None), true), up(false, false));
        // The same when its port refused in between.
        let number = watch.hold(true).expect("held again");
        watch.connection(t0, number, HeadConnection::Closed, true);
        let timed_out = probe(Some(Unreachable::TimedOut));
        assert_eq!(
            watch.answered(t0, &timed_out, true),
            Answer::Down { newly: true }
        );
        assert_eq!(watch.answered(t0, &probe(None), true), up(true, true));

        let mut watch = HeadWatch::default();
        watch.answered(t0, &probe(Some(Unreachable::Refused)), true);
        assert_eq!(watch.answered(t0, &probe(None), true), up(true, true));
    }

    #[test]
    fn only_an_answer_to_a_probe_asked_for_a_start_vouches() {
        let t0 = Instant::now();
        let head = probe(None).head;
        let down = probe(Some(Unreachable::TimedOut));
        let mut watch = HeadWatch::default();
        watch.probe_asked(&head, false);
        watch.answered(t0, &probe(None), false);
        assert!(
            !watch.answered_for_start(),
            "asked while nothing could start"
        );
        watch.probe_asked(&head, true);
        assert!(!watch.answered_for_start());
        watch.answered(t0, &down, false);
        assert!(!watch.answered_for_start());
        watch.answered(t0, &probe(None), false);
        assert!(watch.answered_for_start());
        watch.probe_asked(&head, true);
        assert!(watch.answered_for_start(), "until the next answer");
        watch.probe_asked(&head, false);
        assert!(!watch.answered_for_start());
    }

    #[test]
    fn connections_lost_quickly_again_and_again_are_no_longer_held() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let settings = Settings::default();
        let mut watch = HeadWatch::default();
        watch.answered(t0, &probe(None), false);
        assert_eq!(watch.hold(false), None, "no worker joined");
        for loss in 0..HELD_CONNECTIONS_LOST_QUICKLY {
            let at = t0 + s(u64::from(loss) * 10);
            let number = watch.hold(true).expect("held again");
            assert_eq!(
                watch.connection(at, number - 1, HeadConnection::Held, true),
                NextProbe::AsPlanned,
                "a stale word"
            );
            watch.connection(at, number, HeadConnection::Held, true);
            assert_eq!(watch.probe_every(&settings, false), PROBE_EVERY_WHILE_HELD);
            assert_eq!(
                watch.connection(at + s(3), number, HeadConnection::Lost, true),
                NextProbe::Now { newly_down: true }
            );
            watch.answered(at + s(4), &probe(None), true);
        }
        assert_eq!(watch.hold(true), None);
        assert_eq!(watch.probe_every(&settings, false), settings.probe_every_up);
        watch.network_changed();
        assert!(watch.hold(true).is_some(), "a new network tries again");
    }
}
