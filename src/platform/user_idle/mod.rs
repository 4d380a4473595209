//! How long ago the user last used keyboard or mouse, for "only when idle": an [`IdleReading`]
//! every few seconds while the rule is on, failures included (`supervisor::courtesy::Presence`
//! judges). A reading starts no process (`tests/logind_sleep.rs` counts).
//! - macOS: `HIDIdleTime` of IOKit's `IOHIDSystem`, in-process.
//! - Linux: `IdleHint` and `IdleSinceHintMonotonic` of the user's graphical session
//!   (`User.Display`). Not the Manager's `IdleHint`: it counts every idle *block inhibitor*, so
//!   `keep_awake`'s would make the user seem present. The desktop sets the hint after its own
//!   idle delay (at screen blank), so the wait is that delay plus the setting.

use std::time::Duration;

use crate::model::IdleReading;

#[cfg_attr(target_os = "linux", path = "linux.rs")]
#[cfg_attr(target_os = "macos", path = "macos.rs")]
mod os;

/// Sends a reading every `every` until the receiver goes away.
pub use os::watch;

/// logind's idle hint as a reading: idle since `since_monotonic_us` (CLOCK_MONOTONIC) when
/// `idle_hint`, else in use now; a hint never set (0 and not idle) is reported as such.
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
