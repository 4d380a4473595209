//! The Linux power readers: `/sys/class/power_supply` and `/proc/acpi/button/lid`, from a folder
//! given as a parameter (tests build trees and use recorded files).

use std::collections::HashMap;
use std::path::Path;

use crate::model::{Battery, ChargeState, PowerSnapshot};

/// How full a battery is in absolute terms, to weigh several against each other; energy (µWh) and
/// charge (µAh) cannot be mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reserve {
    energy: bool,
    now: u64,
    full: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UeventBattery {
    battery: Battery,
    reserve: Option<Reserve>,
}

/// Parses a battery's `uevent` (`POWER_SUPPLY_KEY=value` lines). The level is `CAPACITY`, else
/// (older kernels) `ENERGY_NOW/ENERGY_FULL` or `CHARGE_NOW/CHARGE_FULL`, clamped to 100 (a worn
/// battery can report more than full). `None` without a level or with `PRESENT=0`.
fn parse_uevent_battery(text: &str) -> Option<UeventBattery> {
    let fields: HashMap<&str, &str> = text
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let key = key.trim();
            (
                key.strip_prefix("POWER_SUPPLY_").unwrap_or(key),
                value.trim(),
            )
        })
        .collect();
    if fields.get("PRESENT") == Some(&"0") {
        return None;
    }
    let number = |key: &str| fields.get(key).and_then(|v| v.parse::<u64>().ok());
    let reserve = |energy: bool, now: &str, full: &str| match (number(now), number(full)) {
        (Some(now), Some(full)) if full > 0 => Some(Reserve { energy, now, full }),
        _ => None,
    };
    let reserve = reserve(true, "ENERGY_NOW", "ENERGY_FULL")
        .or_else(|| reserve(false, "CHARGE_NOW", "CHARGE_FULL"));
    let percent = match number("CAPACITY") {
        Some(capacity) => capacity.min(100),
        None => reserve.map(|r| percent_of(r.now, r.full))?,
    };
    let state = match fields.get("STATUS").copied() {
        Some("Charging") => ChargeState::Charging,
        Some("Discharging") => ChargeState::Discharging,
        Some("Full") => ChargeState::Full,
        Some("Not charging") => ChargeState::NotCharging,
        _ => ChargeState::Unknown,
    };
    Some(UeventBattery {
        battery: Battery {
            percent: percent as u8,
            state,
        },
        reserve,
    })
}

/// `now / full` as a rounded percentage, at most 100 (`full` > 0).
fn percent_of(now: u64, full: u64) -> u64 {
    let now = now.min(full) as u128;
    let full = full as u128;
    ((now * 100 + full / 2) / full) as u64
}

/// Reads every supply: `Mains` and `USB*` ones are external power when `online` is 1; batteries of
/// `scope` `Device` (a mouse's) are skipped; several batteries (ThinkPads) become one, weighted by
/// energy (or charge) when all report it, else averaged. Without a mains supply the batteries
/// decide; with nothing at all (a desktop, a VM, no folder) it is [`crate::model::POWER_UNKNOWN`].
pub fn read_linux_power(sys_class_power_supply: &Path) -> PowerSnapshot {
    let mut batteries = Vec::new();
    let mut external: Option<bool> = None;
    for dir in sorted_subdirs(sys_class_power_supply) {
        let kind = read_trimmed(&dir.join("type"));
        match kind.as_deref() {
            Some("Battery") => {
                if read_trimmed(&dir.join("scope")).as_deref() == Some("Device") {
                    continue;
                }
                let uevent = std::fs::read_to_string(dir.join("uevent"));
                batteries.extend(uevent.ok().and_then(|text| parse_uevent_battery(&text)));
            }
            // USB, USB_C, USB_PD, ...: a charger on a USB port.
            Some(kind) if kind == "Mains" || kind.starts_with("USB") => {
                let online = read_trimmed(&dir.join("online")).as_deref() == Some("1");
                external = Some(external.unwrap_or(false) || online);
            }
            _ => {}
        }
    }
    let battery = combine_batteries(&batteries);
    let charging = batteries
        .iter()
        .any(|b| b.battery.state == ChargeState::Charging);
    let on_ac = match external {
        // A battery only charges from outside, even when the charger is not listed (some USB-C
        // ones).
        Some(online) => online || charging,
        None => !batteries
            .iter()
            .any(|b| b.battery.state == ChargeState::Discharging),
    };
    PowerSnapshot { on_ac, battery }
}

fn combine_batteries(batteries: &[UeventBattery]) -> Option<Battery> {
    match batteries {
        [] => return None,
        // One battery: its own CAPACITY, what the desktop's indicator shows.
        [only] => return Some(only.battery),
        _ => {}
    }
    // Weighed by energy, or by charge, when every battery reports the same one.
    let weighted = batteries
        .iter()
        .map(|b| b.reserve)
        .collect::<Option<Vec<_>>>()
        .filter(|all| all.iter().all(|r| r.energy == all[0].energy))
        .and_then(|all| {
            let now: u64 = all.iter().map(|r| r.now.min(r.full)).sum();
            let full: u64 = all.iter().map(|r| r.full).sum();
            (full > 0).then(|| percent_of(now, full))
        });
    let percent = weighted.unwrap_or_else(|| {
        let sum: u64 = batteries.iter().map(|b| u64::from(b.battery.percent)).sum();
        let count = batteries.len() as u64;
        (sum + count / 2) / count
    });
    // Any charging or discharging is what the pack does; an idle second battery reports Unknown
    // (ThinkPads) and must not hide it.
    let state = [
        ChargeState::Charging,
        ChargeState::Discharging,
        ChargeState::NotCharging,
        ChargeState::Full,
    ]
    .into_iter()
    .find(|state| batteries.iter().any(|b| b.battery.state == *state))
    .unwrap_or(ChargeState::Unknown);
    Some(Battery {
        percent: percent.min(100) as u8,
        state,
    })
}

/// Parses `/proc/acpi/button/lid/LID*/state` (`state: open`, `closed` or `unsupported`,
/// `drivers/acpi/button.c`): `Some(true)` closed. Some firmware says `open` with the lid shut (an
/// ASUS G14 in the fixtures); this cannot do better.
pub fn parse_proc_acpi_lid(text: &str) -> Option<bool> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("state:"))
        .and_then(|value| match value.trim() {
            "closed" => Some(true),
            "open" => Some(false),
            _ => None,
        })
}

/// The first `LID*` folder (by name) that answers; `None` without a lid.
pub fn read_linux_lid(proc_acpi_button_lid: &Path) -> Option<bool> {
    sorted_subdirs(proc_acpi_button_lid)
        .into_iter()
        .filter(|dir| {
            dir.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("LID"))
        })
        .find_map(|dir| parse_proc_acpi_lid(&std::fs::read_to_string(dir.join("state")).ok()?))
}

/// The entries of `dir` (following symlinks, as `/sys/class/*` is made of them), sorted; empty if
/// unreadable.
fn sorted_subdirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn snapshot(on_ac: bool, battery: Option<(u8, ChargeState)>) -> Option<PowerSnapshot> {
        Some(PowerSnapshot {
            on_ac,
            battery: battery.map(|(percent, state)| Battery { percent, state }),
        })
    }

    fn parse_power_supply_uevent(text: &str) -> Option<Battery> {
        parse_uevent_battery(text).map(|b| b.battery)
    }

    // --- Linux uevent -------------------------------------------------------------------------

    #[test]
    fn uevent_fixtures() {
        use ChargeState::{Charging, Discharging, Unknown};
        let cases = [
            (
                include_str!("../../../tests/fixtures/linux_sys_power_supply_BAT0_uevent_charging_dell.txt"),
                98,
                Charging,
            ),
            (
                include_str!(
                    "../../../tests/fixtures/linux_sys_power_supply_BAT0_uevent_discharging_dell_xps15_9560.txt"
                ),
                92,
                Discharging,
            ),
            (
                include_str!(
                    "../../../tests/fixtures/linux_sys_power_supply_BAT1_uevent_unknown_depleted_second_battery.txt"
                ),
                0,
                Unknown,
            ),
            // No CAPACITY line: computed from ENERGY_NOW > ENERGY_FULL, clamped to 100.
            (
                include_str!(
                    "../../../tests/fixtures/linux_sys_power_supply_BAT1_uevent_unknown_full_2012_no_capacity.txt"
                ),
                100,
                Unknown,
            ),
        ];
        for (text, percent, state) in cases {
            assert_eq!(
                parse_power_supply_uevent(text),
                Some(Battery { percent, state }),
                "{text}"
            );
        }
    }

    #[test]
    fn uevent_level_from_charge_when_capacity_is_missing() {
        // The real Dell file without its CAPACITY line: 3692000 / 3750000 µAh = 98.45 %.
        let text = include_str!(
            "../../../tests/fixtures/linux_sys_power_supply_BAT0_uevent_charging_dell.txt"
        )
        .lines()
        .filter(|l| !l.starts_with("POWER_SUPPLY_CAPACITY="))
        .collect::<Vec<_>>()
        .join("\n");
        assert_eq!(
            parse_power_supply_uevent(&text),
            Some(Battery {
                percent: 98,
                state: ChargeState::Charging
            })
        );
    }

    #[test]
    fn uevent_constructed_edge_cases() {
        // Constructed in the kernel's KEY=value format.
        let full = "POWER_SUPPLY_STATUS=Full\nPOWER_SUPPLY_CAPACITY=100\n";
        assert_eq!(
            parse_power_supply_uevent(full),
            Some(Battery {
                percent: 100,
                state: ChargeState::Full
            })
        );
        let held = "POWER_SUPPLY_STATUS=Not charging\nPOWER_SUPPLY_CAPACITY=80\n";
        assert_eq!(
            parse_power_supply_uevent(held).map(|b| b.state),
            Some(ChargeState::NotCharging)
        );
        let over = "POWER_SUPPLY_STATUS=Full\nPOWER_SUPPLY_CAPACITY=104\n";
        assert_eq!(
            parse_power_supply_uevent(over).map(|b| b.percent),
            Some(100)
        );
        let empty_bay = "POWER_SUPPLY_PRESENT=0\nPOWER_SUPPLY_CAPACITY=0\n";
        assert_eq!(parse_power_supply_uevent(empty_bay), None);
        let no_level = "POWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_ENERGY_FULL=0\nPOWER_SUPPLY_ENERGY_NOW=5\n";
        assert_eq!(parse_power_supply_uevent(no_level), None);
        assert_eq!(parse_power_supply_uevent(""), None);
    }

    // --- Linux power_supply tree --------------------------------------------------------------

    /// Writes `files` (name, content) into `root/dir/`.
    fn supply(root: &Path, dir: &str, files: &[(&str, &str)]) {
        let dir = root.join(dir);
        fs::create_dir_all(&dir).expect("mkdir");
        for (name, content) in files {
            fs::write(dir.join(name), content).expect("write");
        }
    }

    const DISCHARGING_DELL: &str = include_str!(
        "../../../tests/fixtures/linux_sys_power_supply_BAT0_uevent_discharging_dell_xps15_9560.txt"
    );
    const CHARGING_DELL: &str = include_str!(
        "../../../tests/fixtures/linux_sys_power_supply_BAT0_uevent_charging_dell.txt"
    );
    const DEPLETED_THINKPAD: &str = include_str!(
        "../../../tests/fixtures/linux_sys_power_supply_BAT1_uevent_unknown_depleted_second_battery.txt"
    );
    const FULL_2012: &str = include_str!(
        "../../../tests/fixtures/linux_sys_power_supply_BAT1_uevent_unknown_full_2012_no_capacity.txt"
    );

    #[test]
    fn tree_laptop_unplugged() {
        let root = tempfile::tempdir().expect("tempdir");
        supply(root.path(), "AC", &[("type", "Mains\n"), ("online", "0\n")]);
        supply(
            root.path(),
            "BAT0",
            &[("type", "Battery\n"), ("uevent", DISCHARGING_DELL)],
        );
        assert_eq!(
            Some(read_linux_power(root.path())),
            snapshot(false, Some((92, ChargeState::Discharging)))
        );
    }

    #[test]
    fn tree_laptop_on_usb_c_charger_with_a_mouse_battery() {
        let root = tempfile::tempdir().expect("tempdir");
        supply(
            root.path(),
            "ADP1",
            &[("type", "Mains\n"), ("online", "0\n")],
        );
        supply(
            root.path(),
            "ucsi-source-psy-USBC000:001",
            &[("type", "USB\n"), ("online", "1\n")],
        );
        supply(
            root.path(),
            "BAT0",
            &[
                ("type", "Battery\n"),
                ("scope", "System\n"),
                ("uevent", CHARGING_DELL),
            ],
        );
        // A wireless mouse: a Battery with scope Device, which must not count.
        supply(
            root.path(),
            "hidpp_battery_0",
            &[
                ("type", "Battery\n"),
                ("scope", "Device\n"),
                (
                    "uevent",
                    "POWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_CAPACITY=5\n",
                ),
            ],
        );
        assert_eq!(
            Some(read_linux_power(root.path())),
            snapshot(true, Some((98, ChargeState::Charging)))
        );
    }

    #[test]
    fn tree_two_batteries_are_weighted_by_energy() {
        let root = tempfile::tempdir().expect("tempdir");
        supply(root.path(), "AC", &[("type", "Mains\n"), ("online", "0\n")]);
        // Constructed BAT0 (energy variant) at 50 % of 20 Wh, discharging; the real depleted
        // 30.38 Wh BAT1 next to it: (10 + 0) / (20 + 30.38) = 19.85 % -> 20, not the average 25.
        supply(
            root.path(),
            "BAT0",
            &[
                ("type", "Battery\n"),
                (
                    "uevent",
                    "POWER_SUPPLY_STATUS=Discharging\nPOWER_SUPPLY_ENERGY_FULL=20000000\n\
                     POWER_SUPPLY_ENERGY_NOW=10000000\nPOWER_SUPPLY_CAPACITY=50\n",
                ),
            ],
        );
        supply(
            root.path(),
            "BAT1",
            &[("type", "Battery\n"), ("uevent", DEPLETED_THINKPAD)],
        );
        assert_eq!(
            Some(read_linux_power(root.path())),
            snapshot(false, Some((20, ChargeState::Discharging)))
        );
    }

    #[test]
    fn tree_two_batteries_with_different_units_are_averaged() {
        let root = tempfile::tempdir().expect("tempdir");
        // Dell (charge, µAh, 98 %) and the 2012 battery (energy, µWh, 100 %): units differ, so
        // the plain average (99) is all that can be said. No mains supply is listed: a
        // charging battery means external power.
        supply(
            root.path(),
            "BAT0",
            &[("type", "Battery\n"), ("uevent", CHARGING_DELL)],
        );
        supply(
            root.path(),
            "BAT1",
            &[("type", "Battery\n"), ("uevent", FULL_2012)],
        );
        assert_eq!(
            Some(read_linux_power(root.path())),
            snapshot(true, Some((99, ChargeState::Charging)))
        );
    }

    #[test]
    fn tree_desktop_and_missing_folder() {
        let root = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_linux_power(root.path()), crate::model::POWER_UNKNOWN);
        assert_eq!(
            read_linux_power(&root.path().join("absent")),
            crate::model::POWER_UNKNOWN
        );
        // A desktop with only a mains supply listed, online.
        supply(root.path(), "AC", &[("type", "Mains\n"), ("online", "1\n")]);
        assert_eq!(
            read_linux_power(root.path()),
            PowerSnapshot {
                on_ac: true,
                battery: None
            }
        );
    }

    #[test]
    fn tree_without_mains_entry_follows_the_battery() {
        let root = tempfile::tempdir().expect("tempdir");
        supply(
            root.path(),
            "BAT0",
            &[("type", "Battery\n"), ("uevent", DISCHARGING_DELL)],
        );
        assert!(!read_linux_power(root.path()).on_ac);
    }

    // --- Linux lid ----------------------------------------------------------------------------

    #[test]
    fn lid_fixtures_are_open() {
        for text in [
            include_str!("../../../tests/fixtures/linux_proc_acpi_lid_LID0_state_open.txt"),
            include_str!("../../../tests/fixtures/linux_proc_acpi_lid_LID_state_open.txt"),
            // Physically closed, but the firmware says open: we can only repeat it.
            include_str!(
                "../../../tests/fixtures/linux_proc_acpi_lid_LID0_state_open_while_lid_closed_asus_g14.txt"
            ),
        ] {
            assert_eq!(parse_proc_acpi_lid(text), Some(false), "{text}");
        }
    }

    #[test]
    fn lid_constructed_closed_and_unsupported() {
        // Constructed from the kernel's format string (drivers/acpi/button.c):
        // seq_printf(seq, "state:      %s\n", ... "unsupported" : (state ? "open" : "closed")).
        assert_eq!(parse_proc_acpi_lid("state:      closed\n"), Some(true));
        assert_eq!(parse_proc_acpi_lid("state:      unsupported\n"), None);
        assert_eq!(parse_proc_acpi_lid(""), None);
    }

    #[test]
    fn lid_tree_finds_any_lid_folder() {
        let root = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_linux_lid(root.path()), None);
        assert_eq!(read_linux_lid(&root.path().join("absent")), None);
        fs::create_dir(root.path().join("LID")).expect("mkdir");
        fs::write(root.path().join("LID/state"), "state:      closed\n").expect("write");
        assert_eq!(read_linux_lid(root.path()), Some(true));

        let other = tempfile::tempdir().expect("tempdir");
        fs::create_dir(other.path().join("LID0")).expect("mkdir");
        fs::write(
            other.path().join("LID0/state"),
            include_str!("../../../tests/fixtures/linux_proc_acpi_lid_LID0_state_open.txt"),
        )
        .expect("write");
        // Not a lid: ignored even though it has a state file.
        fs::create_dir(other.path().join("PWRB")).expect("mkdir");
        fs::write(other.path().join("PWRB/state"), "state:      closed\n").expect("write");
        assert_eq!(read_linux_lid(other.path()), Some(false));
    }
}
