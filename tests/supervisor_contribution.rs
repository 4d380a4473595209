//! What the worker gave, on the virtual clock: the CPU counters of a joined worker are read
//! once a minute (and once more at its stop), never while paused; the CPU time is counted
//! once across worker restarts; the timeline follows what the worker does; the history is
//! written at most once a minute while something changes, and at quit.

use std::time::Duration;

use bittrader_test_support::secs;
use bittrader_test_support::sim::Sim;
use bittrader_worker::model::{Activity, PauseReason, Phase};
use bittrader_worker::supervisor::{Settings, UserCommand};

fn connected() -> Sim {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim
}

#[test]
fn a_joined_worker_is_read_as_it_joins_then_once_a_minute_and_never_while_paused() {
    let mut sim = connected();
    sim.run_for(secs(600));
    let samples = sim.usage_samples();
    assert_eq!(samples.len(), 11, "{samples:?}");
    for pair in samples.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= secs(60) && gap < secs(61), "{samples:?}");
    }
    // The worker joined 3 s in.
    assert!(
        samples[0] >= secs(3) && samples[0] < secs(4),
        "at the join: {samples:?}"
    );

    sim.user(UserCommand::Pause);
    let at_pause = sim.usage_samples().len();
    assert_eq!(at_pause, 12, "one last reading as the worker stops");
    sim.run_for(secs(3600));
    assert_eq!(sim.phase(), Phase::Paused);
    assert_eq!(sim.usage_samples().len(), at_pause, "none while paused");
}

#[test]
fn cpu_time_is_counted_once_across_worker_restarts() {
    let mut sim = connected();
    sim.world.worker.cpu_cores = 2.0;
    sim.run_for(secs(300));
    // A restart (new CPU count): a new worker with a new pid whose counters start at zero.
    sim.user(UserCommand::SetCpus(4));
    sim.run_for(secs(300));
    sim.user(UserCommand::Pause);
    sim.run_for(secs(10));
    // The fake tree uses 2 cores from each start to the last reading, taken at each stop.
    let starts: Vec<Duration> = sim.starts().iter().map(|(at, _)| *at).collect();
    assert_eq!(starts.len(), 2);
    let stops = sim.stops();
    let expected = (stops[0] - starts[0]) * 2 + (stops[1] - starts[1]) * 2;
    let recorded = sim.recorded_cpu();
    let off = recorded.abs_diff(expected);
    assert!(
        off < Duration::from_millis(50),
        "recorded {recorded:?}, used {expected:?}"
    );
}

#[test]
fn the_timeline_follows_what_the_worker_does() {
    let mut sim = connected();
    sim.run_for(secs(120));
    sim.user(UserCommand::Pause);
    sim.run_for(secs(60));
    sim.user(UserCommand::Resume);
    sim.run_for(secs(60));
    sim.world.head_up = false;
    sim.run_for(secs(120));
    let states: Vec<Activity> = sim.activities().into_iter().map(|(_, a)| a).collect();
    assert_eq!(
        states,
        vec![
            Activity::Disconnected, // checking, starting
            Activity::Connected,
            Activity::Paused {
                reason: PauseReason::User
            },
            Activity::Disconnected, // starting again
            Activity::Connected,
            Activity::Disconnected, // the head went away
        ]
    );
    sim.user(UserCommand::Shutdown);
    sim.run_for(secs(30));
    assert_eq!(
        sim.activities().last().map(|(_, a)| *a),
        Some(Activity::Off)
    );
}

#[test]
fn the_history_is_written_at_most_once_a_minute_and_at_quit() {
    let mut sim = connected();
    sim.run_for(secs(3600));
    let saves = sim.history_saves();
    assert!(
        (55..=62).contains(&saves.len()),
        "about one write per minute while contributing: {}",
        saves.len()
    );
    for pair in saves.windows(2) {
        assert!(pair[1] - pair[0] >= secs(60), "{saves:?}");
    }
    sim.user(UserCommand::Pause);
    sim.run_for(secs(120));
    let after_pause = sim.history_saves().len();
    sim.run_for(secs(3600));
    assert_eq!(
        sim.history_saves().len(),
        after_pause,
        "nothing to write while nothing changes"
    );
    sim.user(UserCommand::Shutdown);
    sim.run_for(secs(30));
    assert_eq!(sim.history_saves().len(), after_pause + 1, "one at quit");
}

#[test]
fn a_reading_of_the_old_worker_that_arrives_after_a_new_start_is_not_counted() {
    use bittrader_worker::model::ProcessUsage;
    use bittrader_worker::supervisor::{Action, Event, WorkerExit};
    let mut sim = connected();
    sim.run_for(secs(120));
    // The worker crashes; the last reading asked of it is answered (again, or late) only
    // after the replacement has started, with the old tree's counters.
    let stale = sim
        .records
        .iter()
        .rev()
        .find_map(|r| match r.action {
            Action::SampleUsage { sample } => Some(sample),
            _ => None,
        })
        .expect("a reading was asked for");
    sim.worker = None;
    sim.event(Event::WorkerExited(WorkerExit {
        code: Some(1),
        failure: None,
    }));
    sim.run_for(secs(5));
    assert_eq!(sim.phase(), Phase::Connected, "replaced");
    let before = sim.recorded_cpu();
    sim.event(Event::UsageSampled {
        sample: stale,
        tree: Some(vec![ProcessUsage {
            pid: 5001,
            start: 1,
            parent: Some(1),
            own: secs(10_000),
            children: Duration::ZERO,
        }]),
    });
    assert_eq!(
        sim.recorded_cpu(),
        before,
        "nothing counted from the old tree"
    );
}

#[test]
fn how_busy_the_worker_keeps_its_cpus_comes_from_the_same_readings() {
    let mut sim = Sim::new(Settings::default());
    // The worker offers 10 CPUs and keeps 4 of them busy.
    sim.world.worker.cpu_cores = 4.0;
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(
        sim.sup.status().worker_busy_percent,
        None,
        "one reading, at the join: nothing to compare yet"
    );
    sim.run_for(secs(60));
    assert_eq!(sim.sup.status().worker_busy_percent, Some(40));
    assert_eq!(sim.usage_samples().len(), 2, "no reading of its own");
    sim.user(UserCommand::Pause);
    assert_eq!(
        sim.sup.status().worker_busy_percent,
        None,
        "not while paused"
    );
    sim.user(UserCommand::Resume);
    sim.run_for(secs(30));
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(
        sim.sup.status().worker_busy_percent,
        None,
        "a new worker starts without a figure"
    );
}

#[test]
fn a_quit_while_the_worker_works_says_that_its_tasks_get_the_grace() {
    use bittrader_worker::text::{cli::summary, Lang};
    for (cores, waits) in [(4.0, true), (0.0, false)] {
        let settings = Settings::default();
        let grace = settings.stop_grace.as_secs();
        let mut sim = Sim::new(settings);
        sim.world.worker.cpu_cores = cores;
        sim.run_for(secs(70));
        assert_eq!(sim.phase(), Phase::Connected);
        sim.user(UserCommand::Shutdown);
        let status = sim.sup.status();
        assert_eq!(status.phase, Phase::ShuttingDown);
        let line = summary(Lang::En, &status);
        if waits {
            assert_eq!(status.quit_waits_for_tasks_secs, Some(grace));
            let expected = format!("running tasks have up to {grace} s to finish");
            assert!(line.contains(&expected), "{line}");
        } else {
            assert_eq!(status.quit_waits_for_tasks_secs, None, "an idle worker");
            assert_eq!(line, "Shutting down");
        }
    }
}
