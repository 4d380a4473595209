//! `[ray]` in config.toml: how Ray's processes start (priority, lean settings) and what of Ray
//! runs here at all (task output to drivers, the dashboard's details of this node).

use serde::{Deserialize, Serialize};

use super::{check_ranges, ConfigError, NumberRange};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RayProcesses {
    /// For `ray start` and everything under it (0: left alone, 1 to 19).
    pub nice: u8,
    /// With the settings that cut Ray's idle cost at no cost to a user (see `LEAN_RAY_ENV`).
    pub lean: bool,
    /// Whether what tasks here print reaches their driver: Ray's log monitor runs only then.
    pub task_output: bool,
    /// Whether the head's dashboard gets this node's details (CPU and memory graphs, logs,
    /// stack traces): `setup` then installs Ray with its dashboard extras, whose agent runs
    /// here; without them the agent runs minimal.
    pub dashboard_details: bool,
    /// How often the raylet tells the head what this node has free (Ray's own: 100 ms).
    pub report_ms: u32,
    /// How often Ray's out-of-memory guard looks at this machine's memory (Ray's own: 250 ms;
    /// 0: no guard). Linux only: Ray has none on macOS.
    pub memory_check_ms: u32,
}

/// `[ray]`'s number settings, in the order `validate` checks them.
pub(super) const RANGES: [NumberRange; 2] = [
    // Below 100 ms the raylet would report more often than Ray's default; 0 stops its reports.
    ("report_ms", 100, 10_000, "milliseconds"),
    ("memory_check_ms", 0, 10_000, "milliseconds"),
];

impl Default for RayProcesses {
    fn default() -> Self {
        RayProcesses {
            // Not 19: the raylet must answer the head's health checks under a busy foreground
            // (≈ 10 % of a contended CPU at 10, ≈ 1.5 % at 19), and Ray adds its
            // `worker_niceness` (15) to task workers anyway.
            nice: 10,
            lean: true,
            task_output: true,
            // The full agent is a quarter of an idle node's cost (bench/README.md).
            dashboard_details: false,
            // Each is a timer that wakes the raylet whether or not anything changed; slower, the
            // head learns of a freed CPU, and the guard of a runaway task, up to 1 s later.
            report_ms: 1000,
            memory_check_ms: 1000,
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
        let values = [self.report_ms, self.memory_check_ms].map(u64::from);
        check_ranges("ray", &RANGES, &values)
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
    fn the_raylets_periods_are_checked_against_their_ranges() {
        let config = parse("[ray]\nreport_ms = 100\nmemory_check_ms = 0\n").expect("valid");
        assert_eq!((config.ray.report_ms, config.ray.memory_check_ms), (100, 0));
        for (text, key) in [
            ("report_ms = 0", "ray.report_ms"),
            ("report_ms = 10001", "ray.report_ms"),
            ("memory_check_ms = 10001", "ray.memory_check_ms"),
        ] {
            let e = parse(&format!("[ray]\n{text}\n"))
                .expect_err(text)
                .to_string();
            assert!(e.contains(key) && e.contains("milliseconds"), "{text}: {e}");
        }
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
