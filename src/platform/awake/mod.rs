//! Keeps the machine from idle-sleeping while `Status.courtesy.hold_awake` says so, and reports
//! what the OS made of each take and release (`AwakeHold`), so the status claims the machine is
//! kept awake only when it is. It decides and logs nothing.
//! - macOS: an IOKit `PreventUserIdleSystemSleep` assertion: *idle* sleep only (a closed lid or
//!   Sleep still sleeps); macOS drops it if the process dies.
//! - Linux: a logind `Inhibit("idle", …, "block")` descriptor (`AwakeHold::Unavailable` without
//!   logind). GNOME's settings daemon ignores logind's idle inhibitors (see the README).

#[cfg_attr(target_os = "linux", path = "linux.rs")]
#[cfg_attr(target_os = "macos", path = "macos.rs")]
mod os;

/// What the OS is told (`pmset -g assertions`, `systemd-inhibit --list`).
pub const WHY: &str = "Contributing CPUs to the Ray cluster";

pub const WHO: &str = "BitTrader Worker";

/// Held while `hold` is true, released when it turns false or its sender is dropped; each take and
/// release is reported on `held`.
pub use os::follow;
