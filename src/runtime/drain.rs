//! Graceful leave: ask the head to drain this node ([`drain_node`]: our raylet's node id, then
//! `ray drain-node`), then look, as often as the supervisor asks, whether a task still runs here
//! ([`sample_tree`]). When the node is idle and when to give up are the supervisor's rules;
//! nothing here stops a process. Ray 2.60, measured in the lab (tests/lab/README.md, "Drain"):
//! - A PREEMPTION drain is never refused, even for a dead, unknown or the *head's own* id
//!   (killing the head's raylet): so the id is read from our own raylet's command line.
//! - Nothing new is scheduled; running tasks run to the end, past the deadline (only advice).
//! - A drained idle raylet exits, but `ray start --block` keeps blocking: stop it still.
//! - Task workers are the raylet's children, titled `ray::IDLE` or `ray::<task>`.

use std::time::Duration;

use crate::model::HeadAddress;
use crate::platform::command::{output_within, CommandError};
use crate::platform::processes::{descendants, ProcessInfo};
use crate::platform::{ProcessTable, SystemProcesses};
use crate::ray_output::{classify_drain_failure, DrainError};
use crate::runtime::worker::RayCommand;
use crate::supervisor::TreeReading;

/// The longest `ray drain-node` may take: it answers in 0.8–1.7 s, and with the connect timeouts
/// below gives up by itself after ~10 s when the head is silent.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Ray's GCS client retries a silent head for ~41 s by default; these make `ray drain-node` give up
/// after ~10 s (measured).
const GCS_CONNECT_ENV: [(&str, &str); 2] = [
    ("RAY_gcs_rpc_server_connect_timeout_s", "2"),
    ("RAY_gcs_rpc_server_reconnect_timeout_s", "5"),
];

/// This node's id, from the command line of the raylet worker `worker_pid` started (only a
/// joined worker is drained): unlike `/tmp/ray/session_latest`, shared by every Ray here, it is
/// this very worker's, and needs neither the dashboard nor the head.
pub fn node_id(worker_pid: u32) -> Option<String> {
    tree_of(&SystemProcesses.list(), worker_pid)
        .into_iter()
        .find_map(|process| node_id_from_args(&process.cmd))
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
    let ran = output_within(&mut command, REQUEST_TIMEOUT).await;
    let output = ran.map_err(|error| match error {
        CommandError::TimedOut { .. } => DrainError::TimedOut {
            secs: REQUEST_TIMEOUT.as_secs(),
        },
        CommandError::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            DrainError::RayMissing {
                path: ray.ray.display().to_string(),
            }
        }
        other => DrainError::Failed {
            detail: other.to_string(),
        },
    })?;
    if output.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Err(classify_drain_failure(&text, output.status.code(), head))
}

/// One look at the worker's process tree, for the supervisor's idle rule.
pub async fn sample_tree(worker_pid: u32) -> TreeReading {
    tokio::task::spawn_blocking(move || tree_state(&SystemProcesses.list(), worker_pid))
        .await
        // The table could not be read: not idle.
        .unwrap_or(TreeReading::Busy)
}

/// The node's death reason the head shows for our drain.
const LEAVING_MESSAGE: &str = "BitTrader Worker: this laptop is leaving (pause)";

pub async fn drain_node(
    ray: &RayCommand,
    head: &HeadAddress,
    worker_pid: u32,
    deadline: Duration,
) -> Result<(), DrainError> {
    let node_id = tokio::task::spawn_blocking(move || node_id(worker_pid))
        .await
        .ok()
        .flatten()
        .ok_or(DrainError::NodeIdNotFound)?;
    request_drain(ray, head, &node_id, LEAVING_MESSAGE, deadline).await
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
        .is_some_and(|exe| exe.rsplit('/').next().unwrap_or(exe) == "raylet")
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

/// What the worker's process tree shows: gone, or its raylet gone (a drained raylet exits once
/// idle); busy while a task runs; else quiet.
pub fn tree_state(list: &[ProcessInfo], root: u32) -> TreeReading {
    let roles: Vec<Role> = tree_of(list, root).iter().map(|p| role(&p.cmd)).collect();
    if !roles.contains(&Role::Raylet) {
        TreeReading::Gone
    } else if roles.iter().any(|role| matches!(role, Role::Busy(_))) {
        TreeReading::Busy
    } else {
        TreeReading::Quiet
    }
}

fn tree_of(list: &[ProcessInfo], root: u32) -> Vec<&ProcessInfo> {
    let tree = descendants(list, root, |p| (p.pid, p.parent));
    list.iter().filter(|p| tree.contains(&p.pid)).collect()
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
                    uid: None,
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
        assert_eq!(tree_state(&busy, 7), TreeReading::Busy);
        let working = busy
            .iter()
            .find(|p| role(&p.cmd) == Role::Busy("work".to_string()));
        assert!(
            working.is_some_and(|p| descendants(&busy, 7, |p| (p.pid, p.parent)).contains(&p.pid))
        );
        let idle = ps_snapshot(&recorded("ps_laptop_idle_ray260.txt"));
        assert_eq!(tree_state(&idle, 7), TreeReading::Quiet);
        // Another process tree (the holder's) is not ours: it has no raylet.
        assert_eq!(tree_state(&busy, 6), TreeReading::Gone);
        assert_eq!(tree_state(&busy, 4242), TreeReading::Gone);
    }

    #[test]
    fn a_drained_raylet_that_exited_leaves_no_raylet() {
        // After the drain: `ray start` and the log monitor only.
        let rows = ps_snapshot(&recorded("ps_laptop_busy_ray260.txt"))
            .into_iter()
            .filter(|p| p.pid == 7 || p.pid == 18 || p.pid == 1)
            .collect::<Vec<_>>();
        assert_eq!(tree_state(&rows, 7), TreeReading::Gone);
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
            temp_dir: None,
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
        assert_eq!(node_id(me), None);
        // Not a Ray worker at all: no raylet, so nothing to wait for.
        assert_eq!(sample_tree(me).await, TreeReading::Gone);
    }
}
