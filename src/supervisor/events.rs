//! What goes into the supervisor ([`Event`]) and what comes out ([`Action`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::FileReading;
use crate::model::{
    Activity, AwakeHold, ClusterSize, HeadAddress, IdleReading, InstallStep, LogNote, Notice,
    PowerSnapshot, ProcessUsage, RayInUse, StopReason, TailnetFinds, TailscaleCheck,
    TailscaleProblem, ThermalState, Unreachable, WorkerFailure,
};

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
    /// For a head at a Tailscale address, what Tailscale says of it (`None`: not asked). Such
    /// a head is joined only while this is [`TailscaleCheck::OnlinePeer`] (see
    /// `supervisor::tailnet`).
    pub tailscale: Option<TailscaleCheck>,
}

/// What became of the connection [`Action::WatchHead`] holds open to the head's Ray port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadConnection {
    /// It is open and the head spoke HTTP/2 on it (a Ray GCS): from now on the OS watches the
    /// path, and a loss is reported without a probe.
    Held,
    /// The head's side closed it (GOAWAY, end of stream, reset): Ray there stopped or
    /// restarted.
    Closed,
    /// The path went silent: the OS's keepalive probes found no answer for the watch's
    /// `lost_after`. The head may be fine; the network between is not.
    Lost,
    /// No connection could be held: none could be opened, or what answered did not speak
    /// HTTP/2 (not a Ray GCS, whose close would mean nothing).
    NotHeld,
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

/// One look at the draining worker's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeReading {
    /// The worker or its raylet is gone: a drained raylet exits by itself once idle (Ray's
    /// own verdict, which also counts work that has no process yet).
    Gone,
    /// The raylet runs and no task worker is busy.
    Quiet,
    /// A task is running (or the processes could not be read).
    Busy,
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
    /// Install Ray (`setup`) in the app's venv: this version, else the head's or the newest.
    /// Taken only while no worker runs; the worker is retried at once when it succeeds.
    InstallRay { version: Option<String> },
    /// Look for heads on the tailnet (one search at a time).
    FindHeads,
    /// Join this head that the first-run search offered (a click on its notification, which
    /// may come late): taken only while no head of the user's is set and the last search
    /// found it, so it never replaces a head the user chose meanwhile.
    JoinFoundHead(HeadAddress),
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
    /// The OS says the machine is about to sleep: stop the worker cleanly while there is time.
    WillSleep,
    /// The machine woke, from one source per platform: the OS's notification where it gives
    /// one (macOS `NSWorkspaceDidWakeNotification`, logind's `PrepareForSleep(false)`), else
    /// the clocks' measurement of the time spent suspended.
    Woke {
        /// How long it slept, as far as is known.
        slept_secs: u64,
    },
    /// Mains or battery, and the battery's level.
    Power(PowerSnapshot),
    /// The lid closed (`true`) or opened.
    LidClosed(bool),
    /// The machine's thermal state, as the OS reports it (on a change, and at start).
    Thermal(ThermalState),
    /// How long ago the user last used the keyboard or mouse, as the OS could tell ("only
    /// when idle", read every few seconds).
    UserIdle(IdleReading),
    /// What the OS made of the idle-sleep hold the status asks for (`keep_awake`).
    AwakeHold(AwakeHold),
    /// The head answered [`Action::DrainWorker`] number `drain`: it stopped sending this node
    /// tasks (`accepted`), or the drain could not be asked for.
    DrainRequested { drain: u64, accepted: bool },
    /// What became of the connection held open to the head's Ray port by
    /// [`Action::WatchHead`] number `watch`.
    HeadConnection { watch: u64, state: HeadConnection },
    /// The answer to [`Action::SampleWorkerTree`] number `drain`.
    WorkerTreeSampled { drain: u64, reading: TreeReading },
    /// The answer to [`Action::SampleUsage`] number `sample`: the worker's process tree with
    /// its CPU counters (`None`: the process table could not be read).
    UsageSampled {
        sample: u64,
        tree: Option<Vec<ProcessUsage>>,
    },
    /// The install of [`Action::InstallRay`] reached this step.
    RayInstallProgress(InstallStep),
    /// The install of [`Action::InstallRay`] ended: the installed version, or why not.
    RayInstallEnded(Result<String, String>),
    /// The search of [`Action::FindHeads`] ended: the heads that answered, or why Tailscale
    /// could not list the tailnet.
    HeadsFound(Result<TailnetFinds, TailscaleProblem>),
    /// The OS reported a change in the data folder that may be config.toml's.
    ConfigFileChanged,
    /// The OS does not report changes to the data folder (`why`: what failed, or how its
    /// watch ended).
    ConfigWatchLost { why: String },
    /// What config.toml says, as [`Action::ReadConfigFile`] found it changed.
    ConfigFileRead(FileReading),
    /// The answer to [`Action::AskClusterSize`] (`None`: the dashboard did not answer).
    ClusterSize(Option<ClusterSize>),
    /// The answer to [`Action::LookUpRay`] (`None`: no `ray` found).
    RayInUse(Option<RayInUse>),
}

/// Things the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Check whether this head is reachable (and, for a Tailscale address, what Tailscale
    /// says of it, from an answer no older than `tailscale_max_age`), then report a
    /// [`Event::HeadProbe`].
    Probe {
        head: HeadAddress,
        tailscale_max_age: Duration,
    },
    /// Spawn the worker, then report [`Event::WorkerJoined`] and [`Event::WorkerExited`] (or
    /// [`Event::WorkerSpawnFailed`]).
    StartWorker(WorkerSpec),
    /// SIGTERM the worker's process group, SIGKILL after `grace`, then report its exit.
    StopWorker { grace: Duration, reason: StopReason },
    /// Ask the head to drain this node (no new tasks; `deadline` is advice for Ray), then
    /// report [`Event::DrainRequested`] with the same `drain`.
    DrainWorker { drain: u64, deadline: Duration },
    /// Read the worker's process tree, then report [`Event::WorkerTreeSampled`].
    SampleWorkerTree { drain: u64 },
    /// Hold a connection open to the head's Ray port, with the OS watching the path (TCP
    /// keepalive), and report each [`HeadConnection`] state of it as [`Event::HeadConnection`]:
    /// held, then closed by the head, lost (no answer to the OS for `lost_after`) or never
    /// held. Replaces any earlier watch.
    WatchHead {
        head: HeadAddress,
        watch: u64,
        lost_after: Duration,
    },
    /// Run `setup` for this version as a child, reporting [`Event::RayInstallProgress`] and
    /// then [`Event::RayInstallEnded`].
    InstallRay { version: Option<String> },
    /// List the online peers of the tailnet, knock on their Ray port, then report
    /// [`Event::HeadsFound`].
    FindHeads,
    /// Read the CPU counters of the worker's process tree, then report
    /// [`Event::UsageSampled`] with the same `sample`.
    SampleUsage { sample: u64 },
    /// The worker's processes used this much CPU since the last record: add it to today's
    /// contribution.
    RecordUsage { cpu: Duration },
    /// From now on the worker does this: a new segment of the history's timeline.
    RecordActivity(Activity),
    /// Write the history to disk.
    SaveHistory,
    /// Tell the user (notification, log).
    Notify(Notice),
    /// Remember, across starts, that the first-run search offered a head: it is offered once.
    RecordFirstRunOffer,
    /// Write a line in the log.
    Log(LogNote),
    /// Read config.toml if it changed since the last read, then report
    /// [`Event::ConfigFileRead`].
    ReadConfigFile,
    /// Ask the head's dashboard the cluster's size, then report [`Event::ClusterSize`].
    AskClusterSize { head: HeadAddress },
    /// Find the `ray` a worker would run now and its version, then report
    /// [`Event::RayInUse`].
    LookUpRay,
    /// The shutdown is complete: the driver may exit.
    Exit,
}
