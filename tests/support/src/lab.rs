//! The two-host lab (tests/lab/lab.sh) as the real-Ray tests use it: running lab.sh, the Ray
//! under test, the loud skip where a lab is impossible, the head's view of the nodes, the guard
//! that takes the lab down, and the daemon running in the laptop host.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::wait_or_kill;
use crate::{poll, secs, tests_dir};

/// The head host's address (lab.sh).
pub const HEAD: &str = "100.64.0.1";
/// The laptop host's address (lab.sh).
pub const LAPTOP: &str = "100.64.0.2";

/// tests/lab/
pub fn lab_dir() -> PathBuf {
    tests_dir().join("lab")
}

/// The Ray under test (`BITTRADER_TEST_RAY`, set by scripts/test).
pub fn ray() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("BITTRADER_TEST_RAY")?);
    path.is_file().then_some(path)
}

/// The Ray the laptop's worker runs: `BITTRADER_TEST_WORKER_RAY` (scripts/test makes it the
/// install `setup` makes by default: Ray without its dashboard extras), else the head's.
pub fn worker_ray(head_ray: &Path) -> PathBuf {
    let Some(path) = std::env::var_os("BITTRADER_TEST_WORKER_RAY").map(PathBuf::from) else {
        return head_ray.to_path_buf();
    };
    assert!(
        path.is_file(),
        "BITTRADER_TEST_WORKER_RAY names no file: {} (run scripts/test)",
        path.display()
    );
    path
}

/// Runs `lab.sh ARGS…`.
pub fn lab(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(lab_dir().join("lab.sh"))
        .args(args)
        .env("RAY", ray().unwrap_or_default())
        .output()
        .expect("running lab.sh")
}

/// Runs `lab.sh ARGS…`, which must succeed; its output.
pub fn lab_ok(args: &[&str]) -> String {
    let out = lab(args);
    assert!(
        out.status.success(),
        "lab.sh {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Says loudly that `test` cannot run here, and fails instead where `BITTRADER_REQUIRE_LAB`
/// is set (CI), so a broken lab never hides behind a skip.
pub fn skip_or_fail(test: &str, reason: &str) {
    crate::skip::skip_or_fail(test, reason, None, "BITTRADER_REQUIRE_LAB");
}

/// The Ray under test, where a lab can run here (`lab.sh check`); otherwise `None` after
/// [`skip_or_fail`] has said why.
pub fn ready(test: &str) -> Option<PathBuf> {
    let Some(ray) = ray() else {
        skip_or_fail(
            test,
            "BITTRADER_TEST_RAY does not name a ray executable (run scripts/test)",
        );
        return None;
    };
    let check = lab(&["check"]);
    if !check.status.success() {
        skip_or_fail(test, &String::from_utf8_lossy(&check.stderr));
        return None;
    }
    Some(ray)
}

/// The nodes the head sees at the laptop's address (`lab.sh nodes`: one JSON object a line,
/// with `node_id`, `ip`, `state`, `state_message`, `cpus`).
pub fn laptop_nodes() -> Vec<Value> {
    let out = lab(&["nodes"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|n| n["ip"] == LAPTOP)
        .collect()
}

/// `tailscale status --json` as the laptop host would see the lab's tailnet: Running, itself
/// at [`LAPTOP`], the head at [`HEAD`] online (shaped like tailscale's ipnstate.Status).
pub fn lab_tailscale_status() -> String {
    std::fs::read_to_string(lab_dir().join("tailscale_status_lab.json"))
        .expect("tests/lab/tailscale_status_lab.json")
}

/// Takes the lab down when the test ends, whatever happens.
pub struct Lab;

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = lab(&["down"]);
    }
}

/// The daemon running in the laptop host, driven through the CLI as a user would; `quit` when
/// dropped, then killed if it is still there.
pub struct LabDaemon {
    child: Child,
    /// The `bittrader-worker` binary.
    bin: PathBuf,
    /// Its data folder (in /tmp, on the filesystem the hosts share, so the CLI outside the host
    /// reaches it).
    home: tempfile::TempDir,
}

impl LabDaemon {
    /// Starts `bin daemon` (`bin`: `env!("CARGO_BIN_EXE_bittrader-worker")`) in the laptop host,
    /// on a new data folder named `prefix`… whose config.toml joins the lab's head with 1 CPU
    /// and `ray`, followed by `more_config` (e.g. a `[timing]` table).
    pub fn start(bin: impl AsRef<Path>, ray: &Path, prefix: &str, more_config: &str) -> LabDaemon {
        let home = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .expect("home");
        LabDaemon::start_in(bin, ray, home, more_config)
    }

    /// [`LabDaemon::start`] on a data folder made by the caller (e.g. a [`SmallDisk`]).
    pub fn start_in(
        bin: impl AsRef<Path>,
        ray: &Path,
        home: tempfile::TempDir,
        more_config: &str,
    ) -> LabDaemon {
        let bin = bin.as_ref().to_path_buf();
        std::fs::write(
            home.path().join("config.toml"),
            format!(
                "head = \"{HEAD}:6379\"\ncpus = 1\nray_path = \"{}\"\nnode_ip = \"auto\"\n\
                 check_updates = false\n{more_config}",
                ray.display()
            ),
        )
        .expect("config");
        // The head is at a Tailscale address, joined only while Tailscale vouches for it: a
        // fake `tailscale` (tests/fake_tailscale) says it is Running with the head an online
        // peer, and this host at the laptop's address.
        std::fs::write(home.path().join("tailscale.json"), lab_tailscale_status())
            .expect("tailscale.json");
        let child = spawn_daemon(&bin, ray, home.path());
        LabDaemon { child, bin, home }
    }

    /// The supervisor is killed with SIGKILL (as a crash would), then started again on the same
    /// data folder: what it left behind is for the new one to find.
    pub fn kill_and_start_again(&mut self, ray: &Path) {
        let _ = lab(&[
            "laptop-exec",
            "pkill",
            "-KILL",
            "-f",
            "bittrader-worker daemon",
        ]);
        wait_or_kill(&mut self.child, secs(10));
        self.child = spawn_daemon(&self.bin, ray, self.home.path());
    }

    /// Its data folder.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs the CLI against this daemon.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(args)
            .env("BITTRADER_WORKER_HOME", self.home())
            .output()
            .expect("running the CLI")
    }

    /// `status --json`, or null.
    pub fn status(&self) -> Value {
        let out = self.cli(&["status", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// The phase, or `?`.
    pub fn phase(&self) -> String {
        self.status()["status"]["phase"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }

    /// The daemon's resident memory in KiB, read inside the laptop host (its pid is one of
    /// that host's pid namespace).
    pub fn rss_kib(&self) -> Option<u64> {
        let pid = self.status()["pid"].as_u64()?;
        let out = lab(&["laptop-exec", "cat", &format!("/proc/{pid}/status")]);
        crate::control::rss_kib_of(&String::from_utf8_lossy(&out.stdout))
    }

    /// worker.log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home().join("worker.log")).unwrap_or_default()
    }

    /// Waits until `check` holds, or fails with the daemon's status, the head's view and the log.
    pub fn wait(
        &self,
        what: &str,
        limit: Duration,
        check: impl Fn(&LabDaemon) -> bool,
    ) -> Duration {
        time_until(limit, || check(self)).unwrap_or_else(|| {
            panic!(
                "timed out after {limit:?} waiting for {what}\nstatus: {}\nhead sees:\n{}\nworker.log:\n{}",
                self.status(),
                String::from_utf8_lossy(&lab(&["nodes"]).stdout),
                self.log()
            )
        })
    }
}

impl Drop for LabDaemon {
    fn drop(&mut self) {
        let _ = self.cli(&["quit"]);
        wait_or_kill(&mut self.child, secs(20));
    }
}

/// A folder on a small tmpfs of its own, for a data folder whose disk fills up. Mounted before
/// the lab is brought up (the hosts' mount namespaces are private copies made at `up`);
/// unmounted when dropped.
pub struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// A `size_mib` MiB tmpfs on a new folder in /tmp named `prefix`…; the folder, as a
    /// `TempDir` for [`LabDaemon::start_in`].
    pub fn mount(prefix: &str, size_mib: u32) -> (SmallDisk, tempfile::TempDir) {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .expect("a folder for the small disk");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={size_mib}m,mode=0700"))
            .arg("btw-small-disk")
            .arg(dir.path())
            .status()
            .expect("running mount");
        assert!(
            mounted.success(),
            "mount a tmpfs on {}",
            dir.path().display()
        );
        (
            SmallDisk {
                path: dir.path().to_path_buf(),
            },
            dir,
        )
    }

    /// Writes `name` in the folder until the disk is full; its path.
    pub fn fill(&self, name: &str) -> PathBuf {
        let ballast = self.path.join(name);
        let mut file = std::fs::File::create(&ballast).expect("ballast");
        let chunk = vec![0u8; 1 << 20];
        while file.write_all(&chunk).is_ok() {}
        // The last partial chunk may have found a few free blocks: take them too.
        while file.write_all(&[0u8; 512]).is_ok() {}
        ballast
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// `bin daemon` in the laptop host, on the data folder `home`.
fn spawn_daemon(bin: &Path, ray: &Path, home: &Path) -> Child {
    Command::new("bash")
        .arg(lab_dir().join("lab.sh"))
        .arg("laptop-exec")
        .arg(bin)
        .arg("daemon")
        .env("RAY", ray)
        .env("BITTRADER_WORKER_HOME", home)
        .env(
            "BITTRADER_TAILSCALE",
            tests_dir().join("fake_tailscale/tailscale"),
        )
        .env("FAKE_TAILSCALE_JSON", home.join("tailscale.json"))
        // The tests read worker.log's English lines.
        .env("LC_ALL", "en_US.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("daemon")
}

/// Polls `check` every 200 ms until it holds: how long that took, `None` if it did not within
/// `limit`.
pub fn time_until(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    poll(limit, Duration::from_millis(200), || {
        check().then(|| start.elapsed())
    })
}

/// A Ray driver in the head host (tests/lab/drain_driver.py): submits tasks and reads their
/// results, one JSON line per command.
pub struct Driver {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Driver {
    pub fn start(ray: &Path, markers: &Path) -> Driver {
        let python = ray.with_file_name("python");
        let mut child = Command::new("bash")
            .arg(lab_dir().join("lab.sh"))
            .arg("head-exec")
            .arg(&python)
            .arg(lab_dir().join("drain_driver.py"))
            .arg(markers)
            .env("RAY", ray)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("driver");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        let mut driver = Driver {
            child,
            input,
            output,
        };
        let ready = driver.read();
        assert_eq!(ready["ready"], true, "driver: {ready}");
        driver
    }

    /// The next JSON answer. Ray's own messages to the driver (e.g. "Task work failed. There
    /// are 3 retries remaining") also arrive on stdout: passed on to stderr.
    pub fn read(&mut self) -> Value {
        loop {
            let mut line = String::new();
            let n = self.output.read_line(&mut line).expect("driver output");
            assert!(n > 0, "the driver exited");
            match serde_json::from_str::<Value>(&line) {
                Ok(value) if value.is_object() => return value,
                _ => eprint!("driver: {line}"),
            }
        }
    }

    pub fn ask(&mut self, command: &str) -> Value {
        writeln!(self.input, "{command}").expect("driver input");
        self.input.flush().expect("driver input");
        self.read()
    }

    /// Submits; panics unless the driver took it.
    pub fn submit(&mut self, command: &str) {
        let answer = self.ask(command);
        assert_eq!(answer["ok"], true, "{command}: {answer}");
    }

    /// The result of a task (host, node_id, ...) and every attempt of it.
    pub fn result(&mut self, tag: &str, secs: u64) -> (Value, Vec<Value>) {
        let answer = self.ask(&format!("wait {tag} {secs}"));
        let attempts = answer["attempts"].as_array().cloned().unwrap_or_default();
        assert!(
            answer["result"].is_object(),
            "task {tag} did not finish: {answer}"
        );
        (answer["result"].clone(), attempts)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = writeln!(self.input, "quit");
        let _ = self.input.flush();
        wait_or_kill(&mut self.child, secs(10));
    }
}
