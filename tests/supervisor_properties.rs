//! Property tests: random sequences of probes, worker exits, user commands and time, checked
//! against the supervisor's invariants.

use std::time::Duration;

use bittrader_test_support::sim::Sim;
use bittrader_worker::config::BatteryConfig;
use bittrader_worker::model::{
    Battery, ChargeState, IdleReading, Phase, PowerSnapshot, TailscaleCheck, TailscaleProblem,
    ThermalState, WorkerFailure,
};
use bittrader_worker::supervisor::settings::{SLEEP_CANCELLED_AFTER, THERMAL_RESUME_AFTER_MAX};
use bittrader_worker::supervisor::{
    Action, CourtesyPolicy, Event, LaptopPolicy, Settings, UserCommand, WorkerExit,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    HeadUp,
    HeadDown,
    Pause,
    Resume,
    SetCpus(u32),
    WorkerDies(Option<WorkerFailure>),
    NetworkChanged,
    /// Tailscale vouches for the head (true) or not.
    Tailscale(bool),
    Power(bool, u8),
    Sleep,
    Wake(u64),
    /// A thermal reading.
    Thermal(ThermalState),
    /// An idle reading ("only when idle").
    UserIdle(IdleReading),
    Wait(u64),
}

fn thermal() -> impl Strategy<Value = ThermalState> {
    prop_oneof![
        Just(ThermalState::Nominal),
        Just(ThermalState::Fair),
        Just(ThermalState::Serious),
        Just(ThermalState::Critical),
    ]
}

fn idle_reading() -> impl Strategy<Value = IdleReading> {
    prop_oneof![
        4 => (0u64..900).prop_map(|secs| IdleReading::Idle(Duration::from_secs(secs))),
        1 => Just(IdleReading::HintNeverSet),
        1 => Just(IdleReading::ReadFailed),
        1 => Just(IdleReading::NoSession),
    ]
}

fn failure() -> impl Strategy<Value = Option<WorkerFailure>> {
    prop_oneof![
        Just(None),
        Just(Some(WorkerFailure::NodeMarkedDead)),
        Just(Some(WorkerFailure::HeadUnreachable)),
        Just(Some(WorkerFailure::Crashed {
            last_line: "x".into()
        })),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::HeadUp),
        3 => Just(Step::HeadDown),
        1 => Just(Step::Pause),
        2 => Just(Step::Resume),
        1 => (1u32..=10).prop_map(Step::SetCpus),
        2 => failure().prop_map(Step::WorkerDies),
        1 => Just(Step::NetworkChanged),
        2 => any::<bool>().prop_map(Step::Tailscale),
        2 => (any::<bool>(), 0u8..=100).prop_map(|(ac, level)| Step::Power(ac, level)),
        1 => Just(Step::Sleep),
        2 => (0u64..3600).prop_map(Step::Wake),
        2 => thermal().prop_map(Step::Thermal),
        2 => idle_reading().prop_map(Step::UserIdle),
        6 => (0u64..90_000).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold(steps in proptest::collection::vec(step(), 1..60)) {
        let mut sim = Sim::new(Settings {
            laptop: LaptopPolicy {
                mobile: true,
                battery: BatteryConfig { cpus_on_battery: 3, ..BatteryConfig::default() },
            },
            courtesy: CourtesyPolicy {
                only_when_idle: Some(Duration::from_secs(300)),
                ..CourtesyPolicy::default()
            },
            ..Settings::default()
        });
        // The machine runs hot (a reading at `serious` or above, a new rise) and the user has
        // not resumed since: no worker may start.
        let mut hot = false;
        let mut last_thermal = ThermalState::Nominal;
        let mut paused = false;
        // The last power reading said mains (none yet counts as mains).
        let mut on_ac = true;
        // "Only when idle" (300 s), as this test understands its readings: when the user
        // counts as away (`None`: no reading yet, so not known to be away), whether nothing can
        // tell here, and whether a Resume during the hold overrides it until they are away.
        let away_after = Duration::from_secs(300);
        let mut away_from: Option<Duration> = None;
        let mut idle_unsupported = false;
        let mut idle_overridden = false;
        // When the last sleep was announced and not yet woken from.
        let mut asleep_since: Option<Duration> = None;
        for step in steps {
            if away_from.is_some_and(|at| sim.elapsed() >= at) {
                idle_overridden = false;
            }
            let present = !idle_unsupported && away_from.is_none_or(|at| sim.elapsed() < at);
            match step {
                Step::HeadUp => sim.world.head_up = true,
                Step::HeadDown => sim.world.head_up = false,
                Step::Pause => { paused = true; sim.user(UserCommand::Pause) }
                Step::Resume => {
                    // A Resume of the user's own pause answers only that pause: a heat or
                    // presence pause that began under it stays.
                    if !paused {
                        hot = false;
                        idle_overridden |= present;
                    }
                    paused = false;
                    sim.user(UserCommand::Resume)
                }
                Step::SetCpus(n) => sim.user(UserCommand::SetCpus(n)),
                Step::NetworkChanged => sim.event(Event::NetworkChanged),
                Step::Tailscale(vouches) => {
                    sim.world.tailscale = if vouches {
                        TailscaleCheck::OnlinePeer
                    } else {
                        TailscaleCheck::Problem { problem: TailscaleProblem::Stopped }
                    }
                }
                Step::Power(ac, percent) => {
                    on_ac = ac;
                    sim.event(Event::Power(PowerSnapshot {
                        on_ac: ac,
                        battery: Some(Battery { percent, state: ChargeState::Unknown }),
                    }))
                }
                Step::Sleep => { asleep_since = Some(sim.elapsed()); sim.event(Event::WillSleep) }
                Step::Wake(slept_secs) => { asleep_since = None; sim.event(Event::Woke { slept_secs }) }
                Step::Thermal(state) => {
                    if state >= ThermalState::Serious && last_thermal < ThermalState::Serious {
                        hot = true;
                    }
                    last_thermal = state;
                    sim.event(Event::Thermal(state));
                }
                Step::UserIdle(reading) => {
                    let now = sim.elapsed();
                    match reading {
                        IdleReading::Idle(idle) => {
                            idle_unsupported = false;
                            away_from = Some(now + away_after.saturating_sub(idle));
                        }
                        // In use.
                        IdleReading::HintNeverSet => {
                            idle_unsupported = false;
                            away_from = Some(now + away_after);
                        }
                        // Says nothing new.
                        IdleReading::ReadFailed => {}
                        IdleReading::NoSession => {
                            idle_unsupported = true;
                            away_from = None;
                        }
                    }
                    sim.event(Event::UserIdle(reading))
                }
                Step::WorkerDies(failure) => {
                    if sim.worker.take().is_some() {
                        sim.event(Event::WorkerExited(WorkerExit { code: Some(1), failure }));
                    }
                }
                Step::Wait(ms) => {
                    let before = sim.records.len();
                    sim.run_for(Duration::from_millis(ms));
                    // Never a start while paused, nor after an announced sleep until the wake
                    // (or until the sleep is found cancelled, that long awake).
                    let starts = || sim.records[before..].iter().filter(|r| matches!(r.action, Action::StartWorker(_)));
                    if paused || (hot && last_thermal >= ThermalState::Serious) {
                        prop_assert!(starts().next().is_none());
                    }
                    if let Some(since) = asleep_since {
                        prop_assert!(starts().all(|r| r.at >= since + SLEEP_CANCELLED_AFTER));
                    }
                    // Never a start while the user is (or may be) at the machine under "only
                    // when idle", unless they resumed during the hold.
                    if !idle_unsupported && !idle_overridden {
                        let held_until = away_from.unwrap_or(Duration::MAX);
                        prop_assert!(
                            starts().all(|r| r.at >= held_until),
                            "a start while the user is present (away from {:?})", away_from
                        );
                    }
                }
            }
            // At most one worker, ever.
            prop_assert!(!sim.double_start);
            // Never a start for the (Tailscale) head without Tailscale vouching for it.
            prop_assert!(!sim.unvouched_start);
            // The supervisor's view of the worker agrees with the world's.
            prop_assert_eq!(sim.sup.has_worker(), sim.worker.is_some());
            if paused {
                prop_assert!(matches!(sim.phase(), Phase::Paused | Phase::Stopping));
            }
            // The machine is kept awake only while a worker that joined is there, on mains
            // (`on_power`), not paused by the user, not going to sleep (a sleep announced and
            // not come after a minute was cancelled): this test's own view of
            // the world, not the supervisor's phase.
            let status = sim.sup.status();
            if status.courtesy.keeping_awake {
                prop_assert!(sim.worker.is_some() && sim.joined == sim.worker);
                let awake = asleep_since
                    .is_none_or(|since| sim.elapsed() >= since + SLEEP_CANCELLED_AFTER);
                prop_assert!(on_ac && !paused && awake);
            }
        }

        // Power and wake clear the supervisor's own pauses before the last checks.
        sim.event(Event::Power(PowerSnapshot { on_ac: true, battery: None }));
        sim.event(Event::Woke { slept_secs: 0 });
        sim.world.tailscale = TailscaleCheck::OnlinePeer;
        // So do a cool machine (after its wait) and a user long away.
        sim.event(Event::Thermal(ThermalState::Nominal));
        sim.event(Event::UserIdle(IdleReading::Idle(Duration::from_secs(3600))));
        // (A repeated heat pause waits longer: up to the cap.)
        sim.run_for(THERMAL_RESUME_AFTER_MAX + Duration::from_secs(1));

        // Then the head goes away for good: the worker is gone within grace + probe + stop.
        let settings = Settings::default();
        sim.world.head_up = false;
        sim.run_for(settings.grace + Duration::from_secs(6));
        prop_assert!(sim.worker.is_none(), "worker left running after the grace: {:?}", sim.phase());

        // And comes back: unless paused or in error, a worker starts within about a second.
        sim.world.head_up = true;
        let back = sim.elapsed();
        sim.run_for(Duration::from_secs(70));
        let phase = sim.phase();
        if !paused && phase != Phase::Error {
            let first = sim.starts().into_iter().map(|(at, _)| at).find(|at| *at >= back);
            let first = first.expect("a start after the head came back");
            // Restart delays from earlier crashes may still apply (up to the 60 s cap).
            prop_assert!(first - back <= Duration::from_secs(67), "start after {:?}", first - back);
            prop_assert_eq!(phase, Phase::Connected);
        }

        // Tailscale stops vouching for it (quit, or the address routed elsewhere) while the
        // address still answers: the worker is gone within the same bound, none starts again.
        // Either changes the machine's addresses, which the OS reports: Tailscale's word is
        // asked afresh then (it is kept 10 minutes otherwise, and a held connection to an
        // address that still answers stays up).
        sim.world.tailscale = TailscaleCheck::Problem { problem: TailscaleProblem::HeadNotInTailnet };
        sim.event(Event::NetworkChanged);
        sim.run_for(settings.grace + Duration::from_secs(6));
        prop_assert!(sim.worker.is_none(), "worker kept for an unvouched head: {:?}", sim.phase());
        let starts = sim.starts().len();
        sim.run_for(Duration::from_secs(600));
        prop_assert_eq!(sim.starts().len(), starts);
        prop_assert!(!sim.unvouched_start);

        // What you gave: one worker at a time keeps one core busy in this world, so the CPU
        // time recorded can never exceed the time gone by (a tree counted twice would).
        prop_assert!(
            sim.recorded_cpu() <= sim.elapsed().mul_f64(sim.world.worker.cpu_cores),
            "recorded {:?} in {:?}", sim.recorded_cpu(), sim.elapsed()
        );
    }
}
