//! Every timing constant and threshold of the supervisor, and the settings a user may change.

use std::time::Duration;

use crate::config::BatteryConfig;
use crate::model::{AutoPause, KeepAwake, PauseAtThermal, StopReason};

/// A sleep at least this long replaces the worker on wake: Ray's health checks drop a silent
/// node after about a minute, and a stale raylet only exits once it reconnects.
pub const WAKE_REPLACES_WORKER_AFTER: Duration = Duration::from_secs(30);
/// Shorter than this, a wake with no sleep announced is a clock measurement's noise.
pub const MIN_SLEEP: Duration = Duration::from_secs(15);
/// An announced sleep not taken after this long awake was cancelled (macOS may post no wake).
pub const SLEEP_CANCELLED_AFTER: Duration = Duration::from_secs(60);

/// A `tailscale status` answer is reused this long: a down head fails a probe a second.
pub const TAILSCALE_ANSWER_MAX_AGE: Duration = Duration::from_secs(30);
/// Before a start, Tailscale's word that the head is an online peer is at most this old: an
/// older one may predate Tailscale being quit on a network that routes the address elsewhere.
pub const TAILSCALE_ANSWER_BEFORE_START: Duration = Duration::from_secs(5);
/// Otherwise the vouching is kept this long: what would end it (Tailscale quit, logged out,
/// another network) changes the machine's addresses, which asks afresh at once.
pub const TAILSCALE_VOUCH_KEPT: Duration = Duration::from_secs(600);

/// The tailnet search knocks on the Ray port of at most this many online peers, all at once...
pub const FIND_HEADS_MAX_PEERS: usize = 64;
/// ...listed from a fresh `tailscale status`: a peer that just came online must be found...
pub const FIND_HEADS_TAILSCALE_MAX_AGE: Duration = Duration::from_secs(5);
/// ...giving each this long to accept.
pub const FIND_HEADS_CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

/// A connection held to the head while joined, watched by the OS's TCP keepalive, is lost after
/// this long without an answer: a Wi-Fi hiccup is only a moment's "unreachable"...
pub const HELD_CONNECTION_LOST_AFTER: Duration = Duration::from_secs(3);
/// ...and meanwhile a probe, which would find nothing the keepalive does not, comes this often.
pub const PROBE_EVERY_WHILE_HELD: Duration = Duration::from_secs(60);
/// Held connections lost this many times in a row soon after being held, while the head answered
/// probes: the path drops keepalives (some middleboxes do); none is held until the network changes.
pub const HELD_CONNECTIONS_LOST_QUICKLY: u32 = 3;

/// "Head lost" is notified at most this often: a flapping network must not notify every minute.
pub const NOTIFY_OUTAGES_EVERY: Duration = Duration::from_secs(180);

/// A fault is tried once more after this long: its cause may have gone unnoticed (a head upgraded).
pub const FAULT_RETRY_AFTER: Duration = Duration::from_secs(600);

/// How long a "pause after current tasks" waits for the running tasks.
pub const PAUSE_DRAIN_DEADLINE: Duration = Duration::from_secs(600);
/// The running tasks get this long under an automatic pause: the user wants the machine back.
pub const AUTO_PAUSE_DRAIN_DEADLINE: Duration = Duration::from_secs(60);
/// How often a draining worker's processes are looked at.
pub const DRAIN_SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// A drained node is idle after this many quiet readings in a row: a task worker shows
/// `ray::IDLE` for ~0.1-0.2 s while it sets up a new task (tests/lab/recorded/ps_laptop_*).
pub const QUIET_READINGS_FOR_IDLE: u32 = 2;

/// config.toml is read this long after the OS's last report of a change, never half-written.
pub const CONFIG_FILE_SETTLE: Duration = Duration::from_millis(250);
/// Where the OS reports no changes, config.toml's stamp is looked at this often instead; also
/// the longest an edit waits for its look.
pub const CONFIG_FILE_CHECK_EVERY: Duration = Duration::from_secs(2);

/// macOS waits up to 30 s for a WillSleep observer.
pub const SLEEP_HOLD_MAX: Duration = Duration::from_secs(25);
/// What a stop may take beyond its grace: the SIGKILL, the end of the output, the report.
const STOP_MARGIN: Duration = Duration::from_secs(3);

/// How often a joined worker's tree is read for its CPU time: the figure shown is this old.
pub const USAGE_SAMPLE_EVERY: Duration = Duration::from_secs(60);

/// `history.json` is written at most this long after something to record (and at quit).
pub const HISTORY_SAVE_AFTER: Duration = Duration::from_secs(60);
/// `history.json` keeps this many days of daily CPU totals (some 24 KB)...
pub const HISTORY_KEEP_DAYS: i64 = 400;
/// ...and a timeline of this many days...
pub const TIMELINE_KEEP_DAYS: i64 = 7;
/// ...in at most this many segments (a network flapping all week must not grow it unbounded).
pub const TIMELINE_MAX_SEGMENTS: usize = 3000;

/// After a heat pause the machine stays at `fair` or `nominal` this long before the worker
/// rejoins: a machine that just cooled heats up again at once under full load...
pub const THERMAL_RESUME_AFTER: Duration = Duration::from_secs(300);
/// ...doubled for each pause within this long of the previous one's end (a fanless Mac)...
pub const THERMAL_REPEAT_WINDOW: Duration = Duration::from_secs(3600);
/// ...up to this.
pub const THERMAL_RESUME_AFTER_MAX: Duration = Duration::from_secs(20 * 60);

/// The heat notices are given at most once per this long (the menu still shows each pause).
pub const NOTIFY_HEAT_EVERY: Duration = Duration::from_secs(4 * 3600);

/// How a worker leaves under an automatic pause: the time its tasks get (`None`: none) and why.
pub fn leave_for(pause: AutoPause) -> (Option<Duration>, StopReason) {
    let reason = match pause {
        AutoPause::Asleep => return (None, StopReason::Sleep),
        AutoPause::LowBattery { .. } | AutoPause::OnBattery => StopReason::Battery,
        AutoPause::RunsHot { .. } => StopReason::RunsHot,
        AutoPause::UserPresent { .. } => StopReason::UserBack,
    };
    (Some(AUTO_PAUSE_DRAIN_DEADLINE), reason)
}

/// How often the machine watcher reads power, lid and the sleep clock while the OS says
/// nothing: only this catches the battery level, the lid, and a sleep with no wake notice...
pub const MACHINE_LOOK_EVERY: Duration = Duration::from_secs(15);
/// ...and where the OS signals no power change: an unplug releases the hold within ~6 s.
pub const MACHINE_LOOK_EVERY_UNSIGNALLED: Duration = Duration::from_secs(5);

/// How often the user's idle time is read under "only when idle" (the OS posts no input).
pub const USER_IDLE_LOOK_EVERY: Duration = Duration::from_secs(5);

/// The cluster's size (an HTTP request to the dashboard) is asked this often where shown.
pub const CLUSTER_ASK_EVERY: Duration = Duration::from_secs(30);

/// The releases feed is asked for the newest version this often (the first time
/// `[timing] first_update_check_secs` after start, when the network has settled)...
pub const UPDATE_CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);
/// ...and given this long to answer.
pub const UPDATE_FEED_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// How long the worker is kept while the head is unreachable (rides through blips).
    pub grace: Duration,
    /// Probe cadence while the head answers: a loss is seen within this plus the timeout.
    pub probe_every_up: Duration,
    /// ...while it does not: a return is seen within this.
    pub probe_every_down: Duration,
    /// ...while paused or in error, when nothing depends on the answer soon.
    pub probe_every_idle: Duration,
    /// A worker that has not joined by then is stopped and counted as a failure.
    pub join_timeout: Duration,
    /// Between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
    pub backoff: BackoffPolicy,
    pub laptop: LaptopPolicy,
    pub courtesy: CourtesyPolicy,
}

/// config.toml's defaults on a machine that is not a laptop.
impl Default for Settings {
    fn default() -> Self {
        Settings::from_config(&crate::config::Config::default(), false)
    }
}

impl Settings {
    /// The longest a quit takes: the supervisor exits by then, the worker's end reported or not.
    pub fn quit_deadline(&self) -> Duration {
        self.stop_grace + STOP_MARGIN
    }

    /// On SIGTERM Ray first asks the head to drain the node (up to 30 s): with the head
    /// unreachable, or a new head that never knew the node, that can only time out.
    pub fn stop_grace_for(&self, reason: StopReason) -> Duration {
        match reason {
            StopReason::HeadLost | StopReason::HeadRestarted => {
                self.stop_grace.min(Duration::from_secs(3))
            }
            _ => self.stop_grace,
        }
    }

    /// The longest a sleep is held back while the worker stops, within what macOS allows.
    pub fn sleep_hold(&self) -> Duration {
        self.quit_deadline().min(SLEEP_HOLD_MAX)
    }

    /// On a `laptop` (unless `mode` says otherwise) the battery policy applies and restarts are
    /// capped at 30 s rather than a minute.
    pub fn from_config(config: &crate::config::Config, laptop: bool) -> Settings {
        use crate::config::Mode;
        let mobile = match config.mode {
            Mode::Mobile => true,
            Mode::Fixed => false,
            Mode::Auto => laptop,
        };
        let timing = &config.timing;
        let max = Duration::from_secs(if mobile { 30 } else { 60 });
        Settings {
            grace: Duration::from_secs(timing.grace_secs),
            probe_every_up: Duration::from_millis(timing.probe_interval_ms),
            probe_every_down: Duration::from_secs(1),
            probe_every_idle: Duration::from_secs(5),
            stop_grace: Duration::from_secs(timing.stop_grace_secs),
            join_timeout: Duration::from_secs(timing.join_timeout_secs),
            laptop: LaptopPolicy {
                mobile,
                battery: config.battery.clone(),
            },
            courtesy: CourtesyPolicy {
                keep_awake: config.keep_awake,
                pause_at_thermal: config.pause_at_thermal,
                only_when_idle: config
                    .only_when_idle_minutes
                    .map(|minutes| Duration::from_secs(u64::from(minutes) * 60)),
            },
            backoff: BackoffPolicy {
                max,
                ..BackoffPolicy::default()
            },
        }
    }
}

/// The longest any quit can take (`timing.stop_grace_secs` at most 120), for a client.
pub fn longest_quit() -> Duration {
    Duration::from_secs(120) + STOP_MARGIN
}

/// How restarts back off and when to give up.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffPolicy {
    /// The first delay; also the floor between any two starts (s6: at most one a second).
    pub first: Duration,
    pub factor: f64,
    pub max: Duration,
    /// This many failures within `window` trip the breaker.
    pub burst: usize,
    pub window: Duration,
    /// A worker joined this long resets the delay to `first`.
    pub stable_after: Duration,
    /// The cap after exits the network caused while the head answered (no breaker: a long cap).
    pub network_max: Duration,
    /// Up to this fraction is added at random (from `seed`): no restarts in lockstep.
    pub jitter: f64,
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
            network_max: Duration::from_secs(300),
            jitter: 0.1,
            seed: 0x5eed_b177_7ade,
        }
    }
}

/// A laptop's policy (mobile mode): `[battery]` applies.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaptopPolicy {
    /// The battery policy applies (sleep and wake apply to every machine).
    pub mobile: bool,
    pub battery: BatteryConfig,
}

/// config.toml's `keep_awake`, `pause_at_thermal`, `only_when_idle_minutes`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CourtesyPolicy {
    pub keep_awake: KeepAwake,
    pub pause_at_thermal: PauseAtThermal,
    /// Contribute only after this long without input; `None`: always.
    pub only_when_idle: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_laptop_restarts_sooner_and_watches_its_battery() {
        let config = crate::config::Config::with_defaults(4);
        let laptop = Settings::from_config(&config, true);
        let desktop = Settings::from_config(&config, false);
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

    #[test]
    fn the_mode_decides_unless_auto_and_the_file_sets_the_rest() {
        use crate::config::{Config, Mode};
        let with = |mode| Config {
            mode,
            only_when_idle_minutes: Some(3),
            ..Config::with_defaults(4)
        };
        assert!(
            Settings::from_config(&with(Mode::Mobile), false)
                .laptop
                .mobile
        );
        assert!(
            !Settings::from_config(&with(Mode::Fixed), true)
                .laptop
                .mobile
        );
        assert!(Settings::from_config(&with(Mode::Auto), true).laptop.mobile);
        let desktop = Settings::from_config(&with(Mode::Auto), false);
        assert!(!desktop.laptop.mobile);
        assert_eq!(desktop.backoff, Settings::default().backoff);

        assert_eq!(desktop.grace, Duration::from_secs(30));
        assert_eq!(
            desktop.courtesy.only_when_idle,
            Some(Duration::from_secs(180))
        );
        assert_eq!(desktop.laptop.battery, with(Mode::Auto).battery);
    }
}
