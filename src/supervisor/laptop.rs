//! The machine's own situation: the battery policy (mobile mode), the lid, and sleep and wake.

use std::time::Duration;

use super::settings::{LaptopPolicy, MIN_SLEEP, WAKE_REPLACES_WORKER_AFTER};
use crate::model::{AutoPause, Notice, PowerSnapshot};

#[derive(Debug, Clone, Default)]
pub struct Laptop {
    /// Kept apart from the sleep's pause: a sleep and its wake neither replace nor lift it.
    battery_pause: Option<AutoPause>,
    /// A sleep was announced and no wake came since.
    pub asleep: bool,
    pub power: Option<PowerSnapshot>,
    /// The user resumed during a battery pause: honoured until the power source changes.
    battery_override: bool,
    /// The low-battery warning was given in this discharge.
    battery_warned: bool,
    lid_closed: bool,
}

impl Laptop {
    /// A new power reading; a notice worth giving if `contributing` (a worker runs).
    pub fn on_power(
        &mut self,
        policy: &LaptopPolicy,
        power: PowerSnapshot,
        contributing: bool,
    ) -> Option<Notice> {
        if self.power.map(|p| p.on_ac) != Some(power.on_ac) {
            self.battery_override = false;
        }
        self.power = Some(power);
        if power.on_ac {
            self.battery_warned = false;
        }
        if !policy.mobile {
            return None;
        }
        let policy = &policy.battery;
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
        let newly_paused = self.battery_pause.is_none();
        self.battery_pause = wanted;
        match (wanted, level) {
            _ if !contributing => None,
            (Some(reason), _) => newly_paused.then_some(Notice::AutoPaused { reason }),
            (None, Some(percent))
                if !power.on_ac && percent <= policy.warn_percent && !self.battery_warned =>
            {
                self.battery_warned = true;
                Some(Notice::BatteryLow { percent })
            }
            (None, _) => None,
        }
    }

    /// The pause chosen for the machine: the sleep while asleep, else the battery's.
    pub fn auto_pause(&self) -> Option<AutoPause> {
        if self.asleep {
            Some(AutoPause::Asleep)
        } else {
            self.battery_pause
        }
    }

    /// The user resumed: their choice wins over the battery policy until the power changes.
    pub fn user_resumed(&mut self) {
        if self.battery_pause.take().is_some() {
            self.battery_override = true;
        }
    }

    /// The lid closed or opened; a notice when a close is worth telling.
    pub fn on_lid(&mut self, closed: bool, contributing: bool) -> Option<Notice> {
        let newly_closed = closed && !self.lid_closed;
        self.lid_closed = closed;
        (newly_closed && contributing).then_some(Notice::LidClosed)
    }

    /// The CPUs to offer now: fewer on battery when the policy says so.
    pub fn cpus(&self, policy: &LaptopPolicy, wanted: u32) -> u32 {
        let on_battery = self.power.is_some_and(|p| !p.on_ac);
        match policy.battery.cpus_on_battery {
            limit if limit > 0 && policy.mobile && on_battery => wanted.min(limit),
            _ => wanted,
        }
    }

    /// The machine woke after `slept_secs`: whether the worker is replaced (see
    /// [`WAKE_REPLACES_WORKER_AFTER`]), or `None` for a short unannounced one ([`MIN_SLEEP`]).
    pub fn woke(&mut self, slept_secs: u64) -> Option<bool> {
        let slept = Duration::from_secs(slept_secs);
        if !self.asleep && slept < MIN_SLEEP {
            return None;
        }
        self.asleep = false;
        Some(slept >= WAKE_REPLACES_WORKER_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_battery_the_cpus_are_capped_only_when_set() {
        let laptop = Laptop {
            power: Some(PowerSnapshot {
                on_ac: false,
                battery: None,
            }),
            ..Laptop::default()
        };
        let mut policy = LaptopPolicy {
            mobile: true,
            ..LaptopPolicy::default()
        };
        assert_eq!(laptop.cpus(&policy, 8), 8, "0: no cap");
        policy.battery.cpus_on_battery = 3;
        assert_eq!(laptop.cpus(&policy, 8), 3);
    }

    #[test]
    fn a_wake_ends_the_announced_sleep_and_a_short_unannounced_one_is_noise() {
        let mut laptop = Laptop::default();
        assert_eq!(laptop.woke(5), None, "under the noise floor");
        assert_eq!(
            laptop.woke(20),
            Some(false),
            "a nap shorter than the head's health checks: the worker stays"
        );
        assert_eq!(laptop.woke(300), Some(true), "the worker is replaced");
        laptop.asleep = true;
        assert_eq!(
            laptop.woke(0),
            Some(false),
            "any wake ends an announced sleep"
        );
        assert!(!laptop.asleep);
    }
}
