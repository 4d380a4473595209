//! Laptop or desktop, asked once at start: the laptop features (pause on battery, on a closed
//! lid) apply to a machine with an internal battery. And the machine's model, for the log.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FormFactor {
    /// It has an internal battery.
    Laptop,
    /// It has none.
    Desktop,
    /// The OS could not be asked (Linux without a power_supply folder, as in some containers).
    Unknown,
}

/// From the internal battery the power reader sees.
#[cfg(target_os = "macos")]
pub fn detect_form_factor() -> FormFactor {
    use super::power::{PowerSource, SystemPower};
    // IOKit cannot tell "no battery" from "could not ask": either way, what a desktop shows.
    by_battery(SystemPower.power().battery.is_some())
}

#[cfg(not(target_os = "macos"))]
pub fn detect_form_factor() -> FormFactor {
    linux_form_factor(&super::power::supply_dir())
}

#[cfg(not(target_os = "macos"))]
fn linux_form_factor(supply_dir: &std::path::Path) -> FormFactor {
    match std::fs::read_dir(supply_dir) {
        Ok(_) => by_battery(super::power::read_linux_power(supply_dir).battery.is_some()),
        Err(_) => FormFactor::Unknown,
    }
}

fn by_battery(has_battery: bool) -> FormFactor {
    if has_battery {
        FormFactor::Laptop
    } else {
        FormFactor::Desktop
    }
}

/// For the log's start line: `hw.model` (`MacBookAir10,1`).
#[cfg(target_os = "macos")]
pub fn machine_model() -> Option<String> {
    sysctl_text(c"hw.model").filter(|model| !model.trim().is_empty())
}

/// For the log's start line: the DMI product name (`XPS 15 9560`), if the firmware gives one.
#[cfg(not(target_os = "macos"))]
pub fn machine_model() -> Option<String> {
    std::fs::read_to_string("/sys/class/dmi/id/product_name")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
}

/// A text sysctl (`hw.model`, `kern.bootsessionuuid`) through `sysctlbyname`, in-process.
#[cfg(target_os = "macos")]
pub(crate) fn sysctl_text(name: &std::ffi::CStr) -> Option<String> {
    // SAFETY: a NUL-terminated name; `buffer` is null (asking the value's size in `len`) or has
    // `len` writable bytes, as both calls below give it.
    let read = |buffer: *mut libc::c_void, len: &mut libc::size_t| unsafe {
        libc::sysctlbyname(name.as_ptr(), buffer, len, std::ptr::null_mut(), 0)
    };
    let mut len: libc::size_t = 0;
    if read(std::ptr::null_mut(), &mut len) != 0 || len == 0 {
        return None;
    }
    let mut buffer = vec![0u8; len];
    if read(buffer.as_mut_ptr().cast(), &mut len) != 0 {
        return None;
    }
    buffer.truncate(len);
    let text = std::ffi::CStr::from_bytes_until_nul(&buffer).ok()?;
    Some(text.to_string_lossy().trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(target_os = "macos"))]
    #[test]
    fn an_internal_battery_makes_a_laptop() {
        use std::fs;
        let root = tempfile::tempdir().expect("tempdir");
        let supplies = root.path().join("power_supply");
        // Nothing readable at all: unknown.
        assert_eq!(linux_form_factor(&supplies), FormFactor::Unknown);
        // An empty power_supply folder: no battery, so a desktop.
        fs::create_dir(&supplies).expect("mkdir");
        assert_eq!(linux_form_factor(&supplies), FormFactor::Desktop);
        // A battery: a laptop.
        let bat = supplies.join("BAT0");
        fs::create_dir_all(&bat).expect("mkdir");
        fs::write(bat.join("type"), "Battery\n").expect("write");
        fs::write(
            bat.join("uevent"),
            include_str!("../../tests/fixtures/linux_sys_power_supply_BAT0_uevent_discharging_dell_xps15_9560.txt"),
        )
        .expect("write");
        assert_eq!(linux_form_factor(&supplies), FormFactor::Laptop);
    }

    #[test]
    fn detect_on_this_host_does_not_panic() {
        let _ = detect_form_factor();
        let _ = machine_model();
    }
}
