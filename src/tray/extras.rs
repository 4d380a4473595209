//! The figures the menu shows besides the supervisor's status, all from the driver's report:
//! the battery (which the machine watcher keeps current), how busy the worker is (worked out
//! from the history's reading of the worker's tree once a minute) and the cluster's size (asked
//! of the head's dashboard by the supervisor's rule). The tray asks the OS for none of them.

use crate::model::{ChargeState, PowerSnapshot};
use crate::runtime::control::StatusReport;
use crate::tray::menu::{BatteryTrend, Extras};

/// The figures of `report`, with the login item as last read.
pub fn from_report(report: &StatusReport, login_item: Option<bool>) -> Extras {
    let status = report.status.as_ref();
    Extras {
        battery: report.power.as_ref().and_then(battery_line),
        worker_busy_percent: status.and_then(|s| s.worker_busy_percent),
        cluster: status
            .and_then(|s| s.cluster)
            .map(|size| (f64::from(size.cpus), size.nodes as usize)),
        login_item,
        contribution: report.contribution,
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Battery;

    #[test]
    fn the_figures_come_from_the_report() {
        use crate::model::{ClusterSize, Status};
        let report = StatusReport {
            status: Some(Status {
                worker_busy_percent: Some(37),
                cluster: Some(ClusterSize { cpus: 22, nodes: 2 }),
                ..Status::default()
            }),
            power: Some(PowerSnapshot {
                on_ac: true,
                battery: None,
            }),
            ..StatusReport::default()
        };
        let extras = from_report(&report, Some(true));
        assert_eq!(extras.cluster, Some((22.0, 2)));
        assert_eq!(extras.worker_busy_percent, Some(37));
        assert_eq!((extras.battery, extras.login_item), (None, Some(true)));
        assert_eq!(
            from_report(&StatusReport::default(), None),
            Extras::default()
        );
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
