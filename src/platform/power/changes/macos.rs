//! macOS: notify(3)'s `kIOPSNotifyPowerSource` on a file descriptor. See [`super`].

use std::io;
use std::time::Duration;

use crate::platform::darwin_notify::DarwinNotification;

/// `kIOPSNotifyPowerSource` (IOPowerSources.h): posted when the providing power source
/// changes, "upon connecting or disconnecting AC power to a laptop".
const POWER_SOURCE_CHANGED: &std::ffi::CStr = c"com.apple.system.powersources.source";

pub struct PowerChanges(DarwinNotification);

impl PowerChanges {
    pub fn open() -> io::Result<PowerChanges> {
        DarwinNotification::register(POWER_SOURCE_CHANGED).map(PowerChanges)
    }

    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        self.0.wait(timeout)
    }

    pub fn source(&self) -> String {
        format!("notify(3) {}", self.0.name())
    }
}
