//! When the running app looks at config.toml for a hand edit.
//!
//! A look (one `stat`, and a read of the file when its stamp changed) happens at start, and
//! after that only when the OS reported a change in the data folder naming the file, once the
//! writes have settled ([`CONFIG_FILE_SETTLE`]). Only where the OS cannot report changes (no
//! watch could be set up, or it was lost) is the file looked at on a fixed cadence
//! ([`CONFIG_FILE_CHECK_EVERY`]): a look every 2 s was the largest share of an idle daemon's
//! wake-ups, for an edit made a few times a year.
//!
//! Pure, like the rest of the supervisor: the driver's watcher (`runtime::config_file`) feeds it
//! the OS's reports and the clock, asks [`ConfigLooks::poll_timeout`] when to come back, and
//! looks when [`ConfigLooks::handle_timeout`] says so. It never touches the file.

use std::time::Instant;

use super::settings::{CONFIG_FILE_CHECK_EVERY, CONFIG_FILE_SETTLE};

/// The one deadline of the config.toml watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLooks {
    /// The next look (`None`: none until the OS reports a change).
    next: Option<Instant>,
    /// The first reported change not yet looked at: a file changed again and again is still
    /// looked at within [`CONFIG_FILE_CHECK_EVERY`] of it, however often the settle restarts.
    unlooked_since: Option<Instant>,
    /// The OS does not report changes: the file is looked at every [`CONFIG_FILE_CHECK_EVERY`].
    polling: bool,
}

impl ConfigLooks {
    /// The watcher at start, with the OS reporting changes (`reported`) or not. The first look
    /// is due at once either way: an edit made while the app started must not be missed.
    pub fn new(now: Instant, reported: bool) -> ConfigLooks {
        ConfigLooks {
            next: Some(now),
            unlooked_since: None,
            polling: !reported,
        }
    }

    /// Whether the file is looked at on a fixed cadence (the OS reports no changes).
    pub fn polling(&self) -> bool {
        self.polling
    }

    /// The OS reported a change to config.toml (or may have missed some): the look comes
    /// [`CONFIG_FILE_SETTLE`] after this latest report, so that an editor that truncates the
    /// file and then writes it is not read in between (a half-written file would be reported
    /// to the user as invalid).
    pub fn handle_change(&mut self, now: Instant) {
        let first = *self.unlooked_since.get_or_insert(now);
        let at = (now + CONFIG_FILE_SETTLE).min(first + CONFIG_FILE_CHECK_EVERY);
        self.next = Some(match self.next {
            // The cadence's look is not put off by a report.
            Some(next) if self.polling => next.min(at),
            // A pending look (the first) waits for the writes to settle too.
            _ => at,
        });
    }

    /// The OS stopped reporting changes (its watch failed or the folder went away): the file
    /// is looked at now, then on the fixed cadence.
    pub fn handle_reports_lost(&mut self, now: Instant) {
        self.polling = true;
        self.next = Some(self.next.map_or(now, |next| next.min(now)));
    }

    /// When to call [`ConfigLooks::handle_timeout`] next (`None`: only a report of the OS can
    /// lead to a look).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }

    /// `true`: look at the file now.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.next {
            Some(at) if at <= now => {
                self.unlooked_since = None;
                self.next = self.polling.then(|| now + CONFIG_FILE_CHECK_EVERY);
                true
            }
            _ => false,
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

    /// Runs `looks` from `start` to `until`, jumping to each deadline; the times it looked.
    fn run(looks: &mut ConfigLooks, start: Instant, until: Instant) -> Vec<Duration> {
        let mut seen = Vec::new();
        while let Some(at) = looks.poll_timeout() {
            if at > until {
                break;
            }
            if looks.handle_timeout(at) {
                seen.push(at - start);
            }
        }
        seen
    }

    #[test]
    fn with_reports_only_the_first_look_happens_by_itself() {
        let t0 = Instant::now();
        let mut looks = ConfigLooks::new(t0, true);
        assert_eq!(looks.poll_timeout(), Some(t0), "the first look is at once");
        let day = Duration::from_secs(86_400);
        assert_eq!(run(&mut looks, t0, t0 + day), [Duration::ZERO]);
        assert_eq!(looks.poll_timeout(), None, "nothing more without a report");
        assert!(!looks.polling());
    }

    #[test]
    fn a_report_is_looked_at_once_the_writes_settled() {
        let t0 = Instant::now();
        let mut looks = ConfigLooks::new(t0, true);
        run(&mut looks, t0, t0);
        // An editor truncates, then writes 100 ms later.
        looks.handle_change(t0 + ms(1000));
        looks.handle_change(t0 + ms(1100));
        assert!(!looks.handle_timeout(t0 + ms(1100) + CONFIG_FILE_SETTLE - ms(1)));
        assert_eq!(
            run(&mut looks, t0, t0 + ms(60_000)),
            [ms(1100) + CONFIG_FILE_SETTLE],
            "one look, after the last write settled"
        );
        assert_eq!(looks.poll_timeout(), None);
    }

    #[test]
    fn a_file_changed_without_pause_is_still_looked_at_on_the_cadence() {
        let t0 = Instant::now();
        let mut looks = ConfigLooks::new(t0, true);
        run(&mut looks, t0, t0);
        let mut seen = Vec::new();
        let mut now = t0 + ms(1000);
        // A change every 100 ms for 5 s: the settle never completes.
        while now < t0 + ms(6000) {
            looks.handle_change(now);
            if looks.handle_timeout(now) {
                seen.push(now - t0);
            }
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
        let t0 = Instant::now();
        let mut looks = ConfigLooks::new(t0, false);
        assert!(looks.polling());
        let seen = run(&mut looks, t0, t0 + CONFIG_FILE_CHECK_EVERY * 3);
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
        let t0 = Instant::now();
        let mut looks = ConfigLooks::new(t0, true);
        run(&mut looks, t0, t0);
        let lost = t0 + ms(600_000);
        looks.handle_reports_lost(lost);
        assert!(looks.polling());
        let seen = run(&mut looks, t0, lost + CONFIG_FILE_CHECK_EVERY);
        assert_eq!(
            seen,
            [lost - t0, lost - t0 + CONFIG_FILE_CHECK_EVERY],
            "at once, then every {CONFIG_FILE_CHECK_EVERY:?}"
        );
    }
}
