//! Native prompts, without a GUI toolkit of our own: `osascript` on macOS, zenity or kdialog on
//! Linux. Each call blocks until the user answers, so callers run it off the main thread.

use std::path::Path;
use std::process::Command;

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
        Command::new("osascript").args(["-e", &script]).output()
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
            .output()
    } else if has("kdialog") {
        Command::new("kdialog")
            .args(["--title", title, "--inputbox", prompt, current])
            .output()
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
        Command::new("osascript").args(["-e", &script]).status()
    } else if has("zenity") {
        Command::new("zenity")
            .args(["--question", "--title", title, "--text", question])
            .status()
    } else if has("kdialog") {
        Command::new("kdialog")
            .args(["--title", title, "--yesno", question])
            .status()
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
        Command::new("osascript").args(["-e", &script]).status()
    } else if has("zenity") {
        Command::new("zenity")
            .args(["--error", "--title", title, "--text", message])
            .status()
    } else if has("kdialog") {
        Command::new("kdialog")
            .args(["--title", title, "--error", message])
            .status()
    } else {
        return;
    };
}

/// Opens a file with the desktop's default application (Console for a log on macOS).
pub fn open(path: &Path) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let _ = Command::new(program)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .spawn();
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
}
