//! Property tests: random sequences of probes, worker exits, user commands and time, checked
//! against the supervisor's invariants.

mod common;

use std::time::Duration;

use bittrader_worker::model::{
    Battery, ChargeState, Phase, PowerSnapshot, TailscaleCheck, TailscaleProblem, WorkerFailure,
};
use bittrader_worker::supervisor::settings::SLEEP_CANCELLED_AFTER;
use bittrader_worker::supervisor::{
    Action, Event, LaptopPolicy, Settings, UserCommand, WorkerExit,
};
use common::sim::Sim;
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
    SleepMeasured(u64),
    Wait(u64),
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
        1 => (0u64..3600).prop_map(Step::Wake),
        1 => (0u64..3600).prop_map(Step::SleepMeasured),
        6 => (0u64..90_000).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold(steps in proptest::collection::vec(step(), 1..60)) {
        let mut sim = Sim::new(Settings {
            laptop: LaptopPolicy { mobile: true, cpus_on_battery: Some(3), ..LaptopPolicy::default() },
            ..Settings::default()
        });
        let mut paused = false;
        // When the last sleep was announced and not yet woken from.
        let mut asleep_since: Option<Duration> = None;
        for step in steps {
            match step {
                Step::HeadUp => sim.head_up = true,
                Step::HeadDown => sim.head_up = false,
                Step::Pause => { paused = true; sim.user(UserCommand::Pause) }
                Step::Resume => { paused = false; sim.user(UserCommand::Resume) }
                Step::SetCpus(n) => sim.user(UserCommand::SetCpus(n)),
                Step::NetworkChanged => sim.event(Event::NetworkChanged),
                Step::Tailscale(vouches) => {
                    sim.tailscale = if vouches {
                        TailscaleCheck::OnlinePeer
                    } else {
                        TailscaleCheck::Problem { problem: TailscaleProblem::Stopped }
                    }
                }
                Step::Power(on_ac, percent) => sim.event(Event::Power(PowerSnapshot {
                    on_ac,
                    battery: Some(Battery { percent, state: ChargeState::Unknown }),
                })),
                Step::Sleep => { asleep_since = Some(sim.elapsed()); sim.event(Event::WillSleep) }
                Step::Wake(slept_secs) => { asleep_since = None; sim.event(Event::Woke { slept_secs }) }
                Step::SleepMeasured(slept_secs) => sim.event(Event::SleepMeasured { slept_secs }),
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
                    if paused {
                        prop_assert!(starts().next().is_none());
                    }
                    if let Some(since) = asleep_since {
                        prop_assert!(starts().all(|r| r.at >= since + SLEEP_CANCELLED_AFTER));
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
        }

        // Power and wake clear the supervisor's own pauses before the last checks.
        sim.event(Event::Power(PowerSnapshot { on_ac: true, battery: None }));
        sim.event(Event::Woke { slept_secs: 0 });
        sim.tailscale = TailscaleCheck::OnlinePeer;

        // Then the head goes away for good: the worker is gone within grace + probe + stop.
        let settings = Settings::default();
        sim.head_up = false;
        sim.run_for(settings.grace + Duration::from_secs(6));
        prop_assert!(sim.worker.is_none(), "worker left running after the grace: {:?}", sim.phase());

        // And comes back: unless paused or in error, a worker starts within about a second.
        sim.head_up = true;
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
        sim.tailscale = TailscaleCheck::Problem { problem: TailscaleProblem::HeadNotInTailnet };
        sim.run_for(settings.grace + Duration::from_secs(6));
        prop_assert!(sim.worker.is_none(), "worker kept for an unvouched head: {:?}", sim.phase());
        let starts = sim.starts().len();
        sim.run_for(Duration::from_secs(600));
        prop_assert_eq!(sim.starts().len(), starts);
        prop_assert!(!sim.unvouched_start);

        // What you gave: one worker at a time keeps one core busy in this world, so the CPU
        // time recorded can never exceed the time gone by (a tree counted twice would).
        prop_assert!(
            sim.recorded_cpu() <= sim.elapsed().mul_f64(sim.cpu_cores),
            "recorded {:?} in {:?}", sim.recorded_cpu(), sim.elapsed()
        );
    }
}
