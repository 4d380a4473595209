//! Linux: systemd-logind's sleep notifications, so that the worker is stopped cleanly before
//! the machine sleeps instead of being frozen with it (and dropped by the head).
//!
//! logind announces a suspend or hibernation with the signal
//! `org.freedesktop.login1.Manager.PrepareForSleep(true)` and the wake (or a failed sleep) with
//! `PrepareForSleep(false)`. The signal alone comes too late to act on: logind sleeps right after
//! sending it unless someone holds a *delay inhibitor*, taken with
//! `Manager.Inhibit("sleep", who, why, "delay")`, which returns a file descriptor: the sleep
//! waits until every such descriptor is closed, or `InhibitDelayMaxSec` passes (5 s by default).
//! So: hold one while awake; on `PrepareForSleep(true)` report [`SystemEvent::WillSleep`], wait
//! until the driver's status shows no worker (at most [`RELEASE_AFTER`]), close it; on
//! `PrepareForSleep(false)` take a new one, then report [`SystemEvent::Woke`].
//!
//! The events take the same path as the macOS notifications the tray forwards, so the driver's
//! wake-echo filter drops the clock-jump watcher's report of the same wake.
//!
//! Without a system bus or without logind (containers, minimal systems) nothing is watched and
//! nothing is logged: the clock-jump detection in `runtime/machine.rs` still sees the wakes.
//! Tests point the watcher at a private bus with [`BUS_ENV`].

use std::time::{Duration, SystemTime};

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use zbus::{Connection, MessageStream, OwnedFd};

use crate::runtime::control::{StatusReport, SystemEvent};

/// A D-Bus address to use instead of the system bus (tests run a private bus with a fake logind).
pub const BUS_ENV: &str = "BITTRADER_LOGIND_BUS";

/// The longest the inhibitor is held after `PrepareForSleep(true)` while the worker stops.
/// logind itself stops waiting after `InhibitDelayMaxSec` (5 s unless configured longer).
pub const RELEASE_AFTER: Duration = Duration::from_secs(10);

/// logind's bus name.
const LOGIND: &str = "org.freedesktop.login1";
/// logind's manager object.
const MANAGER_PATH: &str = "/org/freedesktop/login1";
/// logind's manager interface.
const MANAGER: &str = "org.freedesktop.login1.Manager";

/// Watches logind in a task of its own until the receiver of `events` goes away. `status` is
/// the driver's: once it shows no worker after a `WillSleep`, the inhibitor is released.
pub fn watch(events: mpsc::UnboundedSender<SystemEvent>, status: watch::Receiver<StatusReport>) {
    tokio::spawn(async move {
        // Any error means no bus or no logind: the clock-jump detection remains.
        let _ = run(events, status).await;
    });
}

/// The bus logind is on: [`BUS_ENV`] if set, else the system bus.
async fn connect() -> zbus::Result<Connection> {
    match std::env::var(BUS_ENV) {
        Ok(address) => {
            zbus::connection::Builder::address(address.as_str())
                .build()
                .await
        }
        Err(_) => Connection::system().await,
    }
}

/// Takes a delay inhibitor for sleep: held until the returned descriptor is dropped.
async fn inhibit(conn: &Connection) -> zbus::Result<OwnedFd> {
    let reply = conn
        .call_method(
            Some(LOGIND),
            MANAGER_PATH,
            Some(MANAGER),
            "Inhibit",
            &(
                "sleep",
                "BitTrader Worker",
                "Stopping the Ray worker cleanly",
                "delay",
            ),
        )
        .await?;
    // A close-on-exec duplicate: the worker started next must not inherit (and hold) it. The
    // descriptor received with the reply closes with `reply`, here.
    let fd: OwnedFd = reply.body().deserialize()?;
    Ok(fd)
}

/// Whether an error from `Inhibit` means that nobody is logind on this bus.
fn no_logind(error: &zbus::Error) -> bool {
    match error {
        zbus::Error::FDO(e) => matches!(
            **e,
            zbus::fdo::Error::ServiceUnknown(_) | zbus::fdo::Error::NameHasNoOwner(_)
        ),
        _ => false,
    }
}

async fn run(
    events: mpsc::UnboundedSender<SystemEvent>,
    mut status: watch::Receiver<StatusReport>,
) -> zbus::Result<()> {
    let conn = connect().await?;
    // Subscribe before taking the inhibitor, so that no announcement falls in between.
    let rule = format!(
        "type='signal',sender='{LOGIND}',path='{MANAGER_PATH}',interface='{MANAGER}',member='PrepareForSleep'"
    );
    let mut signals = MessageStream::for_match_rule(rule.as_str(), &conn, None).await?;
    let mut inhibitor = match inhibit(&conn).await {
        Ok(fd) => Some(fd),
        Err(e) if no_logind(&e) => return Err(e),
        // Refused (policy): the announcements still say when to stop, just without the delay.
        Err(_) => None,
    };
    let mut announced: Option<SystemTime> = None;

    while let Some(message) = signals.next().await {
        let Ok(message) = message else { continue };
        let Ok(going_to_sleep) = message.body().deserialize::<bool>() else {
            continue;
        };
        if going_to_sleep {
            announced = Some(SystemTime::now());
            if events.send(SystemEvent::WillSleep).is_err() {
                return Ok(());
            }
            if let Some(fd) = inhibitor.take() {
                // The status may still show the worker the WillSleep is about to stop; it shows
                // none once the worker has exited. A closed channel ends the wait as well.
                let gone = status.wait_for(|report| report.worker_pid.is_none());
                let _ = tokio::time::timeout(RELEASE_AFTER, gone).await;
                drop(fd);
            }
        } else {
            if inhibitor.is_none() {
                inhibitor = inhibit(&conn).await.ok();
            }
            // A wake without an announcement we saw (this process started meanwhile) is left
            // to the clock-jump detection.
            if let Some(since) = announced.take() {
                let slept = SystemTime::now().duration_since(since).unwrap_or_default();
                let event = SystemEvent::Woke {
                    slept_secs: slept.as_secs(),
                };
                if events.send(event).is_err() {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}
