//! Which processes exist, when they started, what they run, their CPU time, and signals to
//! them: to recognise our orphaned worker after a crash (same boot, pid *and* raw start ticks,
//! so a recycled pid never passes), to walk the worker's tree, to spot the old `worker_daemon.sh` by its command line and owner.
//! List, command lines and environments come from sysinfo; the rest from `processes/linux.rs`
//! and `macos.rs`. Start times are the kernel's raw value, never sysinfo's `start_time`, which
//! on Linux is derived from the wall clock and moves when it is stepped.

use nix::sys::signal::{kill, killpg, Signal};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use crate::model::ProcessUsage;

#[cfg_attr(target_os = "linux", path = "processes/linux.rs")]
#[cfg_attr(target_os = "macos", path = "processes/macos.rs")]
mod os;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    pub parent: Option<u32>,
    /// The real user id of its owner, when known.
    pub uid: Option<u32>,
    /// On macOS, where setproctitle's title shows.
    pub cmd: Vec<String>,
}

/// The process facts the supervisor needs, and the signals it sends.
pub trait ProcessTable {
    /// The kernel's raw record of the start (Linux: clock ticks since boot, `/proc/PID/stat` field
    /// 22; macOS: microseconds of its creation timestamp), fixed whatever the wall clock does.
    fn start_ticks(&self, pid: u32) -> Option<u64>;
    fn group_of(&self, pid: u32) -> Option<u32>;
    /// This boot's id: start ticks compare only within one boot.
    fn boot_id(&self) -> Option<String>;
    fn carrying(&self, name: &str, value: &str) -> Vec<u32>;
    fn signal(&self, pid: u32, signal: Signal) -> bool;
    /// Sends `signal` to process group `pgid`; whether it was delivered. Callers rule out 0
    /// and 1 (`killpg(0)` is our own group; glibc turns `killpg(1)` into `kill(-1)`).
    fn signal_group(&self, pgid: u32, signal: Signal) -> bool;
    /// The CPU counters of `root` and every process below it; empty when `root` is gone.
    fn usage(&self, root: u32) -> Option<Vec<ProcessUsage>>;
    fn list(&self) -> Vec<ProcessInfo>;
}

#[derive(Debug, Default)]
pub struct SystemProcesses;

impl ProcessTable for SystemProcesses {
    fn start_ticks(&self, pid: u32) -> Option<u64> {
        os::start_ticks(pid)
    }

    fn group_of(&self, pid: u32) -> Option<u32> {
        os::group_of(pid)
    }

    fn boot_id(&self) -> Option<String> {
        os::boot_id()
    }

    fn carrying(&self, name: &str, value: &str) -> Vec<u32> {
        let wanted = format!("{name}={value}");
        let kind = ProcessRefreshKind::nothing().with_environ(UpdateKind::Always);
        with_processes(kind, |system| {
            system
                .processes()
                .iter()
                .filter(|(_, process)| {
                    process
                        .environ()
                        .iter()
                        .any(|entry| entry.as_encoded_bytes() == wanted.as_bytes())
                })
                .map(|(pid, _)| pid.as_u32())
                .collect()
        })
    }

    fn signal(&self, pid: u32, signal: Signal) -> bool {
        i32::try_from(pid)
            .is_ok_and(|pid| pid > 0 && kill(nix::unistd::Pid::from_raw(pid), signal).is_ok())
    }

    fn signal_group(&self, pgid: u32, signal: Signal) -> bool {
        i32::try_from(pgid)
            .is_ok_and(|pgid| pgid > 1 && killpg(nix::unistd::Pid::from_raw(pgid), signal).is_ok())
    }

    fn usage(&self, root: u32) -> Option<Vec<ProcessUsage>> {
        let mut table = os::cpu_table(root)?;
        let tree = descendants(&table, root, |p| (p.pid, p.parent));
        table.retain(|p| tree.contains(&p.pid));
        Some(table)
    }

    fn list(&self) -> Vec<ProcessInfo> {
        let kind = ProcessRefreshKind::nothing()
            .with_cmd(UpdateKind::Always)
            .with_user(UpdateKind::Always);
        with_processes(kind, |system| {
            system
                .processes()
                .iter()
                .map(|(pid, process)| ProcessInfo {
                    pid: pid.as_u32(),
                    parent: process.parent().map(Pid::as_u32),
                    uid: process.user_id().map(|uid| **uid),
                    cmd: process
                        .cmd()
                        .iter()
                        .map(|part| part.to_string_lossy().into_owned())
                        .collect(),
                })
                .collect()
        })
    }
}

/// `read` over every process, refreshed with what `kind` asks for; where sysinfo cannot read
/// processes at all, nothing is known.
fn with_processes<T: Default>(kind: ProcessRefreshKind, read: impl FnOnce(&System) -> T) -> T {
    let Ok(mut system) = System::new() else {
        return T::default();
    };
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, kind);
    read(&system)
}

/// `root` and its descendants through the `(pid, parent)` links of `list`, `root` first (empty
/// when absent).
pub fn descendants<T>(list: &[T], root: u32, links: impl Fn(&T) -> (u32, Option<u32>)) -> Vec<u32> {
    let links: Vec<_> = list.iter().map(links).collect();
    if !links.iter().any(|(pid, _)| *pid == root) {
        return Vec::new();
    }
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = Some(found[next]);
        for (pid, _) in links.iter().filter(|(_, up)| *up == parent) {
            if !found.contains(pid) {
                found.push(*pid);
            }
        }
        next += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_start_ticks_group_and_boot_id_of_a_real_child() {
        use std::os::unix::process::CommandExt;
        let table = SystemProcesses;
        let own = table.start_ticks(std::process::id()).expect("our ticks");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .expect("spawn");
        let pid = child.id();
        let ticks = table.start_ticks(pid).expect("child ticks");
        assert!(ticks >= own, "a child starts after its parent");
        assert_eq!(table.start_ticks(pid), Some(ticks), "stable");
        assert_eq!(table.group_of(pid), Some(pid));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(table.start_ticks(pid), None);
        let boot = table.boot_id().expect("boot id");
        assert!(boot.len() >= 32, "{boot}");
        assert_eq!(table.boot_id(), Some(boot));
    }

    #[test]
    fn finds_a_process_by_its_environment() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env("BITTRADER_TEST_MARK", "27182818")
            .spawn()
            .expect("spawn");
        let found = SystemProcesses.carrying("BITTRADER_TEST_MARK", "27182818");
        let other = SystemProcesses.carrying("BITTRADER_TEST_MARK", "2718281");
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(found, vec![child.id()]);
        assert!(other.is_empty(), "{other:?}");
    }

    #[test]
    fn group_signals_refuse_our_own_group_and_every_process() {
        // Signal 0 would succeed for both on a real killpg: 0 is our own group, 1 is kill(-1).
        assert!(!SystemProcesses.signal_group(0, Signal::SIGCONT));
        assert!(!SystemProcesses.signal_group(1, Signal::SIGCONT));
        assert!(!SystemProcesses.signal(0, Signal::SIGCONT));
    }

    #[test]
    fn the_cpu_of_our_own_tree_is_read_and_grows() {
        let own = std::process::id();
        let first = SystemProcesses.usage(own).expect("readable");
        let us = first
            .iter()
            .find(|p| p.pid == own)
            .expect("we are in our tree");
        let busy_until = std::time::Instant::now() + std::time::Duration::from_millis(60);
        while std::time::Instant::now() < busy_until {
            std::hint::black_box(0u64.wrapping_add(1));
        }
        let second = SystemProcesses.usage(own).expect("readable");
        let again = second.iter().find(|p| p.pid == own).expect("still there");
        assert_eq!(again.start, us.start);
        assert!(again.own > us.own, "{:?} then {:?}", us.own, again.own);
        assert!(SystemProcesses
            .usage(u32::MAX - 1)
            .expect("readable")
            .is_empty());
    }

    #[test]
    fn descendants_follow_parent_links() {
        let p = |pid, parent| ProcessInfo {
            pid,
            parent,
            uid: None,
            cmd: Vec::new(),
        };
        let list = [
            p(1, None),
            p(10, Some(1)),
            p(11, Some(10)),
            p(12, Some(11)),
            p(20, Some(1)),
        ];
        assert_eq!(
            descendants(&list, 10, |p| (p.pid, p.parent)),
            vec![10, 11, 12]
        );
        assert_eq!(
            descendants(&list, 99, |p| (p.pid, p.parent)),
            Vec::<u32>::new()
        );
    }

    #[test]
    fn the_list_has_us_with_our_parent_and_command_line() {
        let own = std::process::id();
        let list = SystemProcesses.list();
        let us = list.iter().find(|p| p.pid == own).expect("we are listed");
        assert_eq!(us.parent, Some(std::os::unix::process::parent_id()));
        assert_eq!(us.uid, Some(nix::unistd::getuid().as_raw()));
        assert!(!us.cmd.is_empty());
    }
}
