//! macOS: `NSProcessInfo.thermalState`, read at start and on Foundation's change notification.

use std::ptr::NonNull;

use block2::RcBlock;
use objc2_foundation::{
    NSNotification, NSNotificationCenter, NSProcessInfo,
    NSProcessInfoThermalStateDidChangeNotification,
};
use tokio::sync::mpsc;

use super::thermal_state_from_raw;
use crate::model::ThermalState;

pub fn watch(states: mpsc::UnboundedSender<ThermalState>) {
    // Read before registering: Apple posts the notification only to a process that has.
    if states.send(read()).is_err() {
        return;
    }
    let on_change = RcBlock::new(move |_: NonNull<NSNotification>| {
        let _ = states.send(read());
    });
    // SAFETY: Foundation's own notification name (an extern static, hence `unsafe`), no
    // object filter, no queue: the block runs on the posting thread and only sends on a
    // channel, which any thread may do.
    let token = unsafe {
        NSNotificationCenter::defaultCenter().addObserverForName_object_queue_usingBlock(
            Some(NSProcessInfoThermalStateDidChangeNotification),
            None,
            None,
            &on_change,
        )
    };
    // Observed for the life of the process (one driver per process); sends fail quietly once
    // the driver is gone.
    std::mem::forget(token);
}

/// The thermal state now, in an autorelease pool of its own: the posting thread has none.
fn read() -> ThermalState {
    objc2::rc::autoreleasepool(|_| {
        thermal_state_from_raw(NSProcessInfo::processInfo().thermalState().0)
    })
}
