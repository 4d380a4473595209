//! The Ray worker child: `ray start --block` in a process group of its own.
//!
//! We own exactly what we started, never another Ray here (`ray stop` would kill them all):
//! `ray start`, its group (raylet, agents), its descendants (task workers have groups of their
//! own) and whatever carries this run's mark ([`RUN_MARK`], inherited by everything Ray starts,
//! so it names a re-parented task subprocess even after our crash). Stop = a snapshot of that
//! tree, SIGTERM to group and tree, SIGKILL after a grace; once `ray start` exits, the rest of
//! the tree is killed. A pid file (pid, group, boot id, raw start ticks, mark) lets the next
//! start stop a worker a crash left, and nothing else: never another boot's or a recycled pid,
//! group 0 or 1, or ours. On Linux the worker also gets SIGTERM when its forking thread ends.
//! We are no subreaper: the mark finds re-parented processes, and an adopted child would stay
//! our zombie (only tokio may wait for our children).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use crate::config::RayProcesses;
use crate::model::WorkerFailure;
use crate::platform::command::{output_within, CountedSpawn};
use crate::platform::priority;
use crate::platform::processes::descendants;
use crate::platform::{ProcessTable, SystemProcesses};
use crate::ray_output::{self, TAIL_LINES};
use crate::supervisor::{Event, SpawnFailure, WorkerExit, WorkerSpec};
use crate::text::{self, Lang};

use super::log::{note, SharedLog};
use super::{lock, Events, WorkerHandle};

/// `ray --version` answers in about a second; one that hangs is given up on.
const RAY_VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// The longest line of Ray's output kept whole; the rest of a longer line is dropped (a
/// traceback line is a few hundred bytes: a megabyte on one line is a bug, not a message).
const MAX_LINE_BYTES: usize = 8 * 1024;

/// The environment variable that marks every process of one worker run (see the module doc).
pub const RUN_MARK: &str = "BITTRADER_WORKER_RUN";

/// How to run Ray here: the one place that builds a `ray` command line's program and
/// environment, for `ray start` and `ray drain-node` alike.
#[derive(Debug, Clone)]
pub struct RayCommand {
    /// The `ray` executable.
    pub ray: PathBuf,
    /// File holding the cluster's auth token, when the cluster uses token auth.
    pub auth_token_file: Option<PathBuf>,
    /// How `ray start` runs and what of Ray it starts (`[ray]` in config.toml).
    pub processes: RayProcesses,
    /// Ray's own folder for its sockets, logs and session files ([`ray_temp_dir`]).
    pub temp_dir: Option<PathBuf>,
}

/// A folder only this user can enter, for Ray's sockets, logs and session files in its `ray`
/// ([`ray_temp_dir`]): Ray's default, `/tmp/ray`, is open to every local user, who could move its
/// sockets or plant files, and Ray opens the folder it is given to everyone too (0777), so it is
/// given one inside. In `/tmp` rather than `$TMPDIR`, which is long on a Mac: Ray's socket paths
/// inside must fit in 104 bytes. Deleted when dropped.
pub fn private_temp_dir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix("bittrader-ray-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in("/tmp")
}

/// The folder given to Ray as `--temp-dir`, inside a [`private_temp_dir`].
pub fn ray_temp_dir(private: &Path) -> PathBuf {
    private.join("ray")
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
            // Ray refuses a node whose Python differs from the head's even in the patch release
            // (3.12.8 against 3.12.7), which pickles the same; it then logs the difference.
            .env("RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL", "minor")
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

    /// `ray start` for `spec`, announcing `node_ip`, leading a new process group at the
    /// configured niceness (which everything it starts inherits), with [`LEAN_RAY_ENV`] when
    /// lean, the raylet's report and memory-check periods, and without the log monitor when
    /// task output is not wanted.
    pub fn start(&self, spec: &WorkerSpec, node_ip: IpAddr) -> Command {
        let processes = &self.processes;
        let mut command = self.command(ray_start_args(spec, node_ip));
        // A Ray without per-node temp folders ignores it, says so, and uses the head's.
        if let Some(dir) = &self.temp_dir {
            command.arg(format!("--temp-dir={}", dir.display()));
        }
        if processes.lean {
            command.envs(LEAN_RAY_ENV.iter().copied());
        }
        command
            .env(
                "RAY_raylet_report_resources_period_milliseconds",
                processes.report_ms.to_string(),
            )
            .env(
                "RAY_memory_monitor_refresh_ms",
                processes.memory_check_ms.to_string(),
            );
        // The log monitor is the one process that sends task output to drivers.
        if !processes.task_output {
            command.arg("--include-log-monitor=false");
        }
        priority::new_group_at_nice(&mut command, processes.nice);
        command
    }
}

/// Ray's environment settings that make an idle worker node cheaper with nothing a cluster user
/// notices: tasks run and start as fast, objects cross as fast, their output reaches the driver,
/// the head lists the node ALIVE (`bench/idle-ray` measures and checks; figures and the Ray
/// sources in bench/README.md). Each slows a look Ray takes 2 to 10 times a second whether or not
/// anything happens, or spares a thread that polls 4 times a second. `[ray] lean = false` leaves
/// these at Ray's defaults.
pub const LEAN_RAY_ENV: &[(&str, &str)] = &[
    // The log monitor (`python -u log_monitor.py`, which ships task output to drivers) wakes
    // every 0.1 s and, below this many files, globs the log folder on every wake-up. At 0
    // it globs once per LOG_NAME_UPDATE_INTERVAL_S instead: a new task worker's file is
    // found up to 2 s later and read from its start, so no line is lost, only delayed.
    ("RAY_LOG_MONITOR_MANY_FILES_THRESHOLD", "0"),
    ("LOG_NAME_UPDATE_INTERVAL_S", "2"),
    // The object manager's tick (default 100 ms) asks the object store for its free memory and
    // retries pulls that timed out (after 10 s); a pull itself starts when it is asked for, and
    // one waiting for object-store memory is let in up to a second after the memory frees.
    ("RAY_object_manager_timer_freq_ms", "1000"),
    // Whether to ask the workers to collect garbage (default every 100 ms), a request Ray
    // itself throttles to once per 10 s locally and 30 s cluster-wide. It shares its wake-ups
    // with the resource report (`[ray] report_ms`), so it saves only beside a slower report.
    ("RAY_raylet_check_gc_period_milliseconds", "1000"),
    // The disk-full check of the object store's folders (default 100 ms): a disk past 95 % is
    // refused object space up to a second later.
    ("RAY_local_fs_monitor_interval_ms", "1000"),
    // The reaping of surplus idle task workers (default 200 ms), who must have idled 1 s first.
    ("RAY_kill_idle_workers_interval_ms", "1000"),
    // The object manager's gRPC threads (default 2 to 8, by core count), each polling 4 times
    // a second: one moves objects to and from a laptop faster than its network does.
    ("RAY_object_manager_rpc_threads_num", "1"),
];

/// Which processes are one worker's: its leader (pid = group id) as it was when it started,
/// and the mark its tree carries; remembered on disk while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidRecord {
    /// The `ray start` process.
    pub pid: u32,
    /// Its process group (the same number: it leads its group).
    pub pgid: u32,
    /// The machine's boot when it started: start ticks of another boot mean nothing.
    pub boot_id: String,
    /// Its raw start ticks ([`ProcessTable::start_ticks`]), so that a recycled pid is never
    /// mistaken for it, whatever the wall clock did since.
    pub start_ticks: u64,
    /// The value of [`RUN_MARK`] in its environment and its descendants'.
    pub mark: String,
}

impl PidRecord {
    /// The record of `pid`, just started as a group leader carrying `mark`. It cannot have been
    /// reaped yet (only its `wait` reaps it): unreadable start ticks are 0, which match no
    /// process, so no later signal reaches that pid.
    pub fn of_started(pid: u32, mark: String) -> PidRecord {
        PidRecord {
            pid,
            pgid: pid,
            boot_id: SystemProcesses.boot_id().unwrap_or_default(),
            start_ticks: SystemProcesses.start_ticks(pid).unwrap_or(0),
            mark,
        }
    }

    /// Written private: a pid file lets the next start signal what it names.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string(self).map_err(std::io::Error::other)?;
        crate::atomic_file::write(path, text.as_bytes(), 0o600)
    }
}

/// A process recognised as a worker's, as it was when recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pid: u32,
    /// Its raw start ticks: a signal goes to `pid` only while they still match.
    ticks: u64,
}

#[derive(Debug)]
pub struct WorkerProcess {
    record: PidRecord,
    exited: Arc<AtomicBool>,
    /// The tree as it was when the stop began, for the final sweep (parent links are lost once
    /// the raylet is gone).
    snapshot: Arc<Mutex<Vec<Known>>>,
}

impl WorkerHandle for WorkerProcess {
    fn pid(&self) -> u32 {
        self.record.pid
    }

    /// Takes a snapshot of the worker's tree, sends SIGTERM to its group and every process of
    /// the tree, and SIGKILL to the group after `grace` if `ray start` is still there; when it
    /// exits, the rest of the tree is killed (see [`spawn`]).
    fn stop(&self, grace: Duration) {
        if self.exited.load(Ordering::SeqCst) {
            return;
        }
        let (record, exited) = (self.record.clone(), self.exited.clone());
        let snapshot = self.snapshot.clone();
        tokio::spawn(async move {
            let leader = record.pid;
            let tree = tokio::task::spawn_blocking(move || tree_of(&SystemProcesses, &record))
                .await
                .unwrap_or_default();
            *lock(&snapshot) = tree.clone();
            if exited.load(Ordering::SeqCst) {
                return;
            }
            SystemProcesses.signal_group(leader, Signal::SIGTERM);
            signal_known(&SystemProcesses, &tree, Signal::SIGTERM);
            tokio::time::sleep(grace).await;
            if !exited.load(Ordering::SeqCst) {
                SystemProcesses.signal_group(leader, Signal::SIGKILL);
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

/// Starts `ray start --block` for `spec` in a new process group. Its join and its exit, with
/// what its output says of it, go to `events`; every output line is appended to `ray_log`.
pub fn spawn(
    ray: &RayCommand,
    spec: &WorkerSpec,
    node_ip: IpAddr,
    pid_file: &Path,
    ray_log: SharedLog,
    events: Events,
) -> Result<WorkerProcess, SpawnFailure> {
    let mark = new_mark();
    let mut command = ray.start(spec, node_ip);
    command.env(RUN_MARK, &mark);
    #[cfg(target_os = "linux")]
    set_parent_death_signal(&mut command);
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
    let record = PidRecord::of_started(pid, mark);
    if let Err(e) = record.write(pid_file) {
        let path = pid_file.display().to_string();
        let line = text::log::pid_file_not_written_line(Lang::current(), &path, &e.to_string());
        note(&ray_log, &line);
    }
    let mut lines =
        futures::stream::select(lines_of(child.stdout.take()), lines_of(child.stderr.take()));
    let mut output = Output {
        tail: VecDeque::with_capacity(TAIL_LINES),
        joined: false,
        ray_log,
        events: events.clone(),
    };
    let (exited, snapshot) = (Arc::new(AtomicBool::new(false)), Arc::default());
    let worker = WorkerProcess {
        record: record.clone(),
        exited: exited.clone(),
        snapshot: Arc::clone(&snapshot),
    };
    let (pid_file, ray) = (pid_file.to_path_buf(), ray.ray.clone());
    tokio::spawn(async move {
        let status = loop {
            tokio::select! {
                Some(line) = lines.next() => output.line(line),
                status = child.wait() => break status,
            }
        };
        exited.store(true, Ordering::SeqCst);
        // Whatever the leader left (a raylet in its group, task workers in theirs, the
        // processes of their tasks) goes too: we never leave half a worker behind.
        let taken = lock(&snapshot).clone();
        let _ = tokio::task::spawn_blocking(move || {
            kill_tree(&SystemProcesses, &record, &taken);
        })
        .await;
        // Children holding the pipes open could delay EOF forever: bound the wait.
        let rest = async {
            while let Some(line) = lines.next().await {
                output.line(line);
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), rest).await;
        let _ = std::fs::remove_file(&pid_file);
        let code = status.ok().and_then(|s| s.code());
        let failure = explain_exit(&ray, code, output.tail.make_contiguous()).await;
        let _ = events.send(Event::WorkerExited(WorkerExit { code, failure }));
    });
    Ok(worker)
}

/// What the worker printed so far: every line goes to the Ray log, the first joined line is
/// reported (with what Ray said of a Python patch skew), and the last [`TAIL_LINES`] are kept
/// to explain the exit.
struct Output {
    tail: VecDeque<String>,
    joined: bool,
    ray_log: SharedLog,
    events: Events,
}

impl Output {
    fn line(&mut self, line: String) {
        let _ = lock(&self.ray_log).raw(&format!("{line}\n"));
        if !self.joined && ray_output::is_joined_line(&line) {
            self.joined = true;
            let skew = ray_output::python_patch_skew(self.tail.make_contiguous());
            let _ = self.events.send(Event::PythonSkew(skew));
            let _ = self.events.send(Event::WorkerJoined);
        }
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }
}

/// What an exit means, from the end of the worker's output; a suspected version skew names
/// this machine's Ray version (`ray`'s).
async fn explain_exit(ray: &Path, code: Option<i32>, tail: &[String]) -> Option<WorkerFailure> {
    if code.is_none() && tail.is_empty() {
        return None;
    }
    Some(match ray_output::classify_exit(tail) {
        WorkerFailure::VersionSkewSuspected { this_machine: None } => {
            WorkerFailure::VersionSkewSuspected {
                this_machine: local_ray_version(ray).await,
            }
        }
        other => other,
    })
}

/// This machine's Ray version (`ray --version`), if it answers in time.
pub async fn local_ray_version(ray: &Path) -> Option<String> {
    let mut command = Command::new(ray);
    command.arg("--version").stdin(Stdio::null());
    let output = output_within(&mut command, RAY_VERSION_TIMEOUT)
        .await
        .ok()?;
    ray_output::parse_ray_version(&String::from_utf8_lossy(&output.stdout))
}

/// `count` bytes of `/dev/urandom` in hex.
pub fn random_hex(count: usize) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = vec![0u8; count];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A token no other run has: 16 random bytes in hex (the time and our pid where there is no
/// `/dev/urandom`, which is still unique on this machine).
pub fn new_mark() -> String {
    random_hex(16).unwrap_or_else(|_| {
        let nanos = std::time::UNIX_EPOCH.elapsed().unwrap_or_default();
        format!("{}-{}", std::process::id(), nanos.as_nanos())
    })
}

/// `ray start` gets SIGTERM when its parent dies, so a supervisor killed -9 leaves no worker. The
/// kernel sends it when the forking *thread* ends: `spawn` runs on the runtime's one thread,
/// which outlives the worker, never on `spawn_blocking`'s, which end when idle.
#[cfg(target_os = "linux")]
fn set_parent_death_signal(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec only async-signal-safe calls are made (prctl, getppid), and
    // nothing is allocated: `from_raw_os_error` builds the error in place.
    let signal = libc::SIGTERM as libc::c_ulong;
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent died between fork and prctl: the signal will never come.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// The lines of `stream` (none if absent): invalid UTF-8 is replaced rather than ending the
/// reading (which would close the pipe, and Ray would die of SIGPIPE), and a line longer than
/// [`MAX_LINE_BYTES`] is cut, saying how much was dropped.
fn lines_of(stream: Option<impl AsyncRead + Unpin + Send + 'static>) -> BoxStream<'static, String> {
    futures::stream::unfold(stream.map(BufReader::new), |reader| async move {
        let mut reader = reader?;
        let line = read_capped_line(&mut reader, MAX_LINE_BYTES).await.ok()??;
        Some((line, Some(reader)))
    })
    .boxed()
}

/// The next line of `reader` without its end (`\n` or `\r\n`), at most `cap` bytes of it
/// kept; `None` at the end of the stream.
async fn read_capped_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    cap: usize,
) -> std::io::Result<Option<String>> {
    let mut kept = Vec::new();
    let mut dropped = 0usize;
    let mut read_any = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            if !read_any {
                return Ok(None);
            }
            break;
        }
        read_any = true;
        let newline = available.iter().position(|b| *b == b'\n');
        let part = &available[..newline.unwrap_or(available.len())];
        let room = cap.saturating_sub(kept.len()).min(part.len());
        kept.extend_from_slice(&part[..room]);
        dropped += part.len() - room;
        let used = part.len() + usize::from(newline.is_some());
        reader.consume(used);
        if newline.is_some() {
            break;
        }
    }
    if dropped == 0 && kept.last() == Some(&b'\r') {
        kept.pop();
    }
    let mut line = String::from_utf8_lossy(&kept).into_owned();
    if dropped > 0 {
        line.push_str(&format!(" … [{dropped} more bytes of this line dropped]"));
    }
    Ok(Some(line))
}

/// What was found of a worker left behind by an earlier run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Orphan {
    /// No pid file, or nothing of its worker runs.
    None,
    /// The pid file named something that is not (or cannot be proven to be) our worker: from
    /// another boot, a recycled pid, group 0 or 1, our own group, no full record. Untouched.
    Stale { pid: u32 },
    /// Our old worker (or what remained of it) was running and has been stopped.
    Stopped { pid: u32 },
}

/// Finds the worker an earlier run left behind (the pid file) and stops every process of it:
/// SIGTERM, then SIGKILL after `grace`. Nothing that cannot be proven ours is signalled: the
/// record must be of this boot and name a group leader other than us; the leader counts only
/// with the same raw start ticks, its group only through the leader or a member carrying the
/// record's mark; any process carrying the mark is ours wherever it is.
pub async fn stop_orphan(pid_file: &Path, processes: &dyn ProcessTable, grace: Duration) -> Orphan {
    let Ok(text) = std::fs::read_to_string(pid_file) else {
        return Orphan::None;
    };
    let _ = std::fs::remove_file(pid_file);
    let record = match serde_json::from_str::<PidRecord>(&text) {
        Ok(record) => record,
        // A file without a boot id, ticks or a mark proves nothing: its pid is left alone.
        Err(_) => {
            let pid = serde_json::from_str::<serde_json::Value>(&text).ok();
            let pid = pid.and_then(|v| u32::try_from(v["pid"].as_u64()?).ok());
            return pid.map_or(Orphan::None, |pid| Orphan::Stale { pid });
        }
    };
    let stale = Orphan::Stale { pid: record.pid };
    let own_pid = std::process::id();
    let own_group = nix::unistd::getpgrp().as_raw() as u32;
    if record.pid != record.pgid
        || record.pgid <= 1
        || record.pid == own_pid
        || record.pgid == own_group
        || record.mark.is_empty()
    {
        return stale;
    }
    match processes.boot_id() {
        Some(boot) if !record.boot_id.is_empty() && boot == record.boot_id => {}
        _ => return stale,
    }
    let tree = tree_of(processes, &record);
    if tree.is_empty() {
        return match processes.start_ticks(record.pid) {
            // The pid lives, but as another process.
            Some(_) => stale,
            None => Orphan::None,
        };
    }
    if group_is_ours(processes, &record, &tree) {
        processes.signal_group(record.pid, Signal::SIGTERM);
    }
    signal_known(processes, &tree, Signal::SIGTERM);
    let deadline = tokio::time::Instant::now() + grace;
    // Each look reads every process's environment: four a second is plenty.
    while tokio::time::Instant::now() < deadline && !tree_of(processes, &record).is_empty() {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    kill_tree(processes, &record, &tree);
    Orphan::Stopped { pid: record.pid }
}

/// Every process of the worker `record` now running, less ourselves: the leader and its
/// descendants (only while the leader is the very process that started), the members of its
/// group (only when [`group_is_ours`]), and whatever carries its mark.
fn tree_of(processes: &dyn ProcessTable, record: &PidRecord) -> Vec<Known> {
    let own = std::process::id();
    let list = processes.list();
    let leader_ticks = processes.start_ticks(record.pid);
    let leader_ours = leader_ticks == Some(record.start_ticks);
    let mut pids = if leader_ours {
        descendants(&list, record.pid, |p| (p.pid, p.parent))
    } else {
        Vec::new()
    };
    if !record.mark.is_empty() {
        pids.extend(processes.carrying(RUN_MARK, &record.mark));
    }
    let members: Vec<u32> = list
        .iter()
        .filter(|p| processes.group_of(p.pid) == Some(record.pid))
        .map(|p| p.pid)
        .collect();
    // The group is ours through its leader, or (leader gone) through a marked member: a group
    // id is not reused while any member lives, so a group holding one of ours is the old one.
    if leader_ours || (leader_ticks.is_none() && members.iter().any(|m| pids.contains(m))) {
        pids.extend(members);
    }
    let mut known: Vec<Known> = Vec::new();
    for pid in pids {
        if pid <= 1 || pid == own || known.iter().any(|k| k.pid == pid) {
            continue;
        }
        if let Some(ticks) = processes.start_ticks(pid) {
            known.push(Known { pid, ticks });
        }
    }
    known
}

/// Whether the group of `record` may be signalled as a whole, `tree` being [`tree_of`] it.
fn group_is_ours(processes: &dyn ProcessTable, record: &PidRecord, tree: &[Known]) -> bool {
    record.pid > 1
        && tree
            .iter()
            .any(|k| processes.group_of(k.pid) == Some(record.pid))
}

/// Sends `signal` to each process of `known` still the same process (same start ticks).
fn signal_known(processes: &dyn ProcessTable, known: &[Known], signal: Signal) {
    for process in known {
        if processes.start_ticks(process.pid) == Some(process.ticks) {
            processes.signal(process.pid, signal);
        }
    }
}

/// SIGKILL to everything of the worker `record` that is left, and to what `earlier` (a
/// snapshot) still names, until nothing is left (a few passes: a dying process may have just
/// forked).
pub fn kill_tree(processes: &dyn ProcessTable, record: &PidRecord, earlier: &[Known]) {
    for _ in 0..10 {
        let mut left = tree_of(processes, record);
        for known in earlier {
            if !left.iter().any(|k| k.pid == known.pid)
                && processes.start_ticks(known.pid) == Some(known.ticks)
            {
                left.push(*known);
            }
        }
        if left.is_empty() {
            break;
        }
        if group_is_ours(processes, record, &left) {
            processes.signal_group(record.pid, Signal::SIGKILL);
        }
        signal_known(processes, &left, Signal::SIGKILL);
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::processes::ProcessInfo;
    use crate::platform::SystemProcesses;

    /// One process of a [`FakeProcesses`].
    #[derive(Debug, Clone)]
    struct FakeProcess {
        pid: u32,
        parent: Option<u32>,
        group: u32,
        ticks: u64,
        /// `NAME=value` entries.
        env: Vec<String>,
        /// SIGTERM leaves it running (only SIGKILL ends it).
        ignores_term: bool,
    }

    impl FakeProcess {
        fn new(pid: u32, parent: u32, group: u32, ticks: u64) -> Self {
            FakeProcess {
                pid,
                parent: Some(parent),
                group,
                ticks,
                env: Vec::new(),
                ignores_term: false,
            }
        }

        fn with_env(mut self, name: &str, value: &str) -> Self {
            self.env.push(format!("{name}={value}"));
            self
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum FakeSignal {
        Process(u32, Signal),
        Group(u32, Signal),
    }

    /// A process table of the test's processes on one boot: signals are recorded and act on
    /// them only (SIGKILL ends one, SIGTERM too unless it ignores it).
    struct FakeProcesses {
        boot_id: String,
        processes: Mutex<Vec<FakeProcess>>,
        signals: Mutex<Vec<FakeSignal>>,
    }

    impl FakeProcesses {
        fn new(boot_id: &str, processes: Vec<FakeProcess>) -> Self {
            FakeProcesses {
                boot_id: boot_id.to_string(),
                processes: Mutex::new(processes),
                signals: Mutex::new(Vec::new()),
            }
        }

        fn processes(&self) -> std::sync::MutexGuard<'_, Vec<FakeProcess>> {
            self.processes.lock().unwrap_or_else(|e| e.into_inner())
        }

        fn signals(&self) -> Vec<FakeSignal> {
            self.signals
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        }

        fn running(&self) -> Vec<u32> {
            self.processes().iter().map(|p| p.pid).collect()
        }

        fn find<T>(&self, pid: u32, what: impl Fn(&FakeProcess) -> T) -> Option<T> {
            self.processes().iter().find(|p| p.pid == pid).map(what)
        }

        fn deliver(&self, sent: FakeSignal, hit: impl Fn(&FakeProcess) -> bool) -> bool {
            self.signals
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(sent);
            let (FakeSignal::Process(_, signal) | FakeSignal::Group(_, signal)) = sent;
            let mut processes = self.processes();
            let any = processes.iter().any(&hit);
            processes.retain(|p| {
                let ends =
                    signal == Signal::SIGKILL || (signal == Signal::SIGTERM && !p.ignores_term);
                !(hit(p) && ends)
            });
            any
        }
    }

    impl ProcessTable for FakeProcesses {
        fn start_ticks(&self, pid: u32) -> Option<u64> {
            self.find(pid, |p| p.ticks)
        }

        fn group_of(&self, pid: u32) -> Option<u32> {
            self.find(pid, |p| p.group)
        }

        fn boot_id(&self) -> Option<String> {
            Some(self.boot_id.clone())
        }

        fn list(&self) -> Vec<ProcessInfo> {
            let info = |p: &FakeProcess| ProcessInfo {
                pid: p.pid,
                parent: p.parent,
                uid: None,
                cmd: Vec::new(),
            };
            self.processes().iter().map(info).collect()
        }

        fn carrying(&self, name: &str, value: &str) -> Vec<u32> {
            let wanted = format!("{name}={value}");
            let processes = self.processes();
            let carriers = processes.iter().filter(|p| p.env.contains(&wanted));
            carriers.map(|p| p.pid).collect()
        }

        fn signal(&self, pid: u32, signal: Signal) -> bool {
            self.deliver(FakeSignal::Process(pid, signal), |p| p.pid == pid)
        }

        fn signal_group(&self, pgid: u32, signal: Signal) -> bool {
            self.deliver(FakeSignal::Group(pgid, signal), |p| p.group == pgid)
        }

        fn usage(&self, _root: u32) -> Option<Vec<crate::model::ProcessUsage>> {
            None
        }
    }

    /// `ray start`'s arguments and environment with `processes`.
    fn start_with(processes: RayProcesses) -> (Vec<String>, Vec<(String, Option<String>)>) {
        let ray = RayCommand {
            ray: "/opt/ray/bin/ray".into(),
            auth_token_file: None,
            processes,
            temp_dir: None,
        };
        let spec = WorkerSpec {
            head: "100.64.0.1:6379".parse().expect("head"),
            cpus: 3,
        };
        let command = ray.start(&spec, "100.64.0.2".parse().expect("ip"));
        let text = |s: &std::ffi::OsStr| s.to_string_lossy().into_owned();
        let args = command.as_std().get_args().map(text).collect();
        let env = command
            .as_std()
            .get_envs()
            .map(|(k, v)| (text(k), v.map(text)))
            .collect();
        (args, env)
    }

    const START_ARGS: [&str; 6] = [
        "start",
        "--block",
        "--address=100.64.0.1:6379",
        "--num-cpus=3",
        "--node-ip-address=100.64.0.2",
        "--disable-usage-stats",
    ];

    #[test]
    fn a_lean_start_carries_the_lean_settings_and_a_plain_one_none_of_them() {
        let (args, lean) = start_with(RayProcesses::default());
        assert_eq!(args, START_ARGS);
        for (key, value) in LEAN_RAY_ENV {
            assert!(
                lean.contains(&(key.to_string(), Some(value.to_string()))),
                "{key} missing: {lean:?}"
            );
        }
        let (args, plain) = start_with(RayProcesses {
            lean: false,
            ..RayProcesses::default()
        });
        assert_eq!(args, START_ARGS);
        for (key, _) in LEAN_RAY_ENV {
            assert!(!plain.iter().any(|(k, _)| k == key), "{key}: {plain:?}");
        }
        for env in [lean, plain] {
            assert!(env.contains(&(
                "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER".to_string(),
                Some("1".to_string())
            )));
        }
    }

    #[test]
    fn the_raylets_periods_reach_ray_lean_or_not() {
        for lean in [true, false] {
            let (_, env) = start_with(RayProcesses {
                lean,
                report_ms: 700,
                memory_check_ms: 0,
                ..RayProcesses::default()
            });
            for (key, value) in [
                ("RAY_raylet_report_resources_period_milliseconds", "700"),
                ("RAY_memory_monitor_refresh_ms", "0"),
            ] {
                assert!(
                    env.contains(&(key.to_string(), Some(value.to_string()))),
                    "lean {lean}, {key}: {env:?}"
                );
            }
        }
    }

    #[test]
    fn without_task_output_rays_log_monitor_is_left_out() {
        let (args, _) = start_with(RayProcesses {
            task_output: false,
            ..RayProcesses::default()
        });
        assert_eq!(args[..START_ARGS.len()], START_ARGS);
        assert_eq!(args[START_ARGS.len()..], ["--include-log-monitor=false"]);
    }

    const BOOT: &str = "6f1c0b52-3a41-4e7e-9d1a-0f4f2d8b9c11";
    const MARK: &str = "00112233445566778899aabbccddeeff";
    const GRACE: Duration = Duration::from_secs(1);

    fn record(pid: u32, pgid: u32, boot_id: &str, start_ticks: u64) -> PidRecord {
        PidRecord {
            pid,
            pgid,
            boot_id: boot_id.to_string(),
            start_ticks,
            mark: MARK.to_string(),
        }
    }

    fn pid_file(dir: &tempfile::TempDir, record: &PidRecord) -> PathBuf {
        let path = dir.path().join("worker.pid");
        record.write(&path).expect("write the pid file");
        path
    }

    /// A worker as Ray 2.60 runs it (tests/lab/recorded/ps_laptop_busy_ray260.txt): `ray
    /// start` (500) leads group 500 with its raylet (501); a task worker (510) has a group of
    /// its own and a task subprocess (511); a subprocess of an earlier task (520) lost its
    /// parents and went to init. A stranger (900, group 900) and init live beside them.
    fn busy_worker() -> Vec<FakeProcess> {
        vec![
            FakeProcess::new(1, 0, 1, 1),
            FakeProcess::new(500, 1, 500, 5000).with_env(RUN_MARK, MARK),
            FakeProcess::new(501, 500, 500, 5001).with_env(RUN_MARK, MARK),
            FakeProcess::new(510, 501, 510, 5010).with_env(RUN_MARK, MARK),
            // A task that cleared its environment: found through its parent link.
            FakeProcess::new(511, 510, 510, 5011),
            FakeProcess::new(520, 1, 520, 5020).with_env(RUN_MARK, MARK),
            FakeProcess::new(900, 1, 900, 9000),
        ]
    }

    fn touched_only(table: &FakeProcesses, allowed: &[u32]) {
        for signal in table.signals() {
            let target = match signal {
                FakeSignal::Process(pid, _) | FakeSignal::Group(pid, _) => pid,
            };
            assert!(allowed.contains(&target), "signalled {signal:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_orphan_and_every_process_descended_from_it_are_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = FakeProcesses::new(BOOT, busy_worker());
        let path = pid_file(&dir, &record(500, 500, BOOT, 5000));
        let found = stop_orphan(&path, &table, GRACE).await;
        assert_eq!(found, Orphan::Stopped { pid: 500 });
        assert_eq!(table.running(), vec![1, 900]);
        touched_only(&table, &[500, 501, 510, 511, 520]);
        assert!(!path.exists());
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_ignoring_sigterm_gets_sigkill_after_the_grace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut processes = busy_worker();
        for p in &mut processes {
            p.ignores_term = true;
        }
        let table = FakeProcesses::new(BOOT, processes);
        let path = pid_file(&dir, &record(500, 500, BOOT, 5000));
        assert_eq!(
            stop_orphan(&path, &table, GRACE).await,
            Orphan::Stopped { pid: 500 }
        );
        assert_eq!(table.running(), vec![1, 900]);
        assert!(table
            .signals()
            .contains(&FakeSignal::Process(511, Signal::SIGKILL)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pid_file_of_another_boot_is_stale_and_nothing_is_signalled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = FakeProcesses::new(BOOT, busy_worker());
        let path = pid_file(&dir, &record(500, 500, "another-boot", 5000));
        assert_eq!(
            stop_orphan(&path, &table, GRACE).await,
            Orphan::Stale { pid: 500 }
        );
        assert!(table.signals().is_empty(), "{:?}", table.signals());
    }

    #[tokio::test(start_paused = true)]
    async fn a_recycled_pid_is_left_alone_whatever_the_wall_clock_says() {
        // The stranger 900 now has the pid of a worker that started at tick 4000: the wall
        // clock start may even be equal (a clock step), the ticks are not.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut processes = busy_worker();
        processes.retain(|p| p.env.is_empty());
        processes.retain(|p| p.pid != 511);
        let table = FakeProcesses::new(BOOT, processes);
        let path = pid_file(&dir, &record(900, 900, BOOT, 4000));
        assert_eq!(
            stop_orphan(&path, &table, GRACE).await,
            Orphan::Stale { pid: 900 }
        );
        assert!(table.signals().is_empty(), "{:?}", table.signals());
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_whose_leader_is_gone_is_stopped_only_when_a_member_is_ours() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Group 500's leader is gone; its member 501 is not ours (no mark): untouched.
        let strangers = FakeProcesses::new(
            BOOT,
            vec![
                FakeProcess::new(1, 0, 1, 1),
                FakeProcess::new(501, 1, 500, 5001),
            ],
        );
        let path = pid_file(&dir, &record(500, 500, BOOT, 5000));
        assert_eq!(stop_orphan(&path, &strangers, GRACE).await, Orphan::None);
        assert!(strangers.signals().is_empty(), "{:?}", strangers.signals());

        let ours = FakeProcesses::new(
            BOOT,
            vec![
                FakeProcess::new(1, 0, 1, 1),
                FakeProcess::new(501, 1, 500, 5001).with_env(RUN_MARK, MARK),
                FakeProcess::new(502, 501, 500, 5002),
            ],
        );
        let path = pid_file(&dir, &record(500, 500, BOOT, 5000));
        assert_eq!(
            stop_orphan(&path, &ours, GRACE).await,
            Orphan::Stopped { pid: 500 }
        );
        assert_eq!(ours.running(), vec![1]);
    }

    #[tokio::test(start_paused = true)]
    async fn records_naming_no_group_of_ours_are_stale_and_nothing_is_signalled() {
        let own = std::process::id();
        let own_group = nix::unistd::getpgrp().as_raw() as u32;
        let bad = [
            record(1, 1, BOOT, 1),
            record(500, 0, BOOT, 5000),
            record(0, 0, BOOT, 5000),
            record(501, 500, BOOT, 5001),
            record(own, own, BOOT, 5000),
            record(own_group, own_group, BOOT, 5000),
        ];
        for record in bad {
            let dir = tempfile::tempdir().expect("tempdir");
            let table = FakeProcesses::new(BOOT, busy_worker());
            let path = pid_file(&dir, &record);
            assert_eq!(
                stop_orphan(&path, &table, GRACE).await,
                Orphan::Stale { pid: record.pid },
                "{record:?}"
            );
            assert!(
                table.signals().is_empty(),
                "{record:?}: {:?}",
                table.signals()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pid_file_without_boot_ticks_or_mark_proves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("worker.pid");
        std::fs::write(&path, r#"{"pid":500,"pgid":500,"start_time":1700000050}"#).expect("write");
        let table = FakeProcesses::new(BOOT, busy_worker());
        assert_eq!(
            stop_orphan(&path, &table, GRACE).await,
            Orphan::Stale { pid: 500 }
        );
        assert!(table.signals().is_empty());
    }

    /// A real process tree: `bash` leading its group, with the mark, and a job in a group of
    /// its own (as Ray's task workers are) that starts `sleep`. Killed on drop.
    struct RealTree {
        leader: std::process::Child,
        ready: PathBuf,
        _dir: tempfile::TempDir,
    }

    impl RealTree {
        fn start(mark: &str) -> RealTree {
            use std::os::unix::process::CommandExt;
            let dir = tempfile::tempdir().expect("tempdir");
            let ready = dir.path().join("task.pid");
            let script = format!(
                "set -m; (sleep 600 & echo $! > '{}.tmp'; mv '{0}.tmp' '{0}'; wait) & wait",
                ready.display()
            );
            let leader = std::process::Command::new("bash")
                .args(["-c", &script])
                .env(RUN_MARK, mark)
                .process_group(0)
                .spawn()
                .expect("spawn bash");
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !ready.exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            RealTree {
                leader,
                ready,
                _dir: dir,
            }
        }

        fn task(&self) -> u32 {
            std::fs::read_to_string(&self.ready)
                .expect("task pid")
                .trim()
                .parse()
                .expect("a pid")
        }
    }

    impl Drop for RealTree {
        fn drop(&mut self) {
            if let Ok(task) = std::fs::read_to_string(&self.ready) {
                if let Ok(pid) = task.trim().parse::<i32>() {
                    let group = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid)));
                    let _ =
                        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
                    if let Ok(group) = group {
                        if group.as_raw() > 1 {
                            let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
                        }
                    }
                }
            }
            let leader = nix::unistd::Pid::from_raw(self.leader.id() as i32);
            let _ = nix::sys::signal::killpg(leader, Signal::SIGKILL);
            let _ = self.leader.wait();
        }
    }

    fn alive(pid: u32) -> bool {
        // A zombie has exited: only its parent has not collected it.
        SystemProcesses.start_ticks(pid).is_some()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| {
                    s.rsplit_once(')')
                        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
                })
                .unwrap_or(false)
    }

    #[tokio::test]
    async fn a_real_orphan_and_its_task_in_another_group_are_stopped() {
        let mark = new_mark();
        let tree = RealTree::start(&mark);
        let leader = tree.leader.id();
        let task = tree.task();
        assert_ne!(SystemProcesses.group_of(task), Some(leader), "own group");
        let table = SystemProcesses;
        let dir = tempfile::tempdir().expect("tempdir");
        let record = PidRecord {
            pid: leader,
            pgid: leader,
            boot_id: table.boot_id().expect("boot id"),
            start_ticks: table.start_ticks(leader).expect("ticks"),
            mark,
        };
        let path = pid_file(&dir, &record);
        let found = stop_orphan(&path, &table, GRACE).await;
        assert_eq!(found, Orphan::Stopped { pid: leader });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while alive(task) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!alive(task), "the task's sleep survived");
    }

    #[tokio::test]
    async fn real_records_naming_init_our_group_or_another_boot_touch_nothing() {
        let table = SystemProcesses;
        let boot = table.boot_id().expect("boot id");
        let mark = new_mark();
        let tree = RealTree::start(&mark);
        let leader = tree.leader.id();
        let ticks = table.start_ticks(leader).expect("ticks");
        let own = std::process::id();
        let bad = vec![
            record(1, 1, &boot, table.start_ticks(1).unwrap_or(0)),
            // Group 0 is the caller's own group: `killpg(0)` would hit this test runner.
            PidRecord {
                pgid: 0,
                ..record(leader, leader, &boot, ticks)
            },
            record(own, own, &boot, table.start_ticks(own).expect("our ticks")),
            record(leader, leader, "not-this-boot", ticks),
            // The right pid with other start ticks: recycled (and a mark nothing carries).
            PidRecord {
                mark: "no-such-mark".to_string(),
                ..record(leader, leader, &boot, ticks + 1)
            },
        ];
        for record in bad {
            // The tree's real mark: the record is refused before the mark is looked for.
            let record = PidRecord {
                mark: if record.mark == MARK {
                    mark.clone()
                } else {
                    record.mark
                },
                ..record
            };
            let dir = tempfile::tempdir().expect("tempdir");
            let path = pid_file(&dir, &record);
            let found = stop_orphan(&path, &table, GRACE).await;
            assert_eq!(found, Orphan::Stale { pid: record.pid }, "{record:?}");
            assert!(
                alive(leader) && alive(tree.task()),
                "{record:?} killed the tree"
            );
        }
    }

    async fn read_all(input: &[u8], cap: usize) -> Vec<String> {
        let mut reader = BufReader::with_capacity(64, input);
        let mut lines = Vec::new();
        while let Some(line) = read_capped_line(&mut reader, cap).await.expect("read") {
            lines.push(line);
        }
        lines
    }

    #[tokio::test]
    async fn invalid_utf8_is_replaced_and_reading_goes_on() {
        let lines = read_all(b"caf\xe9 \xff\xfe\r\nRay runtime started.\nlast", 100).await;
        assert_eq!(
            lines,
            vec![
                "caf\u{fffd} \u{fffd}\u{fffd}",
                "Ray runtime started.",
                "last"
            ]
        );
    }

    #[tokio::test]
    async fn a_long_line_is_cut_and_the_next_one_is_whole() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\nnext\n");
        let lines = read_all(&input, 100).await;
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with(&"x".repeat(100)), "{}", lines[0]);
        assert!(
            lines[0].ends_with("[900 more bytes of this line dropped]"),
            "{}",
            lines[0]
        );
        assert_eq!(lines[1], "next");
    }
}
