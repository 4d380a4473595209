//! macOS: a new process group at the niceness (no background policy, see the module doc).

use tokio::process::Command;

pub(super) fn new_group_at_nice(command: &mut Command, nice: i32) {
    command.process_group(0);
    // SAFETY: between fork and exec only setpriority, an async-signal-safe system call, is made.
    unsafe {
        command.pre_exec(move || {
            // Inherited by every process the child starts.
            let _ = libc::setpriority(libc::PRIO_PROCESS, 0, nice);
            Ok(())
        });
    }
}
