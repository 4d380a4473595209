//! Which processes exist, when they started and what they run.
//!
//! Used to recognise our own orphaned worker after a crash (same pid *and* same start time, so a
//! recycled pid is never mistaken for it) and to spot the old `worker_daemon.sh`.

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

/// The process facts the supervisor needs.
pub trait ProcessTable {
    /// When the process started, in seconds since the Unix epoch; `None` if it does not exist.
    fn start_time(&self, pid: u32) -> Option<u64>;
    /// Processes whose command line contains `needle`, as (pid, command line).
    fn find_command(&self, needle: &str) -> Vec<(u32, String)>;
}

/// The real process table (sysinfo: `/proc` on Linux, `libproc` on macOS).
#[derive(Debug, Default)]
pub struct SystemProcesses;

impl ProcessTable for SystemProcesses {
    fn start_time(&self, pid: u32) -> Option<u64> {
        let mut system = System::new();
        let target = Pid::from_u32(pid);
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[target]),
            true,
            ProcessRefreshKind::nothing(),
        );
        system.process(target).map(|p| p.start_time())
    }

    fn find_command(&self, needle: &str) -> Vec<(u32, String)> {
        let mut system = System::new();
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cmd(UpdateKind::Always),
        );
        let own = std::process::id();
        system
            .processes()
            .iter()
            .filter_map(|(pid, process)| {
                let line = process
                    .cmd()
                    .iter()
                    .map(|part| part.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" ");
                (pid.as_u32() != own && line.contains(needle)).then(|| (pid.as_u32(), line))
            })
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
}
