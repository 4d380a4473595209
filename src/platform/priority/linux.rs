//! Linux: a new session (its own autogroup) at the niceness, for the process and its autogroup.

use tokio::process::Command;

pub(super) fn new_group_at_nice(command: &mut Command, nice: i32) {
    // Formatted before the fork: nothing may be allocated between fork and exec.
    let autogroup_nice = format!("{nice}\n").into_bytes();
    // SAFETY: between fork and exec only async-signal-safe system calls are made (setsid,
    // open, write, close, setpriority) on data prepared before the fork.
    unsafe {
        command.pre_exec(move || {
            // A new session is a new autogroup, and makes the child a group leader (what
            // `process_group(0)` would do; that one cannot be combined with setsid, which
            // fails for a process that already leads a group).
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The autogroup's weight against the user's sessions. Best effort: the file is
            // absent on kernels without autogroup, and writes are rate-limited (EAGAIN).
            let fd = libc::open(
                c"/proc/self/autogroup".as_ptr(),
                libc::O_WRONLY | libc::O_CLOEXEC,
            );
            if fd >= 0 {
                let _ = libc::write(fd, autogroup_nice.as_ptr().cast(), autogroup_nice.len());
                libc::close(fd);
            }
            // The process's own niceness, inherited by every thread and child it creates.
            let _ = libc::setpriority(libc::PRIO_PROCESS, 0, nice);
            Ok(())
        });
    }
}
