//! Which processes exist, when they started, what they run, and signals to them.
//!
//! Used to recognise our own orphaned worker after a crash (same boot, same pid *and* same raw
//! start ticks, so a recycled pid is never mistaken for it), to find every process descended from
//! our worker, and to spot the old `worker_daemon.sh`. The per-OS facts (raw start ticks, process
//! group, boot id) live in `processes/linux.rs` and `processes/macos.rs`; what one portable crate
//! answers for both (the list, command lines, environments) comes from sysinfo.
//!
//! Start times are compared as the kernel's own raw value (Linux: clock ticks since boot; macOS:
//! the creation timestamp the kernel stored), never as sysinfo's `start_time`, which on Linux is
//! derived from the wall clock *now* and so moves when the clock is stepped.

use nix::sys::signal::{kill, killpg, Signal};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

#[cfg_attr(target_os = "linux", path = "processes/linux.rs")]
#[cfg_attr(target_os = "macos", path = "processes/macos.rs")]
mod os;

/// One process: its id, its parent's and its command line (as [`ProcessTable::list`] gives it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its id.
    pub pid: u32,
    /// Its parent's id.
    pub parent: Option<u32>,
    /// Its command line, one string per argument (invalid UTF-8 replaced).
    pub cmd: Vec<String>,
}

/// The process facts the supervisor needs, and the signals it sends.
///
/// The defaults are the answers of a table that knows nothing and can do nothing (no start
/// ticks, no group, no boot id, no signal sent): code that acts on a process only after it has
/// recognised it then acts on nothing.
pub trait ProcessTable {
    /// When the process started, in seconds since the Unix epoch; `None` if it does not exist.
    /// Derived from the wall clock on Linux: for telling processes apart use
    /// [`ProcessTable::start_ticks`].
    fn start_time(&self, pid: u32) -> Option<u64>;
    /// The kernel's raw record of when the process started (Linux: clock ticks since boot,
    /// `/proc/PID/stat` field 22; macOS: microseconds of its creation timestamp). Never changes
    /// for a process and does not move with the wall clock; `None` if it does not exist.
    fn start_ticks(&self, _pid: u32) -> Option<u64> {
        None
    }
    /// Its process group; `None` if it does not exist.
    fn group_of(&self, _pid: u32) -> Option<u32> {
        None
    }
    /// This boot of the machine (Linux: `/proc/sys/kernel/random/boot_id`; macOS:
    /// `kern.bootsessionuuid`): start ticks are only comparable within one boot.
    fn boot_id(&self) -> Option<String> {
        None
    }
    /// Processes whose environment holds `name=value`.
    fn carrying(&self, _name: &str, _value: &str) -> Vec<u32> {
        Vec::new()
    }
    /// Sends `signal` to process `pid`; whether it was delivered.
    fn signal(&self, _pid: u32, _signal: Signal) -> bool {
        false
    }
    /// Sends `signal` to every member of process group `pgid`; whether it was delivered.
    /// Callers must have ruled out 0 and 1 (`killpg(0)` is the caller's own group, and glibc
    /// turns `killpg(1)` into `kill(-1)`: every process we may signal).
    fn signal_group(&self, _pgid: u32, _signal: Signal) -> bool {
        false
    }
    /// Every process with its parent and command line (on macOS the command line is where
    /// setproctitle's title shows).
    fn list(&self) -> Vec<ProcessInfo>;
    /// Processes other than this one whose command line contains `needle`, as
    /// (pid, command line joined by spaces).
    fn find_command(&self, needle: &str) -> Vec<(u32, String)> {
        let own = std::process::id();
        self.list()
            .into_iter()
            .filter(|process| process.pid != own)
            .filter_map(|process| {
                let line = process.cmd.join(" ");
                line.contains(needle).then_some((process.pid, line))
            })
            .collect()
    }
}

/// The real process table (sysinfo: `/proc` on Linux, `libproc` on macOS).
#[derive(Debug, Default)]
pub struct SystemProcesses;

impl ProcessTable for SystemProcesses {
    fn start_time(&self, pid: u32) -> Option<u64> {
        // `System::new` fails only where sysinfo cannot read processes at all: then nothing
        // is known about any process, which is what `None` and an empty list say.
        let mut system = System::new().ok()?;
        let target = Pid::from_u32(pid);
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[target]),
            true,
            ProcessRefreshKind::nothing(),
        );
        system.process(target).map(|p| p.start_time())
    }

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
        let Ok(mut system) = System::new() else {
            return Vec::new();
        };
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_environ(UpdateKind::Always),
        );
        let wanted = format!("{name}={value}");
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
    }

    fn signal(&self, pid: u32, signal: Signal) -> bool {
        let Ok(pid) = i32::try_from(pid) else {
            return false;
        };
        // 0 and negative numbers name groups, not processes.
        pid > 0 && kill(nix::unistd::Pid::from_raw(pid), signal).is_ok()
    }

    fn signal_group(&self, pgid: u32, signal: Signal) -> bool {
        let Ok(pgid) = i32::try_from(pgid) else {
            return false;
        };
        // The last line of defence for what the trait's doc asks of callers.
        pgid > 1 && killpg(nix::unistd::Pid::from_raw(pgid), signal).is_ok()
    }

    fn list(&self) -> Vec<ProcessInfo> {
        let Ok(mut system) = System::new() else {
            return Vec::new();
        };
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always),
        );
        system
            .processes()
            .iter()
            .map(|(pid, process)| ProcessInfo {
                pid: pid.as_u32(),
                parent: process.parent().map(Pid::as_u32),
                cmd: process
                    .cmd()
                    .iter()
                    .map(|part| part.to_string_lossy().into_owned())
                    .collect(),
            })
            .collect()
    }
}

/// The CPU counters of `root` and every process below it (the worker's tree), read from the
/// kernel's process table in-process: no process is started. `None` when the table cannot be
/// read; an empty list when `root` is gone.
pub fn tree_usage(root: u32) -> Option<Vec<crate::model::ProcessUsage>> {
    Some(usage_of_tree(os::cpu_table(root)?, root))
}

/// The members of `table` that are `root` or below it.
pub fn usage_of_tree(
    table: Vec<crate::model::ProcessUsage>,
    root: u32,
) -> Vec<crate::model::ProcessUsage> {
    let links: Vec<ProcessInfo> = table
        .iter()
        .map(|p| ProcessInfo {
            pid: p.pid,
            parent: p.parent,
            cmd: Vec::new(),
        })
        .collect();
    let tree = descendants(&links, root);
    table
        .into_iter()
        .filter(|p| tree.contains(&p.pid))
        .collect()
}

/// `root` and every process descended from it through the parent links of `list`, `root`
/// first (an empty list when `root` is not in it).
pub fn descendants(list: &[ProcessInfo], root: u32) -> Vec<u32> {
    if !list.iter().any(|p| p.pid == root) {
        return Vec::new();
    }
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        for process in list {
            if process.parent == Some(parent) && !found.contains(&process.pid) {
                found.push(process.pid);
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
        let first = tree_usage(own).expect("readable");
        let us = first
            .iter()
            .find(|p| p.pid == own)
            .expect("we are in our tree");
        let busy_until = std::time::Instant::now() + std::time::Duration::from_millis(60);
        while std::time::Instant::now() < busy_until {
            std::hint::black_box(0u64.wrapping_add(1));
        }
        let second = tree_usage(own).expect("readable");
        let again = second.iter().find(|p| p.pid == own).expect("still there");
        assert_eq!(again.start, us.start);
        assert!(again.own > us.own, "{:?} then {:?}", us.own, again.own);
        assert!(tree_usage(u32::MAX - 1).expect("readable").is_empty());
    }

    #[test]
    fn descendants_follow_parent_links() {
        let p = |pid, parent| ProcessInfo {
            pid,
            parent,
            cmd: Vec::new(),
        };
        let list = [
            p(1, None),
            p(10, Some(1)),
            p(11, Some(10)),
            p(12, Some(11)),
            p(20, Some(1)),
        ];
        assert_eq!(descendants(&list, 10), vec![10, 11, 12]);
        assert_eq!(descendants(&list, 99), Vec::<u32>::new());
    }

    #[test]
    fn our_own_process_has_a_start_time_and_a_dead_one_has_none() {
        let table = SystemProcesses;
        let own = table.start_time(std::process::id()).expect("we exist");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        assert!(own <= now && now - own < 3600);
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        child.wait().expect("wait");
        assert_eq!(table.start_time(pid), None);
    }

    #[test]
    fn finds_a_process_by_its_command_line() {
        let mut child = std::process::Command::new("sleep")
            .arg("31.4159")
            .spawn()
            .expect("spawn");
        let found = SystemProcesses.find_command("sleep 31.4159");
        let _ = child.kill();
        let _ = child.wait();
        assert!(found.iter().any(|(pid, _)| *pid == child.id()), "{found:?}");
    }

    #[test]
    fn the_list_has_us_with_our_parent_and_command_line() {
        let own = std::process::id();
        let list = SystemProcesses.list();
        let us = list.iter().find(|p| p.pid == own).expect("we are listed");
        assert_eq!(us.parent, Some(std::os::unix::process::parent_id()));
        assert!(!us.cmd.is_empty());
    }
}
