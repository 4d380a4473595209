//! Watches power and lid, and, only where no OS sleep notification reaches us, the time spent
//! suspended ([`crate::platform::clock`]); it reports changes, the supervisor judges them. A
//! thread of its own sleeps until the OS says the power changed ([`PowerChanges`]: an unplug is
//! read at once) or [`MACHINE_LOOK_EVERY`] passes (without that signal, every
//! [`MACHINE_LOOK_EVERY_UNSIGNALLED`]), reads everything in-process and sends what changed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::model::PowerSnapshot;
use crate::platform::clock::SleepClock;
use crate::platform::{PowerChanges, PowerSource};
use crate::supervisor::settings::{MACHINE_LOOK_EVERY, MACHINE_LOOK_EVERY_UNSIGNALLED};
use crate::supervisor::Event;

use super::Events;

/// What the watcher last told the driver, so that it tells only changes.
#[derive(Debug, Clone, Default)]
pub struct Reported {
    power: Option<PowerSnapshot>,
    lid: Option<bool>,
    asleep: Option<Duration>,
}

impl Reported {
    /// The events one reading makes, in order: with `clocks` (no OS notification of sleeps), a
    /// wake after each suspension of a second or more; then the power and the lid if they
    /// changed (an unreported lid is not sent).
    pub fn look(
        &mut self,
        power: PowerSnapshot,
        lid: Option<bool>,
        asleep_now: Option<Duration>,
        clocks: bool,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        let slept_secs = match (self.asleep, asleep_now) {
            (Some(before), Some(after)) => after.saturating_sub(before).as_secs(),
            _ => 0,
        };
        self.asleep = asleep_now.or(self.asleep);
        if clocks && slept_secs > 0 {
            events.push(Event::Woke { slept_secs });
        }
        if self.power != Some(power) {
            self.power = Some(power);
            events.push(Event::Power(power));
        }
        if let Some(closed) = lid.filter(|closed| self.lid != Some(*closed)) {
            self.lid = Some(closed);
            events.push(Event::LidClosed(closed));
        }
        events
    }
}

/// Starts the watcher's thread, which reads `power` and `clock` when `changes` signals (else
/// every [`MACHINE_LOOK_EVERY_UNSIGNALLED`]) and sends what changed on `events` until the driver
/// is gone. `Err`: no thread could be made.
pub fn watch_on_thread(
    power: impl PowerSource + 'static,
    clock: impl SleepClock + 'static,
    mut changes: Option<PowerChanges>,
    clocks: Arc<AtomicBool>,
    events: Events,
) -> std::io::Result<()> {
    let run = move || {
        let asleep = clock.asleep_total();
        let mut reported = Reported {
            asleep,
            ..Reported::default()
        };
        loop {
            let clocks = clocks.load(Ordering::SeqCst);
            let (now, lid) = (power.power(), power.lid_closed());
            let found = reported.look(now, lid, clock.asleep_total(), clocks);
            if !found.into_iter().all(|event| events.send(event).is_ok()) || events.is_closed() {
                return;
            }
            match changes.as_mut().map(|c| c.wait(MACHINE_LOOK_EVERY)) {
                Some(Ok(_)) => {}
                // The signal broke (it does not mend): poll from now on.
                Some(Err(_)) | None => {
                    changes = None;
                    std::thread::sleep(MACHINE_LOOK_EVERY_UNSIGNALLED);
                }
            }
        }
    };
    let thread = std::thread::Builder::new().name("machine-watch".into());
    thread.spawn(run).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Battery, ChargeState};

    /// A desktop whose sleep clock never moves.
    struct Desktop;

    impl PowerSource for Desktop {
        fn power(&self) -> PowerSnapshot {
            MAINS
        }
        fn lid_closed(&self) -> Option<bool> {
            None
        }
    }

    impl SleepClock for Desktop {
        fn asleep_total(&self) -> Option<Duration> {
            Some(Duration::from_secs(1000))
        }
    }

    fn on_battery(percent: u8) -> PowerSnapshot {
        PowerSnapshot {
            on_ac: false,
            battery: Some(Battery {
                percent,
                state: ChargeState::Discharging,
            }),
        }
    }

    const MAINS: PowerSnapshot = PowerSnapshot {
        on_ac: true,
        battery: None,
    };

    #[test]
    fn only_changes_are_told() {
        let s = Duration::from_secs;
        let mut reported = Reported {
            asleep: Some(s(100)),
            ..Reported::default()
        };
        assert_eq!(
            reported.look(MAINS, Some(false), Some(s(100)), true),
            vec![Event::Power(MAINS), Event::LidClosed(false)],
            "the first reading tells everything known"
        );
        assert_eq!(
            reported.look(MAINS, Some(false), Some(s(100)), true),
            vec![]
        );
        assert_eq!(
            reported.look(on_battery(50), None, Some(s(700)), true),
            vec![
                Event::Woke { slept_secs: 600 },
                Event::Power(on_battery(50))
            ],
            "a lid the OS stops reporting is not news"
        );
        assert_eq!(
            reported.look(on_battery(50), Some(true), None, true),
            vec![Event::LidClosed(true)],
            "a sleep clock that fails once measures nothing"
        );
        assert_eq!(
            reported.look(on_battery(49), Some(true), Some(s(720)), true),
            vec![Event::Woke { slept_secs: 20 }, Event::Power(on_battery(49))]
        );
    }

    #[test]
    fn the_clocks_report_every_sleep_only_when_no_os_notification_does() {
        let s = Duration::from_secs;
        let mut reported = Reported {
            asleep: Some(s(100)),
            ..Reported::default()
        };
        reported.look(MAINS, None, Some(s(100)), true);
        assert_eq!(
            reported.look(MAINS, None, Some(s(100) + Duration::from_micros(900)), true),
            vec![],
            "the clocks read microseconds apart"
        );
        // Whether a short one counts is the supervisor's rule (`Laptop::woke`).
        assert_eq!(
            reported.look(MAINS, None, Some(s(105)), true),
            vec![Event::Woke { slept_secs: 4 }],
            "a dark wake's few seconds"
        );
        assert_eq!(reported.look(MAINS, None, Some(s(1000)), false), vec![]);
        assert_eq!(
            reported.look(MAINS, None, Some(s(1600)), true),
            vec![Event::Woke { slept_secs: 600 }],
            "measured from the last reading, whoever reported the one before"
        );
        let mut unread = Reported::default();
        assert_eq!(
            unread.look(MAINS, None, Some(s(700)), true),
            vec![Event::Power(MAINS)],
            "no earlier reading: no sleep"
        );
    }

    /// The real thread, on a stand-in desktop and without a change signal: its first reading
    /// comes at once.
    #[test]
    fn the_thread_reads_at_start() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let clocks = Arc::new(AtomicBool::new(false));
        watch_on_thread(Desktop, Desktop, None, clocks, tx).expect("a thread");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let first = loop {
            match rx.try_recv() {
                Ok(event) => break Some(event),
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(_) => break None,
            }
        };
        assert_eq!(first, Some(Event::Power(MAINS)));
    }
}
