//! Linux: the kernel's uevents, or (tests) an inotify watch on the folder that stands in for
//! `/sys/class/power_supply`; the timeout on a `CLOCK_BOOTTIME` timerfd. See [`super`].

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::socket::{
    bind, recvfrom, socket, AddressFamily, NetlinkAddr, SockFlag, SockProtocol, SockType,
};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

use crate::platform::fd_wait::wait_readable;
use crate::platform::power::linux::POWER_SUPPLY_DIR_ENV;
use crate::platform::power::uevent::is_power_supply_uevent;

/// udevd re-sends on group 2, in another format.
const KERNEL_GROUP: u32 = 1;

/// A uevent is at most 2 KiB of variables plus its header; a longer datagram would be cut, which
/// the parser survives.
const UEVENT_MAX: usize = 8 * 1024;

enum Source {
    /// The kernel's uevent socket.
    Uevents(OwnedFd),
    /// A folder of plain files and its supply folders.
    Folder { inotify: Inotify, dir: PathBuf },
}

pub struct PowerChanges {
    source: Source,
    timer: TimerFd,
}

impl PowerChanges {
    pub fn open() -> io::Result<PowerChanges> {
        let source = match std::env::var_os(POWER_SUPPLY_DIR_ENV) {
            Some(dir) => Source::folder(PathBuf::from(dir))?,
            None => Source::uevents()?,
        };
        let timer = TimerFd::new(
            ClockId::CLOCK_BOOTTIME,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        Ok(PowerChanges { source, timer })
    }

    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        // A zero expiry would disarm the timer (and wait forever): a nanosecond is "now".
        let expiry = TimeSpec::from_duration(timeout.max(Duration::from_nanos(1)));
        self.timer
            .set(Expiration::OneShot(expiry), TimerSetTimeFlags::empty())?;
        loop {
            let ready = wait_readable(&[self.source.as_fd(), self.timer.as_fd()], None)?;
            if ready.first() == Some(&true) && self.source.drain()? {
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
        match &self.source {
            Source::Uevents(_) => "kernel uevents (power_supply)".to_string(),
            Source::Folder { dir, .. } => format!("inotify on {}", dir.display()),
        }
    }
}

impl Source {
    fn uevents() -> io::Result<Source> {
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
        Ok(Source::Uevents(socket))
    }

    fn folder(dir: PathBuf) -> io::Result<Source> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        watch_folder(&inotify, &dir)?;
        Ok(Source::Folder { inotify, dir })
    }

    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Source::Uevents(socket) => socket.as_fd(),
            Source::Folder { inotify, .. } => inotify.as_fd(),
        }
    }

    /// Reads everything pending; whether any of it was about power.
    fn drain(&mut self) -> io::Result<bool> {
        match self {
            Source::Uevents(socket) => drain_uevents(socket),
            Source::Folder { inotify, dir } => {
                let mut any = false;
                loop {
                    match inotify.read_events() {
                        Ok(events) if events.is_empty() => break,
                        Ok(_) => any = true,
                        Err(Errno::EAGAIN) => break,
                        Err(Errno::EINTR) => continue,
                        Err(error) => return Err(error.into()),
                    }
                }
                if any {
                    // A supply folder made since (a charger appearing): watched from now on.
                    watch_folder(inotify, dir)?;
                }
                Ok(any)
            }
        }
    }
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

/// `dir` and its folders (a supply's files live one level down; inotify does not recurse).
fn watch_folder(inotify: &Inotify, dir: &Path) -> io::Result<()> {
    let flags = AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE;
    inotify.add_watch(dir, flags)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            let _ = inotify.add_watch(&entry.path(), flags);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn supply_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a folder");
        std::fs::create_dir(dir.path().join("AC")).expect("AC");
        std::fs::write(dir.path().join("AC/online"), "1\n").expect("online");
        dir
    }

    fn watching(source: Source) -> PowerChanges {
        let timer = TimerFd::new(ClockId::CLOCK_BOOTTIME, TimerFlags::TFD_CLOEXEC).expect("timer");
        PowerChanges { source, timer }
    }

    #[test]
    fn a_file_rewritten_in_the_folder_ends_the_wait_at_once() {
        let dir = supply_folder();
        let mut watch = watching(Source::folder(dir.path().to_path_buf()).expect("inotify"));
        let path = dir.path().join("AC/online");
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            std::fs::write(path, "0\n").expect("unplug");
        });
        let since = Instant::now();
        assert!(
            watch.wait(Duration::from_secs(10)).expect("wait"),
            "a change"
        );
        assert!(since.elapsed() < Duration::from_secs(2));
        writer.join().expect("writer");
        // Nothing more: the timeout, on the boot-time clock.
        let since = Instant::now();
        assert!(!watch.wait(Duration::from_millis(100)).expect("wait"));
        assert!(since.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn a_supply_folder_made_later_is_watched_too() {
        let dir = supply_folder();
        let mut watch = watching(Source::folder(dir.path().to_path_buf()).expect("inotify"));
        let since = Instant::now();
        assert!(!watch.wait(Duration::from_millis(80)).expect("wait"));
        assert!(since.elapsed() >= Duration::from_millis(80));
        std::fs::create_dir(dir.path().join("BAT0")).expect("BAT0");
        assert!(watch.wait(Duration::from_secs(5)).expect("the new folder"));
        std::fs::write(dir.path().join("BAT0/uevent"), "POWER_SUPPLY_CAPACITY=80\n")
            .expect("write");
        assert!(watch.wait(Duration::from_secs(5)).expect("a file in it"));
    }

    /// The real socket: it opens and binds here (the kernel lets anyone listen), and a wait
    /// with nothing about power times out.
    #[test]
    fn the_uevent_socket_opens_unprivileged_and_times_out_quietly() {
        let Ok(source) = Source::uevents() else {
            // A sandbox without netlink: the watcher's fallback covers it.
            return;
        };
        let mut watch = watching(source);
        // A machine may post power uevents meanwhile; only the return is checked.
        let _ = watch.wait(Duration::from_millis(50)).expect("wait");
        assert_eq!(watch.source(), "kernel uevents (power_supply)");
    }
}
