//! A data folder for the real `bittrader-worker daemon`, shared by the sleep tests: a config
//! pointing at a "head" that is a TCP listener and at the fake `ray` (`tests/fake_ray/ray`), the
//! daemon started on it, and its control socket spoken directly (one JSON line in, one out).
//!
//! The daemon is stopped when its guard drops (`quit`, then SIGKILL) and every process group the
//! fake `ray` recorded is killed when the folder drops, so a failing test leaves no processes
//! behind.

#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// How often the test looks at the daemon.
const POLL: Duration = Duration::from_millis(100);

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// One `ray start` as the fake recorded it (see the script's header).
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub pid: u32,
    pub pgid: u32,
}

/// A data folder with a config pointing at a local "head" and the fake `ray`.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// A new folder, named `prefix` and a random suffix.
    pub fn new(prefix: &str) -> Home {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("tempdir");
        // The head: accepts and drops connections for the rest of the test process.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake head");
        let port = listener.local_addr().expect("head address").port();
        thread::spawn(move || loop {
            if listener.accept().is_err() {
                thread::sleep(Duration::from_millis(10));
            }
        });
        let ray = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_ray/ray");
        let config = format!(
            "head = \"127.0.0.1:{port}\"\n\
             cpus = 1\n\
             ray_path = {ray}\n\
             node_ip = \"auto\"\n\
             \n\
             [timing]\n\
             grace_secs = 30\n\
             probe_interval_ms = 300\n\
             probe_timeout_ms = 300\n\
             stop_grace_secs = 1\n",
            ray = toml::Value::String(ray.display().to_string()),
        );
        let home = Home { dir };
        fs::write(home.file("config.toml"), config).expect("write config.toml");
        fs::write(home.file("fake_ray.mode"), "join").expect("write fake_ray.mode");
        home
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    pub fn starts(&self) -> Vec<Start> {
        self.read("fake_ray.starts")
            .lines()
            .filter_map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                Some(Start {
                    pid: f.get(2)?.parse().ok()?,
                    pgid: f.get(3)?.parse().ok()?,
                })
            })
            .collect()
    }

    /// The daemon; with `Some(bus)`, logind is looked for at `bus` (a D-Bus address, through
    /// `BITTRADER_LOGIND_BUS`).
    pub fn daemon(&self, logind_bus: Option<&str>) -> Daemon<'_> {
        let out = fs::File::create(self.file("daemon.out")).expect("daemon.out");
        let err = out.try_clone().expect("daemon.out");
        let mut command = Command::new(BIN);
        command
            .arg("daemon")
            .env("BITTRADER_WORKER_HOME", self.dir.path())
            .env("BITTRADER_TAILSCALE", "/nonexistent");
        if let Some(bus) = logind_bus {
            command.env("BITTRADER_LOGIND_BUS", bus);
        }
        let child = command
            .env_remove("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start the daemon");
        Daemon { home: self, child }
    }

    /// One request on the control socket, as the CLI and the tray send it; `None` when nothing
    /// answers (not started yet, or gone).
    pub fn request(&self, request: &Value) -> Option<Value> {
        let mut stream = UnixStream::connect(self.file("control.sock")).ok()?;
        stream.set_read_timeout(Some(secs(10))).ok()?;
        stream.write_all(format!("{request}\n").as_bytes()).ok()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        serde_json::from_str(line.trim()).ok()
    }

    /// Sends a request that must succeed; returns the report after it.
    pub fn send(&self, request: Value) -> Value {
        let reply = self
            .request(&request)
            .unwrap_or_else(|| panic!("no answer to {request}\n{}", self.diagnostics()));
        assert_eq!(reply["ok"], true, "{request} was refused: {reply}");
        reply["report"].clone()
    }

    pub fn status(&self) -> Option<Value> {
        let reply = self.request(&json!({"cmd": "status"}))?;
        Some(reply["report"].clone())
    }

    pub fn diagnostics(&self) -> String {
        format!(
            "--- worker.log ---\n{}\n--- daemon.out ---\n{}\n--- fake_ray.starts ---\n{}",
            self.read("worker.log"),
            self.read("daemon.out"),
            self.read("fake_ray.starts"),
        )
    }

    /// Polls the status until `check` accepts it; fails with the last status and the logs.
    pub fn wait_status(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Some(status) = self.status() {
                if check(&status) {
                    return status;
                }
                last = Some(status);
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for: {what}\nlast status: {last:?}\n{}",
                self.diagnostics()
            );
            thread::sleep(POLL);
        }
    }

    pub fn wait_until(&self, what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !check() {
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for: {what}\nstatus: {:?}\n{}",
                self.status(),
                self.diagnostics()
            );
            thread::sleep(POLL);
        }
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        // Whatever the daemon failed to stop.
        for start in self.starts() {
            let _ = killpg(Pid::from_raw(start.pgid as i32), Signal::SIGKILL);
        }
    }
}

/// A running daemon: `quit` when dropped, then SIGKILL if it is still there.
pub struct Daemon<'a> {
    home: &'a Home,
    child: Child,
}

impl Drop for Daemon<'_> {
    fn drop(&mut self) {
        let _ = self.home.request(&json!({"cmd": "quit"}));
        let deadline = Instant::now() + secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn phase_of(status: &Value) -> &str {
    status["status"]["phase"].as_str().unwrap_or("")
}

pub fn worker_pid(status: &Value) -> Option<u64> {
    status["worker_pid"].as_u64()
}

/// Live (non-zombie) members of process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(out) = Command::new("ps")
        .args(["-A", "-o", "pid=,pgid=,stat="])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let pid: u32 = parts.next()?.parse().ok()?;
            let group: u32 = parts.next()?.parse().ok()?;
            let stat = parts.next().unwrap_or("");
            (group == pgid && !stat.starts_with('Z')).then_some(pid)
        })
        .collect()
}
