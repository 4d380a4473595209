//! Reads what `ray start --block` prints: when the node joined, and why it failed, as a
//! [`WorkerFailure`] that says what to do (Ray's own words are cryptic: a version skew shows as
//! "Could not read 'temp_dir' from GCS"); and why `ray drain-node` failed, as a [`DrainError`].

use anstream::adapter::strip_str;

use crate::model::{HeadAddress, PythonSkew, WorkerFailure};

/// How many of the last output lines [`classify_exit`] reads; the driver keeps at least this many.
pub const TAIL_LINES: usize = 50;

/// The longest line shown of Ray's output.
const MAX_LAST_LINE: usize = 200;

/// The line where `ray start` says the node is up ("Ray runtime started."), in record style
/// (`2025-02-16 18:29:18,461 SUCC scripts.py:1064 -- …`) or pretty style (maybe in ANSI colours).
pub fn is_joined_line(line: &str) -> bool {
    let plain = strip_str(line).to_string();
    let message = record_message(plain.trim()).trim();
    message.strip_suffix('.').unwrap_or(message) == "Ray runtime started"
}

/// Why `ray start --block` ended, from its last [`TAIL_LINES`] lines, the most specific reason
/// first (the caller fills in a skew's `this_machine`); else the last meaningful line.
pub fn classify_exit(tail: &[String]) -> WorkerFailure {
    let start = tail.len().saturating_sub(TAIL_LINES);
    let lines: Vec<String> = tail[start..]
        .iter()
        .map(|l| strip_str(l).to_string())
        .collect();
    let lower: Vec<String> = lines.iter().map(|l| l.to_lowercase()).collect();
    let any = |needles: &[&str]| lower.iter().any(|l| needles.iter().any(|n| l.contains(n)));

    if let Some(mismatch) = version_mismatch(&lines) {
        return mismatch;
    }
    // Ray 2.52+ token auth, in the words of Ray's C++ and Python gRPC servers and client. Before
    // the skew: a refused token also ends in "Could not read 'temp_dir' from GCS".
    if any(&[
        "invalidauthtoken",
        "authentication token is missing or incorrect",
        "invalid or missing authentication token",
        "unauthenticated",
        "authenticationerror",
        "token authentication is enabled but no authentication token was found",
        "authentication token you provided is invalid",
    ]) {
        return WorkerFailure::AuthRefused;
    }
    // A 2.51.2 worker against a 2.60.0 head (recorded) says no "Version mismatch" at all.
    if any(&["could not read 'temp_dir' from gcs"]) {
        return WorkerFailure::VersionSkewSuspected { this_machine: None };
    }
    if any(&[
        "multi-node ray clusters are not supported on windows and osx",
        "ray_enable_windows_or_osx_cluster",
    ]) {
        return WorkerFailure::MultiNodeDisabled;
    }
    // "beem" is Ray 1.x's own typo.
    if any(&[
        "marked as dead",
        "beem marked as dead",
        "been marked dead",
        "marked dead by the gcs",
        // Ray 2.60's raylet, when the network heals after a long cut (recorded in the lab).
        "gcs consider this node to be dead",
    ]) || lower
        .iter()
        .any(|l| l.contains("raylet") && l.contains("died"))
    {
        return WorkerFailure::NodeMarkedDead;
    }
    if any(&[
        "failed to connect to gcs",
        "unable to connect to gcs",
        "connection refused",
        "timed out while waiting for gcs",
    ]) {
        return WorkerFailure::HeadUnreachable;
    }
    WorkerFailure::Crashed {
        last_line: last_meaningful_line(&lines),
    }
}

/// `ray, version 2.60.0`, whatever warning lines surround it.
pub fn parse_ray_version(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let plain = strip_str(line).to_string();
        let lower = plain.to_lowercase();
        let at = lower.find("ray, version ")?;
        let rest = plain.get(at + "ray, version ".len()..)?;
        let version = rest.split_whitespace().next()?;
        let ok = version.starts_with(|c: char| c.is_ascii_digit())
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'));
        ok.then(|| version.to_string())
    })
}

/// Ray's refusal of this node. Ray's warning that it accepts a patch release skew
/// ([`python_patch_skew`]) says "version mismatch" too, and is no refusal.
fn version_mismatch(lines: &[String]) -> Option<WorkerFailure> {
    let start = lines.iter().position(|l| {
        let lower = l.to_lowercase();
        lower.contains("version mismatch") && !lower.contains("patch version mismatch")
    })?;
    let (cluster, this_machine) = versions_in_mismatch(&lines[start..], "Ray:");
    Some(WorkerFailure::VersionMismatch {
        cluster,
        this_machine,
    })
}

/// The head's Python and ours, where Ray said it accepts this node although they differ in the
/// patch release (the worker runs with `RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL=minor`).
pub fn python_patch_skew(lines: &[String]) -> Option<PythonSkew> {
    let lines: Vec<String> = lines.iter().map(|l| strip_str(l).to_string()).collect();
    let start = lines
        .iter()
        .position(|l| l.to_lowercase().contains("python patch version mismatch"))?;
    match versions_in_mismatch(&lines[start..], "Python:") {
        (Some(head), Some(this_machine)) => Some(PythonSkew { head, this_machine }),
        _ => None,
    }
}

/// In Ray's version mismatch message: the first `key X` after "The cluster was started with"
/// (the head's), and the first after "This process ... was started with" (ours).
fn versions_in_mismatch(lines: &[String], key: &str) -> (Option<String>, Option<String>) {
    let mut cluster = None;
    let mut this_machine = None;
    // 0: before any "started with" header, 1: in the cluster's block, 2: in ours.
    let mut block = 0;
    for line in lines {
        let lower = line.to_lowercase();
        if lower.contains("this process") && lower.contains("started with") {
            block = 2;
        } else if lower.contains("cluster was started with") {
            block = 1;
        }
        let Some(version) = line.trim().strip_prefix(key).map(str::trim) else {
            continue;
        };
        if version.is_empty() {
            continue;
        }
        match block {
            1 if cluster.is_none() => cluster = Some(version.to_string()),
            2 if this_machine.is_none() => this_machine = Some(version.to_string()),
            _ => {}
        }
    }
    (cluster, this_machine)
}

/// The last line worth showing: not empty, not a stack trace's, not Ray's "Remaining processes will
/// be killed."; without the record prefix; at most [`MAX_LAST_LINE`] characters.
fn last_meaningful_line(lines: &[String]) -> String {
    let messages = (0..lines.len()).rev().filter(|&i| !is_stack_line(lines, i));
    let message = messages
        .map(|i| record_message(lines[i].trim()).trim())
        .find(|message| *message != "Remaining processes will be killed.");
    shorten(message.unwrap_or_default(), MAX_LAST_LINE)
}

const CPP_STACK: &str = "*** StackTrace Information ***";

fn is_stack_line(lines: &[String], i: usize) -> bool {
    // Empty, or only the `^^^~~~` that points at a frame's code.
    let blank = |t: &str| t.chars().all(|c| matches!(c, '^' | '~' | ' '));
    let line = lines[i].as_str();
    let t = line.trim();
    if blank(t)
        || t.starts_with("File \"")
        || t.starts_with("Traceback (most recent call last)")
        || t.starts_with("During handling of the above exception")
        || t.starts_with("The above exception was the direct cause")
        || t == CPP_STACK
    {
        return true;
    }
    if !line.starts_with(char::is_whitespace) {
        return false;
    }
    let above = || lines[..i].iter().rev();
    // An indented line right under `File "...", line N` is that frame's source code, and one inside
    // a C++ "*** StackTrace Information ***" block a symbol.
    let frame = above().map(|l| l.trim()).find(|l| !blank(l));
    let block = above().find(|l| l.trim() == CPP_STACK || !l.starts_with(char::is_whitespace));
    frame.is_some_and(|l| l.starts_with("File \"")) || block.is_some_and(|l| l.trim() == CPP_STACK)
}

/// The message after ` -- ` of a record-style line; other lines as they are.
fn record_message(line: &str) -> &str {
    let b = line.as_bytes();
    let dated =
        b.len() > 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
    match line.split_once(" -- ") {
        Some((prefix, message)) if dated && prefix.contains(".py:") => message,
        _ => line,
    }
}

/// At most `max` characters, the last an ellipsis when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Why the head could not be asked to drain this node; the Display is the user's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrainError {
    #[error("this node's id was not found under the worker's raylet")]
    NodeIdNotFound,
    #[error("Ray is not installed at {path}: run `bittrader-worker setup`")]
    RayMissing { path: String },
    /// Ray before 2.10 or so.
    #[error(
        "This machine's Ray is too old to hand its tasks back to the head (no `ray drain-node`): \
         run `bittrader-worker setup` to install the head's version"
    )]
    Unsupported,
    #[error(
        "The head at {head} did not answer, so it could not take this machine's tasks back; \
         check the network (Tailscale) and the head"
    )]
    HeadUnreachable { head: String },
    #[error(
        "The head refused this machine's Ray authentication token: check auth_token_file in the \
         settings"
    )]
    AuthRefused,
    #[error("The head refused to take this machine's tasks back: {reason}")]
    Rejected { reason: String },
    /// Never expected: it comes from our own raylet.
    #[error("`{node_id}` is not a Ray node id")]
    InvalidNodeId { node_id: String },
    #[error("Ray took more than {secs} s to ask the head to drain this node; check the network")]
    TimedOut { secs: u64 },
    /// Anything else: the exit code and Ray's last meaningful line.
    #[error("Ray could not ask the head to drain this node ({detail})")]
    Failed { detail: String },
}

/// Why `ray drain-node` failed, from its output and exit code.
pub fn classify_drain_failure(output: &str, code: Option<i32>, head: &HeadAddress) -> DrainError {
    let lines: Vec<String> = output.lines().map(String::from).collect();
    let lower = output.to_lowercase();
    if lower.contains("no such command") {
        return DrainError::Unsupported;
    }
    if let Some(at) = lower.find("the drain request is not accepted:") {
        let rest = &output[at + "the drain request is not accepted:".len()..];
        let reason = rest.lines().next().unwrap_or("").trim().to_string();
        return DrainError::Rejected { reason };
    }
    if lower.contains("invalid hex id of a ray node") || lower.contains("incorrect hex string") {
        let node_id = lines
            .iter()
            .find_map(|l| l.split("Invalid hex ID of a Ray node, got ").nth(1))
            .unwrap_or("")
            .trim()
            .to_string();
        return DrainError::InvalidNodeId { node_id };
    }
    match classify_exit(&lines) {
        WorkerFailure::AuthRefused => DrainError::AuthRefused,
        WorkerFailure::HeadUnreachable => DrainError::HeadUnreachable {
            head: head.to_string(),
        },
        WorkerFailure::Crashed { last_line } => {
            let detail = match code {
                Some(code) => format!("exit {code}: {last_line}"),
                None => format!("killed by a signal: {last_line}"),
            };
            DrainError::Failed {
                detail: shorten(&detail, MAX_LAST_LINE),
            }
        }
        // A version mismatch or skew shows up the same way as for `ray start`.
        other => DrainError::Failed {
            detail: crate::text::failure_message(crate::text::Lang::En, &other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VLLM_OK: &str = include_str!("../tests/fixtures/ray_start_worker_success_vllm_2025.log");
    const MINIMAX_OK: &str =
        include_str!("../tests/fixtures/ray_start_worker_success_minimax_2026_PARTIAL.log");
    const HEAD_MACOS: &str = include_str!("../tests/fixtures/ray_start_head_macos_pr34081.txt");
    const HEAD_LINUX: &str =
        include_str!("../tests/fixtures/ray_start_head_linux_2021_issue18513.txt");
    const MISMATCH_LOGICRL: &str =
        include_str!("../tests/fixtures/ray_version_mismatch_ray_and_python_logicrl30.txt");
    const MISMATCH_PY_PATCH: &str =
        include_str!("../tests/fixtures/ray_version_mismatch_python_patch_issue7648.txt");
    const MISMATCH_KUBERAY: &str =
        include_str!("../tests/fixtures/ray_version_mismatch_ray_minor_kuberay_pr154.txt");
    const SKEW: &str =
        include_str!("../tests/fixtures/ray_start_worker_skew_2.51.2_vs_head_2.60.0.txt");
    const MULTINODE: &str =
        include_str!("../tests/fixtures/ray_multinode_windows_osx_error_SOURCE_STRING.txt");
    const DEAD_EVENT: &str =
        include_str!("../tests/fixtures/raylet_marked_dead_event_message_2025.txt");
    const DEAD_OLD: &str =
        include_str!("../tests/fixtures/raylet_marked_dead_old_2022_issue22425.log");
    const DEAD_TIMEOUT: &str =
        include_str!("../tests/fixtures/raylet_marked_dead_timeout_issue28562.log");
    const GCS_NODE_REMOVED: &str =
        include_str!("../tests/fixtures/ray_gcs_event_node_removed_2025.json");

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    fn joined_indexes(text: &str) -> Vec<usize> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| is_joined_line(l))
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn joined_line_in_recorded_outputs() {
        assert_eq!(joined_indexes(VLLM_OK), vec![3]);
        // Two nodes' output interleaved: each says it once.
        assert_eq!(joined_indexes(MINIMAX_OK), vec![1, 11]);
        assert_eq!(joined_indexes(HEAD_MACOS), vec![6]);
        assert_eq!(joined_indexes(HEAD_LINUX), vec![3]);
        for text in [SKEW, MISMATCH_LOGICRL, MULTINODE, DEAD_OLD] {
            assert!(joined_indexes(text).is_empty());
        }
    }

    #[test]
    fn joined_line_variants() {
        assert!(is_joined_line("\u{1b}[32mRay runtime started.\u{1b}[39m"));
        assert!(is_joined_line("  Ray runtime started.  "));
        assert!(is_joined_line(
            "2026-04-01 11:21:35,690\tSUCC scripts.py:1141 -- Ray runtime started.\r"
        ));
        assert!(!is_joined_line(
            "To connect to this Ray runtime from another node, run"
        ));
        assert!(!is_joined_line("--------------------"));
        assert!(!is_joined_line("Ray runtime started. Not really"));
        assert!(!is_joined_line("echo Ray runtime started."));
    }

    #[test]
    fn version_mismatch_fixtures() {
        for (text, cluster, mine) in [
            (MISMATCH_LOGICRL, "2.12.0", "2.42.0"),
            (MISMATCH_PY_PATCH, "2.6.2", "2.6.2"),
            (MISMATCH_KUBERAY, "1.9.0", "1.10.0"),
        ] {
            assert_eq!(
                classify_exit(&lines(text)),
                WorkerFailure::VersionMismatch {
                    cluster: Some(cluster.to_string()),
                    this_machine: Some(mine.to_string()),
                }
            );
        }
        // After a successful start's lines, too.
        let mut tail = lines(VLLM_OK);
        tail.extend(lines(MISMATCH_LOGICRL));
        assert!(matches!(
            classify_exit(&tail),
            WorkerFailure::VersionMismatch { .. }
        ));
    }

    #[test]
    fn a_python_patch_skew_ray_accepts_is_read_and_is_no_refusal() {
        const ACCEPTED: &str =
            include_str!("../tests/fixtures/lab_worker_join_python_patch_skew_ray260.txt");
        let skew = PythonSkew {
            head: "3.11.7".into(),
            this_machine: "3.11.2".into(),
        };
        assert_eq!(python_patch_skew(&lines(ACCEPTED)), Some(skew));
        assert_eq!(joined_indexes(ACCEPTED), vec![12]);
        for text in [VLLM_OK, MISMATCH_PY_PATCH, MISMATCH_LOGICRL] {
            assert_eq!(python_patch_skew(&lines(text)), None);
        }
        // The node lost later: its tail still holds the warning, and no mismatch is claimed.
        let mut tail = lines(ACCEPTED);
        tail.push("Failed to connect to GCS at address 100.64.0.1:6379".into());
        assert_eq!(classify_exit(&tail), WorkerFailure::HeadUnreachable);
    }

    #[test]
    fn skew_fixture() {
        let failure = classify_exit(&lines(SKEW));
        assert_eq!(
            failure,
            WorkerFailure::VersionSkewSuspected { this_machine: None }
        );
    }

    #[test]
    fn multinode_fixture() {
        assert_eq!(
            classify_exit(&lines(MULTINODE)),
            WorkerFailure::MultiNodeDisabled
        );
        // As third-party notes quote it in record style.
        let record = format!(
            "2024-01-01 10:00:00,000\tPANIC scripts.py:900 -- {}",
            MULTINODE.trim()
        );
        assert_eq!(classify_exit(&[record]), WorkerFailure::MultiNodeDisabled);
    }

    #[test]
    fn marked_dead_fixtures() {
        for text in [DEAD_EVENT, DEAD_OLD, DEAD_TIMEOUT, GCS_NODE_REMOVED] {
            let failure = classify_exit(&lines(text));
            assert_eq!(failure, WorkerFailure::NodeMarkedDead, "{text}");
        }
        for line in [
            "The raylet died unexpectedly",
            "Raylet on node 10.0.0.2 died",
        ] {
            assert_eq!(
                classify_exit(&[line.to_string()]),
                WorkerFailure::NodeMarkedDead
            );
        }
    }

    #[test]
    fn success_then_death() {
        let mut tail = lines(VLLM_OK);
        tail.extend(lines(DEAD_TIMEOUT));
        assert_eq!(classify_exit(&tail), WorkerFailure::NodeMarkedDead);

        // What `ray start --block` itself prints when a subprocess dies (text from Ray's
        // scripts.py; constructed, not recorded): no reason given, so it is a crash, and the
        // line shown is the dead process rather than the "will be killed" epilogue.
        let mut tail = lines(VLLM_OK);
        tail.extend(lines(
            "\n2025-02-16 19:02:11,002 ERROR scripts.py:1098 -- Some Ray subprocesses exited unexpectedly:\n\
             2025-02-16 19:02:11,002 ERROR scripts.py:1102 --   raylet [exit code=1]\n\
             \n\
             2025-02-16 19:02:11,002 ERROR scripts.py:1107 -- Remaining processes will be killed.\n",
        ));
        assert_eq!(
            classify_exit(&tail),
            WorkerFailure::Crashed {
                last_line: "raylet [exit code=1]".to_string()
            }
        );
    }

    #[test]
    fn auth_refused() {
        // Constructed from the strings in Ray's source (src/ray/rpc/authentication tests,
        // python/ray/_private/authentication/*), not from a recorded run.
        for line in [
            "ray.exceptions.RpcError: InvalidAuthToken: Authentication token is missing or incorrect",
            "grpc._channel._InactiveRpcError: status = StatusCode.UNAUTHENTICATED details = \"Invalid or missing authentication token\"",
            "ray.exceptions.AuthenticationError: Token authentication is enabled but no authentication token was found. Please provide an authentication token using one of these methods:",
        ] {
            let mut tail = lines(SKEW);
            tail.insert(1, line.to_string());
            assert_eq!(classify_exit(&tail), WorkerFailure::AuthRefused, "{line}");
        }
        // The head's warning about auth being off is not a refusal.
        let warning = "2026-01-01 10:00:00,000\tWARNING authentication_token_setup.py:60 -- Token \
                       authentication is disabled for this Ray cluster.";
        assert!(matches!(
            classify_exit(&[warning.to_string()]),
            WorkerFailure::Crashed { .. }
        ));
    }

    #[test]
    fn head_unreachable() {
        // Lines quoted in public issues (Jiayi-Pan/TinyZero#75, ray-project/ray#23611,
        // ray-project/ray#37107).
        for text in [
            "[2025-02-16 16:05:55,537 E 350061 350061] gcs_rpc_client.h:179: Failed to connect to GCS at address 172.23.15.13:20000 within 5 seconds.\n\
             [2025-02-16 16:06:26,552 W 350061 350061] gcs_client.cc:178: Failed to get cluster ID from GCS server: TimedOut: Timed out while waiting for GCS to become available.",
            "2022-03-30 17:22:35,502 WARNING node.py:1465 -- Unable to connect to GCS at 127.0.0.1:6379. Check that (1) Ray GCS with matching version started successfully at the specified address, and (2) there is no firewall setting preventing access.",
            "2023-07-05 21:46:54,656     ERROR utils.py:1395 -- Failed to connect to GCS. Please check `gcs_server.out` for more details.",
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ] {
            let failure = classify_exit(&lines(text));
            assert_eq!(failure, WorkerFailure::HeadUnreachable, "{text}");
        }
    }

    #[test]
    fn crashed_last_line_skips_traceback_frames() {
        let tail = lines(
            "Traceback (most recent call last):\n  File \"/x/ray\", line 8, in <module>\n    sys.exit(main())\n             ^^^^^^\n\
             ValueError: bad thing\n\n",
        );
        assert_eq!(
            classify_exit(&tail),
            WorkerFailure::Crashed {
                last_line: "ValueError: bad thing".to_string()
            }
        );
        // A tail that ends inside a trace (cut off, or a C++ stack) shows the line before it.
        let tail = lines(
            "[2022-02-16 12:46:52,789 C 149 149] node_manager.cc:170: Check failed: x\n\
             *** StackTrace Information ***\n    ray::SpdLogMessage::Flush()\n    main\n",
        );
        assert_eq!(
            classify_exit(&tail),
            WorkerFailure::Crashed {
                last_line:
                    "[2022-02-16 12:46:52,789 C 149 149] node_manager.cc:170: Check failed: x"
                        .to_string()
            }
        );
        let tail = lines(
            "ok\nTraceback (most recent call last):\n  File \"/x\", line 1, in <module>\n    f()\n",
        );
        assert_eq!(
            classify_exit(&tail),
            WorkerFailure::Crashed {
                last_line: "ok".to_string()
            }
        );
        // An indented message that is not under a frame is kept.
        assert_eq!(
            classify_exit(&lines("Error:\n    disk full\n")),
            WorkerFailure::Crashed {
                last_line: "disk full".to_string()
            }
        );
        assert_eq!(
            classify_exit(&[]),
            WorkerFailure::Crashed {
                last_line: String::new()
            }
        );
        assert_eq!(
            classify_exit(&lines("\n  \n")),
            WorkerFailure::Crashed {
                last_line: String::new()
            }
        );
    }

    #[test]
    fn crashed_last_line_is_trimmed_and_short() {
        let long = format!("  {}  ", "é".repeat(500));
        let WorkerFailure::Crashed { last_line } = classify_exit(&[long]) else {
            panic!("expected Crashed");
        };
        assert_eq!(last_line.chars().count(), 200);
        assert!(last_line.ends_with('…') && last_line.starts_with('é'));
    }

    #[test]
    fn only_the_last_lines_count() {
        // An old "marked as dead" far above the end is not this exit's reason.
        let mut tail = lines(DEAD_TIMEOUT);
        tail.extend((0..TAIL_LINES).map(|i| format!("line {i}")));
        assert_eq!(
            classify_exit(&tail),
            WorkerFailure::Crashed {
                last_line: format!("line {}", TAIL_LINES - 1)
            }
        );
    }

    #[test]
    fn ray_version() {
        assert_eq!(
            parse_ray_version("ray, version 2.60.0\n").as_deref(),
            Some("2.60.0")
        );
        assert_eq!(
            parse_ray_version(
                "/x/site-packages/ray/__init__.py:10: UserWarning: something\n  warn()\nray, version 2.51.2\n"
            )
            .as_deref(),
            Some("2.51.2")
        );
        assert_eq!(
            parse_ray_version("ray, version 3.0.0.dev0\r\n").as_deref(),
            Some("3.0.0.dev0")
        );
        assert_eq!(parse_ray_version(""), None);
        assert_eq!(parse_ray_version("command not found: ray"), None);
        assert_eq!(parse_ray_version("ray, version \n"), None);
        assert_eq!(parse_ray_version("ray, version banana"), None);
    }

    fn lab_lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_real_260_worker_join_recorded_in_the_lab_is_seen() {
        let lines = lab_lines(include_str!("../tests/fixtures/lab_worker_join_ray260.txt"));
        let joined: Vec<&String> = lines.iter().filter(|l| is_joined_line(l)).collect();
        assert_eq!(joined.len(), 1, "{joined:?}");
        assert!(joined[0].contains("Ray runtime started"));
    }

    #[test]
    fn a_real_260_node_dropped_after_a_long_cut_is_recognised() {
        let lines = lab_lines(include_str!(
            "../tests/fixtures/lab_worker_longcut_fast_health_ray260.txt"
        ));
        let start = lines.len().saturating_sub(TAIL_LINES);
        assert_eq!(
            classify_exit(&lines[start..]),
            WorkerFailure::NodeMarkedDead
        );
    }

    fn head() -> HeadAddress {
        "100.64.0.1:6379".parse().expect("head")
    }

    fn recorded(name: &str) -> String {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/recorded/");
        std::fs::read_to_string(format!("{dir}{name}")).expect("recorded file")
    }

    #[test]
    fn recorded_failures_are_explained() {
        let refused = recorded("drain_node_refused_short_timeouts_ray260.txt");
        assert_eq!(
            classify_drain_failure(&refused, Some(1), &head()),
            DrainError::HeadUnreachable {
                head: "100.64.0.1:6379".to_string()
            }
        );
        let cut = recorded("drain_node_head_cut_short_timeouts_ray260.txt");
        assert!(matches!(
            classify_drain_failure(&cut, Some(1), &head()),
            DrainError::HeadUnreachable { .. }
        ));
        let default_refused = recorded("drain_node_refused_default_ray260.txt");
        assert!(matches!(
            classify_drain_failure(&default_refused, Some(1), &head()),
            DrainError::HeadUnreachable { .. }
        ));
        let bad = recorded("drain_node_bad_node_id_ray260.txt");
        assert_eq!(
            classify_drain_failure(&bad, Some(2), &head()),
            DrainError::InvalidNodeId {
                node_id: "xyz".to_string()
            }
        );
    }

    #[test]
    fn rejections_and_old_rays_are_explained() {
        // From ray/scripts/scripts.py (2.60): raised when the GCS says no (only an
        // IDLE_TERMINATION drain of a busy node is refused).
        let rejected = "Error: The drain request is not accepted: The node is not idle\n";
        assert_eq!(
            classify_drain_failure(rejected, Some(1), &head()),
            DrainError::Rejected {
                reason: "The node is not idle".to_string()
            }
        );
        let old = "Usage: ray [OPTIONS] COMMAND [ARGS]...\nTry 'ray --help' for help.\n\n\
                   Error: No such command 'drain-node'.\n";
        assert_eq!(
            classify_drain_failure(old, Some(2), &head()),
            DrainError::Unsupported
        );
        let other = classify_drain_failure("boom\n", Some(3), &head());
        assert_eq!(
            other,
            DrainError::Failed {
                detail: "exit 3: boom".to_string()
            }
        );
    }
}
