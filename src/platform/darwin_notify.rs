//! macOS's notify(3) names (Darwin notifications) delivered on a file descriptor
//! (`notify_register_file_descriptor`): readable after each post, with no run loop, dispatch
//! queue or Mach port to service, so a plain thread can sleep on it in `poll(2)` with the rest
//! of its wait. Used for the power source (`power::changes`) and the thermal pressure
//! (`thermal::macos`).
//!
//! libnotify makes a pipe per first registration and writes each post's token (a 4-byte int)
//! to it; further names share it with `NOTIFY_REUSE`. The pipe is libnotify's: it is closed by
//! `notify_cancel` of its last registration, never by us.

use std::ffi::CStr;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::raw::{c_char, c_int};
use std::time::Duration;

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
}

/// `NOTIFY_STATUS_OK` (notify.h).
const NOTIFY_STATUS_OK: u32 = 0;
/// `NOTIFY_REUSE` (notify.h): register on the descriptor passed in.
const NOTIFY_REUSE: c_int = 0x0000_0001;

/// Registrations of some names on one descriptor, cancelled when dropped.
pub struct DarwinNotifications {
    fd: c_int,
    tokens: Vec<c_int>,
    names: Vec<String>,
}

impl DarwinNotifications {
    /// Registers every one of `names` (at least one) on one descriptor.
    pub fn register(names: &[&CStr]) -> io::Result<DarwinNotifications> {
        let mut registered = DarwinNotifications {
            fd: -1,
            tokens: Vec::new(),
            names: Vec::new(),
        };
        for name in names {
            let flags = if registered.tokens.is_empty() {
                0
            } else {
                NOTIFY_REUSE
            };
            let mut token: c_int = -1;
            // SAFETY: a NUL-terminated name; `fd` and `token` are valid for writes; with
            // NOTIFY_REUSE, `fd` is the descriptor libnotify gave at the first registration.
            let status = unsafe {
                notify_register_file_descriptor(
                    name.as_ptr(),
                    &mut registered.fd,
                    flags,
                    &mut token,
                )
            };
            if status != NOTIFY_STATUS_OK {
                // Dropping `registered` cancels what was registered so far.
                return Err(io::Error::other(format!(
                    "notify_register_file_descriptor({}) failed with status {status}",
                    name.to_string_lossy()
                )));
            }
            registered.tokens.push(token);
            registered.names.push(name.to_string_lossy().into_owned());
        }
        if registered.tokens.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no name to watch",
            ));
        }
        // Non-blocking, so that draining stops at an empty pipe instead of waiting on it; and
        // close-on-exec, since libnotify makes its pipe with a plain pipe(2) and every process
        // the app starts (Ray's whole tree) would inherit it.
        // SAFETY: `fd` is the open descriptor libnotify returned; F_GETFL/F_SETFL and
        // F_GETFD/F_SETFD only change its flags.
        unsafe {
            let flags = libc::fcntl(registered.fd, libc::F_GETFL);
            if flags < 0 || libc::fcntl(registered.fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0
            {
                return Err(io::Error::last_os_error());
            }
            let fd_flags = libc::fcntl(registered.fd, libc::F_GETFD);
            if fd_flags < 0
                || libc::fcntl(registered.fd, libc::F_SETFD, fd_flags | libc::FD_CLOEXEC) < 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(registered)
    }

    /// Blocks until one of the names is posted (`Ok(true)`, every pending post read) or
    /// `timeout` has passed (`Ok(false)`).
    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        // SAFETY: `fd` stays open while `self` holds its registrations.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let ready = wait_readable(&[fd], Some(timeout))?;
        if ready.first() != Some(&true) {
            return Ok(false);
        }
        self.drain()?;
        Ok(true)
    }

    /// The names watched, for the log.
    pub fn names(&self) -> String {
        self.names.join(", ")
    }

    /// Reads every pending token (which name was posted does not matter to the callers).
    fn drain(&mut self) -> io::Result<()> {
        let mut tokens = [0u8; 256];
        loop {
            // SAFETY: reads into a buffer of the length given, from the open descriptor.
            let read = unsafe { libc::read(self.fd, tokens.as_mut_ptr().cast(), tokens.len()) };
            match read {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "libnotify closed its pipe",
                    ))
                }
                n if n > 0 => continue,
                _ => {
                    let error = io::Error::last_os_error();
                    match error.kind() {
                        io::ErrorKind::WouldBlock => return Ok(()),
                        io::ErrorKind::Interrupted => continue,
                        _ => return Err(error),
                    }
                }
            }
        }
    }
}

impl Drop for DarwinNotifications {
    fn drop(&mut self) {
        for token in &self.tokens {
            // SAFETY: a token libnotify gave; each is cancelled once. The last one's cancel
            // closes the shared descriptor.
            unsafe { notify_cancel(*token) };
        }
    }
}
