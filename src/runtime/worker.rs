//! The Ray worker child: `ray start --block` in a process group of its own.
//!
//! We own exactly the processes we started, so that stopping never touches a head or another
//! Ray on the machine (`ray stop` would kill them all). Stop = SIGTERM to the group, SIGKILL
//! after a grace. A pid file (pid, group, start time) lets the next start find and stop a worker
//! left behind by a crash of the supervisor, and nothing else.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use crate::platform::command::CountedSpawn;
use tokio::sync::mpsc;

use crate::platform::ProcessTable;
use crate::ray_output;
use crate::runtime::log::RotatingLog;
use crate::supervisor::{SpawnFailure, WorkerSpec};

/// How many output lines are kept to explain an exit.
const TAIL_LINES: usize = 60;

/// How to run Ray here: the one place that builds a `ray` command line's program and
/// environment, for `ray start` and `ray drain-node` alike.
#[derive(Debug, Clone)]
pub struct RayCommand {
    /// The `ray` executable.
    pub ray: PathBuf,
    /// File holding the cluster's auth token, when the cluster uses token auth.
    pub auth_token_file: Option<PathBuf>,
}

impl RayCommand {
    /// `ray ARGS…` with the environment every Ray command of ours needs, no input, and its
    /// output piped.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = Command::new(&self.ray);
        command
            .args(args)
            // Ray refuses to join a multi-node cluster from macOS without this.
            .env("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = &self.auth_token_file {
            command
                .env("RAY_AUTH_MODE", "token")
                .env("RAY_AUTH_TOKEN_PATH", token);
        }
        command
    }
}

/// What the worker process reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerReport {
    /// `ray start` printed that the runtime started.
    Joined,
    /// The process ended; `tail` is the end of its output.
    Exited {
        code: Option<i32>,
        tail: Vec<String>,
    },
}

/// What is remembered on disk about a running worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidRecord {
    /// The `ray start` process.
    pub pid: u32,
    /// Its process group (the same number: it leads its group).
    pub pgid: u32,
    /// Its start time, so that a recycled pid is never mistaken for it.
    pub start_time: u64,
}

/// A running worker.
#[derive(Debug)]
pub struct WorkerProcess {
    pgid: i32,
    exited: Arc<AtomicBool>,
}

impl WorkerProcess {
    /// The process id (and group id) of `ray start`.
    pub fn pid(&self) -> u32 {
        self.pgid as u32
    }

    /// SIGTERM to the whole group now, SIGKILL after `grace` if it is still there.
    pub fn stop(&self, grace: Duration) {
        if self.exited.load(Ordering::SeqCst) {
            return;
        }
        let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGTERM);
        let pgid = self.pgid;
        let exited = self.exited.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            if !exited.load(Ordering::SeqCst) {
                let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
            }
        });
    }
}

/// The arguments of `ray start` for this worker. `--block` keeps it our child; the node IP is
/// always given because Ray otherwise guesses it with a UDP connect to a public address.
pub fn ray_start_args(spec: &WorkerSpec, node_ip: IpAddr) -> Vec<String> {
    vec![
        "start".to_string(),
        "--block".to_string(),
        format!("--address={}", spec.head),
        format!("--num-cpus={}", spec.cpus),
        format!("--node-ip-address={node_ip}"),
        "--disable-usage-stats".to_string(),
    ]
}

/// Starts `ray start --block` for `spec` in a new process group. Reports go to `reports`;
/// every output line is appended to `ray_log`.
pub fn spawn(
    ray: &RayCommand,
    spec: &WorkerSpec,
    node_ip: IpAddr,
    pid_file: &Path,
    processes: &dyn ProcessTable,
    ray_log: Arc<Mutex<RotatingLog>>,
    reports: mpsc::UnboundedSender<WorkerReport>,
) -> Result<WorkerProcess, SpawnFailure> {
    let mut command = ray.command(ray_start_args(spec, node_ip));
    command.process_group(0).kill_on_drop(false);
    let mut child = command.spawn_counted().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            SpawnFailure::RayMissing {
                path: ray.ray.display().to_string(),
            }
        } else {
            SpawnFailure::Other {
                detail: format!("could not start `{}`: {e}", ray.ray.display()),
            }
        }
    })?;
    let Some(pid) = child.id() else {
        return Err(SpawnFailure::Other {
            detail: "`ray start` exited before it could be watched".to_string(),
        });
    };
    let record = PidRecord {
        pid,
        pgid: pid,
        start_time: processes.start_time(pid).unwrap_or(0),
    };
    if let Err(e) = write_pid_file(pid_file, &record) {
        if let Ok(mut log) = ray_log.lock() {
            let _ = log.line(&format!("could not write {}: {e}", pid_file.display()));
        }
    }

    let (lines_tx, mut lines_rx) = mpsc::unbounded_channel::<String>();
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward_lines(out, lines_tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward_lines(err, lines_tx.clone()));
    }
    drop(lines_tx);

    let tail = Arc::new(Mutex::new(VecDeque::<String>::with_capacity(TAIL_LINES)));
    let collector = {
        let tail = tail.clone();
        let reports = reports.clone();
        tokio::spawn(async move {
            let mut joined = false;
            while let Some(line) = lines_rx.recv().await {
                if let Ok(mut log) = ray_log.lock() {
                    let _ = log.raw(&format!("{line}\n"));
                }
                if !joined && ray_output::is_joined_line(&line) {
                    joined = true;
                    let _ = reports.send(WorkerReport::Joined);
                }
                if let Ok(mut tail) = tail.lock() {
                    if tail.len() == TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
        })
    };

    let exited = Arc::new(AtomicBool::new(false));
    let pgid = pid as i32;
    {
        let exited = exited.clone();
        let pid_file = pid_file.to_path_buf();
        tokio::spawn(async move {
            let status = child.wait().await;
            exited.store(true, Ordering::SeqCst);
            // Whatever the leader left in its group (a raylet that outlived it) goes too: we
            // never leave half a worker behind.
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
            // Children holding the pipes open could delay EOF forever: bound the wait.
            let _ = tokio::time::timeout(Duration::from_secs(2), collector).await;
            let _ = std::fs::remove_file(&pid_file);
            let code = status.ok().and_then(|s| s.code());
            let tail = tail
                .lock()
                .map(|t| t.iter().cloned().collect())
                .unwrap_or_default();
            let _ = reports.send(WorkerReport::Exited { code, tail });
        });
    }
    Ok(WorkerProcess { pgid, exited })
}

async fn forward_lines(stream: impl AsyncRead + Unpin, lines: mpsc::UnboundedSender<String>) {
    let mut reader = BufReader::new(stream).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        if lines.send(line).is_err() {
            break;
        }
    }
}

fn write_pid_file(path: &Path, record: &PidRecord) -> std::io::Result<()> {
    let text = serde_json::to_string(record).map_err(std::io::Error::other)?;
    crate::atomic_file::write(path, text.as_bytes(), 0o644)
}

/// What was found of a worker left behind by an earlier run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Orphan {
    /// No pid file, or its process is gone.
    None,
    /// The pid file named a process that is no longer ours (the pid was recycled): untouched.
    Stale { pid: u32 },
    /// Our old worker was running and has been stopped.
    Stopped { pid: u32 },
}

/// Finds the worker an earlier run left behind (pid file with pid, group and start time) and
/// stops its group: SIGTERM, then SIGKILL after `grace`. A pid that now belongs to another
/// process is left alone.
pub async fn stop_orphan(pid_file: &Path, processes: &dyn ProcessTable, grace: Duration) -> Orphan {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return Orphan::None;
    };
    let _ = std::fs::remove_file(pid_file);
    let Ok(record) = serde_json::from_str::<PidRecord>(&text) else {
        return Orphan::None;
    };
    let group = Pid::from_raw(record.pgid as i32);
    match processes.start_time(record.pid) {
        // The leader is gone but members of its group live on (a raylet that outlived `ray
        // start`). A process group id is not reused while any member exists, and a new group
        // with this id would be led by a live process with this pid: so these are ours.
        None if killpg(group, None).is_ok() => {
            stop_group(group, grace).await;
            Orphan::Stopped { pid: record.pid }
        }
        None => Orphan::None,
        Some(started) if started != record.start_time => Orphan::Stale { pid: record.pid },
        Some(_) => {
            stop_group(group, grace).await;
            Orphan::Stopped { pid: record.pid }
        }
    }
}

/// SIGTERM to the group, SIGKILL once `grace` has passed while any member remains.
async fn stop_group(group: Pid, grace: Duration) {
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = tokio::time::Instant::now() + grace;
    // `killpg(group, None)` (signal 0) succeeds while any member exists.
    while tokio::time::Instant::now() < deadline && killpg(group, None).is_ok() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = killpg(group, Signal::SIGKILL);
}
