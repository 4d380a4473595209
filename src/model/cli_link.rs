//! What `install-cli` (and the menu's "Install command-line tool…") did, or why it did nothing
//! (worded in `text::cli`).

use std::path::PathBuf;

/// The link made (or found already made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliLinked {
    pub link: PathBuf,
    /// This program, where the link points.
    pub target: PathBuf,
    /// Where the link it replaced pointed: a link of ours to another copy of the app.
    pub replaced: Option<PathBuf>,
    /// Whether the link's folder is on the shell's PATH (if not, how to add it is said).
    pub on_path: bool,
}

/// Why no link was made; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliLinkRefused {
    /// Something that is not a link (a file, a folder) is where the link goes.
    NotALink { link: PathBuf },
    /// A link to something other than this app.
    OtherLink { link: PathBuf, target: PathBuf },
    /// The folder may not be written, and no administrator's password is asked on this OS.
    NoPermission {
        dir: PathBuf,
        link: PathBuf,
        target: PathBuf,
    },
    /// The administrator's password was asked and not given.
    AdminCancelled,
    /// No home folder (`HOME`) to put `~/.local/bin` in.
    NoHome,
    /// This program's own path could not be read.
    ThisProgramUnknown { why: String },
    /// The OS's own words about `path`.
    Failed { path: PathBuf, why: String },
}
