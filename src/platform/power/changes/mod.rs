//! The OS saying "the power changed", so that the machine watcher sleeps on it instead of
//! polling: [`PowerChanges::open`] subscribes (`Err`: not here, the watcher polls),
//! `wait(timeout)` blocks until a change (`Ok(true)`) or the timeout (`Ok(false)`), other news
//! on the channel not ending it (`Err`: the channel broke for good), and `source()` names what
//! is watched, for the log. The watcher then reads the power and the supervisor judges it.
//!
//! - Linux: the kernel's uevent socket (`NETLINK_KOBJECT_UEVENT`, group 1), where a message of
//!   subsystem `power_supply` ([`super::uevent`]) is a change; with `BITTRADER_POWER_SUPPLY_DIR`
//!   set (tests playing a charger with plain files, which post inotify events where sysfs
//!   attributes do not), an inotify watch on that folder instead. The timeout runs on
//!   `CLOCK_BOOTTIME`, which counts time suspended: after a long sleep the wait ends at the wake.
//! - macOS: notify(3)'s `kIOPSNotifyPowerSource` on a file descriptor (no run loop needed),
//!   posted when the providing source changes (AC ↔ battery), not at every percent as Apple
//!   asks clients who only need the source not to watch; the battery level is read at the
//!   watcher's fallback cadence.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::PowerChanges;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub use macos::PowerChanges;
