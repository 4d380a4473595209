//! macOS: `TCP_RXT_CONNDROPTIME`, which neither socket2 nor libc define.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use socket2::SockRef;

/// `<netinet/tcp.h>`: "time after which tcp retransmissions will be stopped and the connection
/// will be dropped", in seconds.
const TCP_RXT_CONNDROPTIME: libc::c_int = 0x80;

pub(super) fn drop_after(socket: &SockRef<'_>, lost_after: Duration) -> io::Result<()> {
    let seconds = libc::c_int::try_from(lost_after.as_secs()).unwrap_or(libc::c_int::MAX);
    // SAFETY: a valid socket, a c_int option of the size given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            TCP_RXT_CONNDROPTIME,
            (&seconds as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
