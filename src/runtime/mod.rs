//! The tokio driver around the pure supervisor.
//!
//! It only carries out [`Action`]s and turns the world into [`Event`]s: probes run as tasks and
//! report back, the worker's output and exit arrive as reports, user requests come from the
//! control socket (and the tray) through one channel. The loop is the `quinn` shape: drain the
//! supervisor's actions, publish its status, then wait for the earliest of its deadline, an event
//! or a request. No decision is taken here.

pub mod control;
pub mod drain;
pub mod instance;
pub mod log;
pub mod machine;
pub mod probe;
pub mod worker;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::{Config, NodeIp, Paths};

use crate::model::HeadAddress;
use crate::model::Status;
use crate::model::WorkerFailure;
use crate::platform::SystemProcesses;
use crate::ray_output::{self};
use crate::supervisor::{Action, Event, HeadProbe, Settings, Supervisor, UserCommand, WorkerExit};
use control::{Pending, Reply, Request, StatusReport, SystemEvent};
use log::RotatingLog;
use probe::TailscaleCli;
use worker::{RayCommand, WorkerProcess, WorkerReport};

/// `worker.log` and the Ray output file are each kept under this size (plus one old copy).
const LOG_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// The OS's wake notification and the clock-jump watcher ([`machine::watch`]) report the same
/// wake a few seconds apart. Only the first may reach the supervisor: the second would find the
/// worker the first one started and replace it as stale.
const WAKE_ECHO: Duration = Duration::from_secs(30);

/// Where a wake was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WakeSource {
    /// The wall clock jumped against the monotonic one.
    Clock,
    /// The OS's notification ([`Request::System`]).
    Notification,
}

/// Keeps the second report of one wake from the supervisor: a wake from the other source
/// within [`WAKE_ECHO`] of an admitted one is its echo. One source alone is never filtered
/// (Linux without logind has only the clock), and an announced sleep starts afresh.
#[derive(Debug, Default)]
struct WakeEcho {
    /// The last wake passed on, and where it came from.
    last: Option<(Instant, WakeSource)>,
}

impl WakeEcho {
    /// Whether a wake seen now from `source` is news.
    fn admit(&mut self, now: Instant, source: WakeSource) -> bool {
        if let Some((at, seen)) = self.last {
            if seen != source && now < at + WAKE_ECHO {
                return false;
            }
        }
        self.last = Some((now, source));
        true
    }

    /// A sleep was announced: the next wake is a new one.
    fn will_sleep(&mut self) {
        self.last = None;
    }
}

/// Where notifications go (the tray shows them; the headless daemon only logs them).
pub trait Notifier: Send {
    /// Shows one notification (or decides not to: the tray rate-limits them).
    fn notify(&mut self, notice: &crate::model::Notice);
}

/// A notifier that shows nothing.
#[derive(Debug, Default)]
pub struct NoNotifier;

impl Notifier for NoNotifier {
    fn notify(&mut self, _notice: &crate::model::Notice) {}
}

/// Everything the driver needs to run.
pub struct DriverOptions {
    /// The data folder.
    pub paths: Paths,
    /// The configuration (kept up to date and saved when the user changes something).
    pub config: Config,
    /// Logical CPUs of this machine: the most that may be offered.
    pub machine_cpus: u32,
    /// The Tailscale CLI, if any.
    pub tailscale: TailscaleCli,
    /// A head to join while none is configured (the built-in demo head); never saved.
    pub demo_head: Option<HeadAddress>,
}

/// The supervisor's settings from the configuration. A laptop (mobile mode) caps restart
/// delays at the old daemon's 30 s retry delay and applies the battery policy; a desktop
/// waits up to 60 s between restarts.
pub fn settings_from(config: &Config, mobile: bool) -> Settings {
    let timing = &config.timing;
    let battery = &config.battery;
    let defaults = Settings::default();
    Settings {
        grace: Duration::from_secs(timing.grace_secs),
        probe_every_up: Duration::from_millis(timing.probe_interval_ms),
        stop_grace: Duration::from_secs(timing.stop_grace_secs),
        backoff: crate::supervisor::BackoffPolicy {
            max: Duration::from_secs(if mobile { 30 } else { 60 }),
            ..defaults.backoff.clone()
        },
        laptop: crate::supervisor::LaptopPolicy {
            mobile,
            warn_percent: battery.warn_percent,
            stop_percent: battery.stop_percent,
            resume_percent: battery.resume_percent,
            only_on_power: battery.only_on_power,
            cpus_on_battery: (battery.cpus_on_battery > 0).then_some(battery.cpus_on_battery),
        },
        ..defaults
    }
}

/// The `ray` to run: the configured one, else the one `setup` installed, else `ray` on PATH.
pub fn ray_executable(config: &Config, paths: &Paths) -> PathBuf {
    if let Some(path) = &config.ray_path {
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

/// Runs the supervisor until `shutdown` resolves (then stops the worker cleanly) or a `quit`
/// request arrives. `requests` carries user requests (control socket, tray); `status` receives
/// every new state.
pub async fn run(
    options: DriverOptions,
    mut requests: mpsc::Receiver<Pending>,
    status: watch::Sender<StatusReport>,
    mut notifier: Box<dyn Notifier>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let DriverOptions {
        paths,
        mut config,
        machine_cpus,
        tailscale,
        demo_head,
    } = options;
    let processes = SystemProcesses;
    let mut log = RotatingLog::new(paths.log_file(), LOG_MAX_BYTES);
    let ray_log = Arc::new(Mutex::new(RotatingLog::new(
        paths.ray_log_file(),
        LOG_MAX_BYTES,
    )));

    match worker::stop_orphan(
        &paths.worker_pid_file(),
        &processes,
        Duration::from_secs(config.timing.stop_grace_secs),
    )
    .await
    {
        worker::Orphan::Stopped { pid } => {
            let _ = log.line(&format!(
                "🧹 Stopped the worker (pid {pid}) left behind by an earlier run"
            ));
        }
        worker::Orphan::Stale { pid } => {
            let _ = log.line(&format!(
                "Left pid {pid} alone: it is no longer the worker an earlier run started"
            ));
        }
        worker::Orphan::None => {}
    }

    let form_factor = tokio::task::spawn_blocking(crate::platform::detect_form_factor)
        .await
        .unwrap_or(crate::platform::FormFactor::Unknown);
    let mobile = machine::is_mobile(config.mode, form_factor);
    let _ = log.line(&format!(
        "💻 {} mode ({form_factor:?})",
        if mobile { "Mobile" } else { "Desktop" }
    ));
    let settings = settings_from(&config, mobile);
    let probe_timeout = Duration::from_millis(config.timing.probe_timeout_ms);
    let start = Instant::now();
    let mut sup = Supervisor::new(
        settings,
        config.head.clone().or(demo_head),
        config.cpus,
        config.paused,
        start.into_std(),
    );

    let (events_tx, mut events_rx) = mpsc::unbounded_channel::<Event>();
    let (reports_tx, mut reports_rx) = mpsc::unbounded_channel::<WorkerReport>();
    let (net_tx, mut net_rx) = mpsc::unbounded_channel::<()>();
    // Lines for worker.log from background tasks (the drain says how it went).
    let (notes_tx, mut notes_rx) = mpsc::unbounded_channel::<String>();
    probe::watch_network(net_tx);
    machine::watch(Box::new(crate::platform::SystemPower), events_tx.clone());
    // The OS's sleep and wake notifications on Linux (logind): the same path as the tray's
    // `Request::System`, so that the wake-echo filter knows their source.
    let (system_tx, mut system_rx) = mpsc::unbounded_channel::<SystemEvent>();
    #[cfg(target_os = "linux")]
    crate::platform::logind::watch(system_tx, status.subscribe());
    #[cfg(not(target_os = "linux"))]
    drop(system_tx);

    let mut worker: Option<WorkerProcess> = None;
    let mut node_ip: Option<String> = None;
    let mut last_status: Option<Status> = None;
    let mut pending_quit: Vec<tokio::sync::oneshot::Sender<Reply>> = Vec::new();
    let mut wakes = WakeEcho::default();
    tokio::pin!(shutdown);
    let mut shutdown_seen = false;

    loop {
        // Drain what the supervisor decided.
        let mut exit = false;
        while let Some(action) = sup.poll_action() {
            match action {
                Action::Probe { head } => {
                    let events = events_tx.clone();
                    let tailscale = tailscale.clone();
                    tokio::spawn(async move {
                        let unreachable = probe::probe_head(&head, probe_timeout, &tailscale).await;
                        let _ = events.send(Event::HeadProbe(HeadProbe { head, unreachable }));
                    });
                }
                Action::StartWorker(spec) => {
                    let ip = match &config.node_ip {
                        NodeIp::Fixed(ip) => Ok(*ip),
                        NodeIp::Auto => probe::node_ip_for(&spec.head, &tailscale).await,
                    };
                    let ray = RayCommand {
                        ray: ray_executable(&config, &paths),
                        auth_token_file: config.auth_token_file.clone(),
                    };
                    let started = match ip {
                        Ok(ip) => {
                            node_ip = Some(ip.to_string());
                            worker::spawn(
                                &ray,
                                &spec,
                                ip,
                                &paths.worker_pid_file(),
                                &processes,
                                ray_log.clone(),
                                reports_tx.clone(),
                            )
                        }
                        Err(e) => Err(crate::supervisor::SpawnFailure::Other {
                            detail: format!("no local address reaches the head: {e}"),
                        }),
                    };
                    match started {
                        Ok(process) => worker = Some(process),
                        Err(failure) => {
                            let _ = events_tx.send(Event::WorkerSpawnFailed(failure));
                        }
                    }
                }
                Action::StopWorker { grace, .. } => {
                    if let Some(process) = &worker {
                        process.stop(grace);
                    }
                }
                Action::DrainWorker { deadline } => {
                    let (Some(process), Some(head)) = (&worker, sup.status().head) else {
                        let _ = events_tx.send(Event::DrainFinished);
                        continue;
                    };
                    let pid = process.pid();
                    let ray = RayCommand {
                        ray: ray_executable(&config, &paths),
                        auth_token_file: config.auth_token_file.clone(),
                    };
                    let events = events_tx.clone();
                    let notes = notes_tx.clone();
                    tokio::spawn(async move {
                        let note = drain_then_report(ray, head, pid, deadline).await;
                        let _ = notes.send(note);
                        let _ = events.send(Event::DrainFinished);
                    });
                }
                Action::Notify(notice) => {
                    let (title, body) = crate::text::notice(&notice);
                    let _ = log.line(&format!("🔔 {title}: {body}"));
                    notifier.notify(&notice);
                }
                Action::Exit => exit = true,
            }
        }

        // Publish and log the new state.
        let now_status = sup.status();
        if last_status.as_ref() != Some(&now_status) {
            if let Some(line) = crate::text::transition_line(last_status.as_ref(), &now_status) {
                let _ = log.line(&line);
            }
            last_status = Some(now_status.clone());
        }
        let report = StatusReport::new(
            &now_status,
            worker.as_ref().map(|w| w.pid()),
            node_ip.clone(),
            log.path(),
        );
        status.send_if_modified(|current| {
            if *current != report {
                *current = report.clone();
                true
            } else {
                false
            }
        });

        if exit {
            for reply in pending_quit.drain(..) {
                let _ = reply.send(Reply {
                    ok: true,
                    message: Some("Stopped.".to_string()),
                    report: Some(report.clone()),
                });
            }
            return Ok(());
        }

        let deadline = sup.poll_timeout().map(Instant::from_std);
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending::<()>().await,
            }
        };

        tokio::select! {
            _ = sleep => sup.handle_timeout(Instant::now().into_std()),
            Some(event) = events_rx.recv() => {
                let now = Instant::now();
                let echo = matches!(event, Event::Woke { .. }) && !wakes.admit(now, WakeSource::Clock);
                if !echo {
                    sup.handle_event(now.into_std(), event);
                }
            }
            Some(report) = reports_rx.recv() => {
                let event = match report {
                    WorkerReport::Joined => Event::WorkerJoined,
                    WorkerReport::Exited { code, tail } => {
                        worker = None;
                        let failure = explain_exit(code, &tail, &ray_executable(&config, &paths)).await;
                        Event::WorkerExited(WorkerExit { code, failure })
                    }
                };
                sup.handle_event(Instant::now().into_std(), event);
            }
            Some(event) = system_rx.recv() => {
                if let Some(event) = system_event(event, &mut wakes, &mut log) {
                    sup.handle_event(Instant::now().into_std(), event);
                }
            }
            Some(note) = notes_rx.recv() => {
                let _ = log.line(&note);
            }
            Some(()) = net_rx.recv() => sup.handle_event(Instant::now().into_std(), Event::NetworkChanged),
            Some(pending) = requests.recv() => {
                let now = Instant::now().into_std();
                if let Request::System { event } = pending.request {
                    if let Some(event) = system_event(event, &mut wakes, &mut log) {
                        sup.handle_event(now, event);
                    }
                }
                match apply_request(&pending.request, &mut config, &paths, machine_cpus) {
                    Ok(Some(command)) => {
                        let quitting = command == UserCommand::Shutdown;
                        sup.handle_event(now, Event::User(command));
                        if quitting {
                            pending_quit.push(pending.reply);
                        } else {
                            let report = StatusReport::new(&sup.status(), worker.as_ref().map(|w| w.pid()), node_ip.clone(), log.path());
                            let _ = pending.reply.send(Reply { ok: true, message: None, report: Some(report) });
                        }
                    }
                    Ok(None) => {
                        let report = StatusReport::new(&sup.status(), worker.as_ref().map(|w| w.pid()), node_ip.clone(), log.path());
                        let _ = pending.reply.send(Reply { ok: true, message: None, report: Some(report) });
                    }
                    Err(message) => {
                        let _ = pending.reply.send(Reply { ok: false, message: Some(message), report: None });
                    }
                }
            }
            _ = &mut shutdown, if !shutdown_seen => {
                shutdown_seen = true;
                sup.handle_event(Instant::now().into_std(), Event::User(UserCommand::Shutdown));
            }
        }
    }
}

/// The supervisor's event for an OS sleep or wake notification (logged), unless the wake is
/// the echo of one the clock already reported.
fn system_event(event: SystemEvent, wakes: &mut WakeEcho, log: &mut RotatingLog) -> Option<Event> {
    match event {
        SystemEvent::WillSleep => {
            wakes.will_sleep();
            let _ = log.line("💤 The machine is going to sleep");
            Some(Event::WillSleep)
        }
        SystemEvent::Woke { slept_secs } => {
            if !wakes.admit(Instant::now(), WakeSource::Notification) {
                return None;
            }
            let _ = log.line(&format!("☀️ The machine woke after {slept_secs} s asleep"));
            Some(Event::Woke { slept_secs })
        }
    }
}

/// Drains this node: learns its id from the worker's raylet, asks the head to stop sending it
/// tasks, waits until the running ones finish or `deadline` passes. Whatever happens, the
/// caller stops the worker next; the returned line says how it went.
async fn drain_then_report(
    ray: RayCommand,
    head: HeadAddress,
    worker_pid: u32,
    deadline: Duration,
) -> String {
    let Some(node_id) = drain::node_id(worker_pid, Duration::from_secs(5)).await else {
        return "⏳ Drain skipped: this node's id was not found; stopping now".to_string();
    };
    let until = Instant::now() + deadline;
    if let Err(e) = drain::request_drain(
        &ray,
        &head,
        &node_id,
        "BitTrader Worker: this laptop is leaving (pause)",
        deadline,
    )
    .await
    {
        return format!("⏳ Drain not accepted ({e}); stopping now");
    }
    match drain::wait_until_idle(worker_pid, until).await {
        drain::Idle::Idle => "⏳ Drained: the running tasks finished".to_string(),
        drain::Idle::DeadlinePassed => format!(
            "⏳ Drain deadline ({} s) passed with tasks still running; stopping (Ray retries them on other nodes; tasks pinned to this one wait for it)",
            deadline.as_secs()
        ),
    }
}

/// Turns a request into a supervisor command, saving the configuration first: if the save
/// fails, nothing changes and the user is told.
fn apply_request(
    request: &Request,
    config: &mut Config,
    paths: &Paths,
    machine_cpus: u32,
) -> Result<Option<UserCommand>, String> {
    let mut next = config.clone();
    let command = match request {
        Request::Status => return Ok(None),
        // A fact about the machine, not a setting: fed to the supervisor by the caller.
        Request::System { .. } => return Ok(None),
        Request::Quit => return Ok(Some(UserCommand::Shutdown)),
        Request::Pause => {
            next.paused = true;
            UserCommand::Pause
        }
        Request::PauseAfterTasks => {
            next.paused = true;
            UserCommand::PauseAfterTasks
        }
        Request::Resume => {
            next.paused = false;
            UserCommand::Resume
        }
        Request::Cpus { cpus } => {
            let cpus =
                crate::config::validate_cpus(*cpus, machine_cpus).map_err(|e| e.to_string())?;
            next.cpus = cpus;
            UserCommand::SetCpus(cpus)
        }
        Request::Head { address } => {
            let head = address.parse::<HeadAddress>().map_err(|e| e.to_string())?;
            next.head = Some(head.clone());
            UserCommand::SetHead(head)
        }
    };
    next.save(paths).map_err(|e| e.to_string())?;
    *config = next;
    Ok(Some(command))
}

/// What a worker's exit means, from the end of its output. A suspected version skew is worth
/// naming this machine's Ray version, which costs one `ray --version`.
async fn explain_exit(
    code: Option<i32>,
    tail: &[String],
    ray: &std::path::Path,
) -> Option<WorkerFailure> {
    if code.is_none() && tail.is_empty() {
        return None;
    }
    let failure = ray_output::classify_exit(tail);
    Some(match failure {
        WorkerFailure::VersionSkewSuspected { this_machine: None } => {
            WorkerFailure::VersionSkewSuspected {
                this_machine: local_ray_version(ray).await,
            }
        }
        other => other,
    })
}

/// This machine's Ray version (`ray --version`), if it answers within a few seconds.
pub async fn local_ray_version(ray: &std::path::Path) -> Option<String> {
    let run = tokio::process::Command::new(ray)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .ok()?
        .ok()?;
    ray_output::parse_ray_version(&String::from_utf8_lossy(&output.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_reported_by_both_sources_reaches_the_supervisor_once() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut wakes = WakeEcho::default();
        assert!(wakes.admit(t0, WakeSource::Notification));
        assert!(!wakes.admit(t0 + s(4), WakeSource::Clock), "the same wake");
        assert!(wakes.admit(t0 + s(60), WakeSource::Clock), "a later sleep");

        let mut wakes = WakeEcho::default();
        assert!(wakes.admit(t0, WakeSource::Clock));
        assert!(
            !wakes.admit(t0 + s(3), WakeSource::Notification),
            "the same wake"
        );
        wakes.will_sleep();
        assert!(
            wakes.admit(t0 + s(10), WakeSource::Notification),
            "announced anew"
        );

        let mut wakes = WakeEcho::default();
        assert!(wakes.admit(t0, WakeSource::Clock));
        assert!(
            wakes.admit(t0 + s(20), WakeSource::Clock),
            "one source is never filtered"
        );
    }
}
