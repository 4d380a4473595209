//! Restart delays growing to a cap (systemd's `RestartSec`), and a breaker that gives up after
//! too many deaths in a window (Erlang/OTP's restart intensity); a fault is retried (half-open).

use std::time::{Duration, Instant};

use super::settings::BackoffPolicy;
use crate::model::Fault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    RetryAfter(Duration),
    /// Too many failures in the window: stop trying until the user asks.
    GiveUp,
}

/// Whether a fault holds the worker back.
#[derive(Debug, Clone, PartialEq)]
enum FaultState {
    Clear,
    Holds(Fault),
    /// Tried once more: one more failure that counts brings the breaker back at once.
    HalfOpen,
}

#[derive(Debug, Clone)]
pub struct Backoff {
    fault: FaultState,
    policy: BackoffPolicy,
    /// Times of the failures within the window.
    recent: Vec<Instant>,
    /// Failures since the last stable run: the exponent of the delay.
    consecutive: u32,
    /// Network-caused exits since the last stable run: the exponent of their delay.
    network_consecutive: u32,
    rng: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(BackoffPolicy::default())
    }
}

impl Backoff {
    pub fn new(policy: BackoffPolicy) -> Self {
        Backoff {
            fault: FaultState::Clear,
            rng: policy.seed | 1,
            policy,
            recent: Vec::new(),
            consecutive: 0,
            network_consecutive: 0,
        }
    }

    pub fn recent_failures(&self) -> usize {
        self.recent.len()
    }

    /// What needs the user, if anything; no worker runs while one holds.
    pub fn fault(&self) -> Option<&Fault> {
        match &self.fault {
            FaultState::Holds(fault) => Some(fault),
            FaultState::Clear | FaultState::HalfOpen => None,
        }
    }

    pub fn hold(&mut self, fault: Fault) {
        self.fault = FaultState::Holds(fault);
    }

    /// Tries the fault once more; whether there was one.
    pub fn retry_fault(&mut self) -> bool {
        let holds = matches!(self.fault, FaultState::Holds(_));
        if holds {
            self.fault = FaultState::HalfOpen;
        }
        holds
    }

    /// The worker joined: whatever the fault was about let it.
    pub fn joined(&mut self) {
        if self.fault == FaultState::HalfOpen {
            self.fault = FaultState::Clear;
        }
    }

    /// Records an abnormal exit at `now` and says what to do.
    pub fn record_failure(&mut self, now: Instant) -> Verdict {
        if self.fault == FaultState::HalfOpen {
            return Verdict::GiveUp;
        }
        let window = self.policy.window;
        self.recent
            .retain(|at| now.saturating_duration_since(*at) <= window);
        self.recent.push(now);
        if self.recent.len() >= self.policy.burst {
            return Verdict::GiveUp;
        }
        let exponent = self.consecutive;
        self.consecutive = self.consecutive.saturating_add(1);
        Verdict::RetryAfter(self.delay(exponent, self.policy.max))
    }

    /// An exit the network caused while the head answered: the delay before the next start, to
    /// [`BackoffPolicy::network_max`]; never gives up (a healed network finds the worker back).
    pub fn record_network_failure(&mut self) -> Duration {
        let exponent = self.network_consecutive;
        self.network_consecutive = self.network_consecutive.saturating_add(1);
        self.delay(exponent, self.policy.network_max)
    }

    /// `first · factor^exponent`, capped at `cap`, plus jitter (still within the cap).
    fn delay(&mut self, exponent: u32, cap: Duration) -> Duration {
        let base =
            self.policy.first.as_secs_f64() * self.policy.factor.powi(exponent.min(30) as i32);
        let capped = base.min(cap.as_secs_f64());
        let jittered = capped * (1.0 + self.policy.jitter * self.next_unit());
        Duration::from_secs_f64(jittered.min(cap.as_secs_f64())).max(self.policy.first)
    }

    /// The worker ran long enough to count as healthy: the next failure starts from `first`.
    pub fn record_stable(&mut self) {
        self.consecutive = 0;
        self.network_consecutive = 0;
    }

    /// Forget everything, the fault too (the user asked to try again).
    pub fn reset(&mut self) {
        *self = Backoff {
            rng: self.rng,
            ..Backoff::new(self.policy.clone())
        };
    }

    /// xorshift64*: a uniform number in [0, 1).
    fn next_unit(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let out = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (out >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_jitter() -> BackoffPolicy {
        BackoffPolicy {
            jitter: 0.0,
            ..BackoffPolicy::default()
        }
    }

    #[test]
    fn delays_grow_geometrically_from_the_floor_to_the_cap() {
        let mut b = Backoff::new(BackoffPolicy {
            burst: 100,
            ..no_jitter()
        });
        let t0 = Instant::now();
        let delays: Vec<_> = (0..9)
            .map(|i| b.record_failure(t0 + Duration::from_secs(i)))
            .collect();
        let secs: Vec<u64> = delays
            .iter()
            .map(|v| match v {
                Verdict::RetryAfter(d) => d.as_secs(),
                Verdict::GiveUp => 0,
            })
            .collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn the_breaker_trips_on_the_burst_within_the_window() {
        let mut b = Backoff::new(no_jitter());
        let t0 = Instant::now();
        for i in 0..4 {
            assert!(matches!(
                b.record_failure(t0 + Duration::from_secs(i)),
                Verdict::RetryAfter(_)
            ));
        }
        assert_eq!(
            b.record_failure(t0 + Duration::from_secs(5)),
            Verdict::GiveUp
        );
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let mut b = Backoff::new(no_jitter());
        let t0 = Instant::now();
        for i in 0..4 {
            b.record_failure(t0 + Duration::from_secs(i));
        }
        let later = t0 + Duration::from_secs(700);
        assert!(matches!(b.record_failure(later), Verdict::RetryAfter(_)));
        assert_eq!(b.recent_failures(), 1);
    }

    #[test]
    fn a_stable_run_resets_the_delay_but_not_the_breaker() {
        let mut b = Backoff::new(no_jitter());
        let t0 = Instant::now();
        b.record_failure(t0);
        b.record_failure(t0);
        b.record_stable();
        assert_eq!(
            b.record_failure(t0),
            Verdict::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(b.recent_failures(), 3);
    }

    #[test]
    fn network_exits_back_off_to_their_own_cap_and_never_give_up() {
        let mut b = Backoff::new(no_jitter());
        let secs: Vec<u64> = (0..12)
            .map(|_| b.record_network_failure().as_secs())
            .collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(b.recent_failures(), 0, "the breaker does not count them");
        b.record_stable();
        assert_eq!(b.record_network_failure(), Duration::from_secs(1));
    }

    #[test]
    fn a_fault_tried_once_more_is_back_at_the_next_failure_unless_the_worker_joins() {
        let mut b = Backoff::new(no_jitter());
        let t0 = Instant::now();
        assert!(!b.retry_fault(), "nothing to retry");
        b.hold(Fault::RayMissing { path: "ray".into() });
        assert!(b.fault().is_some());
        assert!(b.retry_fault());
        assert_eq!(b.fault(), None, "the worker may start");
        assert_eq!(b.record_failure(t0), Verdict::GiveUp, "at once");
        assert_eq!(b.recent_failures(), 0);
        b.hold(Fault::RayMissing { path: "ray".into() });
        b.retry_fault();
        b.joined();
        assert!(matches!(b.record_failure(t0), Verdict::RetryAfter(_)));
        b.hold(Fault::RayMissing { path: "ray".into() });
        b.reset();
        assert_eq!(b.fault(), None);
        assert!(!b.retry_fault());
    }

    #[test]
    fn jitter_is_bounded_and_deterministic_for_a_seed() {
        let run = || {
            let mut b = Backoff::new(BackoffPolicy {
                burst: 100,
                ..BackoffPolicy::default()
            });
            let t0 = Instant::now();
            (0..6)
                .map(|_| match b.record_failure(t0) {
                    Verdict::RetryAfter(d) => d,
                    Verdict::GiveUp => Duration::ZERO,
                })
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        for (i, d) in a.iter().enumerate() {
            let base = 2f64.powi(i as i32);
            assert!(d.as_secs_f64() >= base && d.as_secs_f64() <= base * 1.1 + 1e-9);
        }
    }
}
