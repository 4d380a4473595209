//! The fault matrix, in the real two-host lab (real Ray 2.60, tests/lab/lab.sh): one lab, one
//! daemon, the faults one after another. After each: exactly one worker node of the laptop ALIVE
//! at the head (none when it should be paused), no process of ours left over, the daemon alive.
//!
//! Grouped into one test so that the lab (about a minute to bring up) is brought up once; each
//! row says what it checks in its `row(…)` line, which the log shows as it goes.

use std::time::{Duration, Instant};

use bittrader_test_support::lab::{lab, lab_ok, laptop_nodes, ready, Driver, Lab, LabDaemon};
use bittrader_test_support::secs;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");
const TEST: &str = "real-Ray fault matrix";

/// The node ids of the laptop's ALIVE nodes, as the head sees them.
fn alive_laptop_nodes() -> Vec<String> {
    laptop_nodes()
        .into_iter()
        .filter(|n| n["state"] == "ALIVE")
        .filter_map(|n| n["node_id"].as_str().map(str::to_string))
        .collect()
}

/// The pids of the laptop host's processes whose command line contains `pattern`.
fn laptop_pids(pattern: &str) -> Vec<u32> {
    let out = lab(&["laptop-exec", "pgrep", "-f", pattern]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// The raylets running in the laptop host.
fn laptop_raylets() -> Vec<u32> {
    laptop_pids("ray/core/src/ray/raylet/raylet")
}

fn row(name: &str) -> Instant {
    eprintln!("\n===== fault: {name}");
    Instant::now()
}

/// The end state every row must reach: connected, one node ALIVE at the head (not `old`), one
/// raylet on the laptop.
fn one_worker(daemon: &LabDaemon, within: Duration, old: Option<&str>) -> (String, Duration) {
    let took = daemon.wait(
        "connected with one (new) node ALIVE at the head and one raylet",
        within,
        |d| {
            let nodes = alive_laptop_nodes();
            d.phase() == "connected"
                && nodes.len() == 1
                && old.is_none_or(|old| nodes[0] != old)
                && laptop_raylets().len() == 1
        },
    );
    (alive_laptop_nodes()[0].clone(), took)
}

#[test]
fn the_fault_matrix() {
    let Some(ray) = ready(TEST) else {
        return;
    };
    lab_ok(&["up"]);
    let _lab = Lab;
    let markers = tempfile::tempdir_in("/tmp").expect("markers");
    let mut daemon = LabDaemon::start(
        BIN,
        &ray,
        "btw-lab-faults-",
        "\n[timing]\ngrace_secs = 15\nstop_grace_secs = 10\n",
    );
    let (first, joined) = one_worker(&daemon, secs(90), None);
    eprintln!("joined after {joined:?} as {first}");

    // ---- The head machine restarts (killed, started again: a new cluster).
    let _t = row("head restarted");
    lab_ok(&["head-restart"]);
    let back = Instant::now();
    let (second, _) = one_worker(&daemon, secs(60), Some(&first));
    let rejoined = back.elapsed();
    eprintln!("rejoined the new head {rejoined:?} after it was back");
    assert_ne!(second, first, "a node of the new cluster");
    assert!(
        rejoined <= secs(10),
        "rejoined {rejoined:?} after the head was back (≤ 10 s)"
    );

    // ---- Our worker's raylet is killed -9.
    let _t = row("raylet of our worker killed -9");
    let raylet = laptop_raylets();
    assert_eq!(raylet.len(), 1);
    lab_ok(&["laptop-exec", "kill", "-9", &raylet[0].to_string()]);
    let (third, replaced) = one_worker(&daemon, secs(90), Some(&second));
    eprintln!("replaced after {replaced:?}");
    assert_ne!(third, second, "a new node");
    assert!(
        daemon.status()["status"]["fault"].is_null(),
        "one death is not a fault: {}",
        daemon.status()
    );

    // ---- The supervisor is killed -9 while draining, then started again.
    let _t = row("supervisor killed -9 while draining, then started");
    let mut driver = Driver::start(&ray, markers.path());
    driver.submit("spawner spawned 600");
    let started = driver.ask("started spawned 60");
    let child = started["started"][0]["child_pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("the task started on the laptop: {started}"));
    assert!(
        !laptop_pids("sleep 600").is_empty(),
        "the task's child runs"
    );
    assert!(daemon.cli(&["pause", "--after-tasks"]).status.success());
    daemon.wait("draining", secs(10), |d| d.phase() == "draining");
    daemon.kill_and_start_again(&ray);
    daemon.wait("the new supervisor paused (as asked)", secs(60), |d| {
        d.phase() == "paused"
    });
    assert!(
        laptop_pids("sleep 600").is_empty(),
        "the task's child (pid {child} in the laptop host) was stopped with the old worker"
    );
    assert!(laptop_raylets().is_empty(), "the old worker is gone");
    assert!(daemon.cli(&["resume"]).status.success());
    let (fourth, _) = one_worker(&daemon, secs(90), Some(&third));
    assert_ne!(fourth, third, "one new worker");
    drop(driver);

    // ---- Tailscale stopped while the head's address still answers (from elsewhere).
    let _t = row("Tailscale stopped while the head address answers");
    let tailscale_json = daemon.home().join("tailscale.json");
    let running = std::fs::read_to_string(&tailscale_json).expect("tailscale.json");
    assert!(daemon.cli(&["pause"]).status.success());
    daemon.wait("paused", secs(30), |d| d.phase() == "paused");
    let stopped = running.replace("\"Running\"", "\"Stopped\"");
    assert_ne!(stopped, running);
    std::fs::write(&tailscale_json, stopped).expect("tailscale stopped");
    // Older than any answer a start may use.
    std::thread::sleep(secs(6));
    assert!(daemon.cli(&["resume"]).status.success());
    std::thread::sleep(secs(15));
    let status = daemon.status();
    assert!(laptop_raylets().is_empty(), "no worker: {status}");
    assert!(alive_laptop_nodes().is_empty(), "no node at the head");
    assert_eq!(
        status["status"]["unreachable"]["problem"]["kind"], "stopped",
        "the state says why it waits: {status}"
    );
    std::fs::write(&tailscale_json, &running).expect("tailscale running");
    let (fifth, _) = one_worker(&daemon, secs(90), Some(&fourth));

    // ---- config.toml edited by hand while running: valid, then invalid.
    let _t = row("config.toml edited by hand while running (valid, then invalid)");
    let config = daemon.home().join("config.toml");
    let text = std::fs::read_to_string(&config).expect("config.toml");
    std::fs::write(&config, text.replace("cpus = 1", "# two now\ncpus = 2")).expect("a hand edit");
    let (sixth, _) = one_worker(&daemon, secs(90), Some(&fifth));
    let cpus = laptop_nodes()
        .into_iter()
        .find(|n| n["node_id"] == sixth.as_str())
        .and_then(|n| n["cpus"].as_f64());
    assert_eq!(cpus, Some(2.0), "the head sees the edited CPU count");
    let invalid = std::fs::read_to_string(&config)
        .expect("config.toml")
        .replace("cpus = 2", "cpus = \"lots\"");
    std::fs::write(&config, &invalid).expect("an invalid edit");
    std::thread::sleep(secs(6));
    assert_eq!(
        std::fs::read_to_string(&config).expect("config.toml"),
        invalid,
        "the file is left as the user wrote it"
    );
    assert_eq!(
        alive_laptop_nodes(),
        vec![sixth.clone()],
        "the worker is untouched"
    );
    assert!(
        daemon.log().contains("cpus"),
        "the invalid edit is reported"
    );
    std::fs::write(&config, invalid.replace("cpus = \"lots\"", "cpus = 2")).expect("fixed");

    // ---- Random flaps of 1-25 s (LAB_FLAPS of them; 50 in the issue, 8 by default for CI).
    let flaps: u64 = std::env::var("LAB_FLAPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    let _t = row(&format!("{flaps} random flaps of 1-25 s"));
    let mut seed: u64 = 0x5eed_f1a9;
    for flap in 0..flaps {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let cut = 1 + (seed >> 33) % 25;
        lab_ok(&["cut"]);
        std::thread::sleep(secs(cut));
        lab_ok(&["heal"]);
        eprintln!("flap {flap}: {cut} s");
        std::thread::sleep(secs(3));
    }
    one_worker(&daemon, secs(120), None);

    assert!(
        daemon.cli(&["status"]).status.success(),
        "the daemon is alive at the end"
    );
}
