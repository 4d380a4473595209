//! What `uninstall` did, step by step (worded in `text::cli`).

use std::path::PathBuf;

/// One thing done, in the order done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// The running app was asked to quit and is gone.
    StoppedTheApp,
    LoginItem,
    /// The old install's LaunchAgent; a backup is kept beside it.
    LegacyLoginItem,
    Folder(PathBuf),
    /// The app's files in a folder named by `BITTRADER_WORKER_HOME`, which is left with what
    /// else it holds (`true`: it was left empty, and removed).
    FilesIn(PathBuf, bool),
    Link(PathBuf),
}
