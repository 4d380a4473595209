//! [`SystemPower`] on macOS: asks IOKit in-process. It runs every few seconds for the life
//! of the app, so it must not start a process (`pmset` and `ioreg` each cost a fork, an exec
//! and a dyld start, ~2,000 an hour). The power sources come from `IOPSCopyPowerSourcesInfo`
//! (what `pmset -g batt` prints from), the lid from `IOPMrootDomain`'s `AppleClamshellState`
//! (what `ioreg -r -k AppleClamshellState` prints). The meaning of the values is decided in
//! the pure [`super::sources`], tested on every OS.

use std::ffi::CStr;

use objc2_core_foundation::{CFBoolean, CFDictionary, CFNumber, CFRetained, CFString, CFType};
use objc2_io_kit::{
    kIOPSCurrentCapacityKey, kIOPSIsChargedKey, kIOPSIsChargingKey, kIOPSIsPresentKey,
    kIOPSMaxCapacityKey, kIOPSPowerSourceStateKey, kIOPSTypeKey, IOObjectRelease,
    IOPSCopyPowerSourcesInfo, IOPSCopyPowerSourcesList, IOPSGetPowerSourceDescription,
    IOPSGetProvidingPowerSourceType, IORegistryEntryCreateCFProperty, IOServiceGetMatchingService,
    IOServiceMatching,
};

use super::sources::{snapshot_from_sources, PowerSourceReading};
use super::{PowerSource, SystemPower};
use crate::model::{PowerSnapshot, POWER_UNKNOWN};

/// `kIOMainPortDefault` is `MACH_PORT_NULL`; the named constant only links on macOS 12+, the
/// value works everywhere.
const IO_MAIN_PORT_DEFAULT: libc::mach_port_t = 0;

impl PowerSource for SystemPower {
    fn power(&self) -> PowerSnapshot {
        read_power_sources().unwrap_or(POWER_UNKNOWN)
    }

    fn lid_closed(&self) -> Option<bool> {
        read_clamshell_state()
    }
}

/// The providing power source and every source's description, read in one snapshot.
fn read_power_sources() -> Option<PowerSnapshot> {
    let info = IOPSCopyPowerSourcesInfo()?;
    // SAFETY (this and the two calls below): `info` is the blob `IOPSCopyPowerSourcesInfo`
    // returned, which is what these functions take, and it outlives their results' use.
    let providing =
        unsafe { IOPSGetProvidingPowerSourceType(Some(&info)) }.map(|kind| kind.to_string());
    let mut sources = Vec::new();
    if let Some(list) = unsafe { IOPSCopyPowerSourcesList(Some(&info)) } {
        // SAFETY: the list holds power source handles, which are CF objects.
        let handles = unsafe { list.cast_unchecked::<CFType>() };
        for handle in handles.iter() {
            if let Some(description) =
                unsafe { IOPSGetPowerSourceDescription(Some(&info), Some(&handle)) }
            {
                sources.push(reading_of(&description));
            }
        }
    }
    snapshot_from_sources(providing.as_deref(), &sources)
}

/// Copies the keys this crate reads out of one power source's description.
fn reading_of(description: &CFDictionary) -> PowerSourceReading {
    // SAFETY: a power source description maps CFString keys to CF objects (IOPSKeys.h).
    let description = unsafe { description.cast_unchecked::<CFString, CFType>() };
    let value = |key: &CStr| -> Option<CFRetained<CFType>> {
        description.get(&CFString::from_str(key.to_str().ok()?))
    };
    let text =
        |key: &CStr| value(key).and_then(|v| v.downcast_ref::<CFString>().map(|s| s.to_string()));
    let number = |key: &CStr| {
        value(key).and_then(|v| v.downcast_ref::<CFNumber>().and_then(CFNumber::as_i64))
    };
    let flag =
        |key: &CStr| value(key).and_then(|v| v.downcast_ref::<CFBoolean>().map(CFBoolean::as_bool));
    PowerSourceReading {
        kind: text(kIOPSTypeKey),
        is_present: flag(kIOPSIsPresentKey),
        state: text(kIOPSPowerSourceStateKey),
        current_capacity: number(kIOPSCurrentCapacityKey),
        max_capacity: number(kIOPSMaxCapacityKey),
        is_charging: flag(kIOPSIsChargingKey),
        is_charged: flag(kIOPSIsChargedKey),
    }
}

/// `AppleClamshellState` of `IOPMrootDomain`: `Some(true)` closed. `None` on a Mac without
/// a lid, which has no such property.
fn read_clamshell_state() -> Option<bool> {
    // SAFETY: a NUL-terminated class name.
    let matching = unsafe { IOServiceMatching(c"IOPMrootDomain".as_ptr()) }?;
    // SAFETY: a mutable dictionary is a dictionary; the call consumes this reference.
    let matching = unsafe { CFRetained::cast_unchecked::<CFDictionary>(matching) };
    // SAFETY: a matching dictionary from `IOServiceMatching` and the default main port.
    let root_domain = unsafe { IOServiceGetMatchingService(IO_MAIN_PORT_DEFAULT, Some(matching)) };
    if root_domain == 0 {
        return None;
    }
    let key = CFString::from_static_str("AppleClamshellState");
    // SAFETY: a live registry entry, a CFString key, the default allocator, no options.
    let state = unsafe { IORegistryEntryCreateCFProperty(root_domain, Some(&key), None, 0) };
    IOObjectRelease(root_domain);
    state?.downcast_ref::<CFBoolean>().map(CFBoolean::as_bool)
}
