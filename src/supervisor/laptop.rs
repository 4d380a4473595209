//! The machine's own situation: the battery policy (mobile mode), the lid, and sleep and wake.

use std::time::Duration;

use super::settings::{LaptopPolicy, MIN_SLEEP, WAKE_REPLACES_WORKER_AFTER};
use crate::model::{AutoPause, Notice, PowerSnapshot};

/// What the battery policy knows between two power readings.
#[derive(Debug, Clone, Default)]
pub struct Laptop {
    /// The battery policy's pause, kept apart from the sleep's: a sleep and its wake neither
    /// replace nor lift it.
    pub battery_pause: Option<AutoPause>,
    /// A sleep was announced and no wake came since.
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

    /// The machine woke after `slept_secs`. A short one while no sleep was announced is a
    /// clock measurement's noise; any other ends the sleep pause.
    pub fn woke(&mut self, slept_secs: u64) -> Wake {
        let slept = Duration::from_secs(slept_secs);
        if !self.asleep && slept < MIN_SLEEP {
            return Wake::Ignored;
        }
        self.asleep = false;
        Wake::Woke {
            // Longer than the head's health checks: the node is dead there and its raylet
            // will exit when it reconnects, so it is replaced at once.
            replace_worker: slept >= WAKE_REPLACES_WORKER_AFTER,
        }
    }
}

/// What a wake asks of the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Nothing: no sleep to speak of.
    Ignored,
    /// What was known of the network is stale; a worker that slept too long is replaced.
    Woke { replace_worker: bool },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_ends_the_announced_sleep_and_a_short_unannounced_one_is_noise() {
        let mut laptop = Laptop::default();
        assert_eq!(laptop.woke(5), Wake::Ignored, "under the noise floor");
        assert_eq!(
            laptop.woke(20),
            Wake::Woke {
                replace_worker: false
            },
            "a nap shorter than the head's health checks"
        );
        assert_eq!(
            laptop.woke(300),
            Wake::Woke {
                replace_worker: true
            }
        );
        laptop.asleep = true;
        assert_eq!(
            laptop.woke(0),
            Wake::Woke {
                replace_worker: false
            },
            "any wake ends an announced sleep"
        );
        assert!(!laptop.asleep);
    }
}
