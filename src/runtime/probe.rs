//! Is the head reachable, and if not, why; which address is ours; did the network change.
//!
//! The probe is a TCP connect to the head's GCS port with a short timeout: it costs nothing,
//! needs no root (unlike ICMP) and no Python (unlike the old `ray.init` health check), and it
//! tests the very port the worker needs. When it fails, Tailscale is asked why, through a
//! cached answer: an idle app that waits for a head that is down starts one `tailscale`
//! process per [`TAILSCALE_ANSWER_MAX_AGE`](crate::supervisor::settings::TAILSCALE_ANSWER_MAX_AGE),
//! not one per probe.
//!
//! For a head at a Tailscale address the probe also asks Tailscale whether it vouches for the
//! head ([`tailscale_check`]): the supervisor joins such a head only while Tailscale is Running
//! and the head an online peer (`supervisor::tailnet`), and says how old that word may be: 5 s
//! before a start, none after a network change, 10 minutes while a worker runs.

use std::ffi::OsStr;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::net::{lookup_host, TcpStream, UdpSocket};
use tokio::process::Command;

use crate::model::{
    FoundHead, HeadAddress, TailnetFinds, TailscaleCheck, TailscaleProblem, Unreachable,
};
use crate::platform::command::output_within;
use crate::supervisor::{Event, HeadConnection};

use super::Events;
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

/// What Tailscale says of `head`, when its address is a Tailscale one (`None` otherwise),
/// from an answer at most `max_age` old for a head that answered (`head_answered`), which it
/// may vouch for; the ages are the supervisor's (`supervisor::tailnet`).
pub async fn tailscale_check(
    head: &HeadAddress,
    tailscale: &TailscaleCli,
    max_age: Duration,
    head_answered: bool,
) -> Option<TailscaleCheck> {
    use crate::supervisor::settings::TAILSCALE_ANSWER_MAX_AGE;
    use crate::supervisor::tailnet::{answer_max_age_after_connect, refresh_a_problem};
    if !head.is_tailscale() {
        return None;
    }
    let age = answer_max_age_after_connect(max_age, head_answered);
    let check = vouch(
        tailscale.installed(),
        tailscale.status_within(age).await.as_ref(),
        &head.host,
    );
    if check == TailscaleCheck::OnlinePeer || !refresh_a_problem(age) {
        return Some(check);
    }
    let recent = tailscale.status_within(TAILSCALE_ANSWER_MAX_AGE).await;
    Some(vouch(tailscale.installed(), recent.as_ref(), &head.host))
}

/// Tailscale's word on the head `host`, from one `tailscale status` answer.
fn vouch(installed: bool, status: Option<&TailscaleStatus>, host: &str) -> TailscaleCheck {
    let problem = |problem| TailscaleCheck::Problem { problem };
    if !installed {
        return problem(TailscaleProblem::NotInstalled);
    }
    let Some(status) = status else {
        return problem(TailscaleProblem::NotAnswering);
    };
    if let Some(not_running) = status.backend_state.problem() {
        return problem(not_running);
    }
    // A head on this very machine, at its own Tailscale address.
    if host
        .parse::<IpAddr>()
        .is_ok_and(|ip| status.self_ips.contains(&ip))
    {
        return TailscaleCheck::OnlinePeer;
    }
    match status.peer_for_head(host) {
        None => problem(TailscaleProblem::HeadNotInTailnet),
        Some(peer) if !peer.online => problem(TailscaleProblem::HeadOffline {
            peer: match peer.display_name() {
                "" => host.to_string(),
                name => name.to_string(),
            },
        }),
        Some(_) => TailscaleCheck::OnlinePeer,
    }
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

/// Where the `tailscale` CLI is looked for after `$BITTRADER_TAILSCALE`, before `PATH`. A
/// GUI app's `PATH` is `/usr/bin:/bin:/usr/sbin:/sbin`, which has none of them. The app's own
/// binary comes first: it always talks to the Tailscale that runs (the App Store and
/// standalone variants have no other CLI); `/usr/local/bin/tailscale` is the link the
/// standalone app installs, `/opt/homebrew/bin/tailscale` the open-source formula.
pub const TAILSCALE_PLACES: [&str; 3] = [
    "/Applications/Tailscale.app/Contents/MacOS/Tailscale",
    "/usr/local/bin/tailscale",
    "/opt/homebrew/bin/tailscale",
];

/// Picks the CLI: `chosen` (`$BITTRADER_TAILSCALE`, for tests) when set, used only if it
/// exists; else the first of [`TAILSCALE_PLACES`], then of `PATH`'s folders, that `exists`.
pub fn find_tailscale(
    chosen: Option<&OsStr>,
    path_var: Option<&OsStr>,
    exists: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if let Some(chosen) = chosen {
        let path = PathBuf::from(chosen);
        return exists(&path).then_some(path);
    }
    let on_path = path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("tailscale"));
    TAILSCALE_PLACES
        .iter()
        .map(PathBuf::from)
        .chain(on_path)
        .find(|candidate| exists(candidate))
}

/// The `tailscale` command line, when this machine has it, and its last answer. Clones share
/// the answer, so every probe and worker start reads one cache.
#[derive(Debug, Clone, Default)]
pub struct TailscaleCli {
    path: Option<PathBuf>,
    /// The last `status --json` answer and when it was asked. An async mutex, held while the
    /// CLI runs, so that two callers at once start one process, not two.
    last: Arc<tokio::sync::Mutex<Option<TailscaleAnswer>>>,
}

/// One run of `tailscale status --json`.
#[derive(Debug, Clone)]
struct TailscaleAnswer {
    /// Tokio's clock, so that paused-time tests can age it.
    asked_at: tokio::time::Instant,
    /// `None`: it failed, hung or printed nothing readable; that is remembered too, so a
    /// wedged CLI is not asked again every second.
    status: Option<TailscaleStatus>,
}

impl TailscaleCli {
    /// Finds the CLI (see [`find_tailscale`]).
    pub fn discover() -> Self {
        let chosen = std::env::var_os("BITTRADER_TAILSCALE");
        let path_var = std::env::var_os("PATH");
        TailscaleCli::at(find_tailscale(
            chosen.as_deref(),
            path_var.as_deref(),
            Path::is_file,
        ))
    }

    /// The CLI at `path` (`None`: no Tailscale).
    pub fn at(path: Option<PathBuf>) -> Self {
        TailscaleCli {
            path,
            last: Arc::default(),
        }
    }

    /// No Tailscale at all.
    pub fn none() -> Self {
        TailscaleCli::at(None)
    }

    /// Whether this machine has the CLI.
    pub fn installed(&self) -> bool {
        self.path.is_some()
    }

    /// `tailscale status --json`, parsed; `None` when absent, slow or unreadable. Answers
    /// from the last run while it is younger than
    /// [`TAILSCALE_ANSWER_MAX_AGE`](crate::supervisor::settings::TAILSCALE_ANSWER_MAX_AGE).
    pub async fn status(&self) -> Option<TailscaleStatus> {
        self.status_within(crate::supervisor::settings::TAILSCALE_ANSWER_MAX_AGE)
            .await
    }

    /// [`TailscaleCli::status`] with the answer's age limit given.
    pub async fn status_within(&self, max_age: Duration) -> Option<TailscaleStatus> {
        let path = self.path.as_ref()?;
        let mut last = self.last.lock().await;
        if let Some(answer) = last.as_ref() {
            if answer.asked_at.elapsed() < max_age {
                return answer.status.clone();
            }
        }
        let status = run_status(path).await;
        *last = Some(TailscaleAnswer {
            asked_at: tokio::time::Instant::now(),
            status: status.clone(),
        });
        status
    }
}

/// Runs `tailscale status --json` once.
async fn run_status(path: &Path) -> Option<TailscaleStatus> {
    let mut command = Command::new(path);
    command
        .args(["status", "--json"])
        // The app bundle's binary is the GUI unless told otherwise: run from a LaunchAgent
        // it would open a second Tailscale app instead of answering.
        .env("TAILSCALE_BE_CLI", "1")
        .stdin(std::process::Stdio::null());
    let output = output_within(&mut command, TAILSCALE_TIMEOUT).await.ok()?;
    // `tailscale status` exits non-zero when stopped but still prints the JSON.
    tailscale::parse(&String::from_utf8_lossy(&output.stdout)).ok()
}

/// The port the tailnet search knocks on: Ray's (6379), or `$BITTRADER_FIND_HEADS_PORT` (tests
/// listen on an ephemeral port rather than on 6379, which may be taken).
pub fn find_heads_port() -> u16 {
    std::env::var("BITTRADER_FIND_HEADS_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(crate::model::DEFAULT_HEAD_PORT)
}

/// The heads on the tailnet: the online peers of `tailscale status` (at most
/// [`FIND_HEADS_MAX_PEERS`](crate::supervisor::settings::FIND_HEADS_MAX_PEERS)) whose `port`
/// accepts a TCP connection within
/// [`FIND_HEADS_CONNECT_TIMEOUT`](crate::supervisor::settings::FIND_HEADS_CONNECT_TIMEOUT), all
/// knocked on at once, so the whole search takes about that long. The connection is closed at
/// once; nothing is sent. `Err` says why Tailscale could not list the tailnet.
pub async fn find_heads(
    tailscale: &TailscaleCli,
    port: u16,
) -> Result<TailnetFinds, TailscaleProblem> {
    use crate::supervisor::settings::{
        FIND_HEADS_CONNECT_TIMEOUT, FIND_HEADS_MAX_PEERS, FIND_HEADS_TAILSCALE_MAX_AGE,
    };
    if !tailscale.installed() {
        return Err(TailscaleProblem::NotInstalled);
    }
    let status = tailscale
        .status_within(FIND_HEADS_TAILSCALE_MAX_AGE)
        .await
        .ok_or(TailscaleProblem::NotAnswering)?;
    if let Some(problem) = status.backend_state.problem() {
        return Err(problem);
    }
    let candidates = status.head_candidates(FIND_HEADS_MAX_PEERS);
    let asked = candidates.asked.len();
    let knocks = candidates.asked.into_iter().map(|(name, ip)| async move {
        let answered = matches!(
            tokio::time::timeout(
                FIND_HEADS_CONNECT_TIMEOUT,
                TcpStream::connect(SocketAddr::new(ip, port)),
            )
            .await,
            Ok(Ok(_))
        );
        answered.then(|| FoundHead {
            name,
            address: HeadAddress {
                host: ip.to_string(),
                port,
            },
        })
    });
    let heads = futures::future::join_all(knocks)
        .await
        .into_iter()
        .flatten()
        .collect();
    Ok(TailnetFinds {
        heads,
        asked,
        machines: candidates.machines,
    })
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

/// Opens a connection to the head's Ray port, keeps it open as an idle HTTP/2 client would
/// (answering the server's SETTINGS and PINGs), calls `on_held` once the head has spoken
/// HTTP/2 on it, and returns how it ended:
/// - [`HeadConnection::Closed`]: the head's side closed it (a GOAWAY saying NO_ERROR, an end
///   of stream or a reset), which is what a stopping Ray does;
/// - [`HeadConnection::Lost`]: the path went silent. The kernel's keepalive (a probe packet
///   each second the connection is idle, see [`watch_path`]) found no answer for `lost_after`,
///   and ended the connection with a timeout (or an unreachable host);
/// - [`HeadConnection::NotHeld`]: no connection could be made, the OS would not watch it, or
///   what answered never spoke HTTP/2 (not a Ray GCS: a service that drops every connection
///   must not look like a Ray restart).
///
/// It sends nothing but protocol acknowledgements, and wakes this process only for what the
/// head sends (nothing, while Ray's GCS has no call on it) and for the end.
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
/// reset, a write refused after one), or the path gone silent (the keepalive's timeout, an
/// unreachable host or network, a connection this machine itself aborted). Only a close counts
/// as Ray stopping at the head, which replaces the worker: anything this side caused is not.
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

/// What a GOAWAY frame means: with NO_ERROR (its error code, payload bytes 4–8, is 0) the
/// server is shutting down, which is what Ray's GCS does when it stops; any other code is
/// gRPC shedding an idle connection (chttp2 sends ENHANCE_YOUR_CALM to connections without
/// streams under memory pressure), not a Ray restart: the watch ends, and the head is probed.
fn goaway(payload: &[u8]) -> HeadConnection {
    match payload.get(4..8) {
        Some([0, 0, 0, 0]) => HeadConnection::Closed,
        _ => HeadConnection::NotHeld,
    }
}

/// Between keepalive probes while the connection is idle, and before the first: the OS's
/// granularity (whole seconds on both Linux and macOS).
const KEEPALIVE_EVERY: Duration = Duration::from_secs(1);

/// Has the OS watch the path of `stream`: a keepalive probe after each second it is idle and
/// each second after that; the connection ends with a timeout once `lost_after` passed
/// without an answer, whether it was idle (keepalive) or had data unacknowledged (Linux's
/// `TCP_USER_TIMEOUT`, macOS's `TCP_RXT_CONNDROPTIME`; otherwise retransmissions would go on
/// for many minutes).
pub fn watch_path(stream: &TcpStream, lost_after: Duration) -> io::Result<()> {
    let socket = socket2::SockRef::from(stream);
    let probes = lost_after
        .as_secs()
        .saturating_sub(KEEPALIVE_EVERY.as_secs())
        .max(1);
    socket.set_tcp_keepalive(
        &socket2::TcpKeepalive::new()
            .with_time(KEEPALIVE_EVERY)
            .with_interval(KEEPALIVE_EVERY)
            .with_retries(u32::try_from(probes).unwrap_or(u32::MAX)),
    )?;
    #[cfg(target_os = "linux")]
    socket.set_tcp_user_timeout(Some(lost_after))?;
    #[cfg(target_os = "macos")]
    {
        use std::os::fd::AsRawFd;
        /// `<netinet/tcp.h>`: "time after which tcp retransmissions will be stopped and the
        /// connection will be dropped", in seconds; the `libc` crate does not define it.
        const TCP_RXT_CONNDROPTIME: libc::c_int = 0x80;
        let seconds = libc::c_int::try_from(lost_after.as_secs()).unwrap_or(libc::c_int::MAX);
        // SAFETY: a valid socket, a c_int option of the size given.
        let rc = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                TCP_RXT_CONNDROPTIME,
                (&seconds as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
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

    #[test]
    fn tailscale_is_found_in_the_well_known_places_before_path() {
        let app = Path::new(TAILSCALE_PLACES[0]);
        let brew = Path::new("/opt/homebrew/bin/tailscale");
        let in_path = Path::new("/usr/bin/tailscale");
        let path_var = OsStr::new("/usr/bin:/bin");
        let only = |present: Vec<&'static Path>| move |p: &Path| present.contains(&p);
        assert_eq!(
            find_tailscale(None, Some(path_var), only(vec![app, brew, in_path])).as_deref(),
            Some(app)
        );
        assert_eq!(
            find_tailscale(None, Some(path_var), only(vec![brew, in_path])).as_deref(),
            Some(brew),
            "a GUI app's PATH has no Homebrew"
        );
        assert_eq!(
            find_tailscale(None, Some(path_var), only(vec![in_path])).as_deref(),
            Some(in_path)
        );
        assert_eq!(find_tailscale(None, None, only(vec![])), None);
        // The test override wins, and a missing one means no Tailscale.
        let fake = OsStr::new("/tmp/fake/tailscale");
        assert_eq!(
            find_tailscale(Some(fake), Some(path_var), only(vec![app, Path::new(fake)])).as_deref(),
            Some(Path::new(fake))
        );
        assert_eq!(find_tailscale(Some(fake), None, only(vec![app])), None);
    }

    /// A `tailscale` that appends one line per run (with `$TAILSCALE_BE_CLI`) to `calls` and
    /// prints the recorded "Stopped" status.
    fn counting_tailscale(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let json = dir.join("status.json");
        std::fs::write(
            &json,
            include_str!("../../tests/fixtures/tailscale_status_stopped_rockstor_SHORTENED.json"),
        )
        .expect("json");
        let script = dir.join("tailscale");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"be_cli=${{TAILSCALE_BE_CLI:-unset}}\" >> '{}'\ncat '{}'\n",
                dir.join("calls").display(),
                json.display()
            ),
        )
        .expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        script
    }

    fn calls(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[tokio::test]
    async fn many_failed_probes_ask_tailscale_once_as_a_cli() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cli = TailscaleCli::at(Some(counting_tailscale(dir.path())));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        for _ in 0..20 {
            let why = probe_head(&local(port), Duration::from_secs(1), &cli.clone()).await;
            assert_eq!(
                why,
                Some(Unreachable::Refused),
                "a LAN head needs no Tailscale"
            );
        }
        assert_eq!(calls(dir.path()), ["be_cli=1"], "one run, as a CLI");
        // The cached answer also serves the worker's node IP lookup.
        let _ = node_ip_for(&local(port), &cli).await;
        assert_eq!(calls(dir.path()).len(), 1);
    }

    #[tokio::test]
    async fn an_old_answer_is_asked_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cli = TailscaleCli::at(Some(counting_tailscale(dir.path())));
        let max_age = Duration::from_millis(300);
        let first = cli.status_within(max_age).await.expect("parsed");
        assert_eq!(first.backend_state, tailscale::BackendState::Stopped);
        assert!(cli.status_within(max_age).await.is_some());
        assert_eq!(calls(dir.path()).len(), 1);
        tokio::time::sleep(max_age + Duration::from_millis(50)).await;
        assert!(cli.status_within(max_age).await.is_some());
        assert_eq!(calls(dir.path()).len(), 2);
    }

    fn status_of(json: &str) -> TailscaleStatus {
        tailscale::parse(json).expect("parsed")
    }

    const RUNNING_WITH_HEAD: &str = r#"{"BackendState": "Running",
        "Self": {"TailscaleIPs": ["100.64.0.2"]},
        "Peer": {
          "nodekey:a": {"HostName": "desktop", "DNSName": "desktop.tail1234.ts.net.",
                        "TailscaleIPs": ["100.64.0.1"], "Online": true},
          "nodekey:b": {"HostName": "nas", "DNSName": "nas.tail1234.ts.net.",
                        "TailscaleIPs": ["100.64.0.7"], "Online": false}}}"#;

    #[test]
    fn tailscale_vouches_only_for_an_online_peer_while_running() {
        let running = status_of(RUNNING_WITH_HEAD);
        let problem = |problem| TailscaleCheck::Problem { problem };
        assert_eq!(
            vouch(true, Some(&running), "100.64.0.1"),
            TailscaleCheck::OnlinePeer
        );
        assert_eq!(
            vouch(true, Some(&running), "desktop.tail1234.ts.net"),
            TailscaleCheck::OnlinePeer
        );
        assert_eq!(
            vouch(true, Some(&running), "100.64.0.2"),
            TailscaleCheck::OnlinePeer,
            "this machine itself"
        );
        assert_eq!(
            vouch(true, Some(&running), "100.64.0.9"),
            problem(TailscaleProblem::HeadNotInTailnet)
        );
        assert_eq!(
            vouch(true, Some(&running), "100.64.0.7"),
            problem(TailscaleProblem::HeadOffline { peer: "nas".into() })
        );
        let stopped = status_of(include_str!(
            "../../tests/fixtures/tailscale_status_stopped_rockstor_SHORTENED.json"
        ));
        assert_eq!(
            vouch(true, Some(&stopped), "100.64.0.1"),
            problem(TailscaleProblem::Stopped)
        );
        let login = status_of(include_str!(
            "../../tests/fixtures/tailscale_status_needslogin_rockstor_SHORTENED.json"
        ));
        assert_eq!(
            vouch(true, Some(&login), "100.64.0.1"),
            problem(TailscaleProblem::NeedsLogin)
        );
        assert_eq!(
            vouch(true, None, "100.64.0.1"),
            problem(TailscaleProblem::NotAnswering)
        );
        assert_eq!(
            vouch(false, None, "100.64.0.1"),
            problem(TailscaleProblem::NotInstalled)
        );
    }

    #[tokio::test]
    async fn a_lan_head_is_not_checked_with_tailscale() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cli = TailscaleCli::at(Some(counting_tailscale(dir.path())));
        assert_eq!(
            tailscale_check(&local(6379), &cli, Duration::ZERO, true).await,
            None
        );
        assert!(calls(dir.path()).is_empty());
        let head: HeadAddress = "100.64.0.1".parse().expect("head");
        assert_eq!(
            tailscale_check(&head, &cli, Duration::ZERO, true).await,
            Some(TailscaleCheck::Problem {
                problem: TailscaleProblem::Stopped
            })
        );
        assert_eq!(calls(dir.path()).len(), 1, "a problem is not asked again");
    }

    #[tokio::test]
    async fn the_node_ip_is_the_address_that_routes_to_the_head() {
        let ip = node_ip_for(&local(6379), &TailscaleCli::none())
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

    #[tokio::test]
    async fn the_os_watches_a_held_connection_for_lost_after() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let stream = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        watch_path(&stream, Duration::from_secs(3)).expect("options set");
        let socket = socket2::SockRef::from(&stream);
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
