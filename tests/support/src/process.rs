//! Processes: whether one lives, the members of a process group, a command run with a
//! timeout, and child processes that are stopped when their guard drops.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::{poll, secs};

/// Whether `pid` exists and is not a zombie (a zombie has already died; only its parent has
/// not reaped it yet).
pub fn alive(pid: u32) -> bool {
    let Ok(out) = Command::new("ps")
        .args(["-o", "stat=", "-p", &pid.to_string()])
        .output()
    else {
        return false;
    };
    let stat = String::from_utf8_lossy(&out.stdout);
    let stat = stat.trim();
    out.status.success() && !stat.is_empty() && !stat.starts_with('Z')
}

/// Live (non-zombie) members of process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(out) = Command::new("ps")
        .args(["-A", "-o", "pid=,pgid=,stat="])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let pid: u32 = parts.next()?.parse().ok()?;
            let group: u32 = parts.next()?.parse().ok()?;
            let stat = parts.next().unwrap_or("");
            (group == pgid && !stat.starts_with('Z')).then_some(pid)
        })
        .collect()
}

/// Runs a command, giving up (and killing it) after `timeout`. Output is read on threads so a
/// chatty child cannot block on a full pipe.
pub fn run_with_timeout(mut command: Command, timeout: Duration) -> Result<Output, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let read = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr")));
    let Some(status) = wait_exit(&mut child, timeout) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("no answer within {timeout:?}"));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Waits up to `timeout` for `child` to exit: its status, `None` if it still runs.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    poll(timeout, Duration::from_millis(20), || {
        child.try_wait().ok().flatten()
    })
}

/// Gives `child` up to `timeout` to exit by itself (after being asked to), then SIGKILL.
pub fn wait_or_kill(child: &mut Child, timeout: Duration) {
    if wait_exit(child, timeout).is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A child process with its output in a log file, stopped (SIGTERM, then SIGKILL) and reaped
/// when dropped.
pub struct Proc {
    name: &'static str,
    child: Child,
}

impl Proc {
    /// Starts `command` with no input, its stdout and stderr appended to `log`.
    pub fn spawn(name: &'static str, mut command: Command, log: &Path) -> Proc {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
        let err = out.try_clone().expect("clone the log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Proc { name, child }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for it to exit: its status, `None` if it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_exit(&mut self.child, timeout)
    }

    /// SIGKILL (as a crash would), and reaped.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then SIGKILL if it is still there after 3 s.
    pub fn stop(&mut self) {
        if !self.running() {
            return;
        }
        let _ = kill(Pid::from_raw(self.pid() as i32), Signal::SIGTERM);
        if self.wait_exit(secs(3)).is_none() {
            eprintln!(
                "{} (pid {}) ignored SIGTERM: SIGKILL",
                self.name,
                self.pid()
            );
            self.kill();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}
