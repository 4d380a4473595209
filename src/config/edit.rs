//! Changing one setting in `config.toml` and nothing else (the file is the user's too): re-read,
//! set the key (its comment kept), replace atomically, all under a `flock` on `config.lock` so the
//! CLI and the app never interleave. [`read_if_changed`] reads it for the app's watcher.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use nix::fcntl::{Flock, FlockArg};

use super::{Config, ConfigError, Paths};
use crate::model::HeadAddress;

/// The first line of a config.toml this program creates.
pub(super) const HEADER: &str =
    "# BitTrader Worker settings. Unknown keys are refused; see `bittrader-worker --help`.\n";

/// One setting the user changes from the app or the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    Paused(bool),
    Cpus(u32),
    Head(HeadAddress),
}

impl Setting {
    pub fn key(&self) -> &'static str {
        match self {
            Setting::Paused(_) => "paused",
            Setting::Cpus(_) => "cpus",
            Setting::Head(_) => "head",
        }
    }

    fn value(&self) -> toml_edit::Value {
        match self {
            Setting::Paused(paused) => (*paused).into(),
            Setting::Cpus(cpus) => i64::from(*cpus).into(),
            Setting::Head(head) => head.to_string().into(),
        }
    }
}

/// Sets `setting` in config.toml, keeping every other line; creates the file (and folder) if there
/// is none. A file that is not TOML is left untouched and the error says so.
pub fn save_setting(paths: &Paths, setting: &Setting) -> Result<(), ConfigError> {
    let path = paths.config_file();
    let save_err = |source: io::Error| ConfigError::Save {
        path: path.clone(),
        source,
    };
    paths.ensure_home().map_err(save_err)?;
    let _lock = lock(paths).map_err(save_err)?;
    let (text, header) = match fs::read_to_string(&path) {
        Ok(text) => (text, ""),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (String::new(), HEADER),
        Err(source) => return Err(save_err(source)),
    };
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let (key, why) = (setting.key(), super::one_line(e.message()));
        let message =
            format!("cannot change `{key}`: the file is not valid TOML ({why}); fix it first");
        ConfigError::in_file(&path, message)
    })?;
    let mut value = setting.value();
    match doc
        .get_mut(setting.key())
        .and_then(|item| item.as_value_mut())
    {
        Some(old) => {
            // The comment after the old value (`cpus = 4  # leave two for me`) stays.
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        None => doc[setting.key()] = toml_edit::Item::Value(value),
    }
    let text = format!("{header}{doc}");
    crate::atomic_file::write(&path, text.as_bytes(), 0o600).map_err(save_err)
}

/// Holds the exclusive lock on `config.lock` until dropped (blocking: held for one small file).
pub(super) fn lock(paths: &Paths) -> io::Result<Flock<fs::File>> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        // A link planted here is not followed (nor its target created).
        .custom_flags(libc::O_NOFOLLOW)
        .open(paths.config_lock_file())?;
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))
}

/// One version of the file: a replace changes the inode, an edit the modification time or size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    inode: u64,
    size: u64,
    /// Seconds and nanoseconds.
    modified: (i64, i64),
    changed: (i64, i64),
}

/// What the watcher found in config.toml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileReading {
    Valid(Config),
    /// The file was removed.
    Missing,
    /// The message names the file, the key and what is allowed.
    Invalid(String),
}

/// `None` if config.toml's stamp is still `last`, else what it says now and its new stamp: one
/// `stat`, and a read only when it changed.
pub fn read_if_changed(
    paths: &Paths,
    last: Option<FileStamp>,
    machine_cpus: u32,
) -> Option<(FileReading, Option<FileStamp>)> {
    let path = paths.config_file();
    let stamp = fs::metadata(&path).ok().map(|meta| FileStamp {
        inode: meta.ino(),
        size: meta.size(),
        modified: (meta.mtime(), meta.mtime_nsec()),
        changed: (meta.ctime(), meta.ctime_nsec()),
    });
    if stamp == last {
        return None;
    }
    let reading = match super::read_text(&path) {
        Ok(None) => FileReading::Missing,
        Ok(Some(text)) => match Config::parse_toml(&text, &path, machine_cpus) {
            Ok(config) => FileReading::Valid(config),
            Err(e) => FileReading::Invalid(e.to_string()),
        },
        Err(e) => FileReading::Invalid(e.to_string()),
    };
    Some((reading, stamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{head, setup};

    const HAND_WRITTEN: &str = "\
# My laptop: leave two cores for me.
head = \"100.64.0.1:6379\"   # the desktop
cpus = 4  # not more

[timing]
# slow Wi-Fi at home
grace_secs = 90
";

    #[test]
    fn one_key_changes_and_every_comment_stays() {
        let (_dir, paths) = setup();
        fs::write(paths.config_file(), HAND_WRITTEN).unwrap();
        save_setting(&paths, &Setting::Cpus(2)).unwrap();
        save_setting(&paths, &Setting::Paused(true)).unwrap();
        save_setting(&paths, &Setting::Head(head("desktop.tail1.ts.net", 6380))).unwrap();
        let text = fs::read_to_string(paths.config_file()).unwrap();
        assert_eq!(
            text,
            "\
# My laptop: leave two cores for me.
head = \"desktop.tail1.ts.net:6380\"   # the desktop
cpus = 2  # not more
paused = true

[timing]
# slow Wi-Fi at home
grace_secs = 90
"
        );
        let config = Config::load_or_import(&paths, 8).unwrap().config;
        assert_eq!(config.timing.grace_secs, 90);
        assert!(config.paused);
    }

    #[test]
    fn a_hand_edit_made_after_start_is_kept_by_the_next_change() {
        let (_dir, paths) = setup();
        fs::write(paths.config_file(), "cpus = 4\n").unwrap();
        // What the running app read at start: cpus = 4, no head.
        let _at_start = Config::load_or_import(&paths, 8).unwrap().config;
        // The user sets a head by hand (or `bittrader-worker head X` while it was down).
        fs::write(paths.config_file(), "cpus = 4\nhead = \"100.64.0.9\"\n").unwrap();
        save_setting(&paths, &Setting::Paused(true)).unwrap();
        let config = Config::load_or_import(&paths, 8).unwrap().config;
        assert_eq!(config.head, Some(head("100.64.0.9", 6379)));
        assert!(config.paused);
    }

    #[test]
    fn a_linked_config_toml_gets_the_change_in_its_target_and_stays_a_link() {
        let (dir, paths) = setup();
        let dotfiles = dir.path().join("dotfiles");
        fs::create_dir(&dotfiles).unwrap();
        let target = dotfiles.join("worker.toml");
        fs::write(&target, "cpus = 2  # mine\n").unwrap();
        std::os::unix::fs::symlink("../dotfiles/worker.toml", paths.config_file()).unwrap();
        save_setting(&paths, &Setting::Paused(true)).unwrap();
        let link = fs::symlink_metadata(paths.config_file()).unwrap();
        assert!(link.file_type().is_symlink(), "still a link");
        assert_eq!(
            fs::read_to_string(&target).unwrap(),
            "cpus = 2  # mine\npaused = true\n"
        );
        let left: Vec<_> = fs::read_dir(&dotfiles).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "no temp file beside the target: {left:?}");
        assert!(Config::load_or_import(&paths, 8).unwrap().config.paused);
    }

    #[test]
    fn no_file_gets_a_header_and_the_key_only() {
        let (_dir, paths) = setup();
        save_setting(&paths, &Setting::Head(head("100.64.0.1", 6379))).unwrap();
        let text = fs::read_to_string(paths.config_file()).unwrap();
        assert_eq!(text, format!("{HEADER}head = \"100.64.0.1:6379\"\n"));
        let mode = fs::metadata(paths.config_file()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_file_that_is_not_toml_is_left_alone() {
        let (_dir, paths) = setup();
        let junk = "head = \"100.64.0.1\nthis is [not toml\n";
        fs::write(paths.config_file(), junk).unwrap();
        let err = save_setting(&paths, &Setting::Paused(true)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("cannot change `paused`"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        assert_eq!(fs::read_to_string(paths.config_file()).unwrap(), junk);
    }

    #[test]
    fn the_watcher_sees_each_change_once() {
        let (_dir, paths) = setup();
        assert_eq!(
            read_if_changed(&paths, None, 8),
            None,
            "no file, nothing new"
        );
        fs::write(paths.config_file(), "cpus = 3\n").unwrap();
        let (reading, stamp) = read_if_changed(&paths, None, 8).unwrap();
        assert!(matches!(reading, FileReading::Valid(ref c) if c.cpus == 3));
        assert_eq!(read_if_changed(&paths, stamp, 8), None);
        save_setting(&paths, &Setting::Cpus(2)).unwrap();
        let (reading, stamp) = read_if_changed(&paths, stamp, 8).unwrap();
        assert!(matches!(reading, FileReading::Valid(ref c) if c.cpus == 2));
        fs::write(paths.config_file(), "cpus = 99\n").unwrap();
        let (reading, stamp) = read_if_changed(&paths, stamp, 8).unwrap();
        assert!(
            matches!(reading, FileReading::Invalid(ref m) if m.contains("choose 1 to 8")),
            "{reading:?}"
        );
        fs::remove_file(paths.config_file()).unwrap();
        let (reading, stamp) = read_if_changed(&paths, stamp, 8).unwrap();
        assert_eq!(reading, FileReading::Missing);
        assert_eq!(stamp, None);
    }
}
