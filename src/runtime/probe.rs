//! Is the head reachable, and if not, why; which address is ours; did the network change.
//!
//! The probe is a TCP connect to the head's GCS port with a short timeout: it costs nothing,
//! needs no root (unlike ICMP) and no Python (unlike the old `ray.init` health check), and it
//! tests the very port the worker needs. When it fails, Tailscale is asked why.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use tokio::net::{lookup_host, TcpStream, UdpSocket};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::model::HeadAddress;
use crate::model::Unreachable;
use crate::tailscale::{self, TailscaleStatus};

/// `tailscale status --json` can hang for a long time after a wake: never wait longer.
const TAILSCALE_TIMEOUT: Duration = Duration::from_secs(3);

/// Probes `head` once. `None` means it answered.
pub async fn probe_head(
    head: &HeadAddress,
    timeout: Duration,
    tailscale: &TailscaleCli,
) -> Option<Unreachable> {
    let outcome = connect(head, timeout).await;
    let unreachable = match outcome {
        Ok(()) => return None,
        Err(why) => why,
    };
    // The TCP error says *that* it failed; Tailscale can say *why* (stopped, logged out, the
    // head's machine offline), which is what the user can act on.
    if let Some(status) = tailscale.status().await {
        if let Some(problem) = status.diagnose(&head.host) {
            return Some(Unreachable::Tailscale { problem });
        }
    }
    Some(unreachable)
}

async fn resolve(head: &HeadAddress) -> Result<SocketAddr, Unreachable> {
    if let Ok(ip) = head.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, head.port));
    }
    match lookup_host((head.host.as_str(), head.port)).await {
        Ok(mut addrs) => addrs.next().ok_or(Unreachable::NameNotResolved),
        Err(_) => Err(Unreachable::NameNotResolved),
    }
}

async fn connect(head: &HeadAddress, timeout: Duration) -> Result<(), Unreachable> {
    let attempt = async {
        let addr = resolve(head).await?;
        TcpStream::connect(addr).await.map(drop).map_err(classify)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(Unreachable::TimedOut),
    }
}

fn classify(error: io::Error) -> Unreachable {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => Unreachable::Refused,
        io::ErrorKind::TimedOut => Unreachable::TimedOut,
        _ => match error.raw_os_error() {
            Some(code) if code == libc::ENETUNREACH || code == libc::EHOSTUNREACH => {
                Unreachable::NoRoute
            }
            Some(code) if code == libc::ENETDOWN || code == libc::EADDRNOTAVAIL => {
                Unreachable::NoRoute
            }
            _ => Unreachable::Other {
                detail: error.to_string(),
            },
        },
    }
}

/// The `tailscale` command line, when this machine has it.
#[derive(Debug, Clone, Default)]
pub struct TailscaleCli {
    path: Option<PathBuf>,
}

impl TailscaleCli {
    /// Finds the CLI: `$BITTRADER_TAILSCALE` (tests), then `PATH`, then the macOS app bundle.
    pub fn discover() -> Self {
        if let Some(path) = std::env::var_os("BITTRADER_TAILSCALE") {
            let path = PathBuf::from(path);
            return TailscaleCli {
                path: path.exists().then_some(path),
            };
        }
        let in_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("tailscale"))
                .find(|candidate| candidate.is_file())
        });
        let app = PathBuf::from("/Applications/Tailscale.app/Contents/MacOS/Tailscale");
        TailscaleCli {
            path: in_path.or_else(|| app.is_file().then_some(app)),
        }
    }

    /// No Tailscale at all.
    pub fn none() -> Self {
        TailscaleCli { path: None }
    }

    /// `tailscale status --json`, parsed; `None` when absent, slow or unreadable.
    pub async fn status(&self) -> Option<TailscaleStatus> {
        let path = self.path.as_ref()?;
        let run = Command::new(path)
            .args(["status", "--json"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(TAILSCALE_TIMEOUT, run)
            .await
            .ok()?
            .ok()?;
        // `tailscale status` exits non-zero when stopped but still prints the JSON.
        tailscale::parse(&String::from_utf8_lossy(&output.stdout)).ok()
    }
}

/// This machine's address for the cluster: the Tailscale IPv4 when Tailscale runs, else the
/// local address the OS would use to reach the head. A UDP "connect" sends no packet.
pub async fn node_ip_for(head: &HeadAddress, tailscale: &TailscaleCli) -> io::Result<IpAddr> {
    if let Some(status) = tailscale.status().await {
        if status.backend_state == tailscale::BackendState::Running {
            if let Some(ip) = status.self_ipv4() {
                return Ok(IpAddr::V4(ip));
            }
        }
    }
    let target = resolve(head).await.map_err(|why| {
        io::Error::new(
            io::ErrorKind::NotFound,
            crate::text::unreachable_words(crate::text::Lang::En, &why),
        )
    })?;
    let bind: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().map_err(io::Error::other)?
    } else {
        "[::]:0".parse().map_err(io::Error::other)?
    };
    let socket = UdpSocket::bind(bind).await?;
    socket.connect(target).await?;
    Ok(socket.local_addr()?.ip())
}

/// Sends `()` whenever an interface address appears or goes away (Wi-Fi change, VPN up or
/// down, wake). Runs until the receiver is dropped; if the OS offers no watcher, sends nothing
/// and the periodic probe still catches every change.
pub fn watch_network(changes: mpsc::UnboundedSender<()>) {
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
            if changes.send(()).is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let why = probe_head(&local(port), Duration::from_secs(1), &TailscaleCli::none()).await;
        assert_eq!(why, None);
    }

    #[tokio::test]
    async fn a_closed_port_is_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let why = probe_head(&local(port), Duration::from_secs(1), &TailscaleCli::none()).await;
        assert_eq!(why, Some(Unreachable::Refused));
    }

    #[tokio::test]
    async fn the_node_ip_is_the_address_that_routes_to_the_head() {
        let ip = node_ip_for(&local(6379), &TailscaleCli::none())
            .await
            .expect("route");
        assert_eq!(ip, "127.0.0.1".parse::<IpAddr>().expect("ip"));
    }
}
