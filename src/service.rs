//! Runs one supervisor for this user: lock, orphan check, control socket, driver, clean exit.
//! The headless daemon and the menu-bar app both start here.

use std::future::Future;

use anyhow::Context;
use tokio::sync::{mpsc, watch};

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Config, LoadOutcome, Paths};
use crate::local_head::LocalHead;
use crate::platform::SystemProcesses;
use crate::runtime::control::{self, Pending, StatusReport};
use crate::runtime::log::RotatingLog;
use crate::runtime::platform::ray_executable;
use crate::runtime::probe::TailscaleCli;
use crate::runtime::{self, instance, machine, worker, DriverOptions, Notifier, SystemPlatform};

/// This machine's logical CPUs: the most that may be offered.
pub fn machine_cpus() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

/// The empty report shown before the supervisor's first step.
pub fn initial_report(paths: &Paths) -> StatusReport {
    StatusReport {
        summary: "Starting".to_string(),
        status: None,
        pid: std::process::id(),
        worker_pid: None,
        node_ip: None,
        log_file: paths.log_file().display().to_string(),
        processes_spawned: crate::platform::command::processes_spawned(),
        power: None,
    }
}

/// Everything that must hold before a supervisor may run: the data folder, the
/// single-instance lock, no old bash daemon, a readable configuration.
pub struct Prepared {
    /// Held for the life of the supervisor.
    pub lock: instance::InstanceLock,
    /// The loaded (or imported) configuration, with what importing the old `config.env`
    /// skipped or adjusted (for the log).
    pub loaded: LoadOutcome,
}

/// Takes the lock and loads the configuration, or says why not.
pub fn prepare(paths: &Paths) -> anyhow::Result<Prepared> {
    paths
        .ensure_home()
        .with_context(|| format!("creating {}", paths.home.display()))?;
    let lock = instance::acquire(&paths.lock_file())?;
    instance::check_no_legacy_daemon(&SystemProcesses)?;
    let loaded = Config::load_or_import(paths, machine_cpus())?;
    Ok(Prepared { lock, loaded })
}

/// Serves the control socket and runs the driver until `shutdown` or a `quit`.
///
/// With `demo_if_unconfigured` and no head in the configuration, a throwaway local Ray head is
/// started on loopback and joined (never saved): the app shows the whole cycle out of the box,
/// and choosing a real head from the menu moves the worker there.
pub async fn serve(
    paths: Paths,
    loaded: LoadOutcome,
    requests: (mpsc::Sender<Pending>, mpsc::Receiver<Pending>),
    status: watch::Sender<StatusReport>,
    notifier: Box<dyn Notifier>,
    shutdown: impl Future<Output = ()>,
    demo_if_unconfigured: bool,
) -> anyhow::Result<()> {
    let (requests_tx, requests_rx) = requests;
    let LoadOutcome { config, notes, .. } = loaded;
    // What loading the configuration found (an import of the old install) comes first.
    let mut startup_lines = notes;
    match worker::stop_orphan(
        &paths.worker_pid_file(),
        &SystemProcesses,
        Duration::from_secs(config.timing.stop_grace_secs),
    )
    .await
    {
        worker::Orphan::Stopped { pid } => startup_lines.push(format!(
            "🧹 Stopped the worker (pid {pid}) left behind by an earlier run"
        )),
        worker::Orphan::Stale { pid } => startup_lines.push(format!(
            "Left pid {pid} alone: it is no longer the worker an earlier run started"
        )),
        worker::Orphan::None => {}
    }
    let demo = if demo_if_unconfigured && config.head.is_none() {
        let ray = ray_executable(config.ray_path.as_ref(), &paths);
        let log = paths.home.join("demo-head.log");
        match tokio::task::spawn_blocking(move || LocalHead::start(&ray, &log)).await {
            Ok(Ok(head)) => Some(head),
            Ok(Err(e)) => {
                startup_lines.push(format!(
                    "No head is configured and the demo head could not start: {e:#}"
                ));
                None
            }
            Err(_) => None,
        }
    } else {
        None
    };
    let connections = control::serve(&paths.socket(), requests_tx)
        .with_context(|| format!("opening the control socket {}", paths.socket().display()))?;
    let socket = paths.socket();
    let form_factor = tokio::task::spawn_blocking(crate::platform::detect_form_factor)
        .await
        .unwrap_or(crate::platform::FormFactor::Unknown);
    let mobile = machine::is_mobile(config.mode, form_factor);
    startup_lines.push(format!(
        "💻 {} mode ({form_factor:?})",
        if mobile { "Mobile" } else { "Desktop" }
    ));
    let ray_log = Arc::new(Mutex::new(RotatingLog::new(
        paths.ray_log_file(),
        runtime::LOG_MAX_BYTES,
    )));
    let mut platform =
        SystemPlatform::new(paths.clone(), &config, TailscaleCli::discover(), ray_log);
    if let Some(head) = &demo {
        // The demo head listens on loopback only: with Tailscale up, the worker would announce
        // its 100.x address to it.
        platform.pin_node_ip(head.address.clone(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let options = DriverOptions {
        settings: runtime::settings_from(&config, mobile),
        paths,
        config,
        machine_cpus: machine_cpus(),
        demo_head: demo.as_ref().map(|head| head.address.clone()),
        startup_lines,
    };
    runtime::run(platform, options, requests_rx, status, notifier, shutdown).await;
    if let Some(head) = demo {
        // Stopping it waits for its processes: not on the runtime's thread.
        let _ = tokio::task::spawn_blocking(move || drop(head)).await;
    }
    let _ = std::fs::remove_file(socket);
    // The answer to `quit` is written by its connection's task: let it go out before the
    // runtime is dropped, or the CLI reads EOF instead of "Stopped.".
    connections.finish(std::time::Duration::from_secs(2)).await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (launchd and systemd stop services with SIGTERM).
pub async fn terminated() {
    let sigterm = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sigterm => {}
    }
}

/// `bittrader-worker daemon`: the supervisor without a tray, until Ctrl-C, SIGTERM or `quit`.
pub fn run_daemon(paths: Paths) -> anyhow::Result<()> {
    let prepared = prepare(&paths)?;
    // One thread is plenty: the driver waits on timers, sockets and a child process.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (status_tx, _status_rx) = watch::channel(initial_report(&paths));
    let result = runtime.block_on(serve(
        paths,
        prepared.loaded,
        mpsc::channel(16),
        status_tx,
        Box::new(runtime::NoNotifier),
        terminated(),
        false,
    ));
    drop(prepared.lock);
    result
}
