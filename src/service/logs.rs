//! The logs folder the menu opens: `logs/` in the data folder, with links to `worker.log`, Ray's
//! own output and the worker's Ray session logs (in its private Ray folder, new at each start),
//! and on macOS `~/Library/Logs/BitTrader Worker` linking to it, so that Console.app lists them.

use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::config::Paths;

/// Where Console.app looks, for the default data folder only (a test's or a second folder
/// would take the one name from the user's own).
pub fn console_link(paths: &Paths) -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME")?);
    (cfg!(target_os = "macos") && paths.is_the_default_folder())
        .then(|| home.join("Library/Logs/BitTrader Worker"))
}

/// Makes the logs folder and its links (`ray_session`: the worker's Ray session logs, when it
/// has a private Ray folder), and `console` linking to it; returns the folder. A file that is
/// not a link of ours is never replaced.
pub fn link(
    paths: &Paths,
    ray_session: Option<&Path>,
    console: Option<&Path>,
) -> io::Result<PathBuf> {
    let folder = paths.logs_dir();
    std::fs::create_dir_all(&folder)?;
    let links = [
        ("worker.log", Some(paths.log_file())),
        ("ray-worker.out", Some(paths.ray_log_file())),
        ("ray-session", ray_session.map(Path::to_path_buf)),
    ];
    for (name, target) in links {
        if let Some(target) = target {
            replace_link(&folder.join(name), &target)?;
        }
    }
    if let Some(console) = console {
        replace_link(console, &folder)?;
    }
    Ok(folder)
}

/// `at` becomes a link to `target`, unless something other than a link is there.
fn replace_link(at: &Path, target: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(at) {
        Ok(meta) if !meta.file_type().is_symlink() => return Ok(()),
        Ok(_) if std::fs::read_link(at)? == target => return Ok(()),
        Ok(_) => std::fs::remove_file(at)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(parent) = at.parent() {
        std::fs::create_dir_all(parent)?;
    }
    symlink(target, at)
}
