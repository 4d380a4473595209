//! The OS saying "the power changed", so that the machine watcher can sleep on it instead of
//! polling (issue 10: idle sleep let go within 1 s of unplugging, and no wake-ups while nothing
//! happens). It only wakes a waiting thread; the watcher then reads the power
//! ([`super::SystemPower`]) and the supervisor judges it.
//!
//! - Linux ([`linux`]): the kernel's uevent socket (`NETLINK_KOBJECT_UEVENT`, group 1), which
//!   announces every device event; a message whose subsystem is `power_supply`
//!   ([`super::uevent`]) is a change (an adapter's `online` flip is a `change` uevent). With
//!   `BITTRADER_POWER_SUPPLY_DIR` set (tests playing the charger with files), an inotify watch
//!   on that folder and its supply folders instead: sysfs attributes never post inotify events,
//!   plain files do. The timeout runs on `CLOCK_BOOTTIME` (a timerfd), which counts time
//!   suspended, so after a sleep longer than the timeout the wait ends right at the wake and
//!   the sleep is measured at once.
//! - macOS ([`macos`]): notify(3)'s `com.apple.system.powersources.source`
//!   (`kIOPSNotifyPowerSource`, IOPowerSources.h) on a file descriptor
//!   (`notify_register_file_descriptor`), which needs no run loop. That key is posted when the
//!   providing source changes (AC ↔ battery or UPS), not on every percent or time-remaining
//!   update as `com.apple.system.powersources` (`kIOPSNotifyAnyPowerSource`) is, which Apple
//!   asks clients not to use when the source is what they need: the battery level is picked up
//!   at the watcher's fallback cadence, which its thresholds tolerate. The timeout is
//!   `poll(2)`'s, on a clock that stops while asleep.
//! - Elsewhere: no change signal ([`PowerChanges::open`] fails and the watcher polls).

use std::io;
use std::time::Duration;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;

#[cfg(target_os = "linux")]
use linux as imp;
#[cfg(target_os = "macos")]
use macos as imp;

/// Other OSes: no change signal.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod imp {
    use std::io;
    use std::time::Duration;

    pub struct Watch;

    impl Watch {
        pub fn open() -> io::Result<Watch> {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no power change notification on this OS",
            ))
        }

        pub fn wait(&mut self, _timeout: Duration) -> io::Result<bool> {
            Err(io::Error::from(io::ErrorKind::Unsupported))
        }

        pub fn source(&self) -> String {
            String::new()
        }
    }
}

/// A subscription to the OS's power change notifications, held open for the watcher's life.
pub struct PowerChanges {
    inner: imp::Watch,
}

impl PowerChanges {
    /// Subscribes; `Err` says why it cannot be done here (the watcher then polls).
    pub fn open() -> io::Result<PowerChanges> {
        Ok(PowerChanges {
            inner: imp::Watch::open()?,
        })
    }

    /// Blocks until the OS says the power changed (`Ok(true)`) or `timeout` has passed
    /// (`Ok(false)`). Other news on the same channel (another device's uevent) does not end
    /// the wait. `Err`: the channel broke, and waiting on it again would not help.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        self.inner.wait(timeout)
    }

    /// What is watched, for the log: the kernel's uevents, a folder, a notify(3) key.
    pub fn source(&self) -> String {
        self.inner.source()
    }
}
