//! Power facts: on mains or on battery, how full the battery is, whether the lid is closed.
//!
//! The readers are pure, compiled on every OS and tested: [`sources`] maps what macOS's IOKit
//! power-sources API says, [`sysfs`] reads `/sys/class/power_supply/*/uevent` and
//! `/proc/acpi/button/lid/*/state` (Linux) from a folder given as a parameter (tested on
//! recorded real outputs, `tests/fixtures/`). [`pmset`] parses `pmset -g batt` and `ioreg`
//! output; nothing runs those commands any more (they cost a process every few seconds), and
//! the parsers and their recorded outputs stay as the reference the IOKit mapping follows.
//! [`SystemPower`] is the real machine, one file per OS (`macos.rs` asks IOKit in-process,
//! `linux.rs` reads the real folders); [`crate::platform::fake::FakePower`] stands in for it in
//! tests. Neither starts a process. This module reports facts only: what to do on battery or
//! with the lid closed is the supervisor's decision.

use std::sync::Arc;

use crate::model::PowerSnapshot;

pub mod changes;
#[cfg(not(target_os = "macos"))]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
pub mod pmset;
pub mod sources;
pub mod sysfs;
pub mod uevent;

pub use changes::PowerChanges;
pub use pmset::{parse_ioreg_clamshell, parse_pmset_batt};
pub use sysfs::{parse_power_supply_uevent, parse_proc_acpi_lid, read_linux_lid, read_linux_power};

/// The power facts the supervisor needs.
pub trait PowerSource: Send {
    /// Mains or battery, and the battery's level. Never fails: see [`crate::model::POWER_UNKNOWN`].
    fn power(&self) -> PowerSnapshot;
    /// `Some(true)` if the lid is closed, `Some(false)` if open, `None` when there is no lid or
    /// the OS does not say.
    fn lid_closed(&self) -> Option<bool>;
}

/// Lets one fake be shared between a test and the code under test.
impl<T: PowerSource + Sync + ?Sized> PowerSource for Arc<T> {
    fn power(&self) -> PowerSnapshot {
        (**self).power()
    }
    fn lid_closed(&self) -> Option<bool> {
        (**self).lid_closed()
    }
}

/// The real machine: IOKit on macOS, `/sys` and `/proc` elsewhere, all read in-process.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemPower;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Battery, ChargeState};

    /// A snapshot as the parsers give it, for the parser tests of [`super::pmset`] and
    /// [`super::sysfs`].
    pub(super) fn snapshot(
        on_ac: bool,
        battery: Option<(u8, ChargeState)>,
    ) -> Option<PowerSnapshot> {
        Some(PowerSnapshot {
            on_ac,
            battery: battery.map(|(percent, state)| Battery { percent, state }),
        })
    }

    // --- The real machine (whatever this test host is) ---------------------------------------

    #[test]
    fn system_power_answers_without_panicking() {
        let power = SystemPower;
        let snapshot = power.power();
        if let Some(battery) = snapshot.battery {
            assert!(battery.percent <= 100);
        }
        let _ = power.lid_closed();
    }

    #[test]
    fn snapshot_serializes_for_the_status_json() {
        let json = serde_json::to_string(&PowerSnapshot {
            on_ac: true,
            battery: Some(Battery {
                percent: 80,
                state: ChargeState::NotCharging,
            }),
        })
        .expect("json");
        assert_eq!(
            json,
            r#"{"on_ac":true,"battery":{"percent":80,"state":"not_charging"}}"#
        );
    }
}
