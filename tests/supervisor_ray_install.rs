//! Installing Ray from the app, on the supervisor's virtual clock: the install is asked for
//! only while no worker runs, its steps show in the status, and a good install retries the
//! worker at once with one notification; a failed one keeps the fault and says why.

use std::time::Duration;

use bittrader_test_support::secs;
use bittrader_test_support::sim::Sim;
use bittrader_test_support::world::WorkerScript;
use bittrader_worker::model::{Fault, InstallStep, Notice, Phase, WorkerFailure};
use bittrader_worker::supervisor::{Action, Event, Settings, UserCommand};

/// A worker whose Ray (2.51.2) the head (2.60.0) refuses: the error state.
fn refused_for_its_version() -> Sim {
    let mut sim = Sim::new(Settings::default());
    sim.world.worker = WorkerScript::crashing(
        secs(2),
        Some(WorkerFailure::VersionMismatch {
            cluster: Some("2.60.0".into()),
            this_machine: Some("2.51.2".into()),
        }),
    );
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Error);
    assert!(matches!(sim.sup.status().fault, Some(Fault::Worker { .. })));
    sim
}

fn install_actions(sim: &Sim) -> Vec<Option<String>> {
    sim.records
        .iter()
        .filter_map(|r| match &r.action {
            Action::InstallRay { version } => Some(version.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_good_install_retries_the_worker_at_once_and_says_so_once() {
    let mut sim = refused_for_its_version();
    let starts_before = sim.starts().len();
    sim.user(UserCommand::InstallRay {
        version: Some("2.60.0".into()),
    });
    sim.user(UserCommand::InstallRay {
        version: Some("2.60.0".into()),
    });
    assert_eq!(
        install_actions(&sim),
        vec![Some("2.60.0".to_string())],
        "one install at a time"
    );
    sim.event(Event::RayInstallProgress(InstallStep::Downloading {
        package: "ray".into(),
    }));
    let status = sim.sup.status();
    assert_eq!(
        status.ray_install.map(|i| i.step),
        Some(InstallStep::Downloading {
            package: "ray".into()
        })
    );
    // pip takes its minute; nothing starts meanwhile.
    sim.run_for(secs(60));
    assert_eq!(sim.starts().len(), starts_before);

    sim.world.worker = WorkerScript::default();
    let ended_at = sim.elapsed();
    sim.event(Event::RayInstallEnded(Ok("2.60.0".into())));
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    let restart = sim.starts()[starts_before].0;
    assert!(
        restart - ended_at < Duration::from_secs(2),
        "{restart:?} vs {ended_at:?}"
    );
    let installed: Vec<_> = sim
        .notices()
        .into_iter()
        .filter(|a| matches!(a, Action::Notify(Notice::RayInstalled { .. })))
        .collect();
    assert_eq!(
        installed,
        vec![Action::Notify(Notice::RayInstalled {
            version: "2.60.0".into()
        })]
    );
    assert!(sim.sup.status().ray_install.is_none());
}

#[test]
fn a_failed_install_keeps_the_fault_and_says_why() {
    let mut sim = refused_for_its_version();
    sim.user(UserCommand::InstallRay { version: None });
    sim.event(Event::RayInstallEnded(Err(
        "No Python 3.10 to 3.14 was found".into(),
    )));
    sim.run_for(secs(30));
    assert_eq!(sim.phase(), Phase::Error);
    assert!(sim
        .notices()
        .contains(&Action::Notify(Notice::RayInstallFailed {
            why: "No Python 3.10 to 3.14 was found".into()
        })));
}

#[test]
fn no_install_under_a_running_worker() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim.user(UserCommand::InstallRay { version: None });
    assert!(install_actions(&sim).is_empty());
    assert!(sim.sup.status().ray_install.is_none());
}
