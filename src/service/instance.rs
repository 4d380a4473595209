//! One supervisor per user: an exclusive `flock(2)` on a file in the data folder (the kernel
//! releases it when the process dies: no stale lock after a crash), and a refusal to fight the
//! old `worker_daemon.sh` if it still runs.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::platform::processes::ProcessInfo;
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

/// Refuses to run beside this user's running old bash daemon (not another user's, nor `less`).
pub fn check_no_legacy_daemon(processes: &[ProcessInfo]) -> Result<(), InstanceError> {
    let (own_pid, own_uid) = (std::process::id(), nix::unistd::getuid().as_raw());
    let daemon = processes.iter().find(|process| {
        process.pid != own_pid && process.uid == Some(own_uid) && runs_the_old_daemon(&process.cmd)
    });
    match daemon {
        Some(process) => Err(InstanceError::LegacyDaemon { pid: process.pid }),
        None => Ok(()),
    }
}

const SCRIPT: &str = "worker_daemon.sh";

/// Whether a command line runs `worker_daemon.sh`: itself, or a shell given it as its script (as
/// launchd's `bash -c "cd … && ./worker_daemon.sh"` ends up running it).
fn runs_the_old_daemon(cmd: &[String]) -> bool {
    let named = |arg: &String, name: &str| Path::new(arg).file_name() == Some(name.as_ref());
    let Some((program, args)) = cmd.split_first() else {
        return false;
    };
    let shell =
        ["sh", "bash", "zsh", "dash"].map(|sh| named(program, sh) || *program == format!("-{sh}"));
    let script = args.iter().find(|arg| !arg.starts_with('-'));
    let by_shell = shell.contains(&true) && !args.iter().any(|arg| arg == "-c");
    named(program, SCRIPT) || (by_shell && script.is_some_and(|script| named(script, SCRIPT)))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::platform::ProcessTable;

    /// This user's processes `(pid, command line)`.
    fn fake_processes(processes: &[(u32, &str)]) -> Vec<ProcessInfo> {
        processes
            .iter()
            .map(|(pid, cmd)| ProcessInfo {
                pid: *pid,
                parent: None,
                uid: Some(nix::unistd::getuid().as_raw()),
                cmd: cmd.split(' ').map(String::from).collect(),
            })
            .collect()
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

    /// Runs `program args` (as `nobody` when `as_nobody`), its output discarded.
    fn spawn(as_nobody: bool, program: &str, args: &[&Path]) -> std::process::Child {
        let mut command = std::process::Command::new(if as_nobody { "setpriv" } else { program });
        if as_nobody {
            command.args(["--reuid=65534", "--regid=65534", "--clear-groups", program]);
        }
        command.args(args).stdout(std::process::Stdio::null());
        command.spawn().expect("spawn")
    }

    #[test]
    fn only_this_users_running_old_daemon_blocks_the_start() {
        use std::os::unix::fs::PermissionsExt;
        if !nix::unistd::geteuid().is_root() {
            eprintln!("not root: cannot run a process as another user; not tested");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("worker_daemon.sh");
        std::fs::write(&script, "#!/bin/bash\nsleep 30\n").expect("script");
        for path in [dir.path(), script.as_path()] {
            let mode = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(path, mode).expect("chmod");
        }
        // Another user's old daemon, and a viewer of the script: none is this user's daemon.
        let mut others = [
            spawn(true, "bash", &[&script]),
            spawn(false, "tail", &[Path::new("-f"), &script]),
        ];
        std::thread::sleep(std::time::Duration::from_millis(300));
        let with_others = check_no_legacy_daemon(&crate::platform::SystemProcesses.list());
        let mut ours = spawn(false, "bash", &[&script]);
        std::thread::sleep(std::time::Duration::from_millis(300));
        let with_ours = check_no_legacy_daemon(&crate::platform::SystemProcesses.list());
        for child in others.iter_mut().chain([&mut ours]) {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert!(with_others.is_ok(), "{with_others:?}");
        match with_ours {
            Err(InstanceError::LegacyDaemon { pid }) => assert_eq!(pid, ours.id()),
            other => panic!("expected our daemon to block, got {other:?}"),
        }
    }

    #[test]
    fn the_old_daemon_is_refused_with_what_to_do() {
        let table = fake_processes(&[(
            4242,
            "/bin/bash /Users/me/.bittrader_worker/worker_daemon.sh",
        )]);
        let err = check_no_legacy_daemon(&table).expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("4242") && text.contains("launchctl bootout"),
            "{text}"
        );
        assert!(check_no_legacy_daemon(&[]).is_ok());
        for (line, runs) in [
            ("./worker_daemon.sh", true),
            ("-bash worker_daemon.sh", true),
            ("/bin/sh -x /opt/worker_daemon.sh", true),
            ("less worker_daemon.sh", false),
            ("vim /Users/me/.bittrader_worker/worker_daemon.sh", false),
            ("bash -c grep worker_daemon.sh", false),
            ("bash other.sh worker_daemon.sh", false),
            ("bash /tmp/worker_daemon.sh.bak", false),
        ] {
            let words: Vec<String> = line.split(' ').map(String::from).collect();
            assert_eq!(runs_the_old_daemon(&words), runs, "{line}");
        }
    }
}
