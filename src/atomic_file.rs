//! Replacing a file so that a crash leaves the old content or the new, never half of either.
//!
//! The one way this crate writes a file someone else reads later (config.toml, the login
//! entry, the worker's pid file). It writes bytes and nothing else: what goes in the file and
//! where the folder comes from are the caller's business.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// Gives each temp file a distinct name when two writes run at once in one process.
static TEMP_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Replaces `path` with `bytes`, mode `mode` (exactly: the umask does not narrow it).
///
/// A temp file in the same folder (hidden, and not ending in `.plist`/`.desktop`/`.toml`, so
/// nothing loads a leftover) is written and fsynced, renamed over `path`, then the folder is
/// fsynced so the rename itself survives a crash. On error the temp file is removed and `path`
/// is untouched.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // `mode` at creation is narrowed by the umask; set it on the open file as well.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        // Best effort: the temp file is ours and useless now; the real file is untouched.
        let _ = fs::remove_file(&tmp);
    }
    result
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
