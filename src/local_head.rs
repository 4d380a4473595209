//! A throwaway Ray head on loopback: the demo's, and the app's when no head is configured. Any
//! local user could join an open one and run code as us, so it uses Ray's token auth (2.52+); a
//! pid file lets the next start stop a head a crash of ours left running.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::model::HeadAddress;
use crate::platform::command::SharedChild;
use crate::runtime::worker::PidRecord;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Why the local head did not start; the Display is the user's message.
#[derive(Debug, thiserror::Error)]
pub enum LocalHeadError {
    /// Its log, token or pid file could not be written.
    #[error("could not create {path}: {source}")]
    Log {
        path: String,
        source: std::io::Error,
    },
    #[error("no free port on 127.0.0.1: {0}")]
    Port(std::io::Error),
    #[error("could not run {ray}: install Ray first with `bittrader-worker setup` ({source})")]
    Spawn { ray: String, source: std::io::Error },
    #[error("the demo head exited ({status}); see {log}")]
    Exited { status: String, log: String },
    #[error("the demo head did not start within {secs} s; see {log}")]
    TimedOut { secs: u64, log: String },
}

/// Ray's own start takes 3-9 s on a small machine.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// How long a head an earlier run left behind gets to stop.
pub const LEFTOVER_STOP_GRACE: Duration = Duration::from_secs(10);

/// How long our head gets to stop on a quit, once its worker has left: Ray's head takes some
/// 15 s to stop on SIGTERM, and a practice head holds nothing worth the wait.
const QUIT_GRACE: Duration = Duration::from_millis(500);

/// A Ray head we started, stopped (its whole process group) when dropped.
pub struct LocalHead {
    /// Its `ray start --block`, which exits when any process of the head does.
    child: SharedChild,
    pub address: HeadAddress,
    /// A worker joins with it.
    pub auth_token_file: PathBuf,
    pid_file: PathBuf,
    log: PathBuf,
    /// Which processes are its own, for the stop.
    record: PidRecord,
    /// Its Ray folder, deleted after it stops.
    _ray_temp: tempfile::TempDir,
}

impl LocalHead {
    /// Starts `ray start --head --block` on 127.0.0.1 at a free port, with token auth, and waits
    /// until it says it started. `folder` holds its log and token (private: 0700 and ours);
    /// `pid_file` stays at the same place from one run to the next.
    pub fn start(ray: &Path, folder: &Path, pid_file: &Path) -> Result<LocalHead, LocalHeadError> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .map_err(LocalHeadError::Port)?
            .port();
        let log = folder.join("demo-head.log");
        let write_error = |path: &Path| {
            let path = path.display().to_string();
            move |source| LocalHeadError::Log { path, source }
        };
        let mark = crate::runtime::worker::new_mark();
        let token = folder.join("demo-head.token");
        let secret = crate::runtime::worker::random_hex(32).map_err(write_error(&token))?;
        crate::atomic_file::write(&token, secret.as_bytes(), 0o600).map_err(write_error(&token))?;
        let out = std::fs::File::create(&log).map_err(write_error(&log))?;
        let ray_temp = crate::runtime::worker::private_temp_dir()
            .map_err(write_error(Path::new("/tmp/bittrader-ray-…")))?;
        let err = out.try_clone().map_err(write_error(&log))?;
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
            .arg({
                let dir = crate::runtime::worker::ray_temp_dir(ray_temp.path());
                format!("--temp-dir={}", dir.display())
            })
            .env("RAY_AUTH_MODE", "token")
            .env("RAY_AUTH_TOKEN_PATH", &token)
            // macOS's default (0) keeps a head on loopback, and a worker started by `ray start`
            // turns a loopback head address into this machine's routable one: it would never
            // reach the head. So the head listens as on Linux, behind its token.
            .env("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "1")
            .env(crate::runtime::worker::RUN_MARK, &mark)
            .env_remove("RAY_AUTH_TOKEN")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn_counted()
            .map_err(|source| LocalHeadError::Spawn {
                ray: ray.display().to_string(),
                source,
            })?;
        let record = PidRecord::of_started(child.id(), mark);
        let mut head = LocalHead {
            child: SharedChild::new(child),
            address: HeadAddress {
                host: "127.0.0.1".to_string(),
                port,
            },
            auth_token_file: token,
            pid_file: pid_file.to_path_buf(),
            log: log.clone(),
            record,
            _ray_temp: ray_temp,
        };
        // Dropping `head` on an error below stops it and removes the record.
        head.record.write(pid_file).map_err(write_error(pid_file))?;
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(exited) = head.exit() {
                return Err(exited);
            }
            // Its own word in its own log, not an answer on the port: the port is on its command
            // line, and another local user may listen there first (Ray then fails to start).
            if std::fs::read(&log).is_ok_and(|said| {
                String::from_utf8_lossy(&said)
                    .lines()
                    .any(crate::ray_output::is_joined_line)
            }) {
                return Ok(head);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(LocalHeadError::TimedOut {
            secs: START_TIMEOUT.as_secs(),
            log: log.display().to_string(),
        })
    }

    /// How it ended, if it did: its port is then anyone's, and a worker must not follow it there.
    pub fn exit(&mut self) -> Option<LocalHeadError> {
        let status = match self.child.ended()? {
            Ok(status) => status.to_string(),
            Err(e) => e.to_string(),
        };
        let log = self.log.display().to_string();
        Some(LocalHeadError::Exited { status, log })
    }

    /// Its process, for whoever must stop following it once it has ended.
    pub fn process(&self) -> SharedChild {
        self.child.clone()
    }

    /// Resolves once it has ended (looked at every second).
    pub async fn until_exited(&mut self) {
        while self.exit().is_none() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

impl Drop for LocalHead {
    fn drop(&mut self) {
        let group = Pid::from_raw(self.child.id() as i32);
        // Its group is ours only while the leader is unreaped; once reaped, what is left of it
        // is found by its mark below.
        if self.child.ended().is_none() {
            let _ = killpg(group, Signal::SIGTERM);
            self.child.wait_timeout(QUIT_GRACE);
            let _ = killpg(group, Signal::SIGKILL);
        }
        // Its task workers, in groups of their own, carry its mark too.
        crate::runtime::worker::kill_tree(&crate::platform::SystemProcesses, &self.record, &[]);
        self.child.wait();
        let _ = std::fs::remove_file(&self.pid_file);
        let _ = std::fs::remove_file(&self.auth_token_file);
    }
}
