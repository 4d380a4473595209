//! Sleep and wake as the driver receives them, under paused time over the fake world: from the
//! platform's own watcher (logind on Linux, sent here by the fake platform), and from the
//! macOS tray, which observes `NSWorkspaceWillSleepNotification` and
//! `NSWorkspaceDidWakeNotification` itself and sends them on the link the driver hands out,
//! holding the sleep until the supervisor's gate lets it go (`src/tray/mod.rs`).

use bittrader_test_support::driver::Harness;
use bittrader_test_support::secs;
use bittrader_test_support::world::WorkerScript;
use bittrader_worker::model::{AutoPause, Phase};
use bittrader_worker::supervisor::Event;

#[tokio::test(start_paused = true)]
async fn will_sleep_stops_the_worker_and_a_long_sleep_rejoins_at_once() {
    let mut h = Harness::start(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(10)).await;
    let config = std::fs::read_to_string(h.home.path().join("config.toml")).unwrap_or_default();

    h.world.report(Event::WillSleep);
    h.wait_for(secs(5), "paused for the sleep, no worker", |s| {
        s.phase == Phase::Paused && s.auto_pause == Some(AutoPause::Asleep)
    })
    .await;
    let asleep = h.now().expect("a status");
    assert!(!asleep.paused, "not the user's pause: {asleep:?}");
    assert_eq!(h.world.record().exits, 1);

    // The wake, ten minutes later.
    let woke_at = tokio::time::Instant::now();
    h.world.report(Event::Woke { slept_secs: 600 });
    h.wait_phase(Phase::Connected, secs(10)).await;
    assert!(woke_at.elapsed() < secs(5), "{:?}", woke_at.elapsed());
    assert_eq!(h.now().and_then(|s| s.auto_pause), None);
    assert_eq!(h.world.record().starts.len(), 2);
    let log = h.log();
    assert!(log.contains("going to sleep"), "{log}");
    assert!(log.contains("woke after 600 s"), "{log}");
    assert_eq!(
        std::fs::read_to_string(h.home.path().join("config.toml")).unwrap_or_default(),
        config,
        "sleep and wake are never saved"
    );
    h.stop().await;
}

/// The tray's path: the announcement is held until the worker has stopped (the gate counts it
/// and then lets it go), and the wake brings one new worker, not two.
#[tokio::test(start_paused = true)]
async fn the_trays_announced_sleep_is_held_until_the_worker_stopped() {
    let mut h = Harness::start_as_tray(WorkerScript::default());
    h.wait_phase(Phase::Connected, secs(10)).await;
    let link = h
        .sleep_link
        .as_ref()
        .and_then(|link| link.get())
        .cloned()
        .expect("the driver handed out its link");
    let mut gate = link.gate.clone();
    link.events.send(Event::WillSleep).expect("the driver runs");
    let counted = tokio::time::timeout(secs(5), gate.wait_for(|g| g.will_sleeps_seen >= 1))
        .await
        .expect("a verdict in time")
        .map(|g| *g)
        .expect("a verdict");
    assert!(counted.holding, "held while the worker stops");
    assert_eq!(h.world.record().exits, 0);
    // (A borrow of the gate holds its lock: none is kept.)
    let released = tokio::time::timeout(secs(5), gate.wait_for(|g| !g.holding))
        .await
        .is_ok_and(|seen| seen.is_ok());
    assert!(released, "released");
    assert_eq!(h.world.record().exits, 1, "released once the worker ended");
    assert_eq!(h.phase(), Some(Phase::Paused));

    link.events
        .send(Event::Woke { slept_secs: 600 })
        .expect("the driver runs");
    h.wait_phase(Phase::Connected, secs(15)).await;
    tokio::time::sleep(secs(20)).await;
    assert_eq!(h.world.record().starts.len(), 2, "one new worker, not two");
    h.stop().await;
}
