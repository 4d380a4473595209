//! Native prompts, without a GUI toolkit of our own: `osascript` on macOS, zenity or kdialog on
//! Linux. Each call blocks until the user answers, so callers run it off the main thread.

use std::path::Path;
use std::process::Command;

use crate::platform::command::CountedSpawn;

/// What came back from a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The user typed this and confirmed.
    Entered(String),
    /// The user cancelled.
    Cancelled,
    /// No prompt program exists here.
    Unavailable,
}

/// Quotes `text` as an AppleScript string literal.
pub fn applescript_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn has(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Asks for a line of text with `current` filled in.
pub fn ask(title: &str, prompt: &str, current: &str) -> Answer {
    let output = if cfg!(target_os = "macos") {
        let script = format!(
            "text returned of (display dialog {} default answer {} with title {})",
            applescript_string(prompt),
            applescript_string(current),
            applescript_string(title)
        );
        Command::new(OSASCRIPT).args(["-e", &script]).run_output()
    } else if has("zenity") {
        Command::new("zenity")
            .args([
                "--entry",
                "--title",
                title,
                "--text",
                prompt,
                "--entry-text",
                current,
            ])
            .run_output()
    } else if has("kdialog") {
        Command::new("kdialog")
            .args(["--title", title, "--inputbox", prompt, current])
            .run_output()
    } else {
        return Answer::Unavailable;
    };
    match output {
        Ok(out) if out.status.success() => {
            Answer::Entered(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        Ok(_) => Answer::Cancelled,
        Err(_) => Answer::Unavailable,
    }
}

/// Asks a yes/no question; `false` when declined or when no dialog program exists.
pub fn confirm(title: &str, question: &str) -> bool {
    let status = if cfg!(target_os = "macos") {
        let script = format!(
            "display dialog {} with title {} buttons {{\"Cancel\", \"OK\"}} default button \"OK\"",
            applescript_string(question),
            applescript_string(title)
        );
        Command::new(OSASCRIPT).args(["-e", &script]).run_status()
    } else if has("zenity") {
        Command::new("zenity")
            .args(["--question", "--title", title, "--text", question])
            .run_status()
    } else if has("kdialog") {
        Command::new("kdialog")
            .args(["--title", title, "--yesno", question])
            .run_status()
    } else {
        return false;
    };
    status.is_ok_and(|s| s.success())
}

/// Shows an error message.
pub fn error(title: &str, message: &str) {
    let _ = if cfg!(target_os = "macos") {
        let script = format!(
            "display alert {} message {} as critical",
            applescript_string(title),
            applescript_string(message)
        );
        Command::new(OSASCRIPT).args(["-e", &script]).run_status()
    } else if has("zenity") {
        Command::new("zenity")
            .args(["--error", "--title", title, "--text", message])
            .run_status()
    } else if has("kdialog") {
        Command::new("kdialog")
            .args(["--title", title, "--error", message])
            .run_status()
    } else {
        return;
    };
}

/// Opens a file with the desktop's default application (Console for a log on macOS). The
/// opener is waited for on a thread of its own, so that none is left a zombie.
pub fn open(path: &Path) {
    open_target(path.as_os_str());
}

/// Opens a web page (the head's Ray dashboard) in the default browser, as [`open`] does a file.
pub fn open_url(url: &str) {
    open_target(std::ffi::OsStr::new(url));
}

/// The desktop's opener for `target`: `open` on macOS, `xdg-open` elsewhere.
pub fn opener(target: &std::ffi::OsStr) -> Command {
    let program = if cfg!(target_os = "macos") {
        "/usr/bin/open"
    } else {
        "xdg-open"
    };
    let mut command = Command::new(program);
    command.arg(target).stdin(std::process::Stdio::null());
    command
}

fn open_target(target: &std::ffi::OsStr) {
    let child = opener(target).spawn_counted();
    if let Ok(mut child) = child {
        let _ = std::thread::Builder::new()
            .name("opener".into())
            .spawn(move || child.wait());
    }
}

/// An absolute path: an app opened from Finder has a bare PATH.
const OSASCRIPT: &str = "/usr/bin/osascript";

/// `output()` and `status()`, with the process counted ([`CountedSpawn`]).
trait RunCounted {
    fn run_output(&mut self) -> std::io::Result<std::process::Output>;
    fn run_status(&mut self) -> std::io::Result<std::process::ExitStatus>;
}

impl RunCounted for Command {
    fn run_output(&mut self) -> std::io::Result<std::process::Output> {
        self.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn_counted()?
            .wait_with_output()
    }

    fn run_status(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.stdin(std::process::Stdio::null())
            .spawn_counted()?
            .wait()
    }
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
