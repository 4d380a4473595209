//! Starting a child in a process group of its own at a low CPU priority (`[ray] nice`), set
//! between fork and exec so that all it starts inherits it (Ray adds `worker_niceness` on top).
//! - Linux: autogroup (on in Debian and Ubuntu) shares the CPU between *sessions* first, so the
//!   child starts a session of its own (`setsid`) and gives its autogroup the same niceness.
//! - macOS: `setpriority` alone. Not `PRIO_DARWIN_BG`: it confines a process to the efficiency
//!   cores (a 10-CPU offer would run on 4) and throttles its I/O, slowing transfers and heartbeats.

use tokio::process::Command;

#[cfg_attr(target_os = "linux", path = "linux.rs")]
#[cfg_attr(target_os = "macos", path = "macos.rs")]
mod os;

/// Makes `command`'s child lead a new process group and, for `nice` 1 to 19, run at that niceness
/// with all it starts (0: priority untouched). A failure to lower it does not stop the start: a
/// worker at normal priority beats none.
pub fn new_group_at_nice(command: &mut Command, nice: u8) {
    if nice == 0 {
        command.process_group(0);
        return;
    }
    os::new_group_at_nice(command, i32::from(nice.min(19)));
}
