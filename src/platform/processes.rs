//! Which processes exist, when they started and what they run.
//!
//! Used to recognise our own orphaned worker after a crash (same pid *and* same start time, so a
//! recycled pid is never mistaken for it) and to spot the old `worker_daemon.sh`.

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

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

/// The process facts the supervisor needs.
pub trait ProcessTable {
    /// When the process started, in seconds since the Unix epoch; `None` if it does not exist.
    fn start_time(&self, pid: u32) -> Option<u64>;
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

/// CPU use per process. Stateful: a process's use is the difference between two samples, so
/// one `ProcessCpu` is kept between calls.
#[derive(Default)]
pub struct ProcessCpu {
    /// Made at the first sample; `None` until then or where sysinfo cannot read processes.
    system: Option<System>,
}

impl ProcessCpu {
    /// Every process as (pid, parent, CPU use since the previous call, 100 = one core). The
    /// first call gives zeros.
    pub fn sample(&mut self) -> Vec<(u32, Option<u32>, f32)> {
        if self.system.is_none() {
            self.system = System::new().ok();
        }
        let Some(system) = self.system.as_mut() else {
            return Vec::new();
        };
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cpu(),
        );
        system
            .processes()
            .iter()
            .map(|(pid, p)| (pid.as_u32(), p.parent().map(Pid::as_u32), p.cpu_usage()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
