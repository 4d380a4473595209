//! The figures the menu shows besides the supervisor's status: battery, how busy the worker
//! is, the cluster's size. Sampled every few seconds on the runtime's thread (the OS calls
//! block, so they run in `spawn_blocking`), never on the UI thread. The battery is not read
//! here: it comes from the driver's status report (`StatusReport::power`), which the machine
//! watcher keeps current, so the OS is asked once, not twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::dashboard;
use crate::model::{ChargeState, PowerSnapshot};
use crate::platform::processes::ProcessCpu;
use crate::tray::menu::BatteryTrend;

/// How often the figures are refreshed.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// The cluster size costs an HTTP request to the head: asked less often.
pub const CLUSTER_EVERY: u32 = 6;

/// The worker's CPU use walks the process table: measured every this many rounds (15 s).
pub const WORKER_CPU_EVERY: u32 = 3;

/// The battery as the menu shows it; `None` without a battery.
pub fn battery_line(power: &PowerSnapshot) -> Option<(u8, BatteryTrend)> {
    let battery = power.battery?;
    let trend = match battery.state {
        ChargeState::Charging => BatteryTrend::Charging,
        ChargeState::Discharging => BatteryTrend::Discharging,
        ChargeState::Full | ChargeState::NotCharging => BatteryTrend::OnPower,
        ChargeState::Unknown if power.on_ac => BatteryTrend::OnPower,
        ChargeState::Unknown => BatteryTrend::Discharging,
    };
    Some((battery.percent, trend))
}

/// Sum of the CPU use (100 = one core) of `root` and all its descendants, from a process list
/// of (pid, parent, cpu use). The worker's raylet and task processes are its descendants.
pub fn tree_cpu(processes: &[(u32, Option<u32>, f32)], root: u32) -> f32 {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut usage: HashMap<u32, f32> = HashMap::new();
    for (pid, parent, cpu) in processes {
        usage.insert(*pid, *cpu);
        if let Some(parent) = parent {
            children.entry(*parent).or_default().push(*pid);
        }
    }
    let mut seen = HashSet::new();
    let mut stack = vec![root];
    let mut total = 0.0;
    while let Some(pid) = stack.pop() {
        if !seen.insert(pid) {
            continue;
        }
        total += usage.get(&pid).copied().unwrap_or(0.0);
        stack.extend(children.get(&pid).into_iter().flatten());
    }
    total
}

/// Keeps the process table between samples: CPU use is a difference between two refreshes.
#[derive(Default)]
pub struct WorkerCpu {
    processes: ProcessCpu,
}

impl WorkerCpu {
    /// Busy percentage of the offered CPUs (0–100) of the worker `root`, since the last call.
    pub fn sample(&mut self, root: u32, offered: u32) -> f32 {
        let list = self.processes.sample();
        (tree_cpu(&list, root) / offered.max(1) as f32).clamp(0.0, 100.0)
    }
}

/// Whether this sampling round asks the head's dashboard for the cluster's size: every
/// [`CLUSTER_EVERY`] rounds while connected, never to the built-in demo head (it runs no
/// dashboard worth a request every half minute, and its cluster is this machine).
pub fn asks_cluster(status: Option<&crate::model::Status>, round: u32) -> bool {
    status.is_some_and(|s| s.phase == crate::model::Phase::Connected && !s.demo)
        && round.is_multiple_of(CLUSTER_EVERY)
}

/// The cluster's alive CPUs and nodes, when the head's dashboard answers.
pub fn cluster(head_host: &str) -> Option<(f64, usize)> {
    let body = dashboard::http_get(
        head_host,
        dashboard::DASHBOARD_PORT,
        "/api/v0/nodes",
        Duration::from_secs(1),
    )
    .ok()?;
    let nodes = dashboard::parse_nodes(&body).ok()?;
    Some(dashboard::alive_totals(&nodes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Battery;

    #[test]
    fn the_cluster_is_asked_while_connected_to_a_real_head_only() {
        use crate::model::{Phase, Status};
        let connected = Status {
            phase: Phase::Connected,
            ..Status::default()
        };
        assert!(asks_cluster(Some(&connected), 0));
        assert!(asks_cluster(Some(&connected), CLUSTER_EVERY));
        assert!(!asks_cluster(Some(&connected), 1), "not every round");
        let demo = Status {
            demo: true,
            ..connected.clone()
        };
        assert!(!asks_cluster(Some(&demo), 0), "not the demo head");
        let starting = Status {
            phase: Phase::Starting,
            ..connected
        };
        assert!(!asks_cluster(Some(&starting), 0));
        assert!(!asks_cluster(None, 0));
    }

    #[test]
    fn the_worker_tree_adds_up_and_ignores_strangers() {
        let list = [
            (100, Some(1), 1.0),    // ray start --block
            (101, Some(100), 50.0), // raylet
            (102, Some(101), 90.0), // a task
            (200, Some(1), 99.0),   // someone else
            (103, Some(102), 0.5),
        ];
        assert_eq!(tree_cpu(&list, 100), 141.5);
        assert_eq!(tree_cpu(&list, 999), 0.0);
    }

    #[test]
    fn battery_lines_follow_the_charge_state() {
        let snap = |state, on_ac| PowerSnapshot {
            on_ac,
            battery: Some(Battery { percent: 55, state }),
        };
        assert_eq!(
            battery_line(&snap(ChargeState::Charging, true)),
            Some((55, BatteryTrend::Charging))
        );
        assert_eq!(
            battery_line(&snap(ChargeState::Discharging, false)),
            Some((55, BatteryTrend::Discharging))
        );
        assert_eq!(
            battery_line(&snap(ChargeState::NotCharging, true)),
            Some((55, BatteryTrend::OnPower))
        );
        assert_eq!(
            battery_line(&snap(ChargeState::Unknown, false)),
            Some((55, BatteryTrend::Discharging))
        );
        assert_eq!(
            battery_line(&PowerSnapshot {
                on_ac: true,
                battery: None
            }),
            None
        );
    }

    #[test]
    fn our_own_process_is_measured() {
        let mut cpu = WorkerCpu::default();
        let own = std::process::id();
        let _ = cpu.sample(own, 1);
        let busy = std::time::Instant::now();
        let mut x = 0u64;
        while busy.elapsed() < Duration::from_millis(300) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu.sample(own, 1) > 10.0, "a busy loop shows up");
    }
}
