//! The two-host lab (tests/lab/lab.sh) as the real-Ray tests use it: running lab.sh, the Ray
//! under test, the loud skip where a lab is impossible, and the guard that takes it down.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// tests/lab/
pub fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab")
}

/// The Ray under test (`BITTRADER_TEST_RAY`, set by scripts/test).
pub fn ray() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("BITTRADER_TEST_RAY")?);
    path.is_file().then_some(path)
}

/// Runs `lab.sh ARGS…`.
pub fn lab(args: &[&str]) -> std::process::Output {
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
    let loud = format!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPING the {test}: {reason}\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    if std::env::var_os("BITTRADER_REQUIRE_LAB").is_some() {
        panic!("{loud}BITTRADER_REQUIRE_LAB is set, so this is a failure");
    }
    eprintln!("{loud}");
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
    /// Its data folder (on the shared filesystem, so the CLI outside the host reaches it).
    pub home: PathBuf,
}

impl LabDaemon {
    /// Starts `bittrader-worker daemon` in the laptop host with the config.toml already in
    /// `home`.
    pub fn start(ray: &Path, home: &Path) -> LabDaemon {
        let child = Command::new("bash")
            .arg(lab_dir().join("lab.sh"))
            .args([
                "laptop-exec",
                env!("CARGO_BIN_EXE_bittrader-worker"),
                "daemon",
            ])
            .env("RAY", ray)
            .env("BITTRADER_WORKER_HOME", home)
            .env("BITTRADER_TAILSCALE", "/nonexistent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("daemon");
        LabDaemon {
            child,
            home: home.to_path_buf(),
        }
    }

    /// Runs the CLI against this daemon.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_bittrader-worker"))
            .args(args)
            .env("BITTRADER_WORKER_HOME", &self.home)
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

    /// worker.log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.join("worker.log")).unwrap_or_default()
    }

    /// Waits until `check` holds, or fails with the daemon's status, the head's view and the log.
    pub fn wait(
        &self,
        what: &str,
        limit: Duration,
        check: impl Fn(&LabDaemon) -> bool,
    ) -> Duration {
        let start = Instant::now();
        while start.elapsed() < limit {
            if check(self) {
                return start.elapsed();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "timed out after {limit:?} waiting for {what}\nstatus: {}\nhead sees:\n{}\nworker.log:\n{}",
            self.status(),
            String::from_utf8_lossy(&lab(&["nodes"]).stdout),
            self.log()
        );
    }
}

impl Drop for LabDaemon {
    fn drop(&mut self) {
        let _ = self.cli(&["quit"]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
