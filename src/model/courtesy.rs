//! How the worker keeps out of the user's way: keeping the machine awake while it contributes,
//! stepping back when the machine runs hot, contributing only while the user is away. The
//! choices (from config.toml), the facts the OS reports, and what the supervisor makes of them
//! for the tray and the CLI.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When idle sleep is held off while the worker contributes (`keep_awake` in config.toml).
/// Only *idle* sleep: a closed lid or the user's own "Sleep" still sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepAwake {
    /// While connected and on mains power (Folding@home's default).
    #[default]
    OnPower,
    /// While connected, on power or on battery.
    Always,
    /// Never: the machine sleeps as the OS decides.
    Never,
}

/// The machine's thermal pressure as the OS reports it (macOS `NSProcessInfoThermalState`).
/// Ordered from cool to hot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThermalState {
    /// Within normal limits.
    Nominal,
    /// Slightly elevated; no action needed.
    Fair,
    /// High: the OS already slows things down; the user notices fans and heat.
    Serious,
    /// Critical: the OS throttles hard.
    Critical,
}

/// At which thermal state the worker steps back (`pause_at_thermal` in config.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseAtThermal {
    /// At `serious` or hotter.
    #[default]
    Serious,
    /// Only at `critical`.
    Critical,
    /// Never.
    Never,
}

impl PauseAtThermal {
    /// The coolest state that pauses, `None` for never.
    pub fn threshold(self) -> Option<ThermalState> {
        match self {
            PauseAtThermal::Serious => Some(ThermalState::Serious),
            PauseAtThermal::Critical => Some(ThermalState::Critical),
            PauseAtThermal::Never => None,
        }
    }
}

/// What the OS made of the idle-sleep hold (`keep_awake`), as the platform reports it back:
/// the status says the machine is kept awake only once the OS granted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwakeHold {
    /// Granted: idle sleep is held off.
    Held,
    /// Let go, as asked.
    Released,
    /// Nothing here can hold it (no logind, as for the sleep watcher): not held, nothing said.
    Unavailable,
    /// The OS refused (an IOKit error, logind denied it); `why` is for the log.
    Refused { why: String },
}

/// One reading of the user's idleness ("only when idle"), as the OS gave it: a fact, never a
/// verdict. The supervisor decides what each means (`supervisor::courtesy::Presence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleReading {
    /// The last keyboard or mouse input was this long ago (zero: in use now).
    Idle(Duration),
    /// A graphical session whose desktop has not set logind's idle hint since it began: a
    /// fresh session before its first idle period, or a desktop that never reports it.
    HintNeverSet,
    /// The read failed (a D-Bus error): it says nothing new.
    ReadFailed,
    /// Nothing here can tell: no logind, no graphical session (a tty or ssh session), or an
    /// OS without a reading.
    NoSession,
}

/// What the courtesy rules are set to and what they do now, for the tray and `status`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CourtesyStatus {
    pub keep_awake: KeepAwake,
    /// Idle sleep is held off now: the supervisor wants it (the worker is connected and the
    /// setting allows it) and the OS granted it.
    pub keeping_awake: bool,
    /// The supervisor wants idle sleep held off (what the platform's hold follows), granted or
    /// not.
    pub hold_awake: bool,
    /// The `pause_at_thermal` setting.
    pub pause_at_thermal: PauseAtThermal,
    /// The thermal state last reported; `None` where the OS does not report one (Linux).
    pub thermal: Option<ThermalState>,
    /// The `only_when_idle_minutes` setting; `None` when off.
    pub only_when_idle_minutes: Option<u32>,
    /// "Only when idle" is on but this machine cannot tell how long the user has been away
    /// (no logind idle hint): the rule is not applied, and the menu says so.
    pub idle_unsupported: bool,
    /// "Only when idle" is on and the graphical session's desktop has not reported idleness
    /// since it began: the user counts as at the machine, and the menu says why.
    pub idle_hint_never_set: bool,
}
