//! How the worker keeps out of the user's way: it keeps the machine awake while it contributes
//! (so that it does not idle-sleep away from the cluster on power).
//!
//! Pure rules over facts the driver reports; the supervisor applies their verdicts and the
//! platform only carries them out (an IOKit assertion, a logind inhibitor).

use crate::model::{KeepAwake, PowerSnapshot};

/// Whether idle sleep is held off now: only while the worker is part of the cluster
/// (`connected`: not paused, draining, starting, disconnected or asleep), and with
/// [`KeepAwake::OnPower`] only on mains. Power not read yet counts as mains, as a reading
/// that fails does ([`crate::model::POWER_UNKNOWN`]).
pub fn keep_awake(policy: KeepAwake, connected: bool, power: Option<PowerSnapshot>) -> bool {
    let on_power = power.is_none_or(|p| p.on_ac);
    connected
        && match policy {
            KeepAwake::Always => true,
            KeepAwake::OnPower => on_power,
            KeepAwake::Never => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Battery, ChargeState};

    #[test]
    fn awake_only_while_connected_and_as_the_setting_says() {
        let battery = Some(PowerSnapshot {
            on_ac: false,
            battery: Some(Battery {
                percent: 80,
                state: ChargeState::Discharging,
            }),
        });
        let mains = Some(PowerSnapshot {
            on_ac: true,
            battery: None,
        });
        assert!(keep_awake(KeepAwake::OnPower, true, mains));
        assert!(keep_awake(KeepAwake::OnPower, true, None));
        assert!(!keep_awake(KeepAwake::OnPower, true, battery));
        assert!(!keep_awake(KeepAwake::OnPower, false, mains));
        assert!(keep_awake(KeepAwake::Always, true, battery));
        assert!(!keep_awake(KeepAwake::Always, false, battery));
        assert!(!keep_awake(KeepAwake::Never, true, mains));
    }
}
