//! The machine's thermal state, for `pause_at_thermal`, at start and on every change
//! (`supervisor::courtesy::Heat` judges). macOS: `NSProcessInfo.thermalState`; elsewhere nothing is
//! reported (thermal zones mean different things per machine), so the rule never pauses.

use tokio::sync::mpsc;

use crate::model::ThermalState;

#[cfg(target_os = "macos")]
mod macos;

/// Until the receiver goes away.
pub fn watch(states: mpsc::UnboundedSender<ThermalState>) {
    #[cfg(target_os = "macos")]
    macos::watch(states);
    #[cfg(not(target_os = "macos"))]
    drop(states);
}

/// `NSProcessInfoThermalState`'s raw value (0 nominal … 3 critical); beyond critical counts as
/// critical.
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
