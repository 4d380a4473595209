//! What goes into the supervisor ([`Event`]) and what comes out ([`Action`]). Each action that
//! asks for an answer names the event that reports it; numbered ones (`drain`, `watch`,
//! `sample`) are answered with the same number, so a late answer to an earlier ask is told apart.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::FileReading;
use crate::model::{
    Activity, AwakeHold, ClusterSize, HeadAddress, IdleReading, InstallStep, LogNote, Notice,
    PowerSnapshot, ProcessUsage, PythonSkew, RayInUse, StopReason, TailnetFinds, TailscaleCheck,
    TailscaleProblem, ThermalState, Unreachable, UpdateCheck, WorkerFailure,
};

/// What a worker is started with. Two specs differ ⇒ a running worker must be replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerSpec {
    pub head: HeadAddress,
    /// CPUs offered to the cluster.
    pub cpus: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadProbe {
    pub head: HeadAddress,
    /// The address the head's name resolved to (its own for an IP address; `None`: no answer).
    pub resolved: Option<std::net::IpAddr>,
    /// `None` when the head answered.
    pub unreachable: Option<Unreachable>,
    /// What Tailscale says of a head reached through Tailscale (`None`: not asked); see `tailnet`.
    pub tailscale: Option<TailscaleCheck>,
}

impl HeadProbe {
    /// The head is reached through Tailscale, by its address or the one its name resolved to.
    pub fn through_tailscale(&self) -> bool {
        self.head.through_tailscale(self.resolved)
    }
}

/// What became of the connection [`Action::WatchHead`] holds to the head's Ray port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadConnection {
    /// Open, and the head spoke HTTP/2 (a Ray GCS): the OS now watches the path.
    Held,
    /// The head closed it (GOAWAY, end of stream, reset): Ray there stopped or restarted.
    Closed,
    /// The OS's keepalive found no answer for `lost_after`: the network between is down.
    Lost,
    /// None could be opened, or what answered was not a Ray GCS (its close would mean nothing).
    NotHeld,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerExit {
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    /// What its output says went wrong, if anything.
    pub failure: Option<WorkerFailure>,
}

/// A worker that could not even be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnFailure {
    RayMissing { path: String },
    Other { detail: String },
}

/// One look at the draining worker's processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeReading {
    /// The worker or its raylet is gone: a drained raylet exits by itself once idle (Ray's own
    /// verdict, which also counts work that has no process yet).
    Gone,
    /// The raylet runs and no task worker is busy.
    Quiet,
    /// A task runs (or the processes could not be read).
    Busy,
}

/// Commands from the user (tray, CLI, a hand edit of config.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    Pause,
    /// Pause once the running tasks finish (the head first drains the node).
    PauseAfterTasks,
    /// Contribute again; also retries an error.
    Resume,
    SetCpus(u32),
    SetHead(HeadAddress),
    Shutdown,
    /// The app was opened again (Finder, Spotlight, at login) while this one runs.
    OpenedAgain,
    /// Install Ray in the app's venv (this version, else the head's or the newest); no worker runs.
    InstallRay {
        version: Option<String>,
    },
    FindHeads,
    /// Join the head the first-run search offered (a click on its notification, maybe late):
    /// taken only while no head of the user's is set and the last search found it.
    JoinFoundHead(HeadAddress),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The answer to [`Action::Probe`].
    HeadProbe(HeadProbe),
    /// The worker printed that its runtime started: it is part of the cluster.
    WorkerJoined,
    /// The worker process ended.
    WorkerExited(WorkerExit),
    /// The worker process could not be spawned.
    WorkerSpawnFailed(SpawnFailure),
    /// A command of the user's.
    User(UserCommand),
    /// The machine's network interfaces or addresses changed.
    NetworkChanged,
    /// The machine is about to sleep.
    WillSleep,
    /// The machine woke: the OS's notification where it gives one, else the clocks' measure.
    Woke { slept_secs: u64 },
    /// A power reading.
    Power(PowerSnapshot),
    /// The lid closed (`true`) or opened.
    LidClosed(bool),
    /// The OS's thermal state (on a change, and at start).
    Thermal(ThermalState),
    /// How long since the user's last input ("only when idle").
    UserIdle(IdleReading),
    /// What the OS made of the idle-sleep hold (`keep_awake`).
    AwakeHold(AwakeHold),
    /// The head stopped sending this node tasks (`accepted`), or the drain could not be asked.
    DrainRequested { drain: u64, accepted: bool },
    /// What became of held connection number `watch`.
    HeadConnection { watch: u64, state: HeadConnection },
    /// A look at the tree of the worker under drain number `drain`.
    WorkerTreeSampled { drain: u64, reading: TreeReading },
    /// The worker's tree with its CPU counters (`None`: the process table could not be read).
    UsageSampled {
        sample: u64,
        tree: Option<Vec<ProcessUsage>>,
    },
    /// The step an install of Ray is at.
    RayInstallProgress(InstallStep),
    /// The installed version, or why not.
    RayInstallEnded(Result<String, String>),
    /// The heads the tailnet search found, or why it could not search.
    HeadsFound(Result<TailnetFinds, TailscaleProblem>),
    /// The OS reported a change in the data folder that may be config.toml's.
    ConfigFileChanged,
    /// The OS does not report changes to the data folder (`why`).
    ConfigWatchLost { why: String },
    /// What config.toml says now, if it changed.
    ConfigFileRead(FileReading),
    /// `None`: the dashboard did not answer.
    ClusterSize(Option<ClusterSize>),
    /// `None`: no `ray` found.
    RayInUse(Option<RayInUse>),
    /// Sent as a worker joins: whether Ray took it on another patch release of the head's Python.
    PythonSkew(Option<PythonSkew>),
    /// The answer to [`Action::CheckForUpdate`].
    UpdateChecked(UpdateCheck),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Check whether the head answers (a Tailscale one with Tailscale's word no older than
    /// `tailscale_max_age`), then report [`Event::HeadProbe`].
    Probe {
        head: HeadAddress,
        tailscale_max_age: Duration,
    },
    /// Spawn the worker, then report [`Event::WorkerJoined`] and [`Event::WorkerExited`] (or
    /// [`Event::WorkerSpawnFailed`]).
    StartWorker(WorkerSpec),
    /// SIGTERM the worker's process group, SIGKILL after `grace`, then report its exit.
    StopWorker { grace: Duration, reason: StopReason },
    /// Ask the head to drain this node (`deadline` is advice for Ray), then report
    /// [`Event::DrainRequested`].
    DrainWorker { drain: u64, deadline: Duration },
    /// Read the worker's process tree, then report [`Event::WorkerTreeSampled`].
    SampleWorkerTree { drain: u64 },
    /// Hold a connection to the head's Ray port with TCP keepalive (lost after `lost_after`
    /// without an answer), replacing any earlier one; report each [`Event::HeadConnection`].
    WatchHead {
        head: HeadAddress,
        watch: u64,
        lost_after: Duration,
    },
    /// Run `setup` as a child: [`Event::RayInstallProgress`], then [`Event::RayInstallEnded`].
    InstallRay { version: Option<String> },
    /// Knock on the Ray port of the tailnet's online peers, then report [`Event::HeadsFound`].
    FindHeads,
    /// Read the worker tree's CPU counters, then report [`Event::UsageSampled`].
    SampleUsage { sample: u64 },
    /// Add this CPU time to today's contribution.
    RecordUsage { cpu: Duration },
    /// A new segment of the history's timeline.
    RecordActivity(Activity),
    /// Write `history.json`.
    SaveHistory,
    /// Tell the user: a desktop notification and a line in the log.
    Notify(Notice),
    /// Remember across starts that the first-run search offered a head: it is offered once.
    RecordFirstRunOffer,
    /// Write this to worker.log.
    Log(LogNote),
    /// Read config.toml if it changed since the last read, then report [`Event::ConfigFileRead`].
    ReadConfigFile,
    /// Ask the head's dashboard the cluster's size, then report [`Event::ClusterSize`].
    AskClusterSize { head: HeadAddress },
    /// Find the `ray` a worker would run and its version, then report [`Event::RayInUse`].
    LookUpRay,
    /// Ask the releases feed for the newest version, then report [`Event::UpdateChecked`].
    CheckForUpdate,
    /// The shutdown is complete: the driver may exit.
    Exit,
}
