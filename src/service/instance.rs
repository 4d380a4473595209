//! One supervisor per user: an exclusive `flock(2)` on a file in the data folder (the kernel
//! releases it when the process dies: no stale lock after a crash), and a refusal to fight the
//! old `worker_daemon.sh` if it still runs.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::platform::ProcessTable;
use crate::text::{self, FolderProblem, Lang};

/// Why this instance may not run.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// Another supervisor holds the lock: `pid` as it wrote itself into the lock file (0 when
    /// unreadable).
    #[error("BitTrader Worker is already running (pid {pid}). Use `bittrader-worker status`, or quit that one first.")]
    AlreadyRunning { pid: u32 },
    #[error("The old worker_daemon.sh is still running (pid {pid}): two supervisors would fight over Ray. Stop it first: `launchctl bootout gui/$(id -u)/com.bittrader.worker` (macOS) or `kill {pid}`, then start again.")]
    LegacyDaemon { pid: u32 },
    /// A symbolic link sits where the lock file goes (opening it would truncate its target).
    #[error("{}", text::folder_problem(Lang::current(), FolderProblem::LinkAt(.path)))]
    Link { path: String },
    /// The lock file could not be opened.
    #[error("could not open {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Held for as long as this instance runs.
#[derive(Debug)]
pub struct InstanceLock {
    _lock: Flock<File>,
}

/// Takes the single-instance lock at `path`, writing our pid into it.
pub fn acquire(path: &Path) -> Result<InstanceLock, InstanceError> {
    let io_error = |source| InstanceError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => InstanceError::Link {
                path: path.display().to_string(),
            },
            _ => io_error(e),
        })?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut lock) => {
            let _ = lock.set_len(0);
            let _ = lock.seek(SeekFrom::Start(0));
            let _ = write!(lock, "{}", std::process::id());
            let _ = lock.flush();
            Ok(InstanceLock { _lock: lock })
        }
        Err((mut file, _)) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            Err(InstanceError::AlreadyRunning {
                pid: text.trim().parse().unwrap_or(0),
            })
        }
    }
}

/// Refuses to run beside the old bash daemon.
pub fn check_no_legacy_daemon(processes: &dyn ProcessTable) -> Result<(), InstanceError> {
    match processes.find_command("worker_daemon.sh").first() {
        Some((pid, _)) => Err(InstanceError::LegacyDaemon { pid: *pid }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeProcesses(Vec<(u32, String)>);

    impl ProcessTable for FakeProcesses {
        fn list(&self) -> Vec<crate::platform::processes::ProcessInfo> {
            self.0
                .iter()
                .map(|(pid, cmd)| crate::platform::processes::ProcessInfo {
                    pid: *pid,
                    parent: None,
                    cmd: vec![cmd.clone()],
                })
                .collect()
        }
    }

    #[test]
    fn a_second_lock_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("supervisor.lock");
        let _held = acquire(&path).expect("first");
        match acquire(&path) {
            Err(InstanceError::AlreadyRunning { pid }) => assert_eq!(pid, std::process::id()),
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
    }

    #[test]
    fn the_lock_is_free_again_once_released() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("supervisor.lock");
        drop(acquire(&path).expect("first"));
        assert!(acquire(&path).is_ok());
    }

    #[test]
    fn a_link_planted_at_the_lock_is_refused_and_its_target_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep me").expect("seed");
        let path = dir.path().join("supervisor.lock");
        std::os::unix::fs::symlink(&target, &path).expect("link");
        let err = acquire(&path).expect_err("a link is refused");
        let text = err.to_string();
        assert!(
            text.contains("symbolic link") && text.contains("rm "),
            "{text}"
        );
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep me");
    }

    #[test]
    fn the_old_daemon_is_refused_with_what_to_do() {
        let table = FakeProcesses(vec![(
            4242,
            "/bin/bash /Users/me/.bittrader_worker/worker_daemon.sh".into(),
        )]);
        let err = check_no_legacy_daemon(&table).expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("4242") && text.contains("launchctl bootout"),
            "{text}"
        );
        assert!(check_no_legacy_daemon(&FakeProcesses(vec![])).is_ok());
    }
}
