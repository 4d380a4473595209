//! config.toml while the app runs: the one writer of the user's changes, and the OS's reports
//! of changes. The writer replaces the file (an fsync: slow on a sick disk) off the loop, one
//! change at a time in order, and answers each request once its outcome is known. `notify`
//! (inotify, FSEvents) watches the data folder, not the file, which editors and our writer
//! replace by a rename; reports not naming config.toml (logs, history, lock, every read) are
//! dropped on notify's thread, waking nothing here. A report only says when to look
//! (`supervisor::config_looks`); the file's stamp says whether it changed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::{mpsc, oneshot};

use super::control::{Reply, StatusReport};
use super::log::{note, SharedLog};
use super::Events;
use crate::config::{save_setting, Paths, Setting};
use crate::model::ReplyNote;
use crate::supervisor::Event;
use crate::text::{self, Lang};

/// A change of one setting to write, and the answer to send once it is written (or not).
#[derive(Debug)]
pub struct Save {
    pub setting: Setting,
    pub reply: oneshot::Sender<Reply>,
    /// The state right after the request.
    pub report: StatusReport,
}

/// Starts the writer: each [`Save`] sent on the returned channel is written in turn and
/// answered: carried out, and written or not (the error is also logged).
pub fn spawn_writer(paths: Paths, log: SharedLog) -> mpsc::UnboundedSender<Save> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Save>();
    tokio::spawn(async move {
        while let Some(save) = rx.recv().await {
            let (paths, setting) = (paths.clone(), save.setting.clone());
            let outcome = tokio::task::spawn_blocking(move || {
                save_setting(&paths, &setting).map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(format!("saving config.toml stopped: {e}")));
            let not_saved = outcome.err().map(|why| ReplyNote::NotSaved {
                key: save.setting.key().to_string(),
                why,
            });
            if let Some(reply_note) = &not_saved {
                let line = text::log::not_saved_setting_line(Lang::current(), reply_note);
                note(&log, &line);
            }
            let _ = save.reply.send(Reply::done(not_saved, save.report));
        }
    });
    tx
}

/// Reports changes to config.toml to `events` ([`Event::ConfigFileChanged`]) while the returned
/// watch is kept, until [`Event::ConfigWatchLost`] (at once where none can be had). Set up before
/// the supervisor's first look, so that an edit in between is reported.
pub fn watch(paths: &Paths, events: Events) -> Option<RecommendedWatcher> {
    let started = start(paths, events.clone());
    let lost = |why| drop(events.send(Event::ConfigWatchLost { why }));
    started.map_err(lost).ok()
}

fn start(paths: &Paths, events: Events) -> Result<RecommendedWatcher, String> {
    let (folder, file) = (paths.home.as_path(), paths.config_file());
    // A link's target changes in another folder, whose changes this watch never sees.
    if std::fs::symlink_metadata(&file).is_ok_and(|meta| meta.file_type().is_symlink()) {
        return Err(format!(
            "{} is a symbolic link, and its target's folder is not watched",
            file.display()
        ));
    }
    let name = file.file_name().unwrap_or_default();
    let mut watcher = notify::recommended_watcher(reporter(folder, name, events))
        .map_err(|e| format!("they could not start: {}", describe(&e)))?;
    watcher
        .watch(folder, RecursiveMode::NonRecursive)
        .map_err(|e| format!("{}: {}", folder.display(), describe(&e)))?;
    Ok(watcher)
}

/// Sends what notify's events mean for the file `name` in `folder` to `events`, until one says
/// the watch is lost: from then on its reports are not trusted (the supervisor's cadence takes
/// over).
fn reporter(
    folder: &Path,
    name: &OsStr,
    events: Events,
) -> impl FnMut(notify::Result<notify::Event>) + Send + 'static {
    let (folder, name) = (folder.to_path_buf(), name.to_os_string());
    let mut lost = false;
    move |event| {
        if let Some(event) = report_of(event, &folder, &name).filter(|_| !lost) {
            lost = matches!(event, Event::ConfigWatchLost { .. });
            let _ = events.send(event);
        }
    }
}

/// notify's error, with a hint where an OS limit is the likely cause.
fn describe(error: &notify::Error) -> String {
    match &error.kind {
        notify::ErrorKind::MaxFilesWatch => {
            "the system's limit of file watches is reached (Linux: fs.inotify.max_user_watches)"
                .to_string()
        }
        notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::EMFILE) => format!(
            "{io} (Linux: often the limit fs.inotify.max_user_instances, shared by every \
             program of the user)"
        ),
        _ => error.to_string(),
    }
}

/// What one event of notify means for the file `name` in `folder` (`None`: nothing). Runs on
/// notify's thread: it must stay cheap, and it decides only what the event is about.
fn report_of(event: notify::Result<notify::Event>, folder: &Path, name: &OsStr) -> Option<Event> {
    let event = match event {
        Ok(event) => event,
        Err(error) => {
            let why = describe(&error);
            return Some(Event::ConfigWatchLost { why });
        }
    };
    // Events were dropped (a queue overflowed): config.toml may be among them.
    if event.need_rescan() {
        return Some(Event::ConfigFileChanged);
    }
    match event.kind {
        // Opening and reading change nothing, and the watcher's own read of the file is one of
        // them: only the end of a write counts.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return None,
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
            if event.paths.iter().any(|path| path == folder) =>
        {
            let why = format!("{} was removed or moved", folder.display());
            return Some(Event::ConfigWatchLost { why });
        }
        _ => {}
    }
    let names_the_file = |path: &PathBuf| path.file_name() == Some(name);
    // An event that names no path cannot be ruled out.
    (event.paths.is_empty() || event.paths.iter().any(names_the_file))
        .then_some(Event::ConfigFileChanged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::config::{read_if_changed, FileReading};

    use notify::event::{CreateKind, DataChange, RemoveKind, RenameMode};

    fn event(kind: EventKind, path: &Path) -> notify::Result<notify::Event> {
        Ok(notify::Event::new(kind).add_path(path.to_path_buf()))
    }

    #[test]
    fn only_what_may_change_config_toml_is_reported() {
        let folder = Path::new("/home/u/.bittrader_worker");
        let config = folder.join("config.toml");
        let name = OsStr::new("config.toml");
        let report = |kind, path: &Path| report_of(event(kind, path), folder, name);
        let changed = Some(Event::ConfigFileChanged);
        // The file written in place, replaced by a rename, created, removed.
        for kind in [
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Create(CreateKind::File),
            EventKind::Remove(RemoveKind::File),
        ] {
            assert_eq!(report(kind, &config), changed, "{kind:?}");
        }
        // Reads (the watcher's own among them) change nothing.
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
        ] {
            assert_eq!(report(kind, &config), None, "{kind:?}");
        }
        // The other files of the folder: the logs, the history, the lock, our writer's temp.
        for name in [
            "worker.log",
            "ray-worker.out",
            "history.json",
            "config.lock",
            ".config.toml.tmp-41-0",
        ] {
            let kind = EventKind::Modify(ModifyKind::Data(DataChange::Any));
            assert_eq!(report(kind, &folder.join(name)), None, "{name}");
        }
        // Dropped events may have named it; an event naming nothing cannot be ruled out.
        let rescan = notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        assert_eq!(report_of(Ok(rescan), folder, name), changed);
        assert_eq!(
            report_of(Ok(notify::Event::new(EventKind::Any)), folder, name),
            changed
        );
        // The folder itself going away, or an error of the watch, ends its reports.
        for kind in [
            EventKind::Remove(RemoveKind::Folder),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
        ] {
            assert!(
                matches!(report(kind, folder), Some(Event::ConfigWatchLost { ref why }) if why.contains("removed or moved")),
                "{kind:?}"
            );
        }
        assert_eq!(
            report(
                EventKind::Modify(ModifyKind::Metadata(notify::event::MetadataKind::Any)),
                folder
            ),
            None
        );
        let error = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
        assert!(matches!(
            report_of(Err(error), folder, name),
            Some(Event::ConfigWatchLost { ref why }) if why.contains("max_user_watches")
        ));
    }

    /// Receives what was sent, without waiting.
    fn sent(events: &mut mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
        std::iter::from_fn(|| events.try_recv().ok()).collect()
    }

    #[test]
    fn reports_become_events_until_the_watch_is_lost_then_none_is_sent() {
        let folder = Path::new("/home/u/.bittrader_worker");
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let mut report = reporter(folder, OsStr::new("config.toml"), events_tx);
        let edit = || event(EventKind::Any, &folder.join("config.toml"));
        // An editor truncates, then writes: two reports, and the supervisor settles them.
        report(edit());
        report(edit());
        assert_eq!(
            sent(&mut events),
            [Event::ConfigFileChanged, Event::ConfigFileChanged]
        );
        report(event(EventKind::Remove(RemoveKind::Folder), folder));
        report(edit());
        let lost = sent(&mut events);
        assert!(
            matches!(&lost[..], [Event::ConfigWatchLost { why }] if why.contains("removed")),
            "{lost:?}"
        );
    }

    #[tokio::test]
    async fn without_a_watch_the_supervisor_is_told_at_once() {
        let dir = tempfile::tempdir().expect("a folder");
        let paths = Paths {
            home: dir.path().join("absent"),
        };
        let (events_tx, mut events) = mpsc::unbounded_channel();
        assert!(watch(&paths, events_tx).is_none());
        assert!(
            matches!(&sent(&mut events)[..], [Event::ConfigWatchLost { why }] if why.contains("absent"))
        );
    }

    /// The real watch (inotify here, FSEvents on a Mac) on a real folder, in real time: each
    /// change is reported within a second and read as it is; nothing else in the folder is
    /// reported.
    #[tokio::test]
    async fn an_edit_is_reported_within_a_second_and_nothing_else_in_the_folder_is() {
        let dir = tempfile::tempdir().expect("a folder");
        let paths = Paths {
            home: dir.path().to_path_buf(),
        };
        let file = paths.config_file();
        std::fs::write(&file, "cpus = 2\n").expect("write");
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let _watch = watch(&paths, events_tx).expect("watched");
        let mut stamp = None;
        let mut read = || {
            let (reading, new_stamp) = read_if_changed(&paths, stamp, 4)?;
            stamp = new_stamp;
            Some(reading)
        };
        let cpus = |reading: Option<FileReading>| match reading {
            Some(FileReading::Valid(config)) => config.cpus,
            other => panic!("{other:?}"),
        };
        assert_eq!(cpus(read()), 2, "the first read reports the file");
        assert_eq!(read(), None, "unchanged: nothing to report");

        // Reads of the file, the logs, the history: nothing reported.
        for _ in 0..3 {
            let _ = std::fs::read_to_string(&file).expect("read");
        }
        std::fs::write(paths.log_file(), "a line\n").expect("log");
        crate::atomic_file::write(&paths.history_file(), b"{}", 0o600).expect("history");
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(sent(&mut events), [], "reported without a change");

        async fn reported(events: &mut mpsc::UnboundedReceiver<Event>, what: &str) {
            match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
                Ok(Some(Event::ConfigFileChanged)) => {}
                other => panic!("{what}: {other:?}"),
            }
            // An editor's write is several reports: the supervisor settles them.
            tokio::time::sleep(Duration::from_millis(100)).await;
            while events.try_recv().is_ok() {}
        }
        // A hand edit in place (truncate, then write).
        std::fs::write(&file, "cpus = 3\n").expect("edit");
        reported(&mut events, "the edit").await;
        assert_eq!(cpus(read()), 3);
        // Our own writer (a rename over the file).
        save_setting(&paths, &Setting::Cpus(1)).expect("save");
        reported(&mut events, "the save").await;
        assert_eq!(cpus(read()), 1);
        std::fs::remove_file(&file).expect("remove");
        reported(&mut events, "the removal").await;
        assert_eq!(read(), Some(FileReading::Missing));
    }

    #[test]
    fn a_linked_config_toml_is_not_watched() {
        let dir = tempfile::tempdir().expect("a folder");
        let elsewhere = tempfile::tempdir().expect("a folder");
        let target = elsewhere.path().join("config.toml");
        std::fs::write(&target, "cpus = 2\n").expect("write");
        let paths = Paths {
            home: dir.path().to_path_buf(),
        };
        std::os::unix::fs::symlink(&target, paths.config_file()).expect("link");
        let why = start(&paths, mpsc::unbounded_channel().0).expect_err("refused");
        assert!(why.contains("symbolic link"), "{why}");
    }

    #[test]
    fn a_missing_folder_is_not_watched() {
        let dir = tempfile::tempdir().expect("a folder");
        let paths = Paths {
            home: dir.path().join("absent"),
        };
        let why = start(&paths, mpsc::unbounded_channel().0).expect_err("refused");
        assert!(why.contains("absent"), "{why}");
    }
}
