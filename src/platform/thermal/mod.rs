//! The machine's thermal state, for `pause_at_thermal`: reported on every change, never judged
//! here (the rule is `supervisor::courtesy::Heat`).
//!
//! - macOS ([`macos`]): `NSProcessInfo.processInfo.thermalState`, in-process, sent at start, on
//!   `NSProcessInfoThermalStateDidChangeNotification` and, in case that notification does not
//!   reach a process without a run loop (the headless daemon), from a thread that sleeps on
//!   the OS's own thermal pressure notification (notify(3)
//!   `com.apple.system.thermalpressurelevel` on a file descriptor) and looks at the pace the
//!   driver gives (the machine watcher's fallback cadence), sending only a change. A property
//!   read: no process, no IO, no timer on the driver's runtime.
//! - Linux and the rest: nothing is reported (no requirement to read thermal zones, whose
//!   meaning differs per machine), so the heat rule never pauses there and `status` says "not
//!   reported here". Tests feed the rule through the fake platform.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::model::ThermalState;

#[cfg(target_os = "macos")]
mod macos;

/// Sends the thermal state at start and on each change (looked at every `every` besides the
/// change notifications), until the receiver goes away; sends nothing where the OS reports none.
pub fn watch(every: Duration, states: mpsc::UnboundedSender<ThermalState>) {
    #[cfg(target_os = "macos")]
    macos::watch(every, states);
    #[cfg(not(target_os = "macos"))]
    drop((every, states));
}

/// `NSProcessInfoThermalState`'s raw value (0 nominal, 1 fair, 2 serious, 3 critical) as a
/// state; a value Apple may add beyond critical counts as critical, a negative one as nominal.
pub fn thermal_state_from_raw(raw: isize) -> ThermalState {
    match raw {
        ..=0 => ThermalState::Nominal,
        1 => ThermalState::Fair,
        2 => ThermalState::Serious,
        _ => ThermalState::Critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_map_as_foundation_documents_them() {
        assert_eq!(thermal_state_from_raw(0), ThermalState::Nominal);
        assert_eq!(thermal_state_from_raw(1), ThermalState::Fair);
        assert_eq!(thermal_state_from_raw(2), ThermalState::Serious);
        assert_eq!(thermal_state_from_raw(3), ThermalState::Critical);
        assert_eq!(thermal_state_from_raw(7), ThermalState::Critical);
        assert_eq!(thermal_state_from_raw(-1), ThermalState::Nominal);
    }
}
