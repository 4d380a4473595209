//! The `tailscale` command line: where it is, its `status --json` answer (cached), what it says
//! of a head at a Tailscale address (`supervisor::tailnet` decides), and the search for heads.

use std::ffi::OsStr;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::process::Command;

use super::TailscaleStatus;
use crate::model::{FoundHead, HeadAddress, TailnetFinds, TailscaleCheck, TailscaleProblem};
use crate::platform::command::output_within;
use crate::supervisor::settings::TAILSCALE_ANSWER_MAX_AGE;

/// `tailscale status --json` can hang for a long time after a wake: never wait longer.
const TAILSCALE_TIMEOUT: Duration = Duration::from_secs(3);

/// What Tailscale says of `head` (its name `resolved` to that address) when reached through
/// Tailscale, at ages `supervisor::tailnet` sets; the address connected to must be a peer.
pub async fn tailscale_check(
    head: &HeadAddress,
    resolved: Option<IpAddr>,
    tailscale: &TailscaleCli,
    max_age: Duration,
    head_answered: bool,
) -> Option<TailscaleCheck> {
    use crate::supervisor::tailnet::{answer_max_age_after_connect, refresh_a_problem};
    if !head.through_tailscale(resolved) {
        return None;
    }
    let host = resolved.map_or_else(|| head.host.clone(), |ip| ip.to_string());
    let age = answer_max_age_after_connect(max_age, head_answered);
    let check = vouch(
        tailscale.installed(),
        tailscale.status_within(age).await.as_ref(),
        &host,
    );
    if check == TailscaleCheck::OnlinePeer || !refresh_a_problem(age) {
        return Some(check);
    }
    let recent = tailscale.status_within(TAILSCALE_ANSWER_MAX_AGE).await;
    Some(vouch(tailscale.installed(), recent.as_ref(), &host))
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
            peer: peer.name_or(host),
        }),
        Some(_) => TailscaleCheck::OnlinePeer,
    }
}

/// Where the `tailscale` CLI is looked for before `PATH` (a GUI app's has none of them): the app's
/// own binary first, as the App Store variant has no other CLI.
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
    /// `None`: it failed, hung or printed nothing readable (remembered too: a wedged CLI).
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

    /// Whether this machine has the CLI.
    pub fn installed(&self) -> bool {
        self.path.is_some()
    }

    /// `tailscale status --json`, parsed (`None`: absent, slow or unreadable), or the last
    /// answer while younger than [`TAILSCALE_ANSWER_MAX_AGE`].
    pub async fn status(&self) -> Option<TailscaleStatus> {
        self.status_within(TAILSCALE_ANSWER_MAX_AGE).await
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
    super::parse(&String::from_utf8_lossy(&output.stdout)).ok()
}

/// The port the tailnet search knocks on: Ray's (6379), or `$BITTRADER_FIND_HEADS_PORT` (tests
/// listen on an ephemeral port rather than on 6379, which may be taken).
pub fn find_heads_port() -> u16 {
    std::env::var("BITTRADER_FIND_HEADS_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(crate::model::DEFAULT_HEAD_PORT)
}

/// The heads on the tailnet: the online peers whose `port` accepts a TCP connection (closed
/// unspoken to), all knocked on at once; `Err`: why Tailscale could not list the tailnet.
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
        let connect = TcpStream::connect(SocketAddr::new(ip, port));
        let answer = tokio::time::timeout(FIND_HEADS_CONNECT_TIMEOUT, connect).await;
        let host = ip.to_string();
        let address = HeadAddress { host, port };
        matches!(answer, Ok(Ok(_))).then_some(FoundHead { name, address })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Unreachable;
    use crate::runtime::probe::{node_ip_for, probe_head};

    /// A head on this machine, at `port`.
    fn local(port: u16) -> HeadAddress {
        format!("127.0.0.1:{port}").parse().expect("a head address")
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
            let (_, why) = probe_head(&local(port), Duration::from_secs(1), &cli.clone()).await;
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
        assert_eq!(first.backend_state, super::super::BackendState::Stopped);
        assert!(cli.status_within(max_age).await.is_some());
        assert_eq!(calls(dir.path()).len(), 1);
        tokio::time::sleep(max_age + Duration::from_millis(50)).await;
        assert!(cli.status_within(max_age).await.is_some());
        assert_eq!(calls(dir.path()).len(), 2);
    }

    fn status_of(json: &str) -> TailscaleStatus {
        super::super::parse(json).expect("parsed")
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
            tailscale_check(&local(6379), lo(), &cli, Duration::ZERO, true).await,
            None
        );
        assert!(calls(dir.path()).is_empty());
        let head: HeadAddress = "100.64.0.1".parse().expect("head");
        let stopped = Some(TailscaleCheck::Problem {
            problem: TailscaleProblem::Stopped,
        });
        assert_eq!(
            tailscale_check(&head, head.ip(), &cli, Duration::ZERO, true).await,
            stopped
        );
        assert_eq!(calls(dir.path()).len(), 1, "a problem is not asked again");
        // A name is checked by the address it resolved to.
        let name: HeadAddress = "desktop".parse().expect("head");
        let at = head.ip();
        let check = tailscale_check(&name, at, &cli, TAILSCALE_ANSWER_MAX_AGE, true).await;
        assert_eq!(check, stopped);
        assert_eq!(
            tailscale_check(&name, lo(), &cli, Duration::ZERO, true).await,
            None
        );
    }

    fn lo() -> Option<IpAddr> {
        Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
    }
}
