//! [`SystemPower`] on Linux (and any other non-macOS Unix): the real `/sys` and `/proc`.

use std::path::{Path, PathBuf};

use super::sysfs::{read_linux_lid, read_linux_power};
use super::{PowerSource, SystemPower};
use crate::model::PowerSnapshot;

/// A folder read instead of `/sys/class/power_supply`: tests give the daemon a machine of their
/// own (the kernel signals no change of it: it is read at each look).
pub const POWER_SUPPLY_DIR_ENV: &str = "BITTRADER_POWER_SUPPLY_DIR";

/// `/sys/class/power_supply`, or the folder `BITTRADER_POWER_SUPPLY_DIR` names.
pub fn supply_dir() -> PathBuf {
    std::env::var_os(POWER_SUPPLY_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/sys/class/power_supply"))
}

impl PowerSource for SystemPower {
    fn power(&self) -> PowerSnapshot {
        read_linux_power(&supply_dir())
    }

    fn lid_closed(&self) -> Option<bool> {
        read_linux_lid(Path::new("/proc/acpi/button/lid"))
    }
}
