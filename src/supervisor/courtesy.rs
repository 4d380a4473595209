//! How the worker keeps out of the user's way: it keeps the machine awake while it contributes,
//! steps back when the machine runs hot, and, when asked, contributes only while the user is
//! away. The platform only carries the verdicts out (an IOKit assertion, a logind inhibitor).

use std::time::{Duration, Instant};

use super::settings::{
    CourtesyPolicy, THERMAL_REPEAT_WINDOW, THERMAL_RESUME_AFTER, THERMAL_RESUME_AFTER_MAX,
};
use crate::model::{
    AutoPause, AwakeHold, CourtesyStatus, IdleReading, KeepAwake, LogNote, PauseAtThermal,
    PowerSnapshot, ThermalState,
};

/// The courtesy rules' state.
#[derive(Debug, Clone, Default)]
pub struct Courtesy {
    pub heat: Heat,
    pub presence: Presence,
    /// The OS holds idle sleep off for us now (its last [`AwakeHold`] report).
    awake_held: bool,
    /// A refused hold was logged: once per run is enough.
    refusal_logged: bool,
}

impl Courtesy {
    /// What the OS made of the idle-sleep hold; a note for the log the first time it refuses.
    pub fn awake_report(&mut self, report: AwakeHold) -> Option<LogNote> {
        self.awake_held = report == AwakeHold::Held;
        match report {
            AwakeHold::Refused { why } if !std::mem::replace(&mut self.refusal_logged, true) => {
                Some(LogNote::KeepAwakeRefused { why })
            }
            _ => None,
        }
    }

    /// The pause these rules hold, as the user sees it: the heat's, then the user's presence.
    pub fn pause(&self, policy: &CourtesyPolicy) -> Option<AutoPause> {
        if self.heat.paused {
            return Some(AutoPause::RunsHot {
                thermal: self.heat.state.unwrap_or(ThermalState::Serious),
                resume_after_secs: self.heat.resume_after().as_secs(),
            });
        }
        let away_after = policy.only_when_idle?;
        self.presence.holding.then(|| AutoPause::UserPresent {
            away_minutes: minutes(away_after),
        })
    }

    /// What the rules are set to and do now; `working`: connected or draining.
    pub fn status(
        &self,
        policy: &CourtesyPolicy,
        working: bool,
        power: Option<PowerSnapshot>,
    ) -> CourtesyStatus {
        let hold_awake = keep_awake(policy.keep_awake, working, power);
        let idle_rule = policy.only_when_idle.is_some();
        CourtesyStatus {
            keep_awake: policy.keep_awake,
            hold_awake,
            keeping_awake: hold_awake && self.awake_held,
            pause_at_thermal: policy.pause_at_thermal,
            thermal: self.heat.state,
            only_when_idle_minutes: policy.only_when_idle.map(minutes),
            idle_unsupported: idle_rule && self.presence.unsupported,
            idle_hint_never_set: idle_rule && self.presence.hint_never_set,
        }
    }
}

fn minutes(duration: Duration) -> u32 {
    u32::try_from(duration.as_secs() / 60).unwrap_or(u32::MAX)
}

/// Whether idle sleep is held off now: only while the worker is part of the cluster or
/// finishing its tasks there (`working`), and with [`KeepAwake::OnPower`] only on mains (power
/// not read, or unreadable, counts as mains). Draining counts: a sleep would cut short the
/// tasks "pause after the current tasks" waits for, and a drain ends by its deadline.
pub fn keep_awake(policy: KeepAwake, working: bool, power: Option<PowerSnapshot>) -> bool {
    let on_power = power.is_none_or(|p| p.on_ac);
    working
        && match policy {
            KeepAwake::Always => true,
            KeepAwake::OnPower => on_power,
            KeepAwake::Never => false,
        }
}

/// The heat rule: pause (after the current tasks) at the configured thermal state; resume once
/// the machine has stayed at `fair` or `nominal` for [`THERMAL_RESUME_AFTER`], doubled for each
/// pause within [`THERMAL_REPEAT_WINDOW`] of the previous one's end, up to
/// [`THERMAL_RESUME_AFTER_MAX`]. The wait is the timer table's, as [`HeatStep`] says.
#[derive(Debug, Clone, Default)]
pub struct Heat {
    /// The thermal state last reported; `None` where the OS reports none.
    pub state: Option<ThermalState>,
    /// The heat pause holds.
    pub paused: bool,
    /// The pause was notified: its end will be too (one notification each way).
    pub notified: bool,
    /// The user resumed during a heat pause, at this state: honoured until the machine is
    /// below the limit again or hotter than the user saw.
    overridden: Option<ThermalState>,
    /// When the last heat pause ended by cooling down.
    last_ended: Option<Instant>,
    /// Heat pauses in a row within [`THERMAL_REPEAT_WINDOW`] of the previous one's end.
    repeats: u32,
}

/// What a thermal reading asks of the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeatStep {
    /// Nothing changes.
    Nothing,
    /// The heat pause begins: the cool-down wait, if any, is cancelled.
    Pause,
    /// Cool enough to start the wait before resuming (if it is not already running).
    StartCoolDown,
    /// Not cool enough (any more) to resume: the wait, if any, is cancelled.
    CancelCoolDown,
}

impl Heat {
    /// A new reading under `limit`, at `now`.
    pub fn on_reading(
        &mut self,
        now: Instant,
        limit: PauseAtThermal,
        state: ThermalState,
    ) -> HeatStep {
        self.state = Some(state);
        let Some(threshold) = limit.threshold() else {
            self.paused = false;
            return HeatStep::CancelCoolDown;
        };
        if state < threshold || self.overridden.is_some_and(|at| state > at) {
            self.overridden = None;
        }
        if state >= threshold {
            if self.paused {
                HeatStep::CancelCoolDown
            } else if self.overridden.is_some() {
                HeatStep::Nothing
            } else {
                self.paused = true;
                let repeat = self
                    .last_ended
                    .is_some_and(|at| now.saturating_duration_since(at) < THERMAL_REPEAT_WINDOW);
                self.repeats = if repeat { self.repeats + 1 } else { 0 };
                HeatStep::Pause
            }
        } else if !self.paused {
            HeatStep::Nothing
        } else if state <= ThermalState::Fair {
            HeatStep::StartCoolDown
        } else {
            // Below the limit but still warm (`serious` under a `critical` limit): wait on.
            HeatStep::CancelCoolDown
        }
    }

    /// How long the machine must stay cooler before this heat pause ends.
    pub fn resume_after(&self) -> Duration {
        THERMAL_RESUME_AFTER
            .saturating_mul(1 << self.repeats.min(16))
            .min(THERMAL_RESUME_AFTER_MAX)
    }

    /// The machine stayed cool long enough: the pause ends. Whether its end is worth a
    /// notification (its start was notified).
    pub fn cooled_down(&mut self, now: Instant) -> bool {
        let was_paused = std::mem::take(&mut self.paused);
        if was_paused {
            self.last_ended = Some(now);
        }
        was_paused && std::mem::take(&mut self.notified)
    }

    /// The user resumed: their choice wins over a heat pause until the machine is below the
    /// limit again. Whether a heat pause ended (its cool-down wait is moot).
    pub fn user_resumed(&mut self, limit: PauseAtThermal) -> bool {
        if !std::mem::take(&mut self.paused) {
            return false;
        }
        self.notified = false;
        self.overridden = limit
            .threshold()
            .and_then(|threshold| self.state.filter(|state| *state >= threshold));
        true
    }
}

/// The "only when idle" rule: the worker waits until the user has been away from keyboard and
/// mouse for the setting, and leaves (with a drain) when they come back. A desktop that never
/// set its idle hint counts as in use; a failed read keeps the last verdict (a D-Bus glitch
/// must not start or stop a worker); where nothing can tell, the rule is reported unsupported
/// rather than blocking forever. When the user counts as away is kept as an instant, so that
/// the timer table, not the reading cadence, says when it is reached.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    /// When the user counts as away: the last input plus the setting. `None`: no reading yet.
    away_from: Option<Instant>,
    /// The OS cannot tell how long the user has been away: the rule is not applied.
    pub unsupported: bool,
    /// The session's desktop has not reported idleness yet: counted as in use.
    pub hint_never_set: bool,
    /// The user resumed while the rule held the worker back: honoured until they have been
    /// away once.
    overridden: bool,
    /// The verdict as of the last [`Presence::update`]: the worker is held back.
    pub holding: bool,
}

impl Presence {
    /// A reading under a setting of `away_after`: when the user will count as away, if ahead.
    pub fn on_reading(
        &mut self,
        now: Instant,
        reading: IdleReading,
        away_after: Duration,
    ) -> Option<Instant> {
        let idle = match reading {
            IdleReading::Idle(idle) => Some(idle),
            // In use: a desktop that has never been idle since the session began.
            IdleReading::HintNeverSet => Some(Duration::ZERO),
            IdleReading::ReadFailed => None,
            IdleReading::NoSession => {
                self.unsupported = true;
                self.hint_never_set = false;
                self.away_from = None;
                None
            }
        };
        if let Some(idle) = idle {
            self.unsupported = false;
            self.hint_never_set = reading == IdleReading::HintNeverSet;
            self.away_from = Some(now + away_after.saturating_sub(idle));
        }
        self.away_from.filter(|at| *at > now)
    }

    /// Brings [`Presence::holding`] up to `now`.
    pub fn update(&mut self, now: Instant) {
        let away = self.away_from.is_some_and(|at| now >= at);
        if away {
            self.overridden = false;
        }
        self.holding = !self.unsupported && !self.overridden && !away;
    }

    /// The user resumed: their choice wins until they have been away once.
    pub fn user_resumed(&mut self, now: Instant) {
        self.update(now);
        if self.holding {
            self.overridden = true;
            self.holding = false;
        }
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

    #[test]
    fn a_refused_hold_is_logged_once_and_only_a_granted_one_is_claimed() {
        let mut courtesy = Courtesy::default();
        let refused = || AwakeHold::Refused { why: "no".into() };
        assert!(courtesy.awake_report(refused()).is_some());
        assert!(courtesy.awake_report(AwakeHold::Released).is_none());
        assert!(courtesy.awake_report(refused()).is_none(), "once per run");
        let policy = CourtesyPolicy::default();
        assert!(!courtesy.status(&policy, true, None).keeping_awake);
        courtesy.awake_report(AwakeHold::Held);
        let status = courtesy.status(&policy, true, None);
        assert!(status.hold_awake && status.keeping_awake);
        assert!(!courtesy.status(&policy, false, None).keeping_awake);
    }

    #[test]
    fn the_heat_pause_shows_before_the_presence_pause() {
        let t0 = Instant::now();
        let policy = CourtesyPolicy {
            only_when_idle: Some(Duration::from_secs(600)),
            ..CourtesyPolicy::default()
        };
        let mut courtesy = Courtesy::default();
        courtesy.presence.update(t0);
        assert_eq!(
            courtesy.pause(&policy),
            Some(AutoPause::UserPresent { away_minutes: 10 })
        );
        assert_eq!(
            courtesy.pause(&CourtesyPolicy::default()),
            None,
            "the rule is off"
        );
        courtesy
            .heat
            .on_reading(t0, PauseAtThermal::Serious, ThermalState::Critical);
        assert_eq!(
            courtesy.pause(&policy),
            Some(AutoPause::RunsHot {
                thermal: ThermalState::Critical,
                resume_after_secs: 300
            })
        );
    }

    #[test]
    fn heat_pauses_at_the_limit_and_waits_for_fair_or_nominal() {
        use ThermalState::*;
        let t0 = Instant::now();
        let mut heat = Heat::default();
        let limit = PauseAtThermal::Serious;
        assert_eq!(heat.on_reading(t0, limit, Nominal), HeatStep::Nothing);
        assert_eq!(heat.on_reading(t0, limit, Fair), HeatStep::Nothing);
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Pause);
        assert!(heat.paused);
        assert_eq!(
            heat.on_reading(t0, limit, Critical),
            HeatStep::CancelCoolDown
        );
        assert_eq!(heat.on_reading(t0, limit, Fair), HeatStep::StartCoolDown);
        assert_eq!(
            heat.on_reading(t0, limit, Serious),
            HeatStep::CancelCoolDown
        );
        assert_eq!(heat.on_reading(t0, limit, Nominal), HeatStep::StartCoolDown);
        heat.notified = true;
        assert!(heat.cooled_down(t0), "a notified pause's end is notified");
        assert!(!heat.paused);
        assert!(!heat.cooled_down(t0), "once");

        // Under a `critical` limit, `serious` neither pauses nor ends a pause.
        let mut heat = Heat::default();
        let limit = PauseAtThermal::Critical;
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Nothing);
        assert_eq!(heat.on_reading(t0, limit, Critical), HeatStep::Pause);
        assert_eq!(
            heat.on_reading(t0, limit, Serious),
            HeatStep::CancelCoolDown
        );
        assert!(heat.paused);

        // `never`.
        let mut heat = Heat::default();
        assert_ne!(
            heat.on_reading(t0, PauseAtThermal::Never, Critical),
            HeatStep::Pause
        );
        assert!(!heat.paused);
    }

    #[test]
    fn a_resume_during_a_heat_pause_holds_until_the_machine_cools() {
        use ThermalState::*;
        let t0 = Instant::now();
        let mut heat = Heat::default();
        let limit = PauseAtThermal::Serious;
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Pause);
        heat.user_resumed(limit);
        assert!(!heat.paused);
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Nothing);
        assert_eq!(heat.on_reading(t0, limit, Fair), HeatStep::Nothing);
        assert_eq!(
            heat.on_reading(t0, limit, Serious),
            HeatStep::Pause,
            "a new rise"
        );

        // A Resume at `serious` does not cover `critical`: hotter than the user saw pauses.
        assert_eq!(
            heat.on_reading(t0, limit, Critical),
            HeatStep::CancelCoolDown
        );
        heat.user_resumed(limit);
        assert!(!heat.paused);
        heat.on_reading(t0, limit, Fair);
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Pause);
        heat.user_resumed(limit);
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Nothing);
        assert_eq!(
            heat.on_reading(t0, limit, Critical),
            HeatStep::Pause,
            "hotter than when the user resumed"
        );
        heat.user_resumed(limit);
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Nothing);
        assert_eq!(heat.on_reading(t0, limit, Critical), HeatStep::Nothing);

        // A resume during the cool-down wait ends the pause early; the next rise pauses.
        heat.on_reading(t0, limit, Serious);
        heat.on_reading(t0, limit, Fair);
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Pause);
        assert_eq!(heat.on_reading(t0, limit, Nominal), HeatStep::StartCoolDown);
        heat.user_resumed(limit);
        assert!(!heat.paused);
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Pause);
    }

    #[test]
    fn a_heat_pause_repeated_within_the_hour_waits_longer() {
        use ThermalState::*;
        let t0 = Instant::now();
        let min = |m: u64| Duration::from_secs(m * 60);
        let limit = PauseAtThermal::Serious;
        let mut heat = Heat::default();
        let mut at = t0;
        let mut waits = Vec::new();
        for _ in 0..5 {
            assert_eq!(heat.on_reading(at, limit, Serious), HeatStep::Pause);
            waits.push(heat.resume_after());
            heat.on_reading(at, limit, Nominal);
            at += heat.resume_after();
            heat.cooled_down(at);
            // Hot again five minutes after rejoining.
            at += min(5);
        }
        assert_eq!(waits, vec![min(5), min(10), min(20), min(20), min(20)]);
        // An hour cool: the next pause is a first one again.
        at += min(60);
        assert_eq!(heat.on_reading(at, limit, Serious), HeatStep::Pause);
        assert_eq!(heat.resume_after(), min(5));
    }

    #[test]
    fn the_user_counts_as_away_after_the_setting_without_input() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let away_after = s(600);
        let mut presence = Presence::default();
        presence.update(t0);
        assert!(presence.holding, "no reading yet: not known to be away");
        assert_eq!(
            presence.on_reading(t0, IdleReading::Idle(s(30)), away_after),
            Some(t0 + s(570))
        );
        presence.update(t0 + s(569));
        assert!(presence.holding);
        presence.update(t0 + s(570));
        assert!(
            !presence.holding,
            "away without a new reading: the timer says so"
        );
        // Input again: held back at once.
        assert_eq!(
            presence.on_reading(t0 + s(700), IdleReading::Idle(s(1)), away_after),
            Some(t0 + s(1299))
        );
        presence.update(t0 + s(700));
        assert!(presence.holding);
        // Away for longer than the setting already.
        assert_eq!(
            presence.on_reading(t0, IdleReading::Idle(s(900)), away_after),
            None
        );
        presence.update(t0);
        assert!(!presence.holding);
    }

    #[test]
    fn a_machine_that_cannot_tell_is_not_held_back_and_a_resume_wins_until_away() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut presence = Presence::default();
        assert_eq!(presence.on_reading(t0, IdleReading::NoSession, s(60)), None);
        presence.update(t0);
        assert!(presence.unsupported && !presence.holding);

        let mut presence = Presence::default();
        presence.on_reading(t0, IdleReading::Idle(s(0)), s(60));
        presence.user_resumed(t0);
        assert!(!presence.holding, "the user's Resume wins");
        presence.on_reading(t0 + s(5), IdleReading::Idle(s(0)), s(60));
        presence.update(t0 + s(5));
        assert!(!presence.holding, "while they keep using the machine");
        presence.update(t0 + s(65));
        assert!(!presence.holding, "away once");
        presence.on_reading(t0 + s(70), IdleReading::Idle(s(0)), s(60));
        presence.update(t0 + s(70));
        assert!(presence.holding, "back: the rule applies again");
    }

    #[test]
    fn a_hint_never_set_is_in_use_and_a_failed_read_keeps_the_last_verdict() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let away_after = s(60);

        // A fresh desktop session before its first idle period: at the machine.
        let mut presence = Presence::default();
        assert_eq!(
            presence.on_reading(t0, IdleReading::HintNeverSet, away_after),
            Some(t0 + s(60))
        );
        presence.update(t0);
        assert!(presence.holding && presence.hint_never_set && !presence.unsupported);

        // A failed read changes nothing: still held (not "unsupported", not started).
        presence.on_reading(t0 + s(5), IdleReading::ReadFailed, away_after);
        presence.update(t0 + s(5));
        assert!(presence.holding && !presence.unsupported);

        // Away, then a failed read: still away (no stop on a glitch).
        presence.on_reading(t0 + s(10), IdleReading::Idle(s(120)), away_after);
        presence.update(t0 + s(10));
        assert!(!presence.holding && !presence.hint_never_set);
        assert_eq!(
            presence.on_reading(t0 + s(15), IdleReading::ReadFailed, away_after),
            None
        );
        presence.update(t0 + s(15));
        assert!(!presence.holding);

        // A failed read before any reading: not known to be away.
        let mut presence = Presence::default();
        presence.on_reading(t0, IdleReading::ReadFailed, away_after);
        presence.update(t0);
        assert!(presence.holding && !presence.unsupported);
    }
}
