//! macOS: an IOKit `PreventUserIdleSystemSleep` assertion, held while the supervisor says so.

use objc2_core_foundation::CFString;
use objc2_io_kit::{
    kIOPMAssertionLevelOn, kIOReturnSuccess, IOPMAssertionCreateWithName, IOPMAssertionID,
    IOPMAssertionRelease,
};
use tokio::sync::watch;

use super::WHY;

/// The assertion type (`kIOPMAssertionTypePreventUserIdleSystemSleep` in IOPMLib.h, a
/// `CFSTR` macro that no binding exports): idle sleep waits, a closed lid does not.
const PREVENT_USER_IDLE_SYSTEM_SLEEP: &str = "PreventUserIdleSystemSleep";

/// See [`super::follow`].
pub fn follow(mut hold: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut assertion: Option<IOPMAssertionID> = None;
        loop {
            let wanted = *hold.borrow_and_update();
            match (wanted, assertion) {
                (true, None) => assertion = create(),
                (false, Some(id)) => {
                    IOPMAssertionRelease(id);
                    assertion = None;
                }
                _ => {}
            }
            if hold.changed().await.is_err() {
                if let Some(id) = assertion {
                    IOPMAssertionRelease(id);
                }
                return;
            }
        }
    });
}

/// Creates the assertion; `None` if power management refused it (nothing else to do then).
fn create() -> Option<IOPMAssertionID> {
    let kind = CFString::from_static_str(PREVENT_USER_IDLE_SYSTEM_SLEEP);
    let name = CFString::from_str(WHY);
    let mut id: IOPMAssertionID = 0;
    // SAFETY: two live CFStrings and a pointer to a local the call writes the id into.
    let result = unsafe {
        IOPMAssertionCreateWithName(Some(&kind), kIOPMAssertionLevelOn, Some(&name), &mut id)
    };
    (result == kIOReturnSuccess).then_some(id)
}
