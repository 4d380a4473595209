//! The driver over a fake world ([`FakePlatform`]) under paused tokio time: the real loop,
//! channels, requests and status, with workers that join, crash, hang or drain on cue. Minutes
//! of the driver run in milliseconds, and "the loop never waits on IO" is checked by giving the
//! slow operations a long fake duration and asking the driver something meanwhile.

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

#[tokio::test(start_paused = true)]
async fn a_worker_that_keeps_crashing_backs_off_then_gives_up() {
    let wall = std::time::Instant::now();
    let mut h = Harness::start(WorkerScript {
        joins_after: None,
        exits_after: Some((
            secs(1),
            Some(classify_exit(&["RuntimeError: boom".to_string()])),
        )),
        ..WorkerScript::default()
    });
    let t0 = Instant::now();
    h.wait_phase(Phase::Error, secs(300)).await;
    let took = t0.elapsed();
    let status = h.now().expect("a status");
    assert!(
        matches!(status.fault, Some(Fault::GaveUp { failures: 5, .. })),
        "{status:?}"
    );
    let policy = Settings::default().backoff;
    assert_eq!(h.world.record().starts.len(), policy.burst);
    // Four delays of 1, 2, 4 and 8 s (plus up to 10 % jitter) between five 1 s lives.
    assert!(
        took >= secs(5 + 1 + 2 + 4 + 8) && took <= secs(5 + 17),
        "gave up after {took:?}"
    );
    // Each gap is the 1 s run and a delay of 1, 2, 4, 8 s (+ up to 10 % jitter).
    let started = h.world.record().started_at;
    let gaps: Vec<Duration> = started.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let delay = secs(1 << i);
        assert!(
            *gap >= secs(1) + delay && *gap <= secs(2) + delay.mul_f64(1.1),
            "gap {i} is {gap:?}: {gaps:?}"
        );
    }
    let summary = h.status.borrow().summary.clone();
    assert!(
        summary.contains("5 times") && summary.contains("boom"),
        "{summary}"
    );
    // Nothing more happens on its own.
    tokio::time::sleep(secs(600)).await;
    assert_eq!(h.world.record().starts.len(), policy.burst);
    eprintln!(
        "{took:?} of driver time in {:?} of real time",
        wall.elapsed()
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_head_stops_the_worker_after_the_grace_and_its_return_rejoins() {
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(10)).await;
    h.world.set(|w| w.head_up = false);
    let lost = Instant::now();
    h.wait_phase(Phase::Disconnecting, secs(5)).await;
    h.wait_phase(Phase::Disconnected, secs(60)).await;
    let stopped_after = lost.elapsed();
    let grace = Settings::default().grace;
    assert!(
        stopped_after >= grace && stopped_after <= grace + secs(5),
        "stopped {stopped_after:?} after the loss"
    );
    assert_eq!(h.world.record().stops.len(), 1);
    h.world.set(|w| w.head_up = true);
    let back = Instant::now();
    h.wait_phase(Phase::Connected, secs(10)).await;
    // Seen within a probe (1 s while disconnected), then Ray's 3 s join.
    assert!(
        back.elapsed() <= secs(5),
        "rejoined after {:?}",
        back.elapsed()
    );
    assert_eq!(h.world.record().starts.len(), 2);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_held_connection_spares_the_probes_and_still_sees_a_cut_within_5_s() {
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
    h.world.set(|w| w.head_up = true);
    h.wait_phase(Phase::Connected, secs(5)).await;
    assert_eq!(h.world.record().starts.len(), 1, "a blip is ridden through");
    // Held again: the probes are spared again.
    tokio::time::sleep(secs(5)).await;
    let before = h.world.record().probes.len();
    tokio::time::sleep(secs(300)).await;
    assert!(h.world.record().probes.len() - before <= 6);

    // Where no connection can be held, the probe does the watching, as before.
    h.world.set(|w| w.holds_connections = false);
    h.world.set(|w| w.head_up = false);
    h.wait_phase(Phase::Disconnecting, secs(5)).await;
    h.world.set(|w| w.head_up = true);
    h.wait_phase(Phase::Connected, secs(5)).await;
    tokio::time::sleep(secs(5)).await;
    let before = h.world.record().probes.len();
    tokio::time::sleep(secs(60)).await;
    assert!(h.world.record().probes.len() - before >= 29);
    h.world.set(|w| w.head_up = false);
    let cut = Instant::now();
    h.wait_phase(Phase::Disconnecting, secs(5)).await;
    assert!(cut.elapsed() <= secs(3));
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

#[tokio::test(start_paused = true)]
async fn a_tailscale_head_is_joined_only_while_tailscale_vouches_for_it() {
    // The head (100.64.0.1) answers, but Tailscale is stopped: whatever answers is not the
    // user's head (issue 9, item 1).
    let mut h = Harness::start(WorkerScript::default());
    let stopped = TailscaleCheck::Problem {
        problem: TailscaleProblem::Stopped,
    };
    h.world.set(|w| w.tailscale = stopped.clone());
    h.wait_for(secs(10), "waiting for Tailscale", |s| {
        s.phase == Phase::Disconnected
            && s.unreachable
                == Some(Unreachable::Tailscale {
                    problem: TailscaleProblem::Stopped,
                })
    })
    .await;
    tokio::time::sleep(secs(120)).await;
    assert!(h.world.record().starts.is_empty(), "no worker for it");
    // Running, and the head's address is no machine of the tailnet: still no worker.
    h.world.set(|w| {
        w.tailscale = TailscaleCheck::Problem {
            problem: TailscaleProblem::HeadNotInTailnet,
        }
    });
    h.wait_for(secs(60), "the head not in the tailnet", |s| {
        s.unreachable
            == Some(Unreachable::Tailscale {
                problem: TailscaleProblem::HeadNotInTailnet,
            })
    })
    .await;
    tokio::time::sleep(secs(60)).await;
    assert!(h.world.record().starts.is_empty());
    // The head is an online peer: joined.
    h.world.set(|w| w.tailscale = TailscaleCheck::OnlinePeer);
    h.wait_phase(Phase::Connected, secs(60)).await;
    // Tailscale quits while the address still answers: stopped after the grace.
    h.world.set(|w| w.tailscale = stopped);
    h.wait_phase(Phase::Disconnected, secs(120)).await;
    assert_eq!(h.world.record().stops.len(), 1);
    assert_eq!(h.world.record().starts.len(), 1);
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

#[tokio::test(start_paused = true)]
async fn the_worker_tree_is_read_once_a_minute_while_connected_and_kept_across_restarts() {
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(10)).await;
    tokio::time::sleep(secs(610)).await;
    let samples = h.world.record().usage_samples;
    assert_eq!(
        samples.len(),
        11,
        "one at the join, then one a minute for 10 minutes"
    );
    for pair in samples.windows(2) {
        assert_eq!((pair[1] - pair[0]).as_secs(), 60);
    }
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
    let at_pause = h.world.record().usage_samples.len();
    assert_eq!(at_pause, 12, "one last reading at the stop");
    tokio::time::sleep(secs(1800)).await;
    assert_eq!(
        h.world.record().usage_samples.len(),
        at_pause,
        "none while paused"
    );
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

/// `keep_awake` (issue 10): the platform's idle-sleep hold follows the supervisor's verdict,
/// taken when the worker joins and let go at once on battery, on a pause, when the head is
/// lost and at the quit.
#[tokio::test(start_paused = true)]
async fn the_idle_sleep_hold_follows_connected_on_power() {
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
    assert_eq!(h.phase(), Some(Phase::Connected), "still contributing");
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

    let asked = Instant::now();
    let reply = h.request(Request::Pause).await;
    assert!(reply.ok);
    tokio::time::sleep(settle).await;
    assert!(!h.world.awake_held(), "released on pause");
    let released = h.world.record().awake.last().map(|(at, _)| *at);
    assert!(released.is_some_and(|at| at - asked < secs(1)));

    assert!(h.request(Request::Resume).await.ok);
    h.wait_phase(Phase::Connected, secs(30)).await;
    tokio::time::sleep(settle).await;
    assert!(h.world.awake_held());
    h.world.set(|w| w.head_up = false);
    h.wait_phase(Phase::Disconnecting, secs(10)).await;
    tokio::time::sleep(settle).await;
    assert!(!h.world.awake_held(), "released when the head is lost");
    h.world.set(|w| w.head_up = true);
    h.wait_phase(Phase::Connected, secs(30)).await;
    tokio::time::sleep(settle).await;
    assert!(h.world.awake_held());

    let world = h.world.clone();
    h.stop().await;
    tokio::time::sleep(settle).await;
    assert!(!world.awake_held(), "released at the quit");
}

/// The OS refuses the hold: the status does not claim it, and the log says so once.
#[tokio::test(start_paused = true)]
async fn a_refused_idle_sleep_hold_is_not_claimed_and_is_logged_once() {
    let mut h = Harness::start(WorkerScript::default());
    h.world.set(|w| w.grants_awake = false);
    h.wait_phase(Phase::Connected, secs(30)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let status = h.now().expect("a status");
    assert!(status.courtesy.hold_awake);
    assert!(!status.courtesy.keeping_awake);
    let summary = h.status.borrow().summary.clone();
    assert!(!summary.contains("awake"), "{summary}");
    assert!(h.request(Request::Pause).await.ok);
    assert!(h.request(Request::Resume).await.ok);
    h.wait_phase(Phase::Connected, secs(30)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let log = std::fs::read_to_string(h.home.path().join("worker.log")).expect("worker.log");
    assert_eq!(
        log.matches("refused to hold idle sleep off").count(),
        1,
        "{log}"
    );
    h.stop().await;
}

/// `keep_awake = "never"`: nothing is ever held.
#[tokio::test(start_paused = true)]
async fn keep_awake_never_holds_nothing() {
    use bittrader_worker::model::KeepAwake;
    let mut h = Harness::start_with(WorkerScript::default(), |config| {
        config.keep_awake = KeepAwake::Never;
    });
    h.wait_phase(Phase::Connected, secs(30)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(h.world.record().awake.is_empty());
    h.stop().await;
}

/// `pause_at_thermal` (issue 10): the thermal state the platform reports reaches the
/// supervisor; at `serious` the worker drains and pauses, and five minutes at `fair` bring it
/// back.
#[tokio::test(start_paused = true)]
async fn a_machine_that_runs_hot_steps_back_and_returns_once_cool() {
    use bittrader_worker::model::{AutoPause, ThermalState};
    use bittrader_worker::supervisor::settings::THERMAL_RESUME_AFTER;
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
    let cooled_at = Instant::now();
    h.world.report(Event::Thermal(ThermalState::Fair));
    h.wait_phase(Phase::Connected, THERMAL_RESUME_AFTER + secs(30))
        .await;
    assert!(cooled_at.elapsed() >= THERMAL_RESUME_AFTER);
    assert_eq!(h.world.record().starts.len(), 2);
    h.stop().await;
}

/// `only_when_idle_minutes` (issue 10): the driver reads the idle time on the power tick only
/// when the rule is on; the worker joins once the user has been away that long and drains when
/// they come back.
#[tokio::test(start_paused = true)]
async fn only_when_idle_joins_after_the_user_left_and_leaves_when_they_return() {
    use bittrader_worker::model::AutoPause;
    let h = Harness::start(WorkerScript::default());
    tokio::time::sleep(secs(30)).await;
    assert!(!h.world.record().watching_user_idle, "off: nothing is read");
    h.stop().await;

    let mut h = Harness::start_with(WorkerScript::default(), |config| {
        config.only_when_idle_minutes = Some(2);
    });
    let started = Instant::now();
    h.wait_for(secs(10), "held back for the user", |s| {
        s.phase == Phase::Paused && matches!(s.auto_pause, Some(AutoPause::UserPresent { .. }))
    })
    .await;
    assert!(h.world.record().watching_user_idle);
    h.wait_phase(Phase::Connected, secs(200)).await;
    let joined_after = started.elapsed();
    assert!(
        joined_after >= secs(120) && joined_after < secs(140),
        "{joined_after:?}"
    );
    h.world.set(|w| w.user_idle = Some(Duration::ZERO));
    h.wait_phase(Phase::Draining, secs(10)).await;
    h.wait_phase(Phase::Paused, secs(70)).await;
    assert_eq!(h.world.record().drains, 1);

    // A machine that cannot tell: it contributes, and the status says the rule is unsupported.
    h.world.set(|w| w.user_idle = None);
    h.wait_phase(Phase::Connected, secs(30)).await;
    assert_eq!(h.now().map(|s| s.courtesy.idle_unsupported), Some(true));
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
