//! Power facts: mains or battery, the battery's level, a closed lid (the supervisor judges them).
//! Pure readers tested everywhere ([`sources`] for IOKit, [`sysfs`] for Linux) interpret what the
//! OS says; [`SystemPower`] asks the real machine in-process, as it runs every few seconds.

use crate::model::PowerSnapshot;

pub mod changes;
#[cfg(not(target_os = "macos"))]
mod linux;
#[cfg(target_os = "macos")]
mod macos;
pub mod sources;
pub mod sysfs;
pub mod uevent;

pub use changes::PowerChanges;
#[cfg(not(target_os = "macos"))]
pub use linux::supply_dir;
pub use sysfs::{parse_proc_acpi_lid, read_linux_lid, read_linux_power};

pub trait PowerSource: Send {
    /// Never fails: see [`crate::model::POWER_UNKNOWN`].
    fn power(&self) -> PowerSnapshot;
    /// `Some(true)` closed; `None` without a lid, or when the OS does not say.
    fn lid_closed(&self) -> Option<bool>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemPower;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Battery, ChargeState};

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
