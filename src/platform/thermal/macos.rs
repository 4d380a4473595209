//! macOS: `NSProcessInfo.thermalState` and its change notification.

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
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let state = read();
            if last != Some(state) {
                last = Some(state);
                if states.send(state).is_err() {
                    return;
                }
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// The thermal state now. In a pool of its own: this runs on tokio's threads and the
/// notification's, which have none, so an autoreleased `NSProcessInfo` would otherwise leak at
/// every read.
fn read() -> ThermalState {
    objc2::rc::autoreleasepool(|_| {
        thermal_state_from_raw(NSProcessInfo::processInfo().thermalState().0)
    })
}
