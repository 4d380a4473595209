//! `bittrader-worker demo` with a real Ray (`BITTRADER_TEST_RAY`): the head runs with token
//! auth from a private folder, the worker joins it with the token, and a crash of the demo
//! leaves no Ray head behind once the next demo starts.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bittrader_test_support::process::{alive, run_with_timeout, Proc};
use bittrader_test_support::{lab, poll, secs};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// One demo at a time: the squatter takes the port of any head it sees.
static ONE_DEMO: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_demo_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_DEMO
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A home whose config.toml names the test's Ray (`None`: no Ray, said by `test`).
fn user_with_ray(test: &str) -> Option<tempfile::TempDir> {
    let Some(ray) = lab::ray() else {
        bittrader_test_support::skip::skip_or_fail(
            test,
            "no Ray to run",
            Some("set BITTRADER_TEST_RAY to a Ray 2.52+ `ray`"),
            "BITTRADER_REQUIRE_RAY",
        );
        return None;
    };
    let user = tempfile::tempdir().expect("tempdir");
    let user_home = user.path().join(".bittrader_worker");
    fs::create_dir_all(&user_home).expect("mkdir");
    let config = format!("ray_path = {:?}\n", ray.display().to_string());
    fs::write(user_home.join("config.toml"), config).expect("config");
    Some(user)
}

/// [`user_with_ray`], where a second user (`nobody`, through setpriv) can be run: as root.
fn user_with_ray_and_a_squatter(test: &str) -> Option<tempfile::TempDir> {
    let user = user_with_ray(test)?;
    if !nix::unistd::geteuid().is_root() {
        bittrader_test_support::skip::skip_or_fail(
            test,
            "not root: no second user to squat",
            Some("run the slow tier as root"),
            "BITTRADER_REQUIRE_RAY",
        );
        return None;
    }
    Some(user)
}

/// The demo folder a demo printed ("Starting a local Ray head (logs in DIR) …").
fn demo_folder(out: &Path) -> PathBuf {
    let found = poll(secs(30), Duration::from_millis(100), || {
        let text = fs::read_to_string(out).ok()?;
        let rest = text.split("(logs in ").nth(1)?;
        Some(PathBuf::from(rest.split(')').next()?))
    });
    found.unwrap_or_else(|| {
        panic!(
            "no folder in {}",
            fs::read_to_string(out).unwrap_or_default()
        )
    })
}

/// Waits until the demo in `folder` has a connected worker.
fn wait_connected(folder: &Path, out: &Path) -> Value {
    let found = poll(secs(120), Duration::from_millis(500), || {
        let mut status = Command::new(BIN);
        status
            .args(["status", "--json"])
            .env("BITTRADER_WORKER_HOME", folder);
        let out = run_with_timeout(status, secs(10)).ok()?;
        let value: Value = serde_json::from_slice(&out.stdout).ok()?;
        (value["status"]["phase"] == "connected").then_some(value)
    });
    found.unwrap_or_else(|| {
        panic!(
            "the demo's worker did not connect\n{}\n--- worker.log ---\n{}\n--- head ---\n{}",
            fs::read_to_string(out).unwrap_or_default(),
            fs::read_to_string(folder.join("worker.log")).unwrap_or_default(),
            fs::read_to_string(folder.join("demo-head.log")).unwrap_or_default(),
        )
    })
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// The process group a pid file names.
fn recorded_group(pid_file: &Path) -> Option<u32> {
    let record: Value = serde_json::from_str(&fs::read_to_string(pid_file).ok()?).ok()?;
    record["pgid"].as_u64().map(|g| g as u32)
}

/// The `--temp-dir` on the command line of `pid`.
fn ray_temp_dir(pid: u32) -> Option<PathBuf> {
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args = String::from_utf8_lossy(&cmdline).into_owned();
    let dir = args
        .split('\0')
        .find_map(|arg| arg.strip_prefix("--temp-dir="))?;
    Some(PathBuf::from(dir))
}

fn demo(user: &Path, out: &Path) -> Proc {
    demo_with(user, out, &[])
}

fn demo_with(user: &Path, out: &Path, env: &[(&str, &str)]) -> Proc {
    let mut command = Command::new(BIN);
    command.envs(env.iter().copied());
    command
        .arg("demo")
        .env("HOME", user)
        .env_remove("BITTRADER_WORKER_HOME")
        .env_remove("RAY_AUTH_MODE")
        .env_remove("RAY_AUTH_TOKEN")
        .env("BITTRADER_TAILSCALE", "/nonexistent")
        .env("LC_ALL", "en_US.UTF-8")
        .env("NO_COLOR", "1");
    Proc::spawn("the demo", command, out)
}

#[test]
#[ignore = "slow tier: Ray"]
fn the_demo_head_uses_token_auth_from_a_private_folder_and_a_crash_leaves_no_head() {
    let _one = one_demo_at_a_time();
    let Some(user) = user_with_ray("demo head test") else {
        return;
    };
    let user_home = user.path().join(".bittrader_worker");
    let pid_file = user_home.join("demo-cli-head.pid");
    let mut leftovers = Vec::new();

    // The first demo: private folder, token auth, a worker joined with the token.
    let out1 = user.path().join("demo1.out");
    let mut first = demo(user.path(), &out1);
    let folder = demo_folder(&out1);
    let name = folder.file_name().unwrap_or_default().to_string_lossy();
    assert!(
        !name.contains(&first.pid().to_string()),
        "a predictable name: {name}"
    );
    assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    wait_connected(&folder, &out1);
    let token = folder.join("demo-head.token");
    assert_eq!(mode(&token), 0o600);
    assert_eq!(fs::read_to_string(&token).expect("token").len(), 64);
    let head = recorded_group(&pid_file).expect("the demo head's pid file");
    let environ = fs::read(format!("/proc/{head}/environ")).unwrap_or_default();
    let environ = String::from_utf8_lossy(&environ);
    assert!(
        environ.contains("RAY_AUTH_MODE=token"),
        "the head runs without token auth"
    );
    let config = fs::read_to_string(folder.join("config.toml")).expect("demo config");
    assert!(config.contains("auth_token_file"), "{config}");
    // Ray's sockets and logs, the head's and the worker's, in folders only we can enter (Ray's
    // default, /tmp/ray, is open to every local user).
    let worker = recorded_group(&folder.join("worker.pid")).expect("the worker's pid file");
    for (who, pid) in [("head", head), ("worker", worker)] {
        let temp = ray_temp_dir(pid).unwrap_or_else(|| panic!("the {who} has no --temp-dir"));
        let private = temp.parent().expect("its private folder");
        let name = private.to_string_lossy();
        assert!(name.starts_with("/tmp/bittrader-ray-"), "{name}");
        assert_eq!(mode(private), 0o700, "the {who}'s {name}");
        let sessions = fs::read_dir(&temp).expect("the Ray folder").flatten();
        let named = |e: &fs::DirEntry| e.file_name().to_string_lossy().starts_with("session_");
        assert!(
            sessions.into_iter().any(|e| named(&e)),
            "no session in {name}"
        );
    }
    if let Some(worker) = recorded_group(&folder.join("worker.pid")) {
        leftovers.push(worker);
    }

    // A crash of the demo: its head lives on, until the next demo starts.
    first.kill();
    assert!(alive(head), "the head died with the demo");
    let out2 = user.path().join("demo2.out");
    let mut second = demo(user.path(), &out2);
    let folder2 = demo_folder(&out2);
    let said = fs::read_to_string(&out2).unwrap_or_default();
    assert!(
        said.contains(&format!("Stopped the demo head (pid {head}) left behind")),
        "{said}"
    );
    let gone = poll(secs(20), Duration::from_millis(200), || {
        killpg(Pid::from_raw(head as i32), None)
            .is_err()
            .then_some(())
    });
    assert!(gone.is_some(), "the old head's group {head} still runs");
    wait_connected(&folder2, &out2);
    let head2 = recorded_group(&pid_file).expect("the second head's pid file");
    assert_ne!(head2, head);

    // A clean stop with no task running: the demo, its worker and its head are gone within
    // 3 s; the head's pid file and the private folder go.
    let worker2 = recorded_group(&folder2.join("worker.pid")).expect("the worker's pid file");
    let asked = Instant::now();
    let _ = kill(Pid::from_raw(second.pid() as i32), Signal::SIGINT);
    assert!(
        second.wait_exit(secs(60)).is_some(),
        "the demo did not stop\n{}",
        fs::read_to_string(&out2).unwrap_or_default()
    );
    let group_gone = |group: u32| killpg(Pid::from_raw(group as i32), None).is_err();
    let gone = poll(secs(20), Duration::from_millis(50), || {
        (group_gone(head2) && group_gone(worker2)).then_some(())
    });
    let took = asked.elapsed();
    assert!(
        gone.is_some(),
        "the second head's group {head2} or the worker's {worker2} still runs"
    );
    // The figure is the benchmark's (≈ 2.3 s on a quiet machine); what is asserted is that the
    // quit did not wait out Ray's own SIGTERM stop of the head, which takes some 15 s.
    eprintln!("figure: a quit with no task running, everything gone after {took:?}");
    assert!(
        took < secs(10),
        "a quit waited for Ray's own stop: {took:?}"
    );
    assert!(!pid_file.exists(), "the pid file stayed");
    assert!(!folder2.exists(), "the private folder stayed");

    // The first demo's worker (its own group, in the crashed demo's folder) is not the
    // demo head's business: stopped here.
    for group in leftovers {
        let _ = killpg(Pid::from_raw(group as i32), Signal::SIGKILL);
    }
    let _ = fs::remove_dir_all(&folder);
}

#[test]
#[ignore = "slow tier: Ray, and root to run a squatter as `nobody`"]
fn a_port_another_user_took_first_is_not_taken_for_the_demo_head() {
    let _one = one_demo_at_a_time();
    let Some(user) = user_with_ray_and_a_squatter("demo head squatter test") else {
        return;
    };
    // Another local user reads the head's port off its command line and listens there first.
    let shared = tempfile::tempdir_in("/tmp").expect("tempdir");
    fs::set_permissions(shared.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let report = shared.path().join("squatter.out");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/squatter/squat_head_port.py"
    );
    let mut squatter = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["/usr/bin/python3", script])
        .arg(&report)
        .arg("90")
        .spawn()
        .expect("the squatter");

    let out = user.path().join("demo.out");
    let mut demo = demo(user.path(), &out);
    let ended = demo.wait_exit(secs(120));
    let said = fs::read_to_string(&out).unwrap_or_default();
    let squatted = fs::read_to_string(&report).unwrap_or_default();
    let _ = squatter.kill();
    let _ = squatter.wait();
    assert!(
        squatted.contains("bound"),
        "the squatter did not take the port first: {squatted}"
    );
    let ended = ended.unwrap_or_else(|| panic!("the demo ran on beside the squatter:\n{said}"));
    assert!(!ended.success(), "{said}");
    assert!(!said.contains("Joining it"), "joined the squatter:\n{said}");
    assert!(said.contains("the demo head exited"), "{said}");
    assert!(
        !squatted.contains("received"),
        "a client of ours spoke to the squatter: {squatted}"
    );
}

/// Ray's default on macOS keeps a head on loopback (`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER` unset
/// there means 0), while a worker `ray start` turns a loopback head address into the machine's
/// routable one: the practice head must be started so that the worker reaches it.
#[test]
#[ignore = "slow tier: Ray"]
fn the_demo_joins_with_ray_set_as_on_a_mac() {
    let _one = one_demo_at_a_time();
    let Some(user) = user_with_ray("the_demo_joins_with_ray_set_as_on_a_mac") else {
        return;
    };
    let out = user.path().join("demo.out");
    let macos_default = [("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")];
    let mut demo = demo_with(user.path(), &out, &macos_default);
    let folder = demo_folder(&out);
    wait_connected(&folder, &out);
    let _ = kill(Pid::from_raw(demo.pid() as i32), Signal::SIGINT);
    assert!(demo.wait_exit(secs(60)).is_some(), "the demo did not stop");
}

#[test]
#[ignore = "slow tier: Ray, and root to run a squatter as `nobody`"]
fn a_practice_head_that_ended_is_not_followed_to_whoever_takes_its_port() {
    use bittrader_worker::config::Paths;
    use bittrader_worker::model::{Phase, Status, Unreachable};
    use bittrader_worker::runtime::NoNotifier;
    use bittrader_worker::service::{self, MenuBar};
    use std::sync::{Arc, Mutex};

    let _one = one_demo_at_a_time();
    let Some(user) = user_with_ray_and_a_squatter("practice head squatter test") else {
        return;
    };
    // The menu-bar app's own service with no head set (`serve` with a menu bar, as the tray runs
    // it, without the tray's window): it starts the practice head and joins it.
    let paths = Paths {
        home: user.path().join(".bittrader_worker"),
    };
    let latest: Arc<Mutex<Option<Status>>> = Arc::default();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = {
        let (paths, latest) = (paths.clone(), latest.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let prepared = service::prepare(&paths).expect("prepare");
            let on_status = move |report: bittrader_worker::runtime::control::StatusReport| {
                if let Some(status) = report.status {
                    *latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
                }
            };
            let shutdown = async move {
                let _ = stop_rx.await;
            };
            let menu_bar = Some(MenuBar { sleep_link: None });
            let requests = tokio::sync::mpsc::channel(16);
            let serve = service::serve(
                paths,
                prepared,
                requests,
                Box::new(NoNotifier),
                shutdown,
                menu_bar,
                on_status,
            );
            runtime.block_on(serve).expect("serve");
        })
    };
    let status = || latest.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let connected = poll(secs(150), Duration::from_millis(200), || {
        status().filter(|s| s.phase == Phase::Connected && s.demo)
    });
    let log = || fs::read_to_string(paths.home.join("worker.log")).unwrap_or_default();
    let connected =
        connected.unwrap_or_else(|| panic!("never joined the practice head\n{}", log()));
    let head = connected.head.expect("the practice head's address");

    // Another local user, who read the head's port off its command line, takes it the moment
    // the head lets it go.
    let shared = tempfile::tempdir_in("/tmp").expect("tempdir");
    fs::set_permissions(shared.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let report = shared.path().join("squatter.out");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/squatter/squat_head_port.py"
    );
    let mut squatter = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(["/usr/bin/python3", script])
        .arg(&report)
        .args(["240", "wait", &head.port.to_string()])
        .spawn()
        .expect("the squatter");
    let squatted = || fs::read_to_string(&report).unwrap_or_default();
    std::thread::sleep(secs(1));
    assert!(
        !squatted().contains("bound"),
        "took a port the head held: {}",
        squatted()
    );

    // Its Ray ends all at once (a crash, the OOM killer): its port is free for the taking.
    let group = recorded_group(&paths.home.join("demo-head.pid")).expect("its pid file");
    let killed = Instant::now();
    killpg(Pid::from_raw(group as i32), Signal::SIGKILL).expect("kill the head");
    let bound = poll(secs(20), Duration::from_millis(5), || {
        squatted().contains("bound").then(Instant::now)
    });
    let bound = bound.unwrap_or_else(|| panic!("the squatter never took the port: {}", squatted()));
    eprintln!(
        "figure: port {} taken by `nobody` {:?} after the head was killed",
        head.port,
        bound - killed
    );

    // Long enough for the probe (every second while the head is away), the grace (30 s) and a
    // restart with its backoff.
    std::thread::sleep(secs(45));
    let after = status().expect("a status");
    let summary = bittrader_worker::text::cli::summary(bittrader_worker::text::Lang::En, &after);
    let worker_pid_file = paths.home.join("worker.pid");
    let _ = stop_tx.send(());
    let stopped = poll(secs(60), Duration::from_millis(200), || {
        app.is_finished().then_some(())
    });
    let said = squatted();
    let _ = squatter.kill();
    let _ = squatter.wait();
    eprintln!("squatter: {said}");
    eprintln!("state: {summary}");
    assert!(stopped.is_some(), "the app did not stop\n{}", log());
    // A bare connect (no byte) can still land while the head's own processes are ending; what
    // must never arrive is a byte of ours (the worker's or the drain's token, even a preface).
    let connects = said.lines().filter(|l| *l == "received ").count();
    eprintln!("figure: {connects} bare connect(s) reached the squatter, no bytes");
    assert!(
        !said
            .lines()
            .any(|l| l.starts_with("received ") && l.len() > "received ".len()),
        "something of ours spoke to the squatter on the practice head's port: {said}\n{}",
        log()
    );
    assert_eq!(after.phase, Phase::Disconnected, "{summary}");
    assert_eq!(
        after.unreachable,
        Some(Unreachable::PracticeHeadGone),
        "{summary}"
    );
    assert!(summary.contains("practice head stopped"), "{summary}");
    assert!(!worker_pid_file.exists(), "a worker runs\n{}", log());
}
