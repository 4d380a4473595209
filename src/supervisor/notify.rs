//! Which notifications to show: never a storm.
//!
//! "Head lost" is let through at most once per [`NOTIFY_OUTAGES_EVERY`], and "reconnected"
//! only after a "head lost" the user saw; a fault is shown once until it changes; the heat
//! pause at most once per [`NOTIFY_HEAT_EVERY`], and "cooled down" only after one the user saw.

use std::time::{Duration, Instant};

use super::settings::{NOTIFY_HEAT_EVERY, NOTIFY_OUTAGES_EVERY};
use crate::model::{AutoPause, Fault, Notice};

#[derive(Debug, Default)]
pub struct NotificationGate {
    outages: Spaced,
    heat: Spaced,
    last_fault: Option<Fault>,
}

/// A notice shown at most once per period, and whether its sequel may follow.
#[derive(Debug, Default)]
struct Spaced {
    last_shown: Option<Instant>,
    shown: bool,
}

impl Spaced {
    fn admit(&mut self, now: Instant, every: Duration) -> bool {
        self.shown = self
            .last_shown
            .is_none_or(|at| now.saturating_duration_since(at) >= every);
        if self.shown {
            self.last_shown = Some(now);
        }
        self.shown
    }
}

impl NotificationGate {
    pub fn admit(&mut self, now: Instant, notice: &Notice) -> bool {
        match notice {
            Notice::HeadLost { .. } => self.outages.admit(now, NOTIFY_OUTAGES_EVERY),
            Notice::Reconnected { .. } => std::mem::take(&mut self.outages.shown),
            Notice::NeedsAttention { fault } => {
                let new = self.last_fault.as_ref() != Some(fault);
                self.last_fault = Some(fault.clone());
                new
            }
            Notice::AutoPaused {
                reason: AutoPause::RunsHot { .. },
            } => self.heat.admit(now, NOTIFY_HEAT_EVERY),
            Notice::CooledDown => std::mem::take(&mut self.heat.shown),
            // Already once per discharge, pause, lid close, install asked for, or first run.
            Notice::BatteryLow { .. }
            | Notice::AutoPaused { .. }
            | Notice::LidClosed
            | Notice::RayInstalled { .. }
            | Notice::RayInstallFailed { .. }
            | Notice::HeadFound { .. }
            // Asked for by opening the app.
            | Notice::OpenedAgain { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorkerFailure;
    use std::time::Duration;

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

    #[test]
    fn heat_notices_are_given_once_per_few_hours_and_cooled_down_only_after_a_shown_pause() {
        let mut gate = NotificationGate::default();
        let t0 = Instant::now();
        let hot = Notice::AutoPaused {
            reason: AutoPause::RunsHot {
                thermal: crate::model::ThermalState::Serious,
                resume_after_secs: 300,
            },
        };
        let mut shown = Vec::new();
        // A heat pause every 15 minutes for eight hours.
        for quarter in 0..32u64 {
            let at = t0 + Duration::from_secs(quarter * 900);
            if gate.admit(at, &hot) {
                shown.push(("hot", quarter));
            }
            if gate.admit(at + Duration::from_secs(600), &Notice::CooledDown) {
                shown.push(("cool", quarter));
            }
        }
        assert_eq!(
            shown,
            vec![("hot", 0), ("cool", 0), ("hot", 16), ("cool", 16)],
            "{NOTIFY_HEAT_EVERY:?}"
        );
        // Other automatic pauses are not held back by it.
        assert!(gate.admit(
            t0,
            &Notice::AutoPaused {
                reason: AutoPause::OnBattery
            }
        ));
    }
}
