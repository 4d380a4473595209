//! The supervisor's deadlines, in one table (quinn's `TimerTable`): `poll_timeout` is the
//! earliest entry and `handle_timeout` fires the expired ones, so no deadline is ever computed
//! in two places.

use std::time::Instant;

/// One kind of deadline. At most one of each is pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// Probe the head.
    Probe,
    /// The restart delay after a failure ends: a start may follow.
    Restart,
    /// The delay after an exit the network caused while the head answered ends; the head
    /// coming back after an outage ends it sooner (the cause has passed).
    NetworkRestart,
    /// No start before this: never more than one a second (s6).
    NextStart,
    /// A started worker that has not joined by then is stopped as a failure.
    Join,
    /// The head has been unreachable for the whole grace: the worker is stopped.
    Grace,
    /// A drain's running tasks get this long; then the worker is stopped anyway.
    DrainDeadline,
    /// Look at the draining worker's processes again.
    DrainSample,
    /// The longest a sleep is held back while the worker stops.
    SleepHold,
    /// An announced sleep that has not happened by then was cancelled.
    SleepCancelled,
    /// The longest a quit waits for the worker's exit to be reported.
    Quit,
    /// A fault is tried once more (half-open), in case its cause went away unnoticed.
    FaultRetry,
    /// Read the CPU time of the joined worker's process tree.
    UsageSample,
    /// Write what was recorded for the history.
    HistorySave,
    /// The machine has been cool long enough after a pause for heat: the pause ends.
    CooledDown,
    /// The user has been away long enough ("only when idle"): the worker may start.
    UserAway,
    /// Look at config.toml for a hand edit (`config_looks`).
    ConfigLook,
    /// Ask the head's dashboard the cluster's size (`cluster`).
    ClusterAsk,
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

/// When each pending [`Timer`] fires.
#[derive(Debug, Clone, Default)]
pub struct Timers {
    at: Vec<(Timer, Instant)>,
}

impl Timers {
    /// Sets (or moves) `timer` to fire at `at`.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.stop(timer);
        self.at.push((timer, at));
    }

    /// Cancels `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.at.retain(|(pending, _)| *pending != timer);
    }

    pub fn stop_all(&mut self, timers: impl IntoIterator<Item = Timer>) {
        timers.into_iter().for_each(|timer| self.stop(timer));
    }

    /// When `timer` fires, if set.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.at
            .iter()
            .find(|(pending, _)| *pending == timer)
            .map(|(_, at)| *at)
    }

    /// Whether `timer` is set.
    pub fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.at.iter().map(|(_, at)| *at).min()
    }

    /// Removes and returns the timers due at `now`, in the order of [`Timer`].
    pub fn take_expired(&mut self, now: Instant) -> Vec<Timer> {
        let mut expired: Vec<Timer> = self
            .at
            .iter()
            .filter(|(_, at)| *at <= now)
            .map(|(timer, _)| *timer)
            .collect();
        self.at.retain(|(_, at)| *at > now);
        expired.sort();
        expired
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
