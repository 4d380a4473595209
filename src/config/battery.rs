//! `[battery]` in config.toml: a laptop's battery policy, read and checked for the supervisor.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// BOINC-like: separate stop and resume levels, so that it never flaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatteryConfig {
    /// Warn once per discharge at this level while contributing (percent).
    pub warn_percent: u8,
    pub stop_percent: u8,
    /// Resume on battery above this level (plugging in resumes at once).
    pub resume_percent: u8,
    pub only_on_power: bool,
    /// 0: no limit.
    pub cpus_on_battery: u32,
}

impl Default for BatteryConfig {
    fn default() -> Self {
        BatteryConfig {
            warn_percent: 20,
            stop_percent: 10,
            resume_percent: 30,
            only_on_power: false,
            cpus_on_battery: 0,
        }
    }
}

impl BatteryConfig {
    /// Levels within 0–100 with stop < resume and stop ≤ warn, and a CPU limit the machine has.
    pub fn validate(&self, machine_cpus: u32) -> Result<(), ConfigError> {
        let invalid =
            |key: &str, message| Err(ConfigError::invalid(format!("battery.{key}"), message));
        for (key, value) in [
            ("warn_percent", self.warn_percent),
            ("stop_percent", self.stop_percent),
            ("resume_percent", self.resume_percent),
        ] {
            if value > 100 {
                return invalid(
                    key,
                    format!("{value} is out of range: choose 0 to 100 (percent)"),
                );
            }
        }
        if self.stop_percent >= self.resume_percent {
            return invalid(
                "resume_percent",
                format!(
                    "{} must be above stop_percent ({}), or the worker would flap",
                    self.resume_percent, self.stop_percent
                ),
            );
        }
        if self.warn_percent < self.stop_percent {
            return invalid(
                "warn_percent",
                format!(
                    "{} must be at least stop_percent ({}): the warning comes first",
                    self.warn_percent, self.stop_percent
                ),
            );
        }
        if self.cpus_on_battery > machine_cpus {
            return invalid(
                "cpus_on_battery",
                format!(
                    "{} is more than this machine's {machine_cpus} CPUs: choose 0 (no limit) to {machine_cpus}",
                    self.cpus_on_battery
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn battery_levels_must_not_flap() {
        let mut battery = BatteryConfig::default();
        assert!(battery.validate(8).is_ok());
        battery.resume_percent = 10;
        let err = battery.validate(8).expect_err("stop = resume");
        assert!(err.to_string().contains("battery.resume_percent"), "{err}");
        battery.resume_percent = 30;
        battery.warn_percent = 5;
        assert!(battery.validate(8).is_err());
        battery.warn_percent = 20;
        battery.cpus_on_battery = 9;
        let err = battery.validate(8).expect_err("too many");
        assert!(err.to_string().contains("0 (no limit) to 8"), "{err}");
    }

    #[test]
    fn default_levels() {
        let battery = BatteryConfig::default();
        let levels = (battery.warn_percent, battery.stop_percent);
        assert_eq!((levels, battery.resume_percent), ((20, 10), 30));
    }
}
