//! What the history is told of the worker: its tree's CPU, how busy it kept its CPUs, what it does.
//!
//! Each reading gives every process of the tree (by pid *and* start ticks) with its own CPU time
//! and its waited-for children's, both only growing; what grew since the last reading counts once.
//! A process that leaves unwaited-for between readings is not seen, so one is taken at each stop.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::model::{Activity, ProcessUsage};

#[derive(Debug, Clone, Default)]
pub struct Contribution {
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
    /// A new worker's tree: all its processes are new, and a late reading of the old one is void.
    pub fn new_worker(&mut self) {
        *self = Contribution {
            sample: self.sample + 1,
            activity: self.activity,
            ..Contribution::default()
        };
    }

    /// The number of a new reading; one still out is void (the counters only grow: none lost).
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

    pub fn busy_percent(&self) -> Option<u8> {
        self.busy_percent
    }

    /// The worker does `activity` now; whether that is news for the timeline.
    pub fn record(&mut self, activity: Activity) -> bool {
        self.activity.replace(activity) != Some(activity)
    }
}

/// A process, told apart from a later one with the same pid.
type Identity = (u32, u64);

/// The counters of a worker's tree at its last reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageMeter {
    last: HashMap<Identity, ProcessUsage>,
}

impl UsageMeter {
    /// Takes a reading of the tree and returns the CPU time used since the previous one.
    pub fn reading(&mut self, tree: &[ProcessUsage]) -> Duration {
        let now: HashMap<Identity, ProcessUsage> =
            tree.iter().map(|p| ((p.pid, p.start), *p)).collect();
        let before_by_pid: HashMap<u32, Identity> =
            self.last.keys().map(|&id| (id.0, id)).collect();

        // What the processes gone since the last reading had used by then, put against the
        // nearest ancestor still here (the one that waited for them, if any did).
        let mut counted_in_gone: HashMap<Identity, Duration> = HashMap::new();
        for (identity, seen) in &self.last {
            if now.contains_key(identity) {
                continue;
            }
            let mut parent = seen.parent;
            // At most 64 generations up: a pid table gone wrong cannot loop forever.
            for _ in 0..64 {
                let Some(ancestor) = parent.and_then(|pid| before_by_pid.get(&pid)) else {
                    break;
                };
                if now.contains_key(ancestor) {
                    *counted_in_gone.entry(*ancestor).or_default() += seen.own + seen.children;
                    break;
                }
                parent = self.last.get(ancestor).and_then(|s| s.parent);
            }
        }

        let mut used = Duration::ZERO;
        for (identity, seen) in &now {
            match self.last.get(identity) {
                Some(before) => {
                    used += seen.own.saturating_sub(before.own);
                    let ended = seen.children.saturating_sub(before.children);
                    let already = counted_in_gone.get(identity).copied().unwrap_or_default();
                    used += ended.saturating_sub(already);
                }
                None => used += seen.own + seen.children,
            }
        }
        self.last = now;
        used
    }
}

/// How busy the worker kept the CPUs it offers: `cpu` used over `span` on `cpus` CPUs, in
/// percent (0–100; `None` over no time).
pub fn busy_percent(cpu: Duration, span: Duration, cpus: u32) -> Option<u8> {
    if span.is_zero() {
        return None;
    }
    let share = cpu.as_secs_f64() / span.as_secs_f64() / f64::from(cpus.max(1));
    Some((share * 100.0).round().clamp(0.0, 100.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_the_share_of_the_offered_cpus_over_the_span() {
        let s = Duration::from_secs;
        assert_eq!(busy_percent(s(30), s(60), 1), Some(50));
        assert_eq!(busy_percent(s(60), s(60), 4), Some(25));
        // Ray's own processes beside the tasks can use a little more than was offered.
        assert_eq!(busy_percent(s(130), s(60), 2), Some(100));
        assert_eq!(busy_percent(s(0), s(60), 2), Some(0));
        assert_eq!(busy_percent(s(5), Duration::ZERO, 2), None);
        assert_eq!(
            busy_percent(s(30), s(60), 0),
            Some(50),
            "no CPU count is one"
        );
    }

    fn p(pid: u32, start: u64, parent: u32, own: u64, children: u64) -> ProcessUsage {
        ProcessUsage {
            pid,
            start,
            parent: Some(parent),
            own: Duration::from_secs(own),
            children: Duration::from_secs(children),
        }
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_first_reading_counts_everything_and_the_next_only_the_growth() {
        let mut meter = UsageMeter::default();
        let tree = [p(10, 1, 1, 2, 0), p(11, 2, 10, 30, 0)];
        assert_eq!(meter.reading(&tree), S(32));
        let tree = [p(10, 1, 1, 3, 0), p(11, 2, 10, 90, 0)];
        assert_eq!(meter.reading(&tree), S(61));
        assert_eq!(meter.reading(&tree), S(0), "nothing used, nothing counted");
    }

    #[test]
    fn a_task_worker_that_ended_adds_only_its_last_moments() {
        let mut meter = UsageMeter::default();
        // The raylet (11) runs a task worker (12).
        assert_eq!(
            meter.reading(&[p(10, 1, 1, 1, 0), p(11, 2, 10, 5, 0), p(12, 3, 11, 40, 0)]),
            S(46)
        );
        // 12 used 45 s in all and ended; the raylet waited for it: its children counter +45.
        assert_eq!(
            meter.reading(&[p(10, 1, 1, 1, 0), p(11, 2, 10, 5, 45)]),
            S(5),
            "the 40 s already counted are not counted twice"
        );
    }

    #[test]
    fn a_reused_pid_is_a_new_process() {
        let mut meter = UsageMeter::default();
        assert_eq!(
            meter.reading(&[p(10, 1, 1, 1, 0), p(12, 3, 10, 50, 0)]),
            S(51)
        );
        // 12 ended (waited for: +50) and a new process got pid 12.
        assert_eq!(
            meter.reading(&[p(10, 1, 1, 1, 50), p(12, 9, 10, 4, 0)]),
            S(4)
        );
    }

    #[test]
    fn a_grandchild_whose_parent_also_ended_is_counted_once() {
        let mut meter = UsageMeter::default();
        assert_eq!(
            meter.reading(&[p(10, 1, 1, 0, 0), p(11, 2, 10, 10, 0), p(12, 3, 11, 20, 0)]),
            S(30)
        );
        // 12 ended (+22 to 11), then 11 ended (own 10, children 22: +32 to 10).
        assert_eq!(meter.reading(&[p(10, 1, 1, 0, 32)]), S(2));
    }

    #[test]
    fn a_parent_that_never_waits_adds_its_own_growth_only() {
        let mut meter = UsageMeter::default();
        meter.reading(&[p(10, 1, 1, 5, 0), p(11, 2, 10, 10, 0)]);
        // 11 ended but the parent ignores SIGCHLD: no children time grows.
        assert_eq!(meter.reading(&[p(10, 1, 1, 7, 0)]), S(2));
    }

    #[test]
    fn an_empty_reading_counts_nothing() {
        let mut meter = UsageMeter::default();
        meter.reading(&[p(10, 1, 1, 5, 0)]);
        assert_eq!(meter.reading(&[]), S(0));
    }

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
