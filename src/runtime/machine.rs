//! Watches the machine itself: power and lid (polled; both are cheap to read in-process), and
//! the time spent suspended ([`crate::platform::clock`]), so that a sleep the OS did not
//! announce to us is still seen. It reports facts; the supervisor judges them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::Mode;
use crate::platform::FormFactor;
use crate::supervisor::Event;

use super::platform::MachineFacts;

/// How often power, lid and the sleep clock are looked at.
pub const WATCH_EVERY: Duration = Duration::from_secs(5);

/// Whether the battery policy applies: config can force either; `auto` asks the hardware.
pub fn is_mobile(mode: Mode, form_factor: FormFactor) -> bool {
    match mode {
        Mode::Mobile => true,
        Mode::Fixed => false,
        Mode::Auto => form_factor == FormFactor::Laptop,
    }
}

/// The whole seconds spent suspended between two readings of the sleep clock.
pub fn slept_between(before: Option<Duration>, after: Option<Duration>) -> u64 {
    match (before, after) {
        (Some(before), Some(after)) => after.saturating_sub(before).as_secs(),
        _ => 0,
    }
}

/// Sends power, lid and sleep events to the driver until the receiver goes away. Power and
/// lid are only sent when they change; a sleep of at least a second is always sent.
pub fn watch(machine: Arc<dyn MachineFacts>, events: mpsc::UnboundedSender<Event>) {
    tokio::spawn(async move {
        let mut last_power = None;
        let mut last_lid = None;
        let mut asleep = machine.asleep_total();
        loop {
            let reader = machine.clone();
            let Ok((power, lid, asleep_now)) = tokio::task::spawn_blocking(move || {
                (reader.power(), reader.lid_closed(), reader.asleep_total())
            })
            .await
            else {
                return;
            };
            let slept_secs = slept_between(asleep, asleep_now);
            asleep = asleep_now.or(asleep);
            if slept_secs > 0 && events.send(Event::SleepMeasured { slept_secs }).is_err() {
                return;
            }
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
    use crate::platform::fake::FakePower;

    #[test]
    fn a_sleep_is_the_growth_of_the_suspended_time() {
        let s = Duration::from_secs;
        assert_eq!(slept_between(Some(s(100)), Some(s(100))), 0);
        assert_eq!(slept_between(Some(s(100)), Some(s(700))), 600);
        assert_eq!(slept_between(None, Some(s(700))), 0, "no earlier reading");
        assert_eq!(slept_between(Some(s(100)), None), 0);
    }

    #[test]
    fn the_mode_decides_unless_auto() {
        assert!(is_mobile(Mode::Mobile, FormFactor::Desktop));
        assert!(!is_mobile(Mode::Fixed, FormFactor::Laptop));
        assert!(is_mobile(Mode::Auto, FormFactor::Laptop));
        assert!(!is_mobile(Mode::Auto, FormFactor::Unknown));
    }

    #[tokio::test(start_paused = true)]
    async fn changes_of_power_lid_and_sleep_become_events_once() {
        use crate::model::{Battery, ChargeState, PowerSnapshot};
        let fake = Arc::new(FakePower::new(
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
        watch(fake.clone(), tx);
        let first = rx.recv().await.expect("power");
        assert!(matches!(first, Event::Power(p) if !p.on_ac));
        assert_eq!(rx.recv().await, Some(Event::LidClosed(false)));
        fake.set_lid_closed(Some(true));
        fake.sleep_for(Duration::from_secs(600));
        let next = tokio::time::timeout(WATCH_EVERY * 3, rx.recv())
            .await
            .expect("in time");
        assert_eq!(next, Some(Event::SleepMeasured { slept_secs: 600 }));
        let next = tokio::time::timeout(WATCH_EVERY * 3, rx.recv())
            .await
            .expect("in time");
        assert_eq!(next, Some(Event::LidClosed(true)));
    }
}
