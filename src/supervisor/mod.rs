//! The reconnect supervisor: every decision about the Ray worker, and nothing else.
//!
//! A pure state machine in the style of `quinn-proto`: it never reads the clock, opens a
//! socket, spawns a process or words a sentence. The driver feeds it facts
//! ([`Supervisor::handle_event`]) and time ([`Supervisor::handle_timeout`] at
//! [`Supervisor::poll_timeout`]), then drains [`Supervisor::poll_action`] until `None`.
//!
//! The rules live in small machines that own their state and return verdicts, and in tables
//! ([`retry`], [`settings`], [`timers`]); this file routes facts to them and keeps the worker's
//! lifecycle in [`Supervisor::reconcile`]. The [`Phase`] is derived from independent facts, so
//! no combination is forgotten; `tests/supervisor_properties.rs` holds the invariants.

mod app;
pub mod backoff;
mod config_edits;
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

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::model::{
    Activity, AutoPause, Fault, HeadAddress, InstallStep, LogNote, Notice, Phase, RayInstall,
    Status, StopReason, Unreachable, WorkerFailure,
};

pub use events::{
    Action, Event, HeadConnection, HeadProbe, SpawnFailure, TreeReading, UserCommand, WorkerExit,
    WorkerSpec,
};
pub use settings::{longest_quit, BackoffPolicy, CourtesyPolicy, LaptopPolicy, Settings};

use backoff::{Backoff, Verdict};
use contribution::Contribution;
use courtesy::Courtesy;
use drain::IdleRule;
use head_watch::{Answer, HeadWatch, NextProbe, Reach};
use laptop::Laptop;
use notify::NotificationGate;
use retry::{retry_for, Retry};
use settings::{
    leave_for, CLUSTER_ASK_EVERY, DRAIN_SAMPLE_EVERY, FAULT_RETRY_AFTER,
    HELD_CONNECTION_LOST_AFTER, HISTORY_SAVE_AFTER, PAUSE_DRAIN_DEADLINE, SLEEP_CANCELLED_AFTER,
    USAGE_SAMPLE_EVERY,
};
use start::StartAttempt;
use timers::{Timer, Timers};

#[derive(Debug, Default)]
struct Wanted {
    head: Option<HeadAddress>,
    /// The built-in demo head, joined while no head is configured (never saved).
    demo: Option<HeadAddress>,
    cpus: u32,
    paused: bool,
}

impl Wanted {
    /// No head of the user's is set: none, or the built-in demo head.
    fn needs_a_head(&self) -> bool {
        self.head.is_none() || self.is_demo()
    }

    fn is_demo(&self) -> bool {
        self.demo.is_some() && self.head == self.demo
    }
}

/// The worker process, from its start to its exit, with what it was started with.
#[derive(Debug, Clone, PartialEq, Default)]
enum Worker {
    #[default]
    Absent,
    Starting(WorkerSpec),
    /// Joined the cluster then.
    Joined(WorkerSpec, Instant),
    /// Asked to drain; stopped when its tasks are done or the drain's deadline passes.
    Draining(WorkerSpec, Drain),
    Stopping(WorkerSpec, StopReason),
}

impl Worker {
    fn spec(&self) -> Option<&WorkerSpec> {
        match self {
            Worker::Absent => None,
            Worker::Starting(spec)
            | Worker::Joined(spec, _)
            | Worker::Draining(spec, _)
            | Worker::Stopping(spec, _) => Some(spec),
        }
    }

    /// Part of the cluster: joined, or finishing its tasks.
    fn joined(&self) -> bool {
        matches!(self, Worker::Joined(..) | Worker::Draining(..))
    }

    /// Started and not leaving.
    fn running(&self) -> bool {
        matches!(self, Worker::Starting(_) | Worker::Joined(..))
    }
}

/// A drain: the head sends the worker no more tasks, and its processes are watched until done.
#[derive(Debug, Clone, PartialEq)]
struct Drain {
    /// The start's number: tells this drain's reports from a late one of an earlier drain.
    id: u64,
    /// Why the worker is stopped once drained.
    then: StopReason,
    idle: IdleRule,
    deadline: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Run {
    #[default]
    Running,
    /// A quit was asked for: the worker is stopped, then [`Action::Exit`] given.
    ShuttingDown,
    Exited,
}

#[derive(Debug, Default)]
pub struct Supervisor {
    settings: Settings,
    wanted: Wanted,
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
    finder: find::HeadFinder,
    contribution: Contribution,
    timers: Timers,
    actions: VecDeque<Action>,
    /// The running app's duties besides the worker; `None` in a test.
    app: Option<app::App>,
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
        let mut supervisor = Supervisor {
            wanted: Wanted {
                head,
                demo: None,
                cpus,
                paused,
            },
            backoff: Backoff::new(settings.backoff.clone()),
            settings,
            ..Supervisor::default()
        };
        supervisor.probe_soon(now);
        supervisor
    }

    /// `demo`: the built-in demo head, started because no head is configured.
    pub fn with_demo_head(mut self, demo: Option<HeadAddress>) -> Self {
        self.wanted.demo = demo;
        self
    }

    /// The start of the app: while no head of the user's is set, heads are looked for on the
    /// tailnet; a single one found is offered, once across starts (`offered_before`).
    pub fn with_first_run_search(mut self, offered_before: bool) -> Self {
        if self.wanted.needs_a_head() && self.finder.start(!offered_before) {
            self.actions.push_back(Action::FindHeads);
        }
        self
    }

    pub fn handle_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::HeadProbe(probe) => self.on_probe(now, probe),
            Event::WorkerJoined => self.on_joined(now),
            Event::WorkerExited(exit) => self.on_exit(now, exit),
            Event::WorkerSpawnFailed(failure) => {
                self.worker = Worker::Absent;
                self.timers.stop(Timer::Join);
                match failure {
                    SpawnFailure::RayMissing { path } => {
                        self.set_fault(now, Fault::RayMissing { path })
                    }
                    SpawnFailure::Other { detail } => {
                        self.count_failure(now, WorkerFailure::Crashed { last_line: detail })
                    }
                }
            }
            Event::User(command) => self.on_user(now, command),
            Event::NetworkChanged => {
                self.watch.network_changed();
                // A new network may be what the fault was about (a firewall, another head).
                self.retry_fault(now);
                self.probe_soon(now)
            }
            Event::WillSleep => {
                // A fact of its own: a battery pause under it outlives the sleep and the wake.
                self.laptop.asleep = true;
                let cancelled = now + SLEEP_CANCELLED_AFTER;
                self.timers.set(Timer::SleepCancelled, cancelled);
                // Released once the worker is gone (see `reconcile`), or at the latest then.
                if self.has_worker() {
                    let hold = now + self.settings.sleep_hold();
                    self.timers.set(Timer::SleepHold, hold);
                }
            }
            Event::Woke { slept_secs } => self.on_woke(now, slept_secs),
            Event::Power(power) => {
                let running = self.worker.running();
                if let Some(notice) = self.laptop.on_power(&self.settings.laptop, power, running) {
                    self.notify(now, notice);
                }
            }
            Event::LidClosed(closed) => {
                if let Some(notice) = self.laptop.on_lid(closed, self.worker.running()) {
                    self.notify(now, notice);
                }
            }
            Event::Thermal(state) => {
                let limit = self.settings.courtesy.pause_at_thermal;
                let heat = &mut self.courtesy.heat;
                // Told only when it stops a contributing worker; its end is told then.
                if heat.on_reading(now, limit, state, &mut self.timers) && self.worker.running() {
                    heat.notified = true;
                    if let Some(reason) = self.courtesy.pause(&self.settings.courtesy) {
                        self.notify(now, Notice::AutoPaused { reason });
                    }
                }
            }
            Event::UserIdle(reading) => {
                if let Some(away_after) = self.settings.courtesy.only_when_idle {
                    let presence = &mut self.courtesy.presence;
                    presence.on_reading(now, reading, away_after, &mut self.timers);
                }
            }
            Event::AwakeHold(report) => {
                if let Some(note) = self.courtesy.awake_report(report) {
                    self.actions.push_back(Action::Log(note));
                }
            }
            Event::HeadConnection { watch, state } => {
                let joined = matches!(self.worker, Worker::Joined(..));
                match self.watch.connection(now, watch, state, joined) {
                    NextProbe::AsPlanned => {}
                    NextProbe::Usual => self.probe_within(now, self.settings.probe_every_up),
                    NextProbe::Now { newly_down } => {
                        self.head_down(now, newly_down);
                        self.probe_soon(now);
                    }
                }
            }
            Event::HeadsFound(outcome) => {
                if let Some(notice) = self.finder.ended(outcome, self.wanted.needs_a_head()) {
                    // Only the first-run search offers: once, across starts.
                    self.notify(now, notice);
                    self.actions.push_back(Action::RecordFirstRunOffer);
                }
            }
            Event::DrainRequested { drain, accepted } => match self.drain(drain).map(|d| d.then) {
                Some(_) if accepted => self.timers.set(Timer::DrainSample, now),
                Some(then) => self.stop_worker(then),
                None => {}
            },
            Event::WorkerTreeSampled { drain, reading } => {
                match self.drain(drain).map(|drain| drain.idle.reading(reading)) {
                    Some(true) => self.end_drain(true),
                    Some(false) => self
                        .timers
                        .set(Timer::DrainSample, now + DRAIN_SAMPLE_EVERY),
                    None => {}
                }
            }
            Event::RayInstallProgress(step) => {
                if let Some(install) = &mut self.ray_install {
                    install.step = step;
                }
            }
            Event::RayInstallEnded(outcome) => {
                // A good install may be another `ray`, and clears what it can fix (Ray missing,
                // a version fault, the breaker); a failed one leaves the fault and says why.
                let asked = self.ray_install.take().is_some();
                match outcome {
                    Ok(version) => {
                        self.actions.push_back(Action::LookUpRay);
                        if asked {
                            self.retry_now(now);
                            self.notify(now, Notice::RayInstalled { version });
                        }
                    }
                    Err(why) if asked => self.notify(now, Notice::RayInstallFailed { why }),
                    Err(_) => {}
                }
            }
            Event::UsageSampled { sample, tree } => {
                let cpus = self.worker.spec().map(|spec| spec.cpus);
                let tree = tree.as_deref();
                if let Some(cpu) = self.contribution.sampled(now, sample, tree, cpus) {
                    if !cpu.is_zero() {
                        self.actions.push_back(Action::RecordUsage { cpu });
                        self.save_history_soon(now);
                    }
                    if self.worker.joined() && self.run == Run::Running {
                        self.timers
                            .set(Timer::UsageSample, now + USAGE_SAMPLE_EVERY);
                    }
                }
            }
            app_event @ (Event::ConfigFileChanged
            | Event::ConfigWatchLost { .. }
            | Event::ConfigFileRead(_)
            | Event::ClusterSize(_)
            | Event::RayInUse(_)
            | Event::PythonSkew(_)
            | Event::UpdateChecked(_)) => self.on_app_event(now, app_event),
        }
        self.after_step(now);
    }

    /// Calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.take_expired(now) {
            match timer {
                // Their end is all they mean (`reconcile` follows); a sleep held goes ahead.
                Timer::Restart | Timer::NetworkRestart | Timer::NextStart | Timer::SleepHold => {}
                Timer::UserAway => self.courtesy.presence.away_now(),
                Timer::Probe => {
                    if let Some(head) = self.wanted.head.clone() {
                        let for_start = self.start_may_follow();
                        let tailscale_max_age = self.watch.probe_asked(&head, for_start);
                        self.actions.push_back(Action::Probe {
                            head,
                            tailscale_max_age,
                        });
                    }
                }
                Timer::Join => self.stop_worker(StopReason::JoinTimeout),
                Timer::Grace => {
                    let Some(why) = self.watch.unreachable() else {
                        continue;
                    };
                    if self.worker.running() {
                        self.watch.outage_told();
                        self.notify(now, Notice::HeadLost { why: Some(why) });
                    }
                    // A draining worker too, with no news: the user is leaving anyway.
                    self.stop_worker(StopReason::HeadLost);
                }
                Timer::DrainDeadline => self.end_drain(false),
                Timer::DrainSample => {
                    if let Worker::Draining(_, drain) = &self.worker {
                        let drain = drain.id;
                        self.actions.push_back(Action::SampleWorkerTree { drain });
                    }
                }
                Timer::SleepCancelled => self.on_woke(now, 0),
                Timer::Quit => self.exit(),
                Timer::FaultRetry => self.retry_fault(now),
                Timer::UsageSample => self.sample_usage(),
                Timer::HistorySave => self.actions.push_back(Action::SaveHistory),
                Timer::ConfigLook => {
                    if let Some(app) = &mut self.app {
                        app.looks.looked(now, &mut self.timers);
                        self.actions.push_back(Action::ReadConfigFile);
                    }
                }
                Timer::UpdateCheck => self.check_for_update(now),
                Timer::ClusterAsk => {
                    self.timers.set(Timer::ClusterAsk, now + CLUSTER_ASK_EVERY);
                    let head = self.wanted.head.clone();
                    self.actions
                        .extend(head.map(|head| Action::AskClusterSize { head }));
                }
                Timer::CooledDown => {
                    // "Cool again: joins again" only if it does.
                    if self.courtesy.heat.cooled_down(now) && self.start_may_follow() {
                        self.notify(now, Notice::CooledDown);
                    }
                }
            }
        }
        self.after_step(now);
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Supervisor::handle_timeout`] is next due; `None`: only an event changes anything.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    pub fn status(&self) -> Status {
        let phase = self.phase();
        let silent = matches!(phase, Phase::Disconnecting | Phase::Disconnected);
        let working = matches!(phase, Phase::Connected | Phase::Draining);
        Status {
            tailscale_vouches_for_silent_head: silent
                && matches!(self.watch.reach(), Reach::Down { vouched: true, .. }),
            phase,
            head: self.wanted.head.clone(),
            cpus: self.wanted.cpus,
            worker_cpus: self.worker.spec().map(|spec| spec.cpus),
            paused: self.wanted.paused,
            unreachable: self.watch.unreachable(),
            fault: self.fault(),
            recent_failures: self.backoff.recent_failures(),
            auto_pause: self.auto_pause(),
            mobile: self.settings.laptop.mobile,
            holding_sleep: self.timers.is_set(Timer::SleepHold),
            ray_install: self.ray_install.clone(),
            demo: self.wanted.is_demo(),
            needs_a_head: self.wanted.needs_a_head(),
            head_search: self.finder.status(),
            found_heads: self.finder.found_heads(),
            courtesy: self
                .courtesy
                .status(&self.settings.courtesy, working, self.laptop.power),
            worker_busy_percent: self
                .contribution
                .busy_percent()
                .filter(|_| phase == Phase::Connected),
            cluster: self.app.as_ref().and_then(|app| app.cluster),
            ray: self.app.as_ref().and_then(|app| app.ray.clone()),
            python_skew: self.app.as_ref().and_then(|app| app.python_skew.clone()),
            update: self.app.as_ref().and_then(|app| app.update.clone()),
            quit_waits_for_tasks_secs: self.quit_waits_for_tasks(),
        }
    }

    /// A worker stopped by the quit after a reading that showed work gets Ray's drain: its whole
    /// grace (the reading at the stop is the tree's last).
    fn quit_waits_for_tasks(&self) -> Option<u64> {
        let stopping = matches!(self.worker, Worker::Stopping(_, StopReason::Shutdown));
        let busy = self
            .contribution
            .busy_percent()
            .is_some_and(|busy| busy > 0);
        let grace = self.settings.stop_grace_for(StopReason::Shutdown);
        (stopping && busy).then_some(grace.as_secs())
    }

    /// Whether a worker process exists (running or being stopped).
    pub fn has_worker(&self) -> bool {
        self.worker != Worker::Absent
    }

    fn phase(&self) -> Phase {
        if self.run != Run::Running {
            return Phase::ShuttingDown;
        }
        let reach = self.watch.reach();
        match &self.worker {
            Worker::Stopping(
                _,
                StopReason::Reconfigure | StopReason::Woke | StopReason::HeadRestarted,
            ) if !self.wanted.paused && self.fault().is_none() => Phase::Reconnecting,
            Worker::Stopping(..) => Phase::Stopping,
            Worker::Draining(..) => Phase::Draining,
            Worker::Starting(_) | Worker::Joined(..) if matches!(reach, Reach::Down { .. }) => {
                Phase::Disconnecting
            }
            Worker::Starting(_) => Phase::Starting,
            Worker::Joined(..) => Phase::Connected,
            Worker::Absent if self.fault().is_some() => Phase::Error,
            Worker::Absent if self.wanted.paused || self.auto_pause().is_some() => Phase::Paused,
            Worker::Absent => match reach {
                Reach::Unknown => Phase::Checking,
                Reach::Down { .. } => Phase::Disconnected,
                Reach::Up => Phase::Reconnecting,
            },
        }
    }

    /// The worker wanted now.
    fn target(&self) -> Option<WorkerSpec> {
        self.wanted.head.as_ref().map(|head| WorkerSpec {
            head: head.clone(),
            cpus: self.laptop.cpus(&self.settings.laptop, self.wanted.cpus),
        })
    }

    /// Whether a reachable head would get a worker started now (or once a restart delay ends).
    fn start_may_follow(&self) -> bool {
        self.worker == Worker::Absent
            && !self.wanted.paused
            && self.run == Run::Running
            && self.fault().is_none()
            && self.auto_pause().is_none()
            && self.ray_install.is_none()
    }

    fn fault(&self) -> Option<Fault> {
        match &self.wanted.head {
            None => Some(Fault::NoHead),
            Some(_) => self.backoff.fault().cloned(),
        }
    }

    /// The pause the supervisor chose, as the user sees it: sleep, battery, heat, then presence.
    fn auto_pause(&self) -> Option<AutoPause> {
        let courtesy = || self.courtesy.pause(&self.settings.courtesy);
        self.laptop.auto_pause().or_else(courtesy)
    }

    fn sample_usage(&mut self) {
        let sample = self.contribution.ask();
        self.actions.push_back(Action::SampleUsage { sample });
    }

    /// After each event or deadline: the worker brought in line, its activity recorded, and the
    /// app's duties following the new state.
    fn after_step(&mut self, now: Instant) {
        self.reconcile(now);
        let status = self.status();
        let activity = Activity::of(&status);
        if self.run != Run::Exited && self.contribution.record(activity) {
            self.actions.push_back(Action::RecordActivity(activity));
            self.save_history_soon(now);
        }
        if let Some(app) = &mut self.app {
            let note = app.follow(now, status, &mut self.timers);
            self.actions.extend(note.map(Action::Log));
        }
    }

    /// The history is written within [`HISTORY_SAVE_AFTER`] of its first unsaved change.
    fn save_history_soon(&mut self, now: Instant) {
        if !self.timers.is_set(Timer::HistorySave) {
            self.timers
                .set(Timer::HistorySave, now + HISTORY_SAVE_AFTER);
        }
    }

    fn notify(&mut self, now: Instant, notice: Notice) {
        if self.notices.admit(now, &notice) {
            self.actions.push_back(Action::Notify(notice));
        }
    }

    fn on_woke(&mut self, now: Instant, slept_secs: u64) {
        let Some(replace_worker) = self.laptop.woke(slept_secs) else {
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
        // An answer about a head we switched away from.
        if self.wanted.head.as_ref() != Some(&probe.head) {
            return;
        }
        let joined = matches!(self.worker, Worker::Joined(..));
        match self.watch.answered(now, &probe, joined) {
            Answer::Up {
                came_back,
                ray_restarted,
            } => {
                if came_back {
                    // The network that made the worker exit was away and is back.
                    self.timers.stop(Timer::NetworkRestart);
                }
                self.timers.stop(Timer::Grace);
                // The worker belongs to the cluster that stopped: replaced now, not a minute on,
                // but after a growing delay when Ray at the head restarts again and again.
                match &self.worker {
                    _ if !ray_restarted => {}
                    Worker::Draining(_, drain) => self.stop_worker(drain.then),
                    worker @ (Worker::Starting(_) | Worker::Joined(..)) => {
                        self.count_stable_run(now, worker.clone());
                        // Not cut short when the head is away and back meanwhile.
                        let delay = self.backoff.record_network_failure();
                        self.timers.set(Timer::Restart, now + delay);
                        self.stop_worker(StopReason::HeadRestarted);
                    }
                    Worker::Absent | Worker::Stopping(..) => {}
                }
            }
            Answer::Down { newly } => self.head_down(now, newly),
        }
        let idle = self.wanted.paused || self.fault().is_some();
        if self.run == Run::Running {
            let every = self.watch.probe_every(&self.settings, idle);
            self.timers.set(Timer::Probe, now + every);
        }
        let joined = matches!(self.worker, Worker::Joined(..));
        if let Some(watch) = self.watch.hold(joined) {
            self.watch_head(watch);
        }
    }

    /// The head stopped answering: the grace starts with the first miss. A practice head that
    /// has ended gets none: it never comes back, and a worker kept meanwhile would knock with the
    /// head's token on a port anyone may have taken.
    fn head_down(&mut self, now: Instant, newly: bool) {
        let gone = self.watch.unreachable() == Some(Unreachable::PracticeHeadGone);
        let leaving = matches!(self.worker, Worker::Absent | Worker::Stopping(..));
        if gone && !leaving {
            self.timers.set(Timer::Grace, now);
        } else if newly {
            self.timers.set(Timer::Grace, now + self.settings.grace);
        }
        if matches!(self.worker, Worker::Starting(_)) {
            self.start.cut_off();
        }
    }

    /// Holds connection `watch` to the head while the worker is joined: Ray there can restart
    /// between two probes unseen by the raylet for a minute, and the OS watches the path.
    fn watch_head(&mut self, watch: u64) {
        let head = self.wanted.head.clone();
        let lost_after = HELD_CONNECTION_LOST_AFTER;
        self.actions.extend(head.map(|head| Action::WatchHead {
            head,
            watch,
            lost_after,
        }));
    }

    fn probe_soon(&mut self, now: Instant) {
        self.probe_within(now, Duration::ZERO);
    }

    /// The next probe comes within `within` (sooner if it was due sooner).
    fn probe_within(&mut self, now: Instant, within: Duration) {
        if !self.watch.may_probe() || self.wanted.head.is_none() || self.run != Run::Running {
            return;
        }
        let at = now + within;
        if self.timers.get(Timer::Probe).is_none_or(|due| due > at) {
            self.timers.set(Timer::Probe, at);
        }
    }

    fn on_joined(&mut self, now: Instant) {
        let Worker::Starting(spec) = &self.worker else {
            return;
        };
        self.worker = Worker::Joined(spec.clone(), now);
        self.timers.stop(Timer::Join);
        // A first reading at once counts what Ray's start used; the busy figure follows the next.
        self.timers.set(Timer::UsageSample, now);
        self.backoff.joined();
        if let Some(watch) = self.watch.hold(true) {
            self.watch_head(watch);
        }
        if let Some(away_secs) = self.watch.rejoined(now) {
            self.notify(now, Notice::Reconnected { away_secs });
        }
    }

    fn on_exit(&mut self, now: Instant, exit: WorkerExit) {
        let previous = std::mem::replace(&mut self.worker, Worker::Absent);
        // The held connection goes with the worker: the usual cadence until another is held.
        self.watch.retire();
        self.probe_within(now, self.settings.probe_every_up);
        self.timers.stop_all(Timer::OF_A_WORKER);
        match previous {
            Worker::Stopping(_, StopReason::JoinTimeout) => {
                let within = self.settings.join_timeout;
                let failure = self.start.join_timed_out(exit.failure, within);
                self.after_failure(now, failure);
            }
            // Stopped as planned, or drained and gone by itself.
            Worker::Absent | Worker::Stopping(..) | Worker::Draining(..) => {}
            Worker::Starting(_) | Worker::Joined(..) => {
                self.count_stable_run(now, previous);
                let code = exit.code;
                let failure = exit
                    .failure
                    .unwrap_or(WorkerFailure::ExitedSilently { code });
                self.after_failure(now, failure);
            }
        }
    }

    /// A worker that ran joined long enough was healthy: the next failure's delay starts over.
    fn count_stable_run(&mut self, now: Instant, worker: Worker) {
        if let Worker::Joined(_, since) = worker {
            if now.saturating_duration_since(since) >= self.settings.backoff.stable_after {
                self.backoff.record_stable();
            }
        }
    }

    /// After a worker's failure: a fault, a restart when the head answers, or one after a backoff.
    fn after_failure(&mut self, now: Instant, failure: WorkerFailure) {
        let reach = self.watch.reach();
        match retry_for(&failure) {
            Retry::Never => self.set_fault(now, Fault::Worker { failure }),
            // An outage (the 1 s floor still applies).
            Retry::WhenHeadAnswers if *reach != Reach::Up => self.probe_soon(now),
            Retry::WhenHeadAnswers => {
                let delay = self.backoff.record_network_failure();
                self.timers.set(Timer::NetworkRestart, now + delay);
                self.probe_soon(now);
            }
            Retry::AfterBackoff if matches!(reach, Reach::Down { .. }) => self.probe_soon(now),
            Retry::AfterBackoff => self.count_failure(now, failure),
        }
    }

    fn count_failure(&mut self, now: Instant, last: WorkerFailure) {
        match self.backoff.record_failure(now) {
            Verdict::RetryAfter(delay) => self.timers.set(Timer::Restart, now + delay),
            Verdict::GiveUp => {
                let failures = self.backoff.recent_failures().max(1);
                self.set_fault(now, Fault::GaveUp { failures, last });
            }
        }
    }

    fn set_fault(&mut self, now: Instant, fault: Fault) {
        self.backoff.hold(fault.clone());
        self.notify(now, Notice::NeedsAttention { fault });
        self.timers.set(Timer::FaultRetry, now + FAULT_RETRY_AFTER);
    }

    /// Tries a fault once more (half-open): the worker may start.
    fn retry_fault(&mut self, now: Instant) {
        if self.backoff.retry_fault() {
            self.timers.stop(Timer::FaultRetry);
            self.cancel_restart_delay();
            self.probe_soon(now);
        }
    }

    /// A start is wanted without waiting out a failure's delay.
    fn cancel_restart_delay(&mut self) {
        self.timers.stop(Timer::Restart);
        self.timers.stop(Timer::NetworkRestart);
    }

    /// The fault, the breaker and the delays are forgotten, and a start follows at once.
    fn retry_now(&mut self, now: Instant) {
        self.backoff.reset();
        self.cancel_restart_delay();
        self.probe_soon(now);
    }

    fn on_user(&mut self, now: Instant, command: UserCommand) {
        match command {
            UserCommand::Pause => {
                self.wanted.paused = true;
                // "Pause now" also cuts a drain short.
                if matches!(self.worker, Worker::Draining(..)) {
                    self.stop_worker(StopReason::Paused);
                }
            }
            UserCommand::PauseAfterTasks => {
                self.wanted.paused = true;
                self.drain_worker(now, PAUSE_DRAIN_DEADLINE, StopReason::Paused);
            }
            UserCommand::Resume => {
                // Resume answers the pause the menu showed: under the user's own, an automatic
                // pause that began meanwhile was never seen, so it stays.
                if !std::mem::replace(&mut self.wanted.paused, false) {
                    self.laptop.user_resumed();
                    let limit = self.settings.courtesy.pause_at_thermal;
                    self.courtesy.heat.user_resumed(limit, &mut self.timers);
                    self.courtesy.presence.user_resumed();
                }
                self.retry_now(now);
            }
            UserCommand::SetCpus(cpus) => {
                self.wanted.cpus = cpus;
                self.cancel_restart_delay();
            }
            UserCommand::SetHead(head) => {
                if self.wanted.head.as_ref() != Some(&head) {
                    self.wanted.head = Some(head);
                    self.watch.new_head();
                    self.timers.stop(Timer::Grace);
                    // A fault may have been about the old head (its version, its token).
                    self.retry_now(now);
                }
            }
            UserCommand::JoinFoundHead(head) => {
                if self.wanted.needs_a_head() && self.finder.has_found(&head) {
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
            UserCommand::OpenedAgain => {
                let status = Box::new(self.status());
                self.notify(now, Notice::OpenedAgain { status });
            }
            UserCommand::Shutdown => {
                if self.run == Run::Running {
                    self.run = Run::ShuttingDown;
                    self.timers.stop(Timer::Probe);
                    let quit = now + self.settings.quit_deadline();
                    self.timers.set(Timer::Quit, quit);
                }
            }
        }
    }

    /// The drain under way, if `id` is its number.
    fn drain(&mut self, id: u64) -> Option<&mut Drain> {
        match &mut self.worker {
            Worker::Draining(_, drain) if drain.id == id => Some(drain),
            _ => None,
        }
    }

    /// Ends the drain under way (logged) and stops the worker for what it drained for.
    fn end_drain(&mut self, tasks_finished: bool) {
        if let Worker::Draining(_, drain) = &self.worker {
            let (then, deadline_secs) = (drain.then, drain.deadline.as_secs());
            self.actions.push_back(Action::Log(LogNote::DrainEnded {
                tasks_finished,
                deadline_secs,
            }));
            self.stop_worker(then);
        }
    }

    /// Asks the head to drain a joined worker before stopping it for `then`; others stop at once.
    fn drain_worker(&mut self, now: Instant, deadline: Duration, then: StopReason) {
        let Worker::Joined(spec, _) = &self.worker else {
            return self.stop_worker(then);
        };
        let id = self.start.number();
        let drain = Drain {
            id,
            then,
            idle: IdleRule::default(),
            deadline,
        };
        self.worker = Worker::Draining(spec.clone(), drain);
        self.timers.set(Timer::DrainDeadline, now + deadline);
        self.actions.push_back(Action::DrainWorker {
            drain: id,
            deadline,
        });
    }

    fn stop_worker(&mut self, reason: StopReason) {
        if self.worker.joined() {
            // The tree's last reading: what it used since the previous one would be lost.
            self.sample_usage();
        }
        let (Worker::Starting(spec) | Worker::Joined(spec, _) | Worker::Draining(spec, _)) =
            &self.worker
        else {
            return;
        };
        self.worker = Worker::Stopping(spec.clone(), reason);
        self.timers.stop_all(Timer::OF_A_WORKER);
        let grace = self.settings.stop_grace_for(reason);
        self.actions.push_back(Action::StopWorker { grace, reason });
    }

    fn exit(&mut self) {
        if self.run == Run::Exited {
            return;
        }
        self.run = Run::Exited;
        self.timers = Timers::default();
        if self.contribution.record(Activity::Off) {
            self.actions
                .push_back(Action::RecordActivity(Activity::Off));
        }
        self.actions.extend([Action::SaveHistory, Action::Exit]);
    }

    fn reconcile(&mut self, now: Instant) {
        match &self.worker {
            _ if self.run == Run::Exited => {}
            Worker::Stopping(..) => {}
            Worker::Draining(..) if self.run != Run::Running => {
                self.stop_worker(StopReason::Shutdown)
            }
            // A leave with no time for the tasks overrides the drain.
            Worker::Draining(..) if self.laptop.asleep => self.stop_worker(StopReason::Sleep),
            Worker::Draining(..) => {}
            Worker::Starting(spec) | Worker::Joined(spec, _) => {
                let reconfigured = self.target().as_ref() != Some(spec);
                if self.run != Run::Running {
                    self.stop_worker(StopReason::Shutdown);
                } else if self.wanted.paused || self.fault().is_some() {
                    self.stop_worker(StopReason::Paused);
                } else if let Some(pause) = self.auto_pause() {
                    match leave_for(pause) {
                        (Some(deadline), then) => self.drain_worker(now, deadline, then),
                        (None, reason) => self.stop_worker(reason),
                    }
                } else if reconfigured {
                    self.stop_worker(StopReason::Reconfigure);
                }
            }
            Worker::Absent => {
                // Nothing left to hold the sleep for.
                self.timers.stop(Timer::SleepHold);
                if self.run != Run::Running {
                    return self.exit();
                }
                self.start_worker(now);
            }
        }
    }

    /// Starts a worker if one is wanted and the head may be joined.
    fn start_worker(&mut self, now: Instant) {
        let wanted = self.start_may_follow()
            && *self.watch.reach() == Reach::Up
            && !self.timers.is_set(Timer::Restart)
            && !self.timers.is_set(Timer::NetworkRestart);
        let Some(spec) = self.target().filter(|_| wanted) else {
            return;
        };
        // At the practice head too: only a fresh probe says its process still runs, and a start
        // on an older answer could hand its token to whoever took its port since.
        let fresh_answer_needed = spec.head.may_be_tailscale() || self.wanted.is_demo();
        if fresh_answer_needed && !self.watch.answered_for_start() {
            return self.probe_soon(now);
        }
        if self.timers.is_set(Timer::NextStart) {
            return;
        }
        let (first, join) = (self.settings.backoff.first, self.settings.join_timeout);
        self.timers.set(Timer::NextStart, now + first);
        self.timers.set(Timer::Join, now + join);
        self.contribution.new_worker();
        self.start.started();
        self.worker = Worker::Starting(spec.clone());
        self.actions.push_back(Action::StartWorker(spec));
    }
}
