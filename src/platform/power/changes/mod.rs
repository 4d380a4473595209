//! The OS saying "the power changed", so that the machine watcher sleeps on it instead of polling:
//! `open` subscribes (`Err`: the watcher polls), `wait(timeout)` blocks until a change
//! (`Ok(true)`) or the timeout (`Ok(false)`; `Err`: broken for good), `source()` names it.
//! - Linux: a `power_supply` uevent ([`super::uevent`]); the timeout on `CLOCK_BOOTTIME`, so
//!   after a long sleep the wait ends at the wake.
//! - macOS: notify(3)'s `kIOPSNotifyPowerSource`, posted when the providing source changes (not
//!   at every percent); the level is read at the watcher's fallback cadence.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::PowerChanges;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
pub use macos::PowerChanges;
