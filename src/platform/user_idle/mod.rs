//! How long ago the user last used the keyboard or mouse, for "only when idle"
//! (`only_when_idle_minutes`). It reports; the rule (`supervisor::courtesy::Presence`) judges.
//!
//! Each reading must be cheap and must not start a process (`tests/logind_sleep.rs` checks
//! the daemon's spawn count while it reads on Linux): it runs every few seconds while the rule
//! is on, and not at all while it is off. It reports the fact as an [`IdleReading`], failures
//! included, and never decides what a failure means.
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
//!   The session is found once (`User.Display`, checked to be `x11`, `wayland` or `mir`: a
//!   tty or ssh session has no keyboard idleness to report) and again after any error; each
//!   reading is then two property reads. No logind or no graphical session is
//!   [`IdleReading::NoSession`]; a session whose hint has never been set is
//!   [`IdleReading::HintNeverSet`]; a D-Bus error is [`IdleReading::ReadFailed`] (and the
//!   connection is dropped, to be made again).

use std::time::Duration;

use tokio::sync::mpsc;

use crate::model::IdleReading;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;

/// Sends a reading every `every` until the receiver goes away.
pub fn watch(every: Duration, readings: mpsc::UnboundedSender<IdleReading>) {
    #[cfg(target_os = "linux")]
    linux::watch(every, readings);
    #[cfg(target_os = "macos")]
    macos::watch(every, readings);
}

/// logind's idle hint as a reading: idle since `since_monotonic_us` (CLOCK_MONOTONIC, µs)
/// when `idle_hint`, else in use now. A hint never set since the session began (`since` 0 and
/// not idle) is reported as such: the supervisor decides what it means.
pub fn reading_from_hint(
    idle_hint: bool,
    since_monotonic_us: u64,
    now_monotonic: Duration,
) -> IdleReading {
    match (idle_hint, since_monotonic_us) {
        (false, 0) => IdleReading::HintNeverSet,
        (false, _) => IdleReading::Idle(Duration::ZERO),
        (true, 0) => IdleReading::Idle(now_monotonic),
        (true, since) => {
            IdleReading::Idle(now_monotonic.saturating_sub(Duration::from_micros(since)))
        }
    }
}

/// Whether logind's `Session.Type` is a graphical one, whose input the desktop watches.
pub fn is_graphical_session_type(kind: &str) -> bool {
    matches!(kind, "x11" | "wayland" | "mir")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_becomes_a_reading() {
        use IdleReading::*;
        let now = Duration::from_secs(10_000);
        assert_eq!(reading_from_hint(false, 0, now), HintNeverSet);
        assert_eq!(
            reading_from_hint(false, 9_000_000_000, now),
            Idle(Duration::ZERO)
        );
        assert_eq!(
            reading_from_hint(true, 9_400_000_000, now),
            Idle(Duration::from_secs(600))
        );
        assert_eq!(reading_from_hint(true, 0, now), Idle(now));
        assert_eq!(
            reading_from_hint(true, 20_000_000_000, now),
            Idle(Duration::ZERO),
            "a hint from the future is now"
        );
    }

    #[test]
    fn only_desktop_sessions_are_graphical() {
        for kind in ["x11", "wayland", "mir"] {
            assert!(is_graphical_session_type(kind), "{kind}");
        }
        for kind in ["tty", "unspecified", "web", ""] {
            assert!(!is_graphical_session_type(kind), "{kind}");
        }
    }
}
