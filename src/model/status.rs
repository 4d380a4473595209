//! What the supervisor reports: the state the user sees, why it pauses, what needs them, what
//! to notify. The tray, the CLI and the log render these; none of them decides anything.

use serde::{Deserialize, Serialize};

use super::{
    CourtesyStatus, FoundHead, HeadAddress, HeadSearch, ThermalState, Unreachable, UpdateAvailable,
    WorkerFailure,
};

/// A pause the supervisor chose by itself. It never overrides the user's own pause: the two
/// are kept apart, and the worker runs only when neither holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AutoPause {
    /// On battery at or below the stop level; resumes on power or above the resume level.
    LowBattery { percent: u8 },
    /// On battery with "contribute only on power".
    OnBattery,
    /// The machine is going to sleep or asleep.
    Asleep,
    /// Machine too hot (`pause_at_thermal`); resumes after a while at `fair` or cooler.
    RunsHot {
        thermal: ThermalState,
        /// Longer for a heat pause that repeats within the hour.
        resume_after_secs: u64,
    },
    /// "Only when idle": keyboard or mouse used within `away_minutes`.
    UserPresent { away_minutes: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The head stayed unreachable for the whole grace.
    HeadLost,
    Paused,
    /// The CPU count or the head changed: replaced by a new worker.
    Reconfigure,
    JoinTimeout,
    Shutdown,
    Sleep,
    Battery,
    /// Woke after a sleep long enough for the head to have dropped the node.
    Woke,
    /// Ray on the head restarted (port closed, then open): a new cluster, which the old raylet
    /// would notice only a minute later.
    HeadRestarted,
    RunsHot,
    /// The user is back ("only when idle").
    UserBack,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// The head stayed unreachable for the whole grace; the worker was stopped.
    HeadLost { why: Option<Unreachable> },
    /// The worker joined again after an outage that was notified.
    Reconnected { away_secs: u64 },
    /// Something the user must fix.
    NeedsAttention { fault: Fault },
    /// The battery fell to the warning level while contributing (once per discharge).
    BatteryLow { percent: u8 },
    /// The supervisor paused by itself.
    AutoPaused { reason: AutoPause },
    /// The lid closed while contributing: the machine will sleep and the head carries on alone.
    LidClosed,
    /// Installing Ray from the app ended well: this version answers.
    RayInstalled { version: String },
    /// Installing Ray from the app failed: `why` is the installer's last word.
    RayInstallFailed { why: String },
    /// First run with no head of the user's: exactly one head answered on the tailnet.
    HeadFound { head: FoundHead },
    /// The machine cooled down after a pause for heat (that was notified): contributing again.
    CooledDown,
    /// The app was opened again while it runs: where it stands, since a crowded menu bar or
    /// the notch may hide its icon.
    OpenedAgain { status: Box<Status> },
}

/// A state that retrying cannot fix; it stays until the user acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// No head address is configured.
    NoHead,
    /// The `ray` executable is missing.
    RayMissing { path: String },
    /// The worker failed in a way that restarting will not change.
    Worker { failure: WorkerFailure },
    /// The worker kept dying: the breaker tripped.
    GaveUp {
        failures: usize,
        last: WorkerFailure,
    },
}

/// The one-word state the user sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Not yet known whether the head is reachable.
    #[default]
    Checking,
    /// The worker is starting and has not joined yet.
    Starting,
    Connected,
    /// The head is unreachable; the worker is kept during the grace.
    Disconnecting,
    /// The head is unreachable and no worker runs; probing often.
    Disconnected,
    /// The head is reachable; waiting out a restart delay or replacing the worker.
    Reconnecting,
    /// The worker is being stopped (pause, shutdown, error).
    Stopping,
    Paused,
    /// Needs the user: see the fault.
    Error,
    ShuttingDown,
    /// Finishing the running tasks before leaving (a planned pause).
    Draining,
}

/// The state; its default is what is known before the supervisor's first step: nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Status {
    pub phase: Phase,
    pub head: Option<HeadAddress>,
    pub cpus: u32,
    pub worker_cpus: Option<u32>,
    pub paused: bool,
    pub unreachable: Option<Unreachable>,
    pub fault: Option<Fault>,
    /// Abnormal worker exits within the breaker's window.
    pub recent_failures: usize,
    /// A pause the supervisor chose (battery, sleep), when one holds.
    pub auto_pause: Option<AutoPause>,
    /// Mobile mode (a laptop: battery policy on).
    pub mobile: bool,
    /// A sleep the OS announced is held back until the worker has stopped.
    pub holding_sleep: bool,
    /// Ray being installed from the app, and the step under way.
    pub ray_install: Option<RayInstall>,
    /// Joined to the built-in demo head (no head configured).
    pub demo: bool,
    /// Disconnected from a head Tailscale says is an online peer, yet silent (the log says so).
    pub tailscale_vouches_for_silent_head: bool,
    /// No head of the user's (none, or the demo's): the menu offers one, and the search's finds.
    pub needs_a_head: bool,
    /// The last (or current) search for heads on the tailnet.
    pub head_search: Option<HeadSearch>,
    pub courtesy: CourtesyStatus,
    /// The last finished search's heads, kept (and clickable) while the next one runs.
    pub found_heads: Vec<FoundHead>,
    /// How busy the worker kept its CPUs between its last two readings (a minute apart).
    pub worker_busy_percent: Option<u8>,
    /// The cluster's size from the head's dashboard, while connected to a real head (tray only).
    pub cluster: Option<ClusterSize>,
    /// The `ray` a worker runs, once looked up (`None`: not found, or not yet known).
    pub ray: Option<RayInUse>,
    /// The last worker joined although its Python differs from the head's in the patch release.
    pub python_skew: Option<PythonSkew>,
    /// Quitting while the worker's last reading showed work: Ray lets its running tasks finish
    /// for up to this many seconds before the worker is stopped.
    pub quit_waits_for_tasks_secs: Option<u64>,
    /// A release newer than this build, as the releases feed last named it (running app only).
    pub update: Option<UpdateAvailable>,
}

/// The Pythons of the head and of this machine, the same minor release in two patch releases
/// (Ray accepts the node when told to match only the minor release, and says so).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonSkew {
    pub head: String,
    pub this_machine: String,
}

/// The cluster's alive nodes and their CPUs, as the head's dashboard gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSize {
    /// Whole CPUs (Ray counts fractions; the menu shows whole ones).
    pub cpus: u32,
    pub nodes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RayInUse {
    pub path: String,
    /// What `ray --version` said, if it answered.
    pub version: Option<String>,
}

/// An install of Ray from the app, under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RayInstall {
    pub version: Option<String>,
    pub step: InstallStep,
}

/// A step of installing Ray from the app (`setup` run as a child).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InstallStep {
    /// The child was started.
    Starting,
    /// Looking for a Python that Ray has wheels for.
    FindingPython,
    /// Creating the venv with this Python version.
    CreatingVenv { python: String },
    /// pip is fetching this package.
    Downloading { package: String },
    /// pip is installing the fetched packages.
    Installing,
    /// Running the installed `ray --version`.
    Checking,
}

/// Something worth a line in `worker.log`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogNote {
    /// The state changed in a way worth a line (a new phase, fault or pause, another head).
    StateChanged(Box<Status>),
    /// What a look at config.toml came to.
    ConfigEdit(ConfigEdit),
    /// The `ray` a worker runs was looked up (`None`: none found).
    RayInUse(Option<RayInUse>),
    /// A worker joined on another patch release of the head's Python (said once per skew).
    PythonSkew(PythonSkew),
    /// Tasks finished, or the deadline passed with tasks running (Ray retries them elsewhere).
    DrainEnded {
        tasks_finished: bool,
        deadline_secs: u64,
    },
    /// The OS refused to hold idle sleep off (`keep_awake`); said once per run.
    KeepAwakeRefused { why: String },
    /// The releases feed could not be read; said once until it is read again.
    UpdateCheckFailed { why: String },
}

/// What a hand edit of config.toml came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigEdit {
    /// The file does not read (what is wrong, naming the key).
    Invalid(String),
    /// The file was removed.
    Removed,
    /// The file reads again after a problem.
    ReadableAgain,
    /// `head` was removed from the file.
    HeadRemoved,
    /// These settings (`key = value, …`) were applied.
    Applied(String),
    /// These keys take effect at the next start.
    AtRestart(String),
    /// The OS does not report changes to the data folder (`why`): looked at every `every_secs`.
    Polling { every_secs: u64, why: String },
}

/// What a control-socket reply says besides the state, as facts the CLI words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyNote {
    /// The instance stopped (the answer to `quit`).
    Stopped,
    /// The request took effect but its setting `key` could not be written to config.toml.
    NotSaved { key: String, why: String },
}

#[cfg(test)]
mod tests {
    use super::Phase;

    impl Phase {
        /// Every phase, for the tests (in `text`, `tray`) that each one is worded and shown.
        pub const ALL: [Phase; 11] = [
            Phase::Checking,
            Phase::Starting,
            Phase::Connected,
            Phase::Disconnecting,
            Phase::Disconnected,
            Phase::Reconnecting,
            Phase::Stopping,
            Phase::Paused,
            Phase::Error,
            Phase::ShuttingDown,
            Phase::Draining,
        ];
    }
}
