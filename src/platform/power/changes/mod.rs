//! The OS saying "the power changed", so that the machine watcher sleeps on it instead of polling:
//! `PowerChanges::open` subscribes (`Err`: not here, the watcher polls), `wait(timeout)` blocks
//! until a change (`Ok(true)`) or the timeout (`Ok(false)`; other news does not end it; `Err`:
//! broken for good), and `source()` names it for the log.
//! - Linux: the kernel's uevent socket, a `power_supply` message ([`super::uevent`]) being a
//!   change. The timeout runs on `CLOCK_BOOTTIME`, so after a long sleep the wait ends at the
//!   wake.
//! - macOS: notify(3)'s `kIOPSNotifyPowerSource`, posted when the providing source changes (not at
//!   every percent, as Apple asks); the level is read at the watcher's fallback cadence.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::PowerChanges;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub use macos::PowerChanges;
