//! The shared vocabulary: the types that cross from the OS readers and parsers to the
//! supervisor, and from the supervisor to the tray, the CLI and the log.
//!
//! It depends on nothing else in this crate and does no IO, so that anything may import it
//! without importing IO: the parsers (`tailscale`, `ray_output`, `platform::power`) produce
//! these types, the supervisor reasons over them, and `text` words them.

mod contribution;
mod courtesy;
mod failure;
mod found;
mod head;
mod power;
mod reach;
mod status;
mod system;

pub use contribution::{Activity, ContributionSummary, PauseReason, ProcessUsage};
pub use courtesy::{
    AwakeHold, CourtesyStatus, IdleReading, KeepAwake, PauseAtThermal, ThermalState,
};
pub use failure::WorkerFailure;
pub use found::{FoundHead, HeadSearch, TailnetFinds};
pub use head::{
    is_tailscale_ip, HeadAddress, HeadAddressError, DEFAULT_HEAD_PORT, HEAD_ADDRESS_HINT,
};
pub use power::{Battery, ChargeState, PowerSnapshot, POWER_UNKNOWN};
pub use reach::{TailscaleCheck, TailscaleProblem, Unreachable};
pub use status::{
    AutoPause, Fault, InstallStep, LogNote, Notice, Phase, RayInstall, ReplyNote, Status,
    StopReason,
};
pub use system::{SleepGate, SystemEvent};
