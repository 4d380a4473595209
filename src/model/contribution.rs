//! What the worker gave: the CPU time its processes used, and what it was doing when.
//!
//! Vocabulary only: the supervisor says what the worker is doing ([`Activity`]) and how much
//! CPU its process tree used ([`ProcessUsage`] readings in, a duration out); the driver stamps
//! these with the wall clock into `history.json`; the menu, the CLI and the page show a
//! [`ContributionSummary`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AutoPause, Phase, Status};

/// What the worker was doing, as the timeline of the last days shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Activity {
    /// A worker is part of the cluster (joined, or finishing its tasks before leaving).
    Connected,
    /// Not contributing because of a pause: the user's own, or one the app chose.
    Paused { reason: PauseReason },
    /// Not contributing though nothing was paused: the head is unreachable, the worker is
    /// starting or restarting, or something needs the user.
    Disconnected,
    /// The app was not running (it quit): nothing is known until it starts again.
    Off,
}

/// Why the worker was paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// The user paused (menu or `pause`).
    User,
    /// The battery was low.
    LowBattery,
    /// On battery with "contribute only on power".
    OnBattery,
    /// The machine was asleep or going to sleep.
    Asleep,
    /// The machine ran hot (`pause_at_thermal`).
    RunsHot,
    /// The user was at the machine (`only_when_idle_minutes`).
    UserActive,
}

impl Activity {
    /// What a status means for the timeline. A worker still finishing its tasks (draining) or
    /// riding through the grace counts as what it does: connected while joined, then paused.
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

/// One process of the worker's tree, as one reading of the process table saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessUsage {
    pub pid: u32,
    /// The kernel's raw record of its start (see `ProcessTable::start_ticks`): with the pid,
    /// tells a process from a later one that reuses its pid.
    pub start: u64,
    pub parent: Option<u32>,
    /// CPU time it used itself (user + system).
    pub own: Duration,
    /// CPU time of its children that ended and that it waited for (Linux `cutime + cstime`,
    /// macOS `ri_child_*_time`): the part of the tree that is gone.
    pub children: Duration,
}

/// The figures the menu and `stats` show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ContributionSummary {
    /// CPU-seconds given today (local date).
    pub today_cpu_secs: f64,
    /// CPU-seconds given over the last 7 days, today included.
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
