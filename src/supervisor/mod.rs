//! The reconnect supervisor: every decision about the Ray worker, and nothing else.
//!
//! A pure state machine in the style of `quinn-proto` and `str0m`: it never reads the clock,
//! opens a socket or spawns a process. The driver feeds it facts with [`Supervisor::handle_event`]
//! and the passing of time with [`Supervisor::handle_timeout`], drains what to do with
//! [`Supervisor::poll_action`], and asks when it next needs the clock with
//! [`Supervisor::poll_timeout`]. Rule: mutate, then drain actions until `None`.
//!
//! The state is kept as independent facts (is the head reachable, is there a worker, did the
//! user pause, is there a fault) and the user-facing [`Phase`] is derived from them, so that
//! no combination can be forgotten. The invariants (checked by property tests):
//! - at most one worker: a start is only issued when no worker exists or is stopping;
//! - never a worker while paused, shutting down or in error;
//! - a blip shorter than the grace does not touch the worker; after the grace it is stopped;
//! - when the head comes back, a start follows at once (at least 1 s after the previous start).

pub mod backoff;
pub mod retry;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::model::{
    AutoPause, Fault, HeadAddress, Notice, Phase, PowerSnapshot, Status, StopReason, Unreachable,
    WorkerFailure,
};

pub use backoff::{Backoff, BackoffPolicy, Verdict};
pub use retry::{retry_for, Retry};

/// A sleep at least this long replaces the worker on wake: Ray's default health checks drop a
/// silent node after about a minute, and a stale raylet only exits once it reconnects.
pub const WAKE_REPLACES_WORKER_AFTER: Duration = Duration::from_secs(30);

/// How long a "pause after current tasks" waits for the running tasks.
pub const PAUSE_DRAIN_DEADLINE: Duration = Duration::from_secs(600);

/// How long a low-battery pause lets running tasks finish.
pub const BATTERY_DRAIN_DEADLINE: Duration = Duration::from_secs(60);

/// The driver's drain reports within its deadline; past it plus this margin the supervisor
/// stops the worker anyway.
const DRAIN_MARGIN: Duration = Duration::from_secs(5);

/// The SIGTERM-to-SIGKILL grace when the head is unreachable (see `stop_worker`).
pub const HEAD_LOST_STOP_GRACE: Duration = Duration::from_secs(3);

/// Timings of the supervisor.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// How long the worker is kept while the head is unreachable (rides through blips).
    pub grace: Duration,
    /// Probe cadence while the head is reachable: a loss is seen within this plus the probe's
    /// own timeout.
    pub probe_every_up: Duration,
    /// Probe cadence while the head is unreachable: a return is seen within this.
    pub probe_every_down: Duration,
    /// Probe cadence while paused or in error, when nothing depends on the answer soon.
    pub probe_every_idle: Duration,
    /// A worker that has not joined by then is stopped and counted as a failure.
    pub join_timeout: Duration,
    /// Time between SIGTERM and SIGKILL when stopping the worker.
    pub stop_grace: Duration,
    /// Restart delays and the breaker.
    pub backoff: BackoffPolicy,
    /// What a laptop watches (battery); inactive on a desktop.
    pub laptop: LaptopPolicy,
}

/// The battery policy of a laptop (mobile mode), BOINC-like: separate stop and resume levels
/// so it never flaps.
#[derive(Debug, Clone, PartialEq)]
pub struct LaptopPolicy {
    /// Mobile mode: the battery policy applies. Sleep and wake apply to every machine.
    pub mobile: bool,
    /// Warn once per discharge at this level while contributing.
    pub warn_percent: u8,
    /// Pause on battery at this level.
    pub stop_percent: u8,
    /// Resume on battery above this level (plugging in resumes at once).
    pub resume_percent: u8,
    /// Contribute only while on power.
    pub only_on_power: bool,
    /// Offer at most this many CPUs on battery.
    pub cpus_on_battery: Option<u32>,
}

impl Default for LaptopPolicy {
    fn default() -> Self {
        LaptopPolicy {
            mobile: false,
            warn_percent: 20,
            stop_percent: 10,
            resume_percent: 30,
            only_on_power: false,
            cpus_on_battery: None,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            grace: Duration::from_secs(30),
            probe_every_up: Duration::from_secs(2),
            probe_every_down: Duration::from_secs(1),
            probe_every_idle: Duration::from_secs(5),
            join_timeout: Duration::from_secs(120),
            stop_grace: Duration::from_secs(10),
            backoff: BackoffPolicy::default(),
            laptop: LaptopPolicy::default(),
        }
    }
}

/// What a worker is started with. Two specs differ ⇒ a running worker must be replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerSpec {
    /// The head to join.
    pub head: HeadAddress,
    /// CPUs offered to the cluster.
    pub cpus: u32,
}

/// The outcome of one reachability probe of one head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadProbe {
    /// The head that was probed: answers about a head we no longer want are ignored.
    pub head: HeadAddress,
    /// `None` when the head answered.
    pub unreachable: Option<Unreachable>,
}

/// The end of a worker process, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerExit {
    /// Exit code, `None` when killed by a signal.
    pub code: Option<i32>,
    /// What its output says went wrong, when it says anything.
    pub failure: Option<WorkerFailure>,
}

/// A worker that could not even be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnFailure {
    /// The `ray` executable does not exist.
    RayMissing { path: String },
    /// Any other OS error while spawning.
    Other { detail: String },
}

/// Commands from the user (tray, CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    /// Stop contributing until resumed, now.
    Pause,
    /// Stop contributing once the worker's running tasks finish (the head first drains the
    /// node so that no new task lands here).
    PauseAfterTasks,
    /// Contribute again; also clears an error so that it is retried.
    Resume,
    /// Offer this many CPUs (the worker is restarted with them).
    SetCpus(u32),
    /// Join this head instead.
    SetHead(HeadAddress),
    /// Stop the worker and finish.
    Shutdown,
}

/// Facts fed to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A probe finished.
    HeadProbe(HeadProbe),
    /// The worker printed that its runtime started: it is part of the cluster.
    WorkerJoined,
    /// The worker process ended.
    WorkerExited(WorkerExit),
    /// The worker process could not be started.
    WorkerSpawnFailed(SpawnFailure),
    /// A user command.
    User(UserCommand),
    /// The machine's network interfaces or addresses changed.
    NetworkChanged,
    /// The machine is about to sleep: stop the worker cleanly while there is time.
    WillSleep,
    /// The machine woke from sleep (an OS notification, or a jump of the wall clock against
    /// the monotonic one).
    Woke {
        /// How long it slept, as far as is known.
        slept_secs: u64,
    },
    /// Mains or battery, and the battery's level.
    Power(PowerSnapshot),
    /// The lid closed (`true`) or opened.
    LidClosed(bool),
    /// The drain asked for by [`Action::DrainWorker`] is over: the node is idle, the deadline
    /// passed, or the drain could not be requested. The worker is stopped next.
    DrainFinished,
}

/// Things the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Check whether this head is reachable, then report a [`Event::HeadProbe`].
    Probe { head: HeadAddress },
    /// Spawn the worker, then report [`Event::WorkerJoined`] and [`Event::WorkerExited`] (or
    /// [`Event::WorkerSpawnFailed`]).
    StartWorker(WorkerSpec),
    /// SIGTERM the worker's process group, SIGKILL after `grace`, then report its exit.
    StopWorker { grace: Duration, reason: StopReason },
    /// Ask the head to drain this node (no new tasks) and report [`Event::DrainFinished`]
    /// once its running tasks are done or `deadline` has passed.
    DrainWorker { deadline: Duration },
    /// Tell the user (notification, log).
    Notify(Notice),
    /// The shutdown is complete: the driver may exit.
    Exit,
}

#[derive(Debug, Clone, PartialEq)]
enum Reach {
    Unknown,
    Up,
    Down { since: Instant, why: Unreachable },
}

#[derive(Debug, Clone, PartialEq)]
enum Worker {
    Absent,
    Running {
        spec: WorkerSpec,
        started_at: Instant,
        joined_at: Option<Instant>,
    },
    Stopping {
        spec: WorkerSpec,
        reason: StopReason,
    },
    /// Joined, asked to drain; stopped when the drain finishes or times out.
    Draining {
        spec: WorkerSpec,
        until: Instant,
        then: StopReason,
    },
}

/// An outage of the head, from the first failed probe until the worker is joined again.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Outage {
    since: Instant,
    /// The user was told (the grace ran out): they will be told of the return too.
    notified: bool,
}

/// The reconnect supervisor. See the module doc.
#[derive(Debug)]
pub struct Supervisor {
    settings: Settings,
    head: Option<HeadAddress>,
    cpus: u32,
    paused: bool,
    fault: Option<Fault>,
    shutting_down: bool,
    exit_sent: bool,
    reach: Reach,
    worker: Worker,
    backoff: Backoff,
    /// No start before this (restart delay); `None` once it has passed.
    restart_at: Option<Instant>,
    last_start_at: Option<Instant>,
    next_probe_at: Option<Instant>,
    probe_in_flight: bool,
    outage: Option<Outage>,
    actions: VecDeque<Action>,
    auto_pause: Option<AutoPause>,
    /// Latest power facts.
    power: Option<PowerSnapshot>,
    /// The user resumed during a battery pause: honoured until the power source changes.
    battery_override: bool,
    /// The low-battery warning was given in this discharge.
    battery_warned: bool,
    lid_closed: bool,
}

impl Supervisor {
    /// A supervisor that will probe `head` at once. `head: None` is the "not configured" error.
    pub fn new(
        settings: Settings,
        head: Option<HeadAddress>,
        cpus: u32,
        paused: bool,
        now: Instant,
    ) -> Self {
        let backoff = Backoff::new(settings.backoff.clone());
        let fault = if head.is_none() {
            Some(Fault::NoHead)
        } else {
            None
        };
        Supervisor {
            settings,
            head,
            cpus,
            paused,
            fault,
            shutting_down: false,
            exit_sent: false,
            reach: Reach::Unknown,
            worker: Worker::Absent,
            backoff,
            restart_at: None,
            last_start_at: None,
            next_probe_at: Some(now),
            probe_in_flight: false,
            outage: None,
            actions: VecDeque::new(),
            auto_pause: None,
            power: None,
            battery_override: false,
            battery_warned: false,
            lid_closed: false,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Feeds one fact.
    pub fn handle_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::HeadProbe(probe) => self.on_probe(now, probe),
            Event::WorkerJoined => self.on_joined(now),
            Event::WorkerExited(exit) => self.on_exit(now, exit),
            Event::WorkerSpawnFailed(failure) => self.on_spawn_failed(now, failure),
            Event::User(command) => self.on_user(now, command),
            Event::NetworkChanged => self.probe_soon(now),
            Event::WillSleep => self.auto_pause = Some(AutoPause::Asleep),
            Event::Woke { slept_secs } => self.on_woke(now, slept_secs),
            Event::Power(power) => self.on_power(power),
            Event::LidClosed(closed) => self.on_lid(closed),
            Event::DrainFinished => {
                if let Worker::Draining { then, .. } = self.worker {
                    self.stop_worker(then);
                }
            }
        }
        self.reconcile(now);
    }

    /// Lets time pass: call when [`Supervisor::poll_timeout`] is reached (calling early is
    /// harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.restart_at.is_some_and(|at| now >= at) {
            self.restart_at = None;
        }
        if let Worker::Draining { until, then, .. } = self.worker {
            if now >= until {
                self.stop_worker(then);
            }
        }
        if let Worker::Running {
            started_at,
            joined_at: None,
            ..
        } = self.worker
        {
            if now >= started_at + self.settings.join_timeout {
                self.stop_worker(StopReason::JoinTimeout);
            }
        }
        self.reconcile(now);
        if let (Some(head), Some(at)) = (&self.head, self.next_probe_at) {
            if now >= at && !self.probe_in_flight && !self.shutting_down {
                self.probe_in_flight = true;
                self.next_probe_at = None;
                self.actions.push_back(Action::Probe { head: head.clone() });
            }
        }
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Supervisor::handle_timeout`] must next be called; `None` when only an event
    /// can change anything.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut deadlines: Vec<Instant> = Vec::with_capacity(4);
        if !self.probe_in_flight && !self.shutting_down && self.head.is_some() {
            deadlines.extend(self.next_probe_at);
        }
        deadlines.extend(self.restart_at);
        if let Worker::Draining { until, .. } = &self.worker {
            deadlines.push(*until);
        }
        if let Worker::Running {
            started_at,
            joined_at,
            ..
        } = &self.worker
        {
            if joined_at.is_none() {
                deadlines.push(*started_at + self.settings.join_timeout);
            }
            if let Reach::Down { since, .. } = &self.reach {
                deadlines.push(*since + self.settings.grace);
            }
        }
        deadlines.into_iter().min()
    }

    /// A snapshot of the state.
    pub fn status(&self) -> Status {
        let worker_cpus = match &self.worker {
            Worker::Running { spec, .. }
            | Worker::Stopping { spec, .. }
            | Worker::Draining { spec, .. } => Some(spec.cpus),
            Worker::Absent => None,
        };
        Status {
            phase: self.phase(),
            head: self.head.clone(),
            cpus: self.cpus,
            worker_cpus,
            paused: self.paused,
            unreachable: match &self.reach {
                Reach::Down { why, .. } => Some(why.clone()),
                _ => None,
            },
            fault: self.fault.clone(),
            recent_failures: self.backoff.recent_failures(),
            auto_pause: self.auto_pause,
            mobile: self.settings.laptop.mobile,
        }
    }

    /// Whether a worker process exists (running or being stopped).
    pub fn has_worker(&self) -> bool {
        !matches!(self.worker, Worker::Absent)
    }

    fn phase(&self) -> Phase {
        if self.shutting_down {
            return Phase::ShuttingDown;
        }
        match &self.worker {
            Worker::Stopping {
                reason: StopReason::Reconfigure | StopReason::Woke,
                ..
            } if !self.paused && self.fault.is_none() => Phase::Reconnecting,
            Worker::Stopping { .. } => Phase::Stopping,
            Worker::Draining { .. } => Phase::Draining,
            Worker::Running { joined_at, .. } => match (&self.reach, joined_at) {
                (Reach::Down { .. }, _) => Phase::Disconnecting,
                (_, Some(_)) => Phase::Connected,
                (_, None) => Phase::Starting,
            },
            Worker::Absent if self.fault.is_some() => Phase::Error,
            Worker::Absent if self.paused || self.auto_pause.is_some() => Phase::Paused,
            Worker::Absent => match self.reach {
                Reach::Unknown => Phase::Checking,
                Reach::Down { .. } => Phase::Disconnected,
                Reach::Up => Phase::Reconnecting,
            },
        }
    }

    fn target(&self) -> Option<WorkerSpec> {
        self.head.as_ref().map(|head| WorkerSpec {
            head: head.clone(),
            cpus: self.effective_cpus(),
        })
    }

    /// The CPUs to offer now: fewer on battery when the policy says so.
    fn effective_cpus(&self) -> u32 {
        let laptop = &self.settings.laptop;
        let on_battery = self.power.is_some_and(|p| !p.on_ac);
        match laptop.cpus_on_battery {
            Some(limit) if laptop.mobile && on_battery => self.cpus.min(limit.max(1)),
            _ => self.cpus,
        }
    }

    fn contributing(&self) -> bool {
        matches!(self.worker, Worker::Running { .. })
    }

    fn on_woke(&mut self, now: Instant, slept_secs: u64) {
        if self.auto_pause == Some(AutoPause::Asleep) {
            self.auto_pause = None;
        }
        // Whatever we knew of the network is stale.
        self.reach = Reach::Unknown;
        self.probe_in_flight = false;
        self.next_probe_at = Some(now);
        // After more than the head's health-check window the node is dead at the head and its
        // raylet will exit when it reconnects: replace it now rather than wait for that.
        if slept_secs >= WAKE_REPLACES_WORKER_AFTER.as_secs() {
            self.stop_worker(StopReason::Woke);
        }
    }

    fn on_power(&mut self, power: PowerSnapshot) {
        let source_changed = self.power.map(|p| p.on_ac) != Some(power.on_ac);
        self.power = Some(power);
        if source_changed {
            self.battery_override = false;
        }
        if power.on_ac {
            self.battery_warned = false;
        }
        let laptop = self.settings.laptop.clone();
        if !laptop.mobile || self.auto_pause == Some(AutoPause::Asleep) {
            return;
        }
        let level = power.battery.map(|b| b.percent);
        let already_low = matches!(self.auto_pause, Some(AutoPause::LowBattery { .. }));
        let wanted = if power.on_ac || self.battery_override {
            None
        } else if laptop.only_on_power {
            Some(AutoPause::OnBattery)
        } else {
            match level {
                Some(percent) if percent <= laptop.stop_percent => {
                    Some(AutoPause::LowBattery { percent })
                }
                // Between the stop and resume levels a battery pause holds: no flapping.
                Some(percent) if already_low && percent < laptop.resume_percent => {
                    Some(AutoPause::LowBattery { percent })
                }
                _ => None,
            }
        };
        let newly = wanted.is_some() && self.auto_pause.is_none();
        if newly && self.contributing() {
            if let Some(reason) = wanted {
                self.actions
                    .push_back(Action::Notify(Notice::AutoPaused { reason }));
            }
        }
        self.auto_pause = wanted;
        if let Some(percent) = level {
            if !power.on_ac
                && percent <= laptop.warn_percent
                && !self.battery_warned
                && wanted.is_none()
                && self.contributing()
            {
                self.battery_warned = true;
                self.actions
                    .push_back(Action::Notify(Notice::BatteryLow { percent }));
            }
        }
    }

    fn on_lid(&mut self, closed: bool) {
        if closed && !self.lid_closed && self.contributing() {
            self.actions.push_back(Action::Notify(Notice::LidClosed));
        }
        self.lid_closed = closed;
    }

    fn on_probe(&mut self, now: Instant, probe: HeadProbe) {
        if self.head.as_ref() != Some(&probe.head) {
            // An answer about a head we switched away from.
            return;
        }
        self.probe_in_flight = false;
        match probe.unreachable {
            None => {
                self.reach = Reach::Up;
                if matches!(
                    self.worker,
                    Worker::Running {
                        joined_at: Some(_),
                        ..
                    }
                ) {
                    // A blip the worker rode through: nothing to tell.
                    self.outage = None;
                }
            }
            Some(why) => {
                let since = match &self.reach {
                    Reach::Down { since, .. } => *since,
                    _ => now,
                };
                self.reach = Reach::Down { since, why };
                if self.outage.is_none() {
                    self.outage = Some(Outage {
                        since: now,
                        notified: false,
                    });
                }
            }
        }
        let every = if self.paused || self.fault.is_some() {
            self.settings.probe_every_idle
        } else if self.reach == Reach::Up {
            self.settings.probe_every_up
        } else {
            self.settings.probe_every_down
        };
        self.next_probe_at = Some(now + every);
    }

    fn on_joined(&mut self, now: Instant) {
        if let Worker::Running { joined_at, .. } = &mut self.worker {
            if joined_at.is_none() {
                *joined_at = Some(now);
                if let Some(outage) = self.outage.take() {
                    if outage.notified {
                        let away_secs = now.saturating_duration_since(outage.since).as_secs();
                        self.actions
                            .push_back(Action::Notify(Notice::Reconnected { away_secs }));
                    }
                }
            }
        }
    }

    fn on_exit(&mut self, now: Instant, exit: WorkerExit) {
        let previous = std::mem::replace(&mut self.worker, Worker::Absent);
        match previous {
            Worker::Absent => {}
            Worker::Stopping { reason, .. } | Worker::Draining { then: reason, .. } => {
                if reason == StopReason::JoinTimeout {
                    let failure = exit.failure.unwrap_or_else(|| WorkerFailure::Crashed {
                        last_line: format!(
                            "did not join the cluster within {} s",
                            self.settings.join_timeout.as_secs()
                        ),
                    });
                    self.count_failure(now, failure);
                }
            }
            Worker::Running { joined_at, .. } => {
                let failure = exit.failure.unwrap_or_else(|| WorkerFailure::Crashed {
                    last_line: match exit.code {
                        Some(code) => format!("`ray start` exited with code {code}"),
                        None => "`ray start` was killed by a signal".to_string(),
                    },
                });
                if joined_at.is_some_and(|at| {
                    now.saturating_duration_since(at) >= self.backoff.policy().stable_after
                }) {
                    self.backoff.record_stable();
                }
                match retry_for(&failure) {
                    Retry::Never => self.set_fault(Fault::Worker { failure }),
                    // The network, not the worker: restart as soon as the head answers, without
                    // counting towards the breaker. The 1 s floor still applies.
                    Retry::WhenHeadAnswers => self.probe_soon(now),
                    Retry::AfterBackoff if matches!(self.reach, Reach::Down { .. }) => {
                        self.probe_soon(now)
                    }
                    Retry::AfterBackoff => self.count_failure(now, failure),
                }
            }
        }
    }

    fn on_spawn_failed(&mut self, now: Instant, failure: SpawnFailure) {
        self.worker = Worker::Absent;
        match failure {
            SpawnFailure::RayMissing { path } => self.set_fault(Fault::RayMissing { path }),
            SpawnFailure::Other { detail } => {
                self.count_failure(now, WorkerFailure::Crashed { last_line: detail })
            }
        }
    }

    fn count_failure(&mut self, now: Instant, failure: WorkerFailure) {
        match self.backoff.record_failure(now) {
            Verdict::RetryAfter(delay) => self.restart_at = Some(now + delay),
            Verdict::GiveUp => {
                let failures = self.backoff.recent_failures();
                self.set_fault(Fault::GaveUp {
                    failures,
                    last: failure,
                });
            }
        }
    }

    fn set_fault(&mut self, fault: Fault) {
        if self.fault.as_ref() != Some(&fault) {
            self.actions
                .push_back(Action::Notify(Notice::NeedsAttention {
                    fault: fault.clone(),
                }));
        }
        self.fault = Some(fault);
    }

    fn on_user(&mut self, now: Instant, command: UserCommand) {
        match command {
            UserCommand::Pause => {
                self.paused = true;
                // "Pause now" also cuts a drain short.
                if matches!(self.worker, Worker::Draining { .. }) {
                    self.stop_worker(StopReason::Paused);
                }
            }
            UserCommand::PauseAfterTasks => {
                self.paused = true;
                self.drain_worker(now, PAUSE_DRAIN_DEADLINE, StopReason::Paused);
            }
            UserCommand::Resume => {
                self.paused = false;
                // The user's choice wins over the battery policy until the power changes.
                if matches!(
                    self.auto_pause,
                    Some(AutoPause::LowBattery { .. } | AutoPause::OnBattery)
                ) {
                    self.auto_pause = None;
                    self.battery_override = true;
                }
                if !matches!(self.fault, Some(Fault::NoHead)) {
                    self.fault = None;
                }
                self.backoff.reset();
                self.restart_at = None;
                self.probe_soon(now);
            }
            UserCommand::SetCpus(cpus) => {
                self.cpus = cpus;
                self.restart_at = None;
            }
            UserCommand::SetHead(head) => {
                if self.head.as_ref() != Some(&head) {
                    self.head = Some(head);
                    self.reach = Reach::Unknown;
                    self.outage = None;
                    // A fault may have been about the old head (its version, its token).
                    self.fault = None;
                    self.backoff.reset();
                    self.restart_at = None;
                    self.probe_in_flight = false;
                    self.next_probe_at = Some(now);
                }
            }
            UserCommand::Shutdown => self.shutting_down = true,
        }
    }

    fn probe_soon(&mut self, now: Instant) {
        if !self.probe_in_flight {
            self.next_probe_at = Some(now);
        }
    }

    /// Asks the head to drain a joined worker before it is stopped for `then`; a worker that has
    /// not joined has no tasks and is stopped at once.
    fn drain_worker(&mut self, now: Instant, deadline: Duration, then: StopReason) {
        if let Worker::Running {
            spec,
            joined_at: Some(_),
            ..
        } = &self.worker
        {
            self.worker = Worker::Draining {
                spec: spec.clone(),
                until: now + deadline + DRAIN_MARGIN,
                then,
            };
            self.actions.push_back(Action::DrainWorker { deadline });
        } else {
            self.stop_worker(then);
        }
    }

    fn stop_worker(&mut self, reason: StopReason) {
        if let Worker::Running { spec, .. } | Worker::Draining { spec, .. } = &self.worker {
            self.worker = Worker::Stopping {
                spec: spec.clone(),
                reason,
            };
            // On SIGTERM Ray first asks the head to drain the node (up to 30 s). With the head
            // unreachable that can only time out, so the kill comes sooner.
            let grace = if reason == StopReason::HeadLost {
                self.settings.stop_grace.min(HEAD_LOST_STOP_GRACE)
            } else {
                self.settings.stop_grace
            };
            self.actions.push_back(Action::StopWorker { grace, reason });
        }
    }

    /// Brings the worker in line with what is wanted.
    fn reconcile(&mut self, now: Instant) {
        match &self.worker {
            Worker::Stopping { .. } => {}
            Worker::Draining { .. } => {
                // A leave with no time for the tasks overrides the drain.
                if self.shutting_down {
                    self.stop_worker(StopReason::Shutdown);
                } else if self.auto_pause == Some(AutoPause::Asleep) {
                    self.stop_worker(StopReason::Sleep);
                } else if matches!(self.reach, Reach::Down { .. }) {
                    self.stop_worker(StopReason::HeadLost);
                }
            }
            Worker::Running { spec, .. } => {
                let reason = if self.shutting_down {
                    Some(StopReason::Shutdown)
                } else if self.paused || self.fault.is_some() {
                    Some(StopReason::Paused)
                } else if self.auto_pause == Some(AutoPause::Asleep) {
                    Some(StopReason::Sleep)
                } else if self.auto_pause.is_some() {
                    // Planned: let the running tasks finish for a while.
                    self.drain_worker(now, BATTERY_DRAIN_DEADLINE, StopReason::Battery);
                    None
                } else if self.target().as_ref() != Some(spec) {
                    Some(StopReason::Reconfigure)
                } else if let Reach::Down { since, why } = &self.reach {
                    if now >= *since + self.settings.grace {
                        if let Some(outage) = &mut self.outage {
                            outage.notified = true;
                        }
                        self.actions.push_back(Action::Notify(Notice::HeadLost {
                            why: Some(why.clone()),
                        }));
                        Some(StopReason::HeadLost)
                    } else {
                        None
                    }
                } else {
                    None
                };
                if let Some(reason) = reason {
                    self.stop_worker(reason);
                }
            }
            Worker::Absent => {
                if self.shutting_down {
                    if !self.exit_sent {
                        self.exit_sent = true;
                        self.actions.push_back(Action::Exit);
                    }
                    return;
                }
                let wanted = !self.paused
                    && self.auto_pause.is_none()
                    && self.fault.is_none()
                    && self.reach == Reach::Up
                    && self.restart_at.is_none();
                let Some(spec) = self.target().filter(|_| wanted) else {
                    return;
                };
                let earliest = self
                    .last_start_at
                    .map(|at| at + self.settings.backoff.first)
                    .unwrap_or(now);
                if now < earliest {
                    self.restart_at = Some(earliest);
                    return;
                }
                self.last_start_at = Some(now);
                self.worker = Worker::Running {
                    spec: spec.clone(),
                    started_at: now,
                    joined_at: None,
                };
                self.actions.push_back(Action::StartWorker(spec));
            }
        }
    }
}
