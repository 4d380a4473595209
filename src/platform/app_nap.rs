//! Keeps macOS from putting the app to sleep (App Nap) while it runs.
//!
//! A windowless menu-bar app counts as "not visible" for App Nap, and its timers get coalesced
//! and stretched (a 1 s timer has been measured firing every ~8 s): the head probe, the grace
//! before the worker is stopped and the power reads would all run late. An activity begun with
//! `NSActivityUserInitiatedAllowingIdleSystemSleep` opts out of App Nap without keeping the Mac
//! awake: idle sleep still happens, and the sleep observer stops the worker before it.
//!
//! The opt-out lasts as long as the returned [`AppNapOptOut`] is alive; it must be held for the
//! whole run, and it must not be created more than once (one activity is enough). Elsewhere
//! there is no App Nap and this does nothing.

/// While this lives, macOS does not nap the app. Dropping it ends the activity.
#[must_use = "App Nap comes back as soon as this is dropped"]
pub struct AppNapOptOut {
    /// The activity token macOS returned; ended on drop.
    #[cfg(target_os = "macos")]
    activity:
        objc2::rc::Retained<objc2::runtime::ProtocolObject<dyn objc2::runtime::NSObjectProtocol>>,
}

/// Why the app asks, kept by macOS with the activity.
#[cfg(target_os = "macos")]
const REASON: &str = "BitTrader Worker supervises a Ray worker: its timers must run on time";

/// Turns App Nap off until the returned value is dropped.
#[cfg(target_os = "macos")]
pub fn disable_app_nap() -> AppNapOptOut {
    use objc2_foundation::{NSActivityOptions, NSProcessInfo, NSString};
    let process = NSProcessInfo::processInfo();
    let activity = process.beginActivityWithOptions_reason(
        NSActivityOptions::UserInitiatedAllowingIdleSystemSleep,
        &NSString::from_str(REASON),
    );
    AppNapOptOut { activity }
}

/// Turns App Nap off until the returned value is dropped (there is none outside macOS).
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
