//! [`SystemPower`] on macOS: runs `pmset -g batt` and `ioreg` with a deadline and parses them.

use std::time::Duration;

use super::pmset::{parse_ioreg_clamshell, parse_pmset_batt};
use super::{PowerSource, SystemPower};
use crate::model::PowerSnapshot;
use crate::platform::command::{run_with_timeout, CommandOutput};

/// How long `pmset` or `ioreg` may take. Both answer in milliseconds; a few seconds means a
/// wedged system, and the caller (a periodic probe) must not hang on it.
const MACOS_COMMAND_TIMEOUT: Duration = Duration::from_secs(3);

impl PowerSource for SystemPower {
    fn power(&self) -> PowerSnapshot {
        // Absolute paths: a LaunchAgent's PATH is minimal and a user's may be odd.
        run_with_timeout("/usr/bin/pmset", &["-g", "batt"], MACOS_COMMAND_TIMEOUT)
            .ok()
            .filter(CommandOutput::success)
            .and_then(|out| parse_pmset_batt(&out.stdout))
            .unwrap_or(crate::model::POWER_UNKNOWN)
    }

    fn lid_closed(&self) -> Option<bool> {
        run_with_timeout(
            "/usr/sbin/ioreg",
            &["-r", "-k", "AppleClamshellState", "-d", "4"],
            MACOS_COMMAND_TIMEOUT,
        )
        .ok()
        .filter(CommandOutput::success)
        .and_then(|out| parse_ioreg_clamshell(&out.stdout))
    }
}
