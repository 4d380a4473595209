//! Replacing a file so that a crash leaves the old content or the new, never half of either.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Replaces `path` with `bytes`, mode `mode` exactly (the umask does not narrow it): a hidden temp
/// file in the same folder (`.NAME.XXXXXX.tmp`, which nothing loads) is written, fsynced and
/// renamed over `path`, then the folder is fsynced so the rename survives a crash. On error `path`
/// is untouched. A link at `path` stays a link: the file it leads to is replaced, in its folder.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let path = &fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    file.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    fs::File::open(dir)?.sync_all()
}

/// Removes from `dir` our temp files (`.NAME.XXXXXX.tmp`) that a crash between write and rename
/// left: untouched for ten minutes (a younger one may be a write under way). Nothing else.
pub fn remove_stale_temp_files(dir: &Path) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name
            .to_str()
            .and_then(|n| n.strip_prefix('.')?.strip_suffix(".tmp"));
        let ours = name
            .and_then(|n| n.rsplit_once('.'))
            .is_some_and(|(file, random)| {
                !file.is_empty()
                    && random.len() == 6
                    && random.chars().all(|c| c.is_ascii_alphanumeric())
            });
        // Not followed if a link.
        let stale = entry.metadata().is_ok_and(|meta| {
            let age = meta.modified().ok().and_then(|at| at.elapsed().ok());
            meta.is_file() && age.is_some_and(|age| age.as_secs() >= 600)
        });
        if ours && stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn stale_temp_files_of_ours_are_removed_at_start_and_nothing_else() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = crate::config::Paths {
            home: dir.path().to_path_buf(),
        };
        let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let stale = ".config.toml.a1B2c3.tmp";
        // Ours but fresh (a write under way), and the user's: all kept.
        let kept = [
            ".history.json.Zz9y8X.tmp",
            ".config.toml.tmp",
            ".notes.abcdefg.tmp",
            "notes.abcdef.tmp",
            ".config.toml.abc-ef.tmp",
        ];
        for name in kept.iter().chain([&stale]) {
            let file = fs::File::create(dir.path().join(name)).expect("create");
            if *name != kept[0] {
                file.set_modified(an_hour_ago).expect("age it");
            }
        }
        let _prepared = crate::service::prepare(&paths).expect("start");
        let left = names_in(dir.path());
        assert!(!left.contains(&stale.to_string()), "{left:?}");
        for name in kept {
            assert!(left.contains(&name.to_string()), "{name} removed: {left:?}");
        }
    }

    #[test]
    fn content_is_replaced_and_no_temp_file_is_left() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("file.toml");
        fs::write(&path, "old").expect("seed");
        write(&path, b"new content", 0o600).expect("write");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new content");
        assert_eq!(names_in(dir.path()), ["file.toml"]);
    }

    #[test]
    fn mode_is_honoured_whatever_the_umask() {
        let dir = tempfile::tempdir().expect("temp dir");
        for mode in [0o600, 0o644, 0o666] {
            let path = dir.path().join(format!("f{mode:o}"));
            write(&path, b"x", mode).expect("write");
            let got = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(got, mode, "{mode:o}");
        }
    }

    #[test]
    fn a_missing_folder_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("missing").join("file");
        assert!(write(&path, b"x", 0o600).is_err());
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_rename_leaves_the_target_and_no_temp_file() {
        // A non-empty folder at the target: the rename fails after the temp file was written.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("target");
        fs::create_dir(&path).expect("mkdir");
        fs::write(path.join("inside"), "keep").expect("seed");
        assert!(write(&path, b"x", 0o600).is_err());
        assert_eq!(names_in(dir.path()), ["target"]);
        assert_eq!(
            fs::read_to_string(path.join("inside")).expect("read"),
            "keep"
        );
    }
}
