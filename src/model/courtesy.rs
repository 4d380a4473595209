//! How the worker keeps out of the user's way (awake while contributing, stepping back when hot,
//! only while the user is away): the settings, the OS's facts, what the supervisor makes of them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// When idle sleep is held off while contributing (`keep_awake`); a closed lid or the user's
/// "Sleep" still sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepAwake {
    /// While connected and on mains power (Folding@home's default).
    #[default]
    OnPower,
    Always,
    Never,
}

/// The machine's thermal pressure, cool to hot, as the OS reports it (`NSProcessInfoThermalState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThermalState {
    Nominal,
    Fair,
    /// The OS already slows things down; the user notices fans and heat.
    Serious,
    /// The OS throttles hard.
    Critical,
}

/// At which thermal state the worker steps back (`pause_at_thermal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseAtThermal {
    #[default]
    Serious,
    Critical,
    Never,
}

impl PauseAtThermal {
    pub fn threshold(self) -> Option<ThermalState> {
        match self {
            PauseAtThermal::Serious => Some(ThermalState::Serious),
            PauseAtThermal::Critical => Some(ThermalState::Critical),
            PauseAtThermal::Never => None,
        }
    }
}

/// What the OS made of the idle-sleep hold: the status says "kept awake" only once granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwakeHold {
    /// Granted: idle sleep is held off.
    Held,
    /// Let go, as asked.
    Released,
    /// Nothing here can hold it (no logind): not held, nothing said.
    Unavailable,
    /// `why` is for the log.
    Refused { why: String },
}

/// One reading of the user's idleness, as the OS gave it: a fact, never a verdict
/// (`supervisor::courtesy::Presence` judges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleReading {
    /// Since the last keyboard or mouse input (zero: in use now).
    Idle(Duration),
    /// The desktop has not set logind's idle hint since the session began (maybe it never does).
    HintNeverSet,
    /// A D-Bus error: it says nothing new.
    ReadFailed,
    /// Nothing here can tell: no logind, no graphical session (tty, ssh).
    NoSession,
}

/// What the courtesy rules are set to and do now, for the tray and `status`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CourtesyStatus {
    pub keep_awake: KeepAwake,
    /// Idle sleep is held off now: the supervisor wants it and the OS granted it.
    pub keeping_awake: bool,
    /// The supervisor wants idle sleep held off (what the platform's hold follows).
    pub hold_awake: bool,
    pub pause_at_thermal: PauseAtThermal,
    /// `None` where the OS does not report one (Linux).
    pub thermal: Option<ThermalState>,
    pub only_when_idle_minutes: Option<u32>,
    /// "Only when idle" is on but nothing here tells how long the user has been away: not applied.
    pub idle_unsupported: bool,
    /// "Only when idle" is on and the desktop has not reported idleness yet: counted as present.
    pub idle_hint_never_set: bool,
}
