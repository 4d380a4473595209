//! What the history is told of the worker: the CPU its tree used, how busy it kept the CPUs
//! it offers (the menu's figure, at no cost of its own), and what it does (the timeline).

use std::time::{Duration, Instant};

use super::usage::{busy_percent, UsageMeter};
use crate::model::{Activity, ProcessUsage};

/// The readings of the current worker's tree and the activity last recorded.
#[derive(Debug, Clone, Default)]
pub struct Contribution {
    /// The CPU counters of the current worker's tree.
    meter: UsageMeter,
    /// The number of the latest reading asked for: only its answer counts.
    sample: u64,
    /// When the current tree was last read.
    read_at: Option<Instant>,
    /// How busy the worker kept its CPUs between its last two readings.
    busy_percent: Option<u8>,
    /// What the worker does, as last recorded.
    activity: Option<Activity>,
}

impl Contribution {
    /// A new worker's tree: its processes are all new, and nothing of the old one is
    /// subtracted from them. A reading of the old tree still on its way would be taken for the
    /// new one's first: it no longer counts.
    pub fn new_worker(&mut self) {
        *self = Contribution {
            sample: self.sample + 1,
            activity: self.activity,
            ..Contribution::default()
        };
    }

    /// The number of a new reading; one still out no longer counts (the counters only grow,
    /// so nothing is lost with it).
    pub fn ask(&mut self) -> u64 {
        self.sample += 1;
        self.sample
    }

    /// The answer to reading `sample`, of a worker offering `cpus`: the CPU used since the
    /// last reading (zero when the table could not be read), or `None` for a stale answer.
    pub fn sampled(
        &mut self,
        now: Instant,
        sample: u64,
        tree: Option<&[ProcessUsage]>,
        cpus: Option<u32>,
    ) -> Option<Duration> {
        if sample != self.sample {
            return None;
        }
        let Some(tree) = tree else {
            return Some(Duration::ZERO);
        };
        let cpu = self.meter.reading(tree);
        // The first reading of a worker holds its whole start: no figure from it.
        if let (Some(before), Some(cpus)) = (self.read_at, cpus) {
            self.busy_percent = busy_percent(cpu, now.saturating_duration_since(before), cpus);
        }
        self.read_at = Some(now);
        Some(cpu)
    }

    /// How busy the worker kept its CPUs between its last two readings.
    pub fn busy_percent(&self) -> Option<u8> {
        self.busy_percent
    }

    /// The worker does `activity` now; whether that is news for the timeline.
    pub fn record(&mut self, activity: Activity) -> bool {
        self.activity.replace(activity) != Some(activity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(own_secs: u64) -> Vec<ProcessUsage> {
        vec![ProcessUsage {
            pid: 10,
            start: 1,
            parent: None,
            own: Duration::from_secs(own_secs),
            children: Duration::ZERO,
        }]
    }

    #[test]
    fn only_the_latest_reading_counts_and_the_first_gives_no_figure() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut usage = Contribution::default();
        usage.new_worker();
        let late = usage.ask();
        let sample = usage.ask();
        assert_eq!(usage.sampled(t0, late, Some(&tree(5)), Some(2)), None);
        assert_eq!(
            usage.sampled(t0, sample, Some(&tree(5)), Some(2)),
            Some(s(5))
        );
        assert_eq!(
            usage.busy_percent(),
            None,
            "the first reading holds the start"
        );
        let sample = usage.ask();
        assert_eq!(
            usage.sampled(t0 + s(60), sample, Some(&tree(65)), Some(2)),
            Some(s(60))
        );
        assert_eq!(usage.busy_percent(), Some(50));
        let sample = usage.ask();
        assert_eq!(usage.sampled(t0 + s(90), sample, None, Some(2)), Some(s(0)));
        usage.new_worker();
        assert_eq!(usage.busy_percent(), None, "a new worker, a new figure");
        assert_eq!(
            usage.sampled(t0, sample, Some(&tree(1)), Some(2)),
            None,
            "a reading of the old tree"
        );
    }

    #[test]
    fn an_activity_is_news_once() {
        let mut usage = Contribution::default();
        assert!(usage.record(Activity::Connected));
        assert!(!usage.record(Activity::Connected));
        usage.new_worker();
        assert!(!usage.record(Activity::Connected), "kept across workers");
        assert!(usage.record(Activity::Off));
    }
}
