//! macOS's "about to sleep" and "woke" notifications, so that the worker stops cleanly before a
//! sleep: `NSWorkspace` posts them on the main thread, whose run loop must run (the tray's; the
//! headless daemon relies on the clocks). The [`SleepHandler`] runs synchronously, and may delay
//! the sleep up to 30 s. Elsewhere [`observe_sleep`] does nothing (Linux has logind).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Receives the notifications (on macOS's main thread).
pub trait SleepHandler: Send + Sync + 'static {
    /// The sleep waits for this to return (on macOS up to 30 s), so it may block until the worker
    /// has stopped, within a bound of its own.
    fn will_sleep(&self);
    /// `slept` (wall clock) after the sleep was announced.
    fn woke(&self, slept: Duration);
}

/// Between an announced sleep and its wake (here and logind's); the caller gives the time.
#[derive(Debug, Default)]
pub struct SleepTracker {
    announced: Option<SystemTime>,
}

impl SleepTracker {
    pub fn will_sleep(&mut self, now: SystemTime) {
        self.announced = Some(now);
    }

    /// How long since the sleep was announced; `None` without an announcement (nothing was
    /// stopped for that sleep).
    pub fn did_wake(&mut self, now: SystemTime) -> Option<Duration> {
        let since = self.announced.take()?;
        Some(now.duration_since(since).unwrap_or_default())
    }
}

/// Between the OS's notifications and a [`SleepHandler`]: measures the sleep.
pub struct SleepRelay {
    handler: Box<dyn SleepHandler>,
    tracker: Mutex<SleepTracker>,
}

impl SleepRelay {
    fn tracker(&self) -> std::sync::MutexGuard<'_, SleepTracker> {
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn will_sleep(&self) {
        self.tracker().will_sleep(SystemTime::now());
        self.handler.will_sleep();
    }

    pub fn did_wake(&self) {
        let slept = self.tracker().did_wake(SystemTime::now());
        if let Some(slept) = slept {
            self.handler.woke(slept);
        }
    }
}

/// Keeps the observation alive until dropped or stopped.
pub use imp::SleepObserver;

impl SleepObserver {
    pub fn stop(self) {}
}

/// macOS: call once the main thread's run loop runs (the tray does at `StartCause::Init`).
pub fn observe_sleep(handler: Box<dyn SleepHandler>) -> SleepObserver {
    let tracker = Mutex::default();
    imp::register(Arc::new(SleepRelay { handler, tracker }))
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

    /// The two observers, and the centre to remove them from.
    pub struct SleepObserver {
        center: Retained<NSNotificationCenter>,
        tokens: Vec<Retained<ProtocolObject<dyn NSObjectProtocol>>>,
    }

    pub fn register(relay: Arc<SleepRelay>) -> SleepObserver {
        let center = NSWorkspace::sharedWorkspace().notificationCenter();
        let will_sleep = {
            let relay = Arc::clone(&relay);
            RcBlock::new(move |_: NonNull<NSNotification>| relay.will_sleep())
        };
        let did_wake = RcBlock::new(move |_: NonNull<NSNotification>| relay.did_wake());
        // SAFETY: AppKit's own names (extern statics), no object filter. No queue: the block runs
        // synchronously on the posting thread, which is what lets WillSleep hold the sleep back; it
        // captures only an `Arc<SleepRelay>`, Send + Sync.
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
        SleepObserver { center, tokens }
    }

    impl Drop for SleepObserver {
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

    pub struct SleepObserver;

    pub fn register(_relay: Arc<SleepRelay>) -> SleepObserver {
        SleepObserver
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
        let relay = SleepRelay {
            handler: Box::new(recorder.clone()),
            tracker: Mutex::default(),
        };
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
