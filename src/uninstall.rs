//! `uninstall`: the way out. Stops the running app, turns start at login off (the old install's
//! LaunchAgent too, its backup kept), removes Ray's environment, Console's link to the logs and,
//! unless the data is kept, the data folder. The app itself is the user's to move to the Trash.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::Paths;
pub use crate::model::Removed;
use crate::platform::login_item::{LoginItem, LoginStatus};
use crate::runtime::control::{self, Request};

/// What could not be done; nothing after it was tried.
#[derive(Debug, thiserror::Error)]
pub enum UninstallError {
    #[error("the running app did not quit: {0}")]
    StillRunning(String),
    #[error("start at login: {0}")]
    LoginItem(#[from] crate::platform::login_item::LoginItemError),
    #[error("could not remove {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Undoes what the app made for this user, telling each step to `done` as it goes.
pub fn run(
    paths: &Paths,
    keep_data: bool,
    login_item: &dyn LoginItem,
    console_link: Option<&Path>,
    mut done: impl FnMut(Removed),
) -> Result<(), UninstallError> {
    if stop_the_app(&paths.socket())? {
        done(Removed::StoppedTheApp);
    }
    match login_item.status() {
        LoginStatus::Enabled { .. } => {
            login_item.disable()?;
            done(Removed::LoginItem);
        }
        LoginStatus::Legacy { .. } => {
            if login_item.set_aside_legacy()? {
                done(Removed::LegacyLoginItem);
            }
        }
        LoginStatus::Disabled | LoginStatus::Unrecognized { .. } => {}
    }
    let ours = |link: &&Path| std::fs::read_link(link).is_ok_and(|to| to == paths.logs_dir());
    if let Some(link) = console_link.filter(ours) {
        remove(link, |p| std::fs::remove_file(p))?;
        done(Removed::Link(link.to_path_buf()));
    }
    let venv = paths.venv_dir();
    if keep_data && venv.is_dir() {
        remove(&venv, |p| std::fs::remove_dir_all(p))?;
        done(Removed::Folder(venv));
    } else if !keep_data && paths.is_the_default_folder() && paths.home.is_dir() {
        remove(&paths.home, |p| std::fs::remove_dir_all(p))?;
        done(Removed::Folder(paths.home.clone()));
    } else if !keep_data && paths.home.is_dir() {
        // A folder named by BITTRADER_WORKER_HOME may hold more than ours: only ours goes.
        for entry in paths.entries() {
            match std::fs::symlink_metadata(&entry) {
                Ok(meta) if meta.is_dir() => remove(&entry, |p| std::fs::remove_dir_all(p))?,
                Ok(_) => remove(&entry, |p| std::fs::remove_file(p))?,
                Err(_) => {}
            }
        }
        let emptied = std::fs::remove_dir(&paths.home).is_ok();
        done(Removed::FilesIn(paths.home.clone(), emptied));
    }
    Ok(())
}

fn remove(path: &Path, how: impl Fn(&Path) -> std::io::Result<()>) -> Result<(), UninstallError> {
    how(path).map_err(|source| UninstallError::Remove {
        path: path.to_path_buf(),
        source,
    })
}

/// Asks a running app to quit and waits until its socket is gone; `false` when none ran.
fn stop_the_app(socket: &Path) -> Result<bool, UninstallError> {
    match control::request(socket, &Request::Quit) {
        Err(control::ClientError::NotRunning { .. }) => return Ok(false),
        Err(e) => return Err(UninstallError::StillRunning(e.to_string())),
        Ok(_) => {}
    }
    // It answers once its worker has stopped, then removes its socket as it leaves.
    let deadline = Instant::now() + Duration::from_secs(10);
    while socket.exists() {
        if Instant::now() > deadline {
            return Err(UninstallError::StillRunning(socket.display().to_string()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(true)
}
