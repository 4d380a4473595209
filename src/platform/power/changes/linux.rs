//! Linux: the kernel's uevents; the timeout on a `CLOCK_BOOTTIME` timerfd. See [`super`].

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    bind, recvfrom, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType,
};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

use crate::platform::fd_wait::wait_readable;
use crate::platform::power::uevent::is_power_supply_uevent;

/// udevd re-sends on group 2, in another format.
const KERNEL_GROUP: u32 = 1;

/// A uevent is at most 2 KiB of variables plus its header; a longer datagram would be cut, which
/// the parser survives.
const UEVENT_MAX: usize = 8 * 1024;

pub struct PowerChanges {
    /// The kernel's uevent socket.
    uevents: OwnedFd,
    timer: TimerFd,
}

impl PowerChanges {
    pub fn open() -> io::Result<PowerChanges> {
        let uevents = open_uevents()?;
        let timer = TimerFd::new(
            ClockId::CLOCK_BOOTTIME,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        Ok(PowerChanges { uevents, timer })
    }

    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        // A zero expiry would disarm the timer (and wait forever): a nanosecond is "now".
        let expiry = TimeSpec::from_duration(timeout.max(Duration::from_nanos(1)));
        self.timer
            .set(Expiration::OneShot(expiry), TimerSetTimeFlags::empty())?;
        loop {
            let ready = wait_readable(&[self.uevents.as_fd(), self.timer.as_fd()], None)?;
            if ready.first() == Some(&true) && drain_uevents(&self.uevents)? {
                return Ok(true);
            }
            if ready.get(1) == Some(&true) {
                // The one-shot timer stays readable until set again, at the next wait.
                return Ok(false);
            }
            // Other devices' news: keep waiting for the same timeout.
        }
    }

    pub fn source(&self) -> String {
        "kernel uevents (power_supply)".to_string()
    }
}

fn open_uevents() -> io::Result<OwnedFd> {
    let socket = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        SockProtocol::NetlinkKObjectUEvent,
    )?;
    // Port 0: the kernel picks one; anyone may listen on the kernel's group. In a network
    // namespace of another user namespace (some containers) nothing arrives: the fallback
    // cadence still reads the power.
    bind(socket.as_raw_fd(), &NetlinkAddr::new(0, KERNEL_GROUP))?;
    Ok(socket)
}

/// Whether a pending uevent was a power supply's: messages not from the kernel are skipped, and
/// dropped ones (`ENOBUFS`) count, since they may have held one.
fn drain_uevents(socket: &OwnedFd) -> io::Result<bool> {
    let mut buffer = vec![0u8; UEVENT_MAX];
    let mut power = false;
    loop {
        match recvfrom::<NetlinkAddr>(socket.as_raw_fd(), &mut buffer) {
            Ok((length, from)) => {
                let from_kernel = from.is_some_and(|from| from.pid() == 0);
                let message = buffer.get(..length).unwrap_or_default();
                power |= from_kernel && is_power_supply_uevent(message);
            }
            Err(Errno::EAGAIN) => return Ok(power),
            Err(Errno::EINTR) => continue,
            Err(Errno::ENOBUFS) => power = true,
            Err(error) => return Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real socket: it opens and binds here (the kernel lets anyone listen), and a wait
    /// with nothing about power times out.
    #[test]
    fn the_uevent_socket_opens_unprivileged_and_times_out_quietly() {
        let Ok(mut watch) = PowerChanges::open() else {
            // A sandbox without netlink: the watcher's fallback covers it.
            return;
        };
        // A machine may post power uevents meanwhile; a timeout runs its whole length, on the
        // boot-time clock.
        let since = std::time::Instant::now();
        if !watch.wait(Duration::from_millis(100)).expect("wait") {
            assert!(since.elapsed() >= Duration::from_millis(100));
        }
        assert_eq!(watch.source(), "kernel uevents (power_supply)");
    }
}
