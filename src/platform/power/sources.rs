//! What macOS's power-sources API (`IOPSCopyPowerSourcesInfo`, what `pmset -g batt` prints
//! from) says, as plain values, and what it means for us. Pure, so it is tested on every OS;
//! `macos.rs` copies the values out of IOKit's dictionaries.

use crate::model::{Battery, ChargeState, PowerSnapshot};

/// One power source's description (the `IOPSKeys.h` keys read); IOKit documents any key may be
/// missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PowerSourceReading {
    /// `Type`: `InternalBattery`, `UPS`, …
    pub kind: Option<String>,
    /// A battery bay can be empty.
    pub is_present: Option<bool>,
    /// `Power Source State`: `AC Power`, `Battery Power` or `Off Line`.
    pub state: Option<String>,
    /// In units of `Max Capacity` (percent on recent Macs).
    pub current_capacity: Option<i64>,
    pub max_capacity: Option<i64>,
    pub is_charging: Option<bool>,
    pub is_charged: Option<bool>,
}

pub const INTERNAL_BATTERY: &str = "InternalBattery";
/// `IOPSGetProvidingPowerSourceType` on mains.
pub const AC_POWER: &str = "AC Power";
/// A source's `Power Source State` when it powers the machine.
pub const BATTERY_POWER: &str = "Battery Power";

/// `None` when IOKit said nothing. Only `AC Power` is mains (`Battery Power` and `UPS Power` are
/// not the wall socket); a Mac without a battery answers `AC Power`.
pub fn snapshot_from_sources(
    providing: Option<&str>,
    sources: &[PowerSourceReading],
) -> Option<PowerSnapshot> {
    let battery = sources
        .iter()
        .filter(|source| source.kind.as_deref() == Some(INTERNAL_BATTERY))
        .find(|source| source.is_present != Some(false))
        .and_then(battery_of);
    let on_ac = match (providing, battery) {
        (Some(providing), _) => providing == AC_POWER,
        // No providing type (not seen, cheap to survive): the battery decides.
        (None, Some(battery)) => battery.state != ChargeState::Discharging,
        (None, None) => return None,
    };
    Some(PowerSnapshot { on_ac, battery })
}

/// In `pmset`'s order: `charged`, `charging`, `AC attached` (held), else `discharging`.
fn battery_of(source: &PowerSourceReading) -> Option<Battery> {
    let current = source.current_capacity?;
    let max = source.max_capacity.filter(|max| *max > 0)?;
    let percent = (current.clamp(0, max) * 100 + max / 2) / max;
    let (charged, charging) = (source.is_charged, source.is_charging);
    let state = match (charged, charging, source.state.as_deref()) {
        (Some(true), _, _) => ChargeState::Full,
        (_, Some(true), _) => ChargeState::Charging,
        (_, _, Some(AC_POWER)) => ChargeState::NotCharging,
        (_, _, Some(BATTERY_POWER)) => ChargeState::Discharging,
        _ => ChargeState::Unknown,
    };
    Some(Battery {
        percent: u8::try_from(percent.min(100)).unwrap_or(100),
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn battery(
        state: &str,
        current: i64,
        charging: bool,
        charged: Option<bool>,
    ) -> PowerSourceReading {
        PowerSourceReading {
            kind: Some(INTERNAL_BATTERY.to_string()),
            is_present: Some(true),
            state: Some(state.to_string()),
            current_capacity: Some(current),
            max_capacity: Some(100),
            is_charging: Some(charging),
            is_charged: charged,
        }
    }

    fn snap(on_ac: bool, percent: u8, state: ChargeState) -> Option<PowerSnapshot> {
        Some(PowerSnapshot {
            on_ac,
            battery: Some(Battery { percent, state }),
        })
    }

    // The cases `pmset -g batt` prints, as the API under it describes them.

    #[test]
    fn on_battery_discharging() {
        let sources = [battery(BATTERY_POWER, 41, false, None)];
        assert_eq!(
            snapshot_from_sources(Some(BATTERY_POWER), &sources),
            snap(false, 41, ChargeState::Discharging)
        );
    }

    #[test]
    fn on_mains_charging_held_and_full() {
        let charging = [battery(AC_POWER, 63, true, None)];
        assert_eq!(
            snapshot_from_sources(Some(AC_POWER), &charging),
            snap(true, 63, ChargeState::Charging)
        );
        // "80%; AC attached; not charging": battery health management holds it.
        let held = [battery(AC_POWER, 80, false, None)];
        assert_eq!(
            snapshot_from_sources(Some(AC_POWER), &held),
            snap(true, 80, ChargeState::NotCharging)
        );
        // "100%; charged": IOKit sets Is Charged (and sometimes still Is Charging).
        let full = [battery(AC_POWER, 100, true, Some(true))];
        assert_eq!(
            snapshot_from_sources(Some(AC_POWER), &full),
            snap(true, 100, ChargeState::Full)
        );
    }

    #[test]
    fn a_desktop_has_no_internal_battery() {
        assert_eq!(
            snapshot_from_sources(Some(AC_POWER), &[]),
            Some(PowerSnapshot {
                on_ac: true,
                battery: None
            })
        );
        // A UPS on USB is a power source but not the machine's battery.
        let ups = PowerSourceReading {
            kind: Some("UPS".to_string()),
            ..battery(BATTERY_POWER, 90, false, None)
        };
        assert_eq!(
            snapshot_from_sources(Some("UPS Power"), &[ups]),
            Some(PowerSnapshot {
                on_ac: false,
                battery: None
            })
        );
    }

    #[test]
    fn capacities_in_other_units_become_a_percentage() {
        // Older Intel Macs report mAh-like units.
        let source = PowerSourceReading {
            current_capacity: Some(4_470),
            max_capacity: Some(5_960),
            ..battery(BATTERY_POWER, 0, false, None)
        };
        assert_eq!(
            snapshot_from_sources(Some(BATTERY_POWER), &[source]),
            snap(false, 75, ChargeState::Discharging)
        );
    }

    #[test]
    fn missing_or_absent_values_are_survived() {
        let absent = PowerSourceReading {
            is_present: Some(false),
            ..battery(AC_POWER, 50, false, None)
        };
        assert_eq!(
            snapshot_from_sources(Some(AC_POWER), &[absent]),
            Some(PowerSnapshot {
                on_ac: true,
                battery: None
            })
        );
        let no_max = PowerSourceReading {
            max_capacity: Some(0),
            ..battery(AC_POWER, 50, false, None)
        };
        assert_eq!(
            snapshot_from_sources(Some(AC_POWER), &[no_max]).and_then(|s| s.battery),
            None
        );
        assert_eq!(snapshot_from_sources(None, &[]), None);
        assert_eq!(
            snapshot_from_sources(None, &[battery(BATTERY_POWER, 30, false, None)]),
            snap(false, 30, ChargeState::Discharging)
        );
        let over = battery(AC_POWER, 104, true, None);
        assert_eq!(
            snapshot_from_sources(Some(AC_POWER), &[over]),
            snap(true, 100, ChargeState::Charging)
        );
    }
}
