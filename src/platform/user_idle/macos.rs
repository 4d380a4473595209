//! macOS: `HIDIdleTime` of the `IOHIDSystem` service, read in-process.
//!
//! IOKit calls block (a Mach message to the kernel each): they run on a thread of their own,
//! never on the driver's single-threaded runtime. The service is looked up once, and again only
//! after a read failed.

use std::time::Duration;

use objc2_core_foundation::{CFDictionary, CFNumber, CFRetained, CFString};
use objc2_io_kit::{
    io_service_t, IOObjectRelease, IORegistryEntryCreateCFProperty, IOServiceGetMatchingService,
    IOServiceMatching,
};
use tokio::sync::mpsc;

use crate::model::IdleReading;

/// `kIOMainPortDefault` is `MACH_PORT_NULL`; the named constant only links on macOS 12+, the
/// value works everywhere.
const IO_MAIN_PORT_DEFAULT: libc::mach_port_t = 0;

/// See [`super::watch`].
pub fn watch(every: Duration, readings: mpsc::UnboundedSender<IdleReading>) {
    // A thread that cannot be made (the process is out of them) leaves the rule without
    // readings: the worker is held back as before any reading, never started under the user.
    let _ = std::thread::Builder::new()
        .name("user-idle".into())
        .spawn(move || {
            let mut hid_system: Option<HidSystem> = None;
            loop {
                if hid_system.is_none() {
                    hid_system = HidSystem::find();
                }
                let reading = match &hid_system {
                    None => IdleReading::NoSession,
                    Some(service) => match service.idle_time() {
                        Some(idle) => IdleReading::Idle(idle),
                        None => {
                            // Looked up again next time: the service may have been replaced.
                            hid_system = None;
                            IdleReading::ReadFailed
                        }
                    },
                };
                if readings.send(reading).is_err() {
                    return;
                }
                std::thread::sleep(every);
            }
        });
}

/// The `IOHIDSystem` registry entry, released when dropped.
struct HidSystem(io_service_t);

impl HidSystem {
    fn find() -> Option<HidSystem> {
        // SAFETY: a NUL-terminated class name.
        let matching = unsafe { IOServiceMatching(c"IOHIDSystem".as_ptr()) }?;
        // SAFETY: a mutable dictionary is a dictionary; the call consumes this reference.
        let matching = unsafe { CFRetained::cast_unchecked::<CFDictionary>(matching) };
        // SAFETY: a matching dictionary from `IOServiceMatching` and the default main port.
        let service = unsafe { IOServiceGetMatchingService(IO_MAIN_PORT_DEFAULT, Some(matching)) };
        (service != 0).then_some(HidSystem(service))
    }

    /// Time since the last keyboard, mouse or trackpad event; `None` if IOKit does not say.
    fn idle_time(&self) -> Option<Duration> {
        let key = CFString::from_static_str("HIDIdleTime");
        // SAFETY: a live registry entry, a CFString key, the default allocator, no options.
        let value = unsafe { IORegistryEntryCreateCFProperty(self.0, Some(&key), None, 0) };
        // Nanoseconds, as a CFNumber on every macOS this app supports (12+).
        let nanos = value?.downcast_ref::<CFNumber>()?.as_i64()?;
        Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
    }
}

impl Drop for HidSystem {
    fn drop(&mut self) {
        IOObjectRelease(self.0);
    }
}
