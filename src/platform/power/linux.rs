//! [`SystemPower`] on Linux (and any other non-macOS Unix): reads the real `/sys` and `/proc`
//! folders.

use std::path::Path;

use super::sysfs::{read_linux_lid, read_linux_power};
use super::{PowerSource, SystemPower};
use crate::model::PowerSnapshot;

impl PowerSource for SystemPower {
    fn power(&self) -> PowerSnapshot {
        read_linux_power(Path::new("/sys/class/power_supply"))
    }

    fn lid_closed(&self) -> Option<bool> {
        read_linux_lid(Path::new("/proc/acpi/button/lid"))
    }
}
