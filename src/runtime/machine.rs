//! Watches the machine itself: power and lid (polled; both are cheap to read), and sleep,
//! seen as a jump of the wall clock against the monotonic clock.
//!
//! The monotonic clock (`Instant`) stops while the machine sleeps, on macOS (mach absolute
//! time) and on Linux (CLOCK_MONOTONIC), while the wall clock does not: their difference after
//! a wake is how long the machine slept, whether or not an OS notification arrived.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;

use crate::config::Mode;
use crate::platform::{FormFactor, PowerSource};
use crate::supervisor::Event;

/// How often power, lid and the clocks are looked at.
pub const WATCH_EVERY: Duration = Duration::from_secs(5);

/// A difference below this is clock adjustment (NTP) or scheduling noise, not a sleep.
pub const MIN_SLEEP: Duration = Duration::from_secs(15);

/// Whether the battery policy applies: config can force either; `auto` asks the hardware.
pub fn is_mobile(mode: Mode, form_factor: FormFactor) -> bool {
    match mode {
        Mode::Mobile => true,
        Mode::Fixed => false,
        Mode::Auto => form_factor == FormFactor::Laptop,
    }
}

/// How long the machine slept between two readings, if it did: the wall clock advanced more
/// than the monotonic one.
pub fn slept(mono_elapsed: Duration, wall_elapsed: Duration) -> Option<Duration> {
    let gap = wall_elapsed.checked_sub(mono_elapsed)?;
    (gap >= MIN_SLEEP).then_some(gap)
}

/// Sends power, lid and wake events to the driver until the receiver goes away. Power and lid
/// are only sent when they change.
pub fn watch(source: Box<dyn PowerSource + Sync>, events: mpsc::UnboundedSender<Event>) {
    let source: std::sync::Arc<dyn PowerSource + Sync> = std::sync::Arc::from(source);
    tokio::spawn(async move {
        let mut last_power = None;
        let mut last_lid = None;
        let mut mono = Instant::now();
        let mut wall = SystemTime::now();
        loop {
            let reader = source.clone();
            let Ok((power, lid)) =
                tokio::task::spawn_blocking(move || (reader.power(), reader.lid_closed())).await
            else {
                return;
            };
            let now_mono = Instant::now();
            let now_wall = SystemTime::now();
            let wall_elapsed = now_wall.duration_since(wall).unwrap_or_default();
            if let Some(gap) = slept(now_mono - mono, wall_elapsed) {
                if events
                    .send(Event::Woke {
                        slept_secs: gap.as_secs(),
                    })
                    .is_err()
                {
                    return;
                }
            }
            (mono, wall) = (now_mono, now_wall);
            if last_power != Some(power) {
                last_power = Some(power);
                if events.send(Event::Power(power)).is_err() {
                    return;
                }
            }
            if let Some(closed) = lid {
                if last_lid != Some(closed) {
                    last_lid = Some(closed);
                    if events.send(Event::LidClosed(closed)).is_err() {
                        return;
                    }
                }
            }
            tokio::time::sleep(WATCH_EVERY).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_is_the_wall_clock_running_ahead() {
        let s = Duration::from_secs;
        assert_eq!(slept(s(5), s(5)), None);
        assert_eq!(slept(s(5), s(12)), None, "NTP slew, a busy machine");
        assert_eq!(slept(s(5), s(605)), Some(s(600)));
        assert_eq!(slept(s(5), s(0)), None, "the wall clock set back");
    }

    #[test]
    fn the_mode_decides_unless_auto() {
        assert!(is_mobile(Mode::Mobile, FormFactor::Desktop));
        assert!(!is_mobile(Mode::Fixed, FormFactor::Laptop));
        assert!(is_mobile(Mode::Auto, FormFactor::Laptop));
        assert!(!is_mobile(Mode::Auto, FormFactor::Unknown));
    }

    #[tokio::test]
    async fn changes_of_power_and_lid_become_events_once() {
        use crate::model::{Battery, ChargeState, PowerSnapshot};
        use crate::platform::fake::FakePower;
        let fake = std::sync::Arc::new(FakePower::new(
            PowerSnapshot {
                on_ac: false,
                battery: Some(Battery {
                    percent: 50,
                    state: ChargeState::Discharging,
                }),
            },
            Some(false),
        ));
        let (tx, mut rx) = mpsc::unbounded_channel();
        watch(Box::new(fake.clone()), tx);
        let first = rx.recv().await.expect("power");
        assert!(matches!(first, Event::Power(p) if !p.on_ac));
        assert_eq!(rx.recv().await, Some(Event::LidClosed(false)));
        fake.set_lid_closed(Some(true));
        let next = tokio::time::timeout(WATCH_EVERY * 3, rx.recv())
            .await
            .expect("in time");
        assert_eq!(next, Some(Event::LidClosed(true)));
    }
}
