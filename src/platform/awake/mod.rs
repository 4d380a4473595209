//! Keeps the machine from idle-sleeping while `Status.courtesy.hold_awake` says so, and reports
//! what the OS made of each take and release ([`AwakeHold`]), so the status claims the machine is
//! kept awake only when it is. It decides and logs nothing.
//! - macOS: an IOKit `PreventUserIdleSystemSleep` assertion: *idle* sleep only (a closed lid or
//!   Sleep still sleeps); macOS drops it if the process dies.
//! - Linux: a logind `Inhibit("idle", …, "block")` descriptor ([`AwakeHold::Unavailable`] without
//!   logind). GNOME's settings daemon ignores logind's idle inhibitors (see the README).

use tokio::sync::{mpsc, watch};

use crate::model::AwakeHold;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;

/// What the OS is told (`pmset -g assertions`, `systemd-inhibit --list`).
pub const WHY: &str = "Contributing CPUs to the Ray cluster";

pub const WHO: &str = "BitTrader Worker";

/// Held while `hold` is true, released when it turns false or its sender is dropped; each take and
/// release is reported on `held`.
pub fn follow(hold: watch::Receiver<bool>, held: mpsc::UnboundedSender<AwakeHold>) {
    #[cfg(target_os = "linux")]
    linux::follow(hold, held);
    #[cfg(target_os = "macos")]
    macos::follow(hold, held);
}
