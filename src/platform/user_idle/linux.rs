//! Linux: logind's idle hint of the user's graphical session (see the module above).

use std::time::Duration;

use tokio::sync::mpsc;
use zbus::{Connection, OwnedObjectPath, OwnedVariant};

use super::idle_from_hint;
use crate::platform::logind::{connect, LOGIND, MANAGER, MANAGER_PATH};

const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const USER: &str = "org.freedesktop.login1.User";
const SESSION: &str = "org.freedesktop.login1.Session";

/// See [`super::watch`].
pub fn watch(every: Duration, readings: mpsc::UnboundedSender<Option<Duration>>) {
    tokio::spawn(async move {
        let mut conn: Option<Connection> = None;
        loop {
            if conn.is_none() {
                conn = connect().await.ok();
            }
            let reading = match &conn {
                Some(conn) => read(conn).await.ok().flatten(),
                None => None,
            };
            if readings.send(reading).is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    });
}

/// One reading: the user's display session and its hint.
async fn read(conn: &Connection) -> zbus::Result<Option<Duration>> {
    let uid = nix::unistd::getuid().as_raw();
    let reply = conn
        .call_method(
            Some(LOGIND),
            MANAGER_PATH,
            Some(MANAGER),
            "GetUser",
            &(uid,),
        )
        .await?;
    let user: OwnedObjectPath = reply.body().deserialize()?;
    let (_, session): (String, OwnedObjectPath) = property(conn, &user, USER, "Display").await?;
    // No graphical session: "/" (logind's empty path).
    if session.as_str() == "/" {
        return Ok(None);
    }
    let idle_hint: bool = property(conn, &session, SESSION, "IdleHint").await?;
    let since: u64 = property(conn, &session, SESSION, "IdleSinceHintMonotonic").await?;
    Ok(idle_from_hint(idle_hint, since, monotonic_now()))
}

/// `Properties.Get(interface, name)` of the object at `path`.
async fn property<T>(
    conn: &Connection,
    path: &OwnedObjectPath,
    interface: &str,
    name: &str,
) -> zbus::Result<T>
where
    T: TryFrom<OwnedVariant>,
    T::Error: Into<zbus::Error>,
{
    let reply = conn
        .call_method(
            Some(LOGIND),
            path.as_str(),
            Some(PROPERTIES),
            "Get",
            &(interface, name),
        )
        .await?;
    let value: OwnedVariant = reply.body().deserialize()?;
    T::try_from(value).map_err(Into::into)
}

/// CLOCK_MONOTONIC now, the clock logind's `IdleSinceHintMonotonic` is on.
fn monotonic_now() -> Duration {
    crate::platform::clock::monotonic_now().unwrap_or_default()
}
