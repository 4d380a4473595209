//! config.toml while the app runs: the one writer of the user's changes, and the watcher that
//! picks up hand edits.
//!
//! Both run beside the driver's loop, never in it: the writer replaces the file (an fsync: slow
//! on a full or sick disk), one change at a time in the order asked, and reports each outcome
//! back; the watcher sends what a changed file says. What a change means is the driver's
//! business, and when to look at the file is [`ConfigLooks`]'s.
//!
//! The watcher asks the OS to report changes in the data folder (the `notify` crate: inotify on
//! Linux, FSEvents on macOS) rather than looking at the file on a clock: the folder, not the
//! file, because editors and our own writer replace the file by a rename, which a watch on the
//! old file would not see. Reports that do not name config.toml (the logs, the history, the
//! lock, and every read, ours included) are dropped on notify's own thread, so that they wake
//! nothing here. Whether anything changed is still decided by the file's stamp
//! ([`read_if_changed`]): a report only says when to look. Where no watch can be had, the
//! file is looked at every [`CONFIG_FILE_CHECK_EVERY`], and the driver says so in the log.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::config::{read_if_changed, save_setting, FileReading, FileStamp, Paths, Setting};
use crate::supervisor::config_looks::ConfigLooks;
use crate::supervisor::settings::CONFIG_FILE_CHECK_EVERY;

/// What the watcher tells the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFileNews {
    /// config.toml changed (or was read for the first time), and this is what it says.
    Reading(FileReading),
    /// The OS does not report changes to the data folder (`why`: what failed): the file is
    /// looked at every `every_secs` seconds instead. Sent once, when that starts.
    Polling { every_secs: u64, why: String },
}

/// Starts the writer: each `(setting, token)` sent on the returned channel is saved in turn,
/// and `done(token, outcome)` called with the error's words, if any.
pub fn spawn_writer<T: Send + 'static>(
    paths: Paths,
    done: impl Fn(T, Result<(), String>) + Send + 'static,
) -> mpsc::UnboundedSender<(Setting, T)> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Setting, T)>();
    tokio::spawn(async move {
        while let Some((setting, token)) = rx.recv().await {
            let paths = paths.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                save_setting(&paths, &setting).map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(format!("saving config.toml stopped: {e}")));
            done(token, outcome);
        }
    });
    tx
}

/// Starts the watcher: what config.toml says is sent on `news` each time it changes (the first
/// look reports what the file says, so that an edit made while the app started is not missed).
/// Ends when `news` is closed.
///
/// The OS's watch is set up here, before the first look, so that an edit made between the two
/// is reported: a couple of system calls (inotify) or a stream and its thread (FSEvents), once.
pub fn spawn_watcher(paths: Paths, machine_cpus: u32, news: mpsc::UnboundedSender<ConfigFileNews>) {
    let reports = FolderWatch::start(&paths);
    let mut stamp: Option<FileStamp> = None;
    // A stat, and a read of a few hundred bytes when it changed.
    let look = move || {
        let (reading, new_stamp) = read_if_changed(&paths, stamp, machine_cpus)?;
        stamp = new_stamp;
        Some(reading)
    };
    tokio::spawn(run_watcher(reports, look, news));
}

/// What the OS's watch of the data folder says, as the watcher needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FolderReport {
    /// config.toml may have changed.
    Changed,
    /// The watch no longer reports changes (`why`: what happened).
    Lost(String),
}

/// The OS's watch of the data folder, reporting on a channel; reports stop when it is dropped.
struct FolderWatch {
    /// Kept for its `Drop`, which ends the OS's watch (and notify's thread).
    _watcher: RecommendedWatcher,
}

impl FolderWatch {
    /// Watches `paths`' folder for changes to config.toml; the watch and its reports, or why
    /// the OS would not watch it.
    fn start(
        paths: &Paths,
    ) -> Result<(FolderWatch, mpsc::UnboundedReceiver<FolderReport>), String> {
        let folder = paths.home.clone();
        let file = paths.config_file();
        let name = file
            .file_name()
            .map(OsStr::to_os_string)
            .ok_or_else(|| format!("{} names no file", file.display()))?;
        // A link's target changes in another folder, whose changes this watch never sees.
        if std::fs::symlink_metadata(&file).is_ok_and(|meta| meta.file_type().is_symlink()) {
            return Err(format!(
                "{} is a symbolic link, and its target's folder is not watched",
                file.display()
            ));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let watched = folder.clone();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<_>| {
            if let Some(report) = report_of(event, &watched, &name) {
                let _ = tx.send(report);
            }
        })
        .map_err(|e| format!("they could not start: {}", describe(&e)))?;
        watcher
            .watch(&folder, RecursiveMode::NonRecursive)
            .map_err(|e| format!("{}: {}", folder.display(), describe(&e)))?;
        Ok((FolderWatch { _watcher: watcher }, rx))
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
fn report_of(
    event: notify::Result<notify::Event>,
    folder: &Path,
    name: &OsStr,
) -> Option<FolderReport> {
    let event = match event {
        Ok(event) => event,
        Err(error) => return Some(FolderReport::Lost(describe(&error))),
    };
    // Events were dropped (a queue overflowed): config.toml may be among them.
    if event.need_rescan() {
        return Some(FolderReport::Changed);
    }
    match event.kind {
        // Opening and reading change nothing, and the watcher's own read of the file is one of
        // them: only the end of a write counts.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return None,
        EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
            if event.paths.iter().any(|path| path == folder) =>
        {
            return Some(FolderReport::Lost(format!(
                "{} was removed or moved",
                folder.display()
            )));
        }
        _ => {}
    }
    let names_the_file = |path: &PathBuf| path.file_name() == Some(name);
    // An event that names no path cannot be ruled out.
    (event.paths.is_empty() || event.paths.iter().any(names_the_file))
        .then_some(FolderReport::Changed)
}

/// The watcher's loop: looks when [`ConfigLooks`] says so (with `look`, which says what the
/// file says if it changed), and sends what it finds on `news`, until `news` is closed.
/// `reports`: the OS's watch (kept until its reports are lost) and its reports, or why there
/// is none.
async fn run_watcher<W: Send + 'static>(
    reports: Result<(W, mpsc::UnboundedReceiver<FolderReport>), String>,
    mut look: impl FnMut() -> Option<FileReading> + Send + 'static,
    news: mpsc::UnboundedSender<ConfigFileNews>,
) {
    let now = || tokio::time::Instant::now().into_std();
    let (mut watch, mut reports) = match reports {
        Ok((watch, reports)) => (Some(watch), Some(reports)),
        Err(why) => {
            if !polling(&news, why) {
                return;
            }
            (None, None)
        }
    };
    let mut looks = ConfigLooks::new(now(), reports.is_some());
    loop {
        let deadline = looks.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            () = until(deadline) => {
                if looks.handle_timeout(now()) {
                    if let Some(reading) = look() {
                        if news.send(ConfigFileNews::Reading(reading)).is_err() {
                            return;
                        }
                    }
                }
            }
            report = next_report(&mut reports) => match report {
                Some(FolderReport::Changed) => looks.handle_change(now()),
                lost => {
                    let why = match lost {
                        Some(FolderReport::Lost(why)) => why,
                        _ => "the OS's watch ended".to_string(),
                    };
                    // Its reports are no longer trusted: the cadence takes over.
                    reports = None;
                    drop(watch.take());
                    looks.handle_reports_lost(now());
                    if !polling(&news, why) {
                        return;
                    }
                }
            },
            () = news.closed() => return,
        }
    }
}

/// Resolves at `deadline`; never without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The next report of the OS's watch (`None`: the watch ended); never without a watch.
async fn next_report(
    reports: &mut Option<mpsc::UnboundedReceiver<FolderReport>>,
) -> Option<FolderReport> {
    match reports {
        Some(reports) => reports.recv().await,
        None => std::future::pending().await,
    }
}

/// Tells the driver that the file is now looked at on the cadence; `false` if it has gone.
fn polling(news: &mpsc::UnboundedSender<ConfigFileNews>, why: String) -> bool {
    news.send(ConfigFileNews::Polling {
        every_secs: CONFIG_FILE_CHECK_EVERY.as_secs(),
        why,
    })
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

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
        let changed = Some(FolderReport::Changed);
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
                matches!(report(kind, folder), Some(FolderReport::Lost(ref why)) if why.contains("removed or moved")),
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
            Some(FolderReport::Lost(ref why)) if why.contains("max_user_watches")
        ));
    }

    /// A `look` that counts its calls and finds a new file at each.
    fn counting_look() -> (
        Arc<AtomicUsize>,
        impl FnMut() -> Option<FileReading> + Send + 'static,
    ) {
        let count = Arc::new(AtomicUsize::new(0));
        let counter = count.clone();
        let look = move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Some(FileReading::Missing)
        };
        (count, look)
    }

    /// Receives what the watcher sent, without waiting.
    fn sent(news: &mut mpsc::UnboundedReceiver<ConfigFileNews>) -> Vec<ConfigFileNews> {
        std::iter::from_fn(|| news.try_recv().ok()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn with_the_os_reporting_an_idle_day_costs_one_look() {
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let (count, look) = counting_look();
        let (news_tx, mut news) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_watcher(Ok(((), reports)), look, news_tx));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1, "the first look, at start");
        assert_eq!(
            sent(&mut news),
            [ConfigFileNews::Reading(FileReading::Missing)]
        );

        tokio::time::sleep(Duration::from_secs(86_400)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1, "a look without a report");

        // An editor truncates, then writes: one look, once both settled.
        reports_tx
            .send(FolderReport::Changed)
            .expect("the watcher runs");
        tokio::time::sleep(Duration::from_millis(100)).await;
        reports_tx
            .send(FolderReport::Changed)
            .expect("the watcher runs");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "looked before the writes settled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(count.load(Ordering::SeqCst), 2);
        assert_eq!(sent(&mut news).len(), 1);

        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(count.load(Ordering::SeqCst), 2);
        drop(news);
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("the watcher ends with the driver")
            .expect("no panic");
        assert!(reports_tx.is_closed(), "the watch was dropped");
    }

    /// The real watch of a real folder, with the clock run a day ahead: the 2 s look on a clock
    /// would have read the file's stamp 43,200 times.
    #[tokio::test(start_paused = true)]
    async fn with_the_real_watch_an_idle_day_costs_one_look() {
        let dir = tempfile::tempdir().expect("a folder");
        let paths = Paths {
            home: dir.path().to_path_buf(),
        };
        std::fs::write(paths.config_file(), "cpus = 2\n").expect("write");
        let reports = FolderWatch::start(&paths).expect("a watch");
        let (count, look) = counting_look();
        let (news_tx, _news) = mpsc::unbounded_channel();
        tokio::spawn(run_watcher(Ok(reports), look, news_tx));
        tokio::time::sleep(Duration::from_secs(86_400)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1, "only the first look");
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_watch_the_file_is_looked_at_every_2_s_and_that_is_said_once() {
        let (count, look) = counting_look();
        let (news_tx, mut news) = mpsc::unbounded_channel();
        let no_watch: Result<((), _), String> = Err("no inotify left".to_string());
        tokio::spawn(run_watcher(no_watch, look, news_tx));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let first = sent(&mut news);
        assert_eq!(
            first[0],
            ConfigFileNews::Polling {
                every_secs: 2,
                why: "no inotify left".to_string()
            }
        );
        tokio::time::sleep(CONFIG_FILE_CHECK_EVERY * 10).await;
        assert_eq!(count.load(Ordering::SeqCst), 11, "at start, then every 2 s");
        let polling = sent(&mut news)
            .into_iter()
            .chain(first)
            .filter(|n| matches!(n, ConfigFileNews::Polling { .. }))
            .count();
        assert_eq!(polling, 1, "said once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_watch_hands_over_to_the_cadence() {
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let (count, look) = counting_look();
        let (news_tx, mut news) = mpsc::unbounded_channel();
        tokio::spawn(run_watcher(Ok(((), reports)), look, news_tx));
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1);
        sent(&mut news);
        reports_tx
            .send(FolderReport::Lost("the folder was removed".to_string()))
            .expect("the watcher runs");
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(count.load(Ordering::SeqCst), 2, "a look at once");
        assert!(reports_tx.is_closed(), "the lost watch was dropped");
        assert!(sent(&mut news).contains(&ConfigFileNews::Polling {
            every_secs: 2,
            why: "the folder was removed".to_string()
        }));
        tokio::time::sleep(CONFIG_FILE_CHECK_EVERY * 5).await;
        assert_eq!(count.load(Ordering::SeqCst), 7);
    }

    /// The real watch (inotify here, FSEvents on a Mac) on a real folder, in real time.
    #[tokio::test]
    async fn an_edit_is_read_within_a_second_and_nothing_else_in_the_folder_leads_to_a_look() {
        let dir = tempfile::tempdir().expect("a folder");
        let paths = Paths {
            home: dir.path().to_path_buf(),
        };
        let file = paths.config_file();
        std::fs::write(&file, "cpus = 2\n").expect("write");
        let (watch_, reports) = FolderWatch::start(&paths).expect("a watch");
        let count = Arc::new(AtomicUsize::new(0));
        let look = {
            let count = count.clone();
            let paths = paths.clone();
            let mut stamp = None;
            move || {
                count.fetch_add(1, Ordering::SeqCst);
                let (reading, new_stamp) = read_if_changed(&paths, stamp, 4)?;
                stamp = new_stamp;
                Some(reading)
            }
        };
        let (news_tx, mut news) = mpsc::unbounded_channel();
        tokio::spawn(run_watcher(Ok((watch_, reports)), look, news_tx));
        async fn within(
            news: &mut mpsc::UnboundedReceiver<ConfigFileNews>,
            what: &str,
        ) -> FileReading {
            match tokio::time::timeout(Duration::from_secs(1), news.recv()).await {
                Ok(Some(ConfigFileNews::Reading(reading))) => reading,
                other => panic!("{what}: {other:?}"),
            }
        }
        let cpus = |reading: FileReading| match reading {
            FileReading::Valid(config) => config.cpus,
            other => panic!("{other:?}"),
        };
        assert_eq!(cpus(within(&mut news, "the first look").await), 2);

        // Reads of the file (the watcher's own too), the logs, the history: no look.
        for _ in 0..3 {
            let _ = std::fs::read_to_string(&file).expect("read");
        }
        std::fs::write(paths.log_file(), "a line\n").expect("log");
        crate::atomic_file::write(&paths.history_file(), b"{}", 0o600).expect("history");
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1, "looked without a change");

        // A hand edit in place (truncate, then write).
        let started = std::time::Instant::now();
        std::fs::write(&file, "cpus = 3\n").expect("edit");
        assert_eq!(cpus(within(&mut news, "the edit").await), 3);
        eprintln!("edit read after {:?}", started.elapsed());
        // Our own writer (a rename over the file).
        save_setting(&paths, &Setting::Cpus(1)).expect("save");
        assert_eq!(cpus(within(&mut news, "the save").await), 1);
        std::fs::remove_file(&file).expect("remove");
        assert_eq!(within(&mut news, "the removal").await, FileReading::Missing);
        assert_eq!(count.load(Ordering::SeqCst), 4, "one look for each change");
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
        let why = FolderWatch::start(&paths).err().expect("refused");
        assert!(why.contains("symbolic link"), "{why}");
    }

    #[test]
    fn a_missing_folder_is_not_watched() {
        let dir = tempfile::tempdir().expect("a folder");
        let paths = Paths {
            home: dir.path().join("absent"),
        };
        let why = FolderWatch::start(&paths).err().expect("refused");
        assert!(why.contains("absent"), "{why}");
    }
}
