//! Linux: logind's idle hint of the user's graphical session. See [`super`].

use std::time::Duration;

use tokio::sync::mpsc;
use zbus::{Connection, OwnedObjectPath, OwnedVariant};

use super::{is_graphical_session_type, reading_from_hint};
use crate::model::IdleReading;
use crate::platform::logind::{call_manager, connected, is_no_logind, LOGIND};

const PROPERTIES: &str = "org.freedesktop.DBus.Properties";
const USER: &str = "org.freedesktop.login1.User";
const SESSION: &str = "org.freedesktop.login1.Session";

/// The connection and the graphical session, found once and again after any error.
#[derive(Default)]
struct Logind {
    conn: Option<Connection>,
    session: Option<OwnedObjectPath>,
}

pub fn watch(every: Duration, readings: mpsc::UnboundedSender<IdleReading>) {
    tokio::spawn(async move {
        let mut logind = Logind::default();
        loop {
            let reading = match logind.read().await {
                Ok(reading) => reading,
                Err(error) => {
                    // A connection that failed once may be dead: made again next time.
                    logind = Logind::default();
                    reading_from_error(&error)
                }
            };
            if readings.send(reading).is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
    });
}

impl Logind {
    async fn read(&mut self) -> zbus::Result<IdleReading> {
        let conn = connected(&mut self.conn).await?;
        let session = match &self.session {
            Some(session) => session.clone(),
            None => match graphical_session(&conn).await? {
                Some(session) => {
                    self.session = Some(session.clone());
                    session
                }
                // Looked for again at the next reading: the user may log in graphically.
                None => return Ok(IdleReading::NoSession),
            },
        };
        let idle_hint: bool = property(&conn, &session, SESSION, "IdleHint").await?;
        let since: u64 = property(&conn, &session, SESSION, "IdleSinceHintMonotonic").await?;
        Ok(reading_from_hint(idle_hint, since, monotonic_now()))
    }
}

/// The user's display session, if graphical (`None`: none, or a tty/ssh one).
async fn graphical_session(conn: &Connection) -> zbus::Result<Option<OwnedObjectPath>> {
    let uid = nix::unistd::getuid().as_raw();
    let reply = call_manager(conn, "GetUser", &(uid,)).await?;
    let user: OwnedObjectPath = reply.body().deserialize()?;
    let (_, session): (String, OwnedObjectPath) = property(conn, &user, USER, "Display").await?;
    // No display session: "/" (logind's empty path).
    if session.as_str() == "/" {
        return Ok(None);
    }
    let kind: String = property(conn, &session, SESSION, "Type").await?;
    Ok(is_graphical_session_type(&kind).then_some(session))
}

/// No bus, nobody owning logind's name, no such user: logind is not there; anything else (a bus
/// restarting, a timeout, a session gone) is a glitch.
fn reading_from_error(error: &zbus::Error) -> IdleReading {
    let no_such_user = matches!(
        error,
        zbus::Error::MethodError(name, _, _) if name.as_str() == "org.freedesktop.login1.NoSuchUser"
    );
    if is_no_logind(error) || no_such_user {
        IdleReading::NoSession
    } else {
        IdleReading::ReadFailed
    }
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

/// CLOCK_MONOTONIC, on which logind stamps its idle hints.
fn monotonic_now() -> Duration {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC);
    now.map(Duration::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_bus_is_no_session_and_a_glitch_is_a_failed_read() {
        let no_bus = zbus::connection::Builder::address("unix:path=/nonexistent/bw-bus")
            .build()
            .await
            .expect_err("no bus there");
        assert_eq!(
            reading_from_error(&no_bus),
            IdleReading::NoSession,
            "{no_bus:?}"
        );
        let glitch = zbus::Error::InputOutput(std::sync::Arc::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )));
        assert_eq!(reading_from_error(&glitch), IdleReading::ReadFailed);
        let no_logind = zbus::Error::FDO(Box::new(zbus::fdo::Error::ServiceUnknown(
            "org.freedesktop.login1".to_string(),
        )));
        assert_eq!(reading_from_error(&no_logind), IdleReading::NoSession);
    }
}
