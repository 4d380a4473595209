//! `history.json` on disk: read, written atomically, set aside (never overwritten) if unreadable.

use std::io;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::History;
use crate::text::log::{history_note, HistoryNote};
use crate::text::Lang;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not a valid history ({why})")]
    Invalid { path: PathBuf, why: String },
}

/// `Ok(None)` when there is none yet.
pub fn read(path: &Path) -> Result<Option<History>, HistoryError> {
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(HistoryError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| HistoryError::Invalid {
            path: path.to_path_buf(),
            why: e.to_string(),
        })
}

#[derive(Debug)]
pub struct Loaded {
    pub history: History,
    /// A line for worker.log when something had to be done.
    pub note: Option<String>,
    /// Not while an unreadable file could not be moved out of the way.
    pub writable: bool,
}

/// Loads the history at `path` for the app. A file that is not a valid history is renamed to
/// `history.json.corrupt-<today>` (a person may still read it) and a fresh one begins, with a
/// note for the log; one that cannot be read or moved is left alone and never written over.
pub fn load(path: &Path, today: NaiveDate, lang: Lang) -> Loaded {
    let fresh = |note, writable| Loaded {
        history: History::default(),
        note: Some(history_note(lang, note)),
        writable,
    };
    match read(path) {
        Ok(history) => {
            let mut history = history.unwrap_or_default();
            if let Ok(written) = std::fs::metadata(path).and_then(|m| m.modified()) {
                history.resumed(written.into());
            }
            Loaded {
                history,
                note: None,
                writable: true,
            }
        }
        Err(error @ HistoryError::Read { .. }) => {
            let error = &error.to_string();
            fresh(HistoryNote::Unreadable { error }, false)
        }
        Err(error @ HistoryError::Invalid { .. }) => {
            let error = &error.to_string();
            let aside = set_aside_name(path, today);
            match std::fs::rename(path, &aside) {
                Ok(()) => {
                    let aside = &aside.display().to_string();
                    fresh(HistoryNote::SetAside { error, aside }, true)
                }
                Err(e) => {
                    let why = &e.to_string();
                    fresh(HistoryNote::NotSetAside { error, why }, false)
                }
            }
        }
    }
}

/// `history.json.corrupt-<date>`, or with `-2`, `-3`… when that name is taken.
fn set_aside_name(path: &Path, today: NaiveDate) -> PathBuf {
    let base = format!("{}.corrupt-{today}", path.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}-{n}"));
        n += 1;
    }
    candidate
}

pub fn to_bytes(history: &History) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(history).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes `bytes` (from [`to_bytes`]) atomically, readable by the user only.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    crate::atomic_file::write(path, bytes, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 29).expect("date")
    }

    #[test]
    fn a_history_survives_a_write_and_a_load() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("history.json");
        let loaded = load(&path, day(), Lang::En);
        assert_eq!(loaded.history, History::default());
        assert!(loaded.note.is_none() && loaded.writable);
        let mut history = loaded.history;
        history.add_cpu(day(), Duration::from_secs(90));
        write(&path, &to_bytes(&history)).expect("write");
        assert_eq!(load(&path, day(), Lang::En).history, history);
        assert_eq!(read(&path).expect("read"), Some(history));
    }

    #[test]
    fn a_corrupt_file_is_set_aside_never_emptied() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("history.json");
        std::fs::write(&path, "{\"version\": 1, \"days\": {\"2026-11-2").expect("seed");
        let loaded = load(&path, day(), Lang::En);
        assert!(loaded.writable);
        assert_eq!(loaded.history, History::default());
        let note = loaded.note.expect("a note for the log");
        assert!(note.contains("history.json.corrupt-2026-11-29"), "{note}");
        let aside = dir.path().join("history.json.corrupt-2026-11-29");
        assert_eq!(
            std::fs::read_to_string(&aside).expect("kept"),
            "{\"version\": 1, \"days\": {\"2026-11-2"
        );
        assert!(!path.exists());
        // A second corrupt file the same day does not replace the first.
        std::fs::write(&path, "not json").expect("seed");
        let note = load(&path, day(), Lang::En).note.expect("note");
        assert!(note.contains("corrupt-2026-11-29-2"), "{note}");
        assert!(aside.exists());
    }

    #[test]
    fn a_day_with_more_cpu_time_than_a_day_holds_is_set_aside() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("history.json");
        let huge = r#"{"version": 1, "days": {"2026-11-28": {"cpu_secs": 1.7e308},
            "2026-11-29": {"cpu_secs": 1.7e308}}}"#;
        for seeded in [
            huge,
            r#"{"version": 1, "days": {"2026-11-29": {"cpu_secs": -5}}}"#,
        ] {
            std::fs::write(&path, seeded).expect("seed");
            let loaded = load(&path, day(), Lang::En);
            let note = loaded.note.unwrap_or_default();
            assert!(note.contains("corrupt-2026-11-29"), "{seeded}: {note:?}");
            let summary = loaded.history.summary(day());
            assert_eq!(summary.week_cpu_secs, 0.0);
            assert!(serde_json::to_string(&summary).is_ok_and(|json| !json.contains("null")));
        }
        // What was read is counted on to the cap, never to infinity.
        let mut history = History::default();
        for _ in 0..3 {
            history.add_cpu(day(), Duration::MAX);
        }
        assert_eq!(history.cpu_secs(day()), super::super::DAY_CPU_SECS_MAX);
        assert!(history
            .stats(chrono::Utc::now(), day())
            .month_cpu_hours
            .is_finite());
    }

    #[test]
    fn reading_never_moves_anything() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("history.json");
        assert!(read(&path).expect("none").is_none());
        std::fs::write(&path, "[]").expect("seed");
        assert!(matches!(read(&path), Err(HistoryError::Invalid { .. })));
        assert!(path.exists());
    }
}
