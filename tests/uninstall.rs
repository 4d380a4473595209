//! `uninstall`: the running app quits, start at login goes, Ray's environment and (unless kept)
//! the data folder are removed, and each step is said.

use std::fs;
use std::path::Path;

use bittrader_test_support::daemon::{Home, Options};
use bittrader_test_support::process::run_with_timeout;
use bittrader_test_support::secs;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running app with start at login on (an XDG autostart entry under `config_home`) and a
/// venv; then `uninstall ARGS`: its output.
fn uninstall_a_running_app(args: &[&str], config_home: &Path) -> (Home, String) {
    let home = Home::new(BIN, Options::default());
    let mut daemon = home.daemon();
    home.wait_phase("connected", secs(10));
    fs::create_dir_all(home.file(".venv/bin")).expect("a venv");
    let mut on = home.command(&["login-item", "on"]);
    on.env("XDG_CONFIG_HOME", config_home);
    let out = run_with_timeout(on, secs(10)).expect("login-item on");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let autostart = config_home.join("autostart/com.bittrader.worker.desktop");
    assert!(autostart.exists());
    // Someone else's autostart entry, and a folder beside the data folder: not ours to touch.
    let theirs = config_home.join("autostart/syncthing.desktop");
    fs::write(&theirs, "[Desktop Entry]\nName=Syncthing\n").expect("their entry");
    let beside = home.path().with_extension("beside");
    fs::create_dir_all(&beside).expect("a folder beside");
    // For a script, the state as JSON.
    let mut status = home.command(&["login-item", "status", "--json"]);
    status.env("XDG_CONFIG_HOME", config_home);
    let out = run_with_timeout(status, secs(10)).expect("login-item status --json");
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(state["state"], "enabled", "{state}");
    assert_eq!(state["is_this_program"], true, "{state}");

    let mut uninstall = home.command(&[&["uninstall"], args].concat());
    uninstall.env("XDG_CONFIG_HOME", config_home);
    let out = run_with_timeout(uninstall, secs(30)).expect("uninstall");
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(daemon.wait_exit(secs(5)).is_some(), "the app still runs");
    assert!(!autostart.exists(), "start at login is still on");
    assert!(!home.file(".venv").exists(), "Ray's environment is left");
    assert!(theirs.exists(), "another app's autostart entry went");
    assert!(beside.exists(), "a folder beside the data folder went");
    let _ = fs::remove_dir_all(&beside);
    for line in [
        "Quit the running app",
        "Start at login turned off",
        "drag BitTrader Worker from Applications to the Trash",
    ] {
        assert!(said.contains(line), "{line:?} not in:\n{said}");
    }
    (home, said)
}

/// A folder named by BITTRADER_WORKER_HOME (as the tests' are) may hold more than the app's:
/// only the app's files go.
#[test]
fn uninstall_quits_the_app_turns_start_at_login_off_and_removes_the_apps_files() {
    let config_home = tempfile::tempdir().expect("config home");
    let (home, said) = uninstall_a_running_app(&[], config_home.path());
    for ours in ["config.toml", "worker.log", "logs", "supervisor.lock"] {
        assert!(!home.file(ours).exists(), "{ours} is left");
    }
    let expected = format!("Removed the app's files from {}", home.path().display());
    assert!(said.contains(&expected), "{said}");
    assert!(
        home.file("daemon.out").exists(),
        "a file not the app's went"
    );
}

/// The app's own folder, `~/.bittrader_worker`, goes whole (the old install's files too).
#[test]
fn uninstall_removes_the_apps_own_folder_whole_and_nothing_beside_it() {
    let user = tempfile::tempdir().expect("a home folder");
    let data = user.path().join(".bittrader_worker");
    fs::create_dir_all(data.join(".venv/bin")).expect("the data folder");
    fs::write(data.join("config.toml"), "cpus = 1\n").expect("config.toml");
    fs::write(data.join("worker_daemon.sh"), "#!/bin/bash\n").expect("the old install's");
    let documents = user.path().join("Documents");
    fs::create_dir_all(&documents).expect("Documents");
    let out = std::process::Command::new(BIN)
        .arg("uninstall")
        .env("HOME", user.path())
        .env_remove("BITTRADER_WORKER_HOME")
        .env("XDG_CONFIG_HOME", user.path().join(".config"))
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .expect("uninstall");
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(!data.exists(), "the app's folder is left: {said}");
    assert!(documents.exists(), "a folder beside it went");
    assert!(
        said.contains(&format!("Removed {}", data.display())),
        "{said}"
    );
}

#[test]
fn uninstall_keep_data_keeps_settings_and_history() {
    let config_home = tempfile::tempdir().expect("config home");
    let (home, said) = uninstall_a_running_app(&["--keep-data"], config_home.path());
    assert!(home.file("config.toml").exists(), "the settings went");
    assert!(home.file("worker.log").exists(), "the log went");
    assert!(
        said.contains(&format!("kept in {}", home.path().display())),
        "{said}"
    );
}

#[test]
fn uninstall_with_nothing_installed_does_nothing_and_says_how_to_finish() {
    let config_home = tempfile::tempdir().expect("config home");
    let home = tempfile::tempdir().expect("home");
    let data = home.path().join("data");
    let out = std::process::Command::new(BIN)
        .args(["uninstall", "--keep-data"])
        .env("BITTRADER_WORKER_HOME", &data)
        .env("XDG_CONFIG_HOME", config_home.path())
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .expect("uninstall");
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("to the Trash"), "{said}");
}

/// A login item that is the old install's LaunchAgent until replaced; records what was asked.
struct OldInstallsAgent {
    calls: std::cell::RefCell<Vec<String>>,
}

impl bittrader_worker::platform::login_item::LoginItem for OldInstallsAgent {
    fn status(&self) -> bittrader_worker::platform::LoginStatus {
        bittrader_worker::platform::LoginStatus::Legacy {
            program: "/Users/me/.bittrader_worker/worker_daemon.sh".into(),
        }
    }
    fn enable(
        &self,
        replace_legacy: bool,
    ) -> Result<(), bittrader_worker::platform::login_item::LoginItemError> {
        self.calls
            .borrow_mut()
            .push(format!("enable {replace_legacy}"));
        Ok(())
    }
    fn disable(&self) -> Result<(), bittrader_worker::platform::login_item::LoginItemError> {
        self.calls.borrow_mut().push("disable".into());
        Ok(())
    }
    fn set_aside_legacy(
        &self,
    ) -> Result<bool, bittrader_worker::platform::login_item::LoginItemError> {
        self.calls.borrow_mut().push("set aside".into());
        Ok(true)
    }
}

#[test]
fn the_old_installs_launch_agent_is_set_aside_and_nothing_is_installed_meanwhile() {
    use bittrader_worker::uninstall::{run, Removed};
    let dir = tempfile::tempdir().expect("dir");
    let paths = bittrader_worker::config::Paths {
        home: dir.path().join("data"),
    };
    let agent = OldInstallsAgent {
        calls: Default::default(),
    };
    let mut done = Vec::new();
    run(&paths, true, &agent, None, |removed| done.push(removed)).expect("uninstalled");
    // Installing ours first would start the app again (RunAtLoad) in the middle.
    assert_eq!(*agent.calls.borrow(), ["set aside"]);
    assert_eq!(done, [Removed::LegacyLoginItem]);
}
