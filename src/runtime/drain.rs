//! Graceful leave: ask the head to drain this node ([`drain_node`]: this node's id from our own
//! raylet, then `ray drain-node`), then, as often as the supervisor asks, look whether a task still
//! runs here ([`sample_tree`]). When the node counts as idle and when to give up are the
//! supervisor's rules; nothing here stops a process.
//!
//! What Ray 2.60 does (measured in the two-host lab, tests/lab/README.md, "Drain"):
//! - A PREEMPTION drain is never refused, even for a dead, unknown or the *head's own* id (which
//!   kills the head's raylet): so the id is read from our own raylet's command line.
//! - Nothing new is scheduled here; running tasks run to the end, even past the deadline (only
//!   advice).
//! - A draining idle node's raylet exits by itself, but `ray start --block` keeps blocking: the
//!   worker must still be stopped.
//! - Task workers are the raylet's children, titled `ray::IDLE` when idle and `ray::<task>` while a
//!   task runs.

use std::time::Duration;

use tokio::time::Instant;

use crate::model::{HeadAddress, WorkerFailure};
use crate::platform::command::{output_within, CommandError};
use crate::platform::processes::{descendants, ProcessInfo};
use crate::ray_output;
use crate::runtime::worker::{RayCommand, SharedProcesses};
use crate::supervisor::TreeReading;

/// How often the process table is read while waiting for the raylet.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// The raylet appears about 1 s after `ray start`; a drain asked for sooner waits this long.
const NODE_ID_WAIT: Duration = Duration::from_secs(5);

/// The longest `ray drain-node` may take: it answers in 0.8–1.7 s, and with the connect timeouts
/// below gives up by itself after ~10 s when the head is silent.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Ray's GCS client retries a silent head for ~41 s by default; these make `ray drain-node` give up
/// after ~10 s (measured).
const GCS_CONNECT_ENV: [(&str, &str); 2] = [
    ("RAY_gcs_rpc_server_connect_timeout_s", "2"),
    ("RAY_gcs_rpc_server_reconnect_timeout_s", "5"),
];

const MAX_DETAIL: usize = 200;

/// Why the head could not be asked to drain this node; the Display is the user's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrainError {
    #[error("this node's id was not found under the worker's raylet")]
    NodeIdNotFound,
    #[error("Ray is not installed at {path}: run `bittrader-worker setup`")]
    RayMissing { path: String },
    /// Ray before 2.10 or so.
    #[error(
        "This machine's Ray is too old to hand its tasks back to the head (no `ray drain-node`): \
         run `bittrader-worker setup` to install the head's version"
    )]
    Unsupported,
    #[error(
        "The head at {head} did not answer, so it could not take this machine's tasks back; \
         check the network (Tailscale) and the head"
    )]
    HeadUnreachable { head: String },
    #[error(
        "The head refused this machine's Ray authentication token: check auth_token_file in the \
         settings"
    )]
    AuthRefused,
    #[error("The head refused to take this machine's tasks back: {reason}")]
    Rejected { reason: String },
    /// Never expected: it comes from our own raylet.
    #[error("`{node_id}` is not a Ray node id")]
    InvalidNodeId { node_id: String },
    #[error("Ray took more than {secs} s to ask the head to drain this node; check the network")]
    TimedOut { secs: u64 },
    /// Anything else: the exit code and Ray's last meaningful line.
    #[error("Ray could not ask the head to drain this node ({detail})")]
    Failed { detail: String },
}

/// This node's id, from the command line of the raylet the worker `worker_pid` started
/// (`--node_id=<56 hex digits>`), waiting up to `timeout` for it to appear. Unlike
/// `/tmp/ray/session_latest` (shared by every Ray here) it is bound to this very worker, and needs
/// neither the dashboard nor the head.
pub async fn node_id(
    processes: &SharedProcesses,
    worker_pid: u32,
    timeout: Duration,
) -> Option<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let table = processes.clone();
        let found = tokio::task::spawn_blocking(move || table.list())
            .await
            .ok()
            .and_then(|list| {
                tree_of(&list, worker_pid)
                    .into_iter()
                    .find_map(|process| node_id_from_args(&process.cmd))
            });
        if found.is_some() {
            return found;
        }
        if Instant::now() + POLL_EVERY > deadline {
            return None;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Asks the head to drain `node_id` (`--reason DRAIN_NODE_REASON_PREEMPTION`): `message` shows as
/// the node's death reason; `deadline` is rounded up to whole seconds, advice only. Runs with the
/// worker's whole [`RayCommand`] (its auth token) and gives up after [`REQUEST_TIMEOUT`].
pub async fn request_drain(
    ray: &RayCommand,
    head: &HeadAddress,
    node_id: &str,
    message: &str,
    deadline: Duration,
) -> Result<(), DrainError> {
    if !is_node_id(node_id) {
        return Err(DrainError::InvalidNodeId {
            node_id: node_id.to_string(),
        });
    }
    let mut command = ray.command(drain_args(head, node_id, message, deadline));
    command.envs(GCS_CONNECT_ENV);
    let output = match output_within(&mut command, REQUEST_TIMEOUT).await {
        Err(CommandError::TimedOut { .. }) => {
            return Err(DrainError::TimedOut {
                secs: REQUEST_TIMEOUT.as_secs(),
            })
        }
        Err(CommandError::Spawn { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Err(DrainError::RayMissing {
                path: ray.ray.display().to_string(),
            })
        }
        Err(e) => {
            return Err(DrainError::Failed {
                detail: e.to_string(),
            })
        }
        Ok(output) => output,
    };
    if output.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Err(classify_failure(&text, output.status.code(), head))
}

/// One look at the worker's process tree, for the supervisor's idle rule.
pub async fn sample_tree(processes: SharedProcesses, worker_pid: u32) -> TreeReading {
    let state = tokio::task::spawn_blocking(move || tree_state(&processes.list(), worker_pid))
        .await
        .ok();
    match state {
        Some(TreeState::Gone | TreeState::NoRaylet) => TreeReading::Gone,
        Some(TreeState::Running { busy }) if busy.is_empty() => TreeReading::Quiet,
        // Busy, or the table could not be read: not idle.
        _ => TreeReading::Busy,
    }
}

pub async fn drain_node(
    ray: &RayCommand,
    head: &HeadAddress,
    processes: &SharedProcesses,
    worker_pid: u32,
    deadline: Duration,
) -> Result<(), DrainError> {
    let node_id = node_id(processes, worker_pid, NODE_ID_WAIT)
        .await
        .ok_or(DrainError::NodeIdNotFound)?;
    request_drain(
        ray,
        head,
        &node_id,
        "BitTrader Worker: this laptop is leaving (pause)",
        deadline,
    )
    .await
}

/// `--address` is always given: without it Ray reads `/tmp/ray/ray_current_cluster`, which any Ray
/// on the machine may have written.
pub fn drain_args(
    head: &HeadAddress,
    node_id: &str,
    message: &str,
    deadline: Duration,
) -> Vec<String> {
    let secs = deadline.as_secs() + u64::from(deadline.subsec_nanos() > 0);
    vec![
        "drain-node".to_string(),
        format!("--address={head}"),
        format!("--node-id={node_id}"),
        "--reason=DRAIN_NODE_REASON_PREEMPTION".to_string(),
        format!("--reason-message={message}"),
        format!("--deadline-remaining-seconds={secs}"),
    ]
}

/// A Ray 2.x node id: 28 bytes as 56 hex digits.
pub fn is_node_id(s: &str) -> bool {
    s.len() == 56 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The node id in a raylet's arguments (`--node_id=<hex>`); the dashboard agent's `--node-id=` is
/// not the node.
pub fn node_id_from_args(args: &[String]) -> Option<String> {
    if !is_raylet(args) {
        return None;
    }
    args.iter().find_map(|arg| {
        let id = arg.trim().strip_prefix("--node_id=")?;
        is_node_id(id).then(|| id.to_ascii_lowercase())
    })
}

fn is_raylet(args: &[String]) -> bool {
    args.first()
        .map(|exe| exe.rsplit('/').next().unwrap_or(exe) == "raylet")
        .unwrap_or(false)
}

/// What a process in the worker's tree is, from its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Raylet,
    /// A Ray worker running a task or holding an actor: `ray::<name>`.
    Busy(String),
    /// A Ray worker waiting for work (`ray::IDLE`), an agent, or a spill/restore I/O worker.
    Idle,
    /// Anything else (`ray start`, the log monitor, a worker still starting).
    Other,
}

/// A process's role from its command line. Ray's Python processes retitle themselves with
/// setproctitle: `ray::IDLE`, `ray::<task>` or `ray::<Actor>.<method>` (an idle actor,
/// `ray::<Actor>`, holds resources and the drain waits for it: busy).
pub fn role(args: &[String]) -> Role {
    if is_raylet(args) {
        return Role::Raylet;
    }
    // setproctitle pads with NULs: sysinfo may hand back "ray::IDLE" then empty strings.
    let Some(first) = args.iter().map(|a| a.trim()).find(|a| !a.is_empty()) else {
        return Role::Other;
    };
    let Some(title) = first.strip_prefix("ray::") else {
        return Role::Other;
    };
    // Titles of Ray's own processes (ray/_private/ray_constants.py, 2.60).
    let not_tasks = [
        "IDLE",
        "DashboardAgent",
        "RuntimeEnvAgent",
        "IDLE_SpillWorker",
        "IDLE_RestoreWorker",
        "SPILL_SpillWorker",
        "RESTORE_RestoreWorker",
        "DELETE_SpillWorker",
    ];
    let name = title.split_whitespace().next().unwrap_or("");
    if name.is_empty() || not_tasks.contains(&name) {
        Role::Idle
    } else {
        Role::Busy(name.to_string())
    }
}

/// What the worker's process tree shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeState {
    /// The worker process is gone.
    Gone,
    /// The worker runs but has no raylet (a drained raylet exits once idle).
    NoRaylet,
    /// The raylet runs; `busy` names the tasks running.
    Running { busy: Vec<String> },
}

pub fn tree_state(list: &[ProcessInfo], root: u32) -> TreeState {
    if !list.iter().any(|p| p.pid == root) {
        return TreeState::Gone;
    }
    let tree = tree_of(list, root);
    let mut raylet = false;
    let mut busy = Vec::new();
    for process in tree {
        match role(&process.cmd) {
            Role::Raylet => raylet = true,
            Role::Busy(name) => busy.push(name),
            Role::Idle | Role::Other => {}
        }
    }
    if raylet {
        TreeState::Running { busy }
    } else {
        TreeState::NoRaylet
    }
}

fn tree_of(list: &[ProcessInfo], root: u32) -> Vec<&ProcessInfo> {
    let tree = descendants(list, root);
    list.iter().filter(|p| tree.contains(&p.pid)).collect()
}

/// Why `ray drain-node` failed, from its output and exit code.
pub fn classify_failure(output: &str, code: Option<i32>, head: &HeadAddress) -> DrainError {
    let lines: Vec<String> = output.lines().map(String::from).collect();
    let lower = output.to_lowercase();
    if lower.contains("no such command") {
        return DrainError::Unsupported;
    }
    if let Some(at) = lower.find("the drain request is not accepted:") {
        let reason = output[at + "the drain request is not accepted:".len()..]
            .lines()
            .next()
            .unwrap_or("")
            .trim();
        return DrainError::Rejected {
            reason: reason.to_string(),
        };
    }
    if lower.contains("invalid hex id of a ray node") || lower.contains("incorrect hex string") {
        let node_id = lines
            .iter()
            .find_map(|l| l.split("Invalid hex ID of a Ray node, got ").nth(1))
            .unwrap_or("")
            .trim()
            .to_string();
        return DrainError::InvalidNodeId { node_id };
    }
    match ray_output::classify_exit(&lines) {
        WorkerFailure::AuthRefused => DrainError::AuthRefused,
        WorkerFailure::HeadUnreachable => DrainError::HeadUnreachable {
            head: head.to_string(),
        },
        WorkerFailure::Crashed { last_line } => {
            let detail = match code {
                Some(code) => format!("exit {code}: {last_line}"),
                None => format!("killed by a signal: {last_line}"),
            };
            DrainError::Failed {
                detail: ray_output::shorten(&detail, MAX_DETAIL),
            }
        }
        // A version mismatch or skew shows up the same way as for `ray start`.
        other => DrainError::Failed {
            detail: crate::text::failure_message(crate::text::Lang::En, &other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/recorded/");

    fn recorded(name: &str) -> String {
        std::fs::read_to_string(format!("{RECORDED}{name}")).expect("recorded file")
    }

    fn head() -> HeadAddress {
        "100.64.0.1:6379".parse().expect("head")
    }

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    /// The recorded `ps -eo pid,ppid,pgid,stat,comm,args` of the laptop host, as snapshot rows.
    fn ps_snapshot(text: &str) -> Vec<ProcessInfo> {
        text.lines()
            .skip(1)
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let pid = words.next()?.parse().ok()?;
                let parent = words.next()?.parse().ok();
                let _pgid = words.next()?;
                let _stat = words.next()?;
                let _comm = words.next()?;
                Some(ProcessInfo {
                    pid,
                    parent,
                    cmd: words.map(String::from).collect(),
                })
            })
            .collect()
    }

    #[test]
    fn the_node_id_comes_from_the_recorded_raylet_command_line() {
        // One argument a line, as /proc/PID/cmdline holds them.
        let cmd: Vec<String> = recorded("raylet_cmdline_ray260.txt")
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(
            node_id_from_args(&cmd).as_deref(),
            Some("7f0b10ec791a7bf8339c20660aed36ce6e0bc8f10b3f6372abad3bef")
        );
        assert_eq!(role(&cmd), Role::Raylet);
    }

    #[test]
    fn only_the_raylet_gives_a_node_id() {
        let agent = args(
            "/venv/bin/python -u /venv/lib/python3.11/site-packages/ray/dashboard/agent.py \
             --node-id=7f0b10ec791a7bf8339c20660aed36ce6e0bc8f10b3f6372abad3bef",
        );
        assert_eq!(node_id_from_args(&agent), None);
        let short = args("/x/raylet --node_id=7f0b10ec");
        assert_eq!(node_id_from_args(&short), None);
        assert_eq!(node_id_from_args(&[]), None);
    }

    #[test]
    fn process_titles_recorded_in_the_lab() {
        assert_eq!(role(&args("ray::work")), Role::Busy("work".to_string()));
        assert_eq!(role(&args("ray::IDLE")), Role::Idle);
        assert_eq!(role(&args("ray::DashboardAgent")), Role::Idle);
        assert_eq!(role(&args("ray::RuntimeEnvAgent")), Role::Idle);
        // setproctitle's NUL padding, as sysinfo splits it.
        let padded = vec!["ray::IDLE".to_string(), String::new(), String::new()];
        assert_eq!(role(&padded), Role::Idle);
        let actor = args("ray::Counter.increment");
        assert_eq!(role(&actor), Role::Busy("Counter.increment".to_string()));
        assert_eq!(
            role(&args("/venv/bin/python /venv/bin/ray start --block")),
            Role::Other
        );
    }

    #[test]
    fn a_recorded_busy_laptop_has_one_task_and_an_idle_one_none() {
        let busy = ps_snapshot(&recorded("ps_laptop_busy_ray260.txt"));
        assert_eq!(
            tree_state(&busy, 7),
            TreeState::Running {
                busy: vec!["work".to_string()]
            }
        );
        let idle = ps_snapshot(&recorded("ps_laptop_idle_ray260.txt"));
        assert_eq!(tree_state(&idle, 7), TreeState::Running { busy: vec![] });
        // Another process tree (the holder's) is not ours.
        assert_eq!(tree_state(&busy, 6), TreeState::NoRaylet);
        assert_eq!(tree_state(&busy, 4242), TreeState::Gone);
    }

    #[test]
    fn a_drained_raylet_that_exited_leaves_no_raylet() {
        // After the drain: `ray start` and the log monitor only.
        let rows = ps_snapshot(&recorded("ps_laptop_busy_ray260.txt"))
            .into_iter()
            .filter(|p| p.pid == 7 || p.pid == 18 || p.pid == 1)
            .collect::<Vec<_>>();
        assert_eq!(tree_state(&rows, 7), TreeState::NoRaylet);
    }

    #[test]
    fn drain_arguments() {
        assert_eq!(
            drain_args(
                &head(),
                "7f0b10ec791a7bf8339c20660aed36ce6e0bc8f10b3f6372abad3bef",
                "Paused on the laptop",
                Duration::from_millis(60_001)
            ),
            vec![
                "drain-node",
                "--address=100.64.0.1:6379",
                "--node-id=7f0b10ec791a7bf8339c20660aed36ce6e0bc8f10b3f6372abad3bef",
                "--reason=DRAIN_NODE_REASON_PREEMPTION",
                "--reason-message=Paused on the laptop",
                "--deadline-remaining-seconds=61",
            ]
        );
        assert!(drain_args(&head(), "x", "m", Duration::from_secs(60))
            .contains(&"--deadline-remaining-seconds=60".to_string()));
    }

    #[test]
    fn recorded_failures_are_explained() {
        let refused = recorded("drain_node_refused_short_timeouts_ray260.txt");
        assert_eq!(
            classify_failure(&refused, Some(1), &head()),
            DrainError::HeadUnreachable {
                head: "100.64.0.1:6379".to_string()
            }
        );
        let cut = recorded("drain_node_head_cut_short_timeouts_ray260.txt");
        assert!(matches!(
            classify_failure(&cut, Some(1), &head()),
            DrainError::HeadUnreachable { .. }
        ));
        let default_refused = recorded("drain_node_refused_default_ray260.txt");
        assert!(matches!(
            classify_failure(&default_refused, Some(1), &head()),
            DrainError::HeadUnreachable { .. }
        ));
        let bad = recorded("drain_node_bad_node_id_ray260.txt");
        assert_eq!(
            classify_failure(&bad, Some(2), &head()),
            DrainError::InvalidNodeId {
                node_id: "xyz".to_string()
            }
        );
    }

    #[test]
    fn rejections_and_old_rays_are_explained() {
        // From ray/scripts/scripts.py (2.60): raised when the GCS says no (only an
        // IDLE_TERMINATION drain of a busy node is refused).
        let rejected = "Error: The drain request is not accepted: The node is not idle\n";
        assert_eq!(
            classify_failure(rejected, Some(1), &head()),
            DrainError::Rejected {
                reason: "The node is not idle".to_string()
            }
        );
        let old = "Usage: ray [OPTIONS] COMMAND [ARGS]...\nTry 'ray --help' for help.\n\n\
                   Error: No such command 'drain-node'.\n";
        assert_eq!(
            classify_failure(old, Some(2), &head()),
            DrainError::Unsupported
        );
        let other = classify_failure("boom\n", Some(3), &head());
        assert_eq!(
            other,
            DrainError::Failed {
                detail: "exit 3: boom".to_string()
            }
        );
    }

    #[test]
    fn node_ids_are_56_hex_digits() {
        assert!(is_node_id(
            "7f0b10ec791a7bf8339c20660aed36ce6e0bc8f10b3f6372abad3bef"
        ));
        assert!(!is_node_id("7f0b10ec"));
        assert!(!is_node_id(
            "7f0b10ec791a7bf8339c20660aed36ce6e0bc8f10b3f6372abad3beg"
        ));
    }

    #[tokio::test]
    async fn a_bad_node_id_is_refused_before_running_ray() {
        let ray = RayCommand {
            ray: "/nonexistent/ray".into(),
            auth_token_file: None,
            processes: Default::default(),
        };
        let result = request_drain(&ray, &head(), "xyz", "m", Duration::from_secs(1)).await;
        assert_eq!(
            result,
            Err(DrainError::InvalidNodeId {
                node_id: "xyz".to_string()
            })
        );
        let id = "7f0b10ec791a7bf8339c20660aed36ce6e0bc8f10b3f6372abad3bef";
        let result = request_drain(&ray, &head(), id, "m", Duration::from_secs(1)).await;
        assert_eq!(
            result,
            Err(DrainError::RayMissing {
                path: "/nonexistent/ray".to_string()
            })
        );
    }

    #[tokio::test]
    async fn our_own_process_tree_has_no_raylet() {
        let me = std::process::id();
        let table: SharedProcesses = std::sync::Arc::new(crate::platform::SystemProcesses);
        assert_eq!(node_id(&table, me, Duration::from_millis(10)).await, None);
        // Not a Ray worker at all: no raylet, so nothing to wait for.
        assert_eq!(sample_tree(table, me).await, TreeReading::Gone);
    }
}
