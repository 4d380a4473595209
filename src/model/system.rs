//! The OS's sleep and wake notifications, as the tray, logind and the control socket pass them.

use serde::{Deserialize, Serialize};

/// `{"kind":"will_sleep"}`, `{"kind":"woke","slept_secs":600}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SystemEvent {
    /// The machine is about to sleep.
    WillSleep,
    /// `slept_secs`: wall clock since the sleep was announced.
    Woke { slept_secs: u64 },
}

/// Whether the supervisor still holds back an announced sleep (for macOS's and logind's holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SleepGate {
    /// The [`SystemEvent::WillSleep`]s taken in: a verdict is about an adapter's announcement
    /// once this reaches its count.
    pub will_sleeps_seen: u64,
    pub holding: bool,
}
