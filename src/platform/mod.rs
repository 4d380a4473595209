//! Facts about the operating system, behind small traits so that tests can use fakes.
//!
//! Each fact has one implementation per OS where the OSes differ; where one portable crate
//! answers for both (processes, through sysinfo), there is one implementation.

pub mod processes;

pub use processes::{ProcessTable, SystemProcesses};
