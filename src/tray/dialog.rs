//! Native prompts, without a GUI toolkit of our own: AppKit's alert on macOS
//! ([`alert::macos::ask`]), zenity or kdialog on Linux. Each call blocks until the user answers,
//! so callers run it off the main thread.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

#[cfg(target_os = "macos")]
use crate::platform::alert::macos::{self as alert, Question};
use crate::platform::command::CountedSpawn;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The user typed this and confirmed.
    Entered(String),
    Cancelled,
    /// No prompt program exists here.
    Unavailable,
}

/// Runs the first of zenity and kdialog that starts, with its arguments, to its end (counted,
/// see [`CountedSpawn`]): whether it confirmed and what it printed; `None` when none starts.
#[cfg(not(target_os = "macos"))]
fn prompt(zenity: &[&str], kdialog: &[&str]) -> Option<(bool, String)> {
    let child = [("zenity", zenity), ("kdialog", kdialog)]
        .into_iter()
        .find_map(|(program, args)| {
            let mut command = Command::new(program);
            command.args(args).stdin(Stdio::null());
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
            command.spawn_counted().ok()
        })?;
    let out = child.wait_with_output().ok()?;
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Some((out.status.success(), said))
}

/// AppKit names only its own single "OK" in the user's language.
#[cfg(target_os = "macos")]
fn ok_cancel() -> [&'static str; 2] {
    use crate::text::menu::{word, MenuWord};
    let lang = crate::text::Lang::current();
    [word(lang, MenuWord::Ok), word(lang, MenuWord::Cancel)]
}

/// Asks for a line of text with `current` filled in.
pub fn ask(title: &str, question: &str, current: &str) -> Answer {
    #[cfg(target_os = "macos")]
    let typed = alert::ask(&Question {
        title,
        message: question,
        buttons: &ok_cancel(),
        text: Some(current),
        critical: false,
    });
    #[cfg(not(target_os = "macos"))]
    let typed = {
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
        let Some((confirmed, typed)) = prompt(&zenity, &kdialog) else {
            return Answer::Unavailable;
        };
        confirmed.then_some(typed)
    };
    typed.map_or(Answer::Cancelled, |typed| {
        Answer::Entered(typed.trim().to_string())
    })
}

/// Asks a yes/no question; `false` when declined or when no dialog program exists.
pub fn confirm(title: &str, question: &str) -> bool {
    #[cfg(target_os = "macos")]
    return alert::ask(&Question {
        title,
        message: question,
        buttons: &ok_cancel(),
        text: None,
        critical: false,
    })
    .is_some();
    #[cfg(not(target_os = "macos"))]
    {
        let zenity = ["--question", "--title", title, "--text", question];
        let kdialog = ["--title", title, "--yesno", question];
        prompt(&zenity, &kdialog).is_some_and(|(confirmed, _)| confirmed)
    }
}

pub fn error(title: &str, message: &str) {
    tell(title, message, true);
}

/// Tells the user something that needs no answer.
pub fn inform(title: &str, message: &str) {
    tell(title, message, false);
}

fn tell(title: &str, message: &str, critical: bool) {
    #[cfg(target_os = "macos")]
    alert::ask(&Question {
        title,
        message,
        buttons: &[],
        text: None,
        critical,
    });
    #[cfg(not(target_os = "macos"))]
    {
        let (zenity, kdialog) = match critical {
            true => ("--error", "--error"),
            false => ("--info", "--msgbox"),
        };
        let zenity = [zenity, "--title", title, "--text", message];
        let _ = prompt(&zenity, &["--title", title, kdialog, message]);
    }
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
