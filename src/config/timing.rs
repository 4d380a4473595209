//! `[timing]` in config.toml: the user's timings and their defaults, which the supervisor's
//! settings start from; this module reads and checks them.

use serde::{Deserialize, Serialize};

use super::{check_ranges, ConfigError, NumberRange};

/// Timings under `[timing]` in config.toml. Every field may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// How long the worker is kept while the head is unreachable.
    pub grace_secs: u64,
    pub probe_interval_ms: u64,
    pub probe_timeout_ms: u64,
    /// Time between SIGTERM and SIGKILL when stopping Ray.
    pub stop_grace_secs: u64,
    /// How long a start may take to join before it is stopped and retried (Ray's takes 3-10 s).
    pub join_timeout_secs: u64,
    /// The releases feed is first asked this long after start (then once a day).
    pub first_update_check_secs: u64,
}

/// The defaults, in config.toml's units; the supervisor's settings are built from them.
impl Default for Timing {
    fn default() -> Self {
        Timing {
            grace_secs: 30,
            probe_interval_ms: 2000,
            probe_timeout_ms: 1500,
            stop_grace_secs: 10,
            join_timeout_secs: 120,
            first_update_check_secs: 60,
        }
    }
}

/// Each key's range and unit, for checking it and for saying what is allowed.
pub(super) const RANGES: [NumberRange; 6] = [
    ("grace_secs", 0, 3600, "seconds"),
    ("probe_interval_ms", 200, 60_000, "milliseconds"),
    ("probe_timeout_ms", 100, 30_000, "milliseconds"),
    ("stop_grace_secs", 1, 120, "seconds"),
    ("join_timeout_secs", 10, 1800, "seconds"),
    ("first_update_check_secs", 1, 86_400, "seconds"),
];

impl Timing {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let values = [
            self.grace_secs,
            self.probe_interval_ms,
            self.probe_timeout_ms,
            self.stop_grace_secs,
            self.join_timeout_secs,
            self.first_update_check_secs,
        ];
        check_ranges("timing", &RANGES, &values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_ranges() {
        let ok = Timing::default();
        assert!(ok.validate().is_ok());
        for (t, key) in [
            (
                Timing {
                    grace_secs: 3601,
                    ..ok.clone()
                },
                "timing.grace_secs",
            ),
            (
                Timing {
                    probe_interval_ms: 199,
                    ..ok.clone()
                },
                "timing.probe_interval_ms",
            ),
            (
                Timing {
                    probe_timeout_ms: 30_001,
                    ..ok.clone()
                },
                "timing.probe_timeout_ms",
            ),
            (
                Timing {
                    stop_grace_secs: 0,
                    ..ok.clone()
                },
                "timing.stop_grace_secs",
            ),
            (
                Timing {
                    join_timeout_secs: 9,
                    ..ok.clone()
                },
                "timing.join_timeout_secs",
            ),
        ] {
            let msg = t.validate().unwrap_err().to_string();
            assert!(msg.starts_with(key), "{msg}");
            assert!(msg.contains("choose"), "{msg}");
        }
        assert!(Timing {
            grace_secs: 0,
            ..ok
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn defaults_are_in_range_and_as_documented() {
        let t = Timing::default();
        assert!(t.validate().is_ok());
        let values = (t.grace_secs, t.probe_interval_ms, t.probe_timeout_ms);
        assert_eq!(values, (30, 2000, 1500));
        assert_eq!((t.stop_grace_secs, t.join_timeout_secs), (10, 120));
    }
}
