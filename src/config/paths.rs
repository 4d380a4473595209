//! Where every file of the worker lives, and which folder may hold them.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::PathBuf;

use super::ConfigError;
use crate::text::{self, FolderProblem, Lang};

/// `pub fn NAME(&self) -> PathBuf` for each file of the folder, and `entries`: all of them.
macro_rules! files {
    ($($(#[$doc:meta])* $name:ident: $file:literal,)*) => {
        $($(#[$doc])* pub fn $name(&self) -> PathBuf {
            self.home.join($file)
        })*

        /// Every file and folder of the app's named above (`uninstall` removes these from a
        /// folder that is not the app's own).
        pub fn entries(&self) -> Vec<PathBuf> {
            vec![$(self.home.join($file)),*]
        }
    };
}

/// Where every file lives: one folder, `~/.bittrader_worker` by default (the old install's too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub home: PathBuf,
}

impl Paths {
    /// `$BITTRADER_WORKER_HOME` if set (and not empty), else `$HOME/.bittrader_worker`.
    pub fn from_env() -> Result<Paths, ConfigError> {
        Self::from_vars(
            std::env::var_os("BITTRADER_WORKER_HOME"),
            std::env::var_os("HOME"),
        )
    }

    /// [`Paths::from_env`] without touching the process environment (tests).
    fn from_vars(
        worker_home: Option<OsString>,
        home: Option<OsString>,
    ) -> Result<Paths, ConfigError> {
        if let Some(dir) = worker_home.filter(|v| !v.is_empty()) {
            let path = PathBuf::from(dir);
            // A launchd agent runs with cwd `/`, a terminal elsewhere: a relative folder would
            // silently split the configuration in two.
            if path.is_relative() {
                return Err(ConfigError::RelativeHome { path });
            }
            return Ok(Paths { home: path });
        }
        let home = home.filter(|v| !v.is_empty()).ok_or(ConfigError::NoHome)?;
        Ok(Paths {
            home: PathBuf::from(home).join(".bittrader_worker"),
        })
    }

    files! {
        config_file: "config.toml",
        /// Held (flock) while config.toml is read and replaced.
        config_lock_file: "config.lock",
        /// The old shell install's settings (`HEAD_IP=...`), read once on import.
        legacy_env: "config.env",
        /// The old shell install's CPU count, read once on import.
        legacy_cpus: "current_cpus",
        log_file: "worker.log",
        /// The output of `ray start --block`.
        ray_log_file: "ray-worker.out",
        /// The local socket the CLI talks to the daemon through.
        socket: "control.sock",
        /// The last `doctor` report, for a bug report.
        doctor_file: "doctor.txt",
        /// Links to every log, for the menu's "Open logs folder" (service::logs).
        logs_dir: "logs",
        /// Held by the running daemon so that only one runs.
        lock_file: "supervisor.lock",
        /// Exists once the first-run search offered a head it found, so it offers once.
        first_run_offer_file: "first-run-offered",
        /// The Ray worker's process id, to clean up an orphan after a crash.
        worker_pid_file: "worker.pid",
        /// CPU time given per day and the last week's timeline.
        history_file: "history.json",
        /// The page "Contribution…" opens, drawn from the history.
        contribution_page: "contribution.html",
        /// The Python environment holding Ray.
        venv_dir: ".venv",
    }

    /// Creates the folder 0700 whatever the umask. An existing one is never changed but the app's
    /// own `~/.bittrader_worker` (its or the old install's), narrowed to 0700.
    pub fn ensure_home(&self) -> io::Result<()> {
        let missing = fs::symlink_metadata(&self.home).is_err();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.home)?;
        self.check_home()?;
        if missing || self.is_the_default_folder() {
            fs::set_permissions(&self.home, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }

    /// Refuses a folder of another user (who could swap config.toml or plant a `ray`), or one named
    /// by `BITTRADER_WORKER_HOME` and writable by others (not narrowed: it may be shared on purpose).
    pub fn check_home(&self) -> io::Result<()> {
        let meta = match fs::metadata(&self.home) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        };
        let path = &self.home.display().to_string();
        let (owner, you) = (meta.uid(), nix::unistd::geteuid().as_raw());
        let mode = meta.permissions().mode() & 0o7777;
        let problem = if !meta.is_dir() {
            FolderProblem::NotAFolder(path)
        } else if owner != you {
            FolderProblem::OtherOwner { path, owner, you }
        } else if mode & 0o022 != 0 && !self.is_the_default_folder() {
            FolderProblem::OpenToOthers { path, mode }
        } else {
            return Ok(());
        };
        let message = text::folder_problem(Lang::current(), problem);
        Err(io::Error::new(io::ErrorKind::PermissionDenied, message))
    }

    /// `$HOME/.bittrader_worker`: the app's own (or the old install's) folder.
    pub fn is_the_default_folder(&self) -> bool {
        Self::from_vars(None, std::env::var_os("HOME")).is_ok_and(|default| default == *self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::paths_in;

    #[test]
    fn paths_from_vars() {
        let p = Paths::from_vars(Some("/opt/bw".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p.home, PathBuf::from("/opt/bw"));
        let p = Paths::from_vars(Some("".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p.home, PathBuf::from("/home/u/.bittrader_worker"));
        assert_eq!(
            p.config_file(),
            PathBuf::from("/home/u/.bittrader_worker/config.toml")
        );
        assert_eq!(
            p.socket(),
            PathBuf::from("/home/u/.bittrader_worker/control.sock")
        );
        assert!(matches!(
            Paths::from_vars(Some("rel/dir".into()), None),
            Err(ConfigError::RelativeHome { .. })
        ));
        assert!(matches!(
            Paths::from_vars(None, None),
            Err(ConfigError::NoHome)
        ));
    }

    #[test]
    fn a_folder_of_another_user_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(&dir);
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&paths.home)
            .unwrap();
        let stranger = nix::unistd::Uid::from_raw(65534);
        if nix::unistd::chown(&paths.home, Some(stranger), None).is_err() {
            eprintln!("not root: cannot give a folder to another user; not tested");
            return;
        }
        let err = paths.ensure_home().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        let msg = err.to_string();
        assert!(
            msg.contains("belongs to another user (uid 65534)")
                && msg.contains("BITTRADER_WORKER_HOME"),
            "{msg}"
        );
        let meta = fs::metadata(&paths.home).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o755, "left as it was");
        assert_eq!(meta.uid(), 65534);
    }

    #[test]
    fn a_new_folder_is_made_0700_and_a_writable_one_named_by_the_user_is_refused_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(&dir);
        paths.ensure_home().unwrap();
        let mode = fs::metadata(&paths.home).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o700, "made by the app");
        // A shared folder (sticky, like /tmp) and one its group may write into.
        for open in [0o1777, 0o775] {
            fs::set_permissions(&paths.home, fs::Permissions::from_mode(open)).unwrap();
            let err = paths.ensure_home().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("chmod 700 {}", paths.home.display()))
                    && msg.contains("BITTRADER_WORKER_HOME"),
                "{msg}"
            );
            let mode = fs::metadata(&paths.home).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, open, "left as it was");
        }
        // One others may only read (`mkdir`'s usual 0755) is used as it is.
        fs::set_permissions(&paths.home, fs::Permissions::from_mode(0o755)).unwrap();
        paths.ensure_home().unwrap();
        let mode = fs::metadata(&paths.home).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755, "left as it was");
    }
}
