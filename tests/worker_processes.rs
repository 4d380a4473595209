//! The real worker's process tree, with the real `bittrader-worker daemon` and the fake `ray`
//! (`tests/fake_ray/ray`, whose `join_with_task` mode runs a task outside the worker's group as
//! Ray's are): a stop, the kill after the grace, the orphans a killed supervisor leaves and the
//! next one stops, a stale pid file, the parent-death signal, the configured `nice`. Nothing of
//! the machine's but a `sleep` decoy is touched. The rules they follow are the simulator's, and
//! the orphan check's logic is unit-tested in `src/runtime/worker.rs`; these take seconds of
//! real time each, so they are the slow tier.

use std::fs;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use bittrader_test_support::daemon::{worker_pid, Daemon, Home, Options, STOP_GRACE_SECS};
use bittrader_test_support::process::{alive, group_members};
use bittrader_test_support::secs;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

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

#[test]
#[ignore = "slow tier: real process trees over seconds of real time"]
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
}

#[test]
#[ignore = "slow tier: real process trees over seconds of real time"]
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
#[ignore = "slow tier: real process trees over seconds of real time"]
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
#[ignore = "slow tier: real process trees over seconds of real time"]
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
#[ignore = "slow tier: real process trees over seconds of real time"]
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
#[ignore = "slow tier: real process trees over seconds of real time"]
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
#[ignore = "slow tier: real process trees over seconds of real time"]
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
#[ignore = "slow tier: real process trees over seconds of real time"]
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
#[ignore = "slow tier: real process trees over seconds of real time"]
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
