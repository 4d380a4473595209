//! The courtesy rules on a virtual clock (`src/supervisor/courtesy.rs`): keep the machine awake
//! exactly while connected (and on power, by default).

mod common;

use bittrader_test_support::secs;
use bittrader_worker::model::{Battery, ChargeState, KeepAwake, Phase, PowerSnapshot};
use bittrader_worker::supervisor::{Event, Settings, UserCommand};
use common::sim::Sim;

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

fn with_keep_awake(keep_awake: KeepAwake) -> Settings {
    let mut settings = Settings::for_machine(true);
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

    // Paused after the current tasks: released as soon as the drain begins.
    sim.user(UserCommand::PauseAfterTasks);
    assert_eq!(sim.phase(), Phase::Draining);
    assert!(!keeping_awake(&sim));
    sim.run_for(secs(30));
    assert_eq!(sim.phase(), Phase::Paused);
    assert!(!keeping_awake(&sim));
    sim.user(UserCommand::Resume);
    sim.run_for(secs(10));
    assert!(keeping_awake(&sim));

    // The head stops answering: released while the worker waits out the grace.
    sim.head_up = false;
    sim.run_for(secs(5));
    assert_eq!(sim.phase(), Phase::Disconnecting);
    assert!(!keeping_awake(&sim));
    sim.head_up = true;
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
