//! What `doctor` reports: the checks, what each saw, and the report; shared vocabulary, so
//! that the words for it need not know how the checks are run.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    App,
    Signature,
    System,
    Ray,
    HeadRay,
    Tailscale,
    HeadPort,
    Power,
    PowerChanges,
    NotifyRoundTrip,
    Thermal,
    UserIdle,
    KeepAwake,
    AppNap,
    SleepNotices,
    SleepClock,
    LoginItem,
    Dialog,
    DataFolder,
    ControlSocket,
    Disk,
    Processes,
    Priority,
    HeldConnection,
}

/// What a check saw (words quoted from the OS or Ray stay as they were said): in the JSON, its
/// `outcome` and its `fact`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", content = "fact", rename_all = "kebab-case")]
pub enum Seen {
    Passed(String),
    Failed(String),
    NotApplicable(String),
}

impl From<Result<String, String>> for Seen {
    fn from(result: Result<String, String>) -> Seen {
        result.map_or_else(Seen::Failed, Seen::Passed)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub check: Check,
    #[serde(flatten)]
    pub seen: Seen,
    /// For a failure: one sentence saying what to do.
    pub what_to_do: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.findings
            .iter()
            .any(|f| matches!(f.seen, Seen::Failed(_)))
    }
}
