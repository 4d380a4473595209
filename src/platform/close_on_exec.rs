//! Descriptors a library opened without close-on-exec (libnotify keeps the write end of the pipe
//! it hands out as a plain `pipe(2)`, and never says which it is) would be inherited by Ray's
//! whole tree, `osascript` and `launchctl`. Nothing of ours hands a descriptor to a child except
//! its standard streams (which `Command` duplicates, clearing the flag), so every other one is
//! marked close-on-exec.

use std::io;
use std::os::fd::RawFd;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};

/// Marks every open descriptor above stderr close-on-exec; how many it changed.
pub fn mark_all_close_on_exec() -> io::Result<usize> {
    // /dev/fd lists this process's descriptors on macOS and Linux alike.
    let open: Vec<RawFd> = std::fs::read_dir("/dev/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    let mut changed = 0;
    for fd in open {
        // A descriptor closed since (the listing's own) answers EBADF and is skipped.
        let Ok(flags) = fcntl(fd, FcntlArg::F_GETFD).map(FdFlag::from_bits_retain) else {
            continue;
        };
        if !flags.contains(FdFlag::FD_CLOEXEC)
            && fcntl(fd, FcntlArg::F_SETFD(flags | FdFlag::FD_CLOEXEC)).is_ok()
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
        let flags = fcntl(fd, FcntlArg::F_GETFD).expect("flags");
        FdFlag::from_bits_retain(flags).contains(FdFlag::FD_CLOEXEC)
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
