//! The app as macOS starts it, as near as Linux allows: `env -i` with only HOME and the PATH an
//! app gets from Finder or launchd (`/usr/bin:/bin:/usr/sbin:/sbin`), working directory `/`,
//! standard streams on /dev/null, and LaunchServices' `-psn_0_NNN` argument. A failure to start
//! must reach the user (an alert, `worker.log`) and exit so that launchd's
//! `KeepAlive {SuccessfulExit = false}` does not restart it; a signal must stop the worker's
//! whole process tree before the process ends.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use bittrader_test_support::daemon::{worker_pid, Home, Options};
use bittrader_test_support::process::{alive, group_members, run_with_timeout};
use bittrader_test_support::secs;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// What launchd or Finder gives an app.
const APP_PATH: &str = "/usr/bin:/bin:/usr/sbin:/sbin";

/// A stand-in alert program that records its title and message in `seen`.
fn stand_in_alert(dir: &Path, seen: &Path) -> std::path::PathBuf {
    let program = dir.join("alert");
    fs::write(
        &program,
        format!(
            "#!/bin/sh\nprintf '%s\\n---\\n%s\\n' \"$1\" \"$2\" > '{}'\n",
            seen.display()
        ),
    )
    .expect("write the stand-in alert");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755)).expect("chmod");
    program
}

/// `bittrader-worker -psn_0_123` as Finder opens it, on the home folder `home`.
fn app_as_finder_opens_it(home: &Path, alert: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg("-psn_0_123")
        .env_clear()
        .env("HOME", home)
        .env("PATH", APP_PATH)
        // A display name is enough for the app to get as far as its configuration.
        .env("DISPLAY", ":97")
        .env("BITTRADER_ALERT", alert)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

#[test]
fn a_corrupt_config_is_shown_in_an_alert_and_logged_and_launchd_does_not_restart_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let data = home.join(".bittrader_worker");
    fs::create_dir_all(&data).expect("the data folder");
    fs::write(
        data.join("config.toml"),
        "head = \"100.64.0.1\"\ncpus = \"many\"\n",
    )
    .expect("a corrupt config");
    let before = fs::read(data.join("config.toml")).expect("config");
    let seen = dir.path().join("alert.seen");
    let alert = stand_in_alert(dir.path(), &seen);

    let out = run_with_timeout(app_as_finder_opens_it(&home, &alert), secs(30))
        .expect("the app ends by itself");

    assert_eq!(
        out.status.code(),
        Some(0),
        "exit 0: KeepAlive{{SuccessfulExit=false}} must not restart it"
    );
    let shown = fs::read_to_string(&seen).expect("an alert was shown");
    assert!(shown.contains("could not start"), "{shown}");
    assert!(shown.contains("cpus"), "names the key: {shown}");
    assert!(shown.contains("config.toml"), "names the file: {shown}");
    let log = fs::read_to_string(data.join("worker.log")).expect("worker.log");
    assert!(
        log.contains("Could not start") && log.contains("cpus"),
        "{log}"
    );
    assert_eq!(
        fs::read(data.join("config.toml")).expect("config"),
        before,
        "the file is left as it was"
    );
}

#[test]
fn a_second_copy_leaves_quietly_without_an_alert() {
    let home = Home::new(BIN, Options::default());
    let _daemon = home.daemon();
    home.wait_phase("connected", secs(20));
    let dir = tempfile::tempdir().expect("tempdir");
    let seen = dir.path().join("alert.seen");
    let alert = stand_in_alert(dir.path(), &seen);
    let mut app = app_as_finder_opens_it(home.path(), &alert);
    app.env("BITTRADER_WORKER_HOME", home.path());
    let out = run_with_timeout(app, secs(30)).expect("the app ends by itself");
    assert_eq!(out.status.code(), Some(0));
    assert!(!seen.exists(), "no alert for an app that already runs");
    assert!(home.read("worker.log").contains("already running"));
}

#[test]
fn sighup_and_sigterm_stop_the_worker_and_its_whole_process_group() {
    for signal in [Signal::SIGHUP, Signal::SIGTERM] {
        let home = Home::new(BIN, Options::default());
        let mut daemon = home.daemon();
        let status = home.wait_phase("connected", secs(20));
        let worker = worker_pid(&status).expect("a worker");
        assert!(!group_members(worker).is_empty());
        kill(Pid::from_raw(daemon.pid() as i32), signal).expect("signal the daemon");
        let exit = daemon.wait_exit(secs(20)).expect("it ends");
        assert!(exit.success(), "{signal}: {exit:?}");
        assert!(!alive(worker), "{signal}: the worker is gone");
        assert!(
            group_members(worker).is_empty(),
            "{signal}: nothing of the worker's group remains"
        );
    }
}
