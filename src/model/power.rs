//! The machine's power situation, as the OS readers report it and the supervisor uses it.

use serde::{Deserialize, Serialize};

/// What the battery is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeState {
    /// Taking charge from an external supply.
    Charging,
    /// Powering the machine.
    Discharging,
    /// Full (macOS `charged`, Linux `Full`).
    Full,
    /// On external power but held where it is: macOS `AC attached; not charging` (battery
    /// health management holding it at 80 %, or a weak charger), Linux `Not charging`
    /// (charge thresholds).
    NotCharging,
    /// The OS did not say, or said something this code does not know.
    Unknown,
}

/// One battery, or several combined into one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Battery {
    /// Charge level, 0 to 100.
    pub percent: u8,
    pub state: ChargeState,
}

/// The machine's power situation at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerSnapshot {
    /// Running from an external supply (mains, USB-C charger) rather than from the battery.
    pub on_ac: bool,
    /// The internal battery; `None` on a machine without one (a desktop).
    pub battery: Option<Battery>,
}

/// What the power reader (`platform::SystemPower`) reports when the OS cannot be asked: what a desktop reports (mains, no
/// battery). A broken probe must not stop work on its own; it shows up as "no battery known".
pub const POWER_UNKNOWN: PowerSnapshot = PowerSnapshot {
    on_ac: true,
    battery: None,
};
