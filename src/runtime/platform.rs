//! Everything the driver does to the world, behind one trait, so that the driver runs against a
//! fake world under paused time (`tests/support/src/fake_platform.rs`). Each slow operation is a
//! `'static` future the driver spawns, its result fed back as an event; watchers send events
//! themselves. Nothing here decides: every timeout is an IO bound, never a supervisor's rule.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use tokio::sync::{mpsc, watch};

use crate::config::{Config, NodeIp, Paths, RayProcesses};
use crate::model::{
    ClusterSize, HeadAddress, InstallStep, ProcessUsage, RayInUse, SleepGate, TailnetFinds,
    TailscaleProblem, Unreachable, UpdateCheck,
};
use crate::platform::clock::SystemSleepClock;
use crate::platform::command::SharedChild;
use crate::platform::tool_search::{self, ToolSearch};
use crate::platform::{PowerChanges, ProcessTable, SystemPower, SystemProcesses};
use crate::supervisor::settings::{
    MACHINE_LOOK_EVERY_UNSIGNALLED, UPDATE_FEED_TIMEOUT, USER_IDLE_LOOK_EVERY,
};
use crate::supervisor::{Event, HeadConnection, HeadProbe, SpawnFailure, TreeReading, WorkerSpec};
use crate::text::{self, Lang};

use super::drain;
use super::log::{note, SharedLog};
use super::machine;
use super::probe;
use super::worker::{self, local_ray_version, RayCommand, WorkerProcess};
use super::Events;
use crate::tailscale::cli::{self, TailscaleCli};

/// A worker the platform started.
pub trait WorkerHandle: Send + 'static {
    /// Its process id (and group id).
    fn pid(&self) -> u32;
    /// SIGTERM now, SIGKILL after `grace`; once it exits, nothing descended from it remains.
    /// The exit is reported as [`Event::WorkerExited`].
    fn stop(&self, grace: Duration);
}

/// What the machine's watchers need besides the event channel.
pub struct Watches {
    /// The supervisor's verdict on an announced sleep; `None`: the caller (the macOS tray)
    /// observes the OS's sleep notifications, and the platform neither watches nor measures.
    pub sleep_gate: Option<watch::Receiver<SleepGate>>,
    /// The supervisor's `hold_awake`, which the idle-sleep hold follows.
    pub keep_awake: watch::Receiver<bool>,
    /// Read how long the user has been idle ("only when idle" is on).
    pub user_idle: bool,
    /// Where a watcher says once how it learns of changes.
    pub log: SharedLog,
}

/// A slow operation of the platform, which the driver spawns.
pub type Task<T> = BoxFuture<'static, T>;

/// What the driver does to the world.
pub trait Platform: Send + Sync + 'static {
    type Worker: WorkerHandle;

    /// Is `head` reachable within `timeout`, and if not, why; at a Tailscale address also what
    /// Tailscale says of it (an answer at most `max_age` old, to vouch for it).
    fn probe(&self, head: &HeadAddress, timeout: Duration, max_age: Duration) -> Task<HeadProbe>;

    /// This machine's address for the cluster, or why there is none.
    fn node_ip(&self, head: &HeadAddress) -> Task<Result<IpAddr, String>>;

    /// Starts the worker for `spec`, announcing `node_ip`; its join and its exit, with what
    /// its output says of it, are sent on `events`.
    fn start_worker(
        &self,
        spec: &WorkerSpec,
        node_ip: IpAddr,
        events: Events,
    ) -> Result<Self::Worker, SpawnFailure>;

    /// Holds a connection to the head's Ray port, lost after `lost_after` without an answer,
    /// telling `state` [`HeadConnection::Held`] once it is, then how it ended.
    fn watch_head(
        &self,
        head: &HeadAddress,
        lost_after: Duration,
        state: impl Fn(HeadConnection) + Send + Sync + 'static,
    ) -> Task<()>;

    /// The `ray` a worker would run now, and its version (`None`: none found).
    fn ray_in_use(&self) -> Task<Option<RayInUse>>;

    /// Asks the head to drain the node of worker `worker_pid`. `Err` holds a line for the log.
    fn drain(
        &self,
        head: &HeadAddress,
        worker_pid: u32,
        deadline: Duration,
    ) -> Task<Result<(), String>>;

    /// One look at worker `worker_pid`'s process tree.
    fn sample_tree(&self, worker_pid: u32) -> Task<TreeReading>;

    /// The CPU counters of worker `worker_pid`'s tree, read in-process (`None`: unreadable).
    fn sample_usage(&self, worker_pid: u32) -> Task<Option<Vec<ProcessUsage>>>;

    /// Installs Ray (runs `setup` as a child), telling `step` each step; the installed
    /// version, or the installer's last word.
    fn install_ray(
        &self,
        version: Option<String>,
        step: impl Fn(InstallStep) + Send + 'static,
    ) -> Task<Result<String, String>>;

    /// The heads on the tailnet (see [`cli::find_heads`]), or why Tailscale could not say.
    fn find_heads(&self) -> Task<Result<TailnetFinds, TailscaleProblem>>;

    /// The cluster's size as `head`'s dashboard gives it (`None`: it did not answer).
    fn cluster_size(&self, head: &HeadAddress) -> Task<Option<ClusterSize>>;

    /// The newest release the releases feed names, and whether this copy came from Homebrew.
    fn check_for_update(&self) -> Task<UpdateCheck>;

    /// Starts the watchers of network, power and lid, sleep, heat, the user's idle time and the
    /// idle-sleep hold, each sending on `events` until the driver is gone.
    fn watch(&self, events: Events, watches: Watches);
}

/// A sender of `T`s that reach the driver as events, for watchers that speak their own type.
fn forward<T: Send + 'static>(
    events: &Events,
    to_event: impl Fn(T) -> Event + Send + 'static,
) -> mpsc::UnboundedSender<T> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let events = events.clone();
    tokio::spawn(async move {
        while let Some(fact) = rx.recv().await {
            if events.send(to_event(fact)).is_err() {
                return;
            }
        }
    });
    tx
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
    ray_log: SharedLog,
    /// The practice head, joined at its loopback address with its own auth token file.
    local_head: Option<LocalHeadPin>,
    /// The workers' Ray folder (`None`: none could be made, and Ray uses its default).
    ray_temp: Option<tempfile::TempDir>,
    /// config.toml's `updates_feed`.
    updates_feed: String,
}

impl SystemPlatform {
    /// The world as `config` describes it; Ray's own output goes to `ray_log`.
    pub fn new(paths: Paths, config: &Config, tailscale: TailscaleCli, ray_log: SharedLog) -> Self {
        SystemPlatform {
            paths,
            ray_path: config.ray_path.clone(),
            auth_token_file: config.auth_token_file.clone(),
            processes: config.ray,
            node_ip: config.node_ip,
            tailscale,
            ray_log,
            local_head: None,
            ray_temp: worker::private_temp_dir().ok(),
            updates_feed: config.updates_feed.clone(),
        }
    }

    /// Joins the practice head at `head` (its loopback address; Ray binds it wider, behind its
    /// token) as 127.0.0.1 (with Tailscale up, the configuration's node IP would be its 100.x
    /// address) and with `auth_token_file`, for as long as `process` (the head's own) runs.
    pub fn pin_local_head(
        &mut self,
        head: HeadAddress,
        auth_token_file: PathBuf,
        process: SharedChild,
    ) {
        self.local_head = Some(LocalHeadPin {
            address: head,
            auth_token_file,
            process,
        });
    }

    /// The pinned local head, when `head` is it.
    fn local(&self, head: &HeadAddress) -> Option<&LocalHeadPin> {
        self.local_head.as_ref().filter(|pin| pin.address == *head)
    }

    /// Where the workers' Ray writes its session's logs (Ray's `session_latest` link), when they
    /// have a private Ray folder.
    pub fn ray_session_logs(&self) -> Option<PathBuf> {
        let private = self.ray_temp.as_ref()?.path();
        Some(worker::ray_temp_dir(private).join("session_latest/logs"))
    }

    /// How to run Ray now: the venv `setup` installs may appear while the app runs.
    fn ray(&self) -> RayCommand {
        RayCommand {
            ray: ray_executable(self.ray_path.as_ref(), &self.paths),
            auth_token_file: self.auth_token_file.clone(),
            processes: self.processes,
            temp_dir: self
                .ray_temp
                .as_ref()
                .map(|dir| worker::ray_temp_dir(dir.path())),
        }
    }

    /// How to run Ray for `head`: with the local head's token when it is that head.
    fn ray_for(&self, head: &HeadAddress) -> RayCommand {
        match self.local(head) {
            Some(pin) => RayCommand {
                auth_token_file: Some(pin.auth_token_file.clone()),
                ..self.ray()
            },
            None => self.ray(),
        }
    }
}

/// The app's own practice head.
struct LocalHeadPin {
    address: HeadAddress,
    auth_token_file: PathBuf,
    /// Once it has ended, whatever listens at its address is someone else's.
    process: SharedChild,
}

/// The `ray` to run: the configured one, else `setup`'s, else the first in
/// [`tool_search`]'s places, else plain `ray` (whose spawn then fails as "Ray missing"). Never
/// starts a process.
pub fn ray_executable(configured: Option<&PathBuf>, paths: &Paths) -> PathBuf {
    tool_search::find_ray(
        configured.map(PathBuf::as_path),
        &paths.venv_dir().join("bin").join("ray"),
        &ToolSearch::from_process(),
    )
    .unwrap_or_else(|| PathBuf::from("ray"))
}

/// Looks for Ray once at start-up, off the loop: when the usual places lack it, the login shell
/// is asked for its PATH (kept for every later [`ray_executable`]).
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

impl Platform for SystemPlatform {
    type Worker = WorkerProcess;

    fn probe(&self, head: &HeadAddress, timeout: Duration, max_age: Duration) -> Task<HeadProbe> {
        let (head, tailscale) = (head.clone(), self.tailscale.clone());
        // Asked before any connect: a port the practice head left is anyone's, and an answer
        // there would start a worker that hands the head's token to whoever took it.
        let local = self.local(&head).map(|pin| pin.process.clone());
        let gone = move || local.as_ref().is_some_and(|head| head.ended().is_some());
        if gone() {
            let probe = HeadProbe {
                resolved: head.ip(),
                head,
                unreachable: Some(Unreachable::PracticeHeadGone),
                tailscale: None,
            };
            return Box::pin(std::future::ready(probe));
        }
        Box::pin(async move {
            let (resolved, mut unreachable) = probe::probe_head(&head, timeout, &tailscale).await;
            // And after: a head whose process was still ending when asked may have left its port
            // to whoever answered.
            if gone() {
                unreachable = Some(Unreachable::PracticeHeadGone);
            }
            let answered = unreachable.is_none();
            let tailscale =
                cli::tailscale_check(&head, resolved, &tailscale, max_age, answered).await;
            HeadProbe {
                head,
                resolved,
                unreachable,
                tailscale,
            }
        })
    }

    fn find_heads(&self) -> Task<Result<TailnetFinds, TailscaleProblem>> {
        let tailscale = self.tailscale.clone();
        Box::pin(async move { cli::find_heads(&tailscale, cli::find_heads_port()).await })
    }

    fn watch_head(
        &self,
        head: &HeadAddress,
        lost_after: Duration,
        state: impl Fn(HeadConnection) + Send + Sync + 'static,
    ) -> Task<()> {
        let head = head.clone();
        Box::pin(async move {
            let end = probe::hold_connection(&head, lost_after, || state(HeadConnection::Held));
            state(end.await);
        })
    }

    fn cluster_size(&self, head: &HeadAddress) -> Task<Option<ClusterSize>> {
        let host = head.host.clone();
        // A blocking HTTP request (1 s timeout): off the runtime's thread.
        let asked = tokio::task::spawn_blocking(move || {
            use crate::dashboard::{alive_totals, http_get, parse_nodes, DASHBOARD_PORT};
            let timeout = Duration::from_secs(1);
            let body = http_get(&host, DASHBOARD_PORT, "/api/v0/nodes", timeout).ok()?;
            let (cpus, nodes) = alive_totals(&parse_nodes(&body).ok()?);
            Some(ClusterSize {
                cpus: cpus.round() as u32,
                nodes: u32::try_from(nodes).unwrap_or(u32::MAX),
            })
        });
        asked.map(|asked| asked.ok().flatten()).boxed()
    }

    fn check_for_update(&self) -> Task<UpdateCheck> {
        let feed = self.updates_feed.clone();
        // A blocking HTTPS request that a slow feed holds up to its timeout: on a thread of its
        // own rather than the runtime's blocking pool, which a quit would wait for.
        let (answer, checked) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("update-check".into())
            .spawn(move || {
                let _ = answer.send(UpdateCheck {
                    newest: crate::updates::newest_release(&feed, UPDATE_FEED_TIMEOUT),
                    homebrew: crate::platform::homebrew::installed_with_homebrew(),
                });
            });
        let failed = |why: String| UpdateCheck {
            newest: Err(why),
            homebrew: false,
        };
        if let Err(e) = spawned {
            return Box::pin(std::future::ready(failed(e.to_string())));
        }
        checked
            .map(move |checked| checked.unwrap_or_else(|e| failed(e.to_string())))
            .boxed()
    }

    fn node_ip(&self, head: &HeadAddress) -> Task<Result<IpAddr, String>> {
        let (head, tailscale) = (head.clone(), self.tailscale.clone());
        let fixed = match self.local(&head) {
            Some(_) => NodeIp::Fixed(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            None => self.node_ip,
        };
        Box::pin(async move {
            match fixed {
                NodeIp::Fixed(ip) => Ok(ip),
                NodeIp::Auto => probe::node_ip_for(&head, &tailscale)
                    .await
                    .map_err(|e| format!("no local address reaches the head: {e}")),
            }
        })
    }

    fn start_worker(
        &self,
        spec: &WorkerSpec,
        node_ip: IpAddr,
        events: Events,
    ) -> Result<WorkerProcess, SpawnFailure> {
        let (ray, pid_file) = (self.ray_for(&spec.head), self.paths.worker_pid_file());
        worker::spawn(&ray, spec, node_ip, &pid_file, self.ray_log.clone(), events)
    }

    fn ray_in_use(&self) -> Task<Option<RayInUse>> {
        let ray = self.ray().ray;
        Box::pin(async move {
            if !ray.is_file() {
                return None;
            }
            let version = local_ray_version(&ray).await;
            Some(RayInUse {
                path: ray.display().to_string(),
                version,
            })
        })
    }

    fn drain(
        &self,
        head: &HeadAddress,
        worker_pid: u32,
        deadline: Duration,
    ) -> Task<Result<(), String>> {
        let (ray, head) = (self.ray_for(head), head.clone());
        Box::pin(async move {
            let drained = drain::drain_node(&ray, &head, worker_pid, deadline).await;
            drained.map_err(|e| e.to_string())
        })
    }

    fn sample_tree(&self, worker_pid: u32) -> Task<TreeReading> {
        drain::sample_tree(worker_pid).boxed()
    }

    fn sample_usage(&self, worker_pid: u32) -> Task<Option<Vec<ProcessUsage>>> {
        // A walk of the process table: a few milliseconds of file reads, off the loop.
        tokio::task::spawn_blocking(move || SystemProcesses.usage(worker_pid))
            .map(|read| read.ok().flatten())
            .boxed()
    }

    fn install_ray(
        &self,
        version: Option<String>,
        step: impl Fn(InstallStep) + Send + 'static,
    ) -> Task<Result<String, String>> {
        crate::setup::run_child(self.paths.home.clone(), version, step).boxed()
    }

    fn watch(&self, events: Events, watches: Watches) {
        probe::watch_network(events.clone());
        crate::platform::awake::follow(watches.keep_awake, forward(&events, Event::AwakeHold));
        crate::platform::thermal::watch(forward(&events, Event::Thermal));
        if watches.user_idle {
            let readings = forward(&events, Event::UserIdle);
            crate::platform::user_idle::watch(USER_IDLE_LOOK_EVERY, readings);
        }
        // The clocks measure sleeps only where no sleep notification of the OS reaches us
        // (macOS posts them only to a run loop on the main thread: the tray's, not the daemon's).
        let clocks = Arc::new(AtomicBool::new(false));
        if let Some(gate) = watches.sleep_gate {
            let (clocks, log) = (clocks.clone(), watches.log.clone());
            let by_clocks = move |why: Option<String>| {
                clocks.store(true, Ordering::SeqCst);
                let line = text::log::sleep_by_clocks_line(Lang::current(), why.as_deref());
                note(&log, &line);
            };
            #[cfg(target_os = "linux")]
            {
                use crate::model::SystemEvent;
                let notices = forward(&events, |notice| match notice {
                    SystemEvent::WillSleep => Event::WillSleep,
                    SystemEvent::Woke { slept_secs } => Event::Woke { slept_secs },
                });
                let failed = move |e: zbus::Error| by_clocks(Some(e.to_string()));
                crate::platform::logind::watch(notices, gate, failed);
            }
            #[cfg(not(target_os = "linux"))]
            {
                drop(gate);
                by_clocks(None);
            }
        }
        let (lang, changes) = (Lang::current(), PowerChanges::open());
        if let Err(why) = &changes {
            let every = MACHINE_LOOK_EVERY_UNSIGNALLED;
            note(
                &watches.log,
                &text::log::power_polled_line(lang, &why.to_string(), every),
            );
        }
        let (power, clock) = (SystemPower, SystemSleepClock);
        if let Err(why) = machine::watch_on_thread(power, clock, changes.ok(), clocks, events) {
            let line = text::log::machine_unwatched_line(lang, &why.to_string());
            note(&watches.log, &line);
        }
    }
}
