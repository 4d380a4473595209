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

use crate::config::{Config, NodeIp, Paths, RayProcesses};
use crate::model::{
    AwakeHold, HeadAddress, IdleReading, InstallStep, ProcessUsage, SleepGate, SystemEvent,
    TailnetFinds, TailscaleProblem, ThermalState, WorkerFailure,
};
use crate::platform::clock::{SleepClock, SystemSleepClock};
use crate::platform::command::{output_within, CountedSpawn};
use crate::platform::tool_search::{self, ToolSearch};
use crate::platform::{PowerChanges, PowerSource, SystemPower, SystemProcesses};
use crate::ray_output;
use crate::setup::SetupProgress;
use crate::supervisor::{Event, HeadConnection, HeadProbe, SpawnFailure, TreeReading, WorkerSpec};

use super::control::RayInUse;
use super::drain;
use super::log::RotatingLog;
use super::machine::MachineWatch;
use super::probe::{self, TailscaleCli};
use super::worker::{self, RayCommand, WorkerProcess, WorkerReport};

/// `ray --version` answers in about a second; one that hangs is given up on.
const RAY_VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// A worker the platform started.
pub trait WorkerHandle: Send + 'static {
    /// Its process id (and group id).
    fn pid(&self) -> u32;
    /// SIGTERM now, SIGKILL after `grace`; once it exits, nothing descended from it remains.
    /// The exit is reported as a [`WorkerReport`].
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

    /// Is `head` reachable within `timeout`, and if not, why; for a head at a Tailscale
    /// address also what Tailscale says of it (from an answer at most `tailscale_max_age` old
    /// when it vouches for the head).
    fn probe(
        &self,
        head: &HeadAddress,
        timeout: Duration,
        tailscale_max_age: Duration,
    ) -> impl Future<Output = HeadProbe> + Send + 'static;

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

    /// Holds a connection open to the head's Ray port, with the OS watching the path (reported
    /// lost after `lost_after` without an answer), and sends what becomes of it on `states`:
    /// [`HeadConnection::Held`] once it is, then how it ended. Platforms that cannot hold one
    /// say [`HeadConnection::NotHeld`] (the head is then probed as often as ever).
    fn watch_head(
        &self,
        head: &HeadAddress,
        lost_after: Duration,
        states: mpsc::UnboundedSender<HeadConnection>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let _ = (head, lost_after);
        let _ = states.send(HeadConnection::NotHeld);
        std::future::ready(())
    }

    /// The `ray` a worker would run now, and its version (`None`: none found).
    fn ray_in_use(&self) -> impl Future<Output = Option<RayInUse>> + Send + 'static {
        std::future::ready(None)
    }

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

    /// The CPU counters of worker `worker_pid`'s process tree (`None`: the process table could
    /// not be read). Read in-process: never starts a process.
    fn sample_usage(
        &self,
        worker_pid: u32,
    ) -> impl Future<Output = Option<Vec<ProcessUsage>>> + Send + 'static;

    /// Starts the machine watcher ([`super::machine`]): power, lid and sleep clock, sent on
    /// `events` as they change until the receiver goes away; says how power changes are
    /// learnt of.
    fn watch_machine(&self, events: mpsc::UnboundedSender<Event>) -> MachineWatch;

    /// Sends `()` on every change of the network interfaces, until the receiver goes away.
    fn watch_network(&self, changes: mpsc::UnboundedSender<()>);

    /// Installs Ray (runs `setup` as a child), sending each step on `steps`; the installed
    /// version, or the installer's last word. Platforms that cannot install say so.
    fn install_ray(
        &self,
        version: Option<String>,
        steps: mpsc::UnboundedSender<InstallStep>,
    ) -> impl Future<Output = Result<String, String>> + Send + 'static {
        drop((version, steps));
        std::future::ready(Err("installing Ray is not possible here".to_string()))
    }

    /// The heads on the tailnet (see [`probe::find_heads`]), or why Tailscale could not say.
    fn find_heads(
        &self,
    ) -> impl Future<Output = Result<TailnetFinds, TailscaleProblem>> + Send + 'static {
        std::future::ready(Err(TailscaleProblem::NotInstalled))
    }
    /// Holds idle sleep off while `hold` is true (the supervisor's `hold_awake`), in a task
    /// or thread of its own, until the sender goes away, reporting on `held` what the OS made
    /// of each change.
    fn hold_awake(&self, hold: watch::Receiver<bool>, held: mpsc::UnboundedSender<AwakeHold>);

    /// Sends the machine's thermal state at start and on each change (looked at every `every`
    /// besides any change notification), until the receiver goes away; nothing where the OS
    /// reports none (Linux).
    fn watch_thermal(&self, every: Duration, states: mpsc::UnboundedSender<ThermalState>);

    /// Sends, every `every` until the receiver goes away, how long ago the user last used the
    /// keyboard or mouse, as the OS could tell. Each reading is in-process or a D-Bus call: no
    /// process is started.
    fn watch_user_idle(&self, every: Duration, readings: mpsc::UnboundedSender<IdleReading>);

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
    /// `[ray]`: how Ray's processes are started.
    processes: RayProcesses,
    node_ip: NodeIp,
    tailscale: TailscaleCli,
    ray_log: Arc<Mutex<RotatingLog>>,
    /// A head joined with a fixed node IP and its own auth token file, whatever the
    /// configuration says (the built-in demo head listens on loopback only, with a token of
    /// its own).
    pinned: Option<(HeadAddress, IpAddr, Option<PathBuf>)>,
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
            processes: config.ray,
            node_ip: config.node_ip,
            tailscale,
            ray_log,
            pinned: None,
        }
    }

    /// Joins `head` as `node_ip` with `auth_token_file`, whatever `node_ip` and
    /// `auth_token_file` the configuration gives.
    pub fn pin_local_head(
        &mut self,
        head: HeadAddress,
        node_ip: IpAddr,
        auth_token_file: Option<PathBuf>,
    ) {
        self.pinned = Some((head, node_ip, auth_token_file));
    }

    /// How to run Ray now: the venv `setup` installs may appear while the app runs.
    fn ray(&self) -> RayCommand {
        RayCommand {
            ray: ray_executable(self.ray_path.as_ref(), &self.paths),
            auth_token_file: self.auth_token_file.clone(),
            processes: self.processes,
        }
    }

    /// How to run Ray for `head`: with the pinned head's token when it is that head.
    fn ray_for(&self, head: &HeadAddress) -> RayCommand {
        match &self.pinned {
            Some((pinned, _, token)) if pinned == head => RayCommand {
                auth_token_file: token.clone(),
                ..self.ray()
            },
            _ => self.ray(),
        }
    }
}

/// The `ray` to run: the configured one, else the one `setup` installed, else the first in the
/// places a GUI app must search (`platform::tool_search`: well-known install folders, PATH,
/// and the login shell's PATH once [`tool_search::load_login_shell_path`] has run), else
/// plain `ray` (whose spawn then fails as "Ray missing"). Never starts a process.
pub fn ray_executable(configured: Option<&PathBuf>, paths: &Paths) -> PathBuf {
    tool_search::find_ray(
        configured.map(PathBuf::as_path),
        &paths.venv_dir().join("bin").join("ray"),
        &ToolSearch::from_process(),
    )
    .unwrap_or_else(|| PathBuf::from("ray"))
}

/// Looks for Ray once at start-up, off the loop: when none of the usual places has it, the
/// user's login shell is asked for its PATH (an app opened from Finder has a bare one), and
/// that answer is kept for every later [`ray_executable`].
pub async fn locate_ray(configured: Option<PathBuf>, paths: Paths) -> PathBuf {
    let found = ray_executable(configured.as_ref(), &paths);
    if found.is_absolute() {
        return found;
    }
    tokio::task::spawn_blocking(move || {
        tool_search::load_login_shell_path();
        ray_executable(configured.as_ref(), &paths)
    })
    .await
    .unwrap_or(found)
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
        tailscale_max_age: Duration,
    ) -> impl Future<Output = HeadProbe> + Send + 'static {
        let (head, tailscale) = (head.clone(), self.tailscale.clone());
        async move {
            let unreachable = probe::probe_head(&head, timeout, &tailscale).await;
            let tailscale =
                probe::tailscale_check(&head, &tailscale, tailscale_max_age, unreachable.is_none())
                    .await;
            HeadProbe {
                head,
                unreachable,
                tailscale,
            }
        }
    }

    fn find_heads(
        &self,
    ) -> impl Future<Output = Result<TailnetFinds, TailscaleProblem>> + Send + 'static {
        let tailscale = self.tailscale.clone();
        async move { probe::find_heads(&tailscale, probe::find_heads_port()).await }
    }

    fn watch_head(
        &self,
        head: &HeadAddress,
        lost_after: Duration,
        states: mpsc::UnboundedSender<HeadConnection>,
    ) -> impl Future<Output = ()> + Send + 'static {
        let head = head.clone();
        async move {
            let end = probe::hold_connection(&head, lost_after, || {
                let _ = states.send(HeadConnection::Held);
            })
            .await;
            let _ = states.send(end);
        }
    }

    fn node_ip(
        &self,
        head: &HeadAddress,
    ) -> impl Future<Output = Result<IpAddr, String>> + Send + 'static {
        let (head, tailscale) = (head.clone(), self.tailscale.clone());
        let fixed = match &self.pinned {
            Some((pinned, ip, _)) if *pinned == head => NodeIp::Fixed(*ip),
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
            &self.ray_for(&spec.head),
            spec,
            node_ip,
            &self.paths.worker_pid_file(),
            Arc::new(SystemProcesses),
            self.ray_log.clone(),
            reports,
        )
    }

    fn ray_in_use(&self) -> impl Future<Output = Option<RayInUse>> + Send + 'static {
        let ray = self.ray().ray;
        async move {
            if !ray.is_file() {
                return None;
            }
            let version = local_ray_version(&ray).await;
            Some(RayInUse {
                path: ray.display().to_string(),
                version,
            })
        }
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
        let (ray, head) = (self.ray_for(head), head.clone());
        let processes: worker::SharedProcesses = Arc::new(SystemProcesses);
        async move {
            drain::drain_node(&ray, &head, &processes, worker_pid, deadline)
                .await
                .map_err(|e| e.to_string())
        }
    }

    fn sample_tree(&self, worker_pid: u32) -> impl Future<Output = TreeReading> + Send + 'static {
        drain::sample_tree(Arc::new(SystemProcesses), worker_pid)
    }

    fn sample_usage(
        &self,
        worker_pid: u32,
    ) -> impl Future<Output = Option<Vec<ProcessUsage>>> + Send + 'static {
        use futures::FutureExt;
        // A walk of the process table: a few milliseconds of file reads, off the loop.
        tokio::task::spawn_blocking(move || {
            crate::platform::ProcessTable::usage(&SystemProcesses, worker_pid)
        })
        .map(|read| read.ok().flatten())
    }

    fn watch_machine(&self, events: mpsc::UnboundedSender<Event>) -> MachineWatch {
        super::machine::watch_on_thread(Arc::new(SystemMachine), PowerChanges::open(), events)
    }

    fn install_ray(
        &self,
        version: Option<String>,
        steps: mpsc::UnboundedSender<InstallStep>,
    ) -> impl Future<Output = Result<String, String>> + Send + 'static {
        let home = self.paths.home.clone();
        async move { run_setup_child(&home, version, steps).await }
    }

    fn watch_network(&self, changes: mpsc::UnboundedSender<()>) {
        probe::watch_network(changes);
    }

    fn hold_awake(&self, hold: watch::Receiver<bool>, held: mpsc::UnboundedSender<AwakeHold>) {
        crate::platform::awake::follow(hold, held);
    }

    fn watch_thermal(&self, _every: Duration, states: mpsc::UnboundedSender<ThermalState>) {
        crate::platform::thermal::watch(states);
    }

    fn watch_user_idle(&self, every: Duration, readings: mpsc::UnboundedSender<IdleReading>) {
        crate::platform::user_idle::watch(every, readings);
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

/// Runs this program's `setup --progress-lines` (a pip install: minutes, so a child whose
/// lines come back as they are printed), for the data folder `home`.
async fn run_setup_child(
    home: &std::path::Path,
    version: Option<String>,
    steps: mpsc::UnboundedSender<InstallStep>,
) -> Result<String, String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut command = tokio::process::Command::new(exe);
    command
        .args(["setup", "--progress-lines"])
        .env("BITTRADER_WORKER_HOME", home)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(version) = version {
        command.args(["--ray-version", &version]);
    }
    let mut child = command
        .spawn_counted()
        .map_err(|e| format!("cannot start setup: {e}"))?;
    let mut stderr = child.stderr.take();
    let stderr_text = tokio::spawn(async move {
        let mut text = String::new();
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text).await;
        }
        text
    });
    let mut installed = None;
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match crate::setup::parse_progress_line(&line) {
                Some(SetupProgress::Step(step)) => {
                    let _ = steps.send(step);
                }
                Some(SetupProgress::Done { version }) => installed = Some(version),
                None => {}
            }
        }
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    let stderr = stderr_text.await.unwrap_or_default();
    match installed {
        Some(version) if status.success() => Ok(version),
        _ => Err(stderr
            .lines()
            .rev()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .map(|line| line.trim_start_matches("Error: ").to_string())
            .unwrap_or_else(|| format!("setup ended with {status}"))),
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
