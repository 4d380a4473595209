//! [`SystemPower`] on macOS: IOKit's power sources (`IOPSCopyPowerSourcesInfo`) and
//! `IOPMrootDomain`'s `AppleClamshellState`, in-process (`pmset` and `ioreg` would cost ~2,000
//! processes an hour). What the values mean is decided in the pure [`super::sources`].

use std::ffi::CStr;

use objc2_core_foundation::{CFBoolean, CFDictionary, CFNumber, CFRetained, CFString, CFType};
use objc2_io_kit::{
    kIOPSCurrentCapacityKey, kIOPSIsChargedKey, kIOPSIsChargingKey, kIOPSIsPresentKey,
    kIOPSMaxCapacityKey, kIOPSPowerSourceStateKey, kIOPSTypeKey, IOPSCopyPowerSourcesInfo,
    IOPSCopyPowerSourcesList, IOPSGetPowerSourceDescription, IOPSGetProvidingPowerSourceType,
};

use super::sources::{snapshot_from_sources, PowerSourceReading};
use super::{PowerSource, SystemPower};
use crate::model::{PowerSnapshot, POWER_UNKNOWN};
use crate::platform::iokit::IoService;

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

/// `AppleClamshellState` of `IOPMrootDomain`: `Some(true)` closed; `None` on a Mac without a
/// lid, which has no such property.
fn read_clamshell_state() -> Option<bool> {
    let state = IoService::matching(c"IOPMrootDomain")?.property("AppleClamshellState")?;
    state.downcast_ref::<CFBoolean>().map(CFBoolean::as_bool)
}
