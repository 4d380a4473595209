//! The laptop policies on the virtual clock: battery thresholds (no flapping, the user's pause
//! respected), lid close, sleep and wake, a wake seen only as a clock jump.

use bittrader_test_support::secs;
use bittrader_test_support::sim::Sim;
use bittrader_worker::config::BatteryConfig;
use bittrader_worker::model::{
    AutoPause, Battery, ChargeState, LogNote, Notice, Phase, PowerSnapshot,
};
use bittrader_worker::supervisor::{
    Action, Event, LaptopPolicy, Settings, TreeReading, UserCommand,
};

fn mobile(policy: LaptopPolicy) -> Sim {
    let settings = Settings {
        laptop: LaptopPolicy {
            mobile: true,
            ..policy
        },
        ..Settings::default()
    };
    let mut sim = Sim::new(settings);
    sim.event(Event::Power(on_ac(80)));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim
}

fn battery(percent: u8) -> PowerSnapshot {
    PowerSnapshot {
        on_ac: false,
        battery: Some(Battery {
            percent,
            state: ChargeState::Discharging,
        }),
    }
}

fn on_ac(percent: u8) -> PowerSnapshot {
    PowerSnapshot {
        on_ac: true,
        battery: Some(Battery {
            percent,
            state: ChargeState::Charging,
        }),
    }
}

fn notices(sim: &Sim) -> Vec<Notice> {
    sim.notices()
        .into_iter()
        .filter_map(|a| match a {
            Action::Notify(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// Feeds one battery reading a minute.
fn drain_to(sim: &mut Sim, levels: &[u8]) {
    for &level in levels {
        sim.event(Event::Power(battery(level)));
        sim.run_for(secs(60));
    }
}

#[test]
fn the_battery_warns_once_pauses_at_the_stop_level_and_resumes_only_at_the_resume_level() {
    let mut sim = mobile(LaptopPolicy::default());
    drain_to(&mut sim, &[40, 25, 20, 19, 18, 15, 12]);
    let warned: Vec<_> = notices(&sim)
        .into_iter()
        .filter(|n| matches!(n, Notice::BatteryLow { .. }))
        .collect();
    assert_eq!(
        warned,
        vec![Notice::BatteryLow { percent: 20 }],
        "one warning per discharge"
    );
    assert_eq!(sim.phase(), Phase::Connected);

    drain_to(&mut sim, &[10]);
    assert_eq!(sim.phase(), Phase::Paused);
    assert_eq!(
        sim.sup.status().auto_pause,
        Some(AutoPause::LowBattery { percent: 10 })
    );
    assert!(sim.worker.is_none());
    assert!(
        !sim.sup.status().paused,
        "an auto-pause is not the user's pause"
    );

    // Hovering around the stop level, then rising: no restart until the resume level.
    drain_to(&mut sim, &[11, 9, 12, 20, 29]);
    assert_eq!(sim.phase(), Phase::Paused);
    assert_eq!(sim.starts().len(), 1, "no flapping between 10 and 30");
    drain_to(&mut sim, &[30]);
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(sim.starts().len(), 2);
}

#[test]
fn plugging_in_resumes_at_once_and_starts_a_new_discharge() {
    let mut sim = mobile(LaptopPolicy::default());
    drain_to(&mut sim, &[20, 8]);
    assert_eq!(sim.phase(), Phase::Paused);
    sim.event(Event::Power(on_ac(8)));
    sim.run_for(secs(5));
    assert_eq!(sim.phase(), Phase::Connected);
    // Unplugged again: a new discharge warns again.
    drain_to(&mut sim, &[19]);
    let warnings = notices(&sim)
        .iter()
        .filter(|n| matches!(n, Notice::BatteryLow { .. }))
        .count();
    assert_eq!(warnings, 2);
}

#[test]
fn the_users_pause_is_never_lifted_by_the_battery_policy() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.user(UserCommand::Pause);
    drain_to(&mut sim, &[50, 9]);
    sim.event(Event::Power(on_ac(9)));
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Paused);
    assert!(sim.sup.status().paused);
    assert_eq!(sim.starts().len(), 1);
}

#[test]
fn the_user_may_resume_during_a_battery_pause_until_the_power_changes() {
    let mut sim = mobile(LaptopPolicy::default());
    drain_to(&mut sim, &[9]);
    assert_eq!(sim.phase(), Phase::Paused);
    sim.user(UserCommand::Resume);
    drain_to(&mut sim, &[8, 7]);
    assert_eq!(sim.phase(), Phase::Connected, "the user's resume wins");
    // Plugged in and out again: the policy applies afresh.
    sim.event(Event::Power(on_ac(7)));
    sim.run_for(secs(5));
    drain_to(&mut sim, &[7]);
    assert_eq!(sim.phase(), Phase::Paused);
}

#[test]
fn contribute_only_on_power() {
    let mut sim = mobile(LaptopPolicy {
        battery: BatteryConfig {
            only_on_power: true,
            ..BatteryConfig::default()
        },
        ..LaptopPolicy::default()
    });
    drain_to(&mut sim, &[95]);
    assert_eq!(sim.phase(), Phase::Paused);
    assert_eq!(sim.sup.status().auto_pause, Some(AutoPause::OnBattery));
    assert!(notices(&sim).iter().any(|n| matches!(
        n,
        Notice::AutoPaused {
            reason: AutoPause::OnBattery
        }
    )));
    sim.event(Event::Power(on_ac(95)));
    sim.run_for(secs(5));
    assert_eq!(sim.phase(), Phase::Connected);
}

#[test]
fn fewer_cpus_on_battery() {
    let mut sim = mobile(LaptopPolicy {
        battery: BatteryConfig {
            cpus_on_battery: 4,
            ..BatteryConfig::default()
        },
        ..LaptopPolicy::default()
    });
    assert_eq!(sim.starts()[0].1.cpus, 10);
    drain_to(&mut sim, &[90]);
    assert_eq!(sim.sup.status().worker_cpus, Some(4));
    sim.event(Event::Power(on_ac(90)));
    sim.run_for(secs(10));
    assert_eq!(sim.sup.status().worker_cpus, Some(10));
    let cpus: Vec<u32> = sim.starts().iter().map(|(_, s)| s.cpus).collect();
    assert_eq!(cpus, vec![10, 4, 10]);
    assert!(!sim.double_start);
}

#[test]
fn a_desktop_ignores_the_battery_policy() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    drain_to(&mut sim, &[5]);
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(notices(&sim).is_empty());
}

#[test]
fn closing_the_lid_while_contributing_warns_once() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.event(Event::LidClosed(true));
    sim.event(Event::LidClosed(true));
    sim.event(Event::LidClosed(false));
    sim.user(UserCommand::Pause);
    sim.run_for(secs(5));
    sim.event(Event::LidClosed(true));
    let lids = notices(&sim)
        .iter()
        .filter(|n| matches!(n, Notice::LidClosed))
        .count();
    assert_eq!(lids, 1, "once per close, and not while paused");
}

#[test]
fn sleep_stops_the_worker_and_wake_rejoins_at_once() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.event(Event::WillSleep);
    assert!(
        sim.sup.status().holding_sleep,
        "the sleep waits for the worker"
    );
    sim.run_for(secs(5));
    assert!(sim.worker.is_none(), "stopped before sleeping");
    assert!(!sim.sup.status().holding_sleep, "released once it stopped");
    assert_eq!(sim.sup.status().auto_pause, Some(AutoPause::Asleep));
    assert_eq!(sim.phase(), Phase::Paused);
    // Asleep: the monotonic clock the supervisor runs on stands still.
    assert_eq!(sim.starts().len(), 1, "nothing starts while asleep");
    let woke = sim.elapsed();
    let probes_before = probes(&sim);
    sim.event(Event::Woke { slept_secs: 600 });
    sim.run_for(secs(0));
    assert!(
        probes(&sim) > probes_before,
        "the network is probed at once"
    );
    sim.run_for(secs(10));
    let starts = sim.starts();
    assert_eq!(starts.len(), 2);
    assert!(starts[1].0 - woke <= secs(2));
    assert_eq!(sim.phase(), Phase::Connected);
}

#[test]
fn a_low_battery_pause_outlives_a_sleep_and_its_wake() {
    // A wake must not start the worker on a nearly empty battery.
    let mut sim = mobile(LaptopPolicy::default());
    sim.event(Event::Power(battery(8)));
    sim.run_for(secs(120));
    assert_eq!(
        sim.sup.status().auto_pause,
        Some(AutoPause::LowBattery { percent: 8 })
    );
    assert!(sim.worker.is_none());
    sim.event(Event::WillSleep);
    sim.run_for(secs(5));
    assert_eq!(sim.sup.status().auto_pause, Some(AutoPause::Asleep));
    sim.event(Event::Woke { slept_secs: 600 });
    sim.run_for(secs(60));
    assert_eq!(
        sim.sup.status().auto_pause,
        Some(AutoPause::LowBattery { percent: 8 }),
        "the battery pause holds after the wake"
    );
    assert_eq!(sim.phase(), Phase::Paused);
    assert_eq!(
        sim.starts().len(),
        1,
        "no start on a low battery after a wake"
    );
    // A reading taken while asleep counts too: plugged in during the sleep, it runs on wake.
    sim.event(Event::WillSleep);
    sim.event(Event::Power(on_ac(9)));
    assert_eq!(sim.sup.status().auto_pause, Some(AutoPause::Asleep));
    sim.event(Event::Woke { slept_secs: 600 });
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(sim.starts().len(), 2);
}

#[test]
fn an_unannounced_wake_replaces_the_stale_worker_and_a_short_one_is_noise() {
    let mut sim = mobile(LaptopPolicy::default());
    // No WillSleep came (a platform whose OS gives no wake notification: the clocks measure
    // the sleep): the worker was frozen with the machine.
    sim.event(Event::Woke { slept_secs: 300 });
    assert_eq!(sim.phase(), Phase::Reconnecting);
    sim.run_for(secs(10));
    assert_eq!(sim.starts().len(), 2);
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(sim.sup.status().recent_failures, 0, "not a crash");
    assert!(!sim.double_start);
    // A short nap (shorter than the head's health checks) keeps the worker.
    sim.event(Event::Woke { slept_secs: 20 });
    sim.run_for(secs(10));
    assert_eq!(sim.starts().len(), 2);
    // Under the noise floor, unannounced: nothing at all, not even a probe.
    let probes_before = probes(&sim);
    sim.event(Event::Woke { slept_secs: 5 });
    assert_eq!(probes(&sim), probes_before);
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(!sim.double_start);
}

#[test]
fn a_sleep_announced_and_never_taken_ends_after_a_minute_awake() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.event(Event::WillSleep);
    sim.run_for(secs(30));
    assert_eq!(sim.phase(), Phase::Paused);
    sim.run_for(secs(45));
    assert_eq!(sim.phase(), Phase::Connected, "the sleep was cancelled");
    assert_eq!(sim.starts().len(), 2);
}

#[test]
fn a_sleep_hold_ends_at_its_bound_even_if_the_worker_never_stops() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.world.worker.stop_takes = secs(3600);
    sim.event(Event::WillSleep);
    assert!(sim.sup.status().holding_sleep);
    sim.run_for(secs(12));
    assert!(
        sim.sup.status().holding_sleep,
        "the stop grace and the kill: 13 s"
    );
    sim.run_for(secs(2));
    assert!(!sim.sup.status().holding_sleep, "the sleep goes ahead");
}

fn probes(sim: &Sim) -> usize {
    sim.records
        .iter()
        .filter(|r| matches!(r.action, Action::Probe { .. }))
        .count()
}

#[test]
fn pause_after_tasks_drains_then_stops() {
    let mut sim = mobile(LaptopPolicy::default());
    let asked = sim.elapsed();
    sim.user(UserCommand::PauseAfterTasks);
    assert_eq!(sim.phase(), Phase::Draining);
    assert_eq!(sim.drains().len(), 1);
    assert!(sim.stops().is_empty(), "no stop before the tasks finish");
    sim.run_for(secs(20));
    let stops = sim.stops();
    assert_eq!(stops.len(), 1);
    assert!(
        stops[0] - asked >= secs(8),
        "stopped after the drain reported"
    );
    assert_eq!(sim.phase(), Phase::Paused);
    assert!(sim.sup.status().paused);
    assert!(logged(&sim, |note| matches!(
        note,
        LogNote::DrainEnded {
            tasks_finished: true,
            ..
        }
    )));
}

fn logged(sim: &Sim, wanted: impl Fn(&LogNote) -> bool) -> bool {
    sim.records
        .iter()
        .any(|r| matches!(&r.action, Action::Log(note) if wanted(note)))
}

#[test]
fn a_drain_that_never_reports_is_cut_short_at_its_deadline() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.world.worker.drain_takes = None;
    let asked = sim.elapsed();
    sim.user(UserCommand::PauseAfterTasks);
    sim.run_for(secs(3600));
    let stops = sim.stops();
    assert_eq!(stops.len(), 1);
    let after = stops[0] - asked;
    assert!(
        after >= bittrader_worker::supervisor::settings::PAUSE_DRAIN_DEADLINE
            && after <= bittrader_worker::supervisor::settings::PAUSE_DRAIN_DEADLINE + secs(10),
        "{after:?}"
    );
    assert_eq!(sim.phase(), Phase::Paused);
    assert!(logged(&sim, |note| *note
        == LogNote::DrainEnded {
            tasks_finished: false,
            deadline_secs: 600
        }));
}

#[test]
fn quitting_or_sleeping_during_a_drain_stops_at_once() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.world.worker.drain_takes = None;
    sim.user(UserCommand::PauseAfterTasks);
    sim.run_for(secs(1));
    sim.event(Event::WillSleep);
    assert_eq!(sim.stops().len(), 1);
    let mut other = mobile(LaptopPolicy::default());
    other.world.worker.drain_takes = None;
    other.user(UserCommand::PauseAfterTasks);
    other.user(UserCommand::Shutdown);
    assert_eq!(other.stops().len(), 1);
}

#[test]
fn a_low_battery_pause_lets_running_tasks_finish_first() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.event(Event::Power(battery(9)));
    assert_eq!(sim.phase(), Phase::Draining);
    assert_eq!(sim.drains().len(), 1);
    sim.run_for(secs(30));
    assert_eq!(sim.stops().len(), 1);
    assert_eq!(sim.phase(), Phase::Paused);
}

#[test]
fn pause_after_tasks_before_joining_stops_at_once() {
    let settings = Settings {
        laptop: LaptopPolicy {
            mobile: true,
            ..LaptopPolicy::default()
        },
        ..Settings::default()
    };
    let mut sim = Sim::new(settings);
    sim.run_for(std::time::Duration::from_millis(100));
    assert_eq!(sim.phase(), Phase::Starting);
    sim.user(UserCommand::PauseAfterTasks);
    assert!(sim.drains().is_empty(), "no tasks to finish");
    assert_eq!(sim.stops().len(), 1);
}

#[test]
fn a_drain_rides_through_a_blip_and_stops_only_after_the_grace() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.world.worker.drain_takes = None;
    sim.user(UserCommand::PauseAfterTasks);
    sim.run_for(secs(5));
    sim.world.head_up = false;
    let lost = sim.elapsed();
    sim.run_for(secs(10));
    assert_eq!(
        sim.phase(),
        Phase::Draining,
        "one failed probe does not end it"
    );
    sim.world.head_up = true;
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Draining, "the blip is over");
    sim.world.head_up = false;
    let lost_again = sim.elapsed();
    sim.run_for(secs(60));
    let stops = sim.stops();
    assert_eq!(stops.len(), 1);
    let grace = Settings::default().grace;
    assert!(stops[0] - lost_again >= grace && stops[0] - lost > grace);
    assert_eq!(sim.phase(), Phase::Paused);
}

#[test]
fn a_late_report_of_an_earlier_drain_does_not_end_a_new_one() {
    let mut sim = mobile(LaptopPolicy::default());
    sim.world.worker.drain_takes = None;
    sim.user(UserCommand::PauseAfterTasks);
    sim.run_for(secs(5));
    // "Pause now", resume, and drain again: the first drain's number is stale.
    sim.user(UserCommand::Pause);
    sim.user(UserCommand::Resume);
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim.user(UserCommand::PauseAfterTasks);
    let stops = sim.stops().len();
    sim.event(Event::WorkerTreeSampled {
        drain: 1,
        reading: TreeReading::Gone,
    });
    sim.event(Event::DrainRequested {
        drain: 1,
        accepted: false,
    });
    assert_eq!(sim.phase(), Phase::Draining);
    assert_eq!(
        sim.stops().len(),
        stops,
        "the stale reports changed nothing"
    );
}
