//! The machine's own situation: the battery policy (mobile mode), the lid, and sleep and wake.
//!
//! Pure rules over facts the driver reports; the supervisor applies their verdicts.

use std::time::Instant;

use super::settings::{LaptopPolicy, WAKE_ECHO};
use crate::model::{AutoPause, Notice, PowerSnapshot};

/// What the battery policy knows between two power readings.
#[derive(Debug, Clone, Default)]
pub struct Laptop {
    /// The battery policy's pause (low battery, on battery), when one holds. Kept apart from
    /// the sleep, so that a sleep and its wake neither replace nor lift it.
    pub battery_pause: Option<AutoPause>,
    /// A sleep was announced and the OS has not said the machine woke.
    pub asleep: bool,
    /// Latest power facts.
    pub power: Option<PowerSnapshot>,
    /// The user resumed during a battery pause: honoured until the power source changes.
    battery_override: bool,
    /// The low-battery warning was given in this discharge.
    battery_warned: bool,
    /// The lid, as last reported.
    lid_closed: bool,
}

impl Laptop {
    /// A new power reading. `contributing`: a worker runs (notices are only worth giving
    /// then). Returns the notices to give; [`Laptop::battery_pause`] holds the verdict.
    pub fn on_power(
        &mut self,
        policy: &LaptopPolicy,
        power: PowerSnapshot,
        contributing: bool,
    ) -> Vec<Notice> {
        let source_changed = self.power.map(|p| p.on_ac) != Some(power.on_ac);
        self.power = Some(power);
        if source_changed {
            self.battery_override = false;
        }
        if power.on_ac {
            self.battery_warned = false;
        }
        let mut notices = Vec::new();
        if !policy.mobile {
            return notices;
        }
        let level = power.battery.map(|b| b.percent);
        let already_low = matches!(self.battery_pause, Some(AutoPause::LowBattery { .. }));
        let wanted = if power.on_ac || self.battery_override {
            None
        } else if policy.only_on_power {
            Some(AutoPause::OnBattery)
        } else {
            match level {
                Some(percent) if percent <= policy.stop_percent => {
                    Some(AutoPause::LowBattery { percent })
                }
                // Between the stop and resume levels a battery pause holds: no flapping.
                Some(percent) if already_low && percent < policy.resume_percent => {
                    Some(AutoPause::LowBattery { percent })
                }
                _ => None,
            }
        };
        if let Some(reason) = wanted.filter(|_| self.battery_pause.is_none() && contributing) {
            notices.push(Notice::AutoPaused { reason });
        }
        self.battery_pause = wanted;
        if let Some(percent) = level {
            if !power.on_ac
                && percent <= policy.warn_percent
                && !self.battery_warned
                && wanted.is_none()
                && contributing
            {
                self.battery_warned = true;
                notices.push(Notice::BatteryLow { percent });
            }
        }
        notices
    }

    /// The pause the supervisor chose by itself, as the user sees it: the sleep while asleep,
    /// else the battery's.
    pub fn auto_pause(&self) -> Option<AutoPause> {
        if self.asleep {
            Some(AutoPause::Asleep)
        } else {
            self.battery_pause
        }
    }

    /// The user resumed: their choice wins over the battery policy until the power changes.
    pub fn user_resumed(&mut self) {
        if self.battery_pause.is_some() {
            self.battery_pause = None;
            self.battery_override = true;
        }
    }

    /// The lid closed or opened; `Some` notice when a close is worth telling.
    pub fn on_lid(&mut self, closed: bool, contributing: bool) -> Option<Notice> {
        let newly_closed = closed && !self.lid_closed;
        self.lid_closed = closed;
        (newly_closed && contributing).then_some(Notice::LidClosed)
    }

    /// The CPUs to offer now: fewer on battery when the policy says so.
    pub fn cpus(&self, policy: &LaptopPolicy, wanted: u32) -> u32 {
        let on_battery = self.power.is_some_and(|p| !p.on_ac);
        match policy.cpus_on_battery {
            Some(limit) if policy.mobile && on_battery => wanted.min(limit.max(1)),
            _ => wanted,
        }
    }
}

/// Where a wake was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeSource {
    /// The OS's notification.
    Os,
    /// The clocks measured a suspension.
    Clocks,
}

/// Keeps the second report of one wake from acting twice: a wake from the other source within
/// [`WAKE_ECHO`] of an admitted one is its echo (it would find the worker the first one
/// started and replace it as stale). One source alone is never filtered (Linux without logind
/// has only the clocks), and an announced sleep starts afresh.
#[derive(Debug, Clone, Default)]
pub struct WakeEcho {
    /// The last wake acted on, and where it came from.
    last: Option<(Instant, WakeSource)>,
}

impl WakeEcho {
    /// Whether a wake seen now from `source` is news.
    pub fn admit(&mut self, now: Instant, source: WakeSource) -> bool {
        if let Some((at, seen)) = self.last {
            if seen != source && now < at + WAKE_ECHO {
                return false;
            }
        }
        self.last = Some((now, source));
        true
    }

    /// A sleep was announced: the next wake is a new one.
    pub fn will_sleep(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_wake_reported_by_both_sources_is_admitted_once() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut wakes = WakeEcho::default();
        assert!(wakes.admit(t0, WakeSource::Os));
        assert!(!wakes.admit(t0 + s(4), WakeSource::Clocks), "the same wake");
        assert!(wakes.admit(t0 + s(60), WakeSource::Clocks), "a later sleep");

        let mut wakes = WakeEcho::default();
        assert!(wakes.admit(t0, WakeSource::Clocks));
        assert!(!wakes.admit(t0 + s(3), WakeSource::Os), "the same wake");
        wakes.will_sleep();
        assert!(wakes.admit(t0 + s(10), WakeSource::Os), "announced anew");

        let mut wakes = WakeEcho::default();
        assert!(wakes.admit(t0, WakeSource::Clocks));
        assert!(
            wakes.admit(t0 + s(20), WakeSource::Clocks),
            "one source is never filtered"
        );
    }
}
