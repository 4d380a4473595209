//! When a drained node counts as idle: the rule the supervisor applies to each look at the
//! worker's process tree ([`crate::supervisor::Action::SampleWorkerTree`]).

use super::events::TreeReading;
use super::settings::QUIET_READINGS_FOR_IDLE;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdleRule {
    quiet_readings_in_a_row: u32,
}

impl IdleRule {
    /// Takes one reading; `true` once the node is idle.
    pub fn reading(&mut self, reading: TreeReading) -> bool {
        self.quiet_readings_in_a_row = match reading {
            TreeReading::Gone => QUIET_READINGS_FOR_IDLE,
            TreeReading::Quiet => self.quiet_readings_in_a_row + 1,
            TreeReading::Busy => 0,
        };
        self.quiet_readings_in_a_row >= QUIET_READINGS_FOR_IDLE
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
