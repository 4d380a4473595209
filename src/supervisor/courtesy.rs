//! How the worker keeps out of the user's way: awake while contributing, stepping back when hot,
//! and if asked only while the user is away. The platform only carries the verdicts out.

use std::time::{Duration, Instant};

use super::settings::{
    CourtesyPolicy, THERMAL_REPEAT_WINDOW, THERMAL_RESUME_AFTER, THERMAL_RESUME_AFTER_MAX,
};
use super::timers::{Timer, Timers};
use crate::model::{
    AutoPause, AwakeHold, CourtesyStatus, IdleReading, KeepAwake, LogNote, PauseAtThermal,
    PowerSnapshot, ThermalState,
};

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
        self.presence.holding().then(|| AutoPause::UserPresent {
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

/// Whether idle sleep is held off now: only while the worker is `working` (joined, or draining:
/// a drain ends by its deadline), under [`KeepAwake::OnPower`] only on mains (or power unread).
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
/// the machine has stayed at `fair` or cooler for [`Heat::resume_after`] ([`Timer::CooledDown`]).
#[derive(Debug, Clone, Default)]
pub struct Heat {
    /// The thermal state last reported; `None` where the OS reports none.
    pub state: Option<ThermalState>,
    pub paused: bool,
    /// The pause was notified: its end will be too.
    pub notified: bool,
    /// The user resumed during a heat pause, at this state: honoured until below the limit again.
    overridden: Option<ThermalState>,
    /// When the last heat pause ended by cooling down.
    last_ended: Option<Instant>,
    /// Heat pauses in a row within [`THERMAL_REPEAT_WINDOW`] of the previous one's end.
    repeats: u32,
}

impl Heat {
    /// A new reading under `limit`; whether a heat pause begins.
    pub fn on_reading(
        &mut self,
        now: Instant,
        limit: PauseAtThermal,
        state: ThermalState,
        timers: &mut Timers,
    ) -> bool {
        self.state = Some(state);
        let threshold = limit.threshold();
        let hot = threshold.is_some_and(|threshold| state >= threshold);
        if !hot || self.overridden.is_some_and(|at| state > at) {
            self.overridden = None;
        }
        self.paused &= threshold.is_some();
        let begins = hot && !self.paused && self.overridden.is_none();
        if begins {
            self.paused = true;
            let repeat = self
                .last_ended
                .is_some_and(|at| now.saturating_duration_since(at) < THERMAL_REPEAT_WINDOW);
            self.repeats = if repeat { self.repeats + 1 } else { 0 };
        }
        // The wait runs while cool enough: `serious` under a `critical` limit waits on.
        if !self.paused || state > ThermalState::Fair {
            timers.stop(Timer::CooledDown);
        } else if !timers.is_set(Timer::CooledDown) {
            timers.set(Timer::CooledDown, now + self.resume_after());
        }
        begins
    }

    /// How long the machine must stay cooler before this heat pause ends.
    pub fn resume_after(&self) -> Duration {
        THERMAL_RESUME_AFTER
            .saturating_mul(1 << self.repeats.min(16))
            .min(THERMAL_RESUME_AFTER_MAX)
    }

    /// [`Timer::CooledDown`] fired: the pause ends; whether to notify it (its start was).
    pub fn cooled_down(&mut self, now: Instant) -> bool {
        let was_paused = std::mem::take(&mut self.paused);
        if was_paused {
            self.last_ended = Some(now);
        }
        was_paused && std::mem::take(&mut self.notified)
    }

    /// The user resumed: their choice wins over a heat pause until it is below the limit again.
    pub fn user_resumed(&mut self, limit: PauseAtThermal, timers: &mut Timers) {
        if std::mem::take(&mut self.paused) {
            self.notified = false;
            self.overridden = limit
                .threshold()
                .and_then(|threshold| self.state.filter(|state| *state >= threshold));
            timers.stop(Timer::CooledDown);
        }
    }
}

/// The "only when idle" rule: the worker waits until the user has been away for the setting
/// ([`Timer::UserAway`]), and leaves (with a drain) when they come back. Where nothing can tell,
/// the rule is reported unsupported rather than blocking forever.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    away: bool,
    /// The OS cannot tell how long the user has been away: the rule is not applied.
    pub unsupported: bool,
    /// The session's desktop has not reported idleness yet: counted as in use.
    pub hint_never_set: bool,
    /// The user resumed while the rule held the worker back: honoured until they are away.
    overridden: bool,
}

impl Presence {
    /// A reading under a setting of `away_after`.
    pub fn on_reading(
        &mut self,
        now: Instant,
        reading: IdleReading,
        away_after: Duration,
        timers: &mut Timers,
    ) {
        let idle = match reading {
            IdleReading::Idle(idle) => idle,
            IdleReading::HintNeverSet => Duration::ZERO,
            IdleReading::ReadFailed => return,
            IdleReading::NoSession => {
                (self.unsupported, self.hint_never_set, self.away) = (true, false, false);
                return timers.stop(Timer::UserAway);
            }
        };
        self.unsupported = false;
        self.hint_never_set = reading == IdleReading::HintNeverSet;
        self.away = false;
        match away_after.saturating_sub(idle) {
            left if left.is_zero() => {
                timers.stop(Timer::UserAway);
                self.away_now();
            }
            left => timers.set(Timer::UserAway, now + left),
        }
    }

    /// The user has been away for the setting ([`Timer::UserAway`] fired).
    pub fn away_now(&mut self) {
        self.away = true;
        self.overridden = false;
    }

    /// The worker is held back.
    pub fn holding(&self) -> bool {
        !self.unsupported && !self.overridden && !self.away
    }

    /// The user resumed: their choice wins until they have been away once.
    pub fn user_resumed(&mut self) {
        self.overridden |= self.holding();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Battery, ChargeState};
    use std::ops::{Deref, DerefMut};

    /// What a thermal reading asked of the cool-down wait, as the rule and its timer show it.
    #[derive(Debug, PartialEq, Eq)]
    enum HeatStep {
        /// Not paused, or the user's Resume holds.
        Nothing,
        Pause,
        /// Paused, and the wait before resuming runs.
        StartCoolDown,
        /// Paused, and no wait runs.
        CancelCoolDown,
    }

    /// A rule with its own timer table, as the supervisor runs it.
    #[derive(Default)]
    struct Rig<Rule> {
        rule: Rule,
        timers: Timers,
    }

    impl<Rule> Deref for Rig<Rule> {
        type Target = Rule;
        fn deref(&self) -> &Rule {
            &self.rule
        }
    }

    impl<Rule> DerefMut for Rig<Rule> {
        fn deref_mut(&mut self) -> &mut Rule {
            &mut self.rule
        }
    }

    impl Rig<Heat> {
        fn on_reading(
            &mut self,
            now: Instant,
            limit: PauseAtThermal,
            state: ThermalState,
        ) -> HeatStep {
            if self.rule.on_reading(now, limit, state, &mut self.timers) {
                HeatStep::Pause
            } else if !self.paused {
                HeatStep::Nothing
            } else if self.timers.is_set(Timer::CooledDown) {
                HeatStep::StartCoolDown
            } else {
                HeatStep::CancelCoolDown
            }
        }

        fn user_resumed(&mut self, limit: PauseAtThermal) {
            self.rule.user_resumed(limit, &mut self.timers);
        }
    }

    impl Rig<Presence> {
        /// A reading; when the user will count as away, if ahead.
        fn on_reading(
            &mut self,
            now: Instant,
            reading: IdleReading,
            away_after: Duration,
        ) -> Option<Instant> {
            self.rule
                .on_reading(now, reading, away_after, &mut self.timers);
            self.timers.get(Timer::UserAway)
        }

        /// Time passes to `now`: the deadline fires if due.
        fn update(&mut self, now: Instant) {
            for timer in self.timers.take_expired(now) {
                assert_eq!(timer, Timer::UserAway);
                self.rule.away_now();
            }
        }

        fn user_resumed(&mut self, now: Instant) {
            self.update(now);
            self.rule.user_resumed();
        }
    }

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
        assert_eq!(
            courtesy.pause(&policy),
            Some(AutoPause::UserPresent { away_minutes: 10 })
        );
        assert_eq!(
            courtesy.pause(&CourtesyPolicy::default()),
            None,
            "the rule is off"
        );
        let timers = &mut Timers::default();
        let (limit, critical) = (PauseAtThermal::Serious, ThermalState::Critical);
        courtesy.heat.on_reading(t0, limit, critical, timers);
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
        let mut heat = Rig::<Heat>::default();
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
        let mut heat = Rig::<Heat>::default();
        let limit = PauseAtThermal::Critical;
        assert_eq!(heat.on_reading(t0, limit, Serious), HeatStep::Nothing);
        assert_eq!(heat.on_reading(t0, limit, Critical), HeatStep::Pause);
        assert_eq!(
            heat.on_reading(t0, limit, Serious),
            HeatStep::CancelCoolDown
        );
        assert!(heat.paused);

        // `never`.
        let mut heat = Rig::<Heat>::default();
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
        let mut heat = Rig::<Heat>::default();
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
        let mut heat = Rig::<Heat>::default();
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
        let mut presence = Rig::<Presence>::default();
        presence.update(t0);
        assert!(presence.holding(), "no reading yet: not known to be away");
        assert_eq!(
            presence.on_reading(t0, IdleReading::Idle(s(30)), away_after),
            Some(t0 + s(570))
        );
        presence.update(t0 + s(569));
        assert!(presence.holding());
        presence.update(t0 + s(570));
        assert!(
            !presence.holding(),
            "away without a new reading: the timer says so"
        );
        // Input again: held back at once.
        assert_eq!(
            presence.on_reading(t0 + s(700), IdleReading::Idle(s(1)), away_after),
            Some(t0 + s(1299))
        );
        presence.update(t0 + s(700));
        assert!(presence.holding());
        // Away for longer than the setting already.
        assert_eq!(
            presence.on_reading(t0, IdleReading::Idle(s(900)), away_after),
            None
        );
        presence.update(t0);
        assert!(!presence.holding());
    }

    #[test]
    fn a_machine_that_cannot_tell_is_not_held_back_and_a_resume_wins_until_away() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut presence = Rig::<Presence>::default();
        assert_eq!(presence.on_reading(t0, IdleReading::NoSession, s(60)), None);
        presence.update(t0);
        assert!(presence.unsupported && !presence.holding());

        let mut presence = Rig::<Presence>::default();
        presence.on_reading(t0, IdleReading::Idle(s(0)), s(60));
        presence.user_resumed(t0);
        assert!(!presence.holding(), "the user's Resume wins");
        presence.on_reading(t0 + s(5), IdleReading::Idle(s(0)), s(60));
        presence.update(t0 + s(5));
        assert!(!presence.holding(), "while they keep using the machine");
        presence.update(t0 + s(65));
        assert!(!presence.holding(), "away once");
        presence.on_reading(t0 + s(70), IdleReading::Idle(s(0)), s(60));
        presence.update(t0 + s(70));
        assert!(presence.holding(), "back: the rule applies again");
    }

    #[test]
    fn a_hint_never_set_is_in_use_and_a_failed_read_keeps_the_last_verdict() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let away_after = s(60);

        // A fresh desktop session before its first idle period: at the machine.
        let mut presence = Rig::<Presence>::default();
        assert_eq!(
            presence.on_reading(t0, IdleReading::HintNeverSet, away_after),
            Some(t0 + s(60))
        );
        presence.update(t0);
        assert!(presence.holding() && presence.hint_never_set && !presence.unsupported);

        // A failed read changes nothing: still held (not "unsupported", not started).
        presence.on_reading(t0 + s(5), IdleReading::ReadFailed, away_after);
        presence.update(t0 + s(5));
        assert!(presence.holding() && !presence.unsupported);

        // Away, then a failed read: still away (no stop on a glitch).
        presence.on_reading(t0 + s(10), IdleReading::Idle(s(120)), away_after);
        presence.update(t0 + s(10));
        assert!(!presence.holding() && !presence.hint_never_set);
        assert_eq!(
            presence.on_reading(t0 + s(15), IdleReading::ReadFailed, away_after),
            None
        );
        presence.update(t0 + s(15));
        assert!(!presence.holding());

        // A failed read before any reading: not known to be away.
        let mut presence = Rig::<Presence>::default();
        presence.on_reading(t0, IdleReading::ReadFailed, away_after);
        presence.update(t0);
        assert!(presence.holding() && !presence.unsupported);
    }
}
