//! The OS's "about to sleep" and "woke" notifications, so that the worker is stopped cleanly
//! before a sleep instead of being frozen with the machine (and dropped by the head).
//!
//! macOS: `NSWorkspaceWillSleepNotification` and `NSWorkspaceDidWakeNotification`, observed on
//! `NSWorkspace.sharedWorkspace.notificationCenter` (the only centre that posts them). AppKit
//! posts them on the main thread, whose run loop must be running (the tray's tao loop does; the
//! headless daemon has none and does not observe). Apple documents that an observer of
//! WillSleep "can delay sleep for up to 30 seconds while handling this notification": the
//! observer runs the handler synchronously (no operation queue), so a handler that blocks
//! until the worker has stopped holds the sleep back that long.
//!
//! Linux and the rest: nothing is observed ([`observe_sleep`] is a no-op). Linux relies on the
//! clock-jump detection in `runtime/machine.rs`; logind's `PrepareForSleep` is handled in `platform/logind.rs`.
//!
//! This module reports facts (the machine will sleep; it woke after so long) to a
//! [`SleepHandler`]; what to do about them is the supervisor's decision. It must not block
//! anything itself: only the handler decides how long `will_sleep` may take.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// A gap this large between the wall clock and the monotonic clock means the machine slept
/// (the same threshold as `runtime::machine::MIN_SLEEP`).
pub const SLEPT_GAP: Duration = Duration::from_secs(15);

/// A sleep that was announced but has not happened after this long awake was cancelled.
pub const CANCELLED_AFTER: Duration = Duration::from_secs(60);

/// How often the watch over an announced sleep looks at the clocks.
const WATCH_EVERY: Duration = Duration::from_secs(5);

/// Receives the notifications.
///
/// On macOS both methods run on the main thread, except the wake of a sleep that never came
/// (see [`SleepRelay`]), which runs on a helper thread: hence `Send + Sync`.
pub trait SleepHandler: Send + Sync + 'static {
    /// The machine is about to sleep. The sleep waits for this to return (on macOS, for up
    /// to 30 s), so it may block until the worker has stopped, within a bound of its own.
    fn will_sleep(&self);
    /// The machine is awake again, `slept` (wall clock) after the sleep was announced.
    fn woke(&self, slept: Duration);
}

/// Wall-clock bookkeeping between an announced sleep and the wake. Pure: the caller gives the
/// time.
#[derive(Debug, Default)]
pub struct SleepTracker {
    /// When the pending sleep was announced, and its round.
    announced: Option<(SystemTime, u64)>,
    /// Announcements so far.
    rounds: u64,
}

impl SleepTracker {
    /// Notes an announced sleep; returns its round (for [`SleepTracker::abandon`]).
    pub fn will_sleep(&mut self, now: SystemTime) -> u64 {
        self.rounds += 1;
        self.announced = Some((now, self.rounds));
        self.rounds
    }

    /// A wake: how long since the sleep was announced. `None` without an announcement (this
    /// process started while the machine was going to sleep, or the wake was already
    /// reported): the clock-jump detection measures that sleep instead.
    pub fn did_wake(&mut self, now: SystemTime) -> Option<Duration> {
        let (since, _) = self.announced.take()?;
        Some(now.duration_since(since).unwrap_or_default())
    }

    /// The round of the sleep announced and not yet woken from.
    pub fn pending(&self) -> Option<u64> {
        self.announced.map(|(_, round)| round)
    }

    /// Gives up waiting for the wake of round `round` (the sleep never came): like
    /// [`SleepTracker::did_wake`], but only if that round is still the pending one.
    pub fn abandon(&mut self, round: u64, now: SystemTime) -> Option<Duration> {
        match self.announced {
            Some((_, pending)) if pending == round => self.did_wake(now),
            _ => None,
        }
    }
}

/// What the two clocks say, some time after a sleep was announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SleepWatch {
    /// The wall clock ran ahead: the machine slept; the wake notification (or the clock-jump
    /// detection) will report it.
    Slept,
    /// Awake all along for [`CANCELLED_AFTER`]: the sleep was cancelled.
    Cancelled,
    /// Too early to tell.
    Waiting,
}

/// Judges an announced sleep from the monotonic and wall-clock time elapsed since. The
/// monotonic clock stops while the machine sleeps (macOS and Linux), the wall clock does not.
pub fn judge_sleep(mono_elapsed: Duration, wall_elapsed: Duration) -> SleepWatch {
    if wall_elapsed.saturating_sub(mono_elapsed) >= SLEPT_GAP {
        SleepWatch::Slept
    } else if mono_elapsed >= CANCELLED_AFTER {
        SleepWatch::Cancelled
    } else {
        SleepWatch::Waiting
    }
}

/// Between the OS's notifications and a [`SleepHandler`]: measures the sleep, and watches each
/// announced sleep so that one that never comes (a sleep cancelled after it was announced,
/// with no wake posted) does not leave the supervisor paused "asleep" for good.
pub struct SleepRelay {
    /// Where the facts go.
    handler: Box<dyn SleepHandler>,
    /// The announced sleep, if any.
    tracker: Mutex<SleepTracker>,
}

impl SleepRelay {
    /// A relay to `handler`.
    pub fn new(handler: Box<dyn SleepHandler>) -> Arc<SleepRelay> {
        Arc::new(SleepRelay {
            handler,
            tracker: Mutex::new(SleepTracker::default()),
        })
    }

    fn tracker(&self) -> std::sync::MutexGuard<'_, SleepTracker> {
        // The tracker stays consistent even if a holder panicked: take it back.
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The OS says the machine is about to sleep: tells the handler (which may block), then
    /// watches for a sleep that never comes.
    pub fn will_sleep(self: &Arc<Self>) {
        let (mono, wall) = (Instant::now(), SystemTime::now());
        let round = self.tracker().will_sleep(wall);
        self.handler.will_sleep();
        let relay = Arc::clone(self);
        // Without the thread, the wake notification (or the clock jump) still ends the pause.
        let _ = std::thread::Builder::new()
            .name("sleep-watch".into())
            .spawn(move || relay.watch(round, mono, wall));
    }

    /// The OS says the machine woke.
    pub fn did_wake(&self) {
        let slept = self.tracker().did_wake(SystemTime::now());
        if let Some(slept) = slept {
            self.handler.woke(slept);
        }
    }

    /// Runs on its own thread until the sleep announced in `round` happened, was woken from,
    /// or is found cancelled (then reports a wake).
    fn watch(&self, round: u64, mono: Instant, wall: SystemTime) {
        loop {
            std::thread::sleep(WATCH_EVERY);
            let wall_elapsed = SystemTime::now().duration_since(wall).unwrap_or_default();
            match judge_sleep(mono.elapsed(), wall_elapsed) {
                SleepWatch::Waiting => {
                    if self.tracker().pending() != Some(round) {
                        return; // Woken, or a newer announcement has its own watch.
                    }
                }
                SleepWatch::Slept => return,
                SleepWatch::Cancelled => {
                    let slept = self.tracker().abandon(round, SystemTime::now());
                    if let Some(slept) = slept {
                        self.handler.woke(slept);
                    }
                    return;
                }
            }
        }
    }
}

/// Keeps the observation alive: drop it to stop observing. Keep it for the app's lifetime.
pub struct SleepObserver {
    /// The OS registration (nothing outside macOS).
    _registration: imp::Registration,
}

impl SleepObserver {
    /// Stops observing (as dropping it does).
    pub fn stop(self) {}
}

/// Starts observing sleep and wake for `handler`.
///
/// macOS: call once the main thread's run loop runs (the tray does at `StartCause::Init`);
/// the returned observer holds AppKit objects and stays on that thread. Elsewhere: a no-op.
pub fn observe_sleep(handler: Box<dyn SleepHandler>) -> SleepObserver {
    SleepObserver {
        _registration: imp::register(SleepRelay::new(handler)),
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use std::ptr::NonNull;
    use std::sync::Arc;

    use block2::RcBlock;
    use objc2::rc::Retained;
    use objc2::runtime::{NSObjectProtocol, ProtocolObject};
    use objc2_app_kit::{
        NSWorkspace, NSWorkspaceDidWakeNotification, NSWorkspaceWillSleepNotification,
    };
    use objc2_foundation::{NSNotification, NSNotificationCenter};

    use super::SleepRelay;

    /// The two observers on NSWorkspace's notification centre.
    pub struct Registration {
        /// The centre they are registered on (to remove them from it).
        center: Retained<NSNotificationCenter>,
        /// The tokens `addObserverForName:object:queue:usingBlock:` returned.
        tokens: Vec<Retained<ProtocolObject<dyn NSObjectProtocol>>>,
    }

    pub fn register(relay: Arc<SleepRelay>) -> Registration {
        let center = NSWorkspace::sharedWorkspace().notificationCenter();
        let will_sleep = {
            let relay = Arc::clone(&relay);
            RcBlock::new(move |_: NonNull<NSNotification>| relay.will_sleep())
        };
        let did_wake = RcBlock::new(move |_: NonNull<NSNotification>| relay.did_wake());
        // SAFETY: the names are AppKit's own constants (extern statics, hence `unsafe`), with
        // no object filter. No queue: the block runs synchronously on the posting thread,
        // which is what lets WillSleep hold the sleep back. The blocks capture only an
        // `Arc<SleepRelay>`, which is Send + Sync, so they may be called from any thread.
        let tokens = unsafe {
            vec![
                center.addObserverForName_object_queue_usingBlock(
                    Some(NSWorkspaceWillSleepNotification),
                    None,
                    None,
                    &will_sleep,
                ),
                center.addObserverForName_object_queue_usingBlock(
                    Some(NSWorkspaceDidWakeNotification),
                    None,
                    None,
                    &did_wake,
                ),
            ]
        };
        Registration { center, tokens }
    }

    impl Drop for Registration {
        fn drop(&mut self) {
            for token in &self.tokens {
                // SAFETY: each token is an observer this centre returned.
                unsafe { self.center.removeObserver(token.as_ref()) };
            }
        }
    }
}

#[cfg(not(target_os = "macos"))]
mod imp {
    use std::sync::Arc;

    use super::SleepRelay;

    /// Nothing is registered: Linux relies on the clock-jump detection in
    /// `runtime/machine.rs`; logind's `PrepareForSleep` is handled in `platform/logind.rs`.
    pub struct Registration;

    pub fn register(_relay: Arc<SleepRelay>) -> Registration {
        Registration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn a_wake_measures_the_wall_clock_since_the_announcement() {
        let t0 = SystemTime::UNIX_EPOCH + s(1_000_000);
        let mut tracker = SleepTracker::default();
        assert_eq!(
            tracker.did_wake(t0),
            None,
            "no announcement: nothing to measure"
        );
        tracker.will_sleep(t0);
        assert_eq!(tracker.did_wake(t0 + s(600)), Some(s(600)));
        assert_eq!(tracker.did_wake(t0 + s(700)), None, "reported once");
        tracker.will_sleep(t0 + s(800));
        assert_eq!(tracker.did_wake(t0 + s(700)), Some(s(0)), "clock set back");
    }

    #[test]
    fn only_the_pending_round_can_be_abandoned() {
        let t0 = SystemTime::UNIX_EPOCH + s(1_000_000);
        let mut tracker = SleepTracker::default();
        let first = tracker.will_sleep(t0);
        let second = tracker.will_sleep(t0 + s(10));
        assert_eq!(tracker.abandon(first, t0 + s(70)), None, "superseded");
        assert_eq!(tracker.pending(), Some(second));
        assert_eq!(tracker.abandon(second, t0 + s(70)), Some(s(60)));
        assert_eq!(tracker.pending(), None);
        assert_eq!(
            tracker.abandon(second, t0 + s(80)),
            None,
            "already reported"
        );
    }

    #[test]
    fn the_clocks_tell_a_sleep_from_a_cancelled_one() {
        assert_eq!(judge_sleep(s(5), s(5)), SleepWatch::Waiting);
        assert_eq!(judge_sleep(s(5), s(605)), SleepWatch::Slept);
        assert_eq!(judge_sleep(s(60), s(61)), SleepWatch::Cancelled);
        assert_eq!(judge_sleep(s(60), s(200)), SleepWatch::Slept);
        assert_eq!(
            judge_sleep(s(30), s(0)),
            SleepWatch::Waiting,
            "clock set back"
        );
    }

    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
    }

    impl SleepHandler for Arc<Recorder> {
        fn will_sleep(&self) {
            self.calls.lock().unwrap().push("will_sleep".into());
        }
        fn woke(&self, slept: Duration) {
            self.calls
                .lock()
                .unwrap()
                .push(format!("woke {}", slept.as_secs()));
        }
    }

    #[test]
    fn the_relay_passes_a_sleep_and_its_wake_once() {
        let recorder = Arc::new(Recorder::default());
        let relay = SleepRelay::new(Box::new(recorder.clone()));
        relay.did_wake();
        relay.will_sleep();
        relay.did_wake();
        relay.did_wake();
        assert_eq!(*recorder.calls.lock().unwrap(), ["will_sleep", "woke 0"]);
    }

    #[cfg(not(target_os = "macos"))]
    #[test]
    fn observing_outside_macos_does_nothing() {
        let recorder = Arc::new(Recorder::default());
        observe_sleep(Box::new(recorder.clone())).stop();
        assert!(recorder.calls.lock().unwrap().is_empty());
    }
}
