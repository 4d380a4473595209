//! Is the head reachable, and if not, why; which address is ours; did the network change; the
//! connection held to the head's Ray port. The probe is a TCP connect to the head's GCS port:
//! free, no root (unlike ICMP), no Python (unlike `ray.init`), and it tests the very port the
//! worker needs; when it fails, Tailscale's cached answer says why ([`crate::tailscale::cli`]).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use futures::StreamExt;
use tokio::net::{lookup_host, TcpStream, UdpSocket};

use crate::model::{HeadAddress, Unreachable};
use crate::platform::tcp_watch::watch_path;
use crate::supervisor::{Event, HeadConnection};

use super::Events;
use crate::tailscale::{cli::TailscaleCli, BackendState};

/// Probes `head` once: the address its name resolved to, and why it did not answer (`None`:
/// it answered).
pub async fn probe_head(
    head: &HeadAddress,
    timeout: Duration,
    tailscale: &TailscaleCli,
) -> (Option<IpAddr>, Option<Unreachable>) {
    let mut resolved = head.ip();
    let attempt = async {
        let addr = resolve(head).await?;
        resolved = Some(addr.ip());
        // Weighed only when the connect failed: a probe that answers costs nothing more.
        let asked = || is_local_network(addr.ip()) && os_asks_for_local_network();
        TcpStream::connect(addr)
            .await
            .map(drop)
            .map_err(|e| classify(e, asked()))
    };
    let timed_out = Err(Unreachable::TimedOut);
    let answer = tokio::time::timeout(timeout, attempt).await;
    let Err(unreachable) = answer.unwrap_or(timed_out) else {
        return (resolved, None);
    };
    // The TCP error says *that* it failed; Tailscale can say *why* (stopped, logged out, the
    // head's machine offline), which is what the user can act on.
    let status = tailscale.status().await;
    let why = match status.and_then(|status| status.diagnose(&head.host)) {
        Some(problem) => Unreachable::Tailscale { problem },
        None => unreachable,
    };
    (resolved, Some(why))
}

/// The head's address (an IP address is taken as it is, without a look-up).
async fn resolve(head: &HeadAddress) -> Result<SocketAddr, Unreachable> {
    let addrs = lookup_host((head.host.as_str(), head.port)).await;
    addrs
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or(Unreachable::NameNotResolved)
}

/// What a failed connect says; `local_network_asked`: the head is on the local network and the
/// OS asks the user before an app may reach it, and a denial fails at once with EHOSTUNREACH.
fn classify(error: io::Error, local_network_asked: bool) -> Unreachable {
    use libc::{EADDRNOTAVAIL, EHOSTUNREACH, ENETDOWN, ENETUNREACH};
    match (error.kind(), error.raw_os_error()) {
        (io::ErrorKind::ConnectionRefused, _) => Unreachable::Refused,
        (io::ErrorKind::TimedOut, _) => Unreachable::TimedOut,
        (_, Some(EHOSTUNREACH)) if local_network_asked => Unreachable::LocalNetworkDenied,
        (_, Some(ENETUNREACH | EHOSTUNREACH | ENETDOWN | EADDRNOTAVAIL)) => Unreachable::NoRoute,
        _ => Unreachable::Other {
            detail: error.to_string(),
        },
    }
}

/// A private or link-local address (Tailscale's own IPv6 range aside): what macOS calls the
/// local network.
fn is_local_network(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.is_unique_local() && !crate::model::is_tailscale_ip(ip))
                || v6.is_unicast_link_local()
        }
    }
}

/// macOS 15 and later ask the user before an app may reach the local network (the version is
/// read once, without starting a process: this runs on the driver's thread).
fn os_asks_for_local_network() -> bool {
    static ASKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ASKS.get_or_init(|| {
        let version = sysinfo::System::os_version().ok();
        let major_minor = version
            .as_deref()
            .and_then(crate::setup::python::major_minor);
        cfg!(target_os = "macos") && major_minor.is_some_and(|(major, _)| major >= 15)
    })
}

/// This machine's address for the cluster: the Tailscale IPv4 when Tailscale runs, else the
/// local address the OS would use to reach the head. A UDP "connect" sends no packet.
pub async fn node_ip_for(head: &HeadAddress, tailscale: &TailscaleCli) -> io::Result<IpAddr> {
    let status = tailscale.status().await;
    let running = status.filter(|status| status.backend_state == BackendState::Running);
    if let Some(ip) = running.and_then(|status| status.self_ipv4()) {
        return Ok(IpAddr::V4(ip));
    }
    let target = resolve(head).await.map_err(|why| {
        io::Error::new(
            io::ErrorKind::NotFound,
            crate::text::unreachable_words(crate::text::Lang::En, &why),
        )
    })?;
    let any = match target {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind((any, 0)).await?;
    socket.connect(target).await?;
    Ok(socket.local_addr()?.ip())
}

/// Sends [`Event::NetworkChanged`] whenever an interface address appears or goes away (Wi-Fi
/// change, VPN up or down, wake). Runs until the driver is gone; if the OS offers no watcher,
/// sends nothing and the periodic probe still catches every change.
pub fn watch_network(changes: Events) {
    tokio::spawn(async move {
        let Ok(mut watcher) = if_watch::tokio::IfWatcher::new() else {
            return;
        };
        // The first burst lists the addresses that already exist: not a change.
        let settle = tokio::time::Instant::now() + Duration::from_millis(500);
        while let Some(event) = watcher.next().await {
            if event.is_err() || tokio::time::Instant::now() < settle {
                continue;
            }
            if changes.send(Event::NetworkChanged).is_err() {
                return;
            }
        }
    });
}

/// HTTP/2's client connection preface and an empty SETTINGS frame: what a gRPC client sends
/// first, so that the head's GCS (a gRPC server) keeps the connection as a client's.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// How long the held connection is given to open.
const HOLD_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Holds a connection to the head's Ray port as an idle HTTP/2 client would (acknowledging
/// SETTINGS and PINGs, sending nothing else), calls `on_held` once the head spoke HTTP/2, and
/// returns how it ended: `Closed` by the head (a stopping Ray), `Lost` when the kernel's
/// keepalive ([`watch_path`]) had no answer for `lost_after`, `NotHeld` when none could be made
/// or watched, or the peer never spoke HTTP/2 (a service dropping every connection is no Ray
/// restart).
pub async fn hold_connection(
    head: &HeadAddress,
    lost_after: Duration,
    on_held: impl FnOnce(),
) -> HeadConnection {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(addr) = resolve(head).await else {
        return HeadConnection::NotHeld;
    };
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(HOLD_CONNECT_TIMEOUT, TcpStream::connect(addr)).await
    else {
        return HeadConnection::NotHeld;
    };
    // Unwatched, a cut would go unseen: better not held at all (the head is then probed).
    if watch_path(&stream, lost_after).is_err() || stream.write_all(H2_PREFACE).await.is_err() {
        return HeadConnection::NotHeld;
    }
    // Only a server that answered with HTTP/2's SETTINGS is a gRPC server whose close means
    // something.
    let mut on_held = Some(on_held);
    loop {
        let held = on_held.is_none();
        let mut header = [0u8; 9];
        if let Err(e) = stream.read_exact(&mut header).await {
            return ended(held, &e);
        }
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let (kind, flags) = (header[3], header[4]);
        // Frames are at most 16 KiB unless we allowed more, which we did not.
        if length > 1 << 14 {
            return HeadConnection::NotHeld;
        }
        let mut payload = vec![0u8; length];
        if let Err(e) = stream.read_exact(&mut payload).await {
            return ended(held, &e);
        }
        const SETTINGS: u8 = 0x4;
        const PING: u8 = 0x6;
        const GOAWAY: u8 = 0x7;
        const ACK: u8 = 0x1;
        if kind == SETTINGS {
            if let Some(on_held) = on_held.take() {
                on_held();
            }
        }
        if on_held.is_some() {
            // The first frame of an HTTP/2 server is its SETTINGS: this is something else.
            return HeadConnection::NotHeld;
        }
        let reply = match kind {
            SETTINGS if flags & ACK == 0 => vec![0, 0, 0, SETTINGS, ACK, 0, 0, 0, 0],
            PING if flags & ACK == 0 => {
                let mut pong = vec![0, 0, 8, PING, ACK, 0, 0, 0, 0];
                pong.extend_from_slice(&payload);
                pong
            }
            GOAWAY => return goaway(&payload),
            _ => continue,
        };
        if let Err(e) = stream.write_all(&reply).await {
            return ended(true, &e);
        }
    }
}

/// What an error on a held connection means: the head's side closing it (an end of stream, a
/// reset), which replaces the worker, or the path gone silent (a timeout, an unreachable host,
/// a connection this machine aborted), which does not.
fn ended(held: bool, error: &io::Error) -> HeadConnection {
    use io::ErrorKind::*;
    if !held {
        return HeadConnection::NotHeld;
    }
    match error.kind() {
        UnexpectedEof | ConnectionReset | BrokenPipe => HeadConnection::Closed,
        _ => HeadConnection::Lost,
    }
}

/// What a GOAWAY frame means: NO_ERROR (payload bytes 4–8 zero) is Ray's GCS stopping; any
/// other code is gRPC shedding an idle connection (ENHANCE_YOUR_CALM under memory pressure),
/// not a Ray restart: the watch ends and the head is probed.
fn goaway(payload: &[u8]) -> HeadConnection {
    match payload.get(4..8) {
        Some([0, 0, 0, 0]) => HeadConnection::Closed,
        _ => HeadConnection::NotHeld,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_unreachable_on_the_local_network_is_named_where_the_os_asks_first() {
        let unreachable = || io::Error::from_raw_os_error(libc::EHOSTUNREACH);
        assert_eq!(
            classify(unreachable(), true),
            Unreachable::LocalNetworkDenied
        );
        assert_eq!(classify(unreachable(), false), Unreachable::NoRoute);
        let no_net = io::Error::from_raw_os_error(libc::ENETUNREACH);
        assert_eq!(
            classify(no_net, true),
            Unreachable::NoRoute,
            "no route at all"
        );
        let local = [
            "192.168.1.10",
            "10.0.0.2",
            "172.16.5.1",
            "169.254.3.3",
            "fd12::1",
            "fe80::1",
        ];
        for ip in local {
            assert!(is_local_network(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["100.64.0.1", "fd7a:115c:a1e0::1", "8.8.8.8", "127.0.0.1"] {
            assert!(!is_local_network(ip.parse().expect("ip")), "{ip}");
        }
    }

    fn local(port: u16) -> HeadAddress {
        HeadAddress {
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[tokio::test]
    async fn a_listening_head_is_reachable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let answer = probe_head(
            &local(port),
            Duration::from_secs(1),
            &TailscaleCli::default(),
        )
        .await;
        assert_eq!(answer, (Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), None));
    }

    #[tokio::test]
    async fn a_name_is_reported_with_the_address_it_resolved_to() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let head: HeadAddress = format!("localhost:{port}").parse().expect("head");
        let (resolved, _) =
            probe_head(&head, Duration::from_secs(1), &TailscaleCli::default()).await;
        // `localhost` is answered from the hosts file: no query leaves the machine.
        assert!(resolved.is_some_and(|ip| ip.is_loopback()), "{resolved:?}");
    }

    #[tokio::test]
    async fn a_closed_port_is_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let (_, why) = probe_head(
            &local(port),
            Duration::from_secs(1),
            &TailscaleCli::default(),
        )
        .await;
        assert_eq!(why, Some(Unreachable::Refused));
    }

    #[tokio::test]
    async fn the_node_ip_is_the_address_that_routes_to_the_head() {
        let ip = node_ip_for(&local(6379), &TailscaleCli::default())
            .await
            .expect("route");
        assert_eq!(ip, "127.0.0.1".parse::<IpAddr>().expect("ip"));
    }

    #[tokio::test]
    async fn a_held_connection_reports_when_the_head_closes_it_not_before() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let head = local(listener.local_addr().expect("addr").port());
        let (close_tx, close_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut preface = vec![0u8; H2_PREFACE.len()];
            conn.read_exact(&mut preface).await.expect("preface");
            assert_eq!(preface, H2_PREFACE);
            // The server's SETTINGS and a PING: both must be acknowledged.
            conn.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0])
                .await
                .expect("settings");
            conn.write_all(&[0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
                .await
                .expect("ping");
            let mut acks = vec![0u8; 9 + 17];
            conn.read_exact(&mut acks).await.expect("acks");
            assert_eq!(&acks[..9], &[0, 0, 0, 4, 1, 0, 0, 0, 0]);
            assert_eq!(
                &acks[9..],
                &[0, 0, 8, 6, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
            );
            let _ = close_rx.await;
            drop(conn);
        });
        let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
        let watch = tokio::spawn(async move {
            hold_connection(&head, Duration::from_secs(3), move || {
                let _ = held_tx.send(());
            })
            .await
        });
        tokio::time::timeout(Duration::from_secs(5), held_rx)
            .await
            .expect("held in time")
            .expect("said held");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!watch.is_finished(), "held while the head keeps it");
        let _ = close_tx.send(());
        let end = tokio::time::timeout(Duration::from_secs(5), watch)
            .await
            .expect("reported in time")
            .expect("the watch task");
        assert_eq!(end, HeadConnection::Closed);
        server.await.expect("the server's checks");
    }

    #[tokio::test]
    async fn no_connection_is_not_a_closed_one() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let end = hold_connection(&local(port), Duration::from_secs(3), || {
            panic!("never held")
        })
        .await;
        assert_eq!(end, HeadConnection::NotHeld);
    }

    #[tokio::test]
    async fn a_service_that_drops_connections_is_not_a_ray_restart() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let head = local(listener.local_addr().expect("addr").port());
        tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                drop(conn);
            }
        });
        let end = hold_connection(&head, Duration::from_secs(3), || panic!("never held"));
        assert_eq!(end.await, HeadConnection::NotHeld);
    }

    #[test]
    fn an_error_on_a_held_connection_is_a_close_or_a_silent_path() {
        use io::ErrorKind::*;
        for closed in [UnexpectedEof, ConnectionReset, BrokenPipe] {
            assert_eq!(
                ended(true, &closed.into()),
                HeadConnection::Closed,
                "{closed:?}"
            );
        }
        // ECONNABORTED is this machine's own doing, never the head's.
        assert_eq!(ended(true, &ConnectionAborted.into()), HeadConnection::Lost);
        // What the keepalive ends a connection with (ETIMEDOUT), or the soft error it saw.
        let timed_out = io::Error::from_raw_os_error(libc::ETIMEDOUT);
        assert_eq!(ended(true, &timed_out), HeadConnection::Lost);
        let unreachable = io::Error::from_raw_os_error(libc::EHOSTUNREACH);
        assert_eq!(ended(true, &unreachable), HeadConnection::Lost);
        assert_eq!(ended(false, &timed_out), HeadConnection::NotHeld);
    }

    #[test]
    fn only_a_goaway_without_error_is_a_close() {
        // Last stream id, then the error code, then optional debug data.
        assert_eq!(goaway(&[0, 0, 0, 0, 0, 0, 0, 0]), HeadConnection::Closed);
        let calm = [0, 0, 0, 0, 0, 0, 0, 0xb, b'B', b'u', b'f'];
        assert_eq!(goaway(&calm), HeadConnection::NotHeld, "ENHANCE_YOUR_CALM");
        assert_eq!(goaway(&[0, 0]), HeadConnection::NotHeld, "too short");
    }
}
