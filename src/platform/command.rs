//! Starting processes, in one place so that each is counted ([`processes_spawned`], in `status
//! --json`: an idle app must start none): [`run_with_timeout`] and, on tokio, [`output_within`]
//! with a deadline; [`CountedSpawn`] for a long-lived child, and [`SharedChild`] for one whose
//! end others must notice.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

static PROCESSES_SPAWNED: AtomicU64 = AtomicU64::new(0);

/// How many processes this program has started so far.
pub fn processes_spawned() -> u64 {
    PROCESSES_SPAWNED.load(Ordering::Relaxed)
}

/// `spawn()`, counted: every spawn of the app goes through it.
pub trait CountedSpawn {
    type Child;
    fn spawn_counted(&mut self) -> std::io::Result<Self::Child>;
}

impl CountedSpawn for Command {
    type Child = std::process::Child;
    fn spawn_counted(&mut self) -> std::io::Result<Self::Child> {
        let child = self.spawn()?;
        PROCESSES_SPAWNED.fetch_add(1, Ordering::Relaxed);
        Ok(child)
    }
}

impl CountedSpawn for tokio::process::Command {
    type Child = tokio::process::Child;
    fn spawn_counted(&mut self) -> std::io::Result<Self::Child> {
        let child = self.spawn()?;
        PROCESSES_SPAWNED.fetch_add(1, Ordering::Relaxed);
        Ok(child)
    }
}

/// Runs `command` with its output piped, killed once `timeout` passes; a non-zero exit is an `Ok`.
pub async fn output_within(
    command: &mut tokio::process::Command,
    timeout: Duration,
) -> Result<std::process::Output, CommandError> {
    let program = command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned();
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn_counted()
        .map_err(|source| CommandError::Spawn {
            program: program.clone(),
            source,
        })?;
    // On the deadline the future, and with it the child, is dropped: `kill_on_drop` ends it.
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(source)) => Err(CommandError::Wait { program, source }),
        Err(_) => Err(CommandError::TimedOut { program, timeout }),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    /// Invalid UTF-8 replaced; at most [`OUTPUT_LIMIT`] bytes.
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("could not run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{program}` did not answer within {timeout:?} and was stopped")]
    TimedOut { program: String, timeout: Duration },
    #[error("waiting for `{program}` failed: {source}")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// How much of each stream is kept; the rest is read and dropped so a pipe never fills.
pub const OUTPUT_LIMIT: usize = 1 << 20;

/// A long-lived child that one owner stops and others ask whether it still runs. Its end is
/// read from our own `wait`, never from its pid: a child is ours until reaped, and once reaped
/// its status is kept, so a process that later gets the same pid is never taken for it.
#[derive(Debug, Clone)]
pub struct SharedChild(Arc<Mutex<Child>>);

impl SharedChild {
    pub fn new(child: Child) -> SharedChild {
        SharedChild(Arc::new(Mutex::new(child)))
    }

    fn child(&self) -> std::sync::MutexGuard<'_, Child> {
        // Nothing panics while holding it; a poisoned lock still guards a valid child.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn id(&self) -> u32 {
        self.child().id()
    }

    /// How it ended, if it did (`Err`: its end could not be read, which counts as ended).
    /// Does not block.
    pub fn ended(&self) -> Option<Result<ExitStatus, std::io::Error>> {
        match self.child().try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(Ok(status)),
            Err(e) => Some(Err(e)),
        }
    }

    /// Waits until it ends, at most `timeout`.
    pub fn wait_timeout(&self, timeout: Duration) {
        let _ = self.child().wait_timeout(timeout);
    }

    /// Waits until it ends.
    pub fn wait(&self) {
        let _ = self.child().wait();
    }
}

/// Runs `program args…` with no input, killed once `timeout` passes. Each stream is read on a
/// thread of its own; after the exit, output a grandchild holds open is waited for only until the
/// same deadline.
pub fn run_with_timeout(
    program: &str,
    args: &[&str],
    timeout: Duration,
) -> Result<CommandOutput, CommandError> {
    let deadline = Instant::now() + timeout;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_counted()
        .map_err(|source| CommandError::Spawn {
            program: program.to_string(),
            source,
        })?;
    let stdout = child.stdout.take().map(collect_in_background);
    let stderr = child.stderr.take().map(collect_in_background);
    let status = match child.wait_timeout(timeout) {
        Ok(Some(status)) => status,
        failed => {
            let _ = child.kill();
            let _ = child.wait();
            let program = program.to_string();
            return Err(match failed {
                Err(source) => CommandError::Wait { program, source },
                Ok(_) => CommandError::TimedOut { program, timeout },
            });
        }
    };
    let finish = |chunks: mpsc::Receiver<Vec<u8>>| {
        let mut bytes = Vec::new();
        while let Ok(chunk) =
            chunks.recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            bytes.extend(chunk);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(CommandOutput {
        code: status.code(),
        stdout: stdout.map(finish).unwrap_or_default(),
        stderr: stderr.map(finish).unwrap_or_default(),
    })
}

/// Reads `pipe` to its end on a thread of its own (so that it never fills), sending the first
/// [`OUTPUT_LIMIT`] bytes.
fn collect_in_background(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (chunks, received) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut chunk, mut room) = ([0u8; 8192], OUTPUT_LIMIT);
        while let Ok(read @ 1..) = pipe.read(&mut chunk) {
            let kept = read.min(room);
            room -= kept;
            if kept > 0 {
                let _ = chunks.send(chunk[..kept].to_vec());
            }
        }
    });
    received
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_output_and_exit_code() {
        let out = run_with_timeout(
            "sh",
            &["-c", "echo out; echo err >&2; exit 3"],
            Duration::from_secs(5),
        )
        .expect("runs");
        assert_eq!(out.code, Some(3));
        assert!(!out.success());
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn command_is_killed_at_the_deadline() {
        let start = Instant::now();
        let result = run_with_timeout("sleep", &["10"], Duration::from_millis(200));
        assert!(
            matches!(result, Err(CommandError::TimedOut { .. })),
            "{result:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn command_missing_is_a_spawn_error() {
        let result = run_with_timeout("/nonexistent/pmset", &[], Duration::from_secs(1));
        assert!(
            matches!(result, Err(CommandError::Spawn { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn command_output_held_open_by_a_grandchild_does_not_hang() {
        // The shell exits at once, but its background `sleep` keeps stdout open: the output
        // written so far is returned at the deadline, not after the sleep.
        let start = Instant::now();
        let out = run_with_timeout(
            "sh",
            &["-c", "echo hi; sleep 5 & exit 0"],
            Duration::from_millis(500),
        )
        .expect("runs");
        assert!(out.success());
        assert_eq!(out.stdout, "hi\n");
        assert!(start.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn large_output_does_not_block() {
        let out = run_with_timeout(
            "sh",
            &["-c", "head -c 300000 /dev/zero"],
            Duration::from_secs(10),
        )
        .expect("runs");
        assert!(out.success());
        assert_eq!(out.stdout.len(), 300_000);
    }

    #[tokio::test]
    async fn async_output_is_collected_and_bounded() {
        let mut echo = tokio::process::Command::new("sh");
        echo.args(["-c", "echo out; exit 4"]);
        let out = output_within(&mut echo, Duration::from_secs(5))
            .await
            .expect("runs");
        assert_eq!(out.status.code(), Some(4));
        assert_eq!(out.stdout, b"out\n");

        let start = Instant::now();
        let mut sleep = tokio::process::Command::new("sleep");
        sleep.arg("10");
        let result = output_within(&mut sleep, Duration::from_millis(200)).await;
        assert!(
            matches!(result, Err(CommandError::TimedOut { .. })),
            "{result:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(3));

        let mut missing = tokio::process::Command::new("/nonexistent/tailscale");
        let result = output_within(&mut missing, Duration::from_secs(1)).await;
        assert!(
            matches!(result, Err(CommandError::Spawn { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn every_spawned_process_is_counted() {
        let before = processes_spawned();
        run_with_timeout("true", &[], Duration::from_secs(5)).expect("runs");
        let _ = run_with_timeout("/nonexistent/pmset", &[], Duration::from_secs(1));
        // Other tests run commands at the same time: at least ours, and the failed spawn is not one.
        assert!(processes_spawned() > before);
    }
}
