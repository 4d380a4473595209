//! The reconnect supervisor: every decision about the Ray worker, and nothing else.
//!
//! A pure state machine in the style of `quinn-proto` and `str0m`: it never reads the clock,
//! opens a socket, spawns a process or words a sentence. The driver feeds it facts with
//! [`Supervisor::handle_event`] and the passing of time with [`Supervisor::handle_timeout`],
//! drains what to do with [`Supervisor::poll_action`], and asks when it next needs the clock
//! with [`Supervisor::poll_timeout`]. Rule: mutate, then drain actions until `None`.
//!
//! Where each rule lives:
//! - [`settings`]: every timing constant and threshold;
//! - [`retry`]: which failures stop everything, wait for the network, or back off;
//! - [`backoff`]: restart delays and the breaker;
//! - [`drain`]: when a drained node counts as idle;
//! - [`laptop`]: the battery policy, the lid, sleep and wake;
//! - [`courtesy`]: keep awake while contributing, step back when the machine runs hot,
//!   contribute only while the user is away;
//! - [`notify`]: which notices reach the user (never a storm);
//! - [`timers`]: the one table of deadlines;
//! - [`config_looks`]: when the running app looks at config.toml for a hand edit (not a rule
//!   of the worker, but a timing rule, kept here with the others; the driver's watcher runs it);
//! - this file: the worker's lifecycle (start, join, grace, drain, stop, sleep, quit).
//!
//! The state is kept as independent facts (is the head reachable, is there a worker, did the
//! user pause, is there a fault) and the user-facing [`Phase`] is derived from them, so that
//! no combination can be forgotten. The invariants (checked by property tests):
//! - at most one worker: a start is only issued when no worker exists or is stopping;
//! - never a worker while paused, shutting down or in error;
//! - a blip shorter than the grace does not touch the worker; after the grace it is stopped;
//! - when the head comes back, a start follows at once (at least 1 s after the previous start).

pub mod backoff;
pub mod config_looks;
mod contribution;
pub mod courtesy;
pub mod drain;
mod events;
mod find;
mod head_watch;
pub mod laptop;
pub mod notify;
pub mod retry;
pub mod settings;
mod start;
pub mod tailnet;
pub mod timers;
pub mod usage;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::model::{
    Activity, AutoPause, Fault, HeadAddress, InstallStep, LogNote, Notice, Phase, ProcessUsage,
    RayInstall, Status, StopReason, ThermalState, WorkerFailure,
};

pub use backoff::{Backoff, Verdict};
pub use events::{
    Action, Event, HeadConnection, HeadProbe, SpawnFailure, TreeReading, UserCommand, WorkerExit,
    WorkerSpec,
};
pub use retry::{retry_for, Retry};
pub use settings::{
    longest_quit, BackoffPolicy, CourtesyPolicy, LaptopPolicy, Settings, BATTERY_DRAIN_DEADLINE,
    HEAD_LOST_STOP_GRACE, NOTIFY_HEAT_EVERY, PAUSE_DRAIN_DEADLINE, THERMAL_DRAIN_DEADLINE,
    THERMAL_REPEAT_WINDOW, THERMAL_RESUME_AFTER, THERMAL_RESUME_AFTER_MAX,
    USER_BACK_DRAIN_DEADLINE, WAKE_REPLACES_WORKER_AFTER,
};

use contribution::Contribution;
use courtesy::{Courtesy, HeatStep};
use drain::IdleRule;
use head_watch::{Answer, HeadWatch, NextProbe, Reach};
use laptop::{Laptop, Wake};
use notify::NotificationGate;
use settings::{
    leave_for, DRAIN_SAMPLE_EVERY, FAULT_RETRY_AFTER, HELD_CONNECTION_LOST_AFTER,
    HISTORY_SAVE_AFTER, SLEEP_CANCELLED_AFTER, USAGE_SAMPLE_EVERY,
};
use start::StartAttempt;
use timers::{Timer, Timers};

/// A drain under way: the head was asked to send no more tasks, and the worker is watched
/// until its tasks are done.
#[derive(Debug, Clone, PartialEq)]
struct Drain {
    /// Tells this drain's reports from a late one of an earlier drain.
    id: u64,
    /// Why the worker is stopped once drained.
    then: StopReason,
    /// The idle rule's count.
    idle: IdleRule,
    /// How long the tasks were given.
    deadline: Duration,
}

#[derive(Debug, Clone, PartialEq)]
enum Worker {
    Absent,
    Running {
        spec: WorkerSpec,
        joined_at: Option<Instant>,
    },
    Stopping {
        spec: WorkerSpec,
        reason: StopReason,
    },
    /// Joined, asked to drain; stopped when its tasks are done or the drain's deadline passes.
    Draining {
        spec: WorkerSpec,
        drain: Drain,
    },
}

/// Whether the supervisor is finishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    Running,
    /// A quit was asked for: the worker is stopped, then [`Action::Exit`] given.
    ShuttingDown,
    /// [`Action::Exit`] was given: nothing more is done.
    Exited,
}

/// The reconnect supervisor. See the module doc.
#[derive(Debug)]
pub struct Supervisor {
    settings: Settings,
    /// What the user wants: the head, the CPUs, and whether they paused.
    head: Option<HeadAddress>,
    cpus: u32,
    paused: bool,
    run: Run,
    watch: HeadWatch,
    worker: Worker,
    start: StartAttempt,
    backoff: Backoff,
    laptop: Laptop,
    courtesy: Courtesy,
    notices: NotificationGate,
    /// An install of Ray the user asked for, under way; no worker starts meanwhile.
    ray_install: Option<RayInstall>,
    /// The built-in demo head joined while no head is configured (never saved).
    demo_head: Option<HeadAddress>,
    /// The search for heads on the tailnet.
    finder: find::HeadFinder,
    contribution: Contribution,
    timers: Timers,
    actions: VecDeque<Action>,
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
        let mut timers = Timers::default();
        if head.is_some() {
            timers.set(Timer::Probe, now);
        }
        Supervisor {
            settings,
            head,
            cpus,
            paused,
            run: Run::Running,
            watch: HeadWatch::default(),
            worker: Worker::Absent,
            start: StartAttempt::default(),
            backoff,
            laptop: Laptop::default(),
            courtesy: Courtesy::default(),
            notices: NotificationGate::default(),
            ray_install: None,
            demo_head: None,
            finder: find::HeadFinder::default(),
            contribution: Contribution::default(),
            timers,
            actions: VecDeque::new(),
        }
    }

    /// Says that `demo` is the built-in demo head (a throwaway local one, started because no
    /// head is configured): while it is the head, the status says so ([`Status::demo`]).
    pub fn with_demo_head(mut self, demo: Option<HeadAddress>) -> Self {
        self.demo_head = demo;
        self
    }

    /// The start of the app: while no head of the user's is set (none, or the demo head),
    /// heads are looked for on the tailnet once, and a single one found is offered, unless a
    /// head was offered on an earlier start (`offered_before`): the offer is made once.
    pub fn with_first_run_search(mut self, offered_before: bool) -> Self {
        if self.needs_a_head() && self.finder.start(!offered_before) {
            self.actions.push_back(Action::FindHeads);
        }
        self
    }

    /// No head of the user's is set: none, or the built-in demo head.
    fn needs_a_head(&self) -> bool {
        self.head.is_none() || (self.demo_head.is_some() && self.head == self.demo_head)
    }

    /// Feeds one fact.
    pub fn handle_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::HeadProbe(probe) => self.on_probe(now, probe),
            Event::WorkerJoined => self.on_joined(now),
            Event::WorkerExited(exit) => self.on_exit(now, exit),
            Event::WorkerSpawnFailed(failure) => self.on_spawn_failed(now, failure),
            Event::User(command) => self.on_user(now, command),
            Event::NetworkChanged => {
                self.watch.network_changed();
                self.probe_within(now, self.settings.probe_every_up);
                // A new network may be what the fault was about (a firewall, another head).
                self.retry_fault(now);
                self.probe_soon(now)
            }
            Event::WillSleep => self.on_will_sleep(now),
            Event::Woke { slept_secs } => self.on_woke(now, slept_secs),
            Event::Power(power) => {
                let contributing = self.contributing();
                let notices = self
                    .laptop
                    .on_power(&self.settings.laptop, power, contributing);
                for notice in notices {
                    self.notify(now, notice);
                }
            }
            Event::LidClosed(closed) => {
                if let Some(notice) = self.laptop.on_lid(closed, self.contributing()) {
                    self.notify(now, notice);
                }
            }
            Event::Thermal(state) => self.on_thermal(now, state),
            Event::UserIdle(reading) => {
                if let Some(away_after) = self.settings.courtesy.only_when_idle {
                    match self.courtesy.presence.on_reading(now, reading, away_after) {
                        Some(at) => self.timers.set(Timer::UserAway, at),
                        None => self.timers.stop(Timer::UserAway),
                    }
                }
            }
            Event::AwakeHold(report) => {
                if let Some(note) = self.courtesy.awake_report(report) {
                    self.actions.push_back(Action::Log(note));
                }
            }
            Event::HeadConnection { watch, state } => self.on_head_connection(now, watch, state),
            Event::HeadsFound(outcome) => {
                let needs_a_head = self.needs_a_head();
                if let Some(notice) = self.finder.ended(outcome, needs_a_head) {
                    // Only the first-run search offers: once, across starts.
                    self.notify(now, notice);
                    self.actions.push_back(Action::RecordFirstRunOffer);
                }
            }
            Event::DrainRequested { drain, accepted } => {
                self.on_drain_requested(now, drain, accepted)
            }
            Event::WorkerTreeSampled { drain, reading } => {
                self.on_tree_sampled(now, drain, reading)
            }
            Event::RayInstallProgress(step) => {
                if let Some(install) = &mut self.ray_install {
                    install.step = step;
                }
            }
            Event::RayInstallEnded(outcome) => self.on_ray_installed(now, outcome),
            Event::UsageSampled { sample, tree } => self.on_usage_sampled(now, sample, tree),
        }
        self.reconcile(now);
        self.note_activity(now);
    }

    /// Lets time pass: call when [`Supervisor::poll_timeout`] is reached (calling early is
    /// harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.take_expired(now) {
            match timer {
                // Its end is all it means: `reconcile` may start a worker now.
                Timer::Restart | Timer::NetworkRestart | Timer::NextStart => {}
                Timer::Probe => {
                    if let Some(head) = self.head.clone() {
                        let for_start = self.start_may_follow();
                        self.start.probe_asked(for_start);
                        let tailscale_max_age = self.watch.probe_asked(&head, for_start);
                        self.actions.push_back(Action::Probe {
                            head,
                            tailscale_max_age,
                        });
                    }
                }
                Timer::Join => {
                    if matches!(
                        self.worker,
                        Worker::Running {
                            joined_at: None,
                            ..
                        }
                    ) {
                        self.stop_worker(StopReason::JoinTimeout);
                    }
                }
                Timer::Grace => self.on_grace_over(now),
                Timer::DrainDeadline => {
                    if let Worker::Draining { drain, .. } = &self.worker {
                        let then = drain.then;
                        self.drain_ended(false);
                        self.stop_worker(then);
                    }
                }
                Timer::DrainSample => {
                    if let Worker::Draining { drain, .. } = &self.worker {
                        let drain = drain.id;
                        self.actions.push_back(Action::SampleWorkerTree { drain });
                    }
                }
                // The sleep goes ahead; the worker, if it still runs, is frozen with it.
                Timer::SleepHold => {}
                Timer::SleepCancelled => {
                    if self.laptop.asleep {
                        self.on_woke(now, 0);
                    }
                }
                Timer::Quit => self.exit(),
                Timer::FaultRetry => self.retry_fault(now),
                Timer::UsageSample => {
                    if self.worker_joined() {
                        self.sample_usage();
                    }
                }
                Timer::HistorySave => self.actions.push_back(Action::SaveHistory),
                // Its end is all it means: `reconcile` brings the presence rule up to now.
                Timer::UserAway => {}
                Timer::CooledDown => {
                    // "Cool again: joins again" only if it does: not under another pause (the
                    // user's, the battery's, the user being at the machine) or a fault.
                    if self.courtesy.heat.cooled_down(now) && self.start_may_follow() {
                        self.notify(now, Notice::CooledDown);
                    }
                }
            }
        }
        self.reconcile(now);
        self.note_activity(now);
    }

    /// The next thing to do, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Supervisor::handle_timeout`] must next be called; `None` when only an event
    /// can change anything.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// A snapshot of the state.
    pub fn status(&self) -> Status {
        let worker_cpus = self.worker_cpus();
        let phase = self.phase();
        Status {
            tailscale_vouches_for_silent_head: matches!(
                phase,
                Phase::Disconnecting | Phase::Disconnected
            ) && matches!(
                self.watch.reach(),
                Reach::Down { vouched: true, .. }
            ),
            phase,
            head: self.head.clone(),
            cpus: self.cpus,
            worker_cpus,
            paused: self.paused,
            unreachable: self.watch.unreachable(),
            fault: self.fault(),
            recent_failures: self.backoff.recent_failures(),
            auto_pause: self.auto_pause(),
            mobile: self.settings.laptop.mobile,
            holding_sleep: self.timers.is_set(Timer::SleepHold),
            ray_install: self.ray_install.clone(),
            demo: self.demo_head.is_some() && self.head == self.demo_head,
            needs_a_head: self.needs_a_head(),
            head_search: self.finder.status(),
            found_heads: self.finder.found_heads(),
            courtesy: self.courtesy.status(
                &self.settings.courtesy,
                matches!(phase, Phase::Connected | Phase::Draining),
                self.laptop.power,
            ),
            worker_busy_percent: self
                .contribution
                .busy_percent()
                .filter(|_| phase == Phase::Connected),
        }
    }

    /// Whether a worker process exists (running or being stopped).
    pub fn has_worker(&self) -> bool {
        !matches!(self.worker, Worker::Absent)
    }

    fn phase(&self) -> Phase {
        if self.run != Run::Running {
            return Phase::ShuttingDown;
        }
        match &self.worker {
            Worker::Stopping {
                reason: StopReason::Reconfigure | StopReason::Woke | StopReason::HeadRestarted,
                ..
            } if !self.paused && self.fault().is_none() => Phase::Reconnecting,
            Worker::Stopping { .. } => Phase::Stopping,
            Worker::Draining { .. } => Phase::Draining,
            Worker::Running { joined_at, .. } => match (self.watch.reach(), joined_at) {
                (Reach::Down { .. }, _) => Phase::Disconnecting,
                (_, Some(_)) => Phase::Connected,
                (_, None) => Phase::Starting,
            },
            Worker::Absent if self.fault().is_some() => Phase::Error,
            Worker::Absent if self.paused || self.auto_pause().is_some() => Phase::Paused,
            Worker::Absent => match self.watch.reach() {
                Reach::Unknown => Phase::Checking,
                Reach::Down { .. } => Phase::Disconnected,
                Reach::Up => Phase::Reconnecting,
            },
        }
    }

    fn target(&self) -> Option<WorkerSpec> {
        self.head.as_ref().map(|head| WorkerSpec {
            head: head.clone(),
            cpus: self.laptop.cpus(&self.settings.laptop, self.cpus),
        })
    }

    /// Whether a reachable head would get a worker started now (or once a restart delay ends).
    fn start_may_follow(&self) -> bool {
        matches!(self.worker, Worker::Absent)
            && !self.paused
            && self.run == Run::Running
            && self.fault().is_none()
            && self.auto_pause().is_none()
            && self.ray_install.is_none()
    }

    /// The CPUs of the worker there is, if any.
    fn worker_cpus(&self) -> Option<u32> {
        match &self.worker {
            Worker::Running { spec, .. }
            | Worker::Stopping { spec, .. }
            | Worker::Draining { spec, .. } => Some(spec.cpus),
            Worker::Absent => None,
        }
    }

    /// Whether a worker is part of the cluster: joined, or finishing its tasks.
    fn worker_joined(&self) -> bool {
        matches!(
            self.worker,
            Worker::Running {
                joined_at: Some(_),
                ..
            } | Worker::Draining { .. }
        )
    }

    /// Whether a worker is joined and contributing (not draining).
    fn joined_running(&self) -> bool {
        matches!(
            self.worker,
            Worker::Running {
                joined_at: Some(_),
                ..
            }
        )
    }

    fn sample_usage(&mut self) {
        let sample = self.contribution.ask();
        self.actions.push_back(Action::SampleUsage { sample });
    }

    /// The CPU used since the last reading is recorded; a joined worker is read again in a
    /// minute.
    fn on_usage_sampled(&mut self, now: Instant, sample: u64, tree: Option<Vec<ProcessUsage>>) {
        let cpus = self.worker_cpus();
        let Some(cpu) = self
            .contribution
            .sampled(now, sample, tree.as_deref(), cpus)
        else {
            return;
        };
        if !cpu.is_zero() {
            self.actions.push_back(Action::RecordUsage { cpu });
            self.save_history_soon(now);
        }
        if self.worker_joined() && self.run == Run::Running {
            self.timers
                .set(Timer::UsageSample, now + USAGE_SAMPLE_EVERY);
        }
    }

    /// Records a change of what the worker does, for the history's timeline.
    fn note_activity(&mut self, now: Instant) {
        if self.run == Run::Exited {
            return;
        }
        let activity = Activity::of(&self.status());
        if self.contribution.record(activity) {
            self.actions.push_back(Action::RecordActivity(activity));
            self.save_history_soon(now);
        }
    }

    /// The history is written within [`HISTORY_SAVE_AFTER`] of its first unsaved change.
    fn save_history_soon(&mut self, now: Instant) {
        if !self.timers.is_set(Timer::HistorySave) {
            self.timers
                .set(Timer::HistorySave, now + HISTORY_SAVE_AFTER);
        }
    }

    /// The pause the supervisor chose by itself, as the user sees it: the sleep's, the
    /// battery's, the heat's, then the user's presence.
    fn auto_pause(&self) -> Option<AutoPause> {
        self.laptop
            .auto_pause()
            .or_else(|| self.courtesy.pause(&self.settings.courtesy))
    }

    /// A thermal reading: the heat rule's verdict, its cool-down wait in the timer table, and
    /// one notification each way (only for a pause that stopped a contributing worker).
    fn on_thermal(&mut self, now: Instant, state: ThermalState) {
        match self
            .courtesy
            .heat
            .on_reading(now, self.settings.courtesy.pause_at_thermal, state)
        {
            HeatStep::Nothing => {}
            HeatStep::Pause => {
                self.timers.stop(Timer::CooledDown);
                if self.contributing() {
                    self.courtesy.heat.notified = true;
                    let reason = AutoPause::RunsHot {
                        thermal: state,
                        resume_after_secs: self.courtesy.heat.resume_after().as_secs(),
                    };
                    self.notify(now, Notice::AutoPaused { reason });
                }
            }
            HeatStep::StartCoolDown => {
                if !self.timers.is_set(Timer::CooledDown) {
                    self.timers
                        .set(Timer::CooledDown, now + self.courtesy.heat.resume_after());
                }
            }
            HeatStep::CancelCoolDown => self.timers.stop(Timer::CooledDown),
        }
    }

    fn contributing(&self) -> bool {
        matches!(self.worker, Worker::Running { .. })
    }

    /// Gives `notice` to the user unless the gate holds it back.
    fn notify(&mut self, now: Instant, notice: Notice) {
        if self.notices.admit(now, &notice) {
            self.actions.push_back(Action::Notify(notice));
        }
    }

    fn on_will_sleep(&mut self, now: Instant) {
        // A fact of its own: a battery pause under it outlives the sleep and the wake.
        self.laptop.asleep = true;
        self.timers
            .set(Timer::SleepCancelled, now + SLEEP_CANCELLED_AFTER);
        if self.has_worker() {
            // Released as soon as the worker is gone (see `reconcile`), or at the latest then.
            self.timers
                .set(Timer::SleepHold, now + self.settings.sleep_hold());
        }
    }

    fn on_woke(&mut self, now: Instant, slept_secs: u64) {
        let Wake::Woke { replace_worker } = self.laptop.woke(slept_secs) else {
            return;
        };
        self.timers.stop(Timer::SleepCancelled);
        // Whatever we knew of the network is stale, the held connection's word too.
        self.watch.forget();
        self.timers.stop(Timer::Grace);
        self.probe_soon(now);
        if replace_worker {
            self.stop_worker(StopReason::Woke);
        }
    }

    fn on_probe(&mut self, now: Instant, probe: HeadProbe) {
        if self.head.as_ref() != Some(&probe.head) {
            // An answer about a head we switched away from.
            return;
        }
        let joined = self.joined_running();
        match self.watch.answered(now, &probe, joined) {
            Answer::Up {
                came_back,
                ray_restarted,
            } => {
                self.start.probe_answered(true);
                if came_back {
                    // The network that made the worker exit was away and is back.
                    self.timers.stop(Timer::NetworkRestart);
                }
                self.timers.stop(Timer::Grace);
                // The worker belongs to the cluster that stopped: replaced now rather than
                // after a minute of its raylet giving up on the old one.
                match &self.worker {
                    Worker::Running { .. } if ray_restarted => {
                        self.stop_worker(StopReason::HeadRestarted)
                    }
                    Worker::Draining { drain, .. } if ray_restarted => {
                        let then = drain.then;
                        self.stop_worker(then)
                    }
                    _ => {}
                }
            }
            Answer::Down { newly } => {
                self.start.probe_answered(false);
                self.head_down(now, newly);
            }
        }
        let idle = self.paused || self.fault().is_some();
        if self.run == Run::Running {
            let every = self.watch.probe_every(&self.settings, idle);
            self.timers.set(Timer::Probe, now + every);
        }
        if let Some(watch) = self.watch.hold(self.joined_running()) {
            self.watch_head(watch);
        }
    }

    /// The head stopped answering: the grace starts with the first miss.
    fn head_down(&mut self, now: Instant, newly: bool) {
        if newly {
            self.timers.set(Timer::Grace, now + self.settings.grace);
        }
        if matches!(
            self.worker,
            Worker::Running {
                joined_at: None,
                ..
            }
        ) {
            self.start.cut_off();
        }
    }

    /// Holds connection number `watch` open to the head while the worker is part of its
    /// cluster: Ray there can restart between two probes, which the worker's raylet only
    /// notices after a minute, and the OS watches the path for us.
    fn watch_head(&mut self, watch: u64) {
        if let Some(head) = self.head.clone() {
            self.actions.push_back(Action::WatchHead {
                head,
                watch,
                lost_after: HELD_CONNECTION_LOST_AFTER,
            });
        }
    }

    /// What became of the connection held to the head's Ray port.
    fn on_head_connection(&mut self, now: Instant, watch: u64, state: HeadConnection) {
        let joined = self.joined_running();
        match self.watch.connection(now, watch, state, joined) {
            NextProbe::AsPlanned => {}
            NextProbe::Usual => self.probe_within(now, self.settings.probe_every_up),
            NextProbe::Now { newly_down } => {
                if newly_down {
                    self.head_down(now, true);
                }
                self.probe_soon(now);
            }
        }
    }

    /// The held connection no longer stands for the head (the worker went; the head, the
    /// network or the machine's sleep changed what it would say): the head is probed at the
    /// usual cadence until a new one is held.
    fn retire_watch(&mut self, now: Instant) {
        self.watch.retire();
        self.probe_within(now, self.settings.probe_every_up);
    }

    /// The next probe comes within `within` (sooner if it was due sooner).
    fn probe_within(&mut self, now: Instant, within: Duration) {
        if !self.watch.may_probe() || self.head.is_none() || self.run != Run::Running {
            return;
        }
        let at = now + within;
        if self.timers.get(Timer::Probe).is_none_or(|due| due > at) {
            self.timers.set(Timer::Probe, at);
        }
    }

    /// The head stayed unreachable for the whole grace.
    fn on_grace_over(&mut self, now: Instant) {
        let Some(why) = self.watch.unreachable() else {
            return;
        };
        match &self.worker {
            Worker::Running { .. } => {
                self.watch.outage_told();
                self.notify(now, Notice::HeadLost { why: Some(why) });
                self.stop_worker(StopReason::HeadLost);
            }
            // The user is leaving anyway: no news in the head being gone.
            Worker::Draining { .. } => self.stop_worker(StopReason::HeadLost),
            Worker::Absent | Worker::Stopping { .. } => {}
        }
    }

    fn on_joined(&mut self, now: Instant) {
        if let Worker::Running { joined_at, .. } = &mut self.worker {
            if joined_at.is_none() {
                *joined_at = Some(now);
                self.timers.stop(Timer::Join);
                // A first reading at once: what Ray's start used is counted, and the menu's
                // busy figure follows from the next one, a minute on.
                self.timers.set(Timer::UsageSample, now);
                self.backoff.joined();
                let watch = self.watch.open();
                self.watch_head(watch);
                if let Some(away_secs) = self.watch.rejoined(now) {
                    self.notify(now, Notice::Reconnected { away_secs });
                }
            }
        }
    }

    fn on_exit(&mut self, now: Instant, exit: WorkerExit) {
        let previous = std::mem::replace(&mut self.worker, Worker::Absent);
        // The driver lets the held connection go with the worker.
        self.retire_watch(now);
        self.timers.stop(Timer::Join);
        self.timers.stop(Timer::UsageSample);
        self.timers.stop(Timer::DrainDeadline);
        self.timers.stop(Timer::DrainSample);
        match previous {
            Worker::Absent => {}
            Worker::Stopping { reason, .. } => {
                if reason == StopReason::JoinTimeout {
                    let within = self.settings.join_timeout;
                    let failure = self.start.join_timed_out(exit.failure, within);
                    self.after_failure(now, failure);
                }
            }
            // Drained and gone by itself: the planned stop is done.
            Worker::Draining { .. } => {}
            Worker::Running { joined_at, .. } => {
                let failure = exit
                    .failure
                    .unwrap_or(WorkerFailure::ExitedSilently { code: exit.code });
                if joined_at.is_some_and(|at| {
                    now.saturating_duration_since(at) >= self.backoff.policy().stable_after
                }) {
                    self.backoff.record_stable();
                }
                self.after_failure(now, failure);
            }
        }
    }

    /// What follows a worker's failure: a fault, a restart when the head answers, or a
    /// restart after a backoff that counts towards the breaker.
    fn after_failure(&mut self, now: Instant, failure: WorkerFailure) {
        match retry_for(&failure) {
            Retry::Never => self.set_fault(now, Fault::Worker { failure }),
            // An outage: restart as soon as the head answers again, without counting
            // towards the breaker. The 1 s floor still applies.
            Retry::WhenHeadAnswers if *self.watch.reach() != Reach::Up => self.probe_soon(now),
            // The network, by the worker's word, while the head answers: a head that
            // keeps marking the node dead, or no Ray behind the port. Back off, never
            // give up.
            Retry::WhenHeadAnswers => {
                let delay = self.backoff.record_network_failure();
                self.timers.set(Timer::NetworkRestart, now + delay);
                self.probe_soon(now);
            }
            Retry::AfterBackoff if matches!(self.watch.reach(), Reach::Down { .. }) => {
                self.probe_soon(now)
            }
            Retry::AfterBackoff => self.count_failure(now, failure),
        }
    }

    fn on_spawn_failed(&mut self, now: Instant, failure: SpawnFailure) {
        self.worker = Worker::Absent;
        self.timers.stop(Timer::Join);
        match failure {
            SpawnFailure::RayMissing { path } => self.set_fault(now, Fault::RayMissing { path }),
            SpawnFailure::Other { detail } => {
                self.count_failure(now, WorkerFailure::Crashed { last_line: detail })
            }
        }
    }

    fn count_failure(&mut self, now: Instant, failure: WorkerFailure) {
        match self.backoff.record_failure(now) {
            Verdict::RetryAfter(delay) => self.timers.set(Timer::Restart, now + delay),
            Verdict::GiveUp => {
                let failures = self.backoff.recent_failures().max(1);
                let last = failure;
                self.set_fault(now, Fault::GaveUp { failures, last });
            }
        }
    }

    /// The gate keeps the user from being told of the same fault twice.
    fn set_fault(&mut self, now: Instant, fault: Fault) {
        let notice = Notice::NeedsAttention {
            fault: fault.clone(),
        };
        self.notify(now, notice);
        self.backoff.hold(fault);
        self.timers.set(Timer::FaultRetry, now + FAULT_RETRY_AFTER);
    }

    /// What needs the user, if anything; no worker runs while one holds.
    fn fault(&self) -> Option<Fault> {
        match &self.head {
            None => Some(Fault::NoHead),
            Some(_) => self.backoff.fault().cloned(),
        }
    }

    /// Tries a fault once more (half-open): the worker may start.
    fn retry_fault(&mut self, now: Instant) {
        if self.backoff.retry_fault() {
            self.timers.stop(Timer::FaultRetry);
            self.cancel_restart_delay();
            self.probe_soon(now);
        }
    }

    /// The user, or what they did, asked for a start without waiting out a failure's delay.
    fn cancel_restart_delay(&mut self) {
        self.timers.stop(Timer::Restart);
        self.timers.stop(Timer::NetworkRestart);
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
                // The Resume answers the pause the menu showed. Under the user's own pause that
                // was "Paused", not an automatic pause that began meanwhile (heat, presence,
                // battery): the user never saw it, so it stays.
                let user_was_paused = std::mem::replace(&mut self.paused, false);
                if !user_was_paused {
                    self.laptop.user_resumed();
                    if self
                        .courtesy
                        .heat
                        .user_resumed(self.settings.courtesy.pause_at_thermal)
                    {
                        self.timers.stop(Timer::CooledDown);
                    }
                    self.courtesy.presence.user_resumed(now);
                }
                self.backoff.reset();
                self.cancel_restart_delay();
                self.probe_soon(now);
            }
            UserCommand::SetCpus(cpus) => {
                self.cpus = cpus;
                self.cancel_restart_delay();
            }
            UserCommand::SetHead(head) => {
                if self.head.as_ref() != Some(&head) {
                    self.head = Some(head);
                    self.watch.new_head();
                    self.timers.stop(Timer::Grace);
                    // A fault may have been about the old head (its version, its token).
                    self.backoff.reset();
                    self.cancel_restart_delay();
                    self.probe_soon(now);
                }
            }
            UserCommand::JoinFoundHead(head) => {
                if self.needs_a_head() && self.finder.has_found(&head) {
                    self.on_user(now, UserCommand::SetHead(head));
                }
            }
            UserCommand::InstallRay { version } => {
                // Never under a running worker (pip would replace its files) nor twice.
                if self.ray_install.is_none() && !self.has_worker() && self.run == Run::Running {
                    self.ray_install = Some(RayInstall {
                        version: version.clone(),
                        step: InstallStep::Starting,
                    });
                    self.actions.push_back(Action::InstallRay { version });
                }
            }
            UserCommand::FindHeads => {
                if self.finder.start(false) {
                    self.actions.push_back(Action::FindHeads);
                }
            }
            UserCommand::Shutdown => {
                if self.run == Run::Running {
                    self.run = Run::ShuttingDown;
                    self.timers.stop(Timer::Probe);
                    self.timers
                        .set(Timer::Quit, now + self.settings.quit_deadline());
                }
            }
        }
    }

    /// A good install clears what it can fix (Ray missing, a version fault, the breaker) and
    /// retries the worker at once; a failed one leaves the fault and says why.
    fn on_ray_installed(&mut self, now: Instant, outcome: Result<String, String>) {
        if self.ray_install.take().is_none() {
            return;
        }
        match outcome {
            Ok(version) => {
                self.backoff.reset();
                self.cancel_restart_delay();
                self.probe_soon(now);
                self.notify(now, Notice::RayInstalled { version });
            }
            Err(why) => self.notify(now, Notice::RayInstallFailed { why }),
        }
    }

    fn probe_soon(&mut self, now: Instant) {
        self.probe_within(now, Duration::ZERO);
    }

    fn on_drain_requested(&mut self, now: Instant, id: u64, accepted: bool) {
        let Worker::Draining { drain, .. } = &self.worker else {
            return;
        };
        if drain.id != id {
            return;
        }
        if accepted {
            self.timers.set(Timer::DrainSample, now);
        } else {
            let then = drain.then;
            self.stop_worker(then);
        }
    }

    /// The drained worker is stopped once idle ([`IdleRule`]), else looked at again soon.
    fn on_tree_sampled(&mut self, now: Instant, id: u64, reading: TreeReading) {
        let Worker::Draining { drain, .. } = &mut self.worker else {
            return;
        };
        if drain.id != id {
            return;
        }
        if drain.idle.reading(reading) {
            let then = drain.then;
            self.drain_ended(true);
            self.stop_worker(then);
        } else {
            self.timers
                .set(Timer::DrainSample, now + DRAIN_SAMPLE_EVERY);
        }
    }

    /// Logs how the drain under way ended.
    fn drain_ended(&mut self, tasks_finished: bool) {
        if let Worker::Draining { drain, .. } = &self.worker {
            let deadline_secs = drain.deadline.as_secs();
            self.actions.push_back(Action::Log(LogNote::DrainEnded {
                tasks_finished,
                deadline_secs,
            }));
        }
    }

    /// Asks the head to drain a joined worker before it is stopped for `then`; a worker that has
    /// not joined has no tasks and is stopped at once.
    fn drain_worker(&mut self, now: Instant, deadline: Duration, then: StopReason) {
        if let Worker::Running {
            spec,
            joined_at: Some(_),
        } = &self.worker
        {
            let id = self.start.number();
            self.worker = Worker::Draining {
                spec: spec.clone(),
                drain: Drain {
                    id,
                    then,
                    idle: IdleRule::default(),
                    deadline,
                },
            };
            self.timers.set(Timer::DrainDeadline, now + deadline);
            self.actions.push_back(Action::DrainWorker {
                drain: id,
                deadline,
            });
        } else {
            self.stop_worker(then);
        }
    }

    fn stop_worker(&mut self, reason: StopReason) {
        if self.worker_joined() {
            // The last reading of the tree before it goes: what it used since the previous
            // reading would be lost with it.
            self.timers.stop(Timer::UsageSample);
            self.sample_usage();
        }
        if let Worker::Running { spec, .. } | Worker::Draining { spec, .. } = &self.worker {
            self.worker = Worker::Stopping {
                spec: spec.clone(),
                reason,
            };
            self.timers.stop(Timer::Join);
            self.timers.stop(Timer::DrainDeadline);
            self.timers.stop(Timer::DrainSample);
            // On SIGTERM Ray first asks the head to drain the node (up to 30 s). With the head
            // unreachable, or a new head that never knew the node, that can only time out, so
            // the kill comes sooner.
            let grace = if matches!(reason, StopReason::HeadLost | StopReason::HeadRestarted) {
                self.settings.stop_grace.min(HEAD_LOST_STOP_GRACE)
            } else {
                self.settings.stop_grace
            };
            self.actions.push_back(Action::StopWorker { grace, reason });
        }
    }

    fn exit(&mut self) {
        if self.run != Run::Exited {
            self.run = Run::Exited;
            self.timers = Timers::default();
            if self.contribution.record(Activity::Off) {
                self.actions
                    .push_back(Action::RecordActivity(Activity::Off));
            }
            self.actions.push_back(Action::SaveHistory);
            self.actions.push_back(Action::Exit);
        }
    }

    /// Brings the worker in line with what is wanted.
    fn reconcile(&mut self, now: Instant) {
        self.courtesy.presence.update(now);
        if self.run == Run::Exited {
            return;
        }
        let asleep = self.laptop.asleep;
        match &self.worker {
            Worker::Stopping { .. } => {}
            Worker::Draining { .. } => {
                // A leave with no time for the tasks overrides the drain.
                if self.run != Run::Running {
                    self.stop_worker(StopReason::Shutdown);
                } else if asleep {
                    self.stop_worker(StopReason::Sleep);
                }
            }
            Worker::Running { spec, .. } => {
                let reason = if self.run != Run::Running {
                    Some(StopReason::Shutdown)
                } else if self.paused || self.fault().is_some() {
                    Some(StopReason::Paused)
                } else if let Some(pause) = self.auto_pause() {
                    match leave_for(pause) {
                        (Some(deadline), then) => {
                            self.drain_worker(now, deadline, then);
                            None
                        }
                        (None, reason) => Some(reason),
                    }
                } else if self.target().as_ref() != Some(spec) {
                    Some(StopReason::Reconfigure)
                } else {
                    None
                };
                if let Some(reason) = reason {
                    self.stop_worker(reason);
                }
            }
            Worker::Absent => {
                // Nothing left to hold the sleep for.
                self.timers.stop(Timer::SleepHold);
                if self.run != Run::Running {
                    self.exit();
                    return;
                }
                let wanted = self.start_may_follow()
                    && *self.watch.reach() == Reach::Up
                    && !self.timers.is_set(Timer::Restart)
                    && !self.timers.is_set(Timer::NetworkRestart);
                // A Tailscale head is started on only with an answer asked for a start (a recent
                // one): one asked while nothing could start (paused, say) may be half a minute old.
                let tailscale_head = self.head.as_ref().is_some_and(HeadAddress::is_tailscale);
                if wanted && tailscale_head && !self.start.vouched() {
                    self.probe_soon(now);
                    return;
                }
                let Some(spec) = self.target().filter(|_| wanted) else {
                    return;
                };
                if self.timers.is_set(Timer::NextStart) {
                    return;
                }
                let floor = self.settings.backoff.first;
                self.timers.set(Timer::NextStart, now + floor);
                self.contribution.new_worker();
                self.worker = Worker::Running {
                    spec: spec.clone(),
                    joined_at: None,
                };
                self.start.started();
                self.timers
                    .set(Timer::Join, now + self.settings.join_timeout);
                self.actions.push_back(Action::StartWorker(spec));
            }
        }
    }
}
