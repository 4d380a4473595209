//! The loud skip of a test that cannot run on this machine.

use std::io::Write;

/// Says loudly that `test` cannot run here (with `hint`, e.g. what to install, on a line of its
/// own), and fails instead where the environment variable `require` is set (CI), so a broken
/// setup never hides behind a skip.
pub fn skip_or_fail(test: &str, reason: &str, hint: Option<&str>, require: &str) {
    let hint = hint.map(|h| format!("!!! {h}\n")).unwrap_or_default();
    let loud = format!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPING the {test}: {reason}\n\
         {hint}\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    if std::env::var_os(require).is_some() {
        panic!("{loud}{require} is set, so this is a failure");
    }
    // Straight to stderr, past libtest's capture of `eprintln!`: a skip must be seen.
    let _ = std::io::stderr().write_all(loud.as_bytes());
}
