//! The driver in the simulated world ([`FakePlatform`]) under paused tokio time: the real loop,
//! channels, requests and status. These tests check wiring: each action becomes the right
//! platform call, each result the right event, status or file; the rules, timings included, are
//! tested on the simulator (`supervisor_*.rs`). Minutes of the driver run in milliseconds, and
//! "the loop never waits on IO" is checked by giving the slow operations a long duration and
//! asking the driver something meanwhile.

use std::time::Duration;

use bittrader_test_support::driver::Harness;
use bittrader_test_support::fake_platform::FakePlatform;
use bittrader_test_support::secs;
use bittrader_test_support::world::{WorkerScript, World};
use bittrader_worker::model::{Fault, Phase, TailscaleCheck, TailscaleProblem, Unreachable};
use bittrader_worker::ray_output::classify_exit;
use bittrader_worker::runtime::control::{Reply, Request};
use bittrader_worker::supervisor::{Event, Settings};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Each exit the platform reports reaches the supervisor, whose restarts become new workers and
/// whose verdict reaches the status and its summary (the backoff's delays are the simulator's).
#[tokio::test(start_paused = true)]
async fn a_crashing_worker_is_restarted_until_the_give_up_shows_in_the_status() {
    let mut h = Harness::start(WorkerScript::crashing(
        secs(1),
        Some(classify_exit(&["RuntimeError: boom".to_string()])),
    ));
    h.wait_phase(Phase::Error, secs(300)).await;
    let status = h.now().expect("a status");
    assert!(
        matches!(status.fault, Some(Fault::GaveUp { failures: 5, .. })),
        "{status:?}"
    );
    let policy = Settings::default().backoff;
    assert_eq!(h.world.record().starts.len(), policy.burst);
    let summary = h.status.borrow().summary.clone();
    assert!(
        summary.contains("5 times") && summary.contains("boom"),
        "{summary}"
    );
    h.stop().await;
}

/// With no connection held the probes watch the head: their answers reach the supervisor, and
/// its stop and start become platform calls (the grace and the rejoin's speed are the
/// simulator's).
#[tokio::test(start_paused = true)]
async fn a_lost_head_stops_the_worker_and_its_return_rejoins() {
    let mut h = Harness::start(WorkerScript::default());
    h.world.set(|w| w.holds_connections = false);
    h.wait_phase(Phase::Connected, secs(10)).await;
    h.world.set(|w| w.head_up = false);
    h.wait_phase(Phase::Disconnecting, secs(5)).await;
    h.wait_phase(Phase::Disconnected, secs(60)).await;
    assert_eq!(h.world.record().stops.len(), 1);
    assert_eq!(h.world.record().exits, 1);
    h.world.set(|w| w.head_up = true);
    h.wait_phase(Phase::Connected, secs(10)).await;
    assert_eq!(h.world.record().starts.len(), 2);
    h.stop().await;
}

/// The connection the platform holds reaches the supervisor as held (the probes are spared) and
/// as lost (seen long before the next probe would); the cadences are the simulator's.
#[tokio::test(start_paused = true)]
async fn a_held_connection_spares_the_probes_and_its_loss_is_seen_at_once() {
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(10)).await;
    tokio::time::sleep(secs(5)).await;
    let before = h.world.record().probes.len();
    tokio::time::sleep(secs(600)).await;
    let probes = h.world.record().probes.len() - before;
    // One a minute while the OS watches the held connection, not one every 2 s (300).
    assert!(probes <= 11, "{probes} probes in 10 minutes connected");
    h.world.set(|w| w.head_up = false);
    let cut = Instant::now();
    h.wait_phase(Phase::Disconnecting, secs(5)).await;
    assert!(
        cut.elapsed() <= secs(5),
        "seen {:?} after the cut",
        cut.elapsed()
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_worker_that_ignores_sigterm_is_stopped_by_the_kill_after_the_grace() {
    let mut h = Harness::start(WorkerScript {
        ignores_sigterm: true,
        ..WorkerScript::default()
    });
    h.wait_phase(Phase::Connected, secs(10)).await;
    let asked = Instant::now();
    let reply = h.request(Request::Pause).await;
    assert!(reply.ok);
    h.wait_phase(Phase::Paused, secs(30)).await;
    let stop_grace = Settings::default().stop_grace;
    assert_eq!(h.world.record().stops, vec![stop_grace]);
    assert!(asked.elapsed() >= stop_grace);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_loop_answers_while_an_exit_is_explained_and_an_address_looked_up() {
    // `ray --version` and `tailscale status` can each hang for many seconds: requests are
    // still answered at once meanwhile.
    let mut h = Harness::start(WorkerScript {
        joins_after: Some(secs(3)),
        exits_after: Some((
            secs(5),
            Some(classify_exit(&["RuntimeError: boom".to_string()])),
        )),
        explain_takes: secs(20),
        node_ip_takes: secs(20),
        ..WorkerScript::default()
    });
    // The first start waits 20 s for its address; the loop goes on.
    let t0 = Instant::now();
    let reply = h.request(Request::Status).await;
    assert!(reply.ok);
    assert!(t0.elapsed() < secs(1), "answered after {:?}", t0.elapsed());
    h.wait_phase(Phase::Connected, secs(30)).await;
    // The worker dies; its exit takes 20 s to explain. Meanwhile:
    tokio::time::sleep(secs(6)).await;
    let asked = Instant::now();
    let reply = h.request(Request::Status).await;
    assert!(reply.ok);
    assert!(
        asked.elapsed() < secs(1),
        "answered after {:?}",
        asked.elapsed()
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_while_the_address_is_looked_up_starts_no_worker() {
    let mut h = Harness::start(WorkerScript {
        node_ip_takes: secs(10),
        ..WorkerScript::default()
    });
    h.wait_phase(Phase::Starting, secs(5)).await;
    let reply = h.request(Request::Pause).await;
    assert!(reply.ok);
    h.wait_phase(Phase::Paused, secs(5)).await;
    tokio::time::sleep(secs(30)).await;
    assert!(
        h.world.record().starts.is_empty(),
        "the lookup finished after the pause: no worker for it"
    );
    assert_eq!(h.phase(), Some(Phase::Paused));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn pause_after_tasks_waits_for_the_tasks_then_stops() {
    let mut h = Harness::start(WorkerScript {
        drain_takes: Some(secs(40)),
        ..WorkerScript::default()
    });
    h.wait_phase(Phase::Connected, secs(10)).await;
    let asked = Instant::now();
    assert!(h.request(Request::PauseAfterTasks).await.ok);
    h.wait_phase(Phase::Draining, secs(1)).await;
    h.wait_phase(Phase::Paused, secs(120)).await;
    let took = asked.elapsed();
    assert!(
        took >= secs(40) && took <= secs(42),
        "stopped {took:?} after the request"
    );
    assert_eq!(h.world.record().drains, 1);
    h.stop().await;
}

/// The tray shows the battery from the status report instead of reading the OS again
/// (issue 7, "power read twice"): the report carries what the machine watcher last read.
#[tokio::test(start_paused = true)]
async fn the_report_carries_the_power_the_watcher_read() {
    use bittrader_worker::model::{Battery, ChargeState, PowerSnapshot};
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(30)).await;
    let desktop = h.status.borrow().power;
    assert_eq!(
        desktop,
        Some(PowerSnapshot {
            on_ac: true,
            battery: None
        })
    );
    let on_battery = PowerSnapshot {
        on_ac: false,
        battery: Some(Battery {
            percent: 64,
            state: ChargeState::Discharging,
        }),
    };
    h.world.report(Event::Power(on_battery));
    let seen = tokio::time::timeout(secs(30), h.status.wait_for(|r| r.power == Some(on_battery)))
        .await
        .is_ok_and(|seen| seen.is_ok());
    assert!(seen, "the report shows the new reading");
    h.stop().await;
}

/// What Tailscale says of the head reaches the supervisor with the probe, and the status says
/// why the head is not joined (the rule is the simulator's).
#[tokio::test(start_paused = true)]
async fn what_tailscale_says_of_the_head_reaches_the_status() {
    let mut h = Harness::start(WorkerScript::default());
    let stopped = TailscaleProblem::Stopped;
    h.world.set(|w| {
        w.tailscale = TailscaleCheck::Problem {
            problem: stopped.clone(),
        }
    });
    h.wait_for(secs(10), "waiting for Tailscale", |s| {
        s.phase == Phase::Disconnected
            && s.unreachable
                == Some(Unreachable::Tailscale {
                    problem: stopped.clone(),
                })
    })
    .await;
    assert!(h.world.record().starts.is_empty(), "no worker for it");
    h.world.set(|w| w.tailscale = TailscaleCheck::OnlinePeer);
    h.wait_phase(Phase::Connected, secs(60)).await;
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_tailnet_search_runs_off_the_loop_and_its_finds_show_in_the_status() {
    use bittrader_worker::model::{FoundHead, HeadSearch, TailnetFinds};
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(30)).await;
    let desktop = FoundHead {
        name: "desktop".into(),
        address: "100.64.0.1:6379".parse().expect("head"),
    };
    let finds = TailnetFinds {
        heads: vec![desktop.clone()],
        asked: 3,
        machines: 3,
    };
    h.world.set(|w| w.found_heads = Ok(finds.clone()));
    // A head is configured: nothing was searched at start.
    assert_eq!(h.world.record().searches, 0);
    let reply = h.request(Request::FindHeads).await;
    let searching = |reply: &Reply| {
        reply
            .report
            .as_ref()
            .and_then(|r| r.status.as_ref())
            .map(|s| s.head_search.clone())
    };
    assert_eq!(searching(&reply), Some(Some(HeadSearch::Searching)));
    // The search takes 1.5 s of the fake's time; the loop answers meanwhile.
    let during = h.request(Request::Status).await;
    assert_eq!(searching(&during), Some(Some(HeadSearch::Searching)));
    h.wait_for(secs(5), "the search's finds", |s| {
        s.head_search == Some(HeadSearch::Found(finds.clone()))
    })
    .await;
    assert_eq!(h.world.record().searches, 1);

    // A late click on a first-run offer of a found head, while a head of the user's is set:
    // nothing changes, and nothing is saved.
    let nas = FoundHead {
        name: "nas".into(),
        address: "100.64.0.7:6379".parse().expect("head"),
    };
    h.world.set(|w| {
        w.found_heads = Ok(TailnetFinds {
            heads: vec![nas.clone()],
            asked: 3,
            machines: 3,
        })
    });
    h.request(Request::FindHeads).await;
    h.wait_for(secs(5), "the second search's finds", |s| {
        s.found_heads == vec![nas.clone()]
    })
    .await;
    let reply = h
        .request(Request::JoinFoundHead {
            address: nas.address.to_string(),
        })
        .await;
    assert!(reply.ok, "{reply:?}");
    tokio::time::sleep(secs(2)).await;
    assert_eq!(
        h.now().and_then(|s| s.head),
        Some("100.64.0.1:6379".parse().expect("head"))
    );
    let saved = std::fs::read_to_string(h.home.path().join("config.toml")).unwrap_or_default();
    assert!(!saved.contains("100.64.0.7"), "{saved}");
    h.stop().await;
}

/// The CPU-seconds `history.json` in `home` holds for today, and its timeline's states.
fn history_in(home: &std::path::Path) -> (f64, Vec<String>) {
    let text = std::fs::read_to_string(home.join("history.json")).expect("history.json written");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let today = chrono::Local::now().date_naive().to_string();
    let cpu = json["days"][&today]["cpu_secs"].as_f64().unwrap_or(0.0);
    let states = json["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|s| match s["reason"].as_str() {
            Some(reason) => format!("{}:{reason}", s["state"].as_str().unwrap_or("?")),
            None => s["state"].as_str().unwrap_or("?").to_string(),
        })
        .collect();
    (cpu, states)
}

/// The worker tree's counters the platform reads become the contribution in the report and in
/// history.json, which the next start carries on from (when they are read is the simulator's).
#[tokio::test(start_paused = true)]
async fn the_contribution_reaches_the_report_and_the_history_and_outlives_a_restart() {
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(10)).await;
    tokio::time::sleep(secs(610)).await;
    let shown = h
        .status
        .borrow()
        .contribution
        .expect("the report carries it");
    assert!(
        (540.0..=615.0).contains(&shown.today_cpu_secs),
        "1 core for ~10 min: {shown:?}"
    );
    assert!(h.request(Request::Pause).await.ok);
    h.wait_phase(Phase::Paused, secs(15)).await;
    let home = h.stop().await;
    let (first_run, states) = history_in(home.path());
    assert!((600.0..=620.0).contains(&first_run), "{first_run}");
    assert_eq!(
        states,
        ["disconnected", "connected", "paused:user", "off"],
        "{states:?}"
    );

    // The app starts again: today's total carries on from the file.
    let mut h = Harness::start_in(WorkerScript::default(), home);
    // The first run saved its pause in config.toml.
    assert!(h.request(Request::Resume).await.ok);
    h.wait_phase(Phase::Connected, secs(10)).await;
    tokio::time::sleep(secs(300)).await;
    let home = h.stop().await;
    let (both, states) = history_in(home.path());
    assert!(
        (first_run + 300.0..=first_run + 310.0).contains(&both),
        "{first_run} then {both}"
    );
    assert_eq!(
        states,
        [
            "disconnected",
            "connected",
            "paused:user",
            "off",
            "disconnected", // checking
            "paused:user",  // config.toml read
            "disconnected", // resumed, starting
            "connected",
            "off"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_corrupt_history_is_set_aside_with_a_line_in_the_log() {
    let home = tempfile::tempdir().expect("a data folder");
    std::fs::write(
        home.path().join("history.json"),
        "{\"version\": 1, \"days\": {",
    )
    .expect("seed");
    let mut h = Harness::start_in(WorkerScript::default(), home);
    h.wait_phase(Phase::Connected, secs(10)).await;
    let home = h.stop().await;
    let today = chrono::Local::now().date_naive();
    let aside = home.path().join(format!("history.json.corrupt-{today}"));
    assert_eq!(
        std::fs::read_to_string(&aside).expect("the old file kept aside"),
        "{\"version\": 1, \"days\": {"
    );
    let log = std::fs::read_to_string(home.path().join("worker.log")).expect("log");
    assert!(
        log.contains("is not a valid history") && log.contains("corrupt-"),
        "{log}"
    );
    let (_, states) = history_in(home.path());
    assert_eq!(
        states.last().map(String::as_str),
        Some("off"),
        "a new history"
    );
}

/// `keep_awake`: the platform's idle-sleep hold follows the supervisor's verdict, an unplug the
/// OS posts lets it go within a second, and the quit lets it go (when it is held is the
/// simulator's: `supervisor_courtesy`).
#[tokio::test(start_paused = true)]
async fn the_idle_sleep_hold_follows_the_verdict_and_an_unplug_at_once() {
    use bittrader_worker::model::{Battery, ChargeState, PowerSnapshot};
    let settle = Duration::from_millis(50);
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(30)).await;
    tokio::time::sleep(settle).await;
    assert!(h.world.awake_held(), "held while connected on mains");

    // Unplugged: the OS posts the change (a power_supply uevent, kIOPSNotifyPowerSource), so
    // the hold goes within a second, not at the watcher's next look.
    let battery = PowerSnapshot {
        on_ac: false,
        battery: Some(Battery {
            percent: 64,
            state: ChargeState::Discharging,
        }),
    };
    let unplugged = Instant::now();
    h.world.report(Event::Power(battery));
    h.wait_for(secs(1), "on battery", |s| !s.courtesy.keeping_awake)
        .await;
    tokio::time::sleep(settle).await;
    assert!(!h.world.awake_held(), "released on battery");
    let released = h.world.record().awake.last().map(|(at, _)| *at);
    assert!(
        released.is_some_and(|at| at >= unplugged && at - unplugged < secs(1)),
        "released within a second of the unplug: {:?} after it",
        released.map(|at| at - unplugged)
    );

    h.world.report(Event::Power(PowerSnapshot {
        on_ac: true,
        battery: None,
    }));
    h.wait_for(secs(1), "on mains", |s| s.courtesy.keeping_awake)
        .await;
    tokio::time::sleep(settle).await;
    assert!(h.world.awake_held());
    let world = h.world.clone();
    h.stop().await;
    tokio::time::sleep(settle).await;
    assert!(!world.awake_held(), "released at the quit");
}

/// The OS refuses the hold: the refusal reaches the supervisor, the status does not claim the
/// hold, and the log says so (once, however often: the simulator's).
#[tokio::test(start_paused = true)]
async fn a_refused_idle_sleep_hold_is_not_claimed_and_is_logged() {
    let mut h = Harness::start(WorkerScript::default());
    h.world.set(|w| w.grants_awake = false);
    h.wait_phase(Phase::Connected, secs(30)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let status = h.now().expect("a status");
    assert!(status.courtesy.hold_awake);
    assert!(!status.courtesy.keeping_awake);
    let summary = h.status.borrow().summary.clone();
    assert!(!summary.contains("awake"), "{summary}");
    let log = std::fs::read_to_string(h.home.path().join("worker.log")).expect("worker.log");
    assert_eq!(
        log.matches("refused to hold idle sleep off").count(),
        1,
        "{log}"
    );
    h.stop().await;
}

/// `pause_at_thermal`: the thermal state the platform reports reaches the supervisor and the
/// status, and the supervisor's drain and pause become platform calls (the cool-down is the
/// simulator's).
#[tokio::test(start_paused = true)]
async fn a_machine_that_runs_hot_steps_back() {
    use bittrader_worker::model::{AutoPause, ThermalState};
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(30)).await;
    h.world.report(Event::Thermal(ThermalState::Serious));
    h.wait_phase(Phase::Draining, secs(1)).await;
    h.wait_for(secs(70), "paused for heat", |s| {
        s.phase == Phase::Paused && matches!(s.auto_pause, Some(AutoPause::RunsHot { .. }))
    })
    .await;
    assert_eq!(h.world.record().drains, 1, "after the current tasks");
    assert_eq!(
        h.now().map(|s| s.courtesy.thermal),
        Some(Some(ThermalState::Serious))
    );
    h.stop().await;
}

/// `only_when_idle_minutes`: the driver reads the user's idle time only while the rule is on, and
/// the readings reach the supervisor (how long to wait, and the drain when the user returns,
/// are the simulator's).
#[tokio::test(start_paused = true)]
async fn the_idle_time_is_read_only_while_the_rule_is_on_and_reaches_the_supervisor() {
    use bittrader_worker::model::AutoPause;
    let h = Harness::start(WorkerScript::default());
    tokio::time::sleep(secs(30)).await;
    assert!(!h.world.record().watching_user_idle, "off: nothing is read");
    h.stop().await;

    let mut h = Harness::start_with(WorkerScript::default(), |config| {
        config.only_when_idle_minutes = Some(2);
    });
    h.wait_for(secs(10), "held back for the user", |s| {
        s.phase == Phase::Paused && matches!(s.auto_pause, Some(AutoPause::UserPresent { .. }))
    })
    .await;
    assert!(h.world.record().watching_user_idle);
    h.world.set(|w| w.user_idle = Some(secs(600)));
    h.wait_phase(Phase::Connected, secs(30)).await;
    h.stop().await;
}

/// The fake's hold, like the real ones, is let go when its sender goes away (the driver ends):
/// a test that only looked at the last change would otherwise see it held forever.
#[tokio::test(start_paused = true)]
async fn the_fake_hold_is_released_when_its_sender_goes_away() {
    use bittrader_worker::model::AwakeHold;
    use bittrader_worker::runtime::log::RotatingLog;
    use bittrader_worker::runtime::{Platform, Watches};
    let world = FakePlatform::new(World::default());
    let dir = tempfile::tempdir().expect("a folder");
    let log = RotatingLog::new(dir.path().join("worker.log"), 1 << 20);
    let (hold, follow) = watch::channel(false);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let watches = Watches {
        sleep_gate: None,
        keep_awake: follow,
        user_idle: false,
        log: std::sync::Arc::new(std::sync::Mutex::new(log)),
    };
    world.watch(events_tx, watches);
    assert!(matches!(events.recv().await, Some(Event::Power(_))));
    hold.send_replace(true);
    assert_eq!(events.recv().await, Some(Event::AwakeHold(AwakeHold::Held)));
    assert!(world.awake_held());
    drop(hold);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!world.awake_held(), "released with the sender");
}

/// The cluster's size reaches the status while connected (the tray shows it), asked at once on
/// joining, and goes with the connection.
#[tokio::test(start_paused = true)]
async fn the_cluster_size_shows_while_connected() {
    use bittrader_worker::model::ClusterSize;
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(10)).await;
    let size = Some(ClusterSize { cpus: 6, nodes: 2 });
    h.wait_for(secs(1), "the cluster's size", |s| s.cluster == size)
        .await;
    assert!(h.request(Request::Pause).await.ok);
    h.wait_for(secs(15), "paused, no figure", |s| {
        s.phase == Phase::Paused && s.cluster.is_none()
    })
    .await;
    h.stop().await;
}
