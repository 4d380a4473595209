//! A native alert for an error nobody would read in a terminal. macOS: `osascript`'s `display
//! alert … as critical` (it gives up by itself, and needs no event loop of ours), and AppKit's
//! own alert for the menu's questions ([`macos::ask`]). Linux: a desktop notification, with the
//! tray. Tests name a stand-in in `BITTRADER_ALERT`.

use std::time::Duration;

use super::command::run_with_timeout;

pub const ALERT_ENV: &str = "BITTRADER_ALERT";

/// The app exits behind an alert no one dismisses anyway.
const GIVE_UP_AFTER: Duration = Duration::from_secs(600);

/// Shows `message` under `title` until dismissed (or given up); `false` when none could be shown.
pub fn show(title: &str, message: &str) -> bool {
    if let Some(program) = std::env::var_os(ALERT_ENV) {
        let program = program.to_string_lossy().into_owned();
        return run_with_timeout(&program, &[title, message], GIVE_UP_AFTER)
            .is_ok_and(|out| out.success());
    }
    imp::show(title, message)
}

#[cfg(target_os = "macos")]
pub mod macos;
#[cfg(target_os = "macos")]
use macos as imp;

#[cfg(all(not(target_os = "macos"), feature = "tray"))]
mod imp {
    pub fn show(title: &str, message: &str) -> bool {
        notify_rust::Notification::new()
            .appname("BitTrader Worker")
            .summary(title)
            .body(message)
            .urgency(notify_rust::Urgency::Critical)
            .show()
            .is_ok()
    }
}

#[cfg(all(not(target_os = "macos"), not(feature = "tray")))]
mod imp {
    pub fn show(_title: &str, _message: &str) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stand_in_program_gets_the_title_and_the_message_as_arguments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seen = dir.path().join("seen");
        let program = dir.path().join("alert");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\nprintf '%s\\n%s\\n' \"$1\" \"$2\" > '{}'\n",
                seen.display()
            ),
        )
        .expect("write the stand-in");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))
            .expect("make it executable");
        // The process's environment is shared by the tests of this binary: only this test
        // sets the variable, and it reads it back at once.
        std::env::set_var(ALERT_ENV, &program);
        let shown = show("BitTrader Worker", "it's \"quoted\"; and `odd`");
        std::env::remove_var(ALERT_ENV);
        assert!(shown);
        let text = std::fs::read_to_string(&seen).expect("the stand-in ran");
        assert_eq!(text, "BitTrader Worker\nit's \"quoted\"; and `odd`\n");
    }
}
