//! Keeps macOS from napping the windowless app, whose timers would stretch (a 1 s timer measured
//! firing every ~8 s): `NSActivityUserInitiatedAllowingIdleSystemSleep` opts out without keeping
//! the Mac awake. Hold the returned [`AppNapOptOut`] for the whole run, once.

#[must_use = "App Nap comes back as soon as this is dropped"]
pub struct AppNapOptOut {
    #[cfg(target_os = "macos")]
    activity:
        objc2::rc::Retained<objc2::runtime::ProtocolObject<dyn objc2::runtime::NSObjectProtocol>>,
}

/// Turns App Nap off until the returned value is dropped.
#[cfg(target_os = "macos")]
pub fn disable_app_nap() -> AppNapOptOut {
    use objc2_foundation::{NSActivityOptions, NSProcessInfo, NSString};
    let process = NSProcessInfo::processInfo();
    let activity = process.beginActivityWithOptions_reason(
        NSActivityOptions::UserInitiatedAllowingIdleSystemSleep,
        &NSString::from_str(
            "BitTrader Worker supervises a Ray worker: its timers must run on time",
        ),
    );
    AppNapOptOut { activity }
}

/// Nothing to turn off outside macOS.
#[cfg(not(target_os = "macos"))]
pub fn disable_app_nap() -> AppNapOptOut {
    AppNapOptOut {}
}

#[cfg(target_os = "macos")]
impl Drop for AppNapOptOut {
    fn drop(&mut self) {
        // SAFETY: `activity` is the object beginActivityWithOptions:reason: returned, which is
        // what endActivity: expects, and it is ended exactly once.
        unsafe { objc2_foundation::NSProcessInfo::processInfo().endActivity(&self.activity) };
    }
}

impl std::fmt::Debug for AppNapOptOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppNapOptOut")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_opt_out_is_harmless_outside_macos() {
        let opt_out = super::disable_app_nap();
        assert_eq!(format!("{opt_out:?}"), "AppNapOptOut");
    }
}
