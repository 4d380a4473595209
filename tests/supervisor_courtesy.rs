//! The courtesy rules on a virtual clock (`src/supervisor/courtesy.rs`): keep the machine awake
//! exactly while connected (and on power, by default); step back when the machine runs hot;
//! contribute only while the user is away.

use bittrader_test_support::secs;
use bittrader_test_support::sim::Sim;
use bittrader_worker::config::Config;
use bittrader_worker::model::{
    AutoPause, AwakeHold, Battery, ChargeState, IdleReading, KeepAwake, LogNote, Notice,
    PauseAtThermal, Phase, PowerSnapshot, ThermalState,
};
use bittrader_worker::supervisor::settings::{AUTO_PAUSE_DRAIN_DEADLINE, THERMAL_RESUME_AFTER};
use bittrader_worker::supervisor::{Action, Event, Settings, UserCommand};

fn on_battery() -> Event {
    Event::Power(PowerSnapshot {
        on_ac: false,
        battery: Some(Battery {
            percent: 70,
            state: ChargeState::Discharging,
        }),
    })
}

fn on_mains() -> Event {
    Event::Power(PowerSnapshot {
        on_ac: true,
        battery: Some(Battery {
            percent: 70,
            state: ChargeState::Charging,
        }),
    })
}

fn keeping_awake(sim: &Sim) -> bool {
    sim.sup.status().courtesy.keeping_awake
}

/// A laptop's settings with config.toml's defaults.
fn laptop() -> Settings {
    Settings::from_config(&Config::with_defaults(10), true)
}

fn with_keep_awake(keep_awake: KeepAwake) -> Settings {
    let mut settings = laptop();
    settings.courtesy.keep_awake = keep_awake;
    settings
}

#[test]
fn awake_is_held_exactly_while_connected_on_power() {
    let mut sim = Sim::new(with_keep_awake(KeepAwake::OnPower));
    sim.event(on_mains());
    sim.run_for(secs(1));
    assert_eq!(sim.phase(), Phase::Starting);
    assert!(!keeping_awake(&sim), "not before the worker joined");
    sim.run_for(secs(5));
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(keeping_awake(&sim));

    // On battery: released at once, still connected.
    sim.event(on_battery());
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(!keeping_awake(&sim));
    sim.event(on_mains());
    assert!(keeping_awake(&sim));

    // Paused after the current tasks: held while they finish (an idle sleep would cut the
    // drain short and lose them), released once the worker leaves.
    sim.world.worker.drain_takes = Some(secs(60));
    sim.user(UserCommand::PauseAfterTasks);
    assert_eq!(sim.phase(), Phase::Draining);
    assert!(keeping_awake(&sim));
    sim.run_for(secs(50));
    assert_eq!(sim.phase(), Phase::Draining);
    assert!(keeping_awake(&sim));
    sim.run_for(secs(30));
    assert_eq!(sim.phase(), Phase::Paused);
    assert!(!keeping_awake(&sim));
    // On battery during a drain: released (the setting is "on power").
    sim.user(UserCommand::Resume);
    sim.run_for(secs(10));
    sim.user(UserCommand::PauseAfterTasks);
    assert!(keeping_awake(&sim));
    sim.event(on_battery());
    assert_eq!(sim.phase(), Phase::Draining);
    assert!(!keeping_awake(&sim));
    sim.event(on_mains());
    assert!(keeping_awake(&sim));
    // "Pause now" cuts the drain short: released at once.
    sim.user(UserCommand::Pause);
    assert!(!keeping_awake(&sim));
    sim.run_for(secs(10));
    sim.world.worker.drain_takes = Some(secs(8));
    sim.user(UserCommand::Resume);
    sim.run_for(secs(10));
    assert!(keeping_awake(&sim));

    // The head stops answering: released while the worker waits out the grace.
    sim.world.head_up = false;
    sim.run_for(secs(5));
    assert_eq!(sim.phase(), Phase::Disconnecting);
    assert!(!keeping_awake(&sim));
    sim.world.head_up = true;
    sim.run_for(secs(5));
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(keeping_awake(&sim));

    // An announced sleep: never held against it.
    sim.event(Event::WillSleep);
    assert!(!keeping_awake(&sim));
}

#[test]
fn always_holds_on_battery_and_never_never_holds() {
    let mut sim = Sim::new(with_keep_awake(KeepAwake::Always));
    sim.event(on_battery());
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(keeping_awake(&sim));

    let mut sim = Sim::new(with_keep_awake(KeepAwake::Never));
    sim.event(on_mains());
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(!keeping_awake(&sim));
    assert_eq!(sim.sup.status().courtesy.keep_awake, KeepAwake::Never);
    assert_eq!(sim.starts().len(), 1);
}

fn notices(sim: &Sim) -> Vec<Notice> {
    sim.notices()
        .into_iter()
        .filter_map(|a| match a {
            Action::Notify(notice) => Some(notice),
            _ => None,
        })
        .collect()
}

fn heat_notices(sim: &Sim) -> Vec<Notice> {
    notices(sim)
        .into_iter()
        .filter(|n| {
            matches!(
                n,
                Notice::CooledDown
                    | Notice::AutoPaused {
                        reason: AutoPause::RunsHot { .. }
                    }
            )
        })
        .collect()
}

fn connected_sim(limit: PauseAtThermal) -> Sim {
    let mut settings = Settings::default();
    settings.courtesy.pause_at_thermal = limit;
    let mut sim = Sim::new(settings);
    sim.event(Event::Thermal(ThermalState::Nominal));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim
}

#[test]
fn hot_drains_then_pauses_and_cool_for_five_minutes_resumes_one_notice_each_way() {
    let mut sim = connected_sim(PauseAtThermal::Serious);
    sim.event(Event::Thermal(ThermalState::Fair));
    assert_eq!(sim.phase(), Phase::Connected, "fair is fine");

    let hot_at = sim.elapsed();
    sim.event(Event::Thermal(ThermalState::Serious));
    assert_eq!(sim.phase(), Phase::Draining, "after the current tasks");
    assert!(sim.records.iter().any(|r| matches!(
        r.action,
        Action::DrainWorker { deadline, .. } if deadline == AUTO_PAUSE_DRAIN_DEADLINE
    )));
    assert_eq!(sim.drains(), vec![hot_at]);
    sim.run_for(secs(30));
    let status = sim.sup.status();
    assert_eq!(status.phase, Phase::Paused);
    assert_eq!(
        status.auto_pause,
        Some(AutoPause::RunsHot {
            thermal: ThermalState::Serious,
            resume_after_secs: 300,
        })
    );
    assert!(!status.paused, "not the user's pause");
    assert_eq!(status.courtesy.thermal, Some(ThermalState::Serious));

    // Hotter, then cooler but not cool: still paused, however long.
    sim.event(Event::Thermal(ThermalState::Critical));
    sim.run_for(secs(600));
    assert_eq!(sim.phase(), Phase::Paused);

    // Fair for less than five minutes, then serious again: the wait starts over.
    sim.event(Event::Thermal(ThermalState::Fair));
    sim.run_for(THERMAL_RESUME_AFTER - secs(10));
    assert_eq!(sim.phase(), Phase::Paused);
    sim.event(Event::Thermal(ThermalState::Serious));
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Paused);

    // Nominal for five minutes: it rejoins.
    let starts = sim.starts().len();
    sim.event(Event::Thermal(ThermalState::Nominal));
    let cool_at = sim.elapsed();
    sim.run_for(THERMAL_RESUME_AFTER - secs(1));
    assert_eq!(sim.phase(), Phase::Paused);
    assert_eq!(sim.starts().len(), starts);
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    let restarted_at = sim.starts().last().map(|(at, _)| *at);
    assert!(restarted_at.is_some_and(|at| at >= cool_at + THERMAL_RESUME_AFTER));

    assert_eq!(
        heat_notices(&sim),
        vec![
            Notice::AutoPaused {
                reason: AutoPause::RunsHot {
                    thermal: ThermalState::Serious,
                    resume_after_secs: 300,
                }
            },
            Notice::CooledDown
        ],
        "one notification each way"
    );
}

#[test]
fn a_critical_limit_ignores_serious_and_never_never_pauses() {
    let mut sim = connected_sim(PauseAtThermal::Critical);
    sim.event(Event::Thermal(ThermalState::Serious));
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Connected);
    sim.event(Event::Thermal(ThermalState::Critical));
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Paused);

    let mut sim = connected_sim(PauseAtThermal::Never);
    sim.event(Event::Thermal(ThermalState::Critical));
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(heat_notices(&sim).is_empty());
}

#[test]
fn the_heat_pause_never_lifts_the_users_pause_and_a_resume_wins_until_it_cools() {
    // The user's pause outlives a heat pause; and no notice for a machine not contributing.
    let mut sim = connected_sim(PauseAtThermal::Serious);
    sim.user(UserCommand::Pause);
    sim.run_for(secs(5));
    sim.event(Event::Thermal(ThermalState::Serious));
    sim.event(Event::Thermal(ThermalState::Nominal));
    sim.run_for(THERMAL_RESUME_AFTER + secs(10));
    let status = sim.sup.status();
    assert_eq!(status.phase, Phase::Paused);
    assert!(status.paused && status.auto_pause.is_none());
    assert!(heat_notices(&sim).is_empty(), "{:?}", notices(&sim));

    // A Resume during a heat pause wins while it stays hot; a new rise pauses again.
    let mut sim = connected_sim(PauseAtThermal::Serious);
    sim.event(Event::Thermal(ThermalState::Serious));
    sim.run_for(secs(30));
    assert_eq!(sim.phase(), Phase::Paused);
    sim.user(UserCommand::Resume);
    sim.event(Event::Thermal(ThermalState::Serious));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim.event(Event::Thermal(ThermalState::Fair));
    sim.event(Event::Thermal(ThermalState::Serious));
    assert_eq!(sim.phase(), Phase::Draining);

    // A Resume at `serious` does not cover `critical`.
    sim.run_for(secs(60));
    sim.user(UserCommand::Resume);
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim.event(Event::Thermal(ThermalState::Critical));
    assert_eq!(sim.phase(), Phase::Draining, "hotter than the user saw");
}

fn idle(secs_ago: u64) -> Event {
    Event::UserIdle(IdleReading::Idle(secs(secs_ago)))
}

fn only_when_idle(minutes: u64) -> Sim {
    let mut settings = Settings::default();
    settings.courtesy.only_when_idle = Some(secs(minutes * 60));
    Sim::new(settings)
}

#[test]
fn only_when_idle_waits_for_the_user_to_be_away_and_drains_when_they_return() {
    let mut sim = only_when_idle(10);
    // No reading yet: not known to be away, nothing starts.
    sim.run_for(secs(60));
    assert!(sim.starts().is_empty());
    // The user typed 30 s ago: paused, and it says why.
    let last_input = sim.elapsed() - secs(30);
    sim.event(idle(30));
    sim.run_for(secs(60));
    let status = sim.sup.status();
    assert_eq!(status.phase, Phase::Paused);
    assert_eq!(
        status.auto_pause,
        Some(AutoPause::UserPresent { away_minutes: 10 })
    );
    assert!(!status.paused);
    assert_eq!(status.courtesy.only_when_idle_minutes, Some(10));
    assert!(sim.starts().is_empty());

    // No more input: away ten minutes after the last one, by the supervisor's own timer
    // (no new reading needed), and the worker starts then.
    sim.run_until(last_input + secs(600) - secs(1));
    assert!(sim.starts().is_empty());
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    let started = sim.starts()[0].0;
    assert!(started >= last_input + secs(600), "{started:?}");

    // Readings that keep growing change nothing.
    sim.event(idle(700));
    sim.run_for(secs(5));
    assert_eq!(sim.phase(), Phase::Connected);

    // The user is back: drained (a minute for the tasks), then paused.
    let back_at = sim.elapsed();
    sim.event(idle(1));
    assert_eq!(sim.phase(), Phase::Draining);
    assert!(sim.records.iter().any(|r| r.at == back_at
        && matches!(
            r.action,
            Action::DrainWorker { deadline, .. } if deadline == AUTO_PAUSE_DRAIN_DEADLINE
        )));
    sim.run_for(secs(30));
    assert_eq!(sim.phase(), Phase::Paused);
    assert_eq!(sim.starts().len(), 1);
    assert!(
        notices(&sim).is_empty(),
        "the user is at the machine: no notifications"
    );
}

#[test]
fn a_machine_that_cannot_tell_idleness_is_not_blocked_and_says_so() {
    let mut sim = only_when_idle(10);
    sim.event(Event::UserIdle(IdleReading::NoSession));
    sim.run_for(secs(10));
    let status = sim.sup.status();
    assert_eq!(status.phase, Phase::Connected);
    assert!(status.courtesy.idle_unsupported);

    // Off: readings (there are none in the driver then) change nothing, nothing is reported.
    let mut sim = Sim::new(Settings::default());
    sim.event(idle(0));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(!sim.sup.status().courtesy.idle_unsupported);
}

#[test]
fn a_resume_while_the_user_is_present_wins_until_they_have_been_away() {
    let mut sim = only_when_idle(5);
    sim.event(idle(0));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Paused);
    sim.user(UserCommand::Resume);
    sim.event(idle(0));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected, "the user's Resume wins");
    // Away for 5 min (the worker keeps going), then back: the rule applies again.
    sim.run_for(secs(300));
    sim.event(idle(2));
    assert_eq!(sim.phase(), Phase::Draining);
}

#[test]
fn a_resume_of_the_users_own_pause_leaves_a_heat_or_presence_pause_that_began_under_it() {
    // Paused by the user, then hot: the menu said "Paused". Resume ends the user's pause
    // only; the heat pause, never shown, still holds and says why.
    let mut sim = connected_sim(PauseAtThermal::Serious);
    sim.user(UserCommand::Pause);
    sim.run_for(secs(5));
    sim.event(Event::Thermal(ThermalState::Serious));
    sim.user(UserCommand::Resume);
    sim.run_for(secs(30));
    let status = sim.sup.status();
    assert_eq!(status.phase, Phase::Paused);
    assert!(!status.paused);
    assert_eq!(
        status.auto_pause,
        Some(AutoPause::RunsHot {
            thermal: ThermalState::Serious,
            resume_after_secs: 300,
        })
    );
    assert_eq!(sim.starts().len(), 1, "no join while hot");
    // A second Resume answers the heat pause the menu now shows.
    sim.user(UserCommand::Resume);
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);

    // The same with the user at the machine under "only when idle".
    let mut sim = only_when_idle(5);
    sim.event(idle(600));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim.user(UserCommand::Pause);
    sim.run_for(secs(5));
    sim.event(idle(0));
    sim.user(UserCommand::Resume);
    sim.event(idle(1));
    sim.run_for(secs(30));
    let status = sim.sup.status();
    assert_eq!(status.phase, Phase::Paused);
    assert_eq!(
        status.auto_pause,
        Some(AutoPause::UserPresent { away_minutes: 5 })
    );
    assert_eq!(sim.starts().len(), 1, "no join under the user's hands");

    // And with the battery running low under the user's pause.
    let mut sim = Sim::new(laptop());
    sim.event(on_mains());
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim.user(UserCommand::Pause);
    sim.run_for(secs(5));
    sim.event(Event::Power(PowerSnapshot {
        on_ac: false,
        battery: Some(Battery {
            percent: 5,
            state: ChargeState::Discharging,
        }),
    }));
    sim.user(UserCommand::Resume);
    sim.run_for(secs(30));
    let status = sim.sup.status();
    assert_eq!(status.phase, Phase::Paused);
    assert!(
        matches!(status.auto_pause, Some(AutoPause::LowBattery { .. })),
        "{status:?}"
    );
    assert_eq!(sim.starts().len(), 1, "no join on an empty battery");
}

#[test]
fn a_session_that_never_reported_idleness_counts_as_in_use_and_a_failed_read_changes_nothing() {
    // A fresh GNOME session before its first idle period: held back, and the menu says why.
    let mut sim = only_when_idle(5);
    sim.event(Event::UserIdle(IdleReading::HintNeverSet));
    sim.run_for(secs(60));
    let status = sim.sup.status();
    assert_eq!(status.phase, Phase::Paused);
    assert_eq!(
        status.auto_pause,
        Some(AutoPause::UserPresent { away_minutes: 5 })
    );
    assert!(status.courtesy.idle_hint_never_set);
    assert!(!status.courtesy.idle_unsupported);
    assert!(sim.starts().is_empty());

    // A read that fails while the user is at the machine: still held back.
    sim.event(Event::UserIdle(IdleReading::ReadFailed));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Paused);
    assert!(sim.starts().is_empty());

    // Away: joins; reads that fail now and then neither stop nor restart it.
    sim.event(idle(400));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(!sim.sup.status().courtesy.idle_hint_never_set);
    for _ in 0..5 {
        sim.event(Event::UserIdle(IdleReading::ReadFailed));
        sim.run_for(secs(5));
        sim.event(idle(420));
        sim.run_for(secs(5));
    }
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(sim.starts().len(), 1);
    assert!(sim.drains().is_empty());
}

#[test]
fn the_cooled_down_notice_is_given_only_when_the_worker_may_join_again() {
    // Hot (notified), then the user pauses: cool again, but nothing joins: no "joins again".
    let mut sim = connected_sim(PauseAtThermal::Serious);
    sim.event(Event::Thermal(ThermalState::Serious));
    sim.run_for(secs(30));
    sim.user(UserCommand::Pause);
    sim.event(Event::Thermal(ThermalState::Nominal));
    sim.run_for(THERMAL_RESUME_AFTER + secs(10));
    assert_eq!(sim.phase(), Phase::Paused);
    assert_eq!(
        heat_notices(&sim),
        vec![Notice::AutoPaused {
            reason: AutoPause::RunsHot {
                thermal: ThermalState::Serious,
                resume_after_secs: 300,
            }
        }]
    );

    // Hot, then the user sits down under "only when idle": cool again, still held back.
    let mut settings = Settings::default();
    settings.courtesy.only_when_idle = Some(secs(900));
    let mut sim = Sim::new(settings);
    sim.event(idle(1000));
    sim.event(Event::Thermal(ThermalState::Nominal));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim.event(Event::Thermal(ThermalState::Serious));
    sim.run_for(secs(30));
    sim.event(idle(0));
    sim.event(Event::Thermal(ThermalState::Nominal));
    sim.run_for(THERMAL_RESUME_AFTER + secs(10));
    assert_eq!(
        sim.sup.status().auto_pause,
        Some(AutoPause::UserPresent { away_minutes: 15 })
    );
    assert!(!heat_notices(&sim).contains(&Notice::CooledDown));
}

#[test]
fn a_machine_that_keeps_heating_up_waits_longer_each_time_and_is_told_once() {
    let mut sim = connected_sim(PauseAtThermal::Serious);
    let min = |m: u64| secs(m * 60);
    let mut cool_waits = Vec::new();
    // A fanless Mac: hot within five minutes of each rejoin, for two hours.
    for _ in 0..6 {
        sim.event(Event::Thermal(ThermalState::Serious));
        sim.run_for(secs(60));
        assert_eq!(sim.phase(), Phase::Paused);
        let Some(AutoPause::RunsHot {
            resume_after_secs, ..
        }) = sim.sup.status().auto_pause
        else {
            panic!("not paused for heat: {:?}", sim.sup.status());
        };
        cool_waits.push(resume_after_secs / 60);
        sim.event(Event::Thermal(ThermalState::Nominal));
        let cool_at = sim.elapsed();
        sim.run_for(secs(resume_after_secs) - secs(1));
        assert_eq!(sim.phase(), Phase::Paused, "the wait is the one shown");
        sim.run_for(secs(10));
        assert_eq!(sim.phase(), Phase::Connected);
        assert!(sim.elapsed() >= cool_at + secs(resume_after_secs));
        sim.run_for(min(5));
    }
    assert_eq!(cool_waits, vec![5, 10, 20, 20, 20, 20]);
    assert_eq!(
        heat_notices(&sim),
        vec![
            Notice::AutoPaused {
                reason: AutoPause::RunsHot {
                    thermal: ThermalState::Serious,
                    resume_after_secs: 300,
                }
            },
            Notice::CooledDown
        ],
        "one notification each way per few hours, not per cycle"
    );

    // Cool for more than an hour: the next heat pause waits five minutes again.
    sim.run_for(min(61));
    sim.event(Event::Thermal(ThermalState::Serious));
    sim.run_for(secs(60));
    assert!(matches!(
        sim.sup.status().auto_pause,
        Some(AutoPause::RunsHot {
            resume_after_secs: 300,
            ..
        })
    ));
}

#[test]
fn keeping_awake_is_claimed_only_when_the_os_granted_it_and_a_refusal_is_logged_once() {
    let mut sim = Sim::new(with_keep_awake(KeepAwake::OnPower));
    sim.world.grants_awake = false;
    sim.event(on_mains());
    sim.run_for(secs(10));
    let status = sim.sup.status();
    assert_eq!(status.phase, Phase::Connected);
    assert!(status.courtesy.hold_awake, "wanted");
    assert!(!status.courtesy.keeping_awake, "but not granted");
    // Asked again at each reconnect: still refused, still logged only once.
    for _ in 0..3 {
        sim.user(UserCommand::Pause);
        sim.run_for(secs(5));
        sim.user(UserCommand::Resume);
        sim.run_for(secs(10));
    }
    let refusals = sim
        .records
        .iter()
        .filter(|r| matches!(r.action, Action::Log(LogNote::KeepAwakeRefused { .. })))
        .count();
    assert_eq!(refusals, 1);

    // Granted: claimed.
    let mut sim = Sim::new(with_keep_awake(KeepAwake::OnPower));
    sim.event(on_mains());
    sim.run_for(secs(10));
    assert!(keeping_awake(&sim));
    sim.event(Event::AwakeHold(AwakeHold::Released));
    assert!(!keeping_awake(&sim), "the OS's word, not the wish");
}
