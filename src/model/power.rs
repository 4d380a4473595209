//! The machine's power situation, as the OS readers report it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeState {
    Charging,
    Discharging,
    Full,
    /// On external power but held: macOS `AC attached; not charging` (battery health management at
    /// 80 %, a weak charger), Linux `Not charging` (charge thresholds).
    NotCharging,
    /// Not said, or not known here.
    Unknown,
}

/// One battery, or several combined into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Battery {
    pub percent: u8,
    pub state: ChargeState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerSnapshot {
    /// From an external supply (mains, USB-C charger) rather than the battery.
    pub on_ac: bool,
    /// `None` on a machine without one.
    pub battery: Option<Battery>,
}

/// What the reader says when the OS cannot be asked: a desktop's word, which pauses nothing.
pub const POWER_UNKNOWN: PowerSnapshot = PowerSnapshot {
    on_ac: true,
    battery: None,
};
