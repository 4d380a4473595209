//! The OS saying "the power changed", so that the machine watcher sleeps on it instead of polling:
//! `open` subscribes (`Err`: the watcher polls), `wait(timeout)` blocks until a change
//! (`Ok(true)`) or the timeout (`Ok(false)`; `Err`: broken for good), `source()` names it.
//! - Linux: a `power_supply` uevent ([`super::uevent`]); the timeout on `CLOCK_BOOTTIME`, so
//!   after a long sleep the wait ends at the wake.
//! - macOS: notify(3)'s `kIOPSNotifyPowerSource`, posted when the providing source changes (not
//!   at every percent); the level is read at the watcher's fallback cadence.

#[cfg_attr(target_os = "linux", path = "linux.rs")]
#[cfg_attr(target_os = "macos", path = "macos.rs")]
mod os;
pub use os::PowerChanges;
