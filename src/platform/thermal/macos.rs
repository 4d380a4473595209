//! macOS: `NSProcessInfo.thermalState`, read at start, on Foundation's change notification,
//! when the OS posts a thermal pressure change, and every `every` besides.

use std::ffi::CStr;
use std::ptr::NonNull;
use std::time::Duration;

use block2::RcBlock;
use objc2_foundation::{
    NSNotification, NSNotificationCenter, NSProcessInfo,
    NSProcessInfoThermalStateDidChangeNotification,
};
use tokio::sync::mpsc;

use super::thermal_state_from_raw;
use crate::model::ThermalState;
use crate::platform::darwin_notify::DarwinNotifications;

/// `kOSThermalNotificationPressureLevelName` (libkern/OSThermalNotification.h, macOS 10.10+):
/// notify(3)'s key for a change of the system's thermal pressure level (what `notifyutil -g`
/// prints as 0 nominal … 4 sleeping): `thermalState` is read again at each post. Delivered on
/// a file descriptor, it needs no run loop.
const THERMAL_PRESSURE_CHANGED: &CStr = c"com.apple.system.thermalpressurelevel";

/// See [`super::watch`].
pub fn watch(every: Duration, states: mpsc::UnboundedSender<ThermalState>) {
    let notified = states.clone();
    let on_change = RcBlock::new(move |_: NonNull<NSNotification>| {
        let _ = notified.send(read());
    });
    let center = NSNotificationCenter::defaultCenter();
    // SAFETY: Foundation's own notification name (an extern static, hence `unsafe`), no
    // object filter, no queue: the block runs on the posting thread and only sends on a
    // channel, which any thread may do.
    let token = unsafe {
        center.addObserverForName_object_queue_usingBlock(
            Some(NSProcessInfoThermalStateDidChangeNotification),
            None,
            None,
            &on_change,
        )
    };
    // Observed for the life of the process (one driver per process): the registration is
    // deliberately never removed, and its block's sends fail quietly once the driver is gone.
    std::mem::forget(token);
    // The reads, on a thread of its own that sleeps on the OS's pressure notification (a
    // file descriptor: no run loop) with `every` as its timeout, and sends only changes: no
    // timer on the driver's runtime. A read right after the post may still find the old state
    // if Foundation learns of it from the same post a moment later; Foundation's notification
    // above, or the next look, then reports it. If no thread can be made, only the
    // notification above reports (and nothing at start).
    let _ = std::thread::Builder::new()
        .name("thermal-watch".into())
        .spawn(move || {
            let mut pressure = DarwinNotifications::register(&[THERMAL_PRESSURE_CHANGED]).ok();
            let mut last = None;
            loop {
                let state = read();
                if last != Some(state) {
                    last = Some(state);
                    if states.send(state).is_err() {
                        return;
                    }
                }
                if states.is_closed() {
                    return;
                }
                match pressure.as_mut().map(|pressure| pressure.wait(every)) {
                    Some(Ok(_)) => {}
                    // No notification (or it broke, which does not mend): a look every `every`.
                    Some(Err(_)) | None => {
                        pressure = None;
                        std::thread::sleep(every);
                    }
                }
            }
        });
}

/// The thermal state now. In a pool of its own: this runs on the watch thread and the
/// notification's, which have none, so an autoreleased `NSProcessInfo` would otherwise leak at
/// every read.
fn read() -> ThermalState {
    objc2::rc::autoreleasepool(|_| {
        thermal_state_from_raw(NSProcessInfo::processInfo().thermalState().0)
    })
}
