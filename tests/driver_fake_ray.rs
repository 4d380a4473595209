//! Driver tests: the real `bittrader-worker daemon`, a fake `ray` (`tests/fake_ray/ray`) and a
//! "head" that is a TCP listener the test opens and closes.
//!
//! Each test gets its own data folder (`BITTRADER_WORKER_HOME`), port and daemon, so tests run
//! in parallel. Nothing waits a fixed time for something to happen: [`Home::wait_status`] and
//! [`Home::wait_until`] poll until a deadline and fail with the last status and the tails of the
//! logs (the only fixed sleeps check that something does *not* happen). Every daemon is
//! stopped when its guard drops (`quit`, then SIGKILL), and every process group the fake `ray`
//! recorded is killed when the home drops, so a failing test leaves no processes behind.
//!
//! The fake `ray` reads its behaviour from `fake_ray.mode` in the home at each start and records
//! each start in `fake_ray.starts` (see the script's header).

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use bittrader_test_support::daemon::{
    machine_cpus, phase_of, summary, worker_pid, Daemon, Home, Options, PROBE_INTERVAL_MS,
    STOP_GRACE_SECS,
};
use bittrader_test_support::head::FakeHead;
use bittrader_test_support::process::{alive, group_members, run_with_timeout};
use bittrader_test_support::secs;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// A process that has nothing to do with the worker, in its own process group: it must
/// survive everything the daemon does.
struct Decoy {
    child: Child,
}

impl Decoy {
    fn spawn() -> Decoy {
        use std::os::unix::process::CommandExt;
        let child = Command::new("sleep")
            .arg("1000")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the decoy");
        Decoy { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn assert_untouched(&mut self, when: &str) {
        let exited = self.child.try_wait().expect("decoy status");
        assert!(
            exited.is_none() && alive(self.pid()),
            "{when}: the decoy (pid {}) was killed: {exited:?}",
            self.pid()
        );
    }
}

impl Drop for Decoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The "task worker" and its task subprocess the fake `ray` wrote in `fake_ray.tasks`
/// (`join_with_task`), each in a process group other than the worker's. Whatever is still
/// there when this drops is killed.
struct Tasks<'a> {
    home: &'a Home,
}

impl Tasks<'_> {
    /// Every pid written so far.
    fn pids(&self) -> Vec<u32> {
        self.home
            .read("fake_ray.tasks")
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }

    /// Waits until `count` pids are written, and returns them.
    fn wait_for(&self, count: usize) -> Vec<u32> {
        self.home
            .wait_until("the fake task processes", secs(10), || {
                self.pids().len() >= count
            });
        self.pids()
    }

    fn assert_all_gone(&self, when: &str, pids: &[u32], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && pids.iter().any(|p| alive(*p)) {
            thread::sleep(Duration::from_millis(100));
        }
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        assert!(
            left.is_empty(),
            "{when}: task processes {left:?} outlived the worker\n{}",
            self.home.diagnostics()
        );
    }
}

impl Drop for Tasks<'_> {
    fn drop(&mut self) {
        for pid in self.pids() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits a little longer than the supervisor's 1 s floor between starts plus a probe, then
/// checks that no further start happened.
fn assert_no_more_starts(home: &Home, expected: usize) {
    thread::sleep(Duration::from_millis(1500 + PROBE_INTERVAL_MS));
    let starts = home.starts();
    assert_eq!(
        starts.len(),
        expected,
        "expected exactly {expected} start(s)\n{}",
        home.diagnostics()
    );
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn joins_with_the_expected_command_in_its_own_process_group() {
    let home = Home::new(BIN, Options::default());
    let cpus = Options::default().cpus;
    let _daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));

    let starts = home.starts();
    assert_eq!(starts.len(), 1, "{starts:?}");
    let start = &starts[0];
    assert_eq!(start.args[0], "start", "{start:?}");
    for arg in [
        "--block".to_string(),
        format!("--address=127.0.0.1:{}", home.port()),
        format!("--num-cpus={cpus}"),
        "--node-ip-address=127.0.0.1".to_string(),
        "--disable-usage-stats".to_string(),
    ] {
        assert!(start.args.contains(&arg), "missing {arg}: {start:?}");
    }
    assert_eq!(start.osx_cluster, "1", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER");
    assert_eq!(start.pgid, start.pid, "the worker leads its own group");
    assert_eq!(worker_pid(&status), Some(start.pid), "{status}");
    assert_eq!(status["node_ip"], "127.0.0.1", "{status}");
    assert_eq!(status["status"]["worker_cpus"], cpus, "{status}");
    let raylet = start.raylet.expect("the fake started a raylet");
    assert_eq!(
        group_members(start.pid).len(),
        2,
        "ray start and its raylet"
    );
    assert!(group_members(start.pid).contains(&raylet));

    let log = home.read("worker.log");
    let wanted = format!("✅ Worker connected to the cluster with {cpus} CPUs");
    let line = log
        .lines()
        .find(|l| l.ends_with(&wanted))
        .unwrap_or_else(|| panic!("no `{wanted}` line in worker.log:\n{log}"));
    let (stamp, rest) = line.split_once(" - ").expect("`STAMP - text`");
    assert_eq!(rest, wanted, "{line}");
    assert_eq!(stamp.len(), "2026-01-26 10:00:08".len(), "{line}");
    assert!(
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").is_ok(),
        "{line}"
    );
}

#[test]
fn a_missing_ray_is_an_error_that_says_to_run_setup() {
    let missing = PathBuf::from("/nonexistent/bittrader-test/bin/ray");
    let home = Home::new(
        BIN,
        Options {
            ray_path: Some(missing.clone()),
            ..Options::default()
        },
    );
    let _daemon = home.daemon();
    let status = home.wait_phase("error", secs(10));
    let fault = &status["status"]["fault"];
    assert_eq!(fault["kind"], "ray_missing", "{status}");
    assert_eq!(fault["path"], missing.display().to_string(), "{status}");
    assert!(summary(&status).contains("setup"), "{status}");
    assert_eq!(worker_pid(&status), None);
    assert!(home.starts().is_empty());
}

#[test]
fn a_version_mismatch_is_an_error_naming_both_versions() {
    let home = Home::new(
        BIN,
        Options {
            mode: "mismatch",
            ..Options::default()
        },
    );
    let _daemon = home.daemon();
    let status = home.wait_phase("error", secs(10));
    let failure = &status["status"]["fault"]["failure"];
    assert_eq!(failure["kind"], "version_mismatch", "{status}");
    assert_eq!(failure["cluster"], "2.12.0", "{status}");
    assert_eq!(failure["this_machine"], "2.42.0", "{status}");
    let text = summary(&status);
    assert!(
        text.contains("2.12.0") && text.contains("2.42.0") && text.contains("setup"),
        "{text}"
    );
    assert_no_more_starts(&home, 1);
    assert_eq!(phase_of(&home.status().expect("status")), "error");
}

#[test]
fn a_version_skew_is_an_error_naming_this_machines_ray() {
    let home = Home::new(
        BIN,
        Options {
            mode: "skew",
            ..Options::default()
        },
    );
    let _daemon = home.daemon();
    let status = home.wait_phase("error", secs(10));
    let failure = &status["status"]["fault"]["failure"];
    assert_eq!(failure["kind"], "version_skew_suspected", "{status}");
    // From `ray --version` of the fake.
    assert_eq!(failure["this_machine"], "2.51.2", "{status}");
    let text = summary(&status);
    assert!(text.contains("2.51.2") && text.contains("setup"), "{text}");
    assert_no_more_starts(&home, 1);
}

#[test]
fn a_worker_that_ignores_sigterm_is_killed_after_the_stop_grace() {
    let home = Home::new(
        BIN,
        Options {
            mode: "ignore_term",
            ..Options::default()
        },
    );
    let _daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    let pid = worker_pid(&status).expect("worker pid");
    let raylet = home.starts()[0].raylet.expect("raylet pid");
    assert!(alive(raylet));

    let asked = Instant::now();
    let out = home.cli(&["pause"]);
    assert!(out.status.success(), "pause: {}", text(&out.stderr));
    home.assert_gone("the worker", pid, secs(STOP_GRACE_SECS + 3));
    let took = asked.elapsed();
    assert!(!alive(raylet), "the raylet outlived the stop");
    // It ignored SIGTERM, so only the SIGKILL after the grace can have ended it.
    assert!(
        took >= Duration::from_millis(STOP_GRACE_SECS * 1000 - 100),
        "gone after {took:?}: before the stop grace, so SIGTERM was not ignored?"
    );
    let status = home.wait_phase("paused", secs(3));
    assert_eq!(worker_pid(&status), None);
    assert_no_more_starts(&home, 1);
}

#[test]
fn an_orphan_of_a_killed_supervisor_is_stopped_by_the_next_one() {
    // A worker that ignores SIGTERM: on Linux the parent-death signal would end it otherwise.
    let home = Home::new(
        BIN,
        Options {
            mode: "ignore_term",
            ..Options::default()
        },
    );
    let mut decoy = Decoy::spawn();
    let mut first = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    let orphan = worker_pid(&status).expect("worker pid");

    first.kill_hard();
    // The worker is in its own group: the supervisor's death does not take it along.
    thread::sleep(Duration::from_millis(500));
    assert!(alive(orphan), "the worker died with its supervisor");
    assert_eq!(group_members(orphan).len(), 2, "ray start and its raylet");
    assert!(home.file("worker.pid").exists(), "the pid file remains");
    decoy.assert_untouched("after the supervisor was killed");

    let _second = home.daemon();
    let status = home.wait_connected_anew(Some(orphan), secs(15));
    home.assert_gone("the orphan", orphan, secs(3));
    decoy.assert_untouched("after the orphan was stopped");
    assert_eq!(home.starts().len(), 2);
    assert_ne!(worker_pid(&status), Some(orphan));
    let log = home.read("worker.log");
    assert!(
        log.contains(&format!(
            "Stopped the worker (pid {orphan}) left behind by an earlier run"
        )),
        "worker.log:\n{log}"
    );
}

#[test]
fn a_raylet_that_outlived_its_ray_start_is_stopped_too() {
    let home = Home::new(BIN, Options::default());
    let mut decoy = Decoy::spawn();
    let mut first = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    let orphan = worker_pid(&status).expect("worker pid");
    first.kill_hard();
    // `ray start` dies too, but its raylet lives on in the group.
    let raylet = *group_members(orphan)
        .iter()
        .find(|pid| **pid != orphan)
        .expect("the raylet stand-in");
    let _ = Command::new("kill")
        .args(["-9", &orphan.to_string()])
        .status();
    home.wait_until("`ray start` to be gone", secs(5), || !alive(orphan));
    assert!(alive(raylet), "the raylet outlived its leader");

    let _second = home.daemon();
    home.wait_connected_anew(Some(orphan), secs(15));
    home.wait_until("the leftover raylet to be stopped", secs(5), || {
        !alive(raylet)
    });
    decoy.assert_untouched("after the leftover was stopped");
    let log = home.read("worker.log");
    assert!(
        log.contains(&format!(
            "Stopped the worker (pid {orphan}) left behind by an earlier run"
        )),
        "worker.log:\n{log}"
    );
}

/// A home whose fake `ray` runs task processes outside its group (`join_with_task`).
fn home_with_tasks() -> Home {
    Home::new(
        BIN,
        Options {
            mode: "join_with_task",
            ..Options::default()
        },
    )
}

/// Starts a daemon on `tasks`' home and waits until it is connected and its worker's task
/// processes run: the daemon, the worker's pid and the task pids.
fn connected_with_tasks(tasks: &Tasks) -> (Daemon, u32, Vec<u32>) {
    let daemon = tasks.home.daemon();
    let status = tasks.home.wait_phase("connected", secs(10));
    let worker = worker_pid(&status).expect("worker pid");
    let running = tasks.wait_for(2);
    assert!(running.iter().all(|p| alive(*p)), "{running:?}");
    assert!(
        running.iter().all(|p| !group_members(worker).contains(p)),
        "the tasks run outside the worker's group"
    );
    (daemon, worker, running)
}

#[test]
fn a_stop_leaves_no_task_subprocess_behind() {
    let home = home_with_tasks();
    let tasks = Tasks { home: &home };
    let mut decoy = Decoy::spawn();
    let (mut daemon, worker, first) = connected_with_tasks(&tasks);

    let out = home.cli(&["pause"]);
    assert!(out.status.success(), "pause: {}", text(&out.stderr));
    home.assert_gone("the worker", worker, secs(STOP_GRACE_SECS + 3));
    tasks.assert_all_gone("after pause", &first, secs(3));
    decoy.assert_untouched("after pause");

    let out = home.cli(&["resume"]);
    assert!(out.status.success(), "resume: {}", text(&out.stderr));
    let status = home.wait_connected_anew(Some(worker), secs(10));
    let second_worker = worker_pid(&status).expect("worker pid");
    let second: Vec<u32> = tasks.wait_for(4).split_off(2);
    let out = home.cli(&["quit"]);
    assert!(out.status.success(), "quit: {}", text(&out.stderr));
    let exit = daemon.wait_exit(secs(STOP_GRACE_SECS + 5));
    assert!(
        exit.is_some(),
        "the daemon did not exit\n{}",
        home.diagnostics()
    );
    home.assert_gone("the worker", second_worker, secs(2));
    tasks.assert_all_gone("after quit", &second, secs(2));
    decoy.assert_untouched("after quit");
}

#[test]
fn an_orphaned_worker_and_its_task_subprocesses_are_stopped_by_the_next_supervisor() {
    let home = home_with_tasks();
    let tasks = Tasks { home: &home };
    let mut decoy = Decoy::spawn();
    let (mut first, orphan, left) = connected_with_tasks(&tasks);
    let raylet = home.starts()[0].raylet.expect("raylet pid");

    first.kill_hard();
    thread::sleep(Duration::from_millis(500));
    // Whatever the parent-death signal did to `ray start`, its raylet and the tasks live on.
    assert!(alive(raylet), "the raylet died with the supervisor");
    assert!(left.iter().all(|p| alive(*p)), "{left:?}");
    assert!(home.file("worker.pid").exists(), "the pid file remains");

    let _second = home.daemon();
    home.wait_connected_anew(Some(orphan), secs(15));
    home.assert_gone("the orphan", orphan, secs(3));
    home.assert_gone("the orphan's raylet", raylet, secs(3));
    tasks.assert_all_gone("after the next supervisor started", &left, secs(3));
    decoy.assert_untouched("after the orphan was stopped");
}

/// Linux only: macOS has no parent-death signal (there the next supervisor's orphan cleanup
/// stops the worker).
#[cfg(target_os = "linux")]
#[test]
fn the_worker_lives_with_its_supervisor_and_gets_sigterm_when_it_is_killed() {
    let home = Home::new(BIN, Options::default());
    let mut daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    let worker = worker_pid(&status).expect("worker pid");
    // The signal fires when the thread that started the worker ends: tokio's blocking threads
    // end after 10 s idle, so a worker started from one would die here.
    thread::sleep(secs(12));
    let status = home.status().expect("status");
    assert_eq!(worker_pid(&status), Some(worker), "{status}");
    assert!(alive(worker));
    assert_eq!(home.starts().len(), 1);

    daemon.kill_hard();
    // `ray start` itself: the fake leaves its raylet for the group kill that no longer comes
    // (real Ray's `--block` stops its raylet on SIGTERM; the next supervisor stops what is left).
    home.wait_until(
        "`ray start` of the killed supervisor to be gone",
        secs(3),
        || !alive(worker),
    );
}

#[test]
fn ray_output_with_invalid_utf8_and_a_huge_line_still_joins() {
    let home = Home::new(
        BIN,
        Options {
            mode: "garbage_join",
            ..Options::default()
        },
    );
    let _daemon = home.daemon();
    home.wait_phase("connected", secs(15));
    let log = home.read("ray-worker.out");
    assert!(
        log.contains("caf\u{fffd} \u{fffd}\u{fffd} not UTF-8"),
        "{log:.2000}"
    );
    let cut = log
        .lines()
        .find(|l| l.starts_with("xxxx"))
        .expect("the long line, cut");
    assert!(cut.len() < 9 * 1024, "{} bytes kept", cut.len());
    assert!(
        cut.ends_with("more bytes of this line dropped]"),
        "{:.100}",
        &cut[cut.len() - 100..]
    );
    assert!(log.contains("Ray runtime started."));
}

#[test]
fn a_stale_pid_file_naming_another_process_leaves_it_alone() {
    let home = Home::new(BIN, Options::default());
    let mut decoy = Decoy::spawn();
    let pid = decoy.pid();
    // The decoy's pid and group, but a start time that is not the decoy's: the pid was
    // "recycled" since the worker it named died.
    fs::write(
        home.file("worker.pid"),
        format!("{{\"pid\":{pid},\"pgid\":{pid},\"start_time\":1}}"),
    )
    .expect("write worker.pid");
    let _daemon = home.daemon();
    home.wait_phase("connected", secs(10));
    decoy.assert_untouched("after the daemon started");
    let log = home.read("worker.log");
    assert!(
        log.contains(&format!("Left pid {pid} alone")),
        "worker.log:\n{log}"
    );
}

#[test]
fn a_lost_head_stops_the_worker_after_the_grace_and_its_return_rejoins() {
    let grace = 3;
    let mut home = Home::new(
        BIN,
        Options {
            grace_secs: grace,
            ..Options::default()
        },
    );
    let _daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    let first = worker_pid(&status).expect("worker pid");

    let lost = Instant::now();
    home.head.down();
    let status = home.wait_phase("disconnecting", secs(5));
    assert_eq!(worker_pid(&status), Some(first), "kept during the grace");
    assert_eq!(
        status["status"]["unreachable"]["kind"], "refused",
        "{status}"
    );
    assert!(alive(first));

    let status = home.wait_status(
        "phase `disconnected` with no worker",
        secs(grace + 5),
        |s| phase_of(s) == "disconnected" && worker_pid(s).is_none(),
    );
    let after = lost.elapsed();
    assert!(
        after >= secs(grace),
        "the worker was stopped {after:?} after the head was lost, before the {grace} s grace"
    );
    home.assert_gone("the first worker", first, secs(3));
    assert!(summary(&status).contains("retrying"), "{status}");
    assert_eq!(home.starts().len(), 1, "no start while the head is away");

    let back = Instant::now();
    home.head.up();
    let status = home.wait_connected_anew(Some(first), secs(4));
    eprintln!("rejoined {:?} after the head came back", back.elapsed());
    assert_eq!(home.starts().len(), 2);
    assert_eq!(worker_pid(&status), Some(home.starts()[1].pid));
}

#[test]
fn cli_commands_validate_and_persist() {
    let machine = machine_cpus();
    let home = Home::new(
        BIN,
        Options {
            cpus: machine,
            ..Options::default()
        },
    );
    let _daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    let first = worker_pid(&status).expect("worker pid");
    let before = home.read("config.toml");

    for bad in ["0", "9999"] {
        let out = home.cli(&["cpus", bad]);
        let err = text(&out.stderr);
        assert!(
            !out.status.success(),
            "cpus {bad} succeeded: {}",
            text(&out.stdout)
        );
        assert!(
            err.contains(&format!("choose 1 to {machine}")),
            "cpus {bad}: {err}"
        );
        assert_eq!(
            home.read("config.toml"),
            before,
            "cpus {bad} changed config.toml"
        );
    }
    let out = home.cli(&["head", "http://x"]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "head http://x succeeded");
    assert!(
        err.contains("`http://x` is not a head address") && err.contains("host:port"),
        "{err}"
    );
    assert_eq!(
        home.read("config.toml"),
        before,
        "head http://x changed config.toml"
    );
    let status = home.status().expect("status");
    assert_eq!(phase_of(&status), "connected");
    assert_eq!(
        worker_pid(&status),
        Some(first),
        "a refused command restarted the worker"
    );
    assert_eq!(home.starts().len(), 1);

    if machine >= 2 {
        let out = home.cli(&["cpus", "1"]);
        assert!(out.status.success(), "cpus 1: {}", text(&out.stderr));
        assert_eq!(home.config()["cpus"].as_integer(), Some(1));
        let status = home.wait_connected_anew(Some(first), secs(10));
        assert_eq!(status["status"]["worker_cpus"], 1, "{status}");
        home.assert_gone("the worker with the old CPU count", first, secs(3));
        let starts = home.starts();
        assert_eq!(starts.len(), 2);
        assert!(
            starts[1].args.contains(&"--num-cpus=1".to_string()),
            "{:?}",
            starts[1]
        );
    } else {
        eprintln!("this machine has 1 CPU: the `cpus 1` restart is not tested");
    }

    // A valid head: saved, and the worker is replaced by one joining it.
    let other = FakeHead::start();
    let old_head_worker = worker_pid(&home.status().expect("status")).expect("worker pid");
    let address = format!("127.0.0.1:{}", other.port());
    let out = home.cli(&["head", &address]);
    assert!(
        out.status.success(),
        "head {address}: {}",
        text(&out.stderr)
    );
    assert_eq!(home.config()["head"].as_str(), Some(address.as_str()));
    let status = home.wait_connected_anew(Some(old_head_worker), secs(10));
    assert_eq!(status["status"]["head"], address.as_str(), "{status}");
    let last = home.starts().pop().expect("a start");
    assert!(
        last.args.contains(&format!("--address={address}")),
        "{last:?}"
    );
    home.assert_gone("the worker of the old head", old_head_worker, secs(3));

    let worker = worker_pid(&status).expect("worker pid");
    let out = home.cli(&["pause"]);
    assert!(out.status.success(), "pause: {}", text(&out.stderr));
    assert_eq!(home.config()["paused"].as_bool(), Some(true));
    let status = home.wait_status("phase `paused` with no worker", secs(5), |s| {
        phase_of(s) == "paused" && worker_pid(s).is_none()
    });
    assert_eq!(status["status"]["paused"], true);
    home.assert_gone("the paused worker", worker, secs(3));

    let out = home.cli(&["resume"]);
    assert!(out.status.success(), "resume: {}", text(&out.stderr));
    assert!(!home.config()["paused"].as_bool().unwrap_or(false));
    home.wait_connected_anew(Some(worker), secs(10));
}

#[test]
fn a_second_daemon_on_the_same_home_is_refused_naming_the_holder() {
    let home = Home::new(BIN, Options::default());
    let first = home.daemon();
    home.wait_phase("connected", secs(10));

    let out = run_with_timeout(home.command(&["daemon"]), secs(10)).expect("second daemon");
    let err = text(&out.stderr);
    assert!(!out.status.success(), "a second daemon ran: {err}");
    assert!(
        err.contains(&format!("already running (pid {})", first.pid())),
        "{err}"
    );
    // The first one is unharmed.
    let status = home.status().expect("the first daemon still answers");
    assert_eq!(status["pid"], first.pid());
    assert_eq!(phase_of(&status), "connected");
    assert_eq!(home.starts().len(), 1);
}

#[test]
fn status_without_a_daemon_says_not_running() {
    let home = Home::new(BIN, Options::default());
    let out = home.cli(&["status", "--json"]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(err.contains("not running"), "{err}");
}

#[test]
fn quit_stops_the_worker_and_exits_cleanly() {
    let home = Home::new(BIN, Options::default());
    let mut daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    let worker = worker_pid(&status).expect("worker pid");
    assert!(home.file("control.sock").exists());

    let out = home.cli(&["quit"]);
    assert!(
        out.status.success(),
        "quit: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let exit = daemon.wait_exit(secs(5));
    assert!(
        exit.is_some_and(|s| s.code() == Some(0)),
        "daemon exit: {exit:?}\n{}",
        home.diagnostics()
    );
    home.assert_gone("the worker", worker, secs(2));
    assert!(!home.file("control.sock").exists(), "the socket was left");
    assert!(!home.file("worker.pid").exists(), "the pid file was left");
    let log = home.read("worker.log");
    assert!(log.contains("Shutting down"), "{log}");
}

#[test]
fn sigterm_to_the_daemon_stops_the_worker_and_exits_cleanly() {
    let home = Home::new(BIN, Options::default());
    let mut daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    let worker = worker_pid(&status).expect("worker pid");

    // What launchd and systemd send to stop a service.
    kill(Pid::from_raw(daemon.pid() as i32), Signal::SIGTERM).expect("SIGTERM the daemon");
    let exit = daemon.wait_exit(secs(5));
    assert!(
        exit.is_some_and(|s| s.code() == Some(0)),
        "daemon exit: {exit:?}\n{}",
        home.diagnostics()
    );
    home.assert_gone("the worker", worker, secs(2));
    assert!(!home.file("control.sock").exists(), "the socket was left");
    assert!(!home.file("worker.pid").exists(), "the pid file was left");
}

/// A Running `tailscale status --json`, shaped like tailscale's ipnstate.Status (constructed:
/// no complete recorded sample with peers exists; the field names follow the recorded ones in
/// tests/fixtures/tailscale_status_*.json).
const TAILSCALE_RUNNING: &str = r#"{
  "BackendState": "Running",
  "Self": { "HostName": "macbook-air", "DNSName": "macbook-air.tail1234.ts.net.",
            "TailscaleIPs": ["100.101.102.103", "fd7a:115c:a1e0::1"], "Online": true },
  "Peer": { "nodekey:abc": { "HostName": "desktop", "DNSName": "desktop.tail1234.ts.net.",
            "TailscaleIPs": ["100.64.0.1"], "Online": true } }
}"#;

#[test]
fn with_tailscale_running_the_node_announces_its_tailscale_address() {
    let home = Home::new(
        BIN,
        Options {
            tailscale_json: Some(TAILSCALE_RUNNING),
            ..Options::default()
        },
    );
    let _daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    assert_eq!(status["node_ip"], "100.101.102.103", "{status}");
    let starts = home.starts();
    assert!(
        starts[0]
            .args
            .iter()
            .any(|a| a == "--node-ip-address=100.101.102.103"),
        "{:?}",
        starts[0].args
    );
}

/// A recorded `tailscale status --json` of a stopped Tailscale.
const TAILSCALE_STOPPED: &str =
    include_str!("fixtures/tailscale_status_stopped_rockstor_SHORTENED.json");

#[test]
fn a_loopback_head_is_joined_whatever_tailscale_says() {
    // The Tailscale guard (issue 9, item 1) is for heads at Tailscale addresses only; the
    // rule itself is tested on the virtual clock (supervisor_scenarios, driver_paused_time),
    // since the fake head can only listen on loopback here.
    let home = Home::new(
        BIN,
        Options {
            tailscale_json: Some(TAILSCALE_STOPPED),
            ..Options::default()
        },
    );
    let _daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    assert_eq!(
        status["status"]["unreachable"],
        serde_json::Value::Null,
        "{status}"
    );
    assert_eq!(home.starts().len(), 1);
}

#[test]
fn the_status_says_which_ray_runs_and_its_version() {
    let home = Home::new(BIN, Options::default());
    let _daemon = home.daemon();
    let status = home.wait_status("the ray in use", secs(20), |s| {
        !s["status"]["ray"].is_null()
    });
    assert_eq!(
        status["status"]["ray"]["path"],
        bittrader_test_support::daemon::fake_ray()
            .display()
            .to_string()
    );
    assert_eq!(status["status"]["ray"]["version"], "2.51.2", "{status}");
    let text = String::from_utf8_lossy(&home.cli(&["status"]).stdout).into_owned();
    assert!(text.contains("ray ") && text.contains("(2.51.2)"), "{text}");
    assert!(home.read("worker.log").contains("Ray: "), "logged at start");
}

// ---------------------------------------------------------------------------------------------
// Priority (`[ray] nice`)
// ---------------------------------------------------------------------------------------------

/// Field `n` of `/proc/PID/stat`, numbered as in proc(5) (4 = ppid, 6 = session, 19 = nice).
fn stat_field(pid: u32, n: usize) -> i64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    let (_, rest) = stat.rsplit_once(')').expect("`pid (comm) …`");
    rest.split_whitespace()
        .nth(n - 3)
        .and_then(|f| f.parse().ok())
        .unwrap_or_else(|| panic!("no field {n} in {stat}"))
}

fn nice_of(pid: u32) -> i64 {
    stat_field(pid, 19)
}

fn session_of(pid: u32) -> i64 {
    stat_field(pid, 6)
}

/// A home with `[ray] nice = N` whose fake `ray` also runs a task outside its group.
fn home_with_nice(nice: u8) -> Home {
    let home = home_with_tasks();
    let mut config = home.read("config.toml");
    config.push_str(&format!("\n[ray]\nnice = {nice}\n"));
    fs::write(home.file("config.toml"), config).expect("write config.toml");
    home
}

#[test]
fn the_worker_and_everything_it_starts_run_at_the_configured_nice() {
    let home = home_with_nice(7);
    let tasks = Tasks { home: &home };
    let (daemon, worker, running) = connected_with_tasks(&tasks);
    let raylet = home.starts()[0].raylet.expect("the fake's raylet");
    assert_eq!(
        nice_of(daemon.pid()),
        0,
        "the supervisor itself is not niced"
    );
    for pid in [worker, raylet].into_iter().chain(running) {
        assert_eq!(nice_of(pid), 7, "pid {pid} (worker {worker})");
    }
    // Its own session, so that the kernel's autogroup weighs it against the user's sessions,
    // at the same niceness; still the leader of its own process group.
    assert_eq!(session_of(worker), i64::from(worker));
    assert_eq!(stat_field(worker, 5), i64::from(worker), "its own group");
    let autogroup = fs::read_to_string(format!("/proc/{worker}/autogroup")).unwrap_or_default();
    if !autogroup.is_empty() {
        assert!(autogroup.trim_end().ends_with("nice 7"), "{autogroup}");
    }
}

#[test]
fn nice_zero_leaves_the_workers_priority_and_session_alone() {
    let home = home_with_nice(0);
    let tasks = Tasks { home: &home };
    let (daemon, worker, running) = connected_with_tasks(&tasks);
    for pid in [worker].into_iter().chain(running) {
        assert_eq!(nice_of(pid), nice_of(daemon.pid()), "pid {pid}");
    }
    assert_eq!(session_of(worker), session_of(daemon.pid()));
    assert_eq!(stat_field(worker, 5), i64::from(worker), "its own group");
}
