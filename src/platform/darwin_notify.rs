//! A macOS notify(3) name (a Darwin notification) delivered on a file descriptor
//! (`notify_register_file_descriptor`): readable after each post, with no run loop, dispatch
//! queue or Mach port to service, so a plain thread can sleep on it in `poll(2)`. libnotify
//! writes each post's token (4 bytes) to a pipe it owns and closes at `notify_cancel`.

use std::ffi::CStr;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::raw::{c_char, c_int};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};

use super::fd_wait::wait_readable;

extern "C" {
    // libnotify, part of libSystem (notify.h); no framework to link.
    fn notify_register_file_descriptor(
        name: *const c_char,
        notify_fd: *mut c_int,
        flags: c_int,
        out_token: *mut c_int,
    ) -> u32;
    fn notify_cancel(token: c_int) -> u32;
    fn notify_post(name: *const c_char) -> u32;
}

/// Posts `name` to everyone registered for it.
pub fn post(name: &CStr) -> io::Result<()> {
    // SAFETY: a NUL-terminated name.
    match unsafe { notify_post(name.as_ptr()) } {
        NOTIFY_STATUS_OK => Ok(()),
        status => Err(io::Error::other(format!(
            "notify_post failed with status {status}"
        ))),
    }
}

const NOTIFY_STATUS_OK: u32 = 0;

/// A registration of one name on its own descriptor, cancelled when dropped.
pub struct DarwinNotification {
    fd: c_int,
    token: c_int,
    name: String,
}

impl DarwinNotification {
    pub fn register(name: &CStr) -> io::Result<DarwinNotification> {
        let (mut fd, mut token) = (-1, -1);
        // SAFETY: a NUL-terminated name; `fd` and `token` are valid for writes.
        let status =
            unsafe { notify_register_file_descriptor(name.as_ptr(), &mut fd, 0, &mut token) };
        if status != NOTIFY_STATUS_OK {
            return Err(io::Error::other(format!(
                "notify_register_file_descriptor({}) failed with status {status}",
                name.to_string_lossy()
            )));
        }
        let registered = DarwinNotification {
            fd,
            token,
            name: name.to_string_lossy().into_owned(),
        };
        // Non-blocking, so that draining stops at an empty pipe.
        let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
        fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        // Both ends of libnotify's plain pipe(2): the read end is `fd`, the write end it keeps.
        super::close_on_exec::mark_all_close_on_exec()?;
        Ok(registered)
    }

    /// Blocks until the name is posted (`Ok(true)`, pending posts read) or `timeout` passes
    /// (`Ok(false)`).
    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        // SAFETY: `fd` stays open while `self` holds its registration.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        if wait_readable(&[fd], Some(timeout))?.first() != Some(&true) {
            return Ok(false);
        }
        let mut tokens = [0u8; 256];
        loop {
            match nix::unistd::read(self.fd, &mut tokens) {
                Ok(0) => {
                    let closed = "libnotify closed its pipe";
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, closed));
                }
                Ok(_) | Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Ok(true),
                Err(error) => return Err(error.into()),
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for DarwinNotification {
    fn drop(&mut self) {
        // SAFETY: the token libnotify gave, cancelled once; that closes the descriptor.
        unsafe { notify_cancel(self.token) };
    }
}
