//! Every timing constant and threshold of the supervisor, and the settings a user may change.

use std::time::Duration;

use crate::model::{AutoPause, KeepAwake, PauseAtThermal, StopReason};

/// A sleep at least this long replaces the worker on wake: Ray's default health checks drop a
/// silent node after about a minute, and a stale raylet only exits once it reconnects.
pub const WAKE_REPLACES_WORKER_AFTER: Duration = Duration::from_secs(30);

/// A wake that slept less than this while no sleep was announced is a clock measurement's
/// noise, not worth reacting to.
pub const MIN_SLEEP: Duration = Duration::from_secs(15);

/// An announced sleep that has not happened after this long awake was cancelled (macOS can
/// announce a sleep and then not sleep, posting no wake). The monotonic clock the supervisor
/// runs on stops while the machine sleeps, so only time awake counts.
pub const SLEEP_CANCELLED_AFTER: Duration = Duration::from_secs(60);

/// `tailscale status` is asked to explain a failed probe, to vouch for a head at a Tailscale
/// address and to find this machine's Tailscale address at a worker start; its answer (or its
/// silence) is reused for this long.
/// While the head is down the probe fails about every second, and one process a second is
/// what an idle laptop must not cost; Tailscale's state changes on a human scale.
pub const TAILSCALE_ANSWER_MAX_AGE: Duration = Duration::from_secs(30);

/// Before a worker starts for a head at a Tailscale address, Tailscale's word that the head is
/// an online peer must be at most this old (the cached one is refreshed): a verdict half a
/// minute old may predate Tailscale being quit on a network that routes the address elsewhere.
pub const TAILSCALE_ANSWER_BEFORE_START: Duration = Duration::from_secs(5);

/// Otherwise (a worker runs, or nothing may start: paused, in error), Tailscale's word that
/// the head is an online peer is kept this long. Each `tailscale status` is a process, and on
/// a Mac the Tailscale CLI is the app's own large binary: asked every half minute while
/// contributing, it cost 120 processes an hour for nothing. What would end the vouching
/// (Tailscale quit, logged out, another network) changes the machine's addresses, and a
/// network change asks afresh at once; an answer naming a problem is still refreshed after
/// [`TAILSCALE_ANSWER_MAX_AGE`].
pub const TAILSCALE_VOUCH_KEPT: Duration = Duration::from_secs(600);

/// "Find heads on my tailnet" knocks on the Ray port of at most this many online peers of
/// `tailscale status`, all at once: a large tailnet is not scanned.
pub const FIND_HEADS_MAX_PEERS: usize = 64;

/// The tailnet search's list of peers comes from a `tailscale status` answer at most this old:
/// the user asked just now, and a peer that came online since the last answer must be found.
pub const FIND_HEADS_TAILSCALE_MAX_AGE: Duration = Duration::from_secs(5);

/// How long each peer's Ray port is given to accept the search's connection.
pub const FIND_HEADS_CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

/// While the worker is joined, a connection to the head's Ray port is held open
/// (`Action::WatchHead`) and the OS watches the path with TCP keepalive: a probe packet each
/// second the connection is idle, answered by the head's kernel, none of it waking this
/// process. The connection is reported lost after this long without an answer (Linux also
/// drops unacknowledged data after it), which keeps a cut seen within 5 s, as the 2 s probe
/// did, and short enough a Wi-Fi hiccup only shows as a moment's "unreachable" (the worker is
/// only stopped after the grace).
pub const HELD_CONNECTION_LOST_AFTER: Duration = Duration::from_secs(3);

/// ...and while that connection is held the head is probed only this often, instead of every
/// `probe_every_up`: the probe's TCP connect would find nothing the kernel's keepalive does
/// not, and each one is a wake of the app (0.5 a second was a third of its CPU while
/// contributing). What is left for the probe is Tailscale's vouching, kept for
/// [`TAILSCALE_VOUCH_KEPT`] anyway.
pub const PROBE_EVERY_WHILE_HELD: Duration = Duration::from_secs(60);

/// Held connections lost this many times in a row, each within [`PROBE_EVERY_WHILE_HELD`]
/// of being held, while the head answered probes at once: the path drops the keepalive's
/// packets but not new connections (some middleboxes do). From then on none is held until
/// the network changes, and the head is probed every `probe_every_up` instead: without this
/// the watch would be lost, probed back and held again every few seconds, forever.
pub const HELD_CONNECTIONS_LOST_QUICKLY: u32 = 3;

/// Outage notifications ("head lost") are given at most this often: a flapping network must
/// not notify every minute.
pub const NOTIFY_OUTAGES_EVERY: Duration = Duration::from_secs(180);

/// A fault that retrying was not expected to fix (the breaker tripped, a version mismatch, Ray
/// missing) is tried once more after this long: its cause may have gone away unnoticed (a head
/// upgraded, Ray installed from a terminal). One failed try opens it again, without a new
/// notification. A change of network tries at once.
pub const FAULT_RETRY_AFTER: Duration = Duration::from_secs(600);

/// How long a "pause after current tasks" waits for the running tasks.
pub const PAUSE_DRAIN_DEADLINE: Duration = Duration::from_secs(600);

/// How long a low-battery pause lets running tasks finish.
pub const BATTERY_DRAIN_DEADLINE: Duration = Duration::from_secs(60);

/// How often a draining worker's processes are looked at.
pub const DRAIN_SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// A drained node is idle after this many readings in a row find no busy task. One is not
/// enough: a Ray task worker shows `ray::IDLE` for ~0.1-0.2 s while it sets up the task it was
/// just given (tests/lab/recorded/ps_laptop_task_start_timeline_ray260.txt).
pub const QUIET_READINGS_FOR_IDLE: u32 = 2;

/// config.toml is read this long after the last change the OS reported for it: an editor that
/// truncates the file and then writes it (two reports, milliseconds apart) must not be read in
/// between, or a half-written file would be reported to the user as invalid. Short enough that
/// an edit still shows at once.
pub const CONFIG_FILE_SETTLE: Duration = Duration::from_millis(250);

/// Only where the OS cannot report changes to the data folder (the watch could not be set up:
/// inotify's limits reached, config.toml a symbolic link to another folder; or it was lost: the
/// folder removed), config.toml's stamp is looked at this often instead: one `stat`, no
/// process; an edit is applied within this. Reported changes are the normal way because a look
/// every 2 s, 1,800 wake-ups an hour, was the largest share of an idle daemon's CPU for an edit
/// made a few times a year. Also the longest a file changed without pause waits for its look.
pub const CONFIG_FILE_CHECK_EVERY: Duration = Duration::from_secs(2);

/// The SIGTERM-to-SIGKILL grace when the head is unreachable (see `Settings::stop_grace_for`).
pub const HEAD_LOST_STOP_GRACE: Duration = Duration::from_secs(3);

/// The most a user may set as the stop grace (`timing.stop_grace_secs`).
pub const MAX_STOP_GRACE: Duration = Duration::from_secs(120);

/// What a stop may take beyond its grace: the SIGKILL, the end of the output, the report.
const STOP_MARGIN: Duration = Duration::from_secs(3);

/// macOS waits up to 30 s for a WillSleep observer; a sleep is never held longer than this.
pub const SLEEP_HOLD_MAX: Duration = Duration::from_secs(25);

/// Exits the network caused while the head still answered (a head that marks the node dead
/// every minute, something other than Ray on the head's port) are restarted after 1 s, 2 s,
/// 4 s, … up to this: at most 10 starts in 10 minutes, and no give-up.
pub const NETWORK_RESTART_CAP: Duration = Duration::from_secs(300);

/// Restart delays are capped at the old daemon's retry delay on a laptop...
const MOBILE_RESTART_CAP: Duration = Duration::from_secs(30);
/// ...and at a minute on a desktop.
const DESKTOP_RESTART_CAP: Duration = Duration::from_secs(60);

/// How often the CPU time of a joined worker's process tree is read (one walk of the process
/// table, no process started): the contribution shown in the menu is at most this old.
pub const USAGE_SAMPLE_EVERY: Duration = Duration::from_secs(60);

/// `history.json` is written at most this long after something to record (a CPU reading, a
/// change of what the worker does), so at most once per this while anything changes, never
/// while nothing does, and once more at quit.
pub const HISTORY_SAVE_AFTER: Duration = Duration::from_secs(60);

/// `history.json` keeps this many days of daily CPU totals (a year and a bit: about 60 bytes a
/// day, some 24 KB).
pub const HISTORY_KEEP_DAYS: i64 = 400;

/// ...and the timeline of what the worker did over this many days.
pub const TIMELINE_KEEP_DAYS: i64 = 7;

/// ...in at most this many segments (a network that flaps all week must not grow the file
/// without bound: the oldest go first).
pub const TIMELINE_MAX_SEGMENTS: usize = 3000;
// --- Courtesy: keep awake, runs hot, only when idle (supervisor/courtesy.rs) ----------------

/// After a pause for heat, the machine must have stayed at `fair` or `nominal` this long before
/// the worker rejoins: a machine that just cooled heats up again at once under full load.
pub const THERMAL_RESUME_AFTER: Duration = Duration::from_secs(300);

/// A heat pause that begins within this long of the previous one's end is a repeat (a fanless
/// Mac that heats up again under full load within minutes)...
pub const THERMAL_REPEAT_WINDOW: Duration = Duration::from_secs(3600);

/// ...and each repeat doubles the wait before rejoining (5, 10, 20 min), up to this.
pub const THERMAL_RESUME_AFTER_MAX: Duration = Duration::from_secs(20 * 60);

/// The heat notices ("paused: runs hot", "cooled down") are given at most once per this long:
/// a machine that keeps heating up is said once, not every cycle (the menu still shows it).
pub const NOTIFY_HEAT_EVERY: Duration = Duration::from_secs(4 * 3600);

/// How long the running tasks get when the machine runs hot (a drain, like the low battery's):
/// the OS is already throttling, so not the ten minutes of a user's planned pause.
pub const THERMAL_DRAIN_DEADLINE: Duration = Duration::from_secs(60);

/// How long the running tasks get when the user comes back under "only when idle": they want
/// their machine, so the same minute.
pub const USER_BACK_DRAIN_DEADLINE: Duration = Duration::from_secs(60);

/// How a worker leaves under an automatic pause: how long its running tasks get (`None`: it
/// stops at once) and why it stops.
pub fn leave_for(pause: AutoPause) -> (Option<Duration>, StopReason) {
    match pause {
        AutoPause::Asleep => (None, StopReason::Sleep),
        AutoPause::LowBattery { .. } | AutoPause::OnBattery => {
            (Some(BATTERY_DRAIN_DEADLINE), StopReason::Battery)
        }
        AutoPause::RunsHot { .. } => (Some(THERMAL_DRAIN_DEADLINE), StopReason::RunsHot),
        AutoPause::UserPresent { .. } => (Some(USER_BACK_DRAIN_DEADLINE), StopReason::UserBack),
    }
}

/// How often the machine watcher reads power, lid and the sleep clock while the OS says
/// nothing; it reads at once when the OS posts a power change, which is what releases the
/// idle-sleep hold within a second of unplugging. What only this cadence catches: the battery
/// level (a percent lasts minutes), the lid (its notice is not urgent), and a sleep where the
/// OS gives no wake notification. Each look wakes the watcher's thread only.
pub const MACHINE_LOOK_EVERY: Duration = Duration::from_secs(15);

/// [`MACHINE_LOOK_EVERY`] where the OS gives no power change signal (no uevent socket, another
/// Unix): the 5 s poll of before, so that an unplug still releases the hold within ~6 s.
pub const MACHINE_LOOK_EVERY_UNSIGNALLED: Duration = Duration::from_secs(5);

/// How often the user's idle time is read while "only when idle" is on (never while it is
/// off): the OS posts nothing when input resumes, and 5 s of typing before the worker steps
/// back is not felt.
pub const USER_IDLE_LOOK_EVERY: Duration = Duration::from_secs(5);

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
    /// Keep awake, runs hot, only when idle.
    pub courtesy: CourtesyPolicy,
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
            backoff: BackoffPolicy {
                max: DESKTOP_RESTART_CAP,
                ..BackoffPolicy::default()
            },
            laptop: LaptopPolicy::default(),
            courtesy: CourtesyPolicy::default(),
        }
    }
}

impl Settings {
    /// The defaults for this machine: a laptop (mobile mode) gets the battery policy and
    /// restart delays capped at the old daemon's 30 s; a desktop waits up to 60 s.
    pub fn for_machine(mobile: bool) -> Settings {
        let defaults = Settings::default();
        Settings {
            backoff: BackoffPolicy {
                max: if mobile {
                    MOBILE_RESTART_CAP
                } else {
                    DESKTOP_RESTART_CAP
                },
                ..defaults.backoff
            },
            laptop: LaptopPolicy {
                mobile,
                ..defaults.laptop
            },
            ..defaults
        }
    }

    /// The longest a quit takes: the worker's stop grace and the kill after it. The supervisor
    /// exits by then even if the worker's end was never reported; a client waiting for a quit
    /// may give up after it.
    pub fn quit_deadline(&self) -> Duration {
        self.stop_grace + STOP_MARGIN
    }

    /// The SIGTERM-to-SIGKILL grace of a stop. On SIGTERM Ray first asks the head to drain the
    /// node (up to 30 s): with the head unreachable, or a new head that never knew the node,
    /// that can only time out, so the kill comes sooner.
    pub fn stop_grace_for(&self, reason: StopReason) -> Duration {
        match reason {
            StopReason::HeadLost | StopReason::HeadRestarted => {
                self.stop_grace.min(HEAD_LOST_STOP_GRACE)
            }
            _ => self.stop_grace,
        }
    }

    /// The longest a sleep is held back while the worker stops: its stop grace and the kill,
    /// within what macOS allows.
    pub fn sleep_hold(&self) -> Duration {
        (self.stop_grace + STOP_MARGIN).min(SLEEP_HOLD_MAX)
    }
}

/// The longest any quit can take, whatever the configuration: for a client that does not
/// know the settings in force.
pub fn longest_quit() -> Duration {
    Settings {
        stop_grace: MAX_STOP_GRACE,
        ..Settings::default()
    }
    .quit_deadline()
}

/// How restarts back off and when to give up.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffPolicy {
    /// The first restart delay; also the floor between any two starts (s6: never respawn more
    /// than once a second).
    pub first: Duration,
    /// Each consecutive failure multiplies the delay by this.
    pub factor: f64,
    /// The delay never grows past this.
    pub max: Duration,
    /// This many abnormal exits within `window` trip the breaker.
    pub burst: usize,
    /// The window the breaker counts in.
    pub window: Duration,
    /// A worker that stayed joined this long resets the delay to `first`.
    pub stable_after: Duration,
    /// The cap of the delays after exits the network caused while the head still answered
    /// (the node marked dead again and again, something else on the head's port): these
    /// never trip the breaker, so a longer cap is what keeps them from being a storm.
    pub network_max: Duration,
    /// Up to this fraction of the delay is added at random so that several laptops behind one
    /// flapping network do not restart in lockstep.
    pub jitter: f64,
    /// Seed of the jitter.
    pub seed: u64,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            first: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(60),
            burst: 5,
            window: Duration::from_secs(600),
            stable_after: Duration::from_secs(60),
            network_max: NETWORK_RESTART_CAP,
            jitter: 0.1,
            seed: 0x5eed_b177_7ade,
        }
    }
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

/// How the worker keeps out of the user's way (config.toml's `keep_awake`, `pause_at_thermal`,
/// `only_when_idle_minutes`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CourtesyPolicy {
    /// When idle sleep is held off while connected.
    pub keep_awake: KeepAwake,
    /// At which thermal state the worker pauses after its current tasks.
    pub pause_at_thermal: PauseAtThermal,
    /// Contribute only after this long without keyboard or mouse input; `None`: always.
    pub only_when_idle: Option<Duration>,
}

/// The niceness `ray start` and everything under it run at unless config.toml says otherwise
/// (`[ray] nice`). 10, not 19: the raylet must still answer the head's health checks under a
/// busy foreground (at 10 it keeps ≈ 10 % of a contended CPU, at 19 ≈ 1.5 %), and Ray's task
/// workers add its own `worker_niceness` (15) on top, which reaches 19 anyway.
pub const DEFAULT_RAY_NICE: u8 = 10;

/// Whether Ray is started with the settings that cut its idle cost (`[ray] lean`) unless
/// config.toml says otherwise.
pub const DEFAULT_LEAN_RAY: bool = true;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_laptop_restarts_sooner_and_watches_its_battery() {
        let laptop = Settings::for_machine(true);
        let desktop = Settings::for_machine(false);
        assert_eq!(laptop.backoff.max, Duration::from_secs(30));
        assert_eq!(desktop.backoff.max, Duration::from_secs(60));
        assert!(laptop.laptop.mobile && !desktop.laptop.mobile);
        assert_eq!(desktop, Settings::default());
    }

    #[test]
    fn quit_and_sleep_deadlines_follow_the_stop_grace() {
        let mut settings = Settings::default();
        assert_eq!(settings.quit_deadline(), Duration::from_secs(13));
        assert_eq!(settings.sleep_hold(), Duration::from_secs(13));
        settings.stop_grace = Duration::from_secs(60);
        assert_eq!(
            settings.sleep_hold(),
            SLEEP_HOLD_MAX,
            "macOS waits 30 s at most"
        );
        assert_eq!(longest_quit(), Duration::from_secs(123));
    }
}
