//! Linux: logind's sleep notifications, so that the worker stops cleanly before a sleep. logind
//! sends `PrepareForSleep(true)` before a suspend and `(false)` after, and sleeps at once unless a
//! *delay inhibitor* (a descriptor it waits for up to `InhibitDelayMaxSec`, 5 s) is held. So: hold
//! one while awake; on `true` report [`SystemEvent::WillSleep`] and close it once the supervisor
//! holds the sleep no more ([`SleepGate`]); on `false` take another and report
//! [`SystemEvent::Woke`]. Without a bus or logind (containers) the clocks measure sleeps.

use std::time::SystemTime;

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use zbus::{Connection, MessageStream, OwnedFd};

use crate::model::{SleepGate, SystemEvent};
use crate::platform::sleep::SleepTracker;

/// A D-Bus address instead of the system bus (tests run a private bus with a fake logind).
pub const BUS_ENV: &str = "BITTRADER_LOGIND_BUS";

pub(crate) const LOGIND: &str = "org.freedesktop.login1";
const MANAGER_PATH: &str = "/org/freedesktop/login1";
const MANAGER: &str = "org.freedesktop.login1.Manager";

/// Watches logind in a task of its own until `events` closes; the inhibitor is released once `gate`
/// says the supervisor took in our `WillSleep` and holds the sleep no more. Without a bus or
/// logind, `unavailable` is told why.
pub fn watch(
    events: mpsc::UnboundedSender<SystemEvent>,
    gate: watch::Receiver<SleepGate>,
    unavailable: impl FnOnce(zbus::Error) + Send + 'static,
) {
    tokio::spawn(async move {
        if let Err(e) = run(events, gate).await {
            unavailable(e);
        }
    });
}

pub(crate) async fn connect() -> zbus::Result<Connection> {
    match std::env::var(BUS_ENV) {
        Ok(address) => {
            zbus::connection::Builder::address(address.as_str())
                .build()
                .await
        }
        Err(_) => Connection::system().await,
    }
}

/// `conn`, connected first if it is not yet.
pub(crate) async fn connected(conn: &mut Option<Connection>) -> zbus::Result<Connection> {
    if let Some(bus) = conn {
        return Ok(bus.clone());
    }
    Ok(conn.insert(connect().await?).clone())
}

/// logind is not there at all (no bus, nobody owning its name), rather than a glitch.
pub(crate) fn is_no_logind(error: &zbus::Error) -> bool {
    match error {
        zbus::Error::Connection(io, _) => io.kind() == std::io::ErrorKind::NotFound,
        zbus::Error::FDO(fdo) => matches!(
            **fdo,
            zbus::fdo::Error::ServiceUnknown(_) | zbus::fdo::Error::NameHasNoOwner(_)
        ),
        _ => false,
    }
}

/// `Manager.method(body)` of logind.
pub(crate) async fn call_manager<B>(
    conn: &Connection,
    method: &str,
    body: &B,
) -> zbus::Result<zbus::Message>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    conn.call_method(Some(LOGIND), MANAGER_PATH, Some(MANAGER), method, body)
        .await
}

/// `Manager.Inhibit(what, who, why, mode)`, held until the descriptor is dropped.
pub(crate) async fn take_inhibitor(
    conn: &Connection,
    what: &str,
    who: &str,
    why: &str,
    mode: &str,
) -> zbus::Result<OwnedFd> {
    let reply = call_manager(conn, "Inhibit", &(what, who, why, mode)).await?;
    // A close-on-exec duplicate, so that the next worker does not hold it.
    let fd: OwnedFd = reply.body().deserialize()?;
    Ok(fd)
}

async fn inhibit(conn: &Connection) -> zbus::Result<OwnedFd> {
    take_inhibitor(
        conn,
        "sleep",
        "BitTrader Worker",
        "Stopping the Ray worker cleanly",
        "delay",
    )
    .await
}

async fn run(
    events: mpsc::UnboundedSender<SystemEvent>,
    mut gate: watch::Receiver<SleepGate>,
) -> zbus::Result<()> {
    let conn = connect().await?;
    // Subscribe before taking the inhibitor, so that no announcement falls in between.
    let rule = format!(
        "type='signal',sender='{LOGIND}',path='{MANAGER_PATH}',interface='{MANAGER}',member='PrepareForSleep'"
    );
    let mut signals = MessageStream::for_match_rule(rule.as_str(), &conn, None).await?;
    let mut inhibitor = match inhibit(&conn).await {
        Ok(fd) => Some(fd),
        Err(e) if is_no_logind(&e) => return Err(e),
        // Refused (policy): the announcements still say when to stop, without the delay.
        Err(_) => None,
    };
    let mut tracker = SleepTracker::default();
    // The supervisor's `SleepGate::will_sleeps_seen` our announcements reach (on Linux they
    // are the only WillSleep it sees).
    let mut announced_count = gate.borrow().will_sleeps_seen;

    while let Some(message) = signals.next().await {
        let Ok(message) = message else { continue };
        let Ok(going_to_sleep) = message.body().deserialize::<bool>() else {
            continue;
        };
        if going_to_sleep {
            tracker.will_sleep(SystemTime::now());
            announced_count += 1;
            if events.send(SystemEvent::WillSleep).is_err() {
                return Ok(());
            }
            if let Some(fd) = inhibitor.take() {
                // A verdict about this announcement, then the hold's end (or no supervisor any
                // more).
                let _ = gate
                    .wait_for(|g| g.will_sleeps_seen >= announced_count && !g.holding)
                    .await;
                drop(fd);
            }
        } else {
            if inhibitor.is_none() {
                inhibitor = inhibit(&conn).await.ok();
            }
            // A wake without an announcement we saw (this process started meanwhile): nothing
            // was stopped for it.
            if let Some(slept) = tracker.did_wake(SystemTime::now()) {
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
