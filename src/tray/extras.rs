//! The figures the menu shows besides the supervisor's status: battery, how busy the worker
//! is, the cluster's size. Only the cluster's size is asked for here (its dashboard, every
//! half minute while connected, in `spawn_blocking`, never on the UI thread). The battery
//! comes from the driver's status report (`StatusReport::power`), which the machine watcher
//! keeps current, and how busy the worker is from the supervisor's status, which works it
//! out from the history's reading of the worker's tree once a minute: the OS is asked once,
//! not twice, and the process table is not walked for the menu.

use std::time::Duration;

use crate::dashboard;
use crate::model::{ChargeState, PowerSnapshot};
use crate::tray::menu::BatteryTrend;

/// The cluster's size costs an HTTP request to the head's dashboard: asked this often while
/// connected (and at once on connecting).
pub const CLUSTER_EVERY: Duration = Duration::from_secs(30);

/// The battery as the menu shows it; `None` without a battery.
pub fn battery_line(power: &PowerSnapshot) -> Option<(u8, BatteryTrend)> {
    let battery = power.battery?;
    let trend = match battery.state {
        ChargeState::Charging => BatteryTrend::Charging,
        ChargeState::Discharging => BatteryTrend::Discharging,
        ChargeState::Full | ChargeState::NotCharging => BatteryTrend::OnPower,
        ChargeState::Unknown if power.on_ac => BatteryTrend::OnPower,
        ChargeState::Unknown => BatteryTrend::Discharging,
    };
    Some((battery.percent, trend))
}

/// Whether the head's dashboard is asked for the cluster's size (every [`CLUSTER_EVERY`]):
/// while connected, never to the built-in demo head (it runs no dashboard worth a request
/// every half minute, and its cluster is this machine).
pub fn asks_cluster(status: Option<&crate::model::Status>) -> bool {
    status.is_some_and(|s| s.phase == crate::model::Phase::Connected && !s.demo)
}

/// The cluster's alive CPUs and nodes, when the head's dashboard answers.
pub fn cluster(head_host: &str) -> Option<(f64, usize)> {
    let body = dashboard::http_get(
        head_host,
        dashboard::DASHBOARD_PORT,
        "/api/v0/nodes",
        Duration::from_secs(1),
    )
    .ok()?;
    let nodes = dashboard::parse_nodes(&body).ok()?;
    Some(dashboard::alive_totals(&nodes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Battery;

    #[test]
    fn the_cluster_is_asked_while_connected_to_a_real_head_only() {
        use crate::model::{Phase, Status};
        let connected = Status {
            phase: Phase::Connected,
            ..Status::default()
        };
        assert!(asks_cluster(Some(&connected)));
        let demo = Status {
            demo: true,
            ..connected.clone()
        };
        assert!(!asks_cluster(Some(&demo)), "not the demo head");
        let starting = Status {
            phase: Phase::Starting,
            ..connected
        };
        assert!(!asks_cluster(Some(&starting)));
        assert!(!asks_cluster(None));
    }

    #[test]
    fn battery_lines_follow_the_charge_state() {
        let snap = |state, on_ac| PowerSnapshot {
            on_ac,
            battery: Some(Battery { percent: 55, state }),
        };
        assert_eq!(
            battery_line(&snap(ChargeState::Charging, true)),
            Some((55, BatteryTrend::Charging))
        );
        assert_eq!(
            battery_line(&snap(ChargeState::Discharging, false)),
            Some((55, BatteryTrend::Discharging))
        );
        assert_eq!(
            battery_line(&snap(ChargeState::NotCharging, true)),
            Some((55, BatteryTrend::OnPower))
        );
        assert_eq!(
            battery_line(&snap(ChargeState::Unknown, false)),
            Some((55, BatteryTrend::Discharging))
        );
        assert_eq!(
            battery_line(&PowerSnapshot {
                on_ac: true,
                battery: None
            }),
            None
        );
    }
}
