//! Linux: a logind idle inhibitor in *block* mode, held while the supervisor says so.

use tokio::sync::watch;
use zbus::{Connection, OwnedFd};

use super::{WHO, WHY};
use crate::platform::logind::{connect, LOGIND, MANAGER, MANAGER_PATH};

/// See [`super::follow`].
pub fn follow(mut hold: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut conn: Option<Connection> = None;
        let mut inhibitor: Option<OwnedFd> = None;
        loop {
            let wanted = *hold.borrow_and_update();
            if !wanted {
                // Closing the descriptor is the release.
                inhibitor = None;
            } else if inhibitor.is_none() {
                if conn.is_none() {
                    // No bus: nothing to hold, silently, as the sleep watcher does.
                    conn = connect().await.ok();
                }
                if let Some(conn) = &conn {
                    inhibitor = inhibit_idle(conn).await.ok();
                }
            }
            if hold.changed().await.is_err() {
                return;
            }
        }
    });
}

/// `Inhibit("idle", who, why, "block")`: held until the returned descriptor is dropped.
async fn inhibit_idle(conn: &Connection) -> zbus::Result<OwnedFd> {
    let reply = conn
        .call_method(
            Some(LOGIND),
            MANAGER_PATH,
            Some(MANAGER),
            "Inhibit",
            &("idle", WHO, WHY, "block"),
        )
        .await?;
    // A close-on-exec duplicate, so that the worker started next does not inherit the hold.
    let fd: OwnedFd = reply.body().deserialize()?;
    Ok(fd)
}
