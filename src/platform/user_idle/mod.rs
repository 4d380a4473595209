//! How long ago the user last used the keyboard or mouse, for "only when idle"
//! (`only_when_idle_minutes`). It reports; the rule (`supervisor::courtesy::Presence`) judges.
//!
//! Each reading must be cheap and must not start a process (`tests/idle_processes.rs` counts
//! them): it runs every few seconds while the rule is on, and not at all while it is off.
//!
//! - macOS ([`macos`]): `HIDIdleTime` of the `IOHIDSystem` IOKit service (nanoseconds since
//!   the last input event), read in-process with `IOServiceGetMatchingService` and
//!   `IORegistryEntryCreateCFProperty`, as `platform/power/macos.rs` reads the lid.
//! - Linux ([`linux`]): systemd-logind's idle hint for the user's graphical session: the
//!   session `User.Display` names, its `IdleHint` and `IdleSinceHintMonotonic` (two D-Bus
//!   property reads). Not the Manager's `IdleHint`: logind counts every idle *block inhibitor*
//!   there, including the one `keep_awake` takes, so the worker would see the user as present
//!   the moment it joined. The desktop sets the hint only after its own idle delay (GNOME and
//!   KDE do, at their screen-blank delay) and logind's timestamp is that moment, so the wait
//!   there is the desktop's delay plus the setting.
//!   `None` ("cannot tell") when there is no bus, no logind, no graphical session, or a
//!   session whose hint has never changed since it began (its desktop does not report
//!   idleness): the rule is then reported unsupported and does not hold the worker back.

use std::time::Duration;

use tokio::sync::mpsc;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;

/// Sends a reading every `every` until the receiver goes away.
pub fn watch(every: Duration, readings: mpsc::UnboundedSender<Option<Duration>>) {
    #[cfg(target_os = "linux")]
    linux::watch(every, readings);
    #[cfg(target_os = "macos")]
    macos::watch(every, readings);
    #[cfg(not(any(target_os = "linux", target_os = "macos")))]
    {
        let _ = every;
        let _ = readings.send(None);
    }
}

/// logind's idle hint as an idle time: idle since `since_monotonic_us` (CLOCK_MONOTONIC, µs)
/// when `idle_hint`, else in use now. A hint that was never set (`since` 0 and not idle) is a
/// desktop that does not report idleness: `None`.
pub fn idle_from_hint(
    idle_hint: bool,
    since_monotonic_us: u64,
    now_monotonic: Duration,
) -> Option<Duration> {
    match (idle_hint, since_monotonic_us) {
        (false, 0) => None,
        (false, _) => Some(Duration::ZERO),
        (true, 0) => Some(now_monotonic),
        (true, since) => Some(now_monotonic.saturating_sub(Duration::from_micros(since))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_becomes_an_idle_time() {
        let now = Duration::from_secs(10_000);
        assert_eq!(idle_from_hint(false, 0, now), None, "never reported");
        assert_eq!(
            idle_from_hint(false, 9_000_000_000, now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            idle_from_hint(true, 9_400_000_000, now),
            Some(Duration::from_secs(600))
        );
        assert_eq!(idle_from_hint(true, 0, now), Some(now));
        assert_eq!(
            idle_from_hint(true, 20_000_000_000, now),
            Some(Duration::ZERO),
            "a hint from the future is now"
        );
    }
}
