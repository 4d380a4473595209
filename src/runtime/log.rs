//! `worker.log`: one timestamped line per change of state, rotated so that it never grows
//! without bound.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// `worker.log` and the Ray output file are each kept under this size (plus one old copy).
pub const LOG_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// A log written by the driver and the tasks it spawns alike.
pub type SharedLog = Arc<Mutex<RotatingLog>>;

/// A [`SharedLog`] at `path`, kept under [`LOG_MAX_BYTES`].
pub fn shared(path: PathBuf) -> SharedLog {
    Arc::new(Mutex::new(RotatingLog::new(path, LOG_MAX_BYTES)))
}

/// Appends `text` to `log` as one line; one that cannot be written is counted there.
pub fn note(log: &SharedLog, text: &str) {
    let _ = super::lock(log).line(text);
}

/// An append-only text log that keeps itself under `max_bytes` by moving the full file to
/// `NAME.1` (one old generation is kept, like newsyslog's `count 1`).
#[derive(Debug)]
pub struct RotatingLog {
    path: PathBuf,
    max_bytes: u64,
    file: Option<File>,
    written: u64,
    /// Lines that could not be written (a full disk, an unwritable folder) since the last one
    /// that could: said in one note once writing works again, so that a gap is never silent.
    dropped: u64,
    /// The language of that note: the process's.
    lang: crate::text::Lang,
}

impl RotatingLog {
    /// A log at `path`; the file is opened on the first write.
    pub fn new(path: impl Into<PathBuf>, max_bytes: u64) -> Self {
        RotatingLog {
            path: path.into(),
            max_bytes,
            file: None,
            written: 0,
            dropped: 0,
            lang: crate::text::Lang::current(),
        }
    }

    /// Appends `text` as one line stamped with the local time: `YYYY-MM-DD HH:MM:SS - text`.
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        self.raw(&stamped(text))
    }

    /// Appends `text` as it is. A write that fails is counted, not retried: the next one that
    /// works is preceded by one note saying how many were lost.
    pub fn raw(&mut self, text: &str) -> io::Result<()> {
        let mut written = Ok(());
        if self.dropped > 0 {
            let lost = crate::text::log::dropped_log_lines_note(self.lang, self.dropped);
            written = self.append(&stamped(&lost)).map(|()| self.dropped = 0);
        }
        let written = written.and_then(|()| self.append(text));
        if written.is_err() {
            self.dropped += 1;
            // Reopened on the next write: the file may have been replaced meanwhile.
            self.file = None;
        }
        written
    }

    fn append(&mut self, text: &str) -> io::Result<()> {
        if self.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.written = file.metadata().map(|m| m.len()).unwrap_or(0);
            self.file = Some(file);
        }
        if self.written + text.len() as u64 > self.max_bytes && self.written > 0 {
            self.rotate()?;
            return self.append(text);
        }
        if let Some(file) = self.file.as_mut() {
            file.write_all(text.as_bytes())?;
            self.written += text.len() as u64;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        fs::rename(&self.path, PathBuf::from(old))?;
        self.written = 0;
        Ok(())
    }
}

fn stamped(text: &str) -> String {
    let stamp = chrono::Local::now().format("%Y-%m-%d %H:%M:%S");
    format!("{stamp} - {text}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_old_daemons_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = RotatingLog::new(dir.path().join("worker.log"), 1 << 20);
        log.line("✅ Worker connected to the cluster with 10 CPUs")
            .expect("write");
        let text = fs::read_to_string(dir.path().join("worker.log")).expect("read");
        let (stamp, rest) = text.split_once(" - ").expect("separator");
        assert_eq!(stamp.len(), "2026-01-26 10:00:08".len());
        assert!(chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").is_ok());
        assert_eq!(rest, "✅ Worker connected to the cluster with 10 CPUs\n");
    }

    #[test]
    fn it_rotates_and_stays_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("worker.log");
        let mut log = RotatingLog::new(&path, 1000);
        for i in 0..500 {
            log.line(&format!("line {i}")).expect("write");
        }
        let current = fs::metadata(&path).expect("current").len();
        let old = fs::metadata(dir.path().join("worker.log.1"))
            .expect("old")
            .len();
        assert!(current <= 1000 && old <= 1000, "{current} {old}");
        let text = fs::read_to_string(&path).expect("read");
        assert!(text.trim_end().ends_with("line 499"));
    }

    #[test]
    fn lines_that_cannot_be_written_are_counted_in_one_note() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("worker.log");
        // A full disk: every write fails with ENOSPC.
        std::os::unix::fs::symlink("/dev/full", &path).expect("symlink");
        let mut log = RotatingLog::new(&path, 1 << 20);
        assert!(log.line("one").is_err());
        assert!(log.line("two").is_err());
        // Room again.
        fs::remove_file(&path).expect("remove the link");
        log.line("three").expect("written");
        let text = fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].contains("2 line(s) of this log could not be written"),
            "{text}"
        );
        assert!(lines[1].ends_with(" - three"), "{text}");
    }
}
