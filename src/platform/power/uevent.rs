//! The kernel's uevent messages (Linux `NETLINK_KOBJECT_UEVENT`, multicast group 1), read far
//! enough to tell a power supply's change from everything else the kernel announces (a USB
//! stick, a block device, a network interface). Pure, so it is compiled and tested on every OS
//! on a recorded message and constructed ones (`tests/fixtures/linux_uevent_NOTES.md`); `changes/linux.rs` reads
//! them from the socket.
//!
//! The format is the one `lib/kobject_uevent.c` builds (`alloc_uevent_skb`): a header
//! `ACTION@DEVPATH`, then the event's environment, `KEY=value` strings, each ended by a NUL:
//!
//! ```text
//! change@/devices/…/ACPI0003:00/power_supply/AC\0ACTION=change\0DEVPATH=…\0
//! SUBSYSTEM=power_supply\0POWER_SUPPLY_NAME=AC\0POWER_SUPPLY_ONLINE=0\0SEQNUM=4242\0
//! ```
//!
//! udevd re-sends events after its rules ran on group 2 in another format (a `libudev` magic
//! header and a binary struct before the strings); that group is not read, and a message in
//! that format is rejected here rather than misread.

/// One kernel uevent, borrowed from the received bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelUevent<'a> {
    /// `add`, `remove`, `change`, `move`, `online`, `offline`, `bind`, `unbind`.
    pub action: &'a str,
    /// The device's path under `/sys`, e.g. `/devices/…/power_supply/AC`.
    pub devpath: &'a str,
    /// The environment's `KEY=value` pairs, in the order sent.
    pub vars: Vec<(&'a str, &'a str)>,
}

/// The subsystem of every power supply (`/sys/class/power_supply`).
pub const POWER_SUPPLY_SUBSYSTEM: &str = "power_supply";

impl KernelUevent<'_> {
    /// The value of `key` in the environment, if sent.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| *value)
    }

    /// Whether this is about a power supply (a charger, a battery, a USB-C port's supply):
    /// any action, since an adapter appearing or going away changes the power as much as an
    /// `online` flip does.
    pub fn is_power_supply(&self) -> bool {
        self.var("SUBSYSTEM") == Some(POWER_SUPPLY_SUBSYSTEM)
    }
}

/// Reads one message as the kernel sends it; `None` for anything else (udevd's format, a
/// header without `@` or not UTF-8, a header that its own `ACTION` contradicts). Strings
/// after the header without `=` are skipped, as is an empty trailing one, and so is one that
/// is not UTF-8: a battery's firmware strings (model, maker, serial) are sometimes garbage,
/// and must not hide the change the rest of the message reports.
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

/// Whether `message` (one datagram: one uevent) is about a power supply (see
/// [`KernelUevent::is_power_supply`]); malformed messages count as not.
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
