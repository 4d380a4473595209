//! A private D-Bus message bus for the tests that stand in for a system service (logind, a
//! desktop's notification server).

use std::fs;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::secs;

/// A private message bus: `dbus-daemon` with a minimal configuration of its own (no dependence
/// on the distribution's session.conf), listening on a socket in a temporary folder.
pub struct Bus {
    _dir: tempfile::TempDir,
    child: Child,
    /// Its D-Bus address (`unix:path=…`).
    pub address: String,
}

impl Bus {
    pub fn start() -> Bus {
        let dir = tempfile::Builder::new()
            .prefix("bw-bus-")
            .tempdir()
            .expect("tempdir");
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("write bus.conf");
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start dbus-daemon (Debian package `dbus-daemon`)");
        let deadline = Instant::now() + secs(10);
        while UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "dbus-daemon did not start");
            thread::sleep(Duration::from_millis(20));
        }
        Bus {
            address: format!("unix:path={}", socket.display()),
            _dir: dir,
            child,
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
