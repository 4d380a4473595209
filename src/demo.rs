//! `bittrader-worker demo`: a throwaway Ray head on loopback, and the real supervisor joining
//! it, so a newcomer sees the whole cycle with no cluster. Everything lives in a temporary
//! data folder; Ctrl-C stops all that it started and touches nothing else.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use tokio::sync::{mpsc, watch};

use crate::config::{Config, ConfigError, NodeIp, Paths};
use crate::local_head::{LocalHead, LocalHeadError};
use crate::runtime::platform::ray_executable;
use crate::runtime::NoNotifier;
use crate::service::{self, StartError};

/// Why the demo could not run. The Display is the message for the user.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Its temporary folder could not be made.
    #[error("could not create the demo's folder {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The local head did not start.
    #[error(transparent)]
    Head(#[from] LocalHeadError),
    /// Its configuration could not be saved.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The supervisor did not start.
    #[error(transparent)]
    Start(#[from] StartError),
}

/// Runs the demo until Ctrl-C.
pub fn run(user_paths: &Paths) -> Result<(), DemoError> {
    let user_config = Config::load_or_import(user_paths, service::machine_cpus())
        .ok()
        .map(|loaded| loaded.config);
    let ray = ray_executable(
        user_config.as_ref().and_then(|c| c.ray_path.as_ref()),
        user_paths,
    );
    let home = demo_home();
    let folder_error = |source| DemoError::Folder {
        path: home.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&home).map_err(folder_error)?;
    let paths = Paths { home: home.clone() };
    paths.ensure_home().map_err(folder_error)?;
    println!("Starting a local Ray head (logs in {}) …", home.display());
    let head = LocalHead::start(&ray, &home.join("demo-head.log"))?;
    let config = Config {
        head: Some(head.address.clone()),
        cpus: service::machine_cpus().min(2),
        ray_path: Some(ray),
        node_ip: NodeIp::Fixed(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ..Config::with_defaults(service::machine_cpus())
    };
    config.save(&paths)?;
    println!("Head up at {}. Joining it as a worker …", head.address);
    println!(
        "In another terminal: BITTRADER_WORKER_HOME={} bittrader-worker status | pause | resume | cpus 1",
        home.display()
    );
    println!("Press Ctrl-C to stop the worker and the head.");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    // Signals first: Ctrl-C from here on stops the worker and the head cleanly.
    let shutdown = {
        let _entered = runtime.enter();
        service::terminated()
    };
    let prepared = service::prepare(&paths)?;
    let (status_tx, mut status_rx) = watch::channel(service::initial_report(&paths));
    let result = runtime.block_on(async {
        let printer = tokio::spawn(async move {
            while status_rx.changed().await.is_ok() {
                let summary = status_rx.borrow_and_update().summary.clone();
                println!("  {summary}");
            }
        });
        let result = service::serve(
            paths,
            prepared.loaded,
            mpsc::channel(16),
            status_tx,
            Box::new(NoNotifier),
            shutdown,
            false,
        )
        .await;
        printer.abort();
        result
    });
    println!("Stopping the demo head …");
    drop(head);
    drop(prepared.lock);
    let _ = std::fs::remove_dir_all(&home);
    Ok(result?)
}

fn demo_home() -> PathBuf {
    std::env::temp_dir().join(format!("bittrader-demo-{}", std::process::id()))
}
