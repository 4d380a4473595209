//! `bittrader-worker demo`: a throwaway Ray head on loopback joined by the real supervisor, so a
//! newcomer sees the whole cycle with no cluster, in a private temporary folder. The head's pid
//! file stays in the user's folder, so the next demo stops a head a crash left behind.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use tokio::sync::mpsc;

use crate::config::{Config, ConfigError, NodeIp, Paths};
use crate::local_head::{LocalHead, LocalHeadError, LEFTOVER_STOP_GRACE};
use crate::runtime::control::StatusReport;
use crate::runtime::platform::ray_executable;
use crate::runtime::NoNotifier;
use crate::service::instance::{self, InstanceError};
use crate::service::{self, StartError};
use crate::text::cli::{demo_line, summary, DemoStep};
use crate::text::log::Leftover;
use crate::text::Lang;

/// Why the demo could not run; the Display is the user's message.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("could not create the demo's folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Head(#[from] LocalHeadError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("another `bittrader-worker demo` is running (pid {pid}): stop it first (Ctrl-C)")]
    AlreadyRunning { pid: u32 },
}

pub fn run(user_paths: &Paths) -> Result<(), DemoError> {
    let user_config = Config::load_or_import(user_paths, service::machine_cpus())
        .ok()
        .map(|loaded| loaded.config);
    let ray = ray_executable(
        user_config.as_ref().and_then(|c| c.ray_path.as_ref()),
        user_paths,
    );
    let folder_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| DemoError::Folder { path, source }
    };
    user_paths
        .ensure_home()
        .map_err(folder_error(&user_paths.home))?;
    // One demo at a time per user (its pid file is in the user's folder, so no demo stops
    // another's head).
    let _one_demo = instance::acquire(&user_paths.home.join("demo.lock")).map_err(|e| match e {
        InstanceError::AlreadyRunning { pid } => DemoError::AlreadyRunning { pid },
        other => DemoError::Start(other.into()),
    })?;
    // Private from the start: the folder holds the head's auth token.
    let temp = tempfile::Builder::new()
        .prefix("bittrader-demo-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(folder_error(&std::env::temp_dir()))?;
    let paths = Paths {
        home: temp.path().to_path_buf(),
    };
    // Signals first: Ctrl-C from here on stops the worker and the head cleanly.
    let (runtime, shutdown) = service::runtime_and_shutdown()?;
    let pid_file = user_paths.home.join("demo-cli-head.pid");
    let lang = Lang::current();
    let leftover = service::stop_leftover(&pid_file, Leftover::DemoHead, LEFTOVER_STOP_GRACE, lang);
    if let Some(line) = runtime.block_on(leftover) {
        println!("{line}");
    }
    let folder = paths.home.display().to_string();
    let starting = DemoStep::Starting { folder: &folder };
    println!("{}", demo_line(lang, starting));
    let mut head = LocalHead::start(&ray, &paths.home, &pid_file)?;
    let config = Config {
        head: Some(head.address.clone()),
        cpus: service::machine_cpus().min(2),
        ray_path: Some(ray),
        node_ip: NodeIp::Fixed(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        auth_token_file: Some(head.auth_token_file.clone()),
        // A throwaway folder's run: the app itself looks for updates, once a day.
        check_updates: false,
        ..Config::with_defaults(service::machine_cpus())
    };
    config.save(&paths)?;
    let address = head.address.to_string();
    let joining = DemoStep::Joining {
        address: &address,
        folder: &folder,
    };
    println!("{}", demo_line(lang, joining));
    let prepared = service::prepare(&paths)?;
    // Every report the driver publishes carries its status.
    let print = move |report: StatusReport| {
        if let Some(status) = &report.status {
            println!("  {}", summary(lang, status));
        }
    };
    // The head ending ends the demo: its port is then anyone's to take.
    let head_gone = head.until_exited();
    let shutdown = async {
        tokio::select! {
            () = shutdown => {}
            () = head_gone => {}
        }
    };
    let serve = service::serve(
        paths,
        prepared,
        mpsc::channel(16),
        Box::new(NoNotifier),
        shutdown,
        None,
        print,
    );
    let result = runtime.block_on(serve);
    println!("{}", demo_line(lang, DemoStep::Stopping));
    let ended = head.exit();
    drop(head);
    if ended.is_some() {
        // Its log says why.
        let _ = temp.keep();
    }
    result?;
    ended.map_or(Ok(()), |ended| Err(ended.into()))
}
