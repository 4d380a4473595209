//! Linux: a logind idle inhibitor in *block* mode.

use tokio::sync::{mpsc, watch};
use zbus::{Connection, OwnedFd};

use super::{WHO, WHY};
use crate::model::AwakeHold;
use crate::platform::logind::{connected, is_no_logind, take_inhibitor};

pub fn follow(mut hold: watch::Receiver<bool>, held: mpsc::UnboundedSender<AwakeHold>) {
    tokio::spawn(async move {
        let mut conn: Option<Connection> = None;
        let mut inhibitor: Option<OwnedFd> = None;
        loop {
            let wanted = *hold.borrow_and_update();
            let report = if !wanted {
                // Closing the descriptor is the release.
                inhibitor.take().map(|_| AwakeHold::Released)
            } else if inhibitor.is_none() {
                match take(&mut conn).await {
                    Ok(fd) => {
                        inhibitor = Some(fd);
                        Some(AwakeHold::Held)
                    }
                    Err(error) => {
                        // A connection that failed may be dead: made again next time.
                        conn = None;
                        Some(report_of(&error))
                    }
                }
            } else {
                None
            };
            if let Some(report) = report {
                if held.send(report).is_err() {
                    return;
                }
            }
            if hold.changed().await.is_err() {
                return;
            }
        }
    });
}

/// `Inhibit("idle", who, why, "block")`, connecting first if need be.
async fn take(conn: &mut Option<Connection>) -> zbus::Result<OwnedFd> {
    take_inhibitor(&connected(conn).await?, "idle", WHO, WHY, "block").await
}

/// No bus or no logind: nothing here can hold it; anything else is a refusal for the log.
fn report_of(error: &zbus::Error) -> AwakeHold {
    if is_no_logind(error) {
        AwakeHold::Unavailable
    } else {
        AwakeHold::Refused {
            why: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_bus_is_unavailable_and_said_nowhere() {
        let no_bus = zbus::connection::Builder::address("unix:path=/nonexistent/bw-bus")
            .build()
            .await
            .expect_err("no bus there");
        assert_eq!(report_of(&no_bus), AwakeHold::Unavailable, "{no_bus:?}");
        let nobody = zbus::Error::FDO(Box::new(zbus::fdo::Error::ServiceUnknown(
            "org.freedesktop.login1".to_string(),
        )));
        assert_eq!(report_of(&nobody), AwakeHold::Unavailable);
        let refused = zbus::Error::Failure("denied".to_string());
        assert!(matches!(report_of(&refused), AwakeHold::Refused { .. }));
    }
}
