//! Descriptors a library opened without close-on-exec (libnotify keeps the write end of the pipe
//! it hands out as a plain `pipe(2)`, and never says which it is) would be inherited by Ray's
//! whole tree, `osascript` and `launchctl`. Nothing of ours hands a descriptor to a child except
//! its standard streams (which `Command` duplicates, clearing the flag), so every other one is
//! marked close-on-exec.

use std::io;
use std::os::fd::RawFd;

/// Marks every open descriptor above stderr close-on-exec; how many it changed.
pub fn mark_all_close_on_exec() -> io::Result<usize> {
    // /dev/fd lists this process's descriptors on macOS and Linux alike.
    let open: Vec<RawFd> = std::fs::read_dir("/dev/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    let mut changed = 0;
    for fd in open {
        // SAFETY: only the descriptor's flags are read and changed; a descriptor closed since
        // (the listing's own) answers EBADF and is skipped.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags >= 0
            && flags & libc::FD_CLOEXEC == 0
            && unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } == 0
        {
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn close_on_exec(fd: RawFd) -> bool {
        // SAFETY: reads the flags of a descriptor the test holds open.
        unsafe { libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC != 0 }
    }

    #[test]
    fn a_plain_pipe_is_marked_and_a_child_no_longer_inherits_it() {
        // pipe(2) without O_CLOEXEC, as libnotify makes its own.
        let (read, write) = nix::unistd::pipe().expect("pipe");
        let fd = write.as_raw_fd();
        assert!(!close_on_exec(fd));
        let inherited = |fd: RawFd| {
            let out = std::process::Command::new("sh")
                .args([
                    "-c",
                    &format!("test -e /dev/fd/{fd} && echo yes || echo no"),
                ])
                .output()
                .expect("sh");
            String::from_utf8_lossy(&out.stdout).trim() == "yes"
        };
        assert!(inherited(fd), "the test's pipe is inherited to begin with");
        assert!(mark_all_close_on_exec().expect("marked") >= 1);
        assert!(close_on_exec(fd) && close_on_exec(read.as_raw_fd()));
        assert!(!inherited(fd));
    }
}
