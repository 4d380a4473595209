//! Has the OS watch a held TCP connection's path: a keepalive probe each idle second, and the
//! connection dropped after `lost_after` without an answer, idle or not (retransmissions would
//! go on for minutes): Linux's `TCP_USER_TIMEOUT`, macOS's `TCP_RXT_CONNDROPTIME`.

use std::io;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::net::TcpStream;

#[cfg_attr(target_os = "linux", path = "linux.rs")]
#[cfg_attr(target_os = "macos", path = "macos.rs")]
mod os;

/// Between keepalive probes while the connection is idle, and before the first: the OS's
/// granularity (whole seconds on both Linux and macOS).
const KEEPALIVE_EVERY: Duration = Duration::from_secs(1);

/// Reports `stream` lost (an error on its next read) once `lost_after` passed without an answer.
pub fn watch_path(stream: &TcpStream, lost_after: Duration) -> io::Result<()> {
    let socket = SockRef::from(stream);
    let probes = lost_after
        .as_secs()
        .saturating_sub(KEEPALIVE_EVERY.as_secs());
    socket.set_tcp_keepalive(
        &TcpKeepalive::new()
            .with_time(KEEPALIVE_EVERY)
            .with_interval(KEEPALIVE_EVERY)
            .with_retries(u32::try_from(probes.max(1)).unwrap_or(u32::MAX)),
    )?;
    os::drop_after(&socket, lost_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_os_watches_a_held_connection_for_lost_after() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let stream = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        watch_path(&stream, Duration::from_secs(3)).expect("options set");
        let socket = SockRef::from(&stream);
        assert!(socket.keepalive().expect("SO_KEEPALIVE"));
        assert_eq!(socket.tcp_keepalive_time().expect("idle"), KEEPALIVE_EVERY);
        assert_eq!(
            socket.tcp_keepalive_interval().expect("interval"),
            KEEPALIVE_EVERY
        );
        // 1 s idle, then two unanswered probes a second apart: 3 s.
        assert_eq!(socket.tcp_keepalive_retries().expect("count"), 2);
        #[cfg(target_os = "linux")]
        assert_eq!(
            socket.tcp_user_timeout().expect("user timeout"),
            Some(Duration::from_secs(3))
        );
    }
}
