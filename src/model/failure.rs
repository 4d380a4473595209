//! Why a worker failed, as read from Ray's output.

use serde::{Deserialize, Serialize};

/// Why a worker's `ray start --block` ended, as far as its output tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerFailure {
    /// Ray said "Version mismatch" and named both versions.
    VersionMismatch {
        cluster: Option<String>,
        this_machine: Option<String>,
    },
    /// The worker could not read its session from the head's GCS. Seen when this machine's
    /// Ray differs from the head's (2.51.2 against 2.60.0 prints no "Version mismatch").
    VersionSkewSuspected { this_machine: Option<String> },
    /// Ray refused a multi-node cluster on macOS/Windows (`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`).
    MultiNodeDisabled,
    /// The head rejected our authentication token.
    AuthRefused,
    /// The head's GCS could not be reached (refused, timed out).
    HeadUnreachable,
    /// The head declared this node dead (after a network cut) and the raylet exited.
    NodeMarkedDead,
    /// It did not print that it joined within the join timeout.
    DidNotJoin { within_secs: u64 },
    /// It ended and its output said nothing that explains why.
    ExitedSilently { code: Option<i32> },
    /// Anything else: the last meaningful line of output.
    Crashed { last_line: String },
}
