//! The supervisor's deadlines, in one table (quinn's `TimerTable`): `poll_timeout` is the
//! earliest entry and `handle_timeout` fires the expired ones; no deadline is computed twice.

use std::collections::BTreeMap;
use std::time::Instant;

/// One kind of deadline; at most one of each is pending. What each one's end means is
/// `handle_timeout`'s match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    Probe,
    Restart,
    /// After an exit the network caused while the head answered.
    NetworkRestart,
    /// No start before this: never more than one a second (s6).
    NextStart,
    Join,
    Grace,
    DrainDeadline,
    DrainSample,
    SleepHold,
    SleepCancelled,
    Quit,
    FaultRetry,
    UsageSample,
    HistorySave,
    CooledDown,
    UserAway,
    ConfigLook,
    ClusterAsk,
    UpdateCheck,
}

impl Timer {
    /// The deadlines of a worker's life, which end with it.
    pub const OF_A_WORKER: [Timer; 4] = [
        Timer::Join,
        Timer::UsageSample,
        Timer::DrainDeadline,
        Timer::DrainSample,
    ];
}

#[derive(Debug, Clone, Default)]
pub struct Timers {
    at: BTreeMap<Timer, Instant>,
}

impl Timers {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.at.insert(timer, at);
    }

    pub fn stop(&mut self, timer: Timer) {
        self.at.remove(&timer);
    }

    pub fn stop_all(&mut self, timers: impl IntoIterator<Item = Timer>) {
        timers.into_iter().for_each(|timer| self.stop(timer));
    }

    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.at.get(&timer).copied()
    }

    pub fn is_set(&self, timer: Timer) -> bool {
        self.at.contains_key(&timer)
    }

    pub fn next(&self) -> Option<Instant> {
        self.at.values().min().copied()
    }

    /// Removes and returns the timers due at `now`, in the order of [`Timer`].
    pub fn take_expired(&mut self, now: Instant) -> Vec<Timer> {
        let expired = self.at.extract_if(.., |_, at| *at <= now);
        expired.map(|(timer, _)| timer).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_next_deadline_is_the_earliest_and_only_expired_ones_fire() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut timers = Timers::default();
        assert_eq!(timers.next(), None);
        timers.set(Timer::Grace, t0 + s(30));
        timers.set(Timer::Probe, t0 + s(2));
        assert_eq!(timers.next(), Some(t0 + s(2)));
        assert_eq!(timers.take_expired(t0 + s(1)), vec![]);
        assert_eq!(timers.take_expired(t0 + s(2)), vec![Timer::Probe]);
        assert!(!timers.is_set(Timer::Probe));
        assert_eq!(timers.next(), Some(t0 + s(30)));
        timers.stop(Timer::Grace);
        assert_eq!(timers.next(), None);
    }
}
