//! Runs one supervisor for this user: lock, orphan check, control socket, driver, clean exit.
//! The headless daemon, the demo and the menu-bar app all start here.

pub mod instance;
pub mod logs;

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::{Config, ConfigError, LoadOutcome, Paths};
use crate::local_head::{self, LocalHead};
use crate::platform::{FormFactor, ProcessTable, SystemProcesses};
use crate::runtime::control::{self, Pending, StatusReport};
use crate::runtime::log::{RotatingLog, LOG_MAX_BYTES};
use crate::runtime::platform::locate_ray;
use crate::runtime::worker::{self, Orphan};
use crate::runtime::{self, DriverOptions, Notifier, SleepLink, SystemPlatform};
use crate::supervisor::Settings;
use crate::tailscale::cli::TailscaleCli;
use crate::text::log::{self, Leftover};
use crate::text::menu::{self, MenuWord};
use crate::text::Lang;

/// Why the supervisor could not start. The Display is the message for the user: what
/// happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not use the folder {path}: {source}")]
    Home { path: String, source: io::Error },
    /// Another instance runs, the old daemon runs, or the lock file is unusable.
    #[error(transparent)]
    Instance(#[from] instance::InstanceError),
    /// `config.toml` (or the old `config.env`) says something it may not.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not open the control socket {path}: {source}")]
    Socket { path: String, source: io::Error },
    #[error("could not start the supervisor: {0}")]
    Runtime(io::Error),
    /// The menu-bar app on Linux without X11 or Wayland.
    #[error("no display for the menu-bar icon. Use `bittrader-worker daemon` (headless) or `bittrader-worker demo`.")]
    NoDisplay,
}

impl StartError {
    /// Another instance already runs: not a failure of this start (launchd's RunAtLoad beside
    /// a running app, a second double-click), so it is reported quietly.
    pub fn is_already_running(&self) -> bool {
        matches!(
            self,
            StartError::Instance(instance::InstanceError::AlreadyRunning { .. })
        )
    }
}

/// Writes `line` to `worker.log` (if the folder exists) and to standard error.
pub fn note_startup(paths: &Paths, line: &str) {
    eprintln!("bittrader-worker: {line}");
    let mut log = RotatingLog::new(paths.log_file(), LOG_MAX_BYTES);
    let _ = log.line(line);
}

/// Tells the user why the app could not start, where they will see it with no terminal: a
/// native alert (which waits until it is dismissed), `worker.log` and standard error.
pub fn report_startup_failure(paths: Option<&Paths>, message: &str) {
    let lang = Lang::current();
    let line = log::startup_failed_line(lang, message);
    match paths {
        Some(paths) => note_startup(paths, &line),
        None => eprintln!("bittrader-worker: {line}"),
    }
    crate::platform::alert::show(
        menu::word(lang, MenuWord::StartupFailed),
        &menu::startup_failed_body(lang, message),
    );
}

/// This machine's logical CPUs: the most that may be offered.
pub fn machine_cpus() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

/// Everything that must hold before a supervisor may run: the data folder, the
/// single-instance lock, no old bash daemon, a readable configuration.
pub struct Prepared {
    /// Held until the supervisor ends.
    pub lock: instance::InstanceLock,
    /// With what importing the old `config.env` skipped or adjusted (for the log).
    pub loaded: LoadOutcome,
}

/// Takes the lock and loads the configuration, or says why not.
pub fn prepare(paths: &Paths) -> Result<Prepared, StartError> {
    paths.ensure_home().map_err(|source| StartError::Home {
        path: paths.home.display().to_string(),
        source,
    })?;
    let lock = instance::acquire(&paths.lock_file())?;
    crate::atomic_file::remove_stale_temp_files(&paths.home);
    instance::check_no_legacy_daemon(&SystemProcesses.list())?;
    let loaded = Config::load_or_import(paths, machine_cpus())?;
    Ok(Prepared { lock, loaded })
}

/// Stops what an earlier run of ours left behind (its pid file at `pid_file`), within
/// `grace`; what was found, for the log.
pub async fn stop_leftover(
    pid_file: &Path,
    what: Leftover,
    grace: Duration,
    lang: Lang,
) -> Option<String> {
    match worker::stop_orphan(pid_file, &SystemProcesses, grace).await {
        Orphan::Stopped { pid } => Some(log::orphan_line(lang, what, pid, true)),
        Orphan::Stale { pid } => Some(log::orphan_line(lang, what, pid, false)),
        Orphan::None => None,
    }
}

/// What the menu-bar app asks of a run besides what the daemon does.
pub struct MenuBar {
    /// macOS: where the driver hands out the link for the sleep notifications the app observes
    /// (`None`: the platform watches them).
    pub sleep_link: Option<Arc<OnceLock<SleepLink>>>,
}

/// Serves the control socket and runs the driver until `shutdown` or a `quit`, handing each new
/// state to `on_status`. For the menu-bar app (`menu_bar`) with no head configured, a throwaway
/// local head is started and joined (never saved), so the app shows the whole cycle out of the
/// box and a real head chosen from the menu moves the worker there.
pub async fn serve(
    paths: Paths,
    prepared: Prepared,
    (requests_tx, requests_rx): (mpsc::Sender<Pending>, mpsc::Receiver<Pending>),
    notifier: Box<dyn Notifier>,
    shutdown: impl Future<Output = ()>,
    menu_bar: Option<MenuBar>,
    mut on_status: impl FnMut(StatusReport) + Send + 'static,
) -> Result<(), StartError> {
    let Prepared { lock, loaded } = prepared;
    let LoadOutcome { config, notes, .. } = loaded;
    let lang = Lang::current();
    // The start itself, then what loading the configuration found (an import of the old
    // install), then what an earlier run left behind: its worker, and a demo head a crash of
    // ours left running (the instance lock makes it no other's).
    let mut startup_lines = vec![log::daemon_started_line(lang).to_string()];
    startup_lines.extend(notes);
    let grace = Duration::from_secs(config.timing.stop_grace_secs);
    let worker_pid_file = paths.worker_pid_file();
    let worker_left = stop_leftover(&worker_pid_file, Leftover::Worker, grace, lang);
    startup_lines.extend(worker_left.await);
    let head_pid_file = paths.home.join("demo-head.pid");
    let grace = local_head::LEFTOVER_STOP_GRACE;
    let head_left = stop_leftover(&head_pid_file, Leftover::DemoHead, grace, lang);
    startup_lines.extend(head_left.await);
    // Looked for once, off the loop (see `locate_ray`); the demo head runs it.
    let ray = locate_ray(config.ray_path.clone(), paths.clone()).await;
    let mut demo = None;
    if menu_bar.is_some() && config.head.is_none() {
        let folder = paths.home.clone();
        let start = move || LocalHead::start(&ray, &folder, &head_pid_file);
        match tokio::task::spawn_blocking(start).await {
            Ok(Ok(head)) => demo = Some(head),
            Ok(Err(e)) => startup_lines.push(log::demo_head_failed_line(lang, &format!("{e:#}"))),
            Err(_) => {}
        }
    }
    let socket = paths.socket();
    let connections =
        control::serve(&socket, requests_tx).map_err(|source| StartError::Socket {
            path: socket.display().to_string(),
            source,
        })?;
    let (form_factor, model) = tokio::task::spawn_blocking(|| {
        (
            crate::platform::detect_form_factor(),
            crate::platform::machine_model(),
        )
    })
    .await
    .unwrap_or((FormFactor::Unknown, None));
    let settings = Settings::from_config(&config, form_factor == FormFactor::Laptop);
    let mobile = settings.laptop.mobile;
    let detail = model.unwrap_or_else(|| log::form_factor_words(lang, form_factor).to_string());
    startup_lines.push(log::machine_line(lang, mobile, &detail));
    let ray_log = runtime::log::shared(paths.ray_log_file());
    let mut platform =
        SystemPlatform::new(paths.clone(), &config, TailscaleCli::discover(), ray_log);
    if let Some(head) = &demo {
        let token = head.auth_token_file.clone();
        platform.pin_local_head(head.address.clone(), token, head.process());
    }
    let session = platform.ray_session_logs();
    if let Err(e) = logs::link(
        &paths,
        session.as_deref(),
        logs::console_link(&paths).as_deref(),
    ) {
        startup_lines.push(log::warning_line(&format!(
            "{}: {e}",
            paths.logs_dir().display()
        )));
    }
    // Nobody reads the first value: the driver's first step replaces it.
    let (status, mut reports) = watch::channel(StatusReport::default());
    let forward = tokio::spawn(async move {
        while reports.changed().await.is_ok() {
            let report = reports.borrow_and_update().clone();
            on_status(report);
        }
    });
    let options = DriverOptions {
        first_run_offered: paths.first_run_offer_file().exists(),
        settings,
        paths,
        config,
        machine_cpus: machine_cpus(),
        demo_head: demo.as_ref().map(|head| head.address.clone()),
        startup_lines,
        show_cluster: menu_bar.is_some(),
        sleep_link: menu_bar.and_then(|menu_bar| menu_bar.sleep_link),
    };
    runtime::run(platform, options, requests_rx, status, notifier, shutdown).await;
    forward.abort();
    if let Some(head) = demo {
        // Stopping it waits for its processes: not on the runtime's thread.
        let _ = tokio::task::spawn_blocking(move || drop(head)).await;
    }
    let _ = std::fs::remove_file(socket);
    // The answer to `quit` is written by its connection's task: let it go out before the
    // runtime is dropped, or the CLI reads EOF instead of "Stopped.".
    connections.finish(Duration::from_secs(2)).await;
    drop(lock);
    Ok(())
}

/// A one-thread runtime (the driver waits on timers, sockets and a child), and a future that
/// resolves on SIGINT, SIGTERM (launchd, systemd, macOS at logout) or SIGHUP. The handlers are
/// installed now: call this before anything slow, so that a signal meanwhile is a clean stop,
/// not the default death that would leave the worker behind.
pub fn runtime_and_shutdown(
) -> Result<(tokio::runtime::Runtime, impl Future<Output = ()>), StartError> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // The minute's CPU reading and history save run on a blocking thread: kept from one
        // minute to the next rather than made anew each time.
        .thread_keep_alive(Duration::from_secs(90))
        .build()
        .map_err(StartError::Runtime)?;
    let entered = runtime.enter();
    let handler = |kind| signal(kind).map_err(StartError::Runtime);
    let mut interrupt = handler(SignalKind::interrupt())?;
    let mut terminate = handler(SignalKind::terminate())?;
    let mut hangup = handler(SignalKind::hangup())?;
    drop(entered);
    let shutdown = async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
            _ = hangup.recv() => {}
        }
    };
    Ok((runtime, shutdown))
}

/// `bittrader-worker daemon`: the supervisor without a tray, until Ctrl-C, SIGTERM or `quit`.
pub fn run_daemon(paths: Paths) -> Result<(), StartError> {
    // Held until the daemon returns: App Nap would stretch the supervisor's timers.
    let _app_nap = crate::platform::app_nap::disable_app_nap();
    let (runtime, shutdown) = runtime_and_shutdown()?;
    let prepared = prepare(&paths)?;
    runtime.block_on(serve(
        paths,
        prepared,
        mpsc::channel(16),
        Box::new(runtime::NoNotifier),
        shutdown,
        None,
        |_| {},
    ))
}
