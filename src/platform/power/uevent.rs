//! The kernel's uevent messages (Linux `NETLINK_KOBJECT_UEVENT`, group 1), read far enough to tell
//! a power supply's change from every other device's. `lib/kobject_uevent.c` sends a header
//! `ACTION@DEVPATH`, then NUL-ended `KEY=value` strings
//! (`change@/devices/…/AC\0ACTION=change\0SUBSYSTEM=power_supply\0…`). udevd's re-sends on
//! group 2 (a `libudev` header and a binary struct) are not read, and rejected, not misread.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelUevent<'a> {
    /// `add`, `remove`, `change`, `move`, `online`, `offline`, `bind`, `unbind`.
    pub action: &'a str,
    /// Under `/sys`, e.g. `/devices/…/power_supply/AC`.
    pub devpath: &'a str,
    /// In the order sent.
    pub vars: Vec<(&'a str, &'a str)>,
}

pub const POWER_SUPPLY_SUBSYSTEM: &str = "power_supply";

impl KernelUevent<'_> {
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| *value)
    }

    /// Any action: an adapter appearing or going away changes the power as much as an `online`
    /// flip.
    pub fn is_power_supply(&self) -> bool {
        self.var("SUBSYSTEM") == Some(POWER_SUPPLY_SUBSYSTEM)
    }
}

/// One message as the kernel sends it; `None` for anything else (udevd's format, a bad header,
/// one its own `ACTION` contradicts). Strings without `=` or not UTF-8 are skipped: a battery's
/// firmware strings are sometimes garbage, and must not hide the change.
pub fn parse_kernel_uevent(message: &[u8]) -> Option<KernelUevent<'_>> {
    let mut fields = message.split(|byte| *byte == 0);
    let header = std::str::from_utf8(fields.next()?).ok()?;
    let (action, devpath) = header.split_once('@')?;
    if action.is_empty() || !devpath.starts_with('/') {
        return None;
    }
    let mut vars = Vec::new();
    for field in fields.filter(|field| !field.is_empty()) {
        let Ok(text) = std::str::from_utf8(field) else {
            continue;
        };
        if let Some(pair) = text.split_once('=') {
            vars.push(pair);
        }
    }
    let event = KernelUevent {
        action,
        devpath,
        vars,
    };
    match event.var("ACTION") {
        Some(said) if said != action => None,
        _ => Some(event),
    }
}

/// Whether one datagram is about a power supply; malformed ones are not.
pub fn is_power_supply_uevent(message: &[u8]) -> bool {
    parse_kernel_uevent(message).is_some_and(|event| event.is_power_supply())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AC_OFFLINE: &[u8] = include_bytes!(
        "../../../tests/fixtures/linux_uevent_power_supply_AC_offline_CONSTRUCTED.bin"
    );
    const BATTERY: &[u8] = include_bytes!(
        "../../../tests/fixtures/linux_uevent_power_supply_BAT0_discharging_CONSTRUCTED.bin"
    );
    const LO_CHANGE: &[u8] =
        include_bytes!("../../../tests/fixtures/linux_uevent_net_lo_change_synthetic_RECORDED.bin");
    const UDEVD: &[u8] = include_bytes!(
        "../../../tests/fixtures/linux_udev_monitor_power_supply_AC_header_CONSTRUCTED.bin"
    );

    #[test]
    fn an_adapter_unplugged_is_a_power_supply_change() {
        let event = parse_kernel_uevent(AC_OFFLINE).expect("a kernel uevent");
        assert_eq!(event.action, "change");
        assert_eq!(
            event.devpath,
            "/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0A08:00/device:19/PNP0C09:00/ACPI0003:00/power_supply/AC"
        );
        assert_eq!(event.var("SUBSYSTEM"), Some("power_supply"));
        assert_eq!(event.var("POWER_SUPPLY_NAME"), Some("AC"));
        assert_eq!(event.var("POWER_SUPPLY_ONLINE"), Some("0"));
        assert_eq!(event.var("SEQNUM"), Some("4242"));
        assert!(event.is_power_supply());
        assert!(is_power_supply_uevent(AC_OFFLINE));
        // A battery's change (its status flips when the adapter goes) counts too.
        assert!(is_power_supply_uevent(BATTERY));
    }

    #[test]
    fn a_battery_with_garbage_in_its_firmware_strings_still_tells_its_change() {
        let message = b"change@/devices/LNXSYSTM:00/PNP0C0A:00/power_supply/BAT0\0\
ACTION=change\0DEVPATH=/devices/LNXSYSTM:00/PNP0C0A:00/power_supply/BAT0\0\
SUBSYSTEM=power_supply\0POWER_SUPPLY_NAME=BAT0\0POWER_SUPPLY_STATUS=Discharging\0\
POWER_SUPPLY_MODEL_NAME=\xff\xfeBAT\0POWER_SUPPLY_MANUFACTURER=\x80\0SEQNUM=4243\0";
        let event = parse_kernel_uevent(message).expect("a kernel uevent");
        assert_eq!(event.var("POWER_SUPPLY_STATUS"), Some("Discharging"));
        assert_eq!(
            event.var("POWER_SUPPLY_MODEL_NAME"),
            None,
            "skipped, not fatal"
        );
        assert!(is_power_supply_uevent(message));
    }

    #[test]
    fn other_subsystems_are_not_power() {
        // The recorded message: the kernel's own bytes.
        let event = parse_kernel_uevent(LO_CHANGE).expect("a kernel uevent");
        assert_eq!(event.action, "change");
        assert_eq!(event.devpath, "/devices/virtual/net/lo");
        assert_eq!(event.var("SUBSYSTEM"), Some("net"));
        assert_eq!(event.var("INTERFACE"), Some("lo"));
        assert!(!is_power_supply_uevent(LO_CHANGE));
    }

    #[test]
    fn udevds_format_and_malformed_messages_are_ignored_without_panicking() {
        assert_eq!(parse_kernel_uevent(UDEVD), None, "group 2's libudev header");
        for message in [
            &b""[..],
            b"\0",
            b"@",
            b"change@",
            b"change@relative/path\0SUBSYSTEM=power_supply\0",
            b"no header at all\0SUBSYSTEM=power_supply\0",
            b"change@/devices/x\0ACTION=add\0SUBSYSTEM=power_supply\0",
            b"change@/devices/x\0SUBSYSTEM=power_\xff\0",
            b"\xff\xfe@/devices/x\0SUBSYSTEM=power_supply\0",
        ] {
            assert!(!is_power_supply_uevent(message), "{message:?}");
        }
        // Cut short anywhere (a truncated datagram), the adapter's message never panics.
        for end in 0..AC_OFFLINE.len() {
            let _ = parse_kernel_uevent(&AC_OFFLINE[..end]);
        }
        // No trailing NUL, strings without `=`: still read.
        assert!(is_power_supply_uevent(
            b"change@/devices/x/power_supply/AC\0junk\0SUBSYSTEM=power_supply"
        ));
    }
}
