//! When the running app looks at config.toml for a hand edit (a `stat`, a read if it changed):
//! at start, then once the writes the OS reports have settled; on a cadence only where the OS
//! reports nothing, since each look wakes an idle app for an edit made a few times a year.

use std::time::Instant;

use super::settings::{CONFIG_FILE_CHECK_EVERY, CONFIG_FILE_SETTLE};
use super::timers::{Timer, Timers};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigLooks {
    /// The first reported change not yet looked at: a file changed again and again is still
    /// looked at within [`CONFIG_FILE_CHECK_EVERY`] of it, however often the settle restarts.
    unlooked_since: Option<Instant>,
    /// The OS does not report changes: the file is looked at every [`CONFIG_FILE_CHECK_EVERY`].
    pub polling: bool,
}

impl ConfigLooks {
    /// The first look is due at once: an edit made while the app started must not be missed.
    pub fn start(now: Instant, timers: &mut Timers) -> ConfigLooks {
        timers.set(Timer::ConfigLook, now);
        ConfigLooks::default()
    }

    /// The OS reported a change (or may have missed some): a look [`CONFIG_FILE_SETTLE`] after.
    pub fn handle_change(&mut self, now: Instant, timers: &mut Timers) {
        let first = *self.unlooked_since.get_or_insert(now);
        let at = (now + CONFIG_FILE_SETTLE).min(first + CONFIG_FILE_CHECK_EVERY);
        let at = match timers.get(Timer::ConfigLook) {
            // The cadence's look is not put off by a report.
            Some(next) if self.polling => next.min(at),
            // A pending look (the first) waits for the writes to settle too.
            _ => at,
        };
        timers.set(Timer::ConfigLook, at);
    }

    /// The OS stopped reporting changes: the file is looked at now, then on the cadence.
    pub fn handle_reports_lost(&mut self, now: Instant, timers: &mut Timers) {
        self.polling = true;
        let at = timers
            .get(Timer::ConfigLook)
            .map_or(now, |next| next.min(now));
        timers.set(Timer::ConfigLook, at);
    }

    /// [`Timer::ConfigLook`] fired: the file is looked at now.
    pub fn looked(&mut self, now: Instant, timers: &mut Timers) {
        self.unlooked_since = None;
        if self.polling {
            timers.set(Timer::ConfigLook, now + CONFIG_FILE_CHECK_EVERY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Runs `looks` until `until`, jumping to each deadline; the times it looked, from `start`.
    fn run(
        looks: &mut ConfigLooks,
        timers: &mut Timers,
        start: Instant,
        until: Instant,
    ) -> Vec<Duration> {
        let mut seen = Vec::new();
        while let Some(at) = timers.next().filter(|at| *at <= until) {
            for timer in timers.take_expired(at) {
                assert_eq!(timer, Timer::ConfigLook);
                looks.looked(at, timers);
                seen.push(at - start);
            }
        }
        seen
    }

    #[test]
    fn with_reports_only_the_first_look_happens_by_itself() {
        let (t0, mut timers) = (Instant::now(), Timers::default());
        let mut looks = ConfigLooks::start(t0, &mut timers);
        assert_eq!(timers.next(), Some(t0), "the first look is at once");
        let day = Duration::from_secs(86_400);
        assert_eq!(run(&mut looks, &mut timers, t0, t0 + day), [Duration::ZERO]);
        assert_eq!(timers.next(), None, "nothing more without a report");
        assert!(!looks.polling);
    }

    #[test]
    fn a_report_is_looked_at_once_the_writes_settled() {
        let (t0, mut timers) = (Instant::now(), Timers::default());
        let mut looks = ConfigLooks::start(t0, &mut timers);
        run(&mut looks, &mut timers, t0, t0);
        // An editor truncates, then writes 100 ms later.
        looks.handle_change(t0 + ms(1000), &mut timers);
        looks.handle_change(t0 + ms(1100), &mut timers);
        let settled = t0 + ms(1100) + CONFIG_FILE_SETTLE;
        assert!(timers.take_expired(settled - ms(1)).is_empty());
        assert_eq!(
            run(&mut looks, &mut timers, t0, t0 + ms(60_000)),
            [ms(1100) + CONFIG_FILE_SETTLE],
            "one look, after the last write settled"
        );
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn a_file_changed_without_pause_is_still_looked_at_on_the_cadence() {
        let (t0, mut timers) = (Instant::now(), Timers::default());
        let mut looks = ConfigLooks::start(t0, &mut timers);
        run(&mut looks, &mut timers, t0, t0);
        let mut seen = Vec::new();
        let mut now = t0 + ms(1000);
        // A change every 100 ms for 5 s: the settle never completes.
        while now < t0 + ms(6000) {
            looks.handle_change(now, &mut timers);
            seen.extend(run(&mut looks, &mut timers, t0, now));
            now += ms(100);
        }
        assert!(!seen.is_empty(), "never looked");
        assert!(
            seen[0] <= ms(1000) + CONFIG_FILE_CHECK_EVERY,
            "first look at {:?}",
            seen[0]
        );
    }

    #[test]
    fn without_reports_the_file_is_looked_at_on_the_cadence() {
        let (t0, mut timers) = (Instant::now(), Timers::default());
        let mut looks = ConfigLooks::start(t0, &mut timers);
        looks.handle_reports_lost(t0, &mut timers);
        assert!(looks.polling);
        let seen = run(
            &mut looks,
            &mut timers,
            t0,
            t0 + CONFIG_FILE_CHECK_EVERY * 3,
        );
        assert_eq!(
            seen,
            [
                Duration::ZERO,
                CONFIG_FILE_CHECK_EVERY,
                CONFIG_FILE_CHECK_EVERY * 2,
                CONFIG_FILE_CHECK_EVERY * 3
            ]
        );
    }

    #[test]
    fn lost_reports_look_at_once_then_on_the_cadence() {
        let (t0, mut timers) = (Instant::now(), Timers::default());
        let mut looks = ConfigLooks::start(t0, &mut timers);
        run(&mut looks, &mut timers, t0, t0);
        let lost = t0 + ms(600_000);
        looks.handle_reports_lost(lost, &mut timers);
        assert!(looks.polling);
        let seen = run(&mut looks, &mut timers, t0, lost + CONFIG_FILE_CHECK_EVERY);
        assert_eq!(
            seen,
            [lost - t0, lost - t0 + CONFIG_FILE_CHECK_EVERY],
            "at once, then every {CONFIG_FILE_CHECK_EVERY:?}"
        );
    }
}
