//! `bittrader-worker demo`: a throwaway Ray head on loopback, and the real supervisor joining
//! it, so a newcomer sees the whole cycle with no cluster. Everything lives in a temporary
//! data folder; Ctrl-C stops all that it started and touches nothing else.

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::{mpsc, watch};

use crate::config::{Config, NodeIp, Paths};

use crate::model::HeadAddress;
use crate::runtime::{self, NoNotifier};
use crate::service;

/// A Ray head we started, stopped (its whole process group) when dropped.
pub struct LocalHead {
    child: Child,
    /// Where it listens.
    pub address: HeadAddress,
}

impl LocalHead {
    /// Starts `ray start --head --block` on 127.0.0.1 at a free port and waits until it listens.
    pub fn start(ray: &Path, log: &Path) -> anyhow::Result<LocalHead> {
        let port = free_port()?;
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        use std::os::unix::process::CommandExt;
        let child = Command::new(ray)
            .args([
                "start",
                "--head",
                "--block",
                &format!("--port={port}"),
                "--node-ip-address=127.0.0.1",
                "--num-cpus=1",
                "--include-dashboard=false",
                "--disable-usage-stats",
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .with_context(|| {
                format!(
                    "could not run {}: install Ray first with `bittrader-worker setup`",
                    ray.display()
                )
            })?;
        let mut head = LocalHead {
            child,
            address: HeadAddress {
                host: "127.0.0.1".to_string(),
                port,
            },
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = head.child.try_wait() {
                bail!("the demo head exited ({status}); see {}", log.display());
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(head);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!(
            "the demo head did not start within 90 s; see {}",
            log.display()
        )
    }
}

impl Drop for LocalHead {
    fn drop(&mut self) {
        let group = Pid::from_raw(self.child.id() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Runs the demo until Ctrl-C.
pub fn run(user_paths: &Paths) -> anyhow::Result<()> {
    let user_config = Config::load_or_import(user_paths, service::machine_cpus())
        .ok()
        .map(|loaded| loaded.config);
    let ray = match &user_config {
        Some(config) => runtime::ray_executable(config, user_paths),
        None => {
            runtime::ray_executable(&Config::with_defaults(service::machine_cpus()), user_paths)
        }
    };
    let home = demo_home();
    std::fs::create_dir_all(&home)?;
    let paths = Paths { home: home.clone() };
    paths.ensure_home()?;
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
    let prepared = service::prepare(&paths)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
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
            prepared.config,
            mpsc::channel(16),
            status_tx,
            Box::new(NoNotifier),
            service::terminated(),
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
    result
}

fn demo_home() -> PathBuf {
    std::env::temp_dir().join(format!("bittrader-demo-{}", std::process::id()))
}
