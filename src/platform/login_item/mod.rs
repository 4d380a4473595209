//! Start at login: a LaunchAgent on macOS ([`launch_agent`], the one mechanism that works on
//! every macOS this app supports and for a bare binary), an XDG autostart entry on Linux
//! ([`xdg`]), behind the one [`LoginItem`] trait.
//!
//! The status is what will really happen: the LaunchAgent file AND the job launchd has loaded
//! AND its program still there. Reading it may run `launchctl`, so it is read at start, when
//! the menu opens and after a change, never on a timer. Both are compiled on every OS, with
//! their folders and `launchctl` as parameters, so every path runs in the tests on Linux.
//!
//! The old shell install used the same label for a LaunchAgent running `worker_daemon.sh`: it
//! is never overwritten silently ([`LoginItem::enable`] refuses unless asked, then backs it up).

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub mod launch_agent;
pub mod xdg;

pub use launch_agent::{
    classify_existing_plist, launch_agent_plist, ExistingAgent, LaunchAgent, Launchctl,
    SystemLaunchctl,
};
pub use xdg::{xdg_autostart_entry, XdgAutostart};

/// The LaunchAgent's label, also its file name and the XDG entry's name.
pub const LAUNCH_AGENT_LABEL: &str = "com.bittrader.worker";

/// The old install's script; a LaunchAgent that runs it is the legacy install.
pub const LEGACY_SCRIPT: &str = "worker_daemon.sh";

/// The file the LaunchAgent's stdout and stderr go to, inside the data folder. The app writes
/// its own log; this catches what happens before that (a panic, a dynamic-linker error).
pub const LAUNCHD_LOG_FILE: &str = "launchd.log";

/// Whether this program starts at login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LoginStatus {
    /// Nothing of ours starts at login.
    Disabled,
    /// Our entry is installed and starts `program`.
    Enabled {
        program: String,
        /// `program` is the running executable. `false` after the app was moved or a new
        /// copy installed elsewhere: enabling again points it here.
        is_this_program: bool,
    },
    /// The old shell install's LaunchAgent is there (same label, runs `worker_daemon.sh`).
    Legacy { program: String },
    /// Something else sits at our path: another label, or a file that cannot be read.
    Unrecognized { detail: String },
}

/// Why starting at login could not be turned on or off.
#[derive(Debug, thiserror::Error)]
pub enum LoginItemError {
    /// The program path cannot be written into the entry.
    #[error("the program path {path:?} {why}; move the app to a folder with a plain name (such as /Applications) and try again")]
    UnusableProgramPath { path: PathBuf, why: &'static str },
    /// macOS runs a freshly downloaded app from a random read-only copy (App Translocation);
    /// that path is gone after a restart, so a LaunchAgent pointing at it would never start.
    #[error("the app is running from a temporary copy made by macOS ({path}); move BitTrader Worker to the Applications folder, open it from there, then turn on start at login again")]
    Translocated { path: PathBuf },
    /// The old install's LaunchAgent is in place and replacing it was not confirmed.
    #[error("the old BitTrader worker ({program}) starts at login from {path}; confirm replacing it (it is kept as {backup})")]
    LegacyPresent {
        path: PathBuf,
        program: String,
        backup: PathBuf,
    },
    /// [`LoginItem::disable`] found an entry that is not ours and left it alone.
    #[error("{path} is not ours ({detail}); it was left in place")]
    NotOurs { path: PathBuf, detail: String },
    /// A file or folder operation failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The property list could not be produced (should not happen for valid strings).
    #[error("could not write the LaunchAgent: {0}")]
    Plist(#[from] plist::Error),
    /// `launchctl` refused.
    #[error("launchctl {action} failed: {detail}")]
    Launchctl { action: String, detail: String },
    /// Neither `$HOME` (nor, on Linux, `$XDG_CONFIG_HOME`) gives a folder to use.
    #[error("cannot find your home folder: HOME is not set")]
    NoHome,
}

/// Turns starting at login on and off.
pub trait LoginItem {
    /// What is installed now (read from disk; says nothing about what runs right now).
    fn status(&self) -> LoginStatus;
    /// Installs our entry. With the old install's LaunchAgent in place this fails with
    /// [`LoginItemError::LegacyPresent`] unless `replace_legacy`, which backs it up first.
    fn enable(&self, replace_legacy: bool) -> Result<(), LoginItemError>;
    /// Removes our entry (nothing to do if there is none). Leaves anything else in place.
    fn disable(&self) -> Result<(), LoginItemError>;
    /// Called at start: when our entry starts a program that is gone (the app was moved),
    /// points it at this one. `Ok(true)` if it changed something.
    fn repoint_to_this_program(&self) -> Result<bool, LoginItemError> {
        Ok(false)
    }
}

/// Whether `exe` is the executable of an app bundle (`….app/Contents/MacOS/NAME`): only such a
/// copy may take over the login item.
pub fn is_inside_app_bundle(exe: &Path) -> bool {
    let Some(macos_dir) = exe.parent() else {
        return false;
    };
    let Some(contents) = macos_dir.parent() else {
        return false;
    };
    macos_dir.file_name() == Some("MacOS".as_ref())
        && contents.file_name() == Some("Contents".as_ref())
        && contents
            .parent()
            .and_then(Path::extension)
            .is_some_and(|ext| ext == "app")
}

/// The login item for this OS, for the current user, starting `exe`. `data_dir` is the
/// worker's folder (`~/.bittrader_worker`), where launchd's log goes on macOS.
#[cfg(target_os = "macos")]
pub fn system_login_item(
    exe: PathBuf,
    data_dir: PathBuf,
) -> Result<Box<dyn LoginItem + Send>, LoginItemError> {
    Ok(Box::new(LaunchAgent::for_current_user(exe, data_dir)?))
}

/// The login item for this OS, for the current user, starting `exe` (an autostart entry has
/// no log redirection: the app's own log is in `data_dir`).
#[cfg(not(target_os = "macos"))]
pub fn system_login_item(
    exe: PathBuf,
    _data_dir: PathBuf,
) -> Result<Box<dyn LoginItem + Send>, LoginItemError> {
    Ok(Box::new(XdgAutostart::for_current_user(exe)?))
}

/// Checks that `exe` can be written into a login entry: absolute, UTF-8 (plists and desktop
/// files are UTF-8 text) and free of control characters (XML 1.0 cannot hold most of them).
fn program_text(exe: &Path) -> Result<&str, LoginItemError> {
    let unusable = |why| LoginItemError::UnusableProgramPath {
        path: exe.to_path_buf(),
        why,
    };
    let text = exe.to_str().ok_or_else(|| unusable("is not valid UTF-8"))?;
    if !exe.is_absolute() {
        return Err(unusable("is relative"));
    }
    if text.chars().any(char::is_control) {
        return Err(unusable("contains control characters"));
    }
    Ok(text)
}

/// Writes a login entry through [`crate::atomic_file`], mode 0644: launchd ignores a plist that
/// others can write.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LoginItemError> {
    crate::atomic_file::write(path, bytes, 0o644).map_err(|source| LoginItemError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A program path full of characters that need quoting or escaping in both formats.
    pub(super) const NASTY_EXE: &str =
        "/Applications/Bit Trader & Co <beta>/BitTrader Worker.app/Contents/MacOS/bittrader-worker";

    #[test]
    fn app_bundles_are_told_from_bare_binaries() {
        assert!(is_inside_app_bundle(Path::new(NASTY_EXE)));
        assert!(is_inside_app_bundle(Path::new(
            "/Users/me/Downloads/BitTrader Worker.app/Contents/MacOS/bittrader-worker"
        )));
        for bare in [
            "/Users/me/src/bittrader/target/debug/bittrader-worker",
            "/Applications/BitTrader Worker.app/Contents/Resources/bittrader-worker",
            "/Contents/MacOS/bittrader-worker",
            "bittrader-worker",
            "/",
        ] {
            assert!(!is_inside_app_bundle(Path::new(bare)), "{bare}");
        }
    }

    #[test]
    fn status_serializes_for_the_status_json() {
        let json = serde_json::to_string(&LoginStatus::Enabled {
            program: "/a".into(),
            is_this_program: true,
        })
        .expect("json");
        assert_eq!(
            json,
            r#"{"state":"enabled","program":"/a","is_this_program":true}"#
        );
    }
}
