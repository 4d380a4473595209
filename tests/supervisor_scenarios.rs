//! Scenarios of the pure supervisor on a virtual clock.

use std::time::Duration;

use bittrader_test_support::secs;
use bittrader_test_support::sim::{head, Sim};
use bittrader_test_support::world::WorkerScript;
use bittrader_worker::model::{
    Fault, Notice, Phase, TailscaleCheck, TailscaleProblem, Unreachable, WorkerFailure,
};
use bittrader_worker::supervisor::{
    Action, Event, HeadConnection, HeadProbe, Settings, Supervisor, UserCommand, WorkerExit,
};

/// What the user reads about `fault`, in English.
fn english(fault: &Fault) -> String {
    bittrader_worker::text::fault_message(bittrader_worker::text::Lang::En, fault)
}

#[test]
fn joins_when_the_head_answers() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(5));
    assert_eq!(sim.starts().len(), 1);
    assert!(sim.starts()[0].0 < secs(1), "start follows the first probe");
    assert_eq!(sim.starts()[0].1.cpus, 10);
    assert_eq!(sim.phase(), Phase::Connected);
}

#[test]
fn a_blip_shorter_than_the_grace_does_not_touch_the_worker() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    sim.world.head_up = false;
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Disconnecting);
    sim.world.head_up = true;
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(sim.starts().len(), 1);
    assert!(sim.stops().is_empty());
    assert!(
        sim.notices().is_empty(),
        "a survived blip is not worth a notification"
    );
}

#[test]
fn the_loss_is_seen_within_five_seconds_and_the_worker_stopped_after_the_grace() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    let cut = sim.elapsed();
    sim.world.head_up = false;
    // Step in small increments to find when the phase turns.
    let mut seen_lost = None;
    while sim.elapsed() < cut + secs(60) {
        sim.run_for(Duration::from_millis(100));
        if seen_lost.is_none() && sim.phase() == Phase::Disconnecting {
            seen_lost = Some(sim.elapsed() - cut);
        }
    }
    let seen = seen_lost.expect("the loss was seen");
    assert!(seen <= secs(5), "loss seen after {seen:?}");
    let stops = sim.stops();
    assert_eq!(stops.len(), 1);
    let grace = Settings::default().grace;
    assert!(stops[0] >= cut + grace && stops[0] <= cut + grace + secs(5));
    assert_eq!(sim.phase(), Phase::Disconnected);
    assert!(sim
        .notices()
        .iter()
        .any(|n| matches!(n, Action::Notify(Notice::HeadLost { .. }))));
}

#[test]
fn rejoins_within_a_second_of_the_head_returning() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    sim.world.head_up = false;
    sim.run_for(secs(120));
    assert_eq!(sim.phase(), Phase::Disconnected);
    let heal = sim.elapsed();
    sim.world.head_up = true;
    sim.run_for(secs(10));
    let starts = sim.starts();
    assert_eq!(starts.len(), 2);
    assert!(
        starts[1].0 - heal <= Duration::from_millis(1100),
        "restart after {:?}",
        starts[1].0 - heal
    );
    assert_eq!(sim.phase(), Phase::Connected);
    let reconnected = sim.notices().into_iter().find_map(|n| match n {
        Action::Notify(Notice::Reconnected { away_secs }) => Some(away_secs),
        _ => None,
    });
    let away = reconnected.expect("a reconnect notice follows the loss notice");
    assert!((120..=125).contains(&away), "away {away}");
}

#[test]
fn a_worker_that_keeps_crashing_backs_off_then_gives_up() {
    let mut sim = Sim::new(Settings::default());
    sim.world.worker = WorkerScript::crashing(
        secs(2),
        Some(WorkerFailure::Crashed {
            last_line: "boom".into(),
        }),
    );
    sim.run_for(secs(600));
    let starts: Vec<Duration> = sim.starts().into_iter().map(|(at, _)| at).collect();
    assert_eq!(starts.len(), 5, "starts: {starts:?}");
    let gaps: Vec<u64> = starts.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    // 2 s of life plus 1, 2, 4, 8 s of delay (with up to 10 % jitter).
    for (gap, delay) in gaps.iter().zip([1u64, 2, 4, 8]) {
        assert!(
            *gap >= 2 + delay && *gap <= 2 + delay + 1 + delay / 10,
            "gaps {gaps:?}"
        );
    }
    assert_eq!(sim.phase(), Phase::Error);
    assert!(matches!(
        sim.sup.status().fault,
        Some(Fault::GaveUp { failures: 5, .. })
    ));
    let gave_up = sim
        .notices()
        .iter()
        .filter(|n| matches!(n, Action::Notify(Notice::NeedsAttention { .. })))
        .count();
    assert_eq!(gave_up, 1, "one notification when giving up");
    // Resume retries.
    sim.world.worker = WorkerScript::default();
    sim.user(UserCommand::Resume);
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
}

#[test]
fn a_version_mismatch_goes_straight_to_error_without_retrying() {
    let mut sim = Sim::new(Settings::default());
    sim.world.worker = WorkerScript::crashing(
        secs(40),
        Some(WorkerFailure::VersionSkewSuspected {
            this_machine: Some("2.51.2".into()),
        }),
    );
    sim.run_for(secs(600));
    assert_eq!(sim.starts().len(), 1);
    assert_eq!(sim.phase(), Phase::Error);
    let status = sim.sup.status();
    let message = english(&status.fault.expect("a fault"));
    assert!(message.contains("setup"), "{message}");
}

#[test]
fn ray_missing_is_an_error_that_says_to_run_setup() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(Duration::from_millis(50));
    sim.worker = None;
    sim.event(Event::WorkerSpawnFailed(
        bittrader_worker::supervisor::SpawnFailure::RayMissing {
            path: "/nope/ray".into(),
        },
    ));
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Error);
    assert_eq!(sim.starts().len(), 1);
    assert!(sim
        .sup
        .status()
        .fault
        .map(|fault| english(&fault))
        .expect("fault")
        .contains("setup"));
}

#[test]
fn pause_stops_and_resume_starts_and_nothing_runs_while_paused() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    sim.user(UserCommand::Pause);
    assert_eq!(sim.phase(), Phase::Stopping);
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Paused);
    assert_eq!(sim.starts().len(), 1);
    assert!(sim.worker.is_none());
    sim.user(UserCommand::Resume);
    sim.run_for(secs(5));
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(sim.starts().len(), 2);
}

#[test]
fn changing_cpus_replaces_the_worker_once_it_has_stopped() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    sim.user(UserCommand::SetCpus(2));
    assert_eq!(sim.phase(), Phase::Reconnecting);
    sim.run_for(secs(10));
    let starts = sim.starts();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[1].1.cpus, 2);
    assert!(!sim.double_start);
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(sim.sup.status().worker_cpus, Some(2));
}

#[test]
fn changing_the_head_moves_the_worker_and_ignores_stale_probes() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    let other: bittrader_worker::model::HeadAddress = "100.64.0.9:7000".parse().expect("addr");
    sim.user(UserCommand::SetHead(other.clone()));
    sim.run_for(secs(10));
    let starts = sim.starts();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[1].1.head, other);
    // A late answer about the old head changes nothing.
    sim.event(Event::HeadProbe(bittrader_worker::supervisor::HeadProbe {
        head: head(),
        unreachable: Some(bittrader_worker::model::Unreachable::Refused),
        resolved: None,
        tailscale: None,
    }));
    assert_eq!(sim.phase(), Phase::Connected);
}

#[test]
fn a_crash_while_the_head_is_away_waits_for_the_head_and_is_not_counted() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    sim.world.head_up = false;
    sim.run_for(secs(5));
    // The raylet dies on its own during the outage.
    sim.worker = None;
    sim.event(Event::WorkerExited(WorkerExit {
        code: Some(1),
        failure: Some(WorkerFailure::NodeMarkedDead),
    }));
    sim.run_for(secs(60));
    assert_eq!(sim.starts().len(), 1, "no start while the head is away");
    assert_eq!(sim.phase(), Phase::Disconnected);
    sim.world.head_up = true;
    sim.run_for(secs(5));
    assert_eq!(sim.starts().len(), 2);
    assert_eq!(sim.sup.status().recent_failures, 0);
}

#[test]
fn the_node_dropped_after_a_heal_is_rejoined_at_once() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    // Head marks the node dead; on heal the raylet exits.
    sim.worker = None;
    sim.event(Event::WorkerExited(WorkerExit {
        code: Some(1),
        failure: Some(WorkerFailure::NodeMarkedDead),
    }));
    let at = sim.elapsed();
    sim.run_for(secs(5));
    let starts = sim.starts();
    assert_eq!(starts.len(), 2);
    assert!(starts[1].0 - at <= Duration::from_millis(1100));
}

#[test]
fn a_worker_that_never_joins_is_stopped_and_retried() {
    let mut sim = Sim::new(Settings::default());
    sim.world.worker.joins_after = Some(secs(100_000));
    sim.run_for(secs(130));
    assert_eq!(sim.stops().len(), 1);
    assert!(sim.stops()[0] >= Settings::default().join_timeout);
    sim.run_for(secs(5));
    assert_eq!(sim.starts().len(), 2);
    assert_eq!(sim.sup.status().recent_failures, 1);
}

#[test]
fn a_start_that_hangs_is_counted_as_not_joining_whatever_our_sigterm_made_it_print() {
    let mut sim = Sim::new(Settings::default());
    sim.world.worker.joins_after = Some(secs(100_000));
    // Ray's last words once our SIGTERM reaches `ray start --block` (seen in the lab).
    sim.world.worker.says_at_stop = Some(WorkerFailure::Crashed {
        last_line: "Node 4f1f received SIGTERM. Draining for up to 30.0 seconds before shutting \
                    down local processes."
            .into(),
    });
    sim.run_for(secs(1200));
    assert_eq!(sim.phase(), Phase::Error);
    let fault = sim.sup.status().fault;
    assert!(
        matches!(
            fault,
            Some(Fault::GaveUp {
                last: WorkerFailure::DidNotJoin { within_secs: 120 },
                ..
            })
        ),
        "{fault:?}"
    );
}

#[test]
fn a_start_the_network_cut_off_never_counts_towards_the_breaker() {
    let mut sim = Sim::new(Settings::default());
    sim.world.worker.joins_after = Some(secs(100_000));
    for round in 0..8 {
        while sim.phase() != Phase::Starting {
            sim.run_for(secs(1));
        }
        // The network drops for a few seconds while Ray starts, then comes back: the start
        // never joins and is stopped at the join timeout.
        sim.run_for(secs(5));
        sim.world.head_up = false;
        sim.run_for(secs(8));
        sim.world.head_up = true;
        sim.run_for(secs(110));
        assert_ne!(
            sim.phase(),
            Phase::Error,
            "round {round}: {:?}",
            sim.sup.status()
        );
    }
    assert_eq!(sim.sup.status().recent_failures, 0);
    assert!(sim.starts().len() >= 8);
}

#[test]
fn shutdown_stops_the_worker_then_exits() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    sim.user(UserCommand::Shutdown);
    assert_eq!(sim.phase(), Phase::ShuttingDown);
    sim.run_for(secs(5));
    assert!(sim.worker.is_none());
    assert!(matches!(
        sim.records.last().map(|r| &r.action),
        Some(Action::Exit)
    ));
}

#[test]
fn no_head_configured_is_an_error_until_one_is_set() {
    let t0 = std::time::Instant::now();
    let mut sup = Supervisor::new(Settings::default(), None, 4, false, t0);
    sup.handle_timeout(t0);
    assert_eq!(next_decision(&mut sup), None, "nothing to probe");
    assert_eq!(sup.status().phase, Phase::Error);
    assert!(sup
        .status()
        .fault
        .map(|fault| english(&fault))
        .expect("fault")
        .contains("bittrader-worker head"));
    sup.handle_event(t0, Event::User(UserCommand::SetHead(head())));
    sup.handle_timeout(t0);
    assert!(matches!(
        next_decision(&mut sup),
        Some(Action::Probe { .. })
    ));
}

#[test]
fn starts_are_at_least_a_second_apart() {
    let mut sim = Sim::new(Settings::default());
    sim.world.worker = WorkerScript::crashing(
        Duration::from_millis(10),
        Some(WorkerFailure::NodeMarkedDead),
    );
    // Network exits while the head answers back off (1, 2, 4, 8, 16 s): five starts take 31 s.
    sim.run_for(secs(40));
    let starts: Vec<Duration> = sim.starts().into_iter().map(|(at, _)| at).collect();
    assert!(starts.len() >= 5);
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= secs(1), "{starts:?}");
    }
}

#[test]
fn a_quit_finishes_by_its_deadline_even_if_the_worker_never_reports_its_end() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    sim.world.worker.stop_takes = secs(3600);
    let asked = sim.elapsed();
    sim.user(UserCommand::Shutdown);
    sim.run_for(secs(60));
    let exit = sim
        .records
        .iter()
        .find(|r| matches!(r.action, Action::Exit))
        .expect("an exit");
    assert_eq!(exit.at - asked, Settings::default().quit_deadline());
}

#[test]
fn outage_notifications_are_spaced_and_a_return_follows_only_a_shown_loss() {
    // The head flaps every 100 s for 20 minutes, each outage longer than the grace.
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    for _ in 0..12 {
        sim.world.head_up = false;
        sim.run_for(secs(40));
        sim.world.head_up = true;
        sim.run_for(secs(60));
    }
    let lost = sim
        .notices()
        .iter()
        .filter(|a| matches!(a, Action::Notify(Notice::HeadLost { .. })))
        .count();
    let back = sim
        .notices()
        .iter()
        .filter(|a| matches!(a, Action::Notify(Notice::Reconnected { .. })))
        .count();
    assert!((1..12).contains(&lost), "{lost} of 12 outages notified");
    assert_eq!(
        lost, back,
        "each shown loss, and only those, has its return"
    );
}

/// Starts within `window` after each start, at most.
fn most_starts_within(starts: &[Duration], window: Duration) -> usize {
    starts
        .iter()
        .map(|&from| {
            starts
                .iter()
                .filter(|&&at| at >= from && at < from + window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Waits for the next join, lets it last `joined_for`, then the head drops the node (the
/// raylet exits, "marked dead"); when it was dropped.
fn join_then_drop(sim: &mut Sim, joined_for: Duration) -> Duration {
    while sim.phase() != Phase::Connected {
        sim.run_for(Duration::from_millis(100));
    }
    sim.run_for(joined_for);
    sim.worker = None;
    let dropped = sim.elapsed();
    sim.event(Event::WorkerExited(WorkerExit {
        code: Some(1),
        failure: Some(WorkerFailure::NodeMarkedDead),
    }));
    dropped
}

#[test]
fn something_other_than_ray_on_the_heads_port_backs_off_without_giving_up() {
    // The port answers (the probe says "up"), `ray start` fails to reach a GCS: no restart
    // every second, forever, without a word.
    let mut sim = Sim::new(Settings::default());
    sim.world.worker = WorkerScript::crashing(secs(2), Some(WorkerFailure::HeadUnreachable));
    sim.run_for(secs(3600));
    let starts: Vec<Duration> = sim.starts().into_iter().map(|(at, _)| at).collect();
    assert!(
        most_starts_within(&starts, secs(600)) <= 10,
        "at most 10 starts in 10 minutes: {starts:?}"
    );
    let gaps: Vec<u64> = starts.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    assert!(
        gaps.windows(2).all(|g| g[1] >= g[0]),
        "delays grow: {gaps:?}"
    );
    // Never gives up: the network may heal.
    assert!(
        starts.last().is_some_and(|at| *at > secs(3000)),
        "{starts:?}"
    );
    assert_eq!(sim.sup.status().fault, None);
    assert_eq!(sim.sup.status().recent_failures, 0);
}

#[test]
fn a_head_that_drops_the_node_every_45_s_is_rejoined_ever_later_until_a_join_holds() {
    let mut sim = Sim::new(Settings::default());
    // Joins after 3 s, marked dead 45 s later.
    sim.world.worker = WorkerScript::default();
    sim.world.worker.joins_after = Some(secs(3));
    let mut drop_times = Vec::new();
    for _ in 0..6 {
        drop_times.push(join_then_drop(&mut sim, secs(45)));
    }
    let starts: Vec<Duration> = sim.starts().into_iter().map(|(at, _)| at).collect();
    let delays: Vec<u64> = drop_times
        .iter()
        .filter_map(|dropped| {
            starts
                .iter()
                .find(|at| *at > dropped)
                .map(|at| (*at - *dropped).as_secs())
        })
        .collect();
    // 1, 2, 4, 8, 16 s (plus up to 10 % jitter): growing.
    assert!(
        delays.windows(2).all(|d| d[1] > d[0]),
        "delays grow: {delays:?}"
    );
    assert!(delays[4] >= 16, "{delays:?}");
    // A join that holds past `stable_after` resets the delay.
    let dropped = join_then_drop(&mut sim, secs(120));
    sim.run_for(secs(5));
    let next = sim.starts().last().map(|(at, _)| *at).expect("a start");
    assert!(
        next > dropped && next - dropped <= Duration::from_millis(1100),
        "reset: {:?}",
        next - dropped
    );
}

#[test]
fn the_head_coming_back_after_an_outage_ends_a_network_delay() {
    let mut sim = Sim::new(Settings::default());
    // Build up the network delay: five drops while the head answers.
    for _ in 0..5 {
        join_then_drop(&mut sim, Duration::ZERO);
    }
    // The sixth waits ~32 s, unless the head goes away and comes back meanwhile.
    join_then_drop(&mut sim, Duration::ZERO);
    let before = sim.starts().len();
    sim.world.head_up = false;
    sim.run_for(secs(5));
    sim.world.head_up = true;
    let back = sim.elapsed();
    sim.run_for(secs(3));
    let starts = sim.starts();
    assert_eq!(starts.len(), before + 1, "rejoined once the head is back");
    assert!(starts[before].0 - back <= Duration::from_millis(1100));
}

fn tailscale_problem(problem: TailscaleProblem) -> TailscaleCheck {
    TailscaleCheck::Problem { problem }
}

#[test]
fn a_tailscale_head_is_not_joined_while_tailscale_does_not_vouch_for_it() {
    // Tailscale quit on a café's network that answers on 100.64.0.1:6379.
    for problem in [
        TailscaleProblem::Stopped,
        TailscaleProblem::NeedsLogin,
        TailscaleProblem::HeadNotInTailnet,
        TailscaleProblem::NotInstalled,
        TailscaleProblem::NotAnswering,
    ] {
        let mut sim = Sim::new(Settings::default());
        sim.world.tailscale = tailscale_problem(problem.clone());
        sim.run_for(secs(600));
        assert!(sim.starts().is_empty(), "{problem:?}: {:?}", sim.starts());
        let status = sim.sup.status();
        assert_eq!(status.phase, Phase::Disconnected, "{problem:?}");
        assert_eq!(
            status.unreachable,
            Some(Unreachable::Tailscale {
                problem: problem.clone()
            }),
            "the state says why it waits"
        );
        // Tailscale connects and knows the head: joined.
        sim.world.tailscale = TailscaleCheck::OnlinePeer;
        sim.run_for(secs(5));
        assert_eq!(sim.starts().len(), 1, "{problem:?}");
        assert_eq!(sim.phase(), Phase::Connected);
        assert!(!sim.unvouched_start);
    }
}

#[test]
fn a_head_named_by_a_name_that_resolves_to_a_tailscale_address_needs_tailscale_to_vouch() {
    // MagicDNS short names, or any DNS answer, may lead to 100.64.0.0/10: with Tailscale
    // stopped, whatever answers there on the café's network is not the user's head.
    for name in ["desktop", "rayhead.example.com"] {
        let mut sim = Sim::new(Settings::default());
        sim.world.resolves_to = Some("100.64.0.1".parse().expect("ip"));
        sim.world.tailscale = tailscale_problem(TailscaleProblem::Stopped);
        sim.user(UserCommand::SetHead(name.parse().expect("name")));
        sim.run_for(secs(600));
        assert!(sim.starts().is_empty(), "{name}: {:?}", sim.starts());
        assert_eq!(
            sim.sup.status().unreachable,
            Some(Unreachable::Tailscale {
                problem: TailscaleProblem::Stopped
            }),
            "{name}"
        );
        sim.world.tailscale = TailscaleCheck::OnlinePeer;
        sim.run_for(secs(5));
        assert_eq!(sim.starts().len(), 1, "{name}");
        assert!(!sim.unvouched_start, "{name}");
    }
}

#[test]
fn a_worker_whose_head_stops_being_a_tailscale_peer_is_stopped_after_the_grace() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    let cut = sim.elapsed();
    sim.world.tailscale = tailscale_problem(TailscaleProblem::Stopped);
    // Stopping Tailscale takes its interface down: the OS reports a network change.
    sim.event(Event::NetworkChanged);
    sim.run_for(secs(10));
    assert_eq!(
        sim.phase(),
        Phase::Disconnecting,
        "a blip is ridden through"
    );
    sim.run_for(secs(30));
    let stops = sim.stops();
    assert_eq!(stops.len(), 1);
    let grace = Settings::default().grace;
    assert!(stops[0] >= cut + grace && stops[0] <= cut + grace + secs(5));
    assert!(sim.worker.is_none());
    assert!(sim.notices().iter().any(|n| matches!(
        n,
        Action::Notify(Notice::HeadLost {
            why: Some(Unreachable::Tailscale {
                problem: TailscaleProblem::Stopped
            })
        })
    )));
}

#[test]
fn a_lan_head_needs_no_tailscale() {
    let t0 = std::time::Instant::now();
    let lan: bittrader_worker::model::HeadAddress = "192.168.1.10".parse().expect("addr");
    let mut sup = Supervisor::new(Settings::default(), Some(lan.clone()), 4, false, t0);
    sup.handle_timeout(t0);
    assert!(matches!(
        next_decision(&mut sup),
        Some(Action::Probe { .. })
    ));
    sup.handle_event(
        t0,
        Event::HeadProbe(bittrader_worker::supervisor::HeadProbe {
            head: lan,
            unreachable: None,
            resolved: None,
            tailscale: None,
        }),
    );
    assert!(matches!(
        next_decision(&mut sup),
        Some(Action::StartWorker(_))
    ));
}

#[test]
fn a_start_for_a_tailscale_head_asks_for_a_recent_answer_and_a_running_worker_does_not() {
    use bittrader_worker::supervisor::settings::{
        TAILSCALE_ANSWER_BEFORE_START, TAILSCALE_VOUCH_KEPT,
    };
    let max_ages = |sim: &Sim, from: usize| -> Vec<Duration> {
        sim.records[from..]
            .iter()
            .filter_map(|r| match &r.action {
                Action::Probe {
                    tailscale_max_age, ..
                } => Some(*tailscale_max_age),
                _ => None,
            })
            .collect()
    };
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(1));
    assert_eq!(max_ages(&sim, 0)[0], TAILSCALE_ANSWER_BEFORE_START);
    sim.run_for(secs(20));
    assert_eq!(sim.phase(), Phase::Connected);
    let from = sim.records.len();
    // A minute: while a connection is held, the head is probed once a minute.
    sim.run_for(secs(70));
    let connected = max_ages(&sim, from);
    assert!(!connected.is_empty());
    assert!(
        connected.iter().all(|age| *age == TAILSCALE_VOUCH_KEPT),
        "{connected:?}"
    );
    // A new network: the next probe wants a new word, then the kept one serves again.
    sim.event(Event::NetworkChanged);
    let from = sim.records.len();
    sim.run_for(secs(10));
    let after_change = max_ages(&sim, from);
    assert_eq!(after_change[0], Duration::ZERO, "{after_change:?}");
    assert!(after_change[1..]
        .iter()
        .all(|age| *age == TAILSCALE_VOUCH_KEPT));
    sim.user(UserCommand::Pause);
    sim.run_for(secs(5));
    let from = sim.records.len();
    sim.run_for(secs(60));
    assert!(max_ages(&sim, from)
        .iter()
        .all(|age| *age == TAILSCALE_VOUCH_KEPT));
}

#[test]
fn after_giving_up_one_try_follows_a_cool_down_and_a_network_change() {
    let mut sim = Sim::new(Settings::default());
    sim.world.worker = WorkerScript::crashing(
        secs(2),
        Some(WorkerFailure::Crashed {
            last_line: "boom".into(),
        }),
    );
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Error);
    assert_eq!(sim.starts().len(), 5);
    // Ten minutes on, one more try; it fails the same way and the fault is back at once.
    sim.run_for(secs(600));
    assert_eq!(sim.starts().len(), 6, "one half-open try");
    sim.run_for(secs(30));
    assert_eq!(sim.phase(), Phase::Error);
    assert_eq!(sim.starts().len(), 6, "not five more");
    // A new network: tried at once.
    sim.event(Event::NetworkChanged);
    sim.run_for(secs(5));
    assert_eq!(sim.starts().len(), 7);
    // The cause went away: the try joins and stays.
    sim.world.worker = WorkerScript::default();
    sim.event(Event::NetworkChanged);
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Connected);
    let told = sim
        .notices()
        .iter()
        .filter(|n| matches!(n, Action::Notify(Notice::NeedsAttention { .. })))
        .count();
    assert_eq!(told, 1, "the user is told once, not at every try");
}

#[test]
fn a_version_mismatch_is_tried_again_after_the_cool_down() {
    let mut sim = Sim::new(Settings::default());
    sim.world.worker = WorkerScript::crashing(
        secs(5),
        Some(WorkerFailure::VersionSkewSuspected {
            this_machine: Some("2.51.2".into()),
        }),
    );
    sim.run_for(secs(60));
    assert_eq!(sim.phase(), Phase::Error);
    // The head was upgraded meanwhile: the next try joins.
    sim.world.worker = WorkerScript::default();
    sim.run_for(secs(600));
    assert_eq!(sim.starts().len(), 2);
    assert_eq!(sim.phase(), Phase::Connected);
}

#[test]
fn a_head_whose_ray_port_closed_and_opened_again_gets_a_fresh_worker() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    // Ray on the head restarts: its machine answers, its port refuses for a few seconds.
    let refused = |sim: &mut Sim| {
        sim.event(Event::HeadProbe(HeadProbe {
            head: head(),
            unreachable: Some(Unreachable::Refused),
            resolved: None,
            tailscale: Some(TailscaleCheck::OnlinePeer),
        }))
    };
    refused(&mut sim);
    sim.run_for(secs(1));
    refused(&mut sim);
    let back = sim.elapsed();
    sim.run_for(secs(15));
    let starts = sim.starts();
    assert_eq!(starts.len(), 2, "replaced, not kept: {starts:?}");
    assert!(starts[1].0 - back <= secs(5), "{:?}", starts[1].0 - back);
    assert_eq!(sim.phase(), Phase::Connected);
    // A silent network blip of the same length keeps the worker.
    sim.world.head_up = false;
    sim.run_for(secs(3));
    sim.world.head_up = true;
    sim.run_for(secs(15));
    assert_eq!(sim.starts().len(), 2, "a blip is ridden through");
}

#[test]
fn a_ray_restart_seen_as_a_close_then_a_refused_port_replaces_the_worker_promptly() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    let watch = *sim
        .watches()
        .last()
        .expect("the joined worker's head is watched");
    sim.stop_ray();
    sim.run_for(secs(3));
    sim.world.ray_stopped = false;
    let back = sim.elapsed();
    sim.run_for(secs(15));
    let starts = sim.starts();
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert!(starts[1].0 - back <= secs(5), "{:?}", starts[1].0 - back);
    assert_eq!(sim.phase(), Phase::Connected);
    // A late report of that watch changes nothing now.
    sim.event(Event::HeadConnection {
        watch,
        state: HeadConnection::Closed,
    });
    sim.run_for(secs(10));
    assert_eq!(sim.starts().len(), 2);
}

#[test]
fn a_head_side_that_closes_every_held_connection_is_no_longer_held_after_a_few() {
    // A proxy or a load balancer closing each held connection after 1 s: each close is taken
    // for a Ray restart (a probe cannot tell a restarted Ray from a proxy), the replacements back
    // off, and after a few quick closes no connection is held (the probes watch the head).
    use bittrader_worker::supervisor::settings::HELD_CONNECTIONS_LOST_QUICKLY;
    let mut sim = Sim::new(Settings::default());
    sim.world.closes_held_after = Some(secs(1));
    sim.run_for(secs(600));
    let few = HELD_CONNECTIONS_LOST_QUICKLY as usize;
    let starts = sim.starts();
    eprintln!(
        "figure: {} starts and {} connections held in 10 minutes",
        starts.len(),
        sim.watches().len()
    );
    assert!(
        starts.len() <= few + 1,
        "{} starts in 10 minutes",
        starts.len()
    );
    assert!(
        sim.watches().len() <= few,
        "{} connections held",
        sim.watches().len()
    );
    assert_eq!(sim.phase(), Phase::Connected);
}

#[test]
fn a_ray_that_restarts_again_and_again_gets_its_worker_replaced_within_the_backoff() {
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    // Ray at the head stops for 2 s every 20 s, for 10 minutes.
    for _ in 0..30 {
        sim.stop_ray();
        sim.run_for(secs(2));
        sim.world.ray_stopped = false;
        sim.run_for(secs(18));
    }
    // Delays of 1, 2, 4 … s between replacements: at most 11 in 10 minutes, not 30.
    let starts = sim.starts().len();
    assert!(starts <= 12, "{starts} starts");
    assert!(
        starts >= 5,
        "each restart seen replaced the worker: {starts}"
    );
}

#[test]
fn a_tailscale_head_is_started_on_only_after_a_probe_asked_for_a_start() {
    use bittrader_worker::supervisor::settings::TAILSCALE_ANSWER_BEFORE_START;
    let mut sim = Sim::new(Settings::default());
    sim.user(UserCommand::Pause);
    sim.run_for(secs(20));
    // A probe asked while paused (an old answer will do) is in flight when the user resumes.
    sim.world.answer_takes = secs(2);
    sim.run_for(secs(5));
    sim.user(UserCommand::Resume);
    sim.run_for(secs(20));
    assert_eq!(sim.phase(), Phase::Connected);
    let mut last_probe_age = None;
    for record in &sim.records {
        match &record.action {
            Action::Probe {
                tailscale_max_age, ..
            } => last_probe_age = Some(*tailscale_max_age),
            Action::StartWorker(_) => assert!(
                last_probe_age.is_some_and(|age| age <= TAILSCALE_ANSWER_BEFORE_START),
                "started on an answer up to {last_probe_age:?} old"
            ),
            _ => {}
        }
    }
}

#[test]
fn the_demo_head_is_a_demo_until_a_real_head_is_set() {
    let t0 = std::time::Instant::now();
    let demo: bittrader_worker::model::HeadAddress = "127.0.0.1:33421".parse().expect("head");
    let mut sup = Supervisor::new(Settings::default(), Some(demo.clone()), 2, false, t0)
        .with_demo_head(Some(demo));
    assert!(sup.status().demo, "{:?}", sup.status());
    sup.handle_event(t0, Event::User(UserCommand::SetHead(head())));
    assert!(!sup.status().demo, "{:?}", sup.status());
    // A configured head is never the demo.
    let sup = Supervisor::new(Settings::default(), Some(head()), 2, false, t0);
    assert!(!sup.status().demo);
}

fn found_head(name: &str, address: &str) -> bittrader_worker::model::FoundHead {
    bittrader_worker::model::FoundHead {
        name: name.to_string(),
        address: address.parse().expect("head"),
    }
}

/// A search that asked exactly the machines that answered.
fn finds(heads: Vec<bittrader_worker::model::FoundHead>) -> bittrader_worker::model::TailnetFinds {
    bittrader_worker::model::TailnetFinds {
        asked: heads.len(),
        machines: heads.len(),
        heads,
    }
}

fn drain_actions(sup: &mut Supervisor) -> Vec<Action> {
    std::iter::from_fn(|| sup.poll_action()).collect()
}

#[test]
fn a_first_run_searches_the_tailnet_once_and_offers_a_single_find() {
    use bittrader_worker::model::HeadSearch;
    let t0 = std::time::Instant::now();
    let demo: bittrader_worker::model::HeadAddress = "127.0.0.1:33421".parse().expect("head");
    let mut sup = Supervisor::new(Settings::default(), Some(demo.clone()), 2, false, t0)
        .with_demo_head(Some(demo))
        .with_first_run_search(false);
    let first = drain_actions(&mut sup);
    assert_eq!(
        first.iter().filter(|a| **a == Action::FindHeads).count(),
        1,
        "{first:?}"
    );
    assert_eq!(sup.status().head_search, Some(HeadSearch::Searching));
    // One search at a time.
    sup.handle_event(t0, Event::User(UserCommand::FindHeads));
    assert!(!drain_actions(&mut sup).contains(&Action::FindHeads));
    let desktop = found_head("desktop", "100.64.0.1:6379");
    sup.handle_event(t0, Event::HeadsFound(Ok(finds(vec![desktop.clone()]))));
    assert!(
        drain_actions(&mut sup).contains(&Action::Notify(Notice::HeadFound {
            head: desktop.clone()
        }))
    );
    assert_eq!(
        sup.status().head_search,
        Some(HeadSearch::Found(finds(vec![desktop.clone()])))
    );
    // A search the user asks for shows in the menu, not in a notification.
    sup.handle_event(t0, Event::User(UserCommand::FindHeads));
    assert!(drain_actions(&mut sup).contains(&Action::FindHeads));
    // While it runs, the last finds stay in the status (the menu keeps them choosable).
    assert_eq!(sup.status().head_search, Some(HeadSearch::Searching));
    assert_eq!(sup.status().found_heads, vec![desktop.clone()]);
    sup.handle_event(t0, Event::HeadsFound(Ok(finds(vec![desktop.clone()]))));
    assert!(!drain_actions(&mut sup)
        .iter()
        .any(|a| matches!(a, Action::Notify(_))));

    // Two heads: the user chooses in the menu; no notification.
    let mut sup =
        Supervisor::new(Settings::default(), None, 2, false, t0).with_first_run_search(false);
    assert!(drain_actions(&mut sup).contains(&Action::FindHeads));
    let nas = found_head("nas", "100.64.0.7:6379");
    sup.handle_event(t0, Event::HeadsFound(Ok(finds(vec![desktop.clone(), nas]))));
    assert!(!drain_actions(&mut sup)
        .iter()
        .any(|a| matches!(a, Action::Notify(_))));

    // A head of the user's: no search at start.
    let mut sup = Supervisor::new(Settings::default(), Some(head()), 2, false, t0)
        .with_first_run_search(false);
    assert!(!drain_actions(&mut sup).contains(&Action::FindHeads));
    assert_eq!(sup.status().head_search, None);
    // Tailscale stopped: the search says so.
    sup.handle_event(t0, Event::User(UserCommand::FindHeads));
    sup.handle_event(t0, Event::HeadsFound(Err(TailscaleProblem::Stopped)));
    assert_eq!(
        sup.status().head_search,
        Some(HeadSearch::Failed {
            problem: TailscaleProblem::Stopped
        })
    );
}

#[test]
fn a_late_click_on_the_first_run_offer_never_replaces_a_head_set_meanwhile() {
    use bittrader_worker::model::HeadAddress;
    let t0 = std::time::Instant::now();
    let demo: HeadAddress = "127.0.0.1:33421".parse().expect("head");
    let start = |demo: &HeadAddress| {
        let mut sup = Supervisor::new(Settings::default(), Some(demo.clone()), 2, false, t0)
            .with_demo_head(Some(demo.clone()))
            .with_first_run_search(false);
        let desktop = found_head("desktop", "100.64.0.1:6379");
        sup.handle_event(t0, Event::HeadsFound(Ok(finds(vec![desktop]))));
        drain_actions(&mut sup);
        sup
    };
    let desktop: HeadAddress = "100.64.0.1:6379".parse().expect("head");

    // Clicked while the demo head is still in use: joined.
    let mut sup = start(&demo);
    sup.handle_event(t0, Event::User(UserCommand::JoinFoundHead(desktop.clone())));
    assert_eq!(sup.status().head, Some(desktop.clone()));
    assert!(!sup.status().demo);
    assert!(!sup.status().needs_a_head);

    // The user set another head first: the late click changes nothing.
    let mut sup = start(&demo);
    let mine: HeadAddress = "100.64.0.9:6379".parse().expect("head");
    sup.handle_event(t0, Event::User(UserCommand::SetHead(mine.clone())));
    sup.handle_event(t0, Event::User(UserCommand::JoinFoundHead(desktop.clone())));
    assert_eq!(sup.status().head, Some(mine));

    // An address the search did not find is not joined.
    let mut sup = start(&demo);
    let other: HeadAddress = "100.64.0.5:6379".parse().expect("head");
    sup.handle_event(t0, Event::User(UserCommand::JoinFoundHead(other)));
    assert_eq!(sup.status().head, Some(demo.clone()));
    assert!(sup.status().demo);
    assert!(
        sup.status().needs_a_head,
        "the menu offers setting a head first"
    );
}

#[test]
fn the_first_run_offer_is_made_once_across_starts() {
    let t0 = std::time::Instant::now();
    let demo: bittrader_worker::model::HeadAddress = "127.0.0.1:33421".parse().expect("head");
    let desktop = found_head("desktop", "100.64.0.1:6379");
    let start = |offered_before: bool| {
        let mut sup = Supervisor::new(Settings::default(), Some(demo.clone()), 2, false, t0)
            .with_demo_head(Some(demo.clone()))
            .with_first_run_search(offered_before);
        // Still searched at start: the menu lists the finds.
        assert!(drain_actions(&mut sup).contains(&Action::FindHeads));
        sup.handle_event(t0, Event::HeadsFound(Ok(finds(vec![desktop.clone()]))));
        drain_actions(&mut sup)
    };
    // The first start offers it and asks the driver to remember the offer.
    let first = start(false);
    assert!(
        first.contains(&Action::Notify(Notice::HeadFound {
            head: desktop.clone()
        })),
        "{first:?}"
    );
    assert!(first.contains(&Action::RecordFirstRunOffer), "{first:?}");
    // A later start, still without a head of the user's: no offer.
    let later = start(true);
    assert!(
        !later.iter().any(|a| matches!(a, Action::Notify(_))),
        "{later:?}"
    );
    assert!(!later.contains(&Action::RecordFirstRunOffer));
}

#[test]
fn the_status_says_when_tailscale_vouches_for_a_head_that_does_not_answer() {
    use bittrader_worker::model::HeadAddress;
    let t0 = std::time::Instant::now();
    let vouched_after =
        |head: &str, unreachable: Unreachable, tailscale: Option<TailscaleCheck>| {
            let head: HeadAddress = head.parse().expect("head");
            let mut sup = Supervisor::new(Settings::default(), Some(head.clone()), 2, false, t0);
            drain_actions(&mut sup);
            sup.handle_event(
                t0,
                Event::HeadProbe(HeadProbe {
                    head,
                    unreachable: Some(unreachable),
                    resolved: None,
                    tailscale,
                }),
            );
            let status = sup.status();
            assert_eq!(status.phase, Phase::Disconnected, "{status:?}");
            status.tailscale_vouches_for_silent_head
        };
    // An online peer, by Tailscale's word, that does not answer.
    assert!(vouched_after(
        "100.64.0.1:6379",
        Unreachable::TimedOut,
        Some(TailscaleCheck::OnlinePeer)
    ));
    // Tailscale itself is the problem: it is what the status says, not "Tailscale is up".
    let stopped = TailscaleProblem::Stopped;
    assert!(!vouched_after(
        "100.64.0.1:6379",
        Unreachable::TimedOut,
        Some(TailscaleCheck::Problem {
            problem: stopped.clone()
        })
    ));
    // A LAN head: Tailscale is not asked.
    assert!(!vouched_after(
        "192.168.1.10:6379",
        Unreachable::Refused,
        None
    ));
}

/// The supervisor's next action, past what it records for the history (the timeline, CPU time,
/// writes), which `supervisor_contribution.rs` tests.
fn next_decision(sup: &mut Supervisor) -> Option<Action> {
    std::iter::from_fn(|| sup.poll_action()).find(|action| {
        !matches!(
            action,
            Action::RecordActivity(_) | Action::RecordUsage { .. } | Action::SaveHistory
        )
    })
}

#[test]
fn a_held_connection_stands_in_for_the_probe_and_its_loss_is_seen_at_once() {
    use bittrader_worker::supervisor::settings::{
        HELD_CONNECTION_LOST_AFTER, PROBE_EVERY_WHILE_HELD,
    };
    let settings = Settings::default();
    let grace = settings.grace;
    let mut sim = Sim::new(settings);
    sim.run_for(secs(10));
    assert_eq!(sim.phase(), Phase::Connected);
    assert!(sim.records.iter().any(|r| matches!(
        r.action,
        Action::WatchHead { lost_after, .. } if lost_after == HELD_CONNECTION_LOST_AFTER
    )));
    let watch = *sim
        .watches()
        .last()
        .expect("the joined worker's head is watched");
    let held_at = sim.elapsed();
    sim.run_for(secs(600));
    let probes = sim.probes().iter().filter(|at| **at > held_at).count() as u64;
    // One more at the old cadence, then one a minute: not 300.
    assert!(
        probes <= 600 / PROBE_EVERY_WHILE_HELD.as_secs() + 1,
        "{probes} probes in 10 minutes while held"
    );

    // The path goes silent: the kernel's keepalive says so after 3 s, long before the next
    // probe would.
    sim.world.head_up = false;
    let cut = sim.elapsed();
    sim.run_for(HELD_CONNECTION_LOST_AFTER + secs(1));
    assert_eq!(sim.phase(), Phase::Disconnecting, "seen within 4 s");
    sim.run_for(secs(5));
    let probes = sim.probes().iter().filter(|at| **at >= cut).count();
    assert!(probes >= 4, "probed every second while down: {probes}");
    // Back within the grace: the worker rode it out, and a new connection is held.
    sim.world.head_up = true;
    sim.run_for(secs(3));
    assert_eq!(sim.phase(), Phase::Connected);
    assert_eq!(sim.starts().len(), 1, "a blip is ridden through");
    assert_eq!(sim.watches().last(), Some(&(watch + 1)), "held again");
    // A late word of the old connection changes nothing.
    held_connection(&mut sim, watch, HeadConnection::Lost);
    assert_eq!(sim.phase(), Phase::Connected);

    // Lost for good: the worker is stopped after the grace, as with probes.
    sim.run_for(secs(30));
    sim.world.head_up = false;
    let cut = sim.elapsed();
    sim.run_for(grace + secs(10));
    let stops = sim.stops();
    assert_eq!(stops.len(), 1, "{stops:?}");
    let lost = cut + HELD_CONNECTION_LOST_AFTER;
    assert!(
        stops[0] >= lost + grace && stops[0] <= lost + grace + secs(1),
        "{stops:?}"
    );
    assert!(sim
        .notices()
        .iter()
        .any(|n| matches!(n, Action::Notify(Notice::HeadLost { .. }))));
}

#[test]
fn a_connection_that_cannot_be_held_leaves_the_probing_as_it_was() {
    let mut sim = Sim::new(Settings::default());
    sim.world.holds_connections = false;
    sim.run_for(secs(10));
    assert_eq!(sim.watches().len(), 1);
    let at = sim.elapsed();
    sim.run_for(secs(60));
    let probes = sim.probes().iter().filter(|t| **t > at).count();
    assert!(probes >= 29, "every 2 s: {probes}");
    assert_eq!(
        sim.watches().len(),
        1,
        "not asked again while the head stays"
    );
    // After the head was away and back, a connection is tried again.
    sim.world.head_up = false;
    sim.run_for(secs(4));
    sim.world.head_up = true;
    sim.run_for(secs(4));
    assert_eq!(sim.watches().len(), 2);
    assert_eq!(sim.starts().len(), 1);
}

#[test]
fn a_path_that_drops_the_keepalive_stops_the_holding_until_the_network_changes() {
    use bittrader_worker::supervisor::settings::HELD_CONNECTIONS_LOST_QUICKLY;
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    sim.world.keepalive_dropped = true;
    sim.run_for(secs(120));
    let watches = sim.watches().len() as u32;
    assert_eq!(
        watches, HELD_CONNECTIONS_LOST_QUICKLY,
        "lost each time, then none held"
    );
    let from = sim.elapsed();
    sim.run_for(secs(60));
    assert_eq!(sim.watches().len() as u32, watches);
    assert_eq!(sim.phase(), Phase::Connected);
    let probes = sim.probes().iter().filter(|t| **t > from).count();
    assert!(
        probes >= 29,
        "the probe watches instead, every 2 s: {probes}"
    );
    assert_eq!(sim.starts().len(), 1, "the worker was never touched");
    // Another network may carry the keepalive: a connection is held again.
    sim.world.keepalive_dropped = false;
    sim.event(Event::NetworkChanged);
    sim.run_for(secs(5));
    assert_eq!(sim.watches().len() as u32, watches + 1);
    let held = sim.elapsed();
    sim.run_for(secs(120));
    assert!(sim.probes().iter().filter(|t| **t > held).count() <= 3);
}

#[test]
fn a_held_connection_stops_counting_when_the_worker_or_the_head_changes() {
    use bittrader_worker::supervisor::settings::PROBE_EVERY_WHILE_HELD;
    // The worker is replaced (a new CPU count) while its connection is held: the next probe
    // comes at the usual cadence, not up to a minute later, so a head lost meanwhile is still
    // seen within 5 s.
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(70));
    sim.user(UserCommand::SetCpus(4));
    sim.run_for(secs(1));
    sim.world.head_up = false;
    let cut = sim.elapsed();
    sim.run_for(secs(5));
    let probes = sim.probes().iter().filter(|t| **t > cut).count();
    assert!(probes >= 1, "probed within 5 s of the cut");
    assert!(PROBE_EVERY_WHILE_HELD > secs(5));

    // The head changes: the old head's connection says nothing about the new one.
    let mut sim = Sim::new(Settings::default());
    sim.run_for(secs(10));
    let watch = *sim.watches().last().expect("held");
    sim.user(UserCommand::SetHead(
        "100.64.0.9:6379".parse().expect("head"),
    ));
    held_connection(&mut sim, watch, HeadConnection::Lost);
    assert_eq!(
        sim.sup.status().unreachable,
        None,
        "not the new head's loss"
    );
}

/// Reports `state` of the held connection number `watch`.
fn held_connection(sim: &mut Sim, watch: u64, state: HeadConnection) {
    sim.event(Event::HeadConnection { watch, state });
}

/// The practice head's supervisor on a virtual clock from `now` until `until`: each probe is
/// answered at once as `gone()` says (its process ended, or it answers), each stop ends the
/// worker at once, and a worker joins only when the test says. What it did, and when.
fn run_practice_head(
    sup: &mut Supervisor,
    now: &mut std::time::Instant,
    until: std::time::Instant,
    gone: bool,
) -> Vec<(std::time::Instant, Action)> {
    let mut done = Vec::new();
    loop {
        while let Some(action) = sup.poll_action() {
            done.push((*now, action.clone()));
            match action {
                Action::Probe { head, .. } => {
                    let unreachable = gone.then_some(Unreachable::PracticeHeadGone);
                    let probe = HeadProbe {
                        resolved: head.ip(),
                        head,
                        unreachable,
                        tailscale: None,
                    };
                    sup.handle_event(*now, Event::HeadProbe(probe));
                }
                Action::StopWorker { .. } => {
                    let exit = WorkerExit {
                        code: None,
                        failure: None,
                    };
                    sup.handle_event(*now, Event::WorkerExited(exit));
                }
                _ => {}
            }
        }
        match sup.poll_timeout() {
            Some(next) if next <= until => {
                *now = next.max(*now);
                sup.handle_timeout(*now);
            }
            _ => return done,
        }
    }
}

#[test]
fn a_practice_head_that_ended_stops_its_worker_at_once_and_never_gets_another() {
    let t0 = std::time::Instant::now();
    let demo: bittrader_worker::model::HeadAddress = "127.0.0.1:33421".parse().expect("head");
    let mut sup = Supervisor::new(Settings::default(), Some(demo.clone()), 2, false, t0)
        .with_demo_head(Some(demo.clone()));
    let mut now = t0;
    let done = run_practice_head(&mut sup, &mut now, t0 + secs(1), false);
    assert!(
        done.iter()
            .any(|(_, a)| matches!(a, Action::StartWorker(_))),
        "{done:?}"
    );
    sup.handle_event(now, Event::WorkerJoined);
    let joined_at = now;

    // Its process ended: the held connection closes, the probe says so. No grace: its port is
    // anyone's, and the worker's Ray would knock there with the head's token.
    sup.handle_event(
        now,
        Event::HeadConnection {
            watch: 1,
            state: HeadConnection::Closed,
        },
    );
    let done = run_practice_head(&mut sup, &mut now, joined_at + secs(2), true);
    let stops: Vec<_> = done
        .iter()
        .filter(|(_, a)| matches!(a, Action::StopWorker { .. }))
        .collect();
    assert_eq!(stops.len(), 1, "{done:?}");
    assert!(stops[0].0 <= joined_at + secs(1), "not at once: {done:?}");
    assert!(
        done.iter().any(|(_, a)| matches!(
            a,
            Action::Notify(Notice::HeadLost {
                why: Some(Unreachable::PracticeHeadGone)
            })
        )),
        "{done:?}"
    );

    // Hours on, whatever answers there: no worker, and the menu says why.
    let done = run_practice_head(&mut sup, &mut now, joined_at + secs(3 * 3600), true);
    assert!(
        !done
            .iter()
            .any(|(_, a)| matches!(a, Action::StartWorker(_))),
        "{done:?}"
    );
    let status = sup.status();
    assert_eq!(status.phase, Phase::Disconnected);
    assert_eq!(status.unreachable, Some(Unreachable::PracticeHeadGone));
}

#[test]
fn a_start_at_the_practice_head_follows_a_fresh_probe_not_an_older_answer() {
    let t0 = std::time::Instant::now();
    let demo: bittrader_worker::model::HeadAddress = "127.0.0.1:33421".parse().expect("head");
    let mut sup = Supervisor::new(Settings::default(), Some(demo.clone()), 2, false, t0)
        .with_demo_head(Some(demo.clone()));
    let mut now = t0;
    run_practice_head(&mut sup, &mut now, t0 + secs(1), false);
    sup.handle_event(now, Event::WorkerJoined);
    // The head's Ray went; a probe in the moment before its `ray start` noticed still found
    // the port answering (as a new cluster would): the worker is replaced after a delay.
    sup.handle_event(
        now,
        Event::HeadConnection {
            watch: 1,
            state: HeadConnection::Closed,
        },
    );
    let closed_at = now;
    let replaced = run_practice_head(&mut sup, &mut now, closed_at, false);
    assert!(
        replaced
            .iter()
            .any(|(_, a)| matches!(a, Action::StopWorker { .. })),
        "{replaced:?}"
    );
    // From here on its process has ended: the replacement must not start on the earlier answer.
    let done = run_practice_head(&mut sup, &mut now, closed_at + secs(120), true);
    assert!(
        !done
            .iter()
            .any(|(_, a)| matches!(a, Action::StartWorker(_))),
        "a start on an answer older than the head's end: {done:?}"
    );
}
