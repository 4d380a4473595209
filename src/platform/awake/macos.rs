//! macOS: an IOKit `PreventUserIdleSystemSleep` assertion. Creating and releasing one is a Mach
//! message to `powerd` that can block: each runs on tokio's blocking pool.

use objc2_core_foundation::CFString;
use objc2_io_kit::{
    kIOPMAssertionLevelOn, kIOReturnSuccess, IOPMAssertionCreateWithName, IOPMAssertionID,
    IOPMAssertionRelease,
};
use tokio::sync::{mpsc, watch};

use super::WHY;
use crate::model::AwakeHold;

/// `kIOPMAssertionTypePreventUserIdleSystemSleep` (IOPMLib.h, a `CFSTR` macro no binding exports).
const PREVENT_USER_IDLE_SYSTEM_SLEEP: &str = "PreventUserIdleSystemSleep";

pub fn follow(mut hold: watch::Receiver<bool>, held: mpsc::UnboundedSender<AwakeHold>) {
    tokio::spawn(async move {
        let mut assertion: Option<IOPMAssertionID> = None;
        loop {
            let wanted = *hold.borrow_and_update();
            let report = match (wanted, assertion) {
                (true, None) => match tokio::task::spawn_blocking(create).await {
                    Ok(Ok(id)) => {
                        assertion = Some(id);
                        Some(AwakeHold::Held)
                    }
                    Ok(Err(code)) => Some(AwakeHold::Refused {
                        why: format!("IOPMAssertionCreateWithName returned {code:#x}"),
                    }),
                    Err(_) => Some(AwakeHold::Refused {
                        why: "the assertion could not be asked for".to_string(),
                    }),
                },
                (false, Some(id)) => {
                    assertion = None;
                    let _ = tokio::task::spawn_blocking(move || IOPMAssertionRelease(id)).await;
                    Some(AwakeHold::Released)
                }
                _ => None,
            };
            if let Some(report) = report {
                // The driver is gone: let go below, when `hold` says so too.
                let _ = held.send(report);
            }
            if hold.changed().await.is_err() {
                if let Some(id) = assertion {
                    let _ = tokio::task::spawn_blocking(move || IOPMAssertionRelease(id)).await;
                }
                return;
            }
        }
    });
}

fn create() -> Result<IOPMAssertionID, i32> {
    let kind = CFString::from_static_str(PREVENT_USER_IDLE_SYSTEM_SLEEP);
    let name = CFString::from_str(WHY);
    let mut id: IOPMAssertionID = 0;
    // SAFETY: two live CFStrings and a pointer to a local the call writes the id into.
    let result = unsafe {
        IOPMAssertionCreateWithName(Some(&kind), kIOPMAssertionLevelOn, Some(&name), &mut id)
    };
    (result == kIOReturnSuccess).then_some(id).ok_or(result)
}
