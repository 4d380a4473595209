//! [`SystemPower`] on Linux (and any other non-macOS Unix): reads the real `/sys` and `/proc`
//! folders (or, for tests, the folder `BITTRADER_POWER_SUPPLY_DIR` names).

use std::path::Path;

use super::sysfs::{read_linux_lid, read_linux_power};
use super::{PowerSource, SystemPower};
use crate::model::PowerSnapshot;

/// A folder to read instead of `/sys/class/power_supply` (tests play a charger unplugged by
/// writing files there); the real folder when unset.
pub const POWER_SUPPLY_DIR_ENV: &str = "BITTRADER_POWER_SUPPLY_DIR";

impl PowerSource for SystemPower {
    fn power(&self) -> PowerSnapshot {
        match std::env::var_os(POWER_SUPPLY_DIR_ENV) {
            Some(dir) => read_linux_power(Path::new(&dir)),
            None => read_linux_power(Path::new("/sys/class/power_supply")),
        }
    }

    fn lid_closed(&self) -> Option<bool> {
        read_linux_lid(Path::new("/proc/acpi/button/lid"))
    }
}
