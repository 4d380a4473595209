//! Native prompts, without a GUI toolkit of our own: `osascript` on macOS, zenity or kdialog on
//! Linux. Each call blocks until the user answers, so callers run it off the main thread.

use std::ffi::OsStr;
use std::process::{Command, Output, Stdio};

use crate::platform::command::CountedSpawn;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The user typed this and confirmed.
    Entered(String),
    Cancelled,
    /// No prompt program exists here.
    Unavailable,
}

/// Quotes `text` as an AppleScript string literal.
pub fn applescript_string(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(['\n', '\r'], " ");
    format!("\"{escaped}\"")
}

/// Runs the prompt program to its end (counted, see [`CountedSpawn`]): `osascript` running
/// `script` on macOS (by its absolute path: an app opened from Finder has a bare PATH), else the
/// first of zenity and kdialog that starts, with theirs; `None` when none does.
fn prompt(script: &str, zenity: &[&str], kdialog: &[&str]) -> Option<Output> {
    let osascript = ["-e", script];
    let programs = match cfg!(target_os = "macos") {
        true => vec![("/usr/bin/osascript", &osascript[..])],
        false => vec![("zenity", zenity), ("kdialog", kdialog)],
    };
    let child = programs.into_iter().find_map(|(program, args)| {
        let mut command = Command::new(program);
        command.args(args).stdin(Stdio::null());
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        command.spawn_counted().ok()
    })?;
    child.wait_with_output().ok()
}

/// Asks for a line of text with `current` filled in.
pub fn ask(title: &str, question: &str, current: &str) -> Answer {
    let script = format!(
        "text returned of (display dialog {} default answer {} with title {})",
        applescript_string(question),
        applescript_string(current),
        applescript_string(title)
    );
    let zenity = [
        "--entry",
        "--title",
        title,
        "--text",
        question,
        "--entry-text",
        current,
    ];
    let kdialog = ["--title", title, "--inputbox", question, current];
    match prompt(&script, &zenity, &kdialog) {
        Some(out) if out.status.success() => {
            Answer::Entered(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Some(_) => Answer::Cancelled,
        None => Answer::Unavailable,
    }
}

/// Asks a yes/no question; `false` when declined or when no dialog program exists.
pub fn confirm(title: &str, question: &str) -> bool {
    let script = format!(
        "display dialog {} with title {} buttons {{\"Cancel\", \"OK\"}} default button \"OK\"",
        applescript_string(question),
        applescript_string(title)
    );
    let zenity = ["--question", "--title", title, "--text", question];
    let kdialog = ["--title", title, "--yesno", question];
    prompt(&script, &zenity, &kdialog).is_some_and(|out| out.status.success())
}

pub fn error(title: &str, message: &str) {
    let script = format!(
        "display alert {} message {} as critical",
        applescript_string(title),
        applescript_string(message)
    );
    let zenity = ["--error", "--title", title, "--text", message];
    let kdialog = ["--title", title, "--error", message];
    let _ = prompt(&script, &zenity, &kdialog);
}

/// Opens a file (Console for a log on macOS) or a web page with the desktop's default app. The
/// opener is waited for on a thread of its own, so that none is left a zombie.
pub fn open(target: impl AsRef<OsStr>) {
    if let Ok(mut child) = opener(target.as_ref()).spawn_counted() {
        std::thread::spawn(move || child.wait());
    }
}

/// The desktop's opener for `target`: `open` on macOS, `xdg-open` elsewhere.
pub fn opener(target: &OsStr) -> Command {
    let program = if cfg!(target_os = "macos") {
        "/usr/bin/open"
    } else {
        "xdg-open"
    };
    let mut command = Command::new(program);
    command.arg(target).stdin(Stdio::null());
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applescript_strings_cannot_break_out() {
        assert_eq!(applescript_string("100.64.0.1"), "\"100.64.0.1\"");
        assert_eq!(
            applescript_string("a\" & do shell script \"rm"),
            "\"a\\\" & do shell script \\\"rm\""
        );
        assert_eq!(applescript_string("back\\slash"), "\"back\\\\slash\"");
    }
    #[test]
    fn a_url_goes_to_the_desktops_opener_as_one_argument() {
        let command = opener(std::ffi::OsStr::new("http://100.64.0.1:8265"));
        let program = if cfg!(target_os = "macos") {
            "/usr/bin/open"
        } else {
            "xdg-open"
        };
        assert_eq!(command.get_program(), program);
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args, ["http://100.64.0.1:8265"]);
    }
}
