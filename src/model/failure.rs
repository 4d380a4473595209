//! Why a worker failed, as read from Ray's output, and why Ray cannot be installed here.

use serde::{Deserialize, Serialize};

/// Why a worker's `ray start --block` ended, as far as its output tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerFailure {
    /// Ray said "Version mismatch", naming both versions.
    VersionMismatch {
        cluster: Option<String>,
        this_machine: Option<String>,
    },
    /// The worker could not read its session from the head's GCS: seen when this machine's Ray
    /// differs from the head's (2.51.2 against 2.60.0 says no "Version mismatch").
    VersionSkewSuspected { this_machine: Option<String> },
    /// Ray refused a multi-node cluster on macOS/Windows (`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`).
    MultiNodeDisabled,
    /// The head refused our auth token.
    AuthRefused,
    /// Refused or timed out.
    HeadUnreachable,
    /// The head declared this node dead (after a network cut) and the raylet exited.
    NodeMarkedDead,
    /// No "joined" line within the join timeout.
    DidNotJoin { within_secs: u64 },
    /// Its output explains nothing.
    ExitedSilently { code: Option<i32> },
    /// Anything else: the last meaningful line of output.
    Crashed { last_line: String },
}

/// Why Ray has no build for this machine (`ray`: the version asked for, `None` the newest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoBuild {
    /// Ray ≥ 2.50 on an Intel Mac.
    IntelMac { ray: Option<String> },
    /// Ray ≥ 2.50 on an Apple-silicon Mac older than macOS 12 (`macos`: `major.minor`).
    OldMacOs { ray: Option<String>, macos: String },
    /// Neither macOS nor Linux on x86_64/arm64.
    Platform { ray: Option<String> },
}
