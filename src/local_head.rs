//! A throwaway Ray head on loopback: the demo's, and the app's when no head is configured.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::model::HeadAddress;

/// Why the local head did not start. The Display is the message for the user.
#[derive(Debug, thiserror::Error)]
pub enum LocalHeadError {
    /// Its log file could not be created.
    #[error("could not create {path}: {source}")]
    Log {
        /// The log file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No free port on loopback.
    #[error("no free port on 127.0.0.1: {0}")]
    Port(std::io::Error),
    /// `ray` could not be run.
    #[error("could not run {ray}: install Ray first with `bittrader-worker setup` ({source})")]
    Spawn {
        /// The `ray` tried.
        ray: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// It exited before it listened.
    #[error("the demo head exited ({status}); see {log}")]
    Exited {
        /// How it ended.
        status: String,
        /// Its log file.
        log: String,
    },
    /// It did not listen in time.
    #[error("the demo head did not start within {secs} s; see {log}")]
    TimedOut {
        /// How long it was given.
        secs: u64,
        /// Its log file.
        log: String,
    },
}

/// How long a local head is given to listen (Ray's own start takes 3-9 s on a small machine).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A Ray head we started, stopped (its whole process group) when dropped.
pub struct LocalHead {
    child: Child,
    /// Where it listens.
    pub address: HeadAddress,
}

impl LocalHead {
    /// Starts `ray start --head --block` on 127.0.0.1 at a free port and waits until it listens.
    pub fn start(ray: &Path, log: &Path) -> Result<LocalHead, LocalHeadError> {
        let port = free_port().map_err(LocalHeadError::Port)?;
        let log_error = |source| LocalHeadError::Log {
            path: log.display().to_string(),
            source,
        };
        let out = std::fs::File::create(log).map_err(log_error)?;
        let err = out.try_clone().map_err(log_error)?;
        use crate::platform::command::CountedSpawn;
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
            .spawn_counted()
            .map_err(|source| LocalHeadError::Spawn {
                ray: ray.display().to_string(),
                source,
            })?;
        let mut head = LocalHead {
            child,
            address: HeadAddress {
                host: "127.0.0.1".to_string(),
                port,
            },
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = head.child.try_wait() {
                return Err(LocalHeadError::Exited {
                    status: status.to_string(),
                    log: log.display().to_string(),
                });
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(head);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(LocalHeadError::TimedOut {
            secs: START_TIMEOUT.as_secs(),
            log: log.display().to_string(),
        })
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

fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
