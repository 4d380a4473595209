//! `[ray]` in config.toml: how Ray's processes start (priority, lean settings).

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RayProcesses {
    /// For `ray start` and everything under it (0: left alone, 1 to 19).
    pub nice: u8,
    /// With the settings that cut Ray's idle CPU cost (see `RayCommand`).
    pub lean: bool,
}

impl Default for RayProcesses {
    fn default() -> Self {
        RayProcesses {
            // Not 19: the raylet must answer the head's health checks under a busy foreground
            // (≈ 10 % of a contended CPU at 10, ≈ 1.5 % at 19), and Ray adds its
            // `worker_niceness` (15) to task workers anyway.
            nice: 10,
            lean: true,
        }
    }
}

impl RayProcesses {
    /// A negative niceness needs root, and 19 is the lowest.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.nice > 19 {
            let nice = self.nice;
            return Err(ConfigError::invalid(
                "ray.nice",
                format!("{nice} is out of range: choose 0 (normal priority) to 19 (the lowest)"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse_toml(text, std::path::Path::new("config.toml"), 4)
    }

    #[test]
    fn defaults_apply_when_the_table_or_a_key_is_missing() {
        let config = parse("cpus = 2\n").expect("valid");
        assert_eq!(config.ray, RayProcesses::default());
        assert_eq!(config.ray.nice, 10);
        assert!(config.ray.lean);
        let config = parse("cpus = 2\n[ray]\nlean = false\n").expect("valid");
        assert_eq!(config.ray.nice, 10);
        assert!(!config.ray.lean);
    }

    #[test]
    fn nice_is_zero_to_nineteen_and_unknown_keys_are_refused() {
        assert_eq!(parse("[ray]\nnice = 0\n").expect("off").ray.nice, 0);
        assert_eq!(parse("[ray]\nnice = 19\n").expect("lowest").ray.nice, 19);
        let e = parse("[ray]\nnice = 20\n")
            .expect_err("too high")
            .to_string();
        assert!(
            e.contains("ray.nice") && e.contains("0 (normal priority) to 19"),
            "{e}"
        );
        let e = parse("[ray]\nnice = -5\n")
            .expect_err("negative")
            .to_string();
        assert!(e.contains("nice"), "{e}");
        let e = parse("[ray]\nniceness = 5\n")
            .expect_err("unknown")
            .to_string();
        assert!(e.contains("niceness"), "{e}");
    }
}
