//! Real Ray, two hosts (tests/lab/lab.sh): the graceful drain of `runtime::drain` against a
//! real head.
//!
//! A `ray start --block` runs in the laptop host (launched the way worker.rs does it: its own
//! process group, the macOS opt-in in its environment); a driver in the head host
//! (tests/lab/drain_driver.py) submits tasks and says where each attempt ran.
//!
//! * Pause after current tasks: an 8 s task runs on the laptop; `node_id` → `request_drain`
//!   (60 s) → `wait_until_idle`: the task finishes on the laptop, tasks submitted after the
//!   drain run on the head, and after the idle verdict SIGTERM to the group leaves the node
//!   DEAD at the head.
//! * Pause now: SIGTERM to the group while the task runs: it is retried and finishes on the head.
//!
//! * Through the daemon: the same two cases chosen the way a user does, `bittrader-worker pause
//!   --after-tasks` (the menu's "Pause after current tasks") and `bittrader-worker pause` ("Pause
//!   now"), with the daemon running in the laptop host.
//!
//! Same skip rules as tests/lab_ray.rs: without root, namespaces or a Ray install
//! (`BITTRADER_TEST_RAY`) the test says so loudly and passes, unless `BITTRADER_REQUIRE_LAB`
//! is set. One lab per machine: if a lab is already up (another test, the benchmark), this
//! test waits for it to go away before starting its own.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bittrader_worker::model::HeadAddress;
use bittrader_worker::runtime::drain;
use bittrader_worker::runtime::worker::RayCommand;
use bittrader_worker::supervisor::drain::IdleRule;
use bittrader_worker::supervisor::settings::DRAIN_SAMPLE_EVERY;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use bittrader_test_support::lab::{
    lab_dir, lab_ok, ready, time_until, worker_ray, Driver, Lab, LabDaemon, HEAD, LAPTOP,
};

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");
/// How these tests are named when they must skip.
const TEST: &str = "real-Ray drain test";
/// How long the tasks run.
const TASK_SECS: u64 = 8;

/// The head's view of the laptop's nodes: (node_id, state, state_message).
fn laptop_nodes() -> Vec<(String, String, String)> {
    bittrader_test_support::lab::laptop_nodes()
        .into_iter()
        .map(|n| {
            let text = |key: &str| n[key].as_str().unwrap_or_default().to_string();
            (text("node_id"), text("state"), text("state_message"))
        })
        .collect()
}

fn node_state(id: &str) -> Option<(String, String)> {
    laptop_nodes()
        .into_iter()
        .find(|(node, _, _)| node == id)
        .map(|(_, state, message)| (state, message))
}

fn wait_for(what: &str, limit: Duration, check: impl FnMut() -> bool) -> Duration {
    time_until(limit, check).unwrap_or_else(|| {
        panic!(
            "timed out after {limit:?} waiting for {what}; the head sees {:?}",
            laptop_nodes()
        )
    })
}

/// The two tests of this file share the one lab: one at a time.
static LAB_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Waits (polling every 15 s, up to 15 min) until nobody else's lab is up.
fn wait_for_a_free_lab() {
    let start = Instant::now();
    while Path::new("/run/netns/btw-head").exists() || Path::new("/run/netns/btw-laptop").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "another lab has been up for 15 min"
        );
        eprintln!("a lab is up (another test or the benchmark): waiting for it to go");
        std::thread::sleep(Duration::from_secs(15));
    }
}

/// `ray start --block` in the laptop host, as worker.rs starts it.
struct Worker {
    /// `lab.sh laptop-exec ...`
    child: Child,
    /// The `ray start` process, as seen from this test. laptop-exec runs it with setsid, so it
    /// leads its own process group, as worker.rs's `process_group(0)` makes it do.
    ray_pid: u32,
}

impl Worker {
    /// Starts it, its output going to `log`, and waits until it says "Ray runtime started."
    /// (SIGTERM before that line waits ~30 s for Ray's start-up to time out, recorded in
    /// worker_sigterm_group_before_runtime_started_ray260.txt.)
    fn start(ray: &Path, log: &Path) -> Worker {
        let out = std::fs::File::create(log).expect("worker log");
        let err = out.try_clone().expect("worker log");
        let child = Command::new("bash")
            .arg(lab_dir().join("lab.sh"))
            .arg("laptop-exec")
            .arg(ray)
            .args([
                "start",
                "--block",
                &format!("--address={HEAD}:6379"),
                "--num-cpus=1",
                &format!("--node-ip-address={LAPTOP}"),
                "--disable-usage-stats",
            ])
            .env("RAY", ray)
            .env("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("ray start");
        let root = child.id();
        let mut ray_pid = None;
        wait_for(
            "`ray start` in the laptop host",
            Duration::from_secs(10),
            || {
                ray_pid = find_ray_start(root);
                ray_pid.is_some()
            },
        );
        let ray_pid = ray_pid.expect("found");
        let group = nix::unistd::getpgid(Some(Pid::from_raw(ray_pid as i32)));
        assert_eq!(
            group,
            Ok(Pid::from_raw(ray_pid as i32)),
            "`ray start` leads its group"
        );
        wait_for("Ray runtime started", Duration::from_secs(60), || {
            std::fs::read_to_string(log).is_ok_and(|text| text.contains("Ray runtime started"))
        });
        Worker { child, ray_pid }
    }

    /// SIGTERM to `ray start`'s process group (what `WorkerProcess::stop` does); waits for it
    /// to end and returns how long that took.
    fn stop(&mut self) -> Duration {
        let start = Instant::now();
        let _ = killpg(Pid::from_raw(self.ray_pid as i32), Signal::SIGTERM);
        wait_for("`ray start` to exit", Duration::from_secs(40), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        let took = start.elapsed();
        // worker.rs escalates to SIGKILL after the stop grace (10 s by default).
        assert!(
            took < Duration::from_secs(10),
            "`ray start` took {took:?} to stop"
        );
        took
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.running() {
            let _ = killpg(Pid::from_raw(self.ray_pid as i32), Signal::SIGKILL);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `ray start --block` process below `root`, from /proc (this test sees the laptop host's
/// processes with their outer pids).
fn find_ray_start(root: u32) -> Option<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmd = std::fs::read_to_string(entry.path().join("cmdline"))
            .unwrap_or_default()
            .replace('\0', " ");
        parents.push((pid, ppid, cmd));
    }
    let mut tree = vec![root];
    let mut grew = true;
    while grew {
        grew = false;
        for (pid, ppid, _) in &parents {
            if ppid.is_some_and(|p| tree.contains(&p)) && !tree.contains(pid) {
                tree.push(*pid);
                grew = true;
            }
        }
    }
    parents
        .iter()
        .find(|(pid, _, cmd)| {
            // Not the wrappers (lab.sh, nsenter, setsid) whose arguments hold the same words.
            tree.contains(pid)
                && cmd.contains(" start --block")
                && !["lab.sh", "nsenter", "setsid"]
                    .iter()
                    .any(|wrapper| cmd.contains(wrapper))
        })
        .map(|(pid, _, _)| *pid)
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

fn host(value: &Value) -> &str {
    value["host"].as_str().unwrap_or("?")
}

#[test]
#[ignore = "slow tier: root, network namespaces and Ray"]
fn a_drained_worker_finishes_its_task_and_a_paused_one_hands_it_back() {
    let Some(ray) = ready(TEST) else {
        return;
    };
    let _one_at_a_time = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    wait_for_a_free_lab();
    let t0 = Instant::now();
    lab_ok(&["up"]);
    let _lab = Lab;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let markers = tempfile::Builder::new()
        .prefix("btw-drain-")
        .tempdir_in("/tmp")
        .expect("marker dir");
    let head: HeadAddress = format!("{HEAD}:6379").parse().expect("head");
    // `ray drain-node` must run where the worker is: in the laptop host.
    let ray_here = RayCommand {
        ray: lab_dir().join("ray-in-laptop.sh"),
        auth_token_file: None,
        processes: Default::default(),
        temp_dir: None,
    };
    let mut driver = Driver::start(&ray, markers.path());
    eprintln!("[{:>5.1?}] lab and driver up", t0.elapsed());

    // ---- Pause after current tasks -----------------------------------------------------
    let mut worker = Worker::start(&ray, &markers.path().join("worker1.log"));
    let joined = wait_for("the laptop node", Duration::from_secs(60), || {
        laptop_nodes().iter().any(|(_, state, _)| state == "ALIVE")
    });
    eprintln!("[{:>5.1?}] worker joined in {joined:?}", t0.elapsed());
    driver.submit(&format!("pin busy1 {TASK_SECS}"));
    let started = driver.ask("started busy1 30");
    assert_eq!(host(&started["started"][0]), "btw-laptop", "{started}");

    let id = drain::node_id(worker.ray_pid).expect("the raylet's node id");
    let alive: Vec<_> = laptop_nodes()
        .into_iter()
        .filter(|(_, state, _)| state == "ALIVE")
        .map(|(node, _, _)| node)
        .collect();
    assert_eq!(
        alive,
        vec![id.clone()],
        "the head knows this node by that id"
    );

    let asked = Instant::now();
    let asked_wall = unix_now();
    let message = "bittrader-worker test: pause after current tasks";
    runtime
        .block_on(drain::request_drain(
            &ray_here,
            &head,
            &id,
            message,
            Duration::from_secs(60),
        ))
        .expect("drain accepted");
    let request_took = asked.elapsed();
    eprintln!(
        "[{:>5.1?}] drain accepted in {request_took:?}",
        t0.elapsed()
    );

    for tag in ["after1", "after2", "after3"] {
        driver.submit(&format!("free {tag} 1"));
    }
    // The supervisor's idle rule over the real process tree, as often as the supervisor looks.
    let idle = runtime.block_on(async {
        let mut rule = IdleRule::default();
        let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < give_up {
            if rule.reading(drain::sample_tree(worker.ray_pid).await) {
                return true;
            }
            tokio::time::sleep(DRAIN_SAMPLE_EVERY).await;
        }
        false
    });
    let idle_after = asked.elapsed();
    let idle_wall = unix_now();
    assert!(idle, "idle within 60 s");
    eprintln!(
        "[{:>5.1?}] idle {idle_after:?} after the drain request",
        t0.elapsed()
    );

    let (result, attempts) = driver.result("busy1", 30);
    assert_eq!(
        host(&result),
        "btw-laptop",
        "the running task finished here"
    );
    assert_eq!(result["node_id"], id.as_str());
    assert_eq!(attempts.len(), 1, "not retried: {attempts:?}");
    // Idle was declared after the task ended (same machine, same clock), and soon after.
    let finished = result["finished"].as_f64().expect("finished");
    let lag = idle_wall - finished;
    let began = attempts[0]["started"].as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "[{:>5.1?}] around the drain request: task {:+.2} s .. {:+.2} s, idle verdict {:+.2} s",
        t0.elapsed(),
        began - asked_wall,
        finished - asked_wall,
        idle_wall - asked_wall
    );
    assert!(
        lag >= 0.0,
        "idle declared {:.2} s before the task finished",
        -lag
    );
    assert!(
        lag < 3.0,
        "idle declared {lag:.2} s after the task finished"
    );
    eprintln!(
        "[{:>5.1?}] the task finished on the laptop {lag:.2} s before the idle verdict",
        t0.elapsed()
    );
    for tag in ["after1", "after2", "after3"] {
        let (result, _) = driver.result(tag, 30);
        assert_eq!(
            host(&result),
            "btw-head",
            "{tag} was scheduled on the drained node"
        );
    }

    // Ray 2.60: the drained raylet exits by itself once idle, but `ray start` keeps blocking.
    let dead_before_stop = wait_for(
        "the drained node to be DEAD",
        Duration::from_secs(10),
        || node_state(&id).is_some_and(|(state, _)| state == "DEAD"),
    );
    let (_, why) = node_state(&id).expect("node");
    assert!(why.contains(message), "death reason: {why}");
    assert!(worker.running(), "`ray start --block` exited by itself");
    let stop_took = worker.stop();
    eprintln!(
        "[{:>5.1?}] DEAD {dead_before_stop:?} after idle ({why}); `ray start` stopped in {stop_took:?}",
        t0.elapsed()
    );

    // ---- Pause now ----------------------------------------------------------------------
    let mut worker = Worker::start(&ray, &markers.path().join("worker2.log"));
    let joined = wait_for("the laptop node again", Duration::from_secs(60), || {
        laptop_nodes().iter().any(|(_, state, _)| state == "ALIVE")
    });
    eprintln!("[{:>5.1?}] worker rejoined in {joined:?}", t0.elapsed());
    // Soft affinity: runs on the laptop while it is there, may be retried elsewhere.
    driver.submit(&format!("laptop busy2 {TASK_SECS}"));
    let started = driver.ask("started busy2 30");
    assert_eq!(host(&started["started"][0]), "btw-laptop", "{started}");
    let id2 = drain::node_id(worker.ray_pid).expect("the raylet's node id");
    let stop_took = worker.stop();
    let (result, attempts) = driver.result("busy2", 60);
    assert_eq!(
        host(&result),
        "btw-head",
        "the task was handed back to the head"
    );
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(host(&attempts[0]), "btw-laptop");
    let dead = wait_for(
        "the paused node to be DEAD",
        Duration::from_secs(30),
        || node_state(&id2).is_some_and(|(state, _)| state == "DEAD"),
    );
    eprintln!(
        "[{:>5.1?}] pause now: `ray start` stopped in {stop_took:?}, task retried on the head, \
         node DEAD {dead:?} later ({:?})",
        t0.elapsed(),
        node_state(&id2).map(|(_, why)| why)
    );
    assert!(
        t0.elapsed() < Duration::from_secs(150),
        "took {:?}",
        t0.elapsed()
    );
}

#[test]
#[ignore = "slow tier: root, network namespaces and Ray"]
fn the_daemon_pauses_after_current_tasks_or_now_as_the_user_chooses() {
    let Some(ray) = ready(TEST) else {
        return;
    };
    let _one_at_a_time = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    wait_for_a_free_lab();
    let t0 = Instant::now();
    lab_ok(&["up"]);
    let _lab = Lab;
    let markers = tempfile::Builder::new()
        .prefix("btw-drain-daemon-")
        .tempdir_in("/tmp")
        .expect("marker dir");
    let mut driver = Driver::start(&ray, markers.path());
    let daemon = LabDaemon::start(BIN, &worker_ray(&ray), "btw-drain-home-", "");
    let alive = || {
        laptop_nodes()
            .into_iter()
            .filter(|(_, state, _)| state == "ALIVE")
            .map(|(id, _, _)| id)
            .collect::<Vec<_>>()
    };
    wait_for(
        "the daemon's worker to join",
        Duration::from_secs(90),
        || daemon.phase() == "connected" && alive().len() == 1,
    );
    let id = alive()[0].clone();
    eprintln!("[{:>5.1?}] daemon connected as {id}", t0.elapsed());

    // ---- Pause after current tasks ----------------------------------------------------------
    driver.submit(&format!("pin busy1 {TASK_SECS}"));
    let started = driver.ask("started busy1 30");
    assert_eq!(host(&started["started"][0]), "btw-laptop", "{started}");
    let out = daemon.cli(&["pause", "--after-tasks"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(daemon.phase(), "draining");
    // `ray drain-node` is accepted 0.8-1.7 s after it starts (measured in the lab, README
    // "Drain"); the head shows nothing while a node drains, so the test gives it 3 s before
    // submitting the tasks that must go elsewhere.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        daemon.phase(),
        "draining",
        "still draining while busy1 runs"
    );
    for tag in ["after1", "after2"] {
        driver.submit(&format!("free {tag} 1"));
    }
    let (result, attempts) = driver.result("busy1", 30);
    assert_eq!(
        host(&result),
        "btw-laptop",
        "the running task finished here"
    );
    assert_eq!(attempts.len(), 1, "not retried: {attempts:?}");
    for tag in ["after1", "after2"] {
        let (result, _) = driver.result(tag, 30);
        assert_eq!(
            host(&result),
            "btw-head",
            "{tag} landed on the draining node"
        );
    }
    wait_for("paused, node DEAD", Duration::from_secs(30), || {
        daemon.phase() == "paused" && node_state(&id).is_some_and(|(state, _)| state == "DEAD")
    });
    let (_, why) = node_state(&id).expect("node");
    assert!(why.contains("BitTrader Worker"), "death reason: {why}");
    assert!(
        daemon.log().contains("Drained: the running tasks finished"),
        "{}",
        daemon.log()
    );
    eprintln!("[{:>5.1?}] drained and paused ({why})", t0.elapsed());

    // ---- Pause now ------------------------------------------------------------------------------
    assert!(daemon.cli(&["resume"]).status.success());
    wait_for("the worker to rejoin", Duration::from_secs(90), || {
        daemon.phase() == "connected" && alive().iter().any(|node| *node != id)
    });
    driver.submit(&format!("laptop busy2 {TASK_SECS}"));
    let started = driver.ask("started busy2 30");
    assert_eq!(host(&started["started"][0]), "btw-laptop", "{started}");
    let asked = Instant::now();
    assert!(daemon.cli(&["pause"]).status.success());
    wait_for("paused at once", Duration::from_secs(15), || {
        daemon.phase() == "paused"
    });
    let stopped = asked.elapsed();
    let (result, attempts) = driver.result("busy2", 60);
    assert_eq!(
        host(&result),
        "btw-head",
        "the task was handed back to the head"
    );
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(
        stopped < Duration::from_secs(TASK_SECS),
        "pause now took {stopped:?}: it waited for the task"
    );
    eprintln!(
        "[{:>5.1?}] paused now in {stopped:?}; the task was retried on the head",
        t0.elapsed()
    );
}
