//! Everything the driver does to the world, behind one trait, so that the driver can be run
//! against a fake world under paused time ([`crate::runtime::fake`]).
//!
//! Each slow operation returns a `'static` future: the driver spawns it and gets its result
//! back as a message, so its loop never waits on the network or on a command. The
//! implementations carry out one operation each and decide nothing; every timeout here is an
//! IO bound (how long one command may hang), never a rule of the supervisor.

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::{Config, NodeIp, Paths};
use crate::model::{HeadAddress, SleepGate, SystemEvent, Unreachable, WorkerFailure};
use crate::platform::clock::{SleepClock, SystemSleepClock};
use crate::platform::command::output_within;
use crate::platform::{PowerSource, SystemPower, SystemProcesses};
use crate::ray_output;
use crate::supervisor::{SpawnFailure, TreeReading, WorkerSpec};

use super::drain;
use super::log::RotatingLog;
use super::probe::{self, TailscaleCli};
use super::worker::{self, RayCommand, WorkerProcess, WorkerReport};

/// `ray --version` answers in about a second; one that hangs is given up on.
const RAY_VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// A worker the platform started.
pub trait WorkerHandle: Send + 'static {
    /// Its process id (and group id).
    fn pid(&self) -> u32;
    /// SIGTERM now, SIGKILL after `grace`; the exit is reported as a [`WorkerReport`].
    fn stop(&self, grace: Duration);
}

/// The facts of the machine the driver's watcher reads: power, lid, time asleep. Each read is
/// cheap and never spawns a process.
pub trait MachineFacts: PowerSource + SleepClock + Sync {}

impl<T: PowerSource + SleepClock + Sync> MachineFacts for T {}

/// What the driver does to the world.
pub trait Platform: Send + Sync + 'static {
    /// A started worker.
    type Worker: WorkerHandle;

    /// Is `head` reachable within `timeout`, and if not, why. `None`: it answered.
    fn probe(
        &self,
        head: &HeadAddress,
        timeout: Duration,
    ) -> impl Future<Output = Option<Unreachable>> + Send + 'static;

    /// This machine's address for the cluster, or why there is none.
    fn node_ip(
        &self,
        head: &HeadAddress,
    ) -> impl Future<Output = Result<IpAddr, String>> + Send + 'static;

    /// Starts the worker for `spec`, announcing `node_ip`; its join and exit are reported on
    /// `reports`.
    fn start_worker(
        &self,
        spec: &WorkerSpec,
        node_ip: IpAddr,
        reports: mpsc::UnboundedSender<WorkerReport>,
    ) -> Result<Self::Worker, SpawnFailure>;

    /// What an exit means, from the end of the worker's output.
    fn explain_exit(
        &self,
        code: Option<i32>,
        tail: Vec<String>,
    ) -> impl Future<Output = Option<WorkerFailure>> + Send + 'static;

    /// Asks the head to drain the node of worker `worker_pid`. `Err` holds a line for the log.
    fn drain(
        &self,
        head: &HeadAddress,
        worker_pid: u32,
        deadline: Duration,
    ) -> impl Future<Output = Result<(), String>> + Send + 'static;

    /// One look at worker `worker_pid`'s process tree.
    fn sample_tree(&self, worker_pid: u32) -> impl Future<Output = TreeReading> + Send + 'static;

    /// Power, lid and sleep clock, for the machine watcher.
    fn machine(&self) -> Arc<dyn MachineFacts>;

    /// Sends `()` on every change of the network interfaces, until the receiver goes away.
    fn watch_network(&self, changes: mpsc::UnboundedSender<()>);

    /// Sends the OS's sleep and wake notifications, where the driver itself can receive them
    /// (Linux: logind), until the receiver goes away; `gate` says when a sleep may go ahead.
    fn watch_sleep(
        &self,
        events: mpsc::UnboundedSender<SystemEvent>,
        gate: watch::Receiver<SleepGate>,
    );
}

/// The real world: `ray` processes, TCP probes, Tailscale, `/proc` or libproc, IOKit or sysfs.
pub struct SystemPlatform {
    paths: Paths,
    ray_path: Option<PathBuf>,
    auth_token_file: Option<PathBuf>,
    node_ip: NodeIp,
    tailscale: TailscaleCli,
    ray_log: Arc<Mutex<RotatingLog>>,
    /// A head joined with a fixed node IP whatever the configuration says (the built-in demo
    /// head listens on loopback only).
    pinned: Option<(HeadAddress, IpAddr)>,
}

impl SystemPlatform {
    /// The world as `config` describes it; Ray's own output goes to `ray_log`.
    pub fn new(
        paths: Paths,
        config: &Config,
        tailscale: TailscaleCli,
        ray_log: Arc<Mutex<RotatingLog>>,
    ) -> Self {
        SystemPlatform {
            paths,
            ray_path: config.ray_path.clone(),
            auth_token_file: config.auth_token_file.clone(),
            node_ip: config.node_ip,
            tailscale,
            ray_log,
            pinned: None,
        }
    }

    /// Joins `head` as `node_ip`, whatever `node_ip` the configuration gives.
    pub fn pin_node_ip(&mut self, head: HeadAddress, node_ip: IpAddr) {
        self.pinned = Some((head, node_ip));
    }

    /// How to run Ray now: the venv `setup` installs may appear while the app runs.
    fn ray(&self) -> RayCommand {
        RayCommand {
            ray: ray_executable(self.ray_path.as_ref(), &self.paths),
            auth_token_file: self.auth_token_file.clone(),
        }
    }
}

/// The `ray` to run: the configured one, else the one `setup` installed, else `ray` on PATH.
pub fn ray_executable(configured: Option<&PathBuf>, paths: &Paths) -> PathBuf {
    if let Some(path) = configured {
        return path.clone();
    }
    let venv = paths.venv_dir().join("bin").join("ray");
    if venv.is_file() {
        return venv;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("ray"))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| PathBuf::from("ray"))
}

impl WorkerHandle for WorkerProcess {
    fn pid(&self) -> u32 {
        WorkerProcess::pid(self)
    }

    fn stop(&self, grace: Duration) {
        WorkerProcess::stop(self, grace)
    }
}

impl Platform for SystemPlatform {
    type Worker = WorkerProcess;

    fn probe(
        &self,
        head: &HeadAddress,
        timeout: Duration,
    ) -> impl Future<Output = Option<Unreachable>> + Send + 'static {
        let (head, tailscale) = (head.clone(), self.tailscale.clone());
        async move { probe::probe_head(&head, timeout, &tailscale).await }
    }

    fn node_ip(
        &self,
        head: &HeadAddress,
    ) -> impl Future<Output = Result<IpAddr, String>> + Send + 'static {
        let (head, tailscale) = (head.clone(), self.tailscale.clone());
        let fixed = match &self.pinned {
            Some((pinned, ip)) if *pinned == head => NodeIp::Fixed(*ip),
            _ => self.node_ip,
        };
        async move {
            match fixed {
                NodeIp::Fixed(ip) => Ok(ip),
                NodeIp::Auto => probe::node_ip_for(&head, &tailscale)
                    .await
                    .map_err(|e| format!("no local address reaches the head: {e}")),
            }
        }
    }

    fn start_worker(
        &self,
        spec: &WorkerSpec,
        node_ip: IpAddr,
        reports: mpsc::UnboundedSender<WorkerReport>,
    ) -> Result<WorkerProcess, SpawnFailure> {
        worker::spawn(
            &self.ray(),
            spec,
            node_ip,
            &self.paths.worker_pid_file(),
            &SystemProcesses,
            self.ray_log.clone(),
            reports,
        )
    }

    fn explain_exit(
        &self,
        code: Option<i32>,
        tail: Vec<String>,
    ) -> impl Future<Output = Option<WorkerFailure>> + Send + 'static {
        let ray = self.ray().ray;
        async move {
            if code.is_none() && tail.is_empty() {
                return None;
            }
            Some(match ray_output::classify_exit(&tail) {
                // A suspected version skew is worth naming this machine's Ray version.
                WorkerFailure::VersionSkewSuspected { this_machine: None } => {
                    WorkerFailure::VersionSkewSuspected {
                        this_machine: local_ray_version(&ray).await,
                    }
                }
                other => other,
            })
        }
    }

    fn drain(
        &self,
        head: &HeadAddress,
        worker_pid: u32,
        deadline: Duration,
    ) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let (ray, head) = (self.ray(), head.clone());
        async move {
            drain::drain_node(&ray, &head, worker_pid, deadline)
                .await
                .map_err(|e| e.to_string())
        }
    }

    fn sample_tree(&self, worker_pid: u32) -> impl Future<Output = TreeReading> + Send + 'static {
        drain::sample_tree(worker_pid)
    }

    fn machine(&self) -> Arc<dyn MachineFacts> {
        Arc::new(SystemMachine)
    }

    fn watch_network(&self, changes: mpsc::UnboundedSender<()>) {
        probe::watch_network(changes);
    }

    fn watch_sleep(
        &self,
        events: mpsc::UnboundedSender<SystemEvent>,
        gate: watch::Receiver<SleepGate>,
    ) {
        #[cfg(target_os = "linux")]
        crate::platform::logind::watch(events, gate);
        // macOS's notifications need the main thread's run loop: the tray observes them and
        // forwards them as requests (`platform::sleep`).
        #[cfg(not(target_os = "linux"))]
        drop((events, gate));
    }
}

/// The real machine facts.
struct SystemMachine;

impl PowerSource for SystemMachine {
    fn power(&self) -> crate::model::PowerSnapshot {
        SystemPower.power()
    }

    fn lid_closed(&self) -> Option<bool> {
        SystemPower.lid_closed()
    }
}

impl SleepClock for SystemMachine {
    fn asleep_total(&self) -> Option<Duration> {
        SystemSleepClock.asleep_total()
    }
}

/// This machine's Ray version (`ray --version`), if it answers in time.
pub async fn local_ray_version(ray: &std::path::Path) -> Option<String> {
    let mut command = tokio::process::Command::new(ray);
    command.arg("--version").stdin(std::process::Stdio::null());
    let output = output_within(&mut command, RAY_VERSION_TIMEOUT)
        .await
        .ok()?;
    ray_output::parse_ray_version(&String::from_utf8_lossy(&output.stdout))
}
