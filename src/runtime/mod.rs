//! The tokio driver around the pure supervisor.
//!
//! It only carries out [`Action`]s and turns the world into [`Event`]s. Every slow operation
//! (a probe, `tailscale status`, a DNS lookup, `ray --version`, a drain, a look at the process
//! table) is spawned through the [`Platform`] and its result comes back as a message, so the
//! loop itself never waits on IO: it drains the supervisor's actions, publishes its status,
//! then waits for the earliest of its deadline, a message or a request (the `quinn` shape). No
//! decision is taken here: every rule is in [`crate::supervisor`].

pub mod config_file;
pub mod control;
pub mod drain;
pub mod fake;
pub mod instance;
pub mod log;
pub mod machine;
pub mod platform;
pub mod probe;
pub mod worker;

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::config::{Config, FileReading, Paths, Setting};
use crate::history::History;
use crate::model::ReplyNote;
use crate::model::{
    AwakeHold, HeadAddress, IdleReading, Notice, PowerSnapshot, SleepGate, Status, SystemEvent,
    ThermalState,
};
use crate::supervisor::settings::{
    MACHINE_LOOK_EVERY, MACHINE_LOOK_EVERY_UNSIGNALLED, USER_IDLE_LOOK_EVERY,
};
use crate::supervisor::{
    Action, Event, Settings, SpawnFailure, Supervisor, TreeReading, UserCommand, WorkerExit,
    WorkerSpec,
};
use crate::text::log::{config_edit_line, ConfigEdit};
use crate::text::{self, Lang};
use config_file::ConfigFileNews;
use control::{Pending, Reply, Request, StatusReport};
use log::RotatingLog;
pub use platform::{Platform, SystemPlatform, WorkerHandle};
use worker::WorkerReport;

/// `worker.log` and the Ray output file are each kept under this size (plus one old copy).
pub const LOG_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// Where notifications go (the tray shows them; the headless daemon only logs them).
pub trait Notifier: Send {
    /// Shows one notification.
    fn notify(&mut self, notice: &Notice);
}

/// A notifier that shows nothing.
#[derive(Debug, Default)]
pub struct NoNotifier;

impl Notifier for NoNotifier {
    fn notify(&mut self, _notice: &Notice) {}
}

/// Everything the driver needs to run, besides the world.
pub struct DriverOptions {
    /// The data folder.
    pub paths: Paths,
    /// The configuration (kept up to date and saved when the user changes something).
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
}

/// The supervisor's settings for this configuration on this kind of machine.
pub fn settings_from(config: &Config, mobile: bool) -> Settings {
    let timing = &config.timing;
    let battery = &config.battery;
    let defaults = Settings::for_machine(mobile);
    Settings {
        grace: Duration::from_secs(timing.grace_secs),
        probe_every_up: Duration::from_millis(timing.probe_interval_ms),
        stop_grace: Duration::from_secs(timing.stop_grace_secs),
        join_timeout: Duration::from_secs(timing.join_timeout_secs),
        laptop: crate::supervisor::LaptopPolicy {
            mobile,
            warn_percent: battery.warn_percent,
            stop_percent: battery.stop_percent,
            resume_percent: battery.resume_percent,
            only_on_power: battery.only_on_power,
            cpus_on_battery: (battery.cpus_on_battery > 0).then_some(battery.cpus_on_battery),
        },
        courtesy: crate::supervisor::CourtesyPolicy {
            keep_awake: config.keep_awake,
            pause_at_thermal: config.pause_at_thermal,
            only_when_idle: config
                .only_when_idle_minutes
                .map(|minutes| Duration::from_secs(u64::from(minutes) * 60)),
        },
        ..defaults
    }
}

/// A message from a task the driver spawned.
enum Message {
    /// A fact for the supervisor.
    Event(Event),
    /// The node IP for start number `start` was looked up.
    NodeIp {
        start: u64,
        spec: WorkerSpec,
        ip: Result<IpAddr, String>,
    },
    /// A line for `worker.log`.
    Note(String),
    /// The `ray` a worker runs was looked up.
    RayInUse(Option<control::RayInUse>),
    /// A change of one setting was written to config.toml, or could not be.
    Saved {
        /// The key changed.
        key: &'static str,
        /// The error's words, if the file could not be written.
        outcome: Result<(), String>,
        /// The request's answer, sent once the outcome is known, with the state right after
        /// the request.
        reply: Option<Box<(oneshot::Sender<Reply>, StatusReport)>>,
    },
}

/// What the writer carries along with a setting, for [`Message::Saved`].
type SaveToken = (
    &'static str,
    Option<Box<(oneshot::Sender<Reply>, StatusReport)>>,
);

/// The driver's state: the supervisor, the worker it started, and the channels of the world.
struct Driver<P: Platform> {
    platform: Arc<P>,
    sup: Supervisor,
    /// The settings in effect: the file's, and the user's changes since (also those that
    /// could not be saved).
    config: Config,
    /// What config.toml said when last read: a hand edit is what changed from this.
    file_config: Config,
    /// The last problem found in config.toml, reported once until the file changes again.
    file_problem: Option<String>,
    /// The user's changes, to be written to config.toml one at a time off the loop.
    saves: mpsc::UnboundedSender<(Setting, SaveToken)>,
    machine_cpus: u32,
    probe_timeout: Duration,
    log: RotatingLog,
    /// The language of the log and of the status's summary: the process's one.
    lang: Lang,
    notifier: Box<dyn Notifier>,
    /// The worker process, once started.
    worker: Option<P::Worker>,
    /// A start whose node IP is being looked up: its number.
    starting: Option<u64>,
    starts: u64,
    node_ip: Option<String>,
    ray_in_use: Option<control::RayInUse>,
    /// The connection held to the head's Ray port ([`Action::WatchHead`]), while one is.
    head_watch: Option<tokio::task::JoinHandle<()>>,
    /// The machine's power as the watcher last reported it, for the status report.
    power: Option<PowerSnapshot>,
    messages: mpsc::UnboundedSender<Message>,
    reports: mpsc::UnboundedSender<WorkerReport>,
    status: watch::Sender<StatusReport>,
    last_status: Option<Status>,
    sleep_gate: watch::Sender<SleepGate>,
    /// The supervisor's `hold_awake`, which the platform's idle-sleep hold follows.
    keep_awake: watch::Sender<bool>,
    will_sleeps_seen: u64,
    /// `quit` requests, answered at the exit.
    quitting: Vec<oneshot::Sender<Reply>>,
    /// Where [`Action::RecordFirstRunOffer`] records the offer.
    first_run_offer_file: std::path::PathBuf,
    /// What the worker gave, as recorded so far (written by [`Action::SaveHistory`]).
    history: History,
    /// Where and how the history is written.
    history_file: HistoryFile,
}

/// `history.json`, written off the loop; a write never replaces a newer one.
#[derive(Clone)]
struct HistoryFile {
    path: std::path::PathBuf,
    /// `false` while an unreadable file is there that could not be set aside.
    writable: bool,
    /// The number of the newest content written, behind the lock every write takes.
    written: Arc<std::sync::Mutex<u64>>,
    /// The number of the newest content handed out.
    next: u64,
}

impl HistoryFile {
    /// Writes `bytes` as content number `seq` unless a newer one is already there; a line for
    /// the log when it fails.
    fn write(
        path: &std::path::Path,
        written: &std::sync::Mutex<u64>,
        seq: u64,
        bytes: &[u8],
    ) -> Option<String> {
        let mut last = written
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *last >= seq {
            return None;
        }
        match crate::history::file::write(path, bytes) {
            Ok(()) => {
                *last = seq;
                None
            }
            Err(e) => Some(text::log::not_saved_line(
                Lang::current(),
                &path.display().to_string(),
                &e.to_string(),
            )),
        }
    }
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
    let DriverOptions {
        paths,
        config,
        settings,
        machine_cpus,
        demo_head,
        startup_lines,
        first_run_offered,
    } = options;
    let watch_user_idle = settings.courtesy.only_when_idle.is_some();
    let mut log = RotatingLog::new(paths.log_file(), LOG_MAX_BYTES);
    for line in &startup_lines {
        let _ = log.line(line);
    }
    let today = chrono::Local::now().date_naive();
    let loaded = crate::history::file::load(&paths.history_file(), today, Lang::current());
    if let Some(note) = &loaded.note {
        let _ = log.line(note);
    }
    let history_file = HistoryFile {
        path: paths.history_file(),
        writable: loaded.writable,
        written: Arc::new(std::sync::Mutex::new(0)),
        next: 0,
    };
    let sup = Supervisor::new(
        settings,
        config.head.clone().or(demo_head.clone()),
        config.cpus,
        config.paused,
        Instant::now().into_std(),
    )
    .with_demo_head(demo_head)
    .with_first_run_search(first_run_offered);
    let platform = Arc::new(platform);
    let (messages_tx, mut messages_rx) = mpsc::unbounded_channel::<Message>();
    let (reports_tx, mut reports_rx) = mpsc::unbounded_channel::<WorkerReport>();
    let (events_tx, mut events_rx) = mpsc::unbounded_channel::<Event>();
    let (net_tx, mut net_rx) = mpsc::unbounded_channel::<()>();
    let (system_tx, mut system_rx) = mpsc::unbounded_channel::<SystemEvent>();
    let (gate_tx, gate_rx) = watch::channel(SleepGate::default());
    let (file_tx, mut file_rx) = mpsc::unbounded_channel::<ConfigFileNews>();
    config_file::spawn_watcher(paths.clone(), machine_cpus, file_tx);
    let saved = messages_tx.clone();
    let saves =
        config_file::spawn_writer(paths.clone(), move |(key, reply): SaveToken, outcome| {
            let _ = saved.send(Message::Saved {
                key,
                outcome,
                reply,
            });
        });
    platform.watch_network(net_tx);
    let machine_watch = platform.watch_machine(events_tx);
    platform.watch_sleep(system_tx, gate_rx);
    let (awake_tx, awake_rx) = watch::channel(false);
    let (held_tx, mut held_rx) = mpsc::unbounded_channel::<AwakeHold>();
    platform.hold_awake(awake_rx, held_tx);
    let (thermal_tx, mut thermal_rx) = mpsc::unbounded_channel::<ThermalState>();
    platform.watch_thermal(MACHINE_LOOK_EVERY, thermal_tx);
    // Read only when "only when idle" is on: otherwise nobody needs the answer.
    let (idle_tx, mut idle_rx) = mpsc::unbounded_channel::<IdleReading>();
    if watch_user_idle {
        platform.watch_user_idle(USER_IDLE_LOOK_EVERY, idle_tx);
    }

    let mut driver = Driver {
        platform,
        sup,
        probe_timeout: Duration::from_millis(config.timing.probe_timeout_ms),
        file_config: config.clone(),
        file_problem: None,
        saves,
        config,
        machine_cpus,
        log,
        lang: Lang::current(),
        first_run_offer_file: paths.first_run_offer_file(),
        notifier,
        worker: None,
        starting: None,
        starts: 0,
        node_ip: None,
        ray_in_use: None,
        head_watch: None,
        power: None,
        messages: messages_tx,
        reports: reports_tx,
        status,
        last_status: None,
        sleep_gate: gate_tx,
        keep_awake: awake_tx,
        will_sleeps_seen: 0,
        quitting: Vec::new(),
        history: loaded.history,
        history_file,
    };
    if let machine::MachineWatch::Polled { why } = &machine_watch {
        let _ = driver.log.line(&text::log::power_polled_line(
            driver.lang,
            why,
            MACHINE_LOOK_EVERY_UNSIGNALLED,
        ));
    }
    driver.look_up_ray();
    tokio::pin!(shutdown);
    let mut shutdown_seen = false;

    loop {
        if driver.carry_out_actions() {
            return;
        }
        let deadline = driver.sup.poll_timeout().map(Instant::from_std);
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = sleep => driver.sup.handle_timeout(now()),
            Some(event) = events_rx.recv() => driver.on_machine(event),
            Some(message) = messages_rx.recv() => driver.on_message(message),
            Some(report) = reports_rx.recv() => driver.on_report(report),
            Some(event) = system_rx.recv() => driver.on_system(event),
            Some(()) = net_rx.recv() => driver.sup.handle_event(now(), Event::NetworkChanged),
            Some(state) = thermal_rx.recv() => driver.sup.handle_event(now(), Event::Thermal(state)),
            Some(held) = held_rx.recv() => driver.sup.handle_event(now(), Event::AwakeHold(held)),
            Some(idle) = idle_rx.recv() => driver.sup.handle_event(now(), Event::UserIdle(idle)),
            Some(pending) = requests.recv() => driver.on_request(pending),
            Some(news) = file_rx.recv() => driver.on_config_file_news(news),
            _ = &mut shutdown, if !shutdown_seen => {
                shutdown_seen = true;
                driver.sup.handle_event(now(), Event::User(UserCommand::Shutdown));
            }
        }
    }
}

/// The supervisor's time: tokio's clock, so that paused-time tests drive it.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

impl<P: Platform> Driver<P> {
    /// Carries out what the supervisor decided, then publishes and logs its state. `true`
    /// once the supervisor has finished.
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
                    self.spawn_event(async move { Event::HeadProbe(probe.await) });
                }
                Action::WatchHead {
                    head,
                    watch,
                    lost_after,
                } => {
                    let (states_tx, mut states) = mpsc::unbounded_channel();
                    let held = self.platform.watch_head(&head, lost_after, states_tx);
                    let messages = self.messages.clone();
                    let task = tokio::spawn(async move {
                        let forward = async {
                            while let Some(state) = states.recv().await {
                                let event = Event::HeadConnection { watch, state };
                                if messages.send(Message::Event(event)).is_err() {
                                    return;
                                }
                            }
                        };
                        tokio::join!(held, forward);
                    });
                    if let Some(previous) = self.head_watch.replace(task) {
                        previous.abort();
                    }
                }
                Action::StartWorker(spec) => {
                    self.starts += 1;
                    let start = self.starts;
                    self.starting = Some(start);
                    let lookup = self.platform.node_ip(&spec.head);
                    let messages = self.messages.clone();
                    tokio::spawn(async move {
                        let ip = lookup.await;
                        let _ = messages.send(Message::NodeIp { start, spec, ip });
                    });
                }
                Action::StopWorker { grace, .. } => {
                    if let Some(worker) = &self.worker {
                        worker.stop(grace);
                    } else if self.starting.take().is_some() {
                        // Stopped before it existed: nothing to signal, and its end is now.
                        self.event_later(Event::WorkerExited(WorkerExit {
                            code: None,
                            failure: None,
                        }));
                    }
                }
                Action::DrainWorker { drain, deadline } => {
                    let (Some(worker), Some(head)) = (&self.worker, self.sup.status().head) else {
                        self.event_later(Event::DrainRequested {
                            drain,
                            accepted: false,
                        });
                        continue;
                    };
                    let request = self.platform.drain(&head, worker.pid(), deadline);
                    let messages = self.messages.clone();
                    let lang = self.lang;
                    tokio::spawn(async move {
                        let outcome = request.await;
                        let note = text::log::drain_requested_line(lang, &outcome);
                        let _ = messages.send(Message::Note(note));
                        let accepted = outcome.is_ok();
                        let _ = messages
                            .send(Message::Event(Event::DrainRequested { drain, accepted }));
                    });
                }
                Action::SampleWorkerTree { drain } => match &self.worker {
                    Some(worker) => {
                        let sample = self.platform.sample_tree(worker.pid());
                        self.spawn_event(async move {
                            let reading = sample.await;
                            Event::WorkerTreeSampled { drain, reading }
                        });
                    }
                    None => self.event_later(Event::WorkerTreeSampled {
                        drain,
                        reading: TreeReading::Gone,
                    }),
                },
                Action::InstallRay { version } => {
                    let messages = self.messages.clone();
                    let lang = self.lang;
                    let (steps_tx, mut steps_rx) = mpsc::unbounded_channel();
                    let install = self.platform.install_ray(version, steps_tx);
                    let progress = messages.clone();
                    tokio::spawn(async move {
                        while let Some(step) = steps_rx.recv().await {
                            let _ = progress.send(Message::Event(Event::RayInstallProgress(step)));
                        }
                    });
                    tokio::spawn(async move {
                        let outcome = install.await;
                        if let Err(why) = &outcome {
                            let _ = messages
                                .send(Message::Note(text::log::install_failed_line(lang, why)));
                        }
                        let _ = messages.send(Message::Event(Event::RayInstallEnded(outcome)));
                    });
                }
                Action::FindHeads => {
                    let search = self.platform.find_heads();
                    self.spawn_event(async move { Event::HeadsFound(search.await) });
                }
                Action::Notify(notice) => {
                    let _ = self.log.line(&text::log::notice_line(self.lang, &notice));
                    self.notifier.notify(&notice);
                }
                Action::RecordFirstRunOffer => {
                    // Off the loop; if it cannot be written, the offer may come once more.
                    let file = self.first_run_offer_file.clone();
                    tokio::spawn(async move {
                        let _ = tokio::fs::write(file, b"").await;
                    });
                }
                Action::Log(note) => {
                    let _ = self.log.line(&text::log::log_note(self.lang, &note));
                }
                Action::SampleUsage { sample } => match &self.worker {
                    Some(worker) => {
                        let reading = self.platform.sample_usage(worker.pid());
                        self.spawn_event(async move {
                            let tree = reading.await;
                            Event::UsageSampled { sample, tree }
                        });
                    }
                    None => self.event_later(Event::UsageSampled { sample, tree: None }),
                },
                Action::RecordUsage { cpu } => {
                    self.history.add_cpu(chrono::Local::now().date_naive(), cpu);
                }
                Action::RecordActivity(activity) => {
                    self.history.record(chrono::Utc::now(), activity);
                }
                Action::SaveHistory => save_history = true,
                Action::Exit => exit = true,
            }
        }
        if save_history {
            self.save_history(exit);
        }
        let report = self.publish();
        if exit {
            if let Some(worker) = &self.worker {
                // The supervisor's quit deadline passed with the worker still there.
                worker.stop(Duration::ZERO);
            }
            for reply in self.quitting.drain(..) {
                let _ = reply.send(Reply {
                    ok: true,
                    message: Some(text::cli::reply_note(Lang::En, &ReplyNote::Stopped)),
                    note: Some(ReplyNote::Stopped),
                    report: Some(report.clone()),
                });
            }
        }
        exit
    }

    /// Publishes the supervisor's state (status watchers, the sleep gate) and logs a change.
    fn publish(&mut self) -> StatusReport {
        let status = self.sup.status();
        if self.last_status.as_ref() != Some(&status) {
            for line in text::log::transition_lines(self.lang, self.last_status.as_ref(), &status) {
                let _ = self.log.line(&line);
            }
            self.last_status = Some(status.clone());
        }
        let gate = SleepGate {
            will_sleeps_seen: self.will_sleeps_seen,
            holding: status.holding_sleep,
        };
        self.sleep_gate.send_if_modified(|current| {
            let changed = *current != gate;
            *current = gate;
            changed
        });
        self.keep_awake
            .send_if_modified(|held| std::mem::replace(held, status.courtesy.hold_awake) != *held);
        let report = self.report(&status);
        self.status.send_if_modified(|current| {
            let changed = *current != report;
            if changed {
                *current = report.clone();
            }
            changed
        });
        report
    }

    /// Writes the history: off the loop, or at once when the driver is finishing (nothing
    /// waits on the loop any more, and a write spawned now could be cut short).
    fn save_history(&mut self, finishing: bool) {
        if !self.history_file.writable {
            return;
        }
        self.history
            .prune(chrono::Utc::now(), chrono::Local::now().date_naive());
        let bytes = crate::history::file::to_bytes(&self.history);
        self.history_file.next += 1;
        let seq = self.history_file.next;
        let (path, written) = (
            self.history_file.path.clone(),
            self.history_file.written.clone(),
        );
        if finishing {
            if let Some(line) = HistoryFile::write(&path, &written, seq, &bytes) {
                let _ = self.log.line(&line);
            }
            return;
        }
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let failed = tokio::task::spawn_blocking(move || {
                HistoryFile::write(&path, &written, seq, &bytes)
            })
            .await
            .ok()
            .flatten();
            if let Some(line) = failed {
                let _ = messages.send(Message::Note(line));
            }
        });
    }

    fn report(&self, status: &Status) -> StatusReport {
        // The summary stays English (StatusReport::new): `status --json` is for scripts, and
        // the CLI words the status in its own language.
        StatusReport {
            contribution: Some(self.history.summary(chrono::Local::now().date_naive())),
            ray: self.ray_in_use.clone(),
            ..StatusReport::new(
                status,
                self.worker.as_ref().map(|w| w.pid()),
                self.node_ip.clone(),
                self.log.path(),
                self.power,
            )
        }
    }

    /// Finds out which `ray` a worker runs, and its version, off the loop.
    fn look_up_ray(&self) {
        let lookup = self.platform.ray_in_use();
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let _ = messages.send(Message::RayInUse(lookup.await));
        });
    }

    /// Runs `task` on its own and feeds its event to the supervisor when it is done.
    fn spawn_event(&self, task: impl Future<Output = Event> + Send + 'static) {
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let _ = messages.send(Message::Event(task.await));
        });
    }

    /// Feeds `event` to the supervisor after the actions being carried out now.
    fn event_later(&self, event: Event) {
        let _ = self.messages.send(Message::Event(event));
    }

    /// A fact from the machine watcher: fed to the supervisor, and the power kept for the
    /// report.
    fn on_machine(&mut self, event: Event) {
        if let Event::Power(power) = event {
            self.power = Some(power);
        }
        self.sup.handle_event(now(), event);
    }

    fn on_message(&mut self, message: Message) {
        match message {
            Message::Event(event) => {
                // A new install may be another `ray`, or the same one at another version.
                if matches!(event, Event::RayInstallEnded(Ok(_))) {
                    self.look_up_ray();
                }
                self.sup.handle_event(now(), event)
            }
            Message::RayInUse(ray) => {
                let line = text::log::ray_in_use_line(
                    self.lang,
                    ray.as_ref()
                        .map(|ray| (ray.path.as_str(), ray.version.as_deref())),
                );
                let _ = self.log.line(&line);
                self.ray_in_use = ray;
            }
            Message::Note(line) => {
                let _ = self.log.line(&line);
            }
            Message::Saved {
                key,
                outcome,
                reply,
            } => {
                let note = outcome.err().map(|why| ReplyNote::NotSaved {
                    key: key.to_string(),
                    why,
                });
                if let Some(note) = &note {
                    let _ = self
                        .log
                        .line(&text::log::not_saved_setting_line(self.lang, note));
                }
                if let Some((reply, report)) = reply.map(|boxed| *boxed) {
                    let _ = reply.send(Reply {
                        ok: true,
                        message: note
                            .as_ref()
                            .map(|note| text::cli::reply_note(Lang::En, note)),
                        note,
                        report: Some(report),
                    });
                }
            }
            Message::NodeIp { start, spec, ip } => {
                if self.starting != Some(start) {
                    // Stopped while its address was looked up.
                    return;
                }
                self.starting = None;
                let started = ip
                    .map_err(|detail| SpawnFailure::Other { detail })
                    .and_then(|ip| {
                        let worker = self
                            .platform
                            .start_worker(&spec, ip, self.reports.clone())?;
                        Ok((worker, ip))
                    });
                match started {
                    Ok((worker, ip)) => {
                        self.worker = Some(worker);
                        self.node_ip = Some(ip.to_string());
                    }
                    Err(failure) => self
                        .sup
                        .handle_event(now(), Event::WorkerSpawnFailed(failure)),
                }
            }
        }
    }

    fn on_report(&mut self, report: WorkerReport) {
        match report {
            WorkerReport::Joined => self.sup.handle_event(now(), Event::WorkerJoined),
            WorkerReport::Exited { code, tail } => {
                self.worker = None;
                // Nothing to watch for without a worker in the head's cluster.
                if let Some(watch) = self.head_watch.take() {
                    watch.abort();
                }
                self.node_ip = None;
                let explain = self.platform.explain_exit(code, tail);
                self.spawn_event(async move {
                    let failure = explain.await;
                    Event::WorkerExited(WorkerExit { code, failure })
                });
            }
        }
    }

    /// An OS sleep or wake notification (logind, or the tray's request): logged, then fed.
    fn on_system(&mut self, event: SystemEvent) {
        let event = match event {
            SystemEvent::WillSleep => {
                self.will_sleeps_seen += 1;
                let _ = self.log.line(text::log::going_to_sleep_line(self.lang));
                Event::WillSleep
            }
            SystemEvent::Woke { slept_secs } => {
                let _ = self.log.line(&text::log::woke_line(self.lang, slept_secs));
                Event::Woke { slept_secs }
            }
        };
        self.sup.handle_event(now(), event);
    }

    fn on_request(&mut self, pending: Pending) {
        if let Request::System { event } = pending.request {
            self.on_system(event);
        }
        match apply_request(&pending.request, self.machine_cpus) {
            Ok(Some((UserCommand::Shutdown, _))) => {
                self.sup
                    .handle_event(now(), Event::User(UserCommand::Shutdown));
                self.quitting.push(pending.reply);
            }
            Ok(change) => {
                let mut setting = None;
                if let Some((command, change)) = change {
                    let offered = match &command {
                        UserCommand::JoinFoundHead(head) => Some(head.clone()),
                        _ => None,
                    };
                    // In effect at once, whether or not the file can be written.
                    self.sup.handle_event(now(), Event::User(command));
                    // An offered head the supervisor turned down is not saved either.
                    let taken = offered.is_none_or(|head| {
                        let status = self.sup.status();
                        !status.demo && status.head.as_ref() == Some(&head)
                    });
                    if let Some(change) = change.filter(|_| taken) {
                        change.apply_to(&mut self.config);
                        setting = Some(change);
                    }
                }
                // The reply shows the state right after the request, before the actions it
                // caused are carried out (a `system` WillSleep: `holding_sleep` already set).
                let report = self.report(&self.sup.status());
                match setting {
                    // Answered once the file is written, or its error known.
                    Some(setting) => {
                        let token = (setting.key(), Some(Box::new((pending.reply, report))));
                        if let Err(mpsc::error::SendError((_, (key, reply)))) =
                            self.saves.send((setting, token))
                        {
                            self.on_message(Message::Saved {
                                key,
                                outcome: Err("the writer has stopped".to_string()),
                                reply,
                            });
                        }
                    }
                    None => {
                        let _ = pending.reply.send(Reply {
                            ok: true,
                            message: None,
                            note: None,
                            report: Some(report),
                        });
                    }
                }
            }
            Err(message) => {
                let _ = pending.reply.send(Reply {
                    ok: false,
                    message: Some(message),
                    note: None,
                    report: None,
                });
            }
        }
    }

    /// The config.toml watcher's news: what the file says, or that it is now looked at on a
    /// clock (said once in the log, so that a user wondering why an edit takes a moment, or
    /// why the daemon wakes, finds the reason).
    fn on_config_file_news(&mut self, news: ConfigFileNews) {
        match news {
            ConfigFileNews::Reading(reading) => self.on_config_file(reading),
            ConfigFileNews::Polling { every_secs, why } => {
                let _ = self.log.line(&config_edit_line(
                    self.lang,
                    ConfigEdit::Polling {
                        every_secs,
                        why: &why,
                    },
                ));
            }
        }
    }

    /// config.toml changed on disk (a hand edit, or our own write): each setting that the
    /// user changed in the file and that differs from the running one is applied; settings
    /// read only at start are named in the log; an invalid file is reported once and left
    /// as it is, the running settings unchanged.
    fn on_config_file(&mut self, reading: FileReading) {
        let new = match reading {
            FileReading::Invalid(problem) => {
                if self.file_problem.as_ref() != Some(&problem) {
                    let _ = self
                        .log
                        .line(&config_edit_line(self.lang, ConfigEdit::Invalid(&problem)));
                    self.file_problem = Some(problem);
                }
                return;
            }
            FileReading::Missing => {
                let problem = "config.toml was removed".to_string();
                if self.file_problem.as_ref() != Some(&problem) {
                    let _ = self
                        .log
                        .line(&config_edit_line(self.lang, ConfigEdit::Removed));
                    self.file_problem = Some(problem);
                }
                return;
            }
            FileReading::Valid(config) => config,
        };
        if self.file_problem.take().is_some() {
            let _ = self
                .log
                .line(&config_edit_line(self.lang, ConfigEdit::ReadableAgain));
        }
        let old = std::mem::replace(&mut self.file_config, new.clone());
        let mut applied = Vec::new();
        if new.head != old.head && new.head != self.config.head {
            match &new.head {
                Some(head) => {
                    applied.push(format!("head = {head}"));
                    self.sup
                        .handle_event(now(), Event::User(UserCommand::SetHead(head.clone())));
                    self.config.head = Some(head.clone());
                }
                None => {
                    let _ = self
                        .log
                        .line(&config_edit_line(self.lang, ConfigEdit::HeadRemoved));
                }
            }
        }
        if new.cpus != old.cpus && new.cpus != self.config.cpus {
            applied.push(format!("cpus = {}", new.cpus));
            self.sup
                .handle_event(now(), Event::User(UserCommand::SetCpus(new.cpus)));
            self.config.cpus = new.cpus;
        }
        if new.paused != old.paused && new.paused != self.config.paused {
            applied.push(format!("paused = {}", new.paused));
            let command = if new.paused {
                UserCommand::Pause
            } else {
                UserCommand::Resume
            };
            self.sup.handle_event(now(), Event::User(command));
            self.config.paused = new.paused;
        }
        if !applied.is_empty() {
            let applied = applied.join(", ");
            let _ = self
                .log
                .line(&config_edit_line(self.lang, ConfigEdit::Applied(&applied)));
        }
        let at_restart = settings_read_at_start(&old, &new);
        if !at_restart.is_empty() {
            let keys = at_restart.join(", ");
            let _ = self
                .log
                .line(&config_edit_line(self.lang, ConfigEdit::AtRestart(&keys)));
        }
    }
}

/// The settings read only at start that differ between `old` and `new`, by key.
fn settings_read_at_start(old: &Config, new: &Config) -> Vec<&'static str> {
    [
        ("mode", old.mode != new.mode),
        ("ray_path", old.ray_path != new.ray_path),
        ("node_ip", old.node_ip != new.node_ip),
        (
            "auth_token_file",
            old.auth_token_file != new.auth_token_file,
        ),
        ("[timing]", old.timing != new.timing),
        ("[battery]", old.battery != new.battery),
        ("keep_awake", old.keep_awake != new.keep_awake),
        (
            "pause_at_thermal",
            old.pause_at_thermal != new.pause_at_thermal,
        ),
        (
            "only_when_idle_minutes",
            old.only_when_idle_minutes != new.only_when_idle_minutes,
        ),
        ("[ray]", old.ray != new.ray),
    ]
    .into_iter()
    .filter_map(|(key, changed)| changed.then_some(key))
    .collect()
}

/// Turns a request into a supervisor command and the setting to save, if any. Nothing is
/// saved here: the change takes effect at once and the file is written after, so that a full
/// disk or a read-only home never refuses a pause.
fn apply_request(
    request: &Request,
    machine_cpus: u32,
) -> Result<Option<(UserCommand, Option<Setting>)>, String> {
    let change = match request {
        Request::Status => return Ok(None),
        // A fact about the machine, not a setting: fed to the supervisor by the caller.
        Request::System { .. } => return Ok(None),
        Request::Quit => (UserCommand::Shutdown, None),
        Request::FindHeads => (UserCommand::FindHeads, None),
        // Only a version goes on to pip's command line.
        Request::InstallRay { version } => {
            let version = match version {
                Some(v) => Some(crate::setup::validate_version(v).map_err(|e| e.to_string())?),
                None => None,
            };
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
        Request::Head { address } => {
            let head = address.parse::<HeadAddress>().map_err(|e| e.to_string())?;
            (
                UserCommand::SetHead(head.clone()),
                Some(Setting::Head(head)),
            )
        }
        // Saved only if the supervisor takes it (see `on_request`).
        Request::JoinFoundHead { address } => {
            let head = address.parse::<HeadAddress>().map_err(|e| e.to_string())?;
            (
                UserCommand::JoinFoundHead(head.clone()),
                Some(Setting::Head(head)),
            )
        }
    };
    Ok(Some(change))
}
