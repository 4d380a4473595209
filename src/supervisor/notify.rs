//! Which notifications to show: never a storm.
//!
//! A flapping network would otherwise notify "disconnected", "reconnected" every minute. The
//! gate lets an outage notification through at most once per `min_gap`; a "reconnected" only
//! follows a "disconnected" the user actually saw; a fault is shown once until it changes.
//! Pure: the caller passes the time.

use std::time::{Duration, Instant};

use super::settings::NOTIFY_OUTAGES_EVERY;
use crate::model::{Fault, Notice};

/// Decides which notices become notifications.
#[derive(Debug)]
pub struct NotificationGate {
    min_gap: Duration,
    last_outage_shown: Option<Instant>,
    lost_was_shown: bool,
    last_fault: Option<Fault>,
}

impl Default for NotificationGate {
    fn default() -> Self {
        NotificationGate::new(NOTIFY_OUTAGES_EVERY)
    }
}

impl NotificationGate {
    /// A gate that spaces outage notifications by `min_gap`.
    pub fn new(min_gap: Duration) -> Self {
        NotificationGate {
            min_gap,
            last_outage_shown: None,
            lost_was_shown: false,
            last_fault: None,
        }
    }

    /// Whether `notice` should be shown now.
    pub fn admit(&mut self, now: Instant, notice: &Notice) -> bool {
        match notice {
            Notice::HeadLost { .. } => {
                let spaced = self
                    .last_outage_shown
                    .is_none_or(|at| now.saturating_duration_since(at) >= self.min_gap);
                self.lost_was_shown = spaced;
                if spaced {
                    self.last_outage_shown = Some(now);
                }
                spaced
            }
            Notice::Reconnected { .. } => std::mem::take(&mut self.lost_was_shown),
            Notice::NeedsAttention { fault } => {
                let new = self.last_fault.as_ref() != Some(fault);
                self.last_fault = Some(fault.clone());
                new
            }
            // The supervisor already gives these once per discharge, pause or lid close.
            Notice::BatteryLow { .. } | Notice::AutoPaused { .. } | Notice::LidClosed => true,
            // Given only after a heat pause that was notified: one each way.
            Notice::CooledDown => true,
            // One per install the user asked for.
            Notice::RayInstalled { .. } | Notice::RayInstallFailed { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorkerFailure;

    fn lost() -> Notice {
        Notice::HeadLost { why: None }
    }
    fn back() -> Notice {
        Notice::Reconnected { away_secs: 40 }
    }

    #[test]
    fn a_flapping_network_notifies_at_most_once_per_gap() {
        let mut gate = NotificationGate::default();
        let t0 = Instant::now();
        let mut shown = 0;
        // An outage every minute for an hour.
        for minute in 0..60u64 {
            let at = t0 + Duration::from_secs(minute * 60);
            if gate.admit(at, &lost()) {
                shown += 1;
            }
            if gate.admit(at + Duration::from_secs(40), &back()) {
                shown += 1;
            }
        }
        // One "lost" + its "back" every 3 minutes.
        assert_eq!(shown, 40);
    }

    #[test]
    fn reconnected_follows_only_a_shown_disconnect() {
        let mut gate = NotificationGate::default();
        let t0 = Instant::now();
        assert!(gate.admit(t0, &lost()));
        assert!(gate.admit(t0 + Duration::from_secs(5), &back()));
        assert!(!gate.admit(t0 + Duration::from_secs(60), &lost()));
        assert!(!gate.admit(t0 + Duration::from_secs(70), &back()));
        assert!(gate.admit(t0 + Duration::from_secs(400), &lost()));
    }

    #[test]
    fn a_fault_is_shown_once_until_it_changes() {
        let mut gate = NotificationGate::default();
        let t0 = Instant::now();
        let missing = Notice::NeedsAttention {
            fault: Fault::RayMissing { path: "ray".into() },
        };
        let skew = Notice::NeedsAttention {
            fault: Fault::Worker {
                failure: WorkerFailure::VersionSkewSuspected { this_machine: None },
            },
        };
        assert!(gate.admit(t0, &missing));
        assert!(!gate.admit(t0, &missing));
        assert!(gate.admit(t0, &skew));
        assert!(gate.admit(t0, &missing));
    }
}
