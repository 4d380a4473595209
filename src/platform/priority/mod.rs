//! Starting a child in a process group of its own at a low CPU priority, so that the user does
//! not feel the work it (and everything it starts) does.
//!
//! The niceness is set in the child between fork and exec, so it holds from the first
//! instruction of the program and every process it starts inherits it: for `ray start`, its
//! raylet, its agents and the task workers the raylet forks (Ray's task workers then add Ray's
//! own `worker_niceness` on top, see the README). What differs by OS is only what "low priority"
//! takes besides `setpriority`, one file each:
//! - Linux (`linux.rs`): the kernel's autogroup (`/proc/sys/kernel/sched_autogroup_enabled`,
//!   on by default in Debian and Ubuntu kernels) shares the CPU fairly between *sessions* first
//!   and weighs niceness only within one, so a niced child in the supervisor's session still
//!   gets as much CPU as the user's terminal or desktop session. The child therefore starts a
//!   session of its own (`setsid`, which also makes it a group leader) and gives that session's
//!   autogroup the same niceness (`/proc/self/autogroup`).
//! - macOS (`macos.rs`): `setpriority` alone. Not `PRIO_DARWIN_BG`/`taskpolicy -b`: that
//!   confines a process to the efficiency cores on Apple silicon (a 10-CPU offer would run on
//!   4 cores) and throttles its disk and network I/O, which slows object transfers and the
//!   node's heartbeats to the head.
//!
//! It must not decide the niceness: that is the configuration's (`[ray] nice`).

use tokio::process::Command;

#[cfg(not(target_os = "macos"))]
mod linux;
#[cfg(target_os = "macos")]
mod macos;

#[cfg(not(target_os = "macos"))]
use linux as os;
#[cfg(target_os = "macos")]
use macos as os;

/// Makes `command`'s child lead a new process group (pid = group id) and, when `nice` is 1 to
/// 19, run at that niceness with everything it starts. 0 leaves the priority as it is (only
/// the process group is new). A failure to lower the priority does not stop the start: a
/// worker at normal priority is better than none, and Ray's own task niceness still applies.
pub fn new_group_at_nice(command: &mut Command, nice: u8) {
    if nice == 0 {
        command.process_group(0);
        return;
    }
    os::new_group_at_nice(command, i32::from(nice.min(19)));
}
