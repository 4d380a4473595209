//! The shared vocabulary between the OS readers and parsers, the supervisor, and the tray, CLI and
//! log. It imports nothing else of this crate and does no IO, so anything may import it.

mod cli_link;
mod contribution;
mod courtesy;
pub mod doctor;
mod failure;
mod found;
mod head;
mod power;
mod reach;
mod release;
mod status;
mod system;
mod uninstall;

pub use cli_link::{CliLinkRefused, CliLinked};
pub use contribution::{Activity, ContributionSummary, PauseReason, ProcessUsage};
pub use courtesy::{
    AwakeHold, CourtesyStatus, IdleReading, KeepAwake, PauseAtThermal, ThermalState,
};
pub use failure::{NoBuild, WorkerFailure};
pub use found::{FoundHead, HeadSearch, TailnetFinds};
pub use head::{
    is_tailscale_ip, HeadAddress, HeadAddressError, DEFAULT_HEAD_PORT, HEAD_ADDRESS_HINT,
};
pub use power::{Battery, ChargeState, PowerSnapshot, POWER_UNKNOWN};
pub use reach::{TailscaleCheck, TailscaleProblem, Unreachable};
pub use release::{release_version, this_build, Release, UpdateAvailable, UpdateCheck};
pub use status::{
    AutoPause, ClusterSize, ConfigEdit, Fault, InstallStep, LogNote, Notice, Phase, PythonSkew,
    RayInUse, RayInstall, ReplyNote, Status, StopReason,
};
pub use system::{SleepGate, SystemEvent};
pub use uninstall::Removed;
