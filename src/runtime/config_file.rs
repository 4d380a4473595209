//! config.toml while the app runs: the one writer of the user's changes, and the watcher that
//! picks up hand edits.
//!
//! Both run beside the driver's loop, never in it: the writer replaces the file (an fsync: slow
//! on a full or sick disk), one change at a time in the order asked, and reports each outcome
//! back; the watcher looks at the file's stamp every
//! [`CONFIG_FILE_CHECK_EVERY`](crate::supervisor::settings::CONFIG_FILE_CHECK_EVERY) and sends
//! what a changed file says. What a change means is the driver's business.

use tokio::sync::mpsc;

use crate::config::{read_if_changed, save_setting, FileReading, Paths, Setting};
use crate::supervisor::settings::CONFIG_FILE_CHECK_EVERY;

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

/// Starts the watcher: what config.toml says is sent on `readings` each time it changes (the
/// first look reports what the file says, so that an edit made while the app started is not
/// missed).
/// Ends when `readings` is closed.
pub fn spawn_watcher(
    paths: Paths,
    machine_cpus: u32,
    readings: mpsc::UnboundedSender<FileReading>,
) {
    tokio::spawn(async move {
        let mut stamp = None;
        let mut every = tokio::time::interval(CONFIG_FILE_CHECK_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if readings.is_closed() {
                return;
            }
            // A stat, and a read of a few hundred bytes when it changed.
            if let Some((reading, new_stamp)) = read_if_changed(&paths, stamp, machine_cpus) {
                stamp = new_stamp;
                if readings.send(reading).is_err() {
                    return;
                }
            }
        }
    });
}
