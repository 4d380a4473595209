//! Watches the machine itself: power and lid, and the time spent suspended
//! ([`crate::platform::clock`]), so that a sleep the OS did not announce to us is still seen.
//! It reports facts, and only changes of them; the supervisor judges them.
//!
//! The real watcher ([`watch_on_thread`]) is one thread of its own that sleeps until the OS
//! says the power changed ([`PowerChanges`]: an unplug is read at once) or
//! [`MACHINE_LOOK_EVERY`] passes, reads everything (each read is cheap and starts no process)
//! and sends what changed. The driver's runtime is woken only by a change: no timer of its
//! own, no hand-over to a blocking thread and back every few seconds (issue 10's idle CPU).
//! Without a change signal the thread reads every [`MACHINE_LOOK_EVERY_UNSIGNALLED`].
//! [`watch_on_runtime`] does the same on tokio's clock, for the fake platform under paused
//! time (a thread's waits would run on the real clock).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use crate::config::Mode;
use crate::model::PowerSnapshot;
use crate::platform::{FormFactor, PowerChanges};
use crate::supervisor::settings::{MACHINE_LOOK_EVERY, MACHINE_LOOK_EVERY_UNSIGNALLED};
use crate::supervisor::Event;

use super::platform::MachineFacts;

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

/// How the watcher learns of power changes, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineWatch {
    /// The OS signals them (`source`: what is watched); looked at every
    /// [`MACHINE_LOOK_EVERY`] besides.
    Signalled { source: String },
    /// Polled every [`MACHINE_LOOK_EVERY_UNSIGNALLED`], because of `why`.
    Polled { why: String },
}

/// What the watcher last told the driver, so that it tells only changes.
#[derive(Debug, Clone, Default)]
pub struct Reported {
    power: Option<PowerSnapshot>,
    lid: Option<bool>,
    asleep: Option<Duration>,
}

impl Reported {
    /// Nothing told yet; the sleep clock read `asleep` at start.
    pub fn new(asleep: Option<Duration>) -> Reported {
        Reported {
            asleep,
            ..Reported::default()
        }
    }

    /// The events one reading makes, in order: a measured sleep of at least a second (always
    /// sent), then the power and the lid if they changed (a lid the OS does not report is not
    /// sent).
    pub fn look(
        &mut self,
        power: PowerSnapshot,
        lid: Option<bool>,
        asleep_now: Option<Duration>,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        let slept_secs = slept_between(self.asleep, asleep_now);
        self.asleep = asleep_now.or(self.asleep);
        if slept_secs > 0 {
            events.push(Event::Woke { slept_secs });
        }
        if self.power != Some(power) {
            self.power = Some(power);
            events.push(Event::Power(power));
        }
        if let Some(closed) = lid {
            if self.lid != Some(closed) {
                self.lid = Some(closed);
                events.push(Event::LidClosed(closed));
            }
        }
        events
    }

    /// Reads `facts` and sends what changed; `false` once the driver is gone.
    fn look_at(&mut self, facts: &dyn MachineFacts, events: &mpsc::UnboundedSender<Event>) -> bool {
        let found = self.look(facts.power(), facts.lid_closed(), facts.asleep_total());
        found.into_iter().all(|event| events.send(event).is_ok()) && !events.is_closed()
    }
}

/// The real watcher: a thread that waits on `changes` (or polls, when they could not be
/// opened or break) and sends [`Event::Power`], [`Event::LidClosed`] and
/// [`Event::Woke`] on `events` until the receiver goes away (noticed at its next
/// look). Must be called inside the tokio runtime: if no thread can be made, the watch runs
/// there.
pub fn watch_on_thread(
    facts: Arc<dyn MachineFacts>,
    changes: std::io::Result<PowerChanges>,
    events: mpsc::UnboundedSender<Event>,
) -> MachineWatch {
    let watch = match &changes {
        Ok(changes) => MachineWatch::Signalled {
            source: changes.source(),
        },
        Err(why) => MachineWatch::Polled {
            why: why.to_string(),
        },
    };
    let mut changes = changes.ok();
    let (thread_facts, thread_events) = (facts.clone(), events.clone());
    let spawned = std::thread::Builder::new()
        .name("machine-watch".into())
        .spawn(move || {
            let mut reported = Reported::new(thread_facts.asleep_total());
            while reported.look_at(thread_facts.as_ref(), &thread_events) {
                match changes.as_mut().map(|c| c.wait(MACHINE_LOOK_EVERY)) {
                    Some(Ok(_)) => {}
                    // The signal broke (it does not mend): poll from now on.
                    Some(Err(_)) | None => {
                        changes = None;
                        std::thread::sleep(MACHINE_LOOK_EVERY_UNSIGNALLED);
                    }
                }
            }
        });
    match spawned {
        Ok(_) => watch,
        Err(why) => {
            watch_on_runtime(facts, None, events);
            MachineWatch::Polled {
                why: format!("no thread for the watcher: {why}"),
            }
        }
    }
}

/// The watcher on tokio's clock: reads at once when `changes` is notified, else every
/// [`MACHINE_LOOK_EVERY`] (every [`MACHINE_LOOK_EVERY_UNSIGNALLED`] with no `changes`). Reads
/// run on the runtime: for the fake, whose reads are a lock, and as the last resort of the
/// real one.
pub fn watch_on_runtime(
    facts: Arc<dyn MachineFacts>,
    changes: Option<Arc<Notify>>,
    events: mpsc::UnboundedSender<Event>,
) {
    tokio::spawn(async move {
        let mut reported = Reported::new(facts.asleep_total());
        while reported.look_at(facts.as_ref(), &events) {
            match &changes {
                Some(changes) => {
                    tokio::select! {
                        _ = changes.notified() => {}
                        _ = tokio::time::sleep(MACHINE_LOOK_EVERY) => {}
                    }
                }
                None => tokio::time::sleep(MACHINE_LOOK_EVERY_UNSIGNALLED).await,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Battery, ChargeState};
    use crate::platform::fake::FakePower;

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

    #[test]
    fn only_changes_are_told() {
        let s = Duration::from_secs;
        let mut reported = Reported::new(Some(s(100)));
        assert_eq!(
            reported.look(MAINS, Some(false), Some(s(100))),
            vec![Event::Power(MAINS), Event::LidClosed(false)],
            "the first reading tells everything known"
        );
        assert_eq!(reported.look(MAINS, Some(false), Some(s(100))), vec![]);
        assert_eq!(
            reported.look(on_battery(50), None, Some(s(700))),
            vec![
                Event::Woke { slept_secs: 600 },
                Event::Power(on_battery(50))
            ],
            "a lid the OS stops reporting is not news"
        );
        assert_eq!(
            reported.look(on_battery(50), Some(true), None),
            vec![Event::LidClosed(true)],
            "a sleep clock that fails once measures nothing"
        );
        assert_eq!(
            reported.look(on_battery(49), Some(true), Some(s(701))),
            vec![Event::Woke { slept_secs: 1 }, Event::Power(on_battery(49))]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn changes_of_power_lid_and_sleep_become_events_once() {
        let fake = Arc::new(FakePower::new(on_battery(50), Some(false)));
        let (tx, mut rx) = mpsc::unbounded_channel();
        watch_on_runtime(fake.clone(), Some(fake.power_changes()), tx);
        let first = rx.recv().await.expect("power");
        assert!(matches!(first, Event::Power(p) if !p.on_ac));
        assert_eq!(rx.recv().await, Some(Event::LidClosed(false)));
        // Unposted changes (the OS says nothing of a lid or a sleep to this watcher): read at
        // the next look, once.
        let asked = tokio::time::Instant::now();
        fake.set_lid_closed(Some(true));
        fake.sleep_for(Duration::from_secs(600));
        let next = tokio::time::timeout(MACHINE_LOOK_EVERY * 2, rx.recv())
            .await
            .expect("in time");
        assert_eq!(next, Some(Event::Woke { slept_secs: 600 }));
        let next = tokio::time::timeout(MACHINE_LOOK_EVERY * 2, rx.recv())
            .await
            .expect("in time");
        assert_eq!(next, Some(Event::LidClosed(true)));
        assert_eq!(asked.elapsed(), MACHINE_LOOK_EVERY, "at the next look");
        let nothing = tokio::time::timeout(MACHINE_LOOK_EVERY * 4, rx.recv()).await;
        assert!(nothing.is_err(), "nothing changed: nothing sent");
    }

    #[tokio::test(start_paused = true)]
    async fn a_posted_power_change_is_read_at_once() {
        let fake = Arc::new(FakePower::desktop());
        let (tx, mut rx) = mpsc::unbounded_channel();
        watch_on_runtime(fake.clone(), Some(fake.power_changes()), tx);
        assert_eq!(rx.recv().await, Some(Event::Power(MAINS)));
        // Half-way to the next look, the OS posts an unplug.
        tokio::time::sleep(MACHINE_LOOK_EVERY / 2).await;
        let unplugged = tokio::time::Instant::now();
        fake.set_power(on_battery(80));
        fake.post_power_change();
        let next = tokio::time::timeout(Duration::from_millis(10), rx.recv())
            .await
            .expect("read at once, not at the next look");
        assert_eq!(next, Some(Event::Power(on_battery(80))));
        assert_eq!(unplugged.elapsed(), Duration::ZERO);
        // A post with nothing new sends nothing.
        fake.post_power_change();
        let nothing = tokio::time::timeout(MACHINE_LOOK_EVERY * 2, rx.recv()).await;
        assert!(nothing.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_change_signal_the_power_is_polled_at_the_old_pace() {
        let fake = Arc::new(FakePower::desktop());
        let (tx, mut rx) = mpsc::unbounded_channel();
        watch_on_runtime(fake.clone(), None, tx);
        assert_eq!(rx.recv().await, Some(Event::Power(MAINS)));
        let unplugged = tokio::time::Instant::now();
        fake.set_power(on_battery(80));
        let next = tokio::time::timeout(MACHINE_LOOK_EVERY, rx.recv())
            .await
            .expect("within the unsignalled cadence");
        assert_eq!(next, Some(Event::Power(on_battery(80))));
        assert_eq!(unplugged.elapsed(), MACHINE_LOOK_EVERY_UNSIGNALLED);
    }

    /// The real thread, on the fake facts (its waits run on the real clock): without a change
    /// signal it says it polls, and its first reading comes at once.
    #[test]
    fn the_thread_says_how_it_watches_and_reads_at_start() {
        let fake = Arc::new(FakePower::desktop());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let unsupported = Err(std::io::Error::other("not here"));
        let watch = runtime.block_on(async { watch_on_thread(fake, unsupported, tx) });
        assert_eq!(
            watch,
            MachineWatch::Polled {
                why: "not here".to_string()
            }
        );
        let first = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), rx.recv()).await });
        assert_eq!(first.ok().flatten(), Some(Event::Power(MAINS)));
    }
}
