//! The pure supervisor in the simulated [`World`], on a virtual clock that jumps to the next
//! deadline: tests run hours of supervisor time in microseconds and read back what it did.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bittrader_worker::model::{
    Activity, HeadAddress, LogNote, Phase, ProcessUsage, TailscaleCheck,
};
use bittrader_worker::supervisor::{
    Action, Event, HeadConnection, Settings, Supervisor, TreeReading, UserCommand, WorkerExit,
    WorkerSpec,
};

use crate::world::World;

/// Something the simulated world will do at a time.
#[derive(Debug, Clone)]
pub enum WorldEvent {
    ProbeAnswer(HeadAddress),
    WorkerJoins(u64),
    /// Worker N ends: by itself (a crash, exit code 1) or stopped (killed by a signal).
    WorkerExits(u64, WorkerExit),
    DrainAccepted(u64),
    TreeSampled(u64, TreeReading),
    UsageSampled(u64, Vec<ProcessUsage>),
    /// The connection of `WatchHead` number N is open (or could not be held).
    WatchAnswer(u64),
    /// The held connection number N went unanswered for its `lost_after`.
    WatchLost(u64),
    /// The releases feed answers.
    FeedAnswer,
    /// The head's side closed the held connection number N.
    WatchClosed(u64),
}

/// What the supervisor did, with the virtual time it did it.
#[derive(Debug, Clone)]
pub struct Record {
    pub at: Duration,
    pub action: Action,
}

pub struct Sim {
    pub sup: Supervisor,
    pub t0: Instant,
    pub now: Instant,
    /// The world the supervisor acts on; a test changes it between runs.
    pub world: World,
    /// Whether the last probe answer had Tailscale vouch for a head at a Tailscale address.
    tailscale_vouched: bool,
    /// Set when a worker was started for a Tailscale head that Tailscale did not vouch for
    /// in the last probe answer: the rogue-head invariant.
    pub unvouched_start: bool,
    /// When the running worker was asked to drain.
    drained_at: Option<Instant>,
    /// The live worker's generation, when one exists.
    pub worker: Option<u64>,
    /// When the live worker was started.
    worker_started: Option<Instant>,
    /// The generation of the last worker that joined.
    pub joined: Option<u64>,
    pub workers_started: u64,
    /// Set when a start was issued while a worker existed: the invariant we never want broken.
    pub double_start: bool,
    pub records: Vec<Record>,
    /// The hold the world was last asked for (the status's `hold_awake`).
    awake_asked: bool,
    /// The connection held now: its number and `lost_after`.
    held: Option<(u64, Duration)>,
    watch_lost_after: Duration,
    loss_pending: bool,
    pending: BTreeMap<(Instant, u64), WorldEvent>,
    seq: u64,
}

pub fn head() -> HeadAddress {
    "100.64.0.1".parse().expect("valid head")
}

impl Sim {
    pub fn new(settings: Settings) -> Self {
        let t0 = Instant::now();
        Sim {
            sup: Supervisor::new(settings, Some(head()), 10, false, t0),
            t0,
            now: t0,
            world: World::default(),
            tailscale_vouched: false,
            unvouched_start: false,
            drained_at: None,
            worker: None,
            worker_started: None,
            joined: None,
            workers_started: 0,
            double_start: false,
            records: Vec::new(),
            awake_asked: false,
            held: None,
            watch_lost_after: Duration::ZERO,
            loss_pending: false,
            pending: BTreeMap::new(),
            seq: 0,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    pub fn phase(&self) -> Phase {
        self.sup.status().phase
    }

    fn schedule(&mut self, after: Duration, event: WorldEvent) {
        self.seq += 1;
        self.pending.insert((self.now + after, self.seq), event);
    }

    /// Feeds an event now and carries out what follows.
    pub fn event(&mut self, event: Event) {
        self.sup.handle_event(self.now, event);
        self.drain();
    }

    /// Ray at the head stops: its port refuses, and it closes the connection held to it.
    pub fn stop_ray(&mut self) {
        self.world.ray_stopped = true;
        if let Some((watch, _)) = self.held.take() {
            self.event(Event::HeadConnection {
                watch,
                state: HeadConnection::Closed,
            });
        }
    }

    pub fn user(&mut self, command: UserCommand) {
        self.event(Event::User(command));
    }

    fn drain(&mut self) {
        loop {
            self.carry_out_actions();
            // The OS answers the hold the status asks for at once, as the driver's follows it.
            let wanted = self.sup.status().courtesy.hold_awake;
            if wanted == self.awake_asked {
                return;
            }
            self.awake_asked = wanted;
            let report = self.world.awake(wanted);
            self.sup.handle_event(self.now, Event::AwakeHold(report));
        }
    }

    fn carry_out_actions(&mut self) {
        while let Some(action) = self.sup.poll_action() {
            self.records.push(Record {
                at: self.elapsed(),
                action: action.clone(),
            });
            match action {
                Action::Probe { head, .. } => {
                    self.schedule(self.world.answer_takes, WorldEvent::ProbeAnswer(head));
                }
                Action::StartWorker(spec) => {
                    if self.worker.is_some() {
                        self.double_start = true;
                    }
                    let resolved = spec.head.ip().or(self.world.resolves_to);
                    if spec.head.through_tailscale(resolved) && !self.tailscale_vouched {
                        self.unvouched_start = true;
                    }
                    self.workers_started += 1;
                    let generation = self.workers_started;
                    self.worker = Some(generation);
                    self.worker_started = Some(self.now);
                    let script = &self.world.worker;
                    match (script.exits_after.clone(), script.joins_after) {
                        (Some((after, failure)), _) => {
                            let exit = WorkerExit {
                                code: Some(1),
                                failure,
                            };
                            self.schedule(after, WorldEvent::WorkerExits(generation, exit))
                        }
                        (None, Some(after)) => {
                            self.schedule(after, WorldEvent::WorkerJoins(generation))
                        }
                        (None, None) => {}
                    }
                }
                Action::StopWorker { grace, .. } => {
                    if let Some(generation) = self.worker {
                        let exit = WorkerExit {
                            code: None,
                            failure: self.world.worker.says_at_stop.clone(),
                        };
                        let takes = self.world.stop_takes(grace);
                        self.schedule(takes, WorldEvent::WorkerExits(generation, exit));
                    }
                }
                Action::DrainWorker { drain, .. } => {
                    self.drained_at = Some(self.now);
                    self.schedule(self.world.answer_takes, WorldEvent::DrainAccepted(drain));
                }
                Action::SampleWorkerTree { drain } => {
                    let reading = match self.worker {
                        None => TreeReading::Quiet,
                        Some(_) => {
                            let since = self.drained_at.map(|at| self.now - at);
                            self.world.tree(since)
                        }
                    };
                    let takes = self.world.answer_takes;
                    self.schedule(takes, WorldEvent::TreeSampled(drain, reading));
                }
                Action::SampleUsage { sample } => {
                    // A new pid for each worker.
                    let tree = match (self.worker, self.worker_started) {
                        (Some(generation), Some(started)) => {
                            let pid = 5000 + generation as u32;
                            self.world.usage(pid, generation, self.now - started)
                        }
                        _ => Vec::new(),
                    };
                    let takes = self.world.answer_takes;
                    self.schedule(takes, WorldEvent::UsageSampled(sample, tree));
                }
                Action::RecordUsage { .. } | Action::RecordActivity(_) | Action::SaveHistory => {}
                Action::Notify(_)
                | Action::Log(_)
                | Action::Exit
                | Action::InstallRay { .. }
                | Action::FindHeads
                | Action::RecordFirstRunOffer
                | Action::ReadConfigFile
                | Action::AskClusterSize { .. }
                | Action::LookUpRay => {}
                Action::CheckForUpdate => {
                    self.schedule(self.world.answer_takes, WorldEvent::FeedAnswer);
                }
                Action::WatchHead {
                    watch, lost_after, ..
                } => {
                    // Replaces the connection held before, as the driver does.
                    self.held = None;
                    self.watch_lost_after = lost_after;
                    self.schedule(self.world.answer_takes, WorldEvent::WatchAnswer(watch));
                }
            }
        }
    }

    fn deliver(&mut self, event: WorldEvent) {
        match event {
            WorldEvent::ProbeAnswer(head) => {
                let probe = self.world.probe(&head);
                self.tailscale_vouched = probe.tailscale == Some(TailscaleCheck::OnlinePeer);
                self.event(Event::HeadProbe(probe));
            }
            WorldEvent::WorkerJoins(generation) => {
                if self.worker == Some(generation) {
                    self.joined = Some(generation);
                    self.event(Event::WorkerJoined);
                }
            }
            WorldEvent::DrainAccepted(drain) => self.event(Event::DrainRequested {
                drain,
                accepted: true,
            }),
            WorldEvent::TreeSampled(drain, reading) => {
                self.event(Event::WorkerTreeSampled { drain, reading })
            }
            WorldEvent::UsageSampled(sample, tree) => self.event(Event::UsageSampled {
                sample,
                tree: Some(tree),
            }),
            WorldEvent::WatchAnswer(watch) => {
                let state = if self.world.holds_connection() && self.worker.is_some() {
                    self.held = Some((watch, self.watch_lost_after));
                    if let Some(after) = self.world.closes_held_after {
                        self.schedule(after, WorldEvent::WatchClosed(watch));
                    }
                    HeadConnection::Held
                } else {
                    HeadConnection::NotHeld
                };
                self.event(Event::HeadConnection { watch, state });
            }
            WorldEvent::FeedAnswer => {
                let check = self.world.update_check();
                self.event(Event::UpdateChecked(check));
            }
            WorldEvent::WatchLost(watch) => {
                self.loss_pending = false;
                // Back in time: the keepalive was answered after all.
                if self.world.connection_silent()
                    && self.held.is_some_and(|(held, _)| held == watch)
                {
                    self.held = None;
                    self.event(Event::HeadConnection {
                        watch,
                        state: HeadConnection::Lost,
                    });
                }
            }
            WorldEvent::WatchClosed(watch) => {
                if self.held.is_some_and(|(held, _)| held == watch) {
                    self.held = None;
                    self.event(Event::HeadConnection {
                        watch,
                        state: HeadConnection::Closed,
                    });
                }
            }
            WorldEvent::WorkerExits(generation, exit) => {
                if self.worker == Some(generation) {
                    self.worker = None;
                    // The driver lets the held connection go with the worker.
                    self.held = None;
                    self.event(Event::WorkerExited(exit));
                }
            }
        }
    }

    /// Runs the world until `until` (virtual), jumping from deadline to deadline.
    pub fn run_until(&mut self, until: Duration) {
        let end = self.t0 + until;
        self.drain();
        loop {
            // The head went silent under a held connection: the kernel's keepalive tells.
            if let Some((watch, lost_after)) = self.held {
                if self.world.connection_silent() && !self.loss_pending {
                    self.loss_pending = true;
                    self.schedule(lost_after, WorldEvent::WatchLost(watch));
                }
            }
            let next_world = self.pending.keys().next().map(|(at, _)| *at);
            let next_timer = self.sup.poll_timeout();
            let next = match (next_world, next_timer) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => {
                    self.now = end.max(self.now);
                    return;
                }
            };
            if next > end {
                self.now = end;
                return;
            }
            self.now = next.max(self.now);
            if next_world.is_some_and(|at| at <= self.now) {
                if let Some(key) = self.pending.keys().next().cloned() {
                    if let Some(event) = self.pending.remove(&key) {
                        self.deliver(event);
                    }
                }
            } else {
                self.sup.handle_timeout(self.now);
                self.drain();
            }
        }
    }

    /// Runs for `d` more.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.elapsed() + d;
        self.run_until(until);
    }
}

/// What the supervisor did, by kind.
impl Sim {
    /// What `pick` takes from each action, with when it was done.
    pub fn done<T>(&self, pick: impl Fn(&Action) -> Option<T>) -> Vec<(Duration, T)> {
        let picked = self
            .records
            .iter()
            .filter_map(|r| Some((r.at, pick(&r.action)?)));
        picked.collect()
    }

    /// When the actions `is` picks were done.
    pub fn when(&self, is: impl Fn(&Action) -> bool) -> Vec<Duration> {
        self.done(|action| is(action).then_some(()))
            .into_iter()
            .map(|(at, _)| at)
            .collect()
    }

    pub fn starts(&self) -> Vec<(Duration, WorkerSpec)> {
        self.done(|action| match action {
            Action::StartWorker(spec) => Some(spec.clone()),
            _ => None,
        })
    }

    pub fn drains(&self) -> Vec<Duration> {
        self.when(|action| matches!(action, Action::DrainWorker { .. }))
    }

    /// When the head was probed.
    pub fn probes(&self) -> Vec<Duration> {
        self.when(|action| matches!(action, Action::Probe { .. }))
    }

    /// The numbers of the connections to the head asked to be held, in order.
    pub fn watches(&self) -> Vec<u64> {
        let watches = self.done(|action| match action {
            Action::WatchHead { watch, .. } => Some(*watch),
            _ => None,
        });
        watches.into_iter().map(|(_, watch)| watch).collect()
    }

    pub fn stops(&self) -> Vec<Duration> {
        self.when(|action| matches!(action, Action::StopWorker { .. }))
    }

    /// When the worker's CPU counters were asked for.
    pub fn usage_samples(&self) -> Vec<Duration> {
        self.when(|action| matches!(action, Action::SampleUsage { .. }))
    }

    /// The CPU time recorded for the history, in all.
    pub fn recorded_cpu(&self) -> Duration {
        let records = self.done(|action| match action {
            Action::RecordUsage { cpu } => Some(*cpu),
            _ => None,
        });
        records.into_iter().map(|(_, cpu)| cpu).sum()
    }

    /// The timeline recorded for the history.
    pub fn activities(&self) -> Vec<(Duration, Activity)> {
        self.done(|action| match action {
            Action::RecordActivity(activity) => Some(*activity),
            _ => None,
        })
    }

    /// When the history was written.
    pub fn history_saves(&self) -> Vec<Duration> {
        self.when(|action| matches!(action, Action::SaveHistory))
    }

    /// When the releases feed was asked.
    pub fn update_checks(&self) -> Vec<Duration> {
        self.when(|action| *action == Action::CheckForUpdate)
    }

    /// What was written to the log.
    pub fn log_notes(&self) -> Vec<LogNote> {
        let notes = self.done(|action| match action {
            Action::Log(note) => Some(note.clone()),
            _ => None,
        });
        notes.into_iter().map(|(_, note)| note).collect()
    }

    pub fn notices(&self) -> Vec<Action> {
        let notices =
            self.done(|action| matches!(action, Action::Notify(_)).then(|| action.clone()));
        notices.into_iter().map(|(_, notice)| notice).collect()
    }
}
