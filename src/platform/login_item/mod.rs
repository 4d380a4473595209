//! Start at login: a LaunchAgent on macOS ([`launch_agent`]: the one mechanism that works on every
//! macOS we support, and for a bare binary), an XDG autostart entry on Linux ([`xdg`]). The status
//! is what will really happen (the file, the job launchd loaded, its program still there); it may
//! run `launchctl`, so it is read at start, when the menu opens and after a change. Folders and
//! `launchctl` are parameters, so every path runs in the tests on Linux. The old shell install's
//! LaunchAgent (our label, running `worker_daemon.sh`) is replaced only if the user agrees, and
//! backed up.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub mod launch_agent;
pub mod xdg;

use launch_agent::LaunchAgent;
use xdg::XdgAutostart;

pub const LAUNCH_AGENT_LABEL: &str = crate::BUNDLE_ID;

/// Whether this program starts at login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LoginStatus {
    /// Nothing of ours starts at login.
    Disabled,
    /// Our entry is installed and starts `program`.
    Enabled {
        program: String,
        /// `false` after the app was moved or copied elsewhere: enabling again points it here.
        is_this_program: bool,
    },
    /// The old shell install's LaunchAgent.
    Legacy { program: String },
    /// Something else sits at our path.
    Unrecognized { detail: String },
}

/// Why starting at login could not be turned on or off.
#[derive(Debug, thiserror::Error)]
pub enum LoginItemError {
    #[error("the program path {path:?} {why}; move the app to a folder with a plain name (such as /Applications) and try again")]
    UnusableProgramPath { path: PathBuf, why: &'static str },
    /// App Translocation: a freshly downloaded app runs from a random read-only copy, gone after a
    /// restart.
    #[error("the app is running from a temporary copy made by macOS ({path}); move BitTrader Worker to the Applications folder, open it from there, then turn on start at login again")]
    Translocated { path: PathBuf },
    #[error("the old BitTrader worker ({program}) starts at login from {path}; confirm replacing it (it is kept as {backup})")]
    LegacyPresent {
        path: PathBuf,
        program: String,
        backup: PathBuf,
    },
    #[error("{path} is not ours ({detail}); it was left in place")]
    NotOurs { path: PathBuf, detail: String },
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write the LaunchAgent: {0}")]
    Plist(#[from] plist::Error),
    #[error("launchctl {action} failed: {detail}")]
    Launchctl { action: String, detail: String },
    /// Neither `$HOME` (nor, on Linux, `$XDG_CONFIG_HOME`) gives a folder.
    #[error("cannot find your home folder: HOME is not set")]
    NoHome,
}

pub trait LoginItem {
    /// What is installed now (not what runs right now).
    fn status(&self) -> LoginStatus;
    /// Installs our entry; over the old install's LaunchAgent only with `replace_legacy`, backing
    /// it up.
    fn enable(&self, replace_legacy: bool) -> Result<(), LoginItemError>;
    /// Removes our entry, if any; leaves anything else in place.
    fn disable(&self) -> Result<(), LoginItemError>;
    /// Removes the old install's entry (backed up beside it) without installing ours, so that
    /// nothing starts meanwhile; `Ok(true)` if there was one.
    fn set_aside_legacy(&self) -> Result<bool, LoginItemError> {
        Ok(false)
    }
    /// Called at start: points an entry whose program is gone (the app moved) at this one.
    /// `Ok(true)` if it changed something.
    fn repoint_to_this_program(&self) -> Result<bool, LoginItemError> {
        Ok(false)
    }
}

/// Whether `exe` is an app bundle's executable (`….app/Contents/MacOS/NAME`).
pub fn is_inside_app_bundle(exe: &Path) -> bool {
    let above: Vec<&std::ffi::OsStr> = exe.iter().rev().skip(1).take(3).collect();
    above.len() == 3
        && above[..2] == ["MacOS", "Contents"]
        && Path::new(above[2]).extension() == Some("app".as_ref())
}

/// The login item for the current user, starting `exe`; launchd's log goes to `data_dir`.
pub fn system_login_item(
    exe: PathBuf,
    data_dir: PathBuf,
) -> Result<Box<dyn LoginItem + Send>, LoginItemError> {
    if cfg!(target_os = "macos") {
        Ok(Box::new(LaunchAgent::for_current_user(exe, data_dir)?))
    } else {
        Ok(Box::new(XdgAutostart::for_current_user(exe)?))
    }
}

/// `exe` as login-entry text: absolute, UTF-8 and free of control characters (XML 1.0 cannot hold
/// most).
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

/// Mode 0644: launchd ignores a plist that others can write.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LoginItemError> {
    crate::atomic_file::write(path, bytes, 0o644).map_err(io_error("write", path))
}

/// The entry at `path`, or the status its absence or unreadability means.
fn read_entry(path: &Path) -> Result<Vec<u8>, LoginStatus> {
    let detail = |error: LoginItemError| error.to_string();
    read_if_there(path)
        .map_err(|error| LoginStatus::Unrecognized {
            detail: detail(error),
        })?
        .ok_or(LoginStatus::Disabled)
}

fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>, LoginItemError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_error("read", path)(error)),
    }
}

fn remove_if_there(path: &Path) -> Result<(), LoginItemError> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            Err(io_error("remove", path)(error))
        }
        _ => Ok(()),
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> LoginItemError {
    let path = path.to_path_buf();
    move |source| LoginItemError::Io {
        action,
        path,
        source,
    }
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
