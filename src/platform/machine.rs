//! What kind of machine this is: a laptop (runs on battery, has a lid) or a desktop.
//!
//! The laptop-aware features (pause on battery, on a closed lid) only apply to laptops, so the
//! app asks once at start. macOS: `sysctl -n hw.model`, then a table for the Apple-silicon
//! `MacNN,N` identifiers that do not show the form factor. Linux: the DMI chassis type. Both
//! fall back to "has an internal battery". Facts only; no policy here.

use std::path::Path;

use serde::Serialize;

use super::power::sysfs::read_trimmed;

/// Laptop or desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FormFactor {
    /// Has a battery and a lid (MacBooks; Linux chassis portable/laptop/notebook/...).
    Laptop,
    /// Always on mains (iMac, Mac mini, Mac Studio, Mac Pro; desktop and server chassis).
    Desktop,
    /// Nothing said which.
    Unknown,
}

/// Apple-silicon identifiers (`MacNN,N`) and whether each is a laptop.
///
/// Generated from `tests/fixtures/hw_models.tsv` (rows whose identifier is `Mac` + digits),
/// which transcribes fastfetch's `ffHostGetMacProductNameWithHwModel()` in
/// `src/detection/host/host_mac.c` @3e3451d4b70a2604359680a8d543f4024e26bbe8 (itself citing
/// Apple's "Identify your Mac" pages); "laptop" = the product name starts with "MacBook". The
/// older families (`MacBookPro18,3`, `iMac21,1`, `Macmini9,1`, ...) need no table: their name
/// says it, and a test checks every row of the TSV against [`form_factor_from_hw_model`].
/// A new identifier missing here gives [`FormFactor::Unknown`], and the battery decides.
const MAC_MODELS: &[(&str, bool)] = &[
    ("Mac17,9", true),   // MacBook Pro (14-inch, M5 Pro, 2026)
    ("Mac17,8", true),   // MacBook Pro (16-inch, M5 Pro, 2026)
    ("Mac17,7", true),   // MacBook Pro (14-inch, M5 Max, 2026)
    ("Mac17,6", true),   // MacBook Pro (16-inch, M5 Max, 2026)
    ("Mac17,5", true),   // MacBook Neo (13-inch, A18 Pro, 2026)
    ("Mac17,4", true),   // MacBook Air (15-inch, M5, 2026)
    ("Mac17,3", true),   // MacBook Air (13-inch, M5, 2026)
    ("Mac17,2", true),   // MacBook Pro (14-inch, M5, 2025)
    ("Mac16,13", true),  // MacBook Air (15-inch, M4, 2025)
    ("Mac16,12", true),  // MacBook Air (13-inch, M4, 2025)
    ("Mac16,11", false), // Mac Mini (2024)
    ("Mac16,10", false), // Mac Mini (2024)
    ("Mac16,9", false),  // Mac Studio (M4 Max, 2025)
    ("Mac16,3", false),  // iMac (24-inch, 2024, Four Thunderbolt / USB 4 ports)
    ("Mac16,2", false),  // iMac (24-inch, 2024, Two Thunderbolt / USB 4 ports)
    ("Mac16,1", true),   // MacBook Pro (14-inch, 2024, Three Thunderbolt 4 ports)
    ("Mac16,6", true),   // MacBook Pro (14-inch, 2024, Three Thunderbolt 5 ports)
    ("Mac16,8", true),   // MacBook Pro (14-inch, 2024, Three Thunderbolt 5 ports)
    ("Mac16,7", true),   // MacBook Pro (16-inch, 2024, Three Thunderbolt 5 ports)
    ("Mac16,5", true),   // MacBook Pro (16-inch, 2024, Three Thunderbolt 5 ports)
    ("Mac15,14", false), // Mac Studio (M3 Ultra, 2025)
    ("Mac15,13", true),  // MacBook Air (15-inch, M3, 2024)
    ("Mac15,12", true),  // MacBook Air (13-inch, M3, 2024)
    ("Mac15,3", true),   // MacBook Pro (14-inch, Nov 2023, Two Thunderbolt / USB 4 ports)
    ("Mac15,4", false),  // iMac (24-inch, 2023, Two Thunderbolt / USB 4 ports)
    ("Mac15,5", false),  // iMac (24-inch, 2023, Two Thunderbolt / USB 4 ports, Two USB 3 ports)
    ("Mac15,6", true),   // MacBook Pro (14-inch, Nov 2023, Three Thunderbolt 4 ports)
    ("Mac15,8", true),   // MacBook Pro (14-inch, Nov 2023, Three Thunderbolt 4 ports)
    ("Mac15,10", true),  // MacBook Pro (14-inch, Nov 2023, Three Thunderbolt 4 ports)
    ("Mac15,7", true),   // MacBook Pro (16-inch, Nov 2023, Three Thunderbolt 4 ports)
    ("Mac15,9", true),   // MacBook Pro (16-inch, Nov 2023, Three Thunderbolt 4 ports)
    ("Mac15,11", true),  // MacBook Pro (16-inch, Nov 2023, Three Thunderbolt 4 ports)
    ("Mac14,15", true),  // MacBook Air (15-inch, M2, 2023)
    ("Mac14,14", false), // Mac Studio (M2 Ultra, 2023, Two Thunderbolt 4 front ports)
    ("Mac14,13", false), // Mac Studio (M2 Max, 2023, Two USB-C front ports)
    ("Mac14,8", false),  // Mac Pro (2023)
    ("Mac14,6", true),   // MacBook Pro (16-inch, 2023)
    ("Mac14,10", true),  // MacBook Pro (16-inch, 2023)
    ("Mac14,5", true),   // MacBook Pro (14-inch, 2023)
    ("Mac14,9", true),   // MacBook Pro (14-inch, 2023)
    ("Mac14,3", false),  // Mac mini (M2, 2023, Two Thunderbolt 4 ports)
    ("Mac14,12", false), // Mac mini (M2 Pro, 2023, Four Thunderbolt 4 ports)
    ("Mac14,7", true),   // MacBook Pro (13-inch, M2, 2022)
    ("Mac14,2", true),   // MacBook Air (M2, 2022)
    ("Mac13,1", false),  // Mac Studio (M1 Max, 2022, Two USB-C front ports)
    ("Mac13,2", false),  // Mac Studio (M1 Ultra, 2022, Two Thunderbolt 4 front ports)
];

/// The form factor from a Mac model identifier (`sysctl -n hw.model`, or the `model` of
/// `IOPlatformExpertDevice`), e.g. `MacBookPro18,3` or `Mac15,12`.
pub fn form_factor_from_hw_model(model: &str) -> FormFactor {
    let model = model.trim();
    if model.starts_with("MacBook") {
        return FormFactor::Laptop;
    }
    if let Some((_, laptop)) = MAC_MODELS.iter().find(|(id, _)| *id == model) {
        return if *laptop {
            FormFactor::Laptop
        } else {
            FormFactor::Desktop
        };
    }
    // `MacPro` does not start with `MacBook`; `iMacPro` starts with `iMac`.
    const DESKTOP_FAMILIES: [&str; 4] = ["iMac", "Macmini", "MacPro", "Xserve"];
    if DESKTOP_FAMILIES
        .iter()
        .any(|family| model.starts_with(family))
    {
        return FormFactor::Desktop;
    }
    FormFactor::Unknown
}

/// The model identifier from `ioreg -c IOPlatformExpertDevice -d 2` output, whose line is
/// `"model" = <"MacBookAir10,1">` (a data value holding a C string).
pub fn parse_ioreg_model(text: &str) -> Option<&str> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        let key = key
            .trim_start_matches(|c: char| c == '|' || c.is_whitespace())
            .trim_end();
        if key != "\"model\"" {
            return None;
        }
        let model = value.trim().strip_prefix("<\"")?.strip_suffix("\">")?;
        (!model.is_empty()).then_some(model)
    })
}

/// The form factor from `/sys/class/dmi/id/chassis_type` (a decimal SMBIOS chassis type).
///
/// Grouping per systemd's `fallback_chassis_by_dmi()` (`tests/fixtures/
/// linux_dmi_chassis_type_map.tsv`, SMBIOS DSP0134 §7.4.1): 8 Portable, 9 Laptop, 10 Notebook,
/// 14 Sub Notebook are laptops; so are 30 Tablet, 31 Convertible and 32 Detachable here, since
/// what matters is "runs on a battery". Desktop: systemd's desktop and server types (3, 4, 6,
/// 7, 13, 35, 36; 17, 28, 29) plus SMBIOS types that are mains-only boxes by their name and that
/// systemd leaves unhandled: 5 Pizza Box, 15 Space-saving, 16 Lunch Box, 23 Rack Mount Chassis,
/// 24 Sealed-case PC. Anything else (1 Other, 2 Unknown, 11 Hand Held, 12 Docking Station,
/// embedded, garbage) is [`FormFactor::Unknown`].
pub fn form_factor_from_chassis_type(code: &str) -> FormFactor {
    match code.trim().parse::<u32>() {
        Ok(8 | 9 | 10 | 14 | 30 | 31 | 32) => FormFactor::Laptop,
        Ok(3 | 4 | 5 | 6 | 7 | 13 | 15 | 16 | 17 | 23 | 24 | 28 | 29 | 35 | 36) => {
            FormFactor::Desktop
        }
        _ => FormFactor::Unknown,
    }
}

/// A decisive answer stands; otherwise an internal battery means a laptop and a known absence
/// of one means a desktop (it cannot run on battery, which is all the laptop features need).
fn or_by_battery(primary: FormFactor, has_battery: Option<bool>) -> FormFactor {
    match (primary, has_battery) {
        (FormFactor::Unknown, Some(true)) => FormFactor::Laptop,
        (FormFactor::Unknown, Some(false)) => FormFactor::Desktop,
        (decided, _) => decided,
    }
}

/// Linux: the DMI chassis type, then battery presence (paths passed in so tests can build a
/// tree; the real ones are `/sys/class/dmi/id/chassis_type` and `/sys/class/power_supply`).
/// ARM boards and some VMs have no DMI; a container may hide `/sys/class/power_supply`, and
/// then nothing is known.
pub fn linux_form_factor(chassis_type_file: &Path, power_supply_dir: &Path) -> FormFactor {
    let by_chassis = read_trimmed(chassis_type_file)
        .map(|code| form_factor_from_chassis_type(&code))
        .unwrap_or(FormFactor::Unknown);
    let has_battery = || {
        std::fs::read_dir(power_supply_dir).ok().map(|_| {
            super::power::read_linux_power(power_supply_dir)
                .battery
                .is_some()
        })
    };
    match by_chassis {
        FormFactor::Unknown => or_by_battery(FormFactor::Unknown, has_battery()),
        decided => decided,
    }
}

/// This machine's form factor. macOS: the `hw.model` sysctl, then whether IOKit lists an
/// internal battery, both in-process. Elsewhere: [`linux_form_factor`] on the real paths.
#[cfg(target_os = "macos")]
pub fn detect_form_factor() -> FormFactor {
    use super::power::{PowerSource, SystemPower};

    let by_model = macos_hw_model()
        .map(|model| form_factor_from_hw_model(&model))
        .unwrap_or(FormFactor::Unknown);
    if by_model != FormFactor::Unknown {
        return by_model;
    }
    // Reading the power sources cannot tell "no battery" from "could not ask": either way
    // no battery was seen, which is what a desktop shows.
    or_by_battery(by_model, Some(SystemPower.power().battery.is_some()))
}

/// `sysctl hw.model` (`MacBookPro18,3`, `Mac15,12`) through `sysctlbyname`, not the command.
#[cfg(target_os = "macos")]
fn macos_hw_model() -> Option<String> {
    let name = c"hw.model";
    let mut len: libc::size_t = 0;
    // SAFETY: a NUL-terminated name; a null buffer asks for the value's size in `len`.
    let asked = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            std::ptr::null_mut(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if asked != 0 || len == 0 {
        return None;
    }
    let mut buffer = vec![0u8; len];
    // SAFETY: `buffer` has `len` writable bytes and `len` says so.
    let read = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buffer.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if read != 0 {
        return None;
    }
    buffer.truncate(len);
    // The value is a C string: drop its NUL.
    let text = std::ffi::CStr::from_bytes_until_nul(&buffer).ok()?;
    Some(text.to_string_lossy().into_owned())
}

/// The machine's model, for the log's start line: `hw.model` (`MacBookAir10,1`), in-process.
#[cfg(target_os = "macos")]
pub fn machine_model() -> Option<String> {
    macos_hw_model().filter(|model| !model.trim().is_empty())
}

/// The machine's model, for the log's start line: the DMI product name (`XPS 15 9560`), when
/// the firmware gives one.
#[cfg(not(target_os = "macos"))]
pub fn machine_model() -> Option<String> {
    read_trimmed(Path::new("/sys/class/dmi/id/product_name")).filter(|name| !name.is_empty())
}

/// This machine's form factor. macOS: the `hw.model` sysctl, then whether IOKit lists an
/// internal battery, both in-process. Elsewhere: [`linux_form_factor`] on the real paths.
#[cfg(not(target_os = "macos"))]
pub fn detect_form_factor() -> FormFactor {
    linux_form_factor(
        Path::new("/sys/class/dmi/id/chassis_type"),
        Path::new("/sys/class/power_supply"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn sysctl_fixture() {
        let text = include_str!("../../tests/fixtures/macos_sysctl_hw_model_MacBookPro18_3.txt");
        assert_eq!(form_factor_from_hw_model(text), FormFactor::Laptop);
    }

    #[test]
    fn ioreg_model_fixtures() {
        let air_m1 =
            include_str!("../../tests/fixtures/macos_ioreg_platform_model_MacBookAir10_1.txt");
        assert_eq!(parse_ioreg_model(air_m1), Some("MacBookAir10,1"));
        assert_eq!(
            form_factor_from_hw_model("MacBookAir10,1"),
            FormFactor::Laptop
        );
        // A MacBook Air whose identifier does not say so: only the table knows.
        let air_m3 = include_str!("../../tests/fixtures/macos_ioreg_platform_model_Mac15_12.txt");
        assert_eq!(parse_ioreg_model(air_m3), Some("Mac15,12"));
        assert_eq!(form_factor_from_hw_model("Mac15,12"), FormFactor::Laptop);
    }

    #[test]
    fn ioreg_model_in_a_constructed_tree_dump() {
        // Constructed: the same line as it sits inside `ioreg -c IOPlatformExpertDevice -d 2`,
        // next to keys that must not match.
        let dump = "+-o J313AP  <class IOPlatformExpertDevice, id 0x100000211>\n    {\n      \"model-number\" = <\"Z124\">\n      \"model\" = <\"MacBookAir10,1\">\n    }\n";
        assert_eq!(parse_ioreg_model(dump), Some("MacBookAir10,1"));
        assert_eq!(parse_ioreg_model("\"model\" = <\"\">"), None);
        assert_eq!(parse_ioreg_model(""), None);
    }

    #[test]
    fn named_models() {
        assert_eq!(form_factor_from_hw_model("Mac14,2"), FormFactor::Laptop); // MacBook Air M2
        assert_eq!(form_factor_from_hw_model("Macmini9,1"), FormFactor::Desktop);
        assert_eq!(form_factor_from_hw_model("iMac21,1"), FormFactor::Desktop);
        assert_eq!(form_factor_from_hw_model("iMacPro1,1"), FormFactor::Desktop);
        assert_eq!(form_factor_from_hw_model("MacPro7,1"), FormFactor::Desktop);
        assert_eq!(form_factor_from_hw_model("Mac13,1"), FormFactor::Desktop); // Studio
        assert_eq!(form_factor_from_hw_model("Mac99,1"), FormFactor::Unknown);
        assert_eq!(form_factor_from_hw_model(""), FormFactor::Unknown);
        assert_eq!(
            form_factor_from_hw_model("MacBookPro18,3\n"),
            FormFactor::Laptop
        );
    }

    #[test]
    fn every_row_of_the_lookup_tsv_agrees() {
        let tsv = include_str!("../../tests/fixtures/hw_models.tsv");
        let mut rows = 0;
        for line in tsv.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let columns: Vec<&str> = line.split('\t').collect();
            let (model, laptop) = (columns[0], columns[2]);
            let expected = match laptop {
                "true" => FormFactor::Laptop,
                "false" => FormFactor::Desktop,
                other => panic!("bad is_laptop {other:?} in {line:?}"),
            };
            assert_eq!(form_factor_from_hw_model(model), expected, "{line}");
            rows += 1;
        }
        assert_eq!(rows, 145);
        let table_rows = tsv
            .lines()
            .filter(|l| {
                l.strip_prefix("Mac")
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        assert_eq!(
            MAC_MODELS.len(),
            table_rows,
            "the table is every MacNN,N row"
        );
    }

    #[test]
    fn every_row_of_the_chassis_tsv_agrees() {
        let tsv = include_str!("../../tests/fixtures/linux_dmi_chassis_type_map.tsv");
        let mut rows = 0;
        for line in tsv.lines().filter(|l| !l.starts_with('#')).skip(1) {
            let columns: Vec<&str> = line.split('\t').collect();
            let expected = match columns[3] {
                "laptop" | "tablet" | "convertible" => FormFactor::Laptop,
                "desktop" | "server" => FormFactor::Desktop,
                _ => FormFactor::Unknown, // handset, embedded
            };
            // The file holds the number with a newline.
            let file_content = format!("{}\n", columns[0]);
            assert_eq!(
                form_factor_from_chassis_type(&file_content),
                expected,
                "{line}"
            );
            rows += 1;
        }
        assert_eq!(rows, 20);
        assert_eq!(form_factor_from_chassis_type("2\n"), FormFactor::Unknown);
        assert_eq!(form_factor_from_chassis_type("5"), FormFactor::Desktop);
        assert_eq!(form_factor_from_chassis_type(""), FormFactor::Unknown);
        assert_eq!(form_factor_from_chassis_type("0x0A"), FormFactor::Unknown);
    }

    fn battery_tree(root: &Path) {
        let bat = root.join("BAT0");
        fs::create_dir_all(&bat).expect("mkdir");
        fs::write(bat.join("type"), "Battery\n").expect("write");
        fs::write(
            bat.join("uevent"),
            include_str!("../../tests/fixtures/linux_sys_power_supply_BAT0_uevent_discharging_dell_xps15_9560.txt"),
        )
        .expect("write");
    }

    #[test]
    fn linux_chassis_then_battery() {
        let root = tempfile::tempdir().expect("tempdir");
        let chassis = root.path().join("chassis_type");
        let supplies = root.path().join("power_supply");

        // Nothing readable at all: unknown.
        assert_eq!(linux_form_factor(&chassis, &supplies), FormFactor::Unknown);
        // No DMI, an empty power_supply folder: no battery, so a desktop.
        fs::create_dir(&supplies).expect("mkdir");
        assert_eq!(linux_form_factor(&chassis, &supplies), FormFactor::Desktop);
        // No DMI, a battery: a laptop.
        battery_tree(&supplies);
        assert_eq!(linux_form_factor(&chassis, &supplies), FormFactor::Laptop);
        // DMI decides when it is decisive...
        fs::write(&chassis, "3\n").expect("write");
        assert_eq!(linux_form_factor(&chassis, &supplies), FormFactor::Desktop);
        fs::write(&chassis, "10\n").expect("write");
        assert_eq!(linux_form_factor(&chassis, &supplies), FormFactor::Laptop);
        // ...and "Other" falls back to the battery.
        fs::write(&chassis, "1\n").expect("write");
        assert_eq!(linux_form_factor(&chassis, &supplies), FormFactor::Laptop);
    }

    #[test]
    fn detect_on_this_host_does_not_panic() {
        let _ = detect_form_factor();
    }
}
