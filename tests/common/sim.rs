//! A simulated world around the pure supervisor: a virtual clock that jumps to the next
//! deadline, a head that is up or down, and a fake worker that joins and exits on cue. Tests run
//! hours of supervisor time in microseconds and read back what it did.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bittrader_worker::model::{
    Activity, AwakeHold, HeadAddress, Phase, ProcessUsage, TailscaleCheck, Unreachable,
    WorkerFailure,
};
use bittrader_worker::supervisor::{
    Action, Event, HeadConnection, HeadProbe, Settings, Supervisor, TreeReading, UserCommand,
    WorkerExit, WorkerSpec,
};

/// Something the simulated world will do at a time.
#[derive(Debug, Clone)]
pub enum WorldEvent {
    ProbeAnswer(HeadAddress),
    WorkerJoins(u64),
    WorkerExits(u64, Option<WorkerFailure>),
    DrainAccepted(u64),
    TreeSampled(u64, TreeReading),
    UsageSampled(u64, Vec<ProcessUsage>),
    /// The connection of `WatchHead` number N is open (or could not be held).
    WatchAnswer(u64),
    /// The held connection number N went unanswered for its `lost_after`.
    WatchLost(u64),
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
    /// Whether the head answers probes.
    pub head_up: bool,
    /// What Tailscale says of a head at a Tailscale address (the sim's head is one).
    pub tailscale: TailscaleCheck,
    /// Whether the last probe answer had Tailscale vouch for a head at a Tailscale address.
    tailscale_vouched: bool,
    /// Set when a worker was started for a Tailscale head that Tailscale did not vouch for
    /// in the last probe answer: the rogue-head invariant.
    pub unvouched_start: bool,
    /// How long `ray start` takes to print that it joined.
    pub join_delay: Duration,
    /// How long a stop takes.
    pub stop_delay: Duration,
    /// How long a probe takes to answer.
    pub probe_delay: Duration,
    /// How long a drained worker's tasks take to finish; `None`: they never do.
    pub drain_takes: Option<Duration>,
    /// When the running worker was asked to drain.
    drained_at: Option<Instant>,
    /// When set, every started worker dies after this long with this failure.
    pub crash_after: Option<(Duration, Option<WorkerFailure>)>,
    /// What a worker that is stopped says as it ends (its last output, classified): `None`,
    /// or e.g. Ray's "received SIGTERM. Draining…", which our own SIGTERM makes it print.
    pub stop_says: Option<WorkerFailure>,
    /// The live worker's generation, when one exists.
    pub worker: Option<u64>,
    /// When the live worker was started.
    worker_started: Option<Instant>,
    /// How many cores the live worker's processes keep busy.
    pub cpu_cores: f64,
    /// The generation of the last worker that joined.
    pub joined: Option<u64>,
    pub workers_started: u64,
    /// Set when a start was issued while a worker existed: the invariant we never want broken.
    pub double_start: bool,
    pub records: Vec<Record>,
    /// Whether the OS grants the idle-sleep hold (`keep_awake`) when asked.
    pub grants_awake: bool,
    /// The hold the world was last asked for (the status's `hold_awake`).
    awake_asked: bool,
    /// A connection to the head can be held while it answers (as to a real Ray GCS).
    pub holds_connections: bool,
    /// The path drops the keepalive's packets, not new connections: a held connection is
    /// lost every time while probes are answered.
    pub keepalive_dropped: bool,
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
            head_up: true,
            tailscale: TailscaleCheck::OnlinePeer,
            tailscale_vouched: false,
            unvouched_start: false,
            join_delay: Duration::from_secs(3),
            stop_delay: Duration::from_millis(500),
            probe_delay: Duration::from_millis(5),
            crash_after: None,
            stop_says: None,
            drain_takes: Some(Duration::from_secs(8)),
            drained_at: None,
            worker: None,
            worker_started: None,
            cpu_cores: 1.0,
            joined: None,
            workers_started: 0,
            double_start: false,
            records: Vec::new(),
            grants_awake: true,
            awake_asked: false,
            holds_connections: true,
            keepalive_dropped: false,
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
            let report = match (wanted, self.grants_awake) {
                (false, _) => AwakeHold::Released,
                (true, true) => AwakeHold::Held,
                (true, false) => AwakeHold::Refused {
                    why: "refused by the simulated OS".to_string(),
                },
            };
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
                    self.schedule(self.probe_delay, WorldEvent::ProbeAnswer(head));
                }
                Action::StartWorker(spec) => {
                    if self.worker.is_some() {
                        self.double_start = true;
                    }
                    if spec.head.is_tailscale() && !self.tailscale_vouched {
                        self.unvouched_start = true;
                    }
                    self.workers_started += 1;
                    let generation = self.workers_started;
                    self.worker = Some(generation);
                    self.worker_started = Some(self.now);
                    match self.crash_after.clone() {
                        Some((after, failure)) => {
                            self.schedule(after, WorldEvent::WorkerExits(generation, failure))
                        }
                        None => self.schedule(self.join_delay, WorldEvent::WorkerJoins(generation)),
                    }
                }
                Action::StopWorker { .. } => {
                    if let Some(generation) = self.worker {
                        let says = self.stop_says.clone();
                        self.schedule(self.stop_delay, WorldEvent::WorkerExits(generation, says));
                    }
                }
                Action::DrainWorker { drain, .. } => {
                    self.drained_at = Some(self.now);
                    self.schedule(self.probe_delay, WorldEvent::DrainAccepted(drain));
                }
                Action::SampleWorkerTree { drain } => {
                    let done = match (self.worker, self.drained_at, self.drain_takes) {
                        (None, _, _) => true,
                        (Some(_), Some(at), Some(takes)) => self.now >= at + takes,
                        _ => false,
                    };
                    let reading = if done {
                        TreeReading::Quiet
                    } else {
                        TreeReading::Busy
                    };
                    self.schedule(self.probe_delay, WorldEvent::TreeSampled(drain, reading));
                }
                Action::SampleUsage { sample } => {
                    // The worker's tree as one process, busy `cpu_cores` since its start; a
                    // new pid for each worker.
                    let tree = match (self.worker, self.worker_started) {
                        (Some(generation), Some(started)) => vec![ProcessUsage {
                            pid: 5000 + generation as u32,
                            start: generation,
                            parent: Some(1),
                            own: (self.now - started).mul_f64(self.cpu_cores),
                            children: Duration::ZERO,
                        }],
                        _ => Vec::new(),
                    };
                    self.schedule(self.probe_delay, WorldEvent::UsageSampled(sample, tree));
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
                Action::WatchHead {
                    watch, lost_after, ..
                } => {
                    // Replaces the connection held before, as the driver does.
                    self.held = None;
                    self.watch_lost_after = lost_after;
                    self.schedule(self.probe_delay, WorldEvent::WatchAnswer(watch));
                }
            }
        }
    }

    fn deliver(&mut self, event: WorldEvent) {
        match event {
            WorldEvent::ProbeAnswer(head) => {
                let unreachable = if self.head_up {
                    None
                } else {
                    Some(Unreachable::TimedOut)
                };
                let tailscale = head.is_tailscale().then(|| self.tailscale.clone());
                self.tailscale_vouched = tailscale == Some(TailscaleCheck::OnlinePeer);
                self.event(Event::HeadProbe(HeadProbe {
                    head,
                    unreachable,
                    tailscale,
                }));
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
                let state = if self.holds_connections && self.head_up && self.worker.is_some() {
                    self.held = Some((watch, self.watch_lost_after));
                    HeadConnection::Held
                } else {
                    HeadConnection::NotHeld
                };
                self.event(Event::HeadConnection { watch, state });
            }
            WorldEvent::WatchLost(watch) => {
                self.loss_pending = false;
                // Back in time: the keepalive was answered after all.
                let silent = !self.head_up || self.keepalive_dropped;
                if silent && self.held.is_some_and(|(held, _)| held == watch) {
                    self.held = None;
                    self.event(Event::HeadConnection {
                        watch,
                        state: HeadConnection::Lost,
                    });
                }
            }
            WorldEvent::WorkerExits(generation, failure) => {
                if self.worker == Some(generation) {
                    self.worker = None;
                    // The driver lets the held connection go with the worker.
                    self.held = None;
                    self.event(Event::WorkerExited(WorkerExit {
                        code: Some(1),
                        failure,
                    }));
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
                if (!self.head_up || self.keepalive_dropped) && !self.loss_pending {
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

    pub fn starts(&self) -> Vec<(Duration, WorkerSpec)> {
        self.records
            .iter()
            .filter_map(|r| match &r.action {
                Action::StartWorker(spec) => Some((r.at, spec.clone())),
                _ => None,
            })
            .collect()
    }
}

/// What the supervisor did, by kind. Each test file is its own crate and asks for some of
/// these only: the one allow in the shared code.
#[allow(dead_code)]
impl Sim {
    pub fn drains(&self) -> Vec<Duration> {
        self.records
            .iter()
            .filter_map(|r| match &r.action {
                Action::DrainWorker { .. } => Some(r.at),
                _ => None,
            })
            .collect()
    }

    /// When the head was probed.
    pub fn probes(&self) -> Vec<Duration> {
        self.records
            .iter()
            .filter_map(|r| match &r.action {
                Action::Probe { .. } => Some(r.at),
                _ => None,
            })
            .collect()
    }

    /// The numbers of the connections to the head asked to be held, in order.
    pub fn watches(&self) -> Vec<u64> {
        self.records
            .iter()
            .filter_map(|r| match &r.action {
                Action::WatchHead { watch, .. } => Some(*watch),
                _ => None,
            })
            .collect()
    }

    pub fn stops(&self) -> Vec<Duration> {
        self.records
            .iter()
            .filter_map(|r| match &r.action {
                Action::StopWorker { .. } => Some(r.at),
                _ => None,
            })
            .collect()
    }

    /// When the worker's CPU counters were asked for.
    pub fn usage_samples(&self) -> Vec<Duration> {
        self.records
            .iter()
            .filter(|r| matches!(r.action, Action::SampleUsage { .. }))
            .map(|r| r.at)
            .collect()
    }

    /// The CPU time recorded for the history, in all.
    pub fn recorded_cpu(&self) -> Duration {
        self.records
            .iter()
            .filter_map(|r| match r.action {
                Action::RecordUsage { cpu } => Some(cpu),
                _ => None,
            })
            .sum()
    }

    /// The timeline recorded for the history.
    pub fn activities(&self) -> Vec<(Duration, Activity)> {
        self.records
            .iter()
            .filter_map(|r| match r.action {
                Action::RecordActivity(activity) => Some((r.at, activity)),
                _ => None,
            })
            .collect()
    }

    /// When the history was written.
    pub fn history_saves(&self) -> Vec<Duration> {
        self.records
            .iter()
            .filter(|r| matches!(r.action, Action::SaveHistory))
            .map(|r| r.at)
            .collect()
    }

    pub fn notices(&self) -> Vec<Action> {
        self.records
            .iter()
            .filter(|r| matches!(r.action, Action::Notify(_)))
            .map(|r| r.action.clone())
            .collect()
    }
}
