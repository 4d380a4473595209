//! The local control socket: how the CLI (`status`, `pause`, …) talks to the running instance,
//! one JSON request and one JSON reply per connection. The socket (0600, in our 0700 folder)
//! closes a connection from another user id all the same (`SO_PEERCRED` / `getpeereid`). A
//! client's cost is bounded: a request of at most [`MAX_REQUEST_BYTES`] within
//! [`REQUEST_TIMEOUT`], at most [`MAX_CLIENTS`] at once. A new connection beyond them closes
//! the oldest that has sent nothing yet (silent ones cannot lock others out), or else itself.

use std::collections::VecDeque;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::model::{ContributionSummary, PowerSnapshot, ReplyNote, Status};
use crate::text::{self, Lang};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status,
    Pause,
    /// Stop contributing once the running tasks finish (the head drains the node first).
    PauseAfterTasks,
    Resume,
    Cpus {
        cpus: u32,
    },
    /// Join this head (`host[:port]`).
    Head {
        address: String,
    },
    /// Stop the worker and exit.
    Quit,
    /// The app was opened again: show where this one stands.
    OpenedAgain,
    /// Install Ray in the app's venv (`setup`): this version, else the head's or the newest.
    InstallRay {
        #[serde(default)]
        version: Option<String>,
    },
    /// Look for heads on the tailnet; the status shows the search and what it found.
    FindHeads,
    /// Join a head the first-run search offered, if no head of the user's is set meanwhile
    /// and the last search found it (a late click on its notification); else nothing.
    JoinFoundHead {
        address: String,
    },
}

/// The running instance's state, as the CLI shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// One line for people.
    pub summary: String,
    /// The supervisor's snapshot (`None` before its first step).
    pub status: Option<Status>,
    /// The supervisor's process id.
    pub pid: u32,
    pub worker_pid: Option<u32>,
    /// The address this node uses in the cluster.
    pub node_ip: Option<String>,
    /// Where the state changes are logged.
    pub log_file: String,
    /// Every process this program has started so far (workers, `tailscale`, `ray --version`,
    /// drains…): while idle it must not grow.
    pub processes_spawned: u64,
    /// The power as last read (`None`: not yet), which the tray shows rather than read again.
    pub power: Option<PowerSnapshot>,
    /// What the worker gave today and over the last 7 days (the menu's line).
    pub contribution: Option<ContributionSummary>,
}

/// The reply to a request. Its words are English whatever the daemon's language (scripts read
/// them); the CLI words [`Reply::note`] in its own user's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the request was carried out.
    pub ok: bool,
    /// What went wrong, or what was done, in English.
    pub message: Option<String>,
    /// What was done, for the CLI to word in its own language (`None` for errors, which
    /// `message` says).
    pub note: Option<ReplyNote>,
    /// The state after the request.
    pub report: Option<StatusReport>,
}

#[derive(Debug)]
pub struct Pending {
    pub request: Request,
    pub reply: oneshot::Sender<Reply>,
}

/// The connections a control socket has accepted, so that the last replies (the answer to
/// `quit`) are written before the runtime, and the tasks writing them, go away.
#[derive(Debug)]
pub struct Connections {
    /// One permit for each connection being served.
    slots: Arc<Semaphore>,
}

impl Connections {
    /// Waits, at most `timeout`, until every connection accepted so far has been answered.
    pub async fn finish(self, timeout: Duration) {
        let all = self.slots.acquire_many(MAX_CLIENTS as u32);
        let _ = tokio::time::timeout(timeout, all).await;
    }
}

/// The longest request: the largest real one (a head address) is under 300 bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How many connections are served at once.
pub const MAX_CLIENTS: usize = 16;

/// How long a client has to send its request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds the socket (replacing a stale one: the caller holds the single-instance lock) and
/// forwards each request to `requests`.
pub fn serve(path: &Path, requests: mpsc::Sender<Pending>) -> io::Result<Connections> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    let connections = Connections {
        slots: slots.clone(),
    };
    // The connections that have not sent their request yet, oldest first, by number.
    let silent = Arc::new(Mutex::new(
        VecDeque::<(u64, tokio::task::AbortHandle)>::new(),
    ));
    tokio::spawn(async move {
        for number in 0u64.. {
            let Ok((stream, _)) = listener.accept().await else {
                // A persistent error (out of file descriptors) must not spin a core.
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            if !from_this_user(&stream) {
                continue;
            }
            let slot = match slots.clone().try_acquire_owned() {
                Ok(slot) => slot,
                Err(_) => {
                    // Its task's end gives its slot back. With none silent, dropping the
                    // stream closes it: a flood costs a descriptor for an instant.
                    let Some((_, oldest)) = super::lock(&silent).pop_front() else {
                        continue;
                    };
                    oldest.abort();
                    let Ok(slot) = slots.clone().acquire_owned().await else {
                        continue;
                    };
                    slot
                }
            };
            let (requests, silent_ones) = (requests.clone(), silent.clone());
            let spoke = move || super::lock(&silent_ones).retain(|(n, _)| *n != number);
            // Listed before the task can look for itself in the list.
            let mut listed = super::lock(&silent);
            let task = tokio::spawn(async move {
                let _ = handle(stream, requests, spoke).await;
                drop(slot);
            });
            listed.push_back((number, task.abort_handle()));
        }
    });
    Ok(connections)
}

/// Whether the peer runs as our effective user id. The folder's and the socket's modes already
/// keep others out; this holds even if they were changed.
fn from_this_user(stream: &UnixStream) -> bool {
    stream
        .peer_cred()
        .is_ok_and(|cred| cred.uid() == nix::unistd::geteuid().as_raw())
}

/// Serves one connection; `spoke` once its request is read (or its time to send one is up).
async fn handle(
    stream: UnixStream,
    requests: mpsc::Sender<Pending>,
    spoke: impl FnOnce(),
) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    // One byte more than allowed tells a request at the limit from a longer one; memory stays
    // bounded whatever the client sends.
    let mut reader = BufReader::new(read).take(MAX_REQUEST_BYTES as u64 + 1);
    let read_line = reader.read_until(b'\n', &mut line);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, read_line).await;
    spoke();
    read.map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no request"))??;
    let request = serde_json::from_slice::<Request>(line.trim_ascii());
    let reply = match request {
        _ if line.len() > MAX_REQUEST_BYTES => Reply::refused(&format!(
            "a request is at most {} KiB: refused",
            MAX_REQUEST_BYTES / 1024
        )),
        Ok(request) => {
            let (reply, answer) = oneshot::channel();
            // Without a driver the request is dropped, and with it the answer's sender.
            let _ = requests.send(Pending { request, reply }).await;
            let gone = |_| Reply::refused("the supervisor is shutting down");
            answer.await.unwrap_or_else(gone)
        }
        Err(e) => Reply::refused(&format!("not a request this version understands: {e}")),
    };
    let mut text = serde_json::to_string(&reply).map_err(io::Error::other)?;
    text.push('\n');
    write.write_all(text.as_bytes()).await?;
    write.shutdown().await
}

impl Reply {
    /// Carried out; what of it the CLI words (`note`, also in English for scripts), and the
    /// state after it.
    pub fn done(note: Option<ReplyNote>, report: StatusReport) -> Reply {
        Reply {
            ok: true,
            message: note
                .as_ref()
                .map(|note| text::cli::reply_note(Lang::En, note)),
            note,
            report: Some(report),
        }
    }

    /// Refused, and why.
    pub fn refused(message: &str) -> Reply {
        Reply {
            ok: false,
            message: Some(message.to_string()),
            note: None,
            report: None,
        }
    }
}

/// Why the CLI could not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens: no instance runs.
    #[error("BitTrader Worker is not running (no control socket at {path}). Start it with `bittrader-worker` or `bittrader-worker daemon`.")]
    NotRunning { path: String },
    #[error("could not talk to the running BitTrader Worker: {0}")]
    Io(#[from] io::Error),
    #[error("the running BitTrader Worker gave an answer this version does not understand: {0}")]
    Protocol(#[from] serde_json::Error),
}

/// How long an answer to anything but `quit` may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// What the answer to `quit` may take beyond the supervisor's deadline: writing it out.
const REPLY_MARGIN: Duration = Duration::from_secs(2);

/// Sends one request to the running instance (blocking; for the CLI).
pub fn request(path: &Path, request: &Request) -> Result<Reply, ClientError> {
    use std::io::{BufRead, Write};
    let connected = std::os::unix::net::UnixStream::connect(path);
    let mut stream = connected.map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ClientError::NotRunning {
            path: path.display().to_string(),
        },
        _ => e.into(),
    })?;
    // A quit waits for the worker to stop; the supervisor finishes within its quit deadline,
    // whatever the configured grace.
    let timeout = match request {
        Request::Quit => crate::supervisor::longest_quit() + REPLY_MARGIN,
        _ => REPLY_TIMEOUT,
    };
    stream.set_read_timeout(Some(timeout))?;
    let mut text = serde_json::to_string(request)?;
    text.push('\n');
    stream.write_all(text.as_bytes())?;
    let mut line = String::new();
    io::BufReader::new(stream).read_line(&mut line)?;
    Ok(serde_json::from_str(line.trim())?)
}
