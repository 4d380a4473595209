//! Facts about the operating system behind small traits, one implementation per OS where they
//! differ (one for both where a portable crate answers, as sysinfo does for processes).

pub mod admin;
pub mod alert;
pub mod app_nap;
pub mod awake;
pub mod clock;
pub mod close_on_exec;
pub mod command;
#[cfg(target_os = "macos")]
pub mod darwin_notify;
pub mod fd_wait;
pub mod homebrew;
#[cfg(target_os = "macos")]
pub mod iokit;
pub mod login_item;
#[cfg(target_os = "linux")]
pub mod logind;
pub mod machine;
pub mod power;
pub mod priority;
pub mod processes;
pub mod sleep;
pub mod tcp_watch;
pub mod thermal;
pub mod tool_search;
pub mod user_idle;

pub use login_item::{system_login_item, LoginItem, LoginItemError, LoginStatus};
pub use machine::{detect_form_factor, machine_model, FormFactor};
pub use power::{PowerChanges, PowerSource, SystemPower};
pub use processes::{ProcessTable, SystemProcesses};
