//! Linux: `TCP_USER_TIMEOUT`, which socket2 sets.

use std::io;
use std::time::Duration;

use socket2::SockRef;

pub(super) fn drop_after(socket: &SockRef<'_>, lost_after: Duration) -> io::Result<()> {
    socket.set_tcp_user_timeout(Some(lost_after))
}
