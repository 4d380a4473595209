//! Making the command-line link as an administrator, after macOS's own password prompt:
//! `osascript`'s `do shell script … with administrator privileges`. The paths go in as the
//! script's arguments and reach the shell through AppleScript's `quoted form of`, never spliced
//! into the script's text. Only macOS calls it; the code is plain so that Linux compiles it too.

use std::path::Path;
use std::time::Duration;

use super::command::run_with_timeout;

const SCRIPT: [&str; 3] = [
    "on run argv",
    "do shell script \"mkdir -p \" & quoted form of (item 1 of argv) & \" && ln -sfn \" & \
     quoted form of (item 2 of argv) & \" \" & quoted form of (item 3 of argv) with \
     administrator privileges",
    "end run",
];

/// The prompt waits for a person; past this nobody is answering it.
const PROMPT_WITHIN: Duration = Duration::from_secs(600);

/// AppleScript's error number for "User canceled".
const USER_CANCELED: &str = "(-128)";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// The password prompt was dismissed.
    Cancelled,
    /// osascript's, or the shell's, own words.
    Failed(String),
}

/// `mkdir -p DIR && ln -sfn TARGET LINK` as root, once an administrator has typed a password.
pub fn link_as_admin(dir: &Path, target: &Path, link: &Path) -> Result<(), AdminError> {
    let (dir, target, link) = (utf8(dir)?, utf8(target)?, utf8(link)?);
    let args = [
        "-e", SCRIPT[0], "-e", SCRIPT[1], "-e", SCRIPT[2], dir, target, link,
    ];
    // An app's PATH is /usr/bin:/bin:/usr/sbin:/sbin at best.
    let out = run_with_timeout("/usr/bin/osascript", &args, PROMPT_WITHIN)
        .map_err(|e| AdminError::Failed(e.to_string()))?;
    match out.success() {
        true => Ok(()),
        false if out.stderr.contains(USER_CANCELED) => Err(AdminError::Cancelled),
        false => Err(AdminError::Failed(out.stderr.trim().to_string())),
    }
}

/// osascript takes its arguments as text.
fn utf8(path: &Path) -> Result<&str, AdminError> {
    path.to_str()
        .ok_or_else(|| AdminError::Failed(format!("{}: not UTF-8", path.display())))
}
