//! macOS: `HIDIdleTime` of the `IOHIDSystem` service, on a thread of its own (each IOKit call
//! is a blocking Mach message). The service is looked up again only after a read failed.

use std::time::Duration;

use objc2_core_foundation::CFNumber;
use tokio::sync::mpsc;

use crate::model::IdleReading;
use crate::platform::iokit::IoService;

pub fn watch(every: Duration, readings: mpsc::UnboundedSender<IdleReading>) {
    // Without a thread the rule gets no reading: the worker stays held back.
    let _ = std::thread::Builder::new()
        .name("user-idle".into())
        .spawn(move || {
            let mut hid_system: Option<IoService> = None;
            loop {
                if hid_system.is_none() {
                    hid_system = IoService::matching(c"IOHIDSystem");
                }
                let reading = match &hid_system {
                    None => IdleReading::NoSession,
                    Some(service) => match idle_time(service) {
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

/// Time since the last keyboard, mouse or trackpad event; `None` if IOKit does not say.
fn idle_time(hid_system: &IoService) -> Option<Duration> {
    // Nanoseconds, as a CFNumber on every macOS this app supports (12+).
    let nanos = hid_system
        .property("HIDIdleTime")?
        .downcast_ref::<CFNumber>()?
        .as_i64()?;
    Some(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}
