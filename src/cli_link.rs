//! `install-cli` and the menu's "Install command-line tool…": a link named `bittrader-worker` to
//! the running binary in a folder on PATH, as Tailscale and Ollama make one. Only a link of ours
//! (to this or another copy of the app) is ever replaced; a file or a link to something else is
//! left as it is. The administrator's password is asked (macOS) only when the folder needs it.

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::model::{CliLinkRefused, CliLinked};
use crate::platform::admin::{self, AdminError};
use crate::platform::login_item::is_inside_app_bundle;

/// The link's name: the command a terminal types.
const LINK_NAME: &str = "bittrader-worker";

/// The folder of the link when none is named: /usr/local/bin on macOS (on the PATH of every
/// login shell, through /etc/paths), XDG's ~/.local/bin for a user's programs elsewhere.
fn default_dir(home: Option<&Path>) -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        Some(PathBuf::from("/usr/local/bin"))
    } else {
        home.map(|home| home.join(".local/bin"))
    }
}

/// Makes the link in `dir` (the default folder when `None`) to this program, as the command and
/// the menu do: the running program's path, the user's HOME and PATH read here.
pub fn install(dir: Option<PathBuf>) -> Result<CliLinked, CliLinkRefused> {
    // Resolved: run through the link itself, `current_exe` may name the link (macOS), and a link
    // to itself would be a loop.
    let target = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| CliLinkRefused::ThisProgramUnknown { why: e.to_string() })?;
    let home = std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from);
    let dir = match dir {
        Some(dir) => std::path::absolute(&dir).unwrap_or(dir),
        None => default_dir(home.as_deref()).ok_or(CliLinkRefused::NoHome)?,
    };
    let mut linked = link(&dir, &target)?;
    linked.on_path = on_path(&dir, &shell_path());
    Ok(linked)
}

/// Makes `dir/bittrader-worker` point at `target`, unless something not ours is there.
fn link(dir: &Path, target: &Path) -> Result<CliLinked, CliLinkRefused> {
    let link = dir.join(LINK_NAME);
    let mut linked = CliLinked {
        link: link.clone(),
        target: target.to_path_buf(),
        replaced: None,
        on_path: false,
    };
    match std::fs::symlink_metadata(&link) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(failed(&link, &e)),
        Ok(found) if !found.file_type().is_symlink() => {
            return Err(CliLinkRefused::NotALink { link });
        }
        Ok(_) => {
            let points_to = std::fs::read_link(&link).map_err(|e| failed(&link, &e))?;
            if points_to == target {
                return Ok(linked);
            }
            if !is_ours(&dir.join(&points_to), target) {
                let target = points_to;
                return Err(CliLinkRefused::OtherLink { link, target });
            }
            linked.replaced = Some(points_to);
        }
    }
    match make_link(dir, target, &link, linked.replaced.is_some()) {
        Ok(()) => Ok(linked),
        Err(e) if e.kind() == ErrorKind::PermissionDenied && cfg!(target_os = "macos") => {
            match admin::link_as_admin(dir, target, &link) {
                Ok(()) => Ok(linked),
                Err(AdminError::Cancelled) => Err(CliLinkRefused::AdminCancelled),
                Err(AdminError::Failed(why)) => Err(CliLinkRefused::Failed { path: link, why }),
            }
        }
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Err(CliLinkRefused::NoPermission {
            dir: dir.to_path_buf(),
            link,
            target: target.to_path_buf(),
        }),
        Err(e) => Err(failed(&link, &e)),
    }
}

fn failed(path: &Path, error: &std::io::Error) -> CliLinkRefused {
    CliLinkRefused::Failed {
        path: path.to_path_buf(),
        why: error.to_string(),
    }
}

/// A link of ours points at this program, or at an app bundle's `bittrader-worker` (another
/// copy of the app, perhaps moved or deleted since).
fn is_ours(points_to: &Path, this: &Path) -> bool {
    points_to == this
        || std::fs::canonicalize(points_to).is_ok_and(|real| real == this)
        || (points_to.file_name() == Some(OsStr::new(LINK_NAME)) && is_inside_app_bundle(points_to))
}

/// Creates `dir` if missing, then the link; a link of ours is replaced in one step (a new link
/// renamed over it), so there is never a moment without one.
fn make_link(dir: &Path, target: &Path, link: &Path, replace: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if !replace {
        return std::os::unix::fs::symlink(target, link);
    }
    let fresh = dir.join(format!(".{LINK_NAME}.{}", std::process::id()));
    let _ = std::fs::remove_file(&fresh);
    std::os::unix::fs::symlink(target, &fresh)?;
    std::fs::rename(&fresh, link).inspect_err(|_| {
        let _ = std::fs::remove_file(&fresh);
    })
}

/// The folders a new terminal looks in: this process's `PATH`, and /etc/paths, which macOS's
/// login shells add (an app opened from Finder has a short PATH without /usr/local/bin).
fn shell_path() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    if let Ok(system) = std::fs::read_to_string("/etc/paths") {
        dirs.extend(system.lines().map(str::trim).map(PathBuf::from));
    }
    dirs
}

/// Whether `dir` is one of `dirs`, as written or once links are resolved.
fn on_path(dir: &Path, dirs: &[PathBuf]) -> bool {
    let real = |path: &Path| std::fs::canonicalize(path).ok();
    dirs.iter()
        .filter(|entry| !entry.as_os_str().is_empty())
        .any(|entry| entry == dir || real(entry).is_some_and(|e| Some(e) == real(dir)))
}
