//! When a drained node counts as idle: the rule the supervisor applies to each look at the
//! worker's process tree ([`crate::supervisor::Action::SampleWorkerTree`]).

use super::events::TreeReading;
use super::settings::QUIET_READINGS_FOR_IDLE;

/// Counts the readings of one drain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdleRule {
    /// Readings in a row that found no busy task.
    quiet_readings: u32,
}

impl IdleRule {
    /// Takes one reading; `true` once the node is idle: its raylet is gone (a drained raylet
    /// exits by itself once idle), or [`QUIET_READINGS_FOR_IDLE`] readings in a row found no
    /// busy task.
    pub fn reading(&mut self, reading: TreeReading) -> bool {
        self.quiet_readings = match reading {
            TreeReading::Gone => QUIET_READINGS_FOR_IDLE,
            TreeReading::Quiet => self.quiet_readings + 1,
            TreeReading::Busy => 0,
        };
        self.quiet_readings >= QUIET_READINGS_FOR_IDLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_needs_two_quiet_readings_in_a_row_or_no_raylet() {
        let mut rule = IdleRule::default();
        assert!(!rule.reading(TreeReading::Quiet));
        assert!(!rule.reading(TreeReading::Busy), "a task started");
        assert!(!rule.reading(TreeReading::Quiet));
        assert!(rule.reading(TreeReading::Quiet));
        assert!(IdleRule::default().reading(TreeReading::Gone));
    }
}
