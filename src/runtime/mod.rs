//! The tokio driver around the pure supervisor (the `quinn` shape): it carries out the
//! supervisor's [`Action`]s through the [`Platform`]; every watcher and spawned operation sends
//! its result as an [`Event`] on one channel, so the loop never waits on IO, only for the
//! supervisor's deadline, an event, a request or the shutdown. Every rule is in
//! [`crate::supervisor`].

pub mod config_file;
pub mod control;
pub mod drain;
pub mod log;
pub mod machine;
pub mod platform;
pub mod probe;
pub mod worker;

use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use futures::future::{FutureExt, OptionFuture};
use notify::RecommendedWatcher;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::config::{read_if_changed, Config, FileStamp, Paths, Setting};
use crate::history::History;
use crate::model::{HeadAddress, Notice, PowerSnapshot, ReplyNote, SleepGate, Status};
use crate::supervisor::{
    Action, Event, Settings, SpawnFailure, Supervisor, TreeReading, UserCommand, WorkerExit,
    WorkerSpec,
};
use crate::text::{self, Lang};
use config_file::Save;
use control::{Pending, Reply, Request, StatusReport};
use log::{note, SharedLog};
pub use platform::{Platform, SystemPlatform, Task, Watches, WorkerHandle};

/// Where notifications go (the tray shows them; the headless daemon only logs them).
pub trait Notifier: Send {
    fn notify(&mut self, notice: &Notice);
}

#[derive(Debug, Default)]
pub struct NoNotifier;

impl Notifier for NoNotifier {
    fn notify(&mut self, _notice: &Notice) {}
}

/// The driver's one input: every watcher and spawned task sends its facts here.
pub type Events = mpsc::UnboundedSender<Event>;

/// How the OS's sleep notifications reach the driver where the caller observes them itself
/// (the macOS tray, on its main thread): handed out once the driver runs.
#[derive(Debug, Clone)]
pub struct SleepLink {
    /// Where [`Event::WillSleep`] and [`Event::Woke`] go.
    pub events: Events,
    /// The supervisor's verdict: once it has counted an announcement and holds the sleep no
    /// more, that sleep may go ahead.
    pub gate: watch::Receiver<SleepGate>,
}

/// Everything the driver needs to run, besides the world.
pub struct DriverOptions {
    pub paths: Paths,
    /// The configuration as read at start.
    pub config: Config,
    /// The supervisor's settings (from the configuration and the kind of machine).
    pub settings: Settings,
    /// Logical CPUs of this machine: the most that may be offered.
    pub machine_cpus: u32,
    /// A head to join while none is configured (the built-in demo head); never saved.
    pub demo_head: Option<HeadAddress>,
    /// Lines for `worker.log` from before the driver started (what start-up found or did).
    pub startup_lines: Vec<String>,
    /// The first-run search already offered a head on an earlier start
    /// ([`Paths::first_run_offer_file`] exists): it is not offered again.
    pub first_run_offered: bool,
    /// Ask the head's dashboard the cluster's size while connected (the tray shows it).
    pub show_cluster: bool,
    /// Where to hand out the [`SleepLink`] when the caller observes the OS's sleep
    /// notifications; `None`: the platform watches them.
    pub sleep_link: Option<Arc<OnceLock<SleepLink>>>,
}

/// The worker the driver started: its node IP is looked up first, then its process started.
type Slot<W> = Arc<Mutex<Started<W>>>;

enum Started<W> {
    LookingUp,
    Running {
        worker: W,
        node_ip: IpAddr,
    },
    /// Stopped before it existed, or exited.
    Gone,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The driver's state: the supervisor, the worker it started, and the ends of the channels.
struct Driver<P: Platform> {
    platform: Arc<P>,
    sup: Supervisor,
    events: Events,
    paths: Paths,
    /// The user's changes, written to config.toml one at a time off the loop.
    saves: mpsc::UnboundedSender<Save>,
    /// config.toml's stamp at the last read (`None`: none yet, so the first read reports it).
    config_stamp: Arc<Mutex<Option<FileStamp>>>,
    /// The OS's reports of changes to config.toml come as long as this is kept.
    _config_watch: Option<RecommendedWatcher>,
    machine_cpus: u32,
    probe_timeout: Duration,
    log: SharedLog,
    notifier: Box<dyn Notifier>,
    worker: Option<Slot<P::Worker>>,
    /// The connection held to the head's Ray port ([`Action::WatchHead`]), while one is.
    head_watch: Option<tokio::task::JoinHandle<()>>,
    /// The machine's power as last reported, for the status report.
    power: Option<PowerSnapshot>,
    status: watch::Sender<StatusReport>,
    sleep_gate: watch::Sender<SleepGate>,
    /// The supervisor's `hold_awake`, which the platform's idle-sleep hold follows.
    keep_awake: watch::Sender<bool>,
    will_sleeps_seen: u64,
    /// `quit` requests, answered at the exit.
    quitting: Vec<oneshot::Sender<Reply>>,
    /// What the worker gave, as recorded so far (written by [`Action::SaveHistory`]).
    history: History,
    /// `None` while an unreadable history file is there that could not be set aside.
    history_file: Option<HistoryFile>,
}

/// `history.json`, written off the loop; each write has a number, and an older one never
/// replaces a newer.
#[derive(Default)]
struct HistoryFile {
    /// The number of the newest content written, behind the lock every write takes.
    written: Arc<Mutex<u64>>,
    /// The number of the newest content handed out.
    next: u64,
}

/// Runs the supervisor over `platform` until `shutdown` resolves (then stops the worker
/// cleanly) or a `quit` request arrives. `requests` carries user requests (control socket,
/// tray); `status` receives every new state.
pub async fn run<P: Platform>(
    platform: P,
    options: DriverOptions,
    mut requests: mpsc::Receiver<Pending>,
    status: watch::Sender<StatusReport>,
    notifier: Box<dyn Notifier>,
    shutdown: impl Future<Output = ()>,
) {
    let (paths, config, settings) = (options.paths, options.config, options.settings);
    let log = log::shared(paths.log_file());
    for line in &options.startup_lines {
        note(&log, line);
    }
    let today = chrono::Local::now().date_naive();
    let loaded = crate::history::file::load(&paths.history_file(), today, Lang::current());
    if let Some(line) = &loaded.note {
        note(&log, line);
    }
    let history_file = loaded.writable.then(HistoryFile::default);
    let user_idle = settings.courtesy.only_when_idle.is_some();
    let demo_head = options.demo_head;
    let sup = Supervisor::new(
        settings,
        config.head.clone().or(demo_head.clone()),
        config.cpus,
        config.paused,
        now(),
    )
    .with_demo_head(demo_head)
    .with_first_run_search(options.first_run_offered)
    .with_app(now(), config.clone(), options.show_cluster);
    let (events, mut inbox) = mpsc::unbounded_channel::<Event>();
    let config_watch = config_file::watch(&paths, events.clone());
    let (sleep_gate, gate) = watch::channel(SleepGate::default());
    let gate = match options.sleep_link {
        Some(link) => {
            let _ = link.set(SleepLink {
                events: events.clone(),
                gate,
            });
            None
        }
        None => Some(gate),
    };
    let (keep_awake, hold) = watch::channel(false);
    let watches = Watches {
        sleep_gate: gate,
        keep_awake: hold,
        user_idle,
        log: log.clone(),
    };
    platform.watch(events.clone(), watches);
    let mut driver = Driver {
        platform: Arc::new(platform),
        sup,
        events,
        saves: config_file::spawn_writer(paths.clone(), log.clone()),
        paths,
        config_stamp: Arc::default(),
        _config_watch: config_watch,
        machine_cpus: options.machine_cpus,
        probe_timeout: Duration::from_millis(config.timing.probe_timeout_ms),
        log,
        notifier,
        worker: None,
        head_watch: None,
        power: None,
        status,
        sleep_gate,
        keep_awake,
        will_sleeps_seen: 0,
        quitting: Vec::new(),
        history: loaded.history,
        history_file,
    };
    // Once resolved, a fused future stays pending: the shutdown is seen once.
    let mut shutdown = std::pin::pin!(shutdown.fuse());
    while !driver.carry_out_actions() {
        let deadline = driver.sup.poll_timeout().map(Instant::from_std);
        let deadline = OptionFuture::from(deadline.map(tokio::time::sleep_until));
        tokio::select! {
            Some(()) = deadline => driver.sup.handle_timeout(now()),
            Some(event) = inbox.recv() => driver.on_event(event),
            Some(pending) = requests.recv() => driver.on_request(pending),
            () = &mut shutdown => {
                driver.sup.handle_event(now(), Event::User(UserCommand::Shutdown));
            }
        }
    }
}

/// Tells `sender`'s watchers `value` if it is new to them.
fn send_if_new<T: PartialEq>(sender: &watch::Sender<T>, value: T) {
    if *sender.borrow() != value {
        sender.send_replace(value);
    }
}

/// The supervisor's time: tokio's clock, so that paused-time tests drive it.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// Starts the worker for `spec` off the loop: its node IP first, then its process (which
/// reports its join and exit), or the failure to start it.
async fn run_worker<P: Platform>(
    platform: Arc<P>,
    spec: WorkerSpec,
    slot: Slot<P::Worker>,
    events: Events,
) {
    let node_ip = platform.node_ip(&spec.head).await;
    let mut started = lock(&slot);
    // Stopped while its address was looked up: its end was reported then.
    if !matches!(*started, Started::LookingUp) {
        return;
    }
    let spawned = node_ip
        .map_err(|detail| SpawnFailure::Other { detail })
        .and_then(|ip| Ok((platform.start_worker(&spec, ip, events.clone())?, ip)));
    *started = match spawned {
        Ok((worker, node_ip)) => Started::Running { worker, node_ip },
        Err(failure) => {
            let _ = events.send(Event::WorkerSpawnFailed(failure));
            Started::Gone
        }
    };
}

impl<P: Platform> Driver<P> {
    /// Carries out what the supervisor decided, then publishes its state. `true` once the
    /// supervisor has finished.
    fn carry_out_actions(&mut self) -> bool {
        let mut exit = false;
        let mut save_history = false;
        while let Some(action) = self.sup.poll_action() {
            match action {
                Action::Probe {
                    head,
                    tailscale_max_age,
                } => {
                    let probe = self
                        .platform
                        .probe(&head, self.probe_timeout, tailscale_max_age);
                    self.spawn_event(probe.map(Event::HeadProbe));
                }
                Action::WatchHead {
                    head,
                    watch,
                    lost_after,
                } => {
                    let events = self.events.clone();
                    let held = self.platform.watch_head(&head, lost_after, move |state| {
                        let _ = events.send(Event::HeadConnection { watch, state });
                    });
                    if let Some(previous) = self.head_watch.replace(tokio::spawn(held)) {
                        previous.abort();
                    }
                }
                Action::StartWorker(spec) => {
                    let slot = Arc::new(Mutex::new(Started::LookingUp));
                    self.worker = Some(slot.clone());
                    let (platform, events) = (self.platform.clone(), self.events.clone());
                    tokio::spawn(run_worker(platform, spec, slot, events));
                }
                Action::StopWorker { grace, .. } => self.stop_worker(grace),
                Action::DrainWorker { drain, deadline } => {
                    let (Some(pid), Some(head)) = (self.worker_pid(), self.sup.status().head)
                    else {
                        let _ = self.events.send(Event::DrainRequested {
                            drain,
                            accepted: false,
                        });
                        continue;
                    };
                    let request = self.platform.drain(&head, pid, deadline);
                    let (events, log) = (self.events.clone(), self.log.clone());
                    tokio::spawn(async move {
                        let outcome = request.await;
                        let line = text::log::drain_requested_line(Lang::current(), &outcome);
                        note(&log, &line);
                        let accepted = outcome.is_ok();
                        let _ = events.send(Event::DrainRequested { drain, accepted });
                    });
                }
                Action::SampleWorkerTree { drain } => {
                    let sample = self.worker_pid().map(|pid| self.platform.sample_tree(pid));
                    self.spawn_event(OptionFuture::from(sample).map(move |reading| {
                        let reading = reading.unwrap_or(TreeReading::Gone);
                        Event::WorkerTreeSampled { drain, reading }
                    }));
                }
                Action::InstallRay { version } => {
                    let events = self.events.clone();
                    let install = self.platform.install_ray(version, move |step| {
                        let _ = events.send(Event::RayInstallProgress(step));
                    });
                    let (events, log) = (self.events.clone(), self.log.clone());
                    tokio::spawn(async move {
                        let outcome = install.await;
                        if let Err(why) = &outcome {
                            note(&log, &text::log::install_failed_line(Lang::current(), why));
                        }
                        let _ = events.send(Event::RayInstallEnded(outcome));
                    });
                }
                Action::FindHeads => {
                    self.spawn_event(self.platform.find_heads().map(Event::HeadsFound))
                }
                Action::Notify(notice) => {
                    note(&self.log, &text::log::notice_line(Lang::current(), &notice));
                    self.notifier.notify(&notice);
                }
                Action::RecordFirstRunOffer => {
                    // Off the loop; if it cannot be written, the offer may come once more.
                    let file = self.paths.first_run_offer_file();
                    tokio::spawn(async move {
                        let _ = tokio::fs::write(file, b"").await;
                    });
                }
                Action::Log(log_note) => {
                    for line in text::log::log_note(Lang::current(), &log_note).lines() {
                        note(&self.log, line);
                    }
                }
                Action::SampleUsage { sample } => {
                    let reading = self.worker_pid().map(|pid| self.platform.sample_usage(pid));
                    self.spawn_event(OptionFuture::from(reading).map(move |tree| {
                        let tree = tree.flatten();
                        Event::UsageSampled { sample, tree }
                    }));
                }
                Action::RecordUsage { cpu } => {
                    self.history.add_cpu(chrono::Local::now().date_naive(), cpu);
                }
                Action::RecordActivity(activity) => {
                    self.history.record(chrono::Utc::now(), activity);
                }
                Action::SaveHistory => save_history = true,
                // A stat, and a read when it changed: off the loop, as the folder may be on a
                // sick disk; one at a time, each from the stamp the one before left.
                Action::ReadConfigFile => {
                    let (paths, cpus) = (self.paths.clone(), self.machine_cpus);
                    let (stamp, events) = (self.config_stamp.clone(), self.events.clone());
                    tokio::task::spawn_blocking(move || {
                        let mut last = lock(&stamp);
                        if let Some((reading, stamp)) = read_if_changed(&paths, *last, cpus) {
                            *last = stamp;
                            let _ = events.send(Event::ConfigFileRead(reading));
                        }
                    });
                }
                Action::AskClusterSize { head } => {
                    self.spawn_event(self.platform.cluster_size(&head).map(Event::ClusterSize));
                }
                Action::LookUpRay => {
                    self.spawn_event(self.platform.ray_in_use().map(Event::RayInUse))
                }
                Action::CheckForUpdate => {
                    let check = self.platform.check_for_update();
                    self.spawn_event(check.map(Event::UpdateChecked));
                }
                Action::Exit => exit = true,
            }
        }
        if save_history {
            self.save_history(exit);
        }
        let report = self.publish();
        if exit {
            // The supervisor's quit deadline passed with the worker still there.
            self.stop_worker(Duration::ZERO);
            for reply in self.quitting.drain(..) {
                let _ = reply.send(Reply::done(Some(ReplyNote::Stopped), report.clone()));
            }
        }
        exit
    }

    /// Stops the worker: signals its process, or, when it does not exist yet, reports its end.
    fn stop_worker(&self, grace: Duration) {
        let Some(slot) = &self.worker else {
            return;
        };
        let mut started = lock(slot);
        match &*started {
            Started::Running { worker, .. } => worker.stop(grace),
            Started::LookingUp => {
                *started = Started::Gone;
                let _ = self.events.send(Event::WorkerExited(WorkerExit {
                    code: None,
                    failure: None,
                }));
            }
            Started::Gone => {}
        }
    }

    /// The worker's process id and node IP, while its process runs.
    fn worker_facts(&self) -> Option<(u32, IpAddr)> {
        match &*lock(self.worker.as_ref()?) {
            Started::Running { worker, node_ip } => Some((worker.pid(), *node_ip)),
            Started::LookingUp | Started::Gone => None,
        }
    }

    fn worker_pid(&self) -> Option<u32> {
        self.worker_facts().map(|(pid, _)| pid)
    }

    /// Publishes the supervisor's state: to the status watchers, the sleep gate and the
    /// idle-sleep hold.
    fn publish(&mut self) -> StatusReport {
        let status = self.sup.status();
        let (will_sleeps_seen, holding) = (self.will_sleeps_seen, status.holding_sleep);
        send_if_new(
            &self.sleep_gate,
            SleepGate {
                will_sleeps_seen,
                holding,
            },
        );
        send_if_new(&self.keep_awake, status.courtesy.hold_awake);
        let report = self.report(&status);
        send_if_new(&self.status, report.clone());
        report
    }

    /// Writes the history: off the loop, or at once when the driver is finishing (nothing
    /// waits on the loop any more, and a write spawned now could be cut short).
    fn save_history(&mut self, finishing: bool) {
        let Some(file) = &mut self.history_file else {
            return;
        };
        self.history
            .prune(chrono::Utc::now(), chrono::Local::now().date_naive());
        let bytes = crate::history::file::to_bytes(&self.history);
        file.next += 1;
        let (seq, written) = (file.next, file.written.clone());
        let (path, log) = (self.paths.history_file(), self.log.clone());
        let write = move || {
            let mut last = lock(&written);
            if *last >= seq {
                return;
            }
            match crate::history::file::write(&path, &bytes) {
                Ok(()) => *last = seq,
                Err(e) => {
                    let path = path.display().to_string();
                    let line = text::log::not_saved_line(Lang::current(), &path, &e.to_string());
                    note(&log, &line);
                }
            }
        };
        if finishing {
            write();
        } else {
            tokio::task::spawn_blocking(write);
        }
    }

    fn report(&self, status: &Status) -> StatusReport {
        let facts = self.worker_facts();
        StatusReport {
            // English: `status --json` is for scripts, and the CLI words the status itself.
            summary: text::cli::summary(Lang::En, status),
            status: Some(status.clone()),
            pid: std::process::id(),
            worker_pid: facts.map(|(pid, _)| pid),
            node_ip: facts.map(|(_, ip)| ip.to_string()),
            log_file: self.paths.log_file().display().to_string(),
            processes_spawned: crate::platform::command::processes_spawned(),
            power: self.power,
            contribution: Some(self.history.summary(chrono::Local::now().date_naive())),
        }
    }

    /// Runs `task` on its own and feeds its event to the supervisor when it is done.
    fn spawn_event(&self, task: impl Future<Output = Event> + Send + 'static) {
        let events = self.events.clone();
        tokio::spawn(async move {
            let _ = events.send(task.await);
        });
    }

    /// A fact for the supervisor; the driver keeps what its report and the sleep gate need,
    /// and logs the OS's sleep and wake.
    fn on_event(&mut self, event: Event) {
        match &event {
            Event::Power(power) => self.power = Some(*power),
            Event::WillSleep => {
                self.will_sleeps_seen += 1;
                note(&self.log, text::log::going_to_sleep_line(Lang::current()));
            }
            Event::Woke { slept_secs } => {
                let line = text::log::woke_line(Lang::current(), *slept_secs);
                note(&self.log, &line);
            }
            // Nothing to watch for without a worker in the head's cluster.
            Event::WorkerExited(_) | Event::WorkerSpawnFailed(_) => {
                self.worker = None;
                if let Some(watch) = self.head_watch.take() {
                    watch.abort();
                }
            }
            _ => {}
        }
        self.sup.handle_event(now(), event);
    }

    fn on_request(&mut self, Pending { request, reply }: Pending) {
        let (command, setting) = match apply_request(&request, self.machine_cpus) {
            Ok(change) => change.unzip(),
            Err(message) => {
                let _ = reply.send(Reply::refused(&message));
                return;
            }
        };
        let offered = match &command {
            Some(UserCommand::JoinFoundHead(head)) => Some(head.clone()),
            _ => None,
        };
        let shutdown = command == Some(UserCommand::Shutdown);
        if let Some(command) = command {
            // In effect at once, whether or not the file can be written.
            self.sup.handle_event(now(), Event::User(command));
        }
        if shutdown {
            return self.quitting.push(reply);
        }
        // The reply shows the state right after the request, before the actions it caused are
        // carried out.
        let status = self.sup.status();
        // An offered head the supervisor turned down is not saved either.
        let taken = offered.is_none_or(|head| !status.demo && status.head == Some(head));
        let report = self.report(&status);
        match setting.flatten().filter(|_| taken) {
            // Answered once the file is written, or its error known (no writer: no answer, and
            // the client says the supervisor is going away).
            Some(setting) => {
                let _ = self.saves.send(Save {
                    setting,
                    reply,
                    report,
                });
            }
            None => {
                let _ = reply.send(Reply::done(None, report));
            }
        }
    }
}

/// Turns a request into a supervisor command and the setting to save, if any. Nothing is
/// saved here: the change takes effect at once and the file is written after, so that a full
/// disk or a read-only home never refuses a pause.
fn apply_request(
    request: &Request,
    machine_cpus: u32,
) -> Result<Option<(UserCommand, Option<Setting>)>, String> {
    let head = |address: &str, command: fn(HeadAddress) -> UserCommand| {
        let head = address.parse::<HeadAddress>().map_err(|e| e.to_string())?;
        Ok::<_, String>((command(head.clone()), Some(Setting::Head(head))))
    };
    let change = match request {
        Request::Status => return Ok(None),
        Request::Quit => (UserCommand::Shutdown, None),
        Request::OpenedAgain => (UserCommand::OpenedAgain, None),
        Request::FindHeads => (UserCommand::FindHeads, None),
        // Only a version goes on to pip's command line.
        Request::InstallRay { version } => {
            let version = version.as_deref().map(crate::setup::validate_version);
            let version = version.transpose().map_err(|e| e.to_string())?;
            (UserCommand::InstallRay { version }, None)
        }
        Request::Pause => (UserCommand::Pause, Some(Setting::Paused(true))),
        Request::PauseAfterTasks => (UserCommand::PauseAfterTasks, Some(Setting::Paused(true))),
        Request::Resume => (UserCommand::Resume, Some(Setting::Paused(false))),
        Request::Cpus { cpus } => {
            let cpus =
                crate::config::validate_cpus(*cpus, machine_cpus).map_err(|e| e.to_string())?;
            (UserCommand::SetCpus(cpus), Some(Setting::Cpus(cpus)))
        }
        Request::Head { address } => head(address, UserCommand::SetHead)?,
        // Saved only if the supervisor takes it (see `on_request`).
        Request::JoinFoundHead { address } => head(address, UserCommand::JoinFoundHead)?,
    };
    Ok(Some(change))
}
