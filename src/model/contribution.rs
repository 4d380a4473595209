//! What the worker gave: what it was doing when ([`Activity`]), the CPU time its process tree used
//! ([`ProcessUsage`] readings in, a duration out), and the figures shown ([`ContributionSummary`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AutoPause, Phase, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Activity {
    /// Joined, or finishing its tasks before leaving.
    Connected,
    /// The user's own pause, or one the app chose.
    Paused { reason: PauseReason },
    /// Not paused, yet not contributing: the head away, the worker (re)starting, or an error.
    Disconnected,
    /// The app was not running.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    User,
    LowBattery,
    OnBattery,
    Asleep,
    RunsHot,
    UserActive,
}

impl Activity {
    /// What a status means for the timeline: draining or riding out the grace counts as connected.
    pub fn of(status: &Status) -> Activity {
        let pause = if status.paused {
            Some(PauseReason::User)
        } else {
            status.auto_pause.map(|auto| match auto {
                AutoPause::LowBattery { .. } => PauseReason::LowBattery,
                AutoPause::OnBattery => PauseReason::OnBattery,
                AutoPause::Asleep => PauseReason::Asleep,
                AutoPause::RunsHot { .. } => PauseReason::RunsHot,
                AutoPause::UserPresent { .. } => PauseReason::UserActive,
            })
        };
        match status.phase {
            Phase::Connected | Phase::Draining => Activity::Connected,
            Phase::ShuttingDown => Activity::Off,
            _ => match pause {
                Some(reason) => Activity::Paused { reason },
                None => Activity::Disconnected,
            },
        }
    }
}

/// One process of the worker's tree, in one reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessUsage {
    pub pid: u32,
    /// The kernel's raw record of its start: with the pid, tells it from a later one reusing it.
    pub start: u64,
    pub parent: Option<u32>,
    /// User + system.
    pub own: Duration,
    /// CPU time of the ended children it waited for (`cutime + cstime`, macOS `ri_child_*_time`).
    pub children: Duration,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ContributionSummary {
    pub today_cpu_secs: f64,
    /// Over the last 7 days, today included.
    pub week_cpu_secs: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(phase: Phase, paused: bool, auto_pause: Option<AutoPause>) -> Activity {
        Activity::of(&Status {
            phase,
            paused,
            auto_pause,
            ..Status::default()
        })
    }

    #[test]
    fn each_status_is_one_activity_with_its_pause_reason() {
        use PauseReason::*;
        assert_eq!(with(Phase::Connected, false, None), Activity::Connected);
        assert_eq!(with(Phase::Draining, true, None), Activity::Connected);
        assert_eq!(
            with(Phase::Paused, true, Some(AutoPause::OnBattery)),
            Activity::Paused { reason: User },
            "the user's own pause first"
        );
        for (auto, reason) in [
            (AutoPause::LowBattery { percent: 9 }, LowBattery),
            (AutoPause::OnBattery, OnBattery),
            (AutoPause::Asleep, Asleep),
        ] {
            assert_eq!(
                with(Phase::Paused, false, Some(auto)),
                Activity::Paused { reason }
            );
            assert_eq!(
                with(Phase::Stopping, false, Some(auto)),
                Activity::Paused { reason }
            );
        }
        for phase in [
            Phase::Checking,
            Phase::Starting,
            Phase::Disconnecting,
            Phase::Disconnected,
            Phase::Reconnecting,
            Phase::Error,
        ] {
            assert_eq!(
                with(phase, false, None),
                Activity::Disconnected,
                "{phase:?}"
            );
        }
        assert_eq!(with(Phase::ShuttingDown, false, None), Activity::Off);
    }
}
