//! One test's world around the real `bittrader-worker` binary: a data folder
//! (`BITTRADER_WORKER_HOME`) with a config pointing at a [`FakeHead`] and at the fake `ray`
//! (`tests/fake_ray/ray`), the daemon (or the tray app) started on it, and the CLI and the
//! control socket to speak to it.
//!
//! Nothing waits a fixed time for something to happen: [`Home::wait_status`] and
//! [`Home::wait_until`] poll until a deadline and fail with the last status and the tails of the
//! logs. Every daemon is stopped when its guard drops (`quit`, then SIGKILL), and every process
//! group the fake `ray` recorded is killed when the home drops, so a failing test leaves no
//! processes behind.
//!
//! The fake `ray` reads its behaviour from `fake_ray.mode` in the home at each start and records
//! each start in `fake_ray.starts` (see the script's header).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::thread;
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::head::FakeHead;
use crate::process::{alive, group_members, run_with_timeout, Proc};
use crate::{poll, secs, tests_dir};

/// Probe cadence while the head is reachable (the config's minimum is 200).
pub const PROBE_INTERVAL_MS: u64 = 300;
pub const PROBE_TIMEOUT_MS: u64 = 300;
pub const STOP_GRACE_SECS: u64 = 1;

/// How often the tests look at the daemon.
pub const POLL: Duration = Duration::from_millis(100);

/// tests/fake_ray/ray
pub fn fake_ray() -> PathBuf {
    tests_dir().join("fake_ray/ray")
}

pub fn machine_cpus() -> u32 {
    thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

/// What a [`Home`] is made with.
pub struct Options {
    /// The start of the folder's name (a random suffix follows).
    pub prefix: &'static str,
    /// The fake ray's behaviour (`fake_ray.mode`).
    pub mode: &'static str,
    pub cpus: u32,
    pub grace_secs: u64,
    /// `None`: the fake ray.
    pub ray_path: Option<PathBuf>,
    /// `tailscale status --json` output for tests/fake_tailscale; `None`: no Tailscale.
    pub tailscale_json: Option<&'static str>,
    /// The releases feed, asked a second after start; `None`: updates are not checked, so
    /// that no test asks the project's real feed.
    pub updates_feed: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            prefix: "bw-driver-",
            mode: "join",
            cpus: machine_cpus().min(2),
            grace_secs: 30,
            ray_path: None,
            tailscale_json: None,
            updates_feed: None,
        }
    }
}

/// One `ray start` as the fake recorded it.
#[derive(Debug, Clone)]
pub struct Start {
    /// Seconds since the epoch.
    pub at: f64,
    pub pid: u32,
    pub pgid: u32,
    /// The stand-in raylet (`join` and `ignore_term` modes).
    pub raylet: Option<u32>,
    /// `$RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`, or `unset`.
    pub osx_cluster: String,
    pub args: Vec<String>,
}

/// A data folder with a config pointing at its own fake head and the fake `ray`.
pub struct Home {
    // Dropped in this order: the head first, the folder last.
    pub head: FakeHead,
    dir: tempfile::TempDir,
    /// The `bittrader-worker` binary.
    bin: PathBuf,
}

impl Home {
    /// A new folder; `bin` is the `bittrader-worker` binary
    /// (`env!("CARGO_BIN_EXE_bittrader-worker")`).
    pub fn new(bin: impl AsRef<Path>, options: Options) -> Home {
        let dir = tempfile::Builder::new()
            .prefix(options.prefix)
            .tempdir()
            .expect("tempdir");
        let head = FakeHead::start();
        let home = Home {
            head,
            dir,
            bin: bin.as_ref().to_path_buf(),
        };
        let ray = options.ray_path.clone().unwrap_or_else(fake_ray);
        let updates = match &options.updates_feed {
            Some(feed) => format!("updates_feed = {}\n", toml::Value::String(feed.clone())),
            None => "check_updates = false\n".to_string(),
        };
        let config = format!(
            "head = \"127.0.0.1:{port}\"\n\
             cpus = {cpus}\n\
             ray_path = {ray}\n\
             node_ip = \"auto\"\n\
             {updates}\
             \n\
             [timing]\n\
             grace_secs = {grace}\n\
             probe_interval_ms = {PROBE_INTERVAL_MS}\n\
             probe_timeout_ms = {PROBE_TIMEOUT_MS}\n\
             stop_grace_secs = {STOP_GRACE_SECS}\n\
             first_update_check_secs = 1\n",
            port = home.port(),
            cpus = options.cpus,
            ray = toml::Value::String(ray.display().to_string()),
            grace = options.grace_secs,
        );
        fs::write(home.file("config.toml"), config).expect("write config.toml");
        home.set_mode(options.mode);
        if let Some(json) = options.tailscale_json {
            fs::write(home.file("tailscale.json"), json).expect("write tailscale.json");
        }
        home
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// The head's port.
    pub fn port(&self) -> u16 {
        self.head.port()
    }

    pub fn set_mode(&self, mode: &str) {
        fs::write(self.file("fake_ray.mode"), mode).expect("write fake_ray.mode");
    }

    /// A file of the folder, empty when it does not exist.
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.file(name)).unwrap_or_default()
    }

    /// The last `n` lines of a file of the folder.
    pub fn tail(&self, name: &str, n: usize) -> String {
        let text = self.read(name);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    pub fn config(&self) -> toml::Table {
        let text = self.read("config.toml");
        text.parse()
            .unwrap_or_else(|e| panic!("config.toml does not parse: {e}\n{text}"))
    }

    pub fn starts(&self) -> Vec<Start> {
        self.read("fake_ray.starts")
            .lines()
            .map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                assert_eq!(f.len(), 7, "bad start line: {line:?}");
                assert_eq!(f[0], "start", "{line:?}");
                Start {
                    at: f[1].replace(',', ".").parse().expect("time"),
                    pid: f[2].parse().expect("pid"),
                    pgid: f[3].parse().expect("pgid"),
                    raylet: f[4].parse().ok(),
                    osx_cluster: f[5].to_string(),
                    args: f[6].split(' ').map(str::to_string).collect(),
                }
            })
            .collect()
    }

    /// [`Home::starts`] that never panics (for Drop).
    fn starts_lenient(&self) -> Vec<Start> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.starts())).unwrap_or_default()
    }

    /// `bittrader-worker ARGS…` on this folder, with no Tailscale (or the fake one, when the
    /// folder has a status for it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(args)
            .env("BITTRADER_WORKER_HOME", self.path())
            .env("BITTRADER_TAILSCALE", self.tailscale())
            .env("FAKE_TAILSCALE_JSON", self.file("tailscale.json"))
            // The tests read its words in English whatever the machine's language
            // (tests/language.rs sets its own).
            .env("LC_ALL", "en_US.UTF-8")
            // The daemon must set it for the worker itself.
            .env_remove("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
            .env("NO_COLOR", "1");
        command
    }

    /// The fake `tailscale` when this home has a status for it, else a path that does not exist.
    fn tailscale(&self) -> PathBuf {
        if self.file("tailscale.json").exists() {
            tests_dir().join("fake_tailscale/tailscale")
        } else {
            PathBuf::from("/nonexistent")
        }
    }

    /// Runs the CLI (`status`, `pause`, …) against this home.
    pub fn cli(&self, args: &[&str]) -> Output {
        run_with_timeout(self.command(args), secs(20))
            .unwrap_or_else(|e| panic!("`bittrader-worker {}`: {e}", args.join(" ")))
    }

    /// The daemon's report as `status --json` prints it, `None` when it does not answer. Asked
    /// on the control socket, so that a test polling it starts no process.
    pub fn status(&self) -> Option<Value> {
        let reply = self.request(&serde_json::json!({ "cmd": "status" }))?;
        (reply["ok"] == true).then(|| reply["report"].clone())
    }

    /// One request on the control socket, as the CLI and the tray send it (one JSON line in,
    /// one out); `None` when nothing answers (not started yet, or gone).
    pub fn request(&self, request: &Value) -> Option<Value> {
        let mut stream = UnixStream::connect(self.file("control.sock")).ok()?;
        stream.set_read_timeout(Some(secs(10))).ok()?;
        stream.write_all(format!("{request}\n").as_bytes()).ok()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        serde_json::from_str(line.trim()).ok()
    }

    /// Sends a request on the control socket that must succeed; returns the report after it.
    pub fn send(&self, request: Value) -> Value {
        let reply = self
            .request(&request)
            .unwrap_or_else(|| panic!("no answer to {request}\n{}", self.diagnostics()));
        assert_eq!(reply["ok"], true, "{request} was refused: {reply}");
        reply["report"].clone()
    }

    /// `bittrader-worker daemon` on this folder, its output in `daemon.out`.
    pub fn daemon(&self) -> Daemon {
        self.spawn("the daemon", self.command(&["daemon"]), "daemon.out")
    }

    /// Starts `command` (from [`Home::command`]: the daemon, or the app), its output appended
    /// to `log` in the folder; `quit` stops it.
    pub fn spawn(&self, name: &'static str, command: Command, log: &str) -> Daemon {
        Daemon {
            proc: Proc::spawn(name, command, &self.file(log)),
            quit: self.command(&["quit"]),
        }
    }

    /// What to show when something did not happen: the status now and the tails of the logs.
    pub fn diagnostics(&self) -> String {
        self.diagnostics_after(self.status().as_ref())
    }

    /// [`Home::diagnostics`] with `last` as the status.
    fn diagnostics_after(&self, last: Option<&Value>) -> String {
        let last = match last {
            Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
            None => "(no answer)".to_string(),
        };
        format!(
            "last status: {last}\n--- worker.log (tail) ---\n{}\n--- ray-worker.out (tail) ---\n{}\n\
             --- daemon.out ---\n{}\n--- fake_ray.starts ---\n{}",
            self.tail("worker.log", 30),
            self.tail("ray-worker.out", 15),
            self.tail("daemon.out", 15),
            self.read("fake_ray.starts"),
        )
    }

    /// Polls the status until `check` accepts it; fails with the last status and the logs.
    pub fn wait_status(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Value) -> bool,
    ) -> Value {
        let mut last = None;
        let found = poll(timeout, POLL, || {
            let status = self.status()?;
            if check(&status) {
                return Some(status);
            }
            last = Some(status);
            None
        });
        found.unwrap_or_else(|| {
            panic!(
                "timed out after {timeout:?} waiting for: {what}\n{}",
                self.diagnostics_after(last.as_ref())
            )
        })
    }

    /// Polls `check` until it holds; fails with the last status and the logs.
    pub fn wait_until(&self, what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
        if poll(timeout, POLL, || check().then_some(())).is_none() {
            panic!(
                "timed out after {timeout:?} waiting for: {what}\n{}",
                self.diagnostics()
            );
        }
    }

    pub fn wait_phase(&self, phase: &str, timeout: Duration) -> Value {
        self.wait_status(&format!("phase `{phase}`"), timeout, |s| {
            phase_of(s) == phase
        })
    }

    /// Connected, and with a worker other than `old`.
    pub fn wait_connected_anew(&self, old: Option<u32>, timeout: Duration) -> Value {
        self.wait_status(
            &format!("phase `connected` with a worker other than {old:?}"),
            timeout,
            |s| phase_of(s) == "connected" && worker_pid(s).is_some() && worker_pid(s) != old,
        )
    }

    pub fn assert_gone(&self, what: &str, pid: u32, timeout: Duration) {
        self.wait_until(
            &format!("{what} (pid {pid}) and its process group to be gone"),
            timeout,
            || !alive(pid) && group_members(pid).is_empty(),
        );
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        // Whatever the daemon failed to stop (the test failed, or it was killed on purpose).
        for start in self.starts_lenient() {
            let _ = killpg(Pid::from_raw(start.pgid as i32), Signal::SIGKILL);
            if let Some(raylet) = start.raylet {
                let _ = kill(Pid::from_raw(raylet as i32), Signal::SIGKILL);
            }
        }
    }
}

/// A running daemon (or app). Dropping it sends `quit`, then SIGKILL if it is still there.
pub struct Daemon {
    proc: Proc,
    quit: Command,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    pub fn running(&mut self) -> bool {
        self.proc.running()
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.proc.wait_exit(timeout)
    }

    /// SIGKILL, as a crash would: the worker is left behind.
    pub fn kill_hard(&mut self) {
        self.proc.kill();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if !self.running() {
            return;
        }
        let quit = std::mem::replace(&mut self.quit, Command::new("true"));
        let _ = run_with_timeout(quit, secs(10));
        if self.wait_exit(secs(5)).is_none() {
            eprintln!("{} did not quit: SIGKILL", self.proc.name());
            self.kill_hard();
        }
    }
}

pub fn phase_of(status: &Value) -> &str {
    status["status"]["phase"].as_str().unwrap_or("")
}

pub fn worker_pid(status: &Value) -> Option<u32> {
    status["worker_pid"].as_u64().map(|p| p as u32)
}

pub fn summary(status: &Value) -> &str {
    status["summary"].as_str().unwrap_or("")
}
