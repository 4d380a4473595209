//! Sleep and wake as the tray forwards them from macOS (`NSWorkspaceWillSleepNotification`,
//! `NSWorkspaceDidWakeNotification`, see `src/platform/sleep.rs`): `{"cmd":"system",...}`
//! requests on the control socket, spoken here directly (one JSON line in, one out), against
//! the real `bittrader-worker daemon`, the fake `ray` (`tests/fake_ray/ray`) and a "head" that is
//! a TCP listener.
//!
//! The daemon is stopped when its guard drops (`quit`, then SIGKILL) and every process group the
//! fake `ray` recorded is killed, so a failing test leaves no processes behind (see
//! `tests/support/src/daemon.rs`).

use std::thread;
use std::time::Instant;

use bittrader_test_support::daemon::{phase_of, worker_pid, Home, Options};
use bittrader_test_support::process::group_members;
use bittrader_test_support::secs;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// A home for these tests: one CPU, the fake `ray` joining.
fn home() -> Home {
    Home::new(
        BIN,
        Options {
            prefix: "bw-sleep-",
            cpus: 1,
            ..Options::default()
        },
    )
}

#[test]
fn will_sleep_stops_the_worker_and_a_long_sleep_rejoins_at_once() {
    let home = home();
    let _daemon = home.daemon();
    let connected = home.wait_status("phase `connected`", secs(15), |s| {
        phase_of(s) == "connected" && worker_pid(s).is_some()
    });
    let starts = home.starts();
    assert_eq!(starts.len(), 1, "{starts:?}");
    let first = starts[0].clone();
    assert_eq!(worker_pid(&connected), Some(first.pid));
    assert!(
        !group_members(first.pgid).is_empty(),
        "the worker's group runs"
    );
    let config = home.read("config.toml");

    // What the tray sends on NSWorkspaceWillSleepNotification.
    let report = home.send(json!({"cmd": "system", "event": {"kind": "will_sleep"}}));
    assert_eq!(report["status"]["auto_pause"]["kind"], "asleep", "{report}");
    home.wait_until("the worker's process group to be gone", secs(10), || {
        group_members(first.pgid).is_empty()
    });
    let asleep = home.wait_status("phase `paused`, no worker", secs(5), |s| {
        phase_of(s) == "paused" && worker_pid(s).is_none()
    });
    assert_eq!(asleep["status"]["auto_pause"]["kind"], "asleep", "{asleep}");
    assert_eq!(
        asleep["status"]["paused"], false,
        "not the user's pause: {asleep}"
    );
    // Nothing starts while asleep, though the head answers every probe.
    thread::sleep(secs(2));
    assert_eq!(home.starts().len(), 1, "{}", home.diagnostics());

    // NSWorkspaceDidWakeNotification, ten minutes later.
    let woke_at = Instant::now();
    home.send(json!({"cmd": "system", "event": {"kind": "woke", "slept_secs": 600}}));
    let rejoined = home.wait_status("connected with a new worker", secs(5), |s| {
        phase_of(s) == "connected" && worker_pid(s).is_some_and(|p| p != first.pid)
    });
    assert!(woke_at.elapsed() < secs(5));
    assert_eq!(rejoined["status"]["auto_pause"], Value::Null, "{rejoined}");
    assert_eq!(home.starts().len(), 2, "{}", home.diagnostics());

    assert_eq!(
        home.read("config.toml"),
        config,
        "sleep and wake are never saved"
    );
    let log = home.read("worker.log");
    assert!(log.contains("going to sleep"), "{log}");
    assert!(log.contains("woke after 600 s"), "{log}");
}

#[test]
fn an_unknown_system_event_is_refused_and_changes_nothing() {
    let home = home();
    let _daemon = home.daemon();
    home.wait_status("phase `connected`", secs(15), |s| {
        phase_of(s) == "connected"
    });
    let reply = home
        .request(&json!({"cmd": "system", "event": {"kind": "hibernate"}}))
        .expect("an answer");
    assert_eq!(reply["ok"], false, "{reply}");
    let status = home.status().expect("status");
    assert_eq!(phase_of(&status), "connected", "{status}");
    assert_eq!(home.starts().len(), 1);
}
