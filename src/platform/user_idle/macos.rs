//! macOS: `HIDIdleTime` of the `IOHIDSystem` service, read in-process.

use std::time::Duration;

use objc2_core_foundation::{CFDictionary, CFNumber, CFRetained, CFString};
use objc2_io_kit::{
    IOObjectRelease, IORegistryEntryCreateCFProperty, IOServiceGetMatchingService,
    IOServiceMatching,
};
use tokio::sync::mpsc;

/// `kIOMainPortDefault` is `MACH_PORT_NULL`; the named constant only links on macOS 12+, the
/// value works everywhere.
const IO_MAIN_PORT_DEFAULT: libc::mach_port_t = 0;

/// See [`super::watch`].
pub fn watch(every: Duration, readings: mpsc::UnboundedSender<Option<Duration>>) {
    tokio::spawn(async move {
        loop {
            if readings.send(read_hid_idle_time()).is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// Time since the last keyboard, mouse or trackpad event; `None` if IOKit does not say.
fn read_hid_idle_time() -> Option<Duration> {
    // SAFETY: a NUL-terminated class name.
    let matching = unsafe { IOServiceMatching(c"IOHIDSystem".as_ptr()) }?;
    // SAFETY: a mutable dictionary is a dictionary; the call consumes this reference.
    let matching = unsafe { CFRetained::cast_unchecked::<CFDictionary>(matching) };
    // SAFETY: a matching dictionary from `IOServiceMatching` and the default main port.
    let hid_system = unsafe { IOServiceGetMatchingService(IO_MAIN_PORT_DEFAULT, Some(matching)) };
    if hid_system == 0 {
        return None;
    }
    let key = CFString::from_static_str("HIDIdleTime");
    // SAFETY: a live registry entry, a CFString key, the default allocator, no options.
    let value = unsafe { IORegistryEntryCreateCFProperty(hid_system, Some(&key), None, 0) };
    IOObjectRelease(hid_system);
    // Nanoseconds, as a CFNumber on every macOS this app supports (12+).
    let nanos = value?.downcast_ref::<CFNumber>()?.as_i64()?;
    Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}
