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
        // Finder sets no locale variable; the app would then speak the user's preferred
        // language, and these tests read English.
        .env("LC_ALL", "en_US.UTF-8")
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

/// What launchd and systemd send to stop a service, and a closed terminal.
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
        assert!(
            !home.file("control.sock").exists(),
            "{signal}: the socket was left"
        );
        assert!(
            !home.file("worker.pid").exists(),
            "{signal}: the pid file was left"
        );
    }
}

/// A data folder under `home` for the app to find with no BITTRADER_WORKER_HOME: its config
/// names the fake head and no `ray_path`, so the app must find `ray` itself.
fn default_data_folder(home: &Path, head_port: u16) -> std::path::PathBuf {
    let data = home.join(".bittrader_worker");
    fs::create_dir_all(&data).expect("the data folder");
    fs::write(
        data.join("config.toml"),
        format!(
            "head = \"127.0.0.1:{head_port}\"\ncpus = 1\ncheck_updates = false\n\n[timing]\n\
             probe_interval_ms = 300\nprobe_timeout_ms = 300\nstop_grace_secs = 1\n"
        ),
    )
    .expect("config.toml");
    data
}

/// An executable `ray` in `dir` that runs the fake one.
fn ray_in(dir: &Path) -> std::path::PathBuf {
    fs::create_dir_all(dir).expect("the folder");
    let ray = dir.join("ray");
    fs::write(
        &ray,
        format!(
            "#!/bin/sh\nexec '{}' \"$@\"\n",
            bittrader_test_support::daemon::fake_ray().display()
        ),
    )
    .expect("write ray");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&ray, fs::Permissions::from_mode(0o755)).expect("chmod");
    ray
}

/// The CLI on the app's default data folder.
fn cli(data: &Path, args: &[&str]) -> Option<serde_json::Value> {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("BITTRADER_WORKER_HOME", data)
        .env("LC_ALL", "en_US.UTF-8");
    let out = run_with_timeout(command, secs(10)).ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

#[test]
#[ignore = "slow tier: Xvfb"]
fn opened_as_finder_does_it_finds_ray_in_the_users_folders_and_joins() {
    if Command::new("Xvfb")
        .arg("-help")
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        bittrader_test_support::skip::skip_or_fail(
            "GUI-launch test",
            "Xvfb is not installed",
            Some("scripts/test installs it"),
            "BITTRADER_REQUIRE_TRAY",
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let display = bittrader_test_support::display::Display::start(dir.path());
    let head = bittrader_test_support::head::FakeHead::start();
    let seen = dir.path().join("alert.seen");
    let alert = stand_in_alert(dir.path(), &seen);

    // 1. `ray` in ~/.local/bin, a well-known place; 2. only behind the login shell's PATH.
    for case in ["~/.local/bin", "login shell"] {
        let home = dir
            .path()
            .join(if case == "login shell" { "b" } else { "a" });
        let data = default_data_folder(&home, head.port());
        let mut app = app_as_finder_opens_it(&home, &alert);
        app.env("DISPLAY", display.name());
        let ray = if case == "login shell" {
            let tools = home.join("tools/bin");
            let shell = home.join("login-shell");
            fs::write(
                &shell,
                format!(
                    "#!/bin/sh\n# A login shell whose profile adds {0} to PATH.\n\
                     PATH='{0}':\"$PATH\"; export PATH\nshift\nexec /bin/sh \"$@\"\n",
                    tools.display()
                ),
            )
            .expect("the login shell");
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&shell, fs::Permissions::from_mode(0o755)).expect("chmod");
            app.env("SHELL", &shell);
            ray_in(&tools)
        } else {
            ray_in(&home.join(".local/bin"))
        };
        let mut app = app.spawn().expect("start the app");
        let joined = bittrader_test_support::poll(secs(30), secs(1) / 5, || {
            let status = cli(&data, &["status", "--json"])?;
            (status["status"]["phase"] == "connected").then_some(status)
        });
        let mut quit = Command::new(BIN);
        quit.arg("quit").env("BITTRADER_WORKER_HOME", &data);
        let quit = run_with_timeout(quit, secs(30)).is_ok_and(|out| out.status.success());
        let ended = bittrader_test_support::process::wait_exit(&mut app, secs(20));
        if ended.is_none() {
            let _ = app.kill();
        }
        let status = joined.unwrap_or_else(|| {
            panic!(
                "{case}: not connected; worker.log:\n{}",
                fs::read_to_string(data.join("worker.log")).unwrap_or_default()
            )
        });
        assert_eq!(
            status["status"]["ray"]["path"],
            ray.display().to_string(),
            "{case}: {status}"
        );
        assert!(quit, "{case}: quit answered");
        assert!(ended.is_some_and(|s| s.success()), "{case}: the app ended");
        assert!(!seen.exists(), "{case}: no alert");
    }
}
