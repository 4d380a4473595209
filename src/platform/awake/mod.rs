//! Keeps the machine from idle-sleeping while the supervisor says so (`keep_awake`).
//!
//! The decision is the supervisor's (`supervisor::courtesy::keep_awake`, published as
//! `Status.courtesy.hold_awake`); this module only follows it: [`follow`] takes the hold
//! when the value turns true and lets go when it turns false or its sender goes away, and
//! reports back what the OS made of it ([`AwakeHold`]), so that the status claims the machine
//! is kept awake only when it is.
//!
//! - macOS ([`macos`]): an IOKit power assertion, `IOPMAssertionCreateWithName` of type
//!   `PreventUserIdleSystemSleep`, in-process; `IOPMAssertionRelease` lets go. It prevents
//!   *idle* sleep only: closing the lid or choosing Sleep still sleeps (and the sleep observer
//!   stops the worker first). macOS drops the assertion by itself if the process dies.
//! - Linux ([`linux`]): a logind *block* inhibitor, `Manager.Inhibit("idle", …, "block")` on the
//!   system bus (or the bus `BITTRADER_LOGIND_BUS` names, for tests). logind hands back a file
//!   descriptor: holding it is the hold, closing it the release. Without logind nothing is
//!   held ([`AwakeHold::Unavailable`]), as for the sleep watcher. logind's `IdleAction=`
//!   honours it; GNOME's settings daemon, which suspends by its own idle logic, does not look
//!   at logind's idle inhibitors (see the README).
//!
//! It decides nothing and logs nothing: a refusal goes back to the supervisor, which logs it.

use tokio::sync::{mpsc, watch};

use crate::model::AwakeHold;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "macos")]
mod macos;

/// What the OS is told the hold is for (macOS shows it in `pmset -g assertions`, logind in
/// `systemd-inhibit --list`).
pub const WHY: &str = "Contributing CPUs to the Ray cluster";

/// Who holds it.
pub const WHO: &str = "BitTrader Worker";

/// Follows `hold` in a task of its own: held while it is true, released when it turns false
/// and when the sender is dropped. Each take and release is reported on `held`.
pub fn follow(hold: watch::Receiver<bool>, held: mpsc::UnboundedSender<AwakeHold>) {
    #[cfg(target_os = "linux")]
    linux::follow(hold, held);
    #[cfg(target_os = "macos")]
    macos::follow(hold, held);
}
