//! macOS alerts: the start-up failure through `osascript` (the text passed as arguments, never
//! spliced into the script), and the menu's questions through AppKit's `NSAlert`, in this
//! process, after the app is brought to the front: a menu-bar app has no window, and a
//! dialog another process draws may open behind the front app without the keyboard.

use dispatch2::run_on_main;
use objc2::rc::Retained;
use objc2::MainThreadMarker;
use objc2_app_kit::{NSAlert, NSAlertFirstButtonReturn, NSAlertStyle, NSApplication, NSTextField};
use objc2_foundation::{NSPoint, NSRect, NSSize, NSString};

use super::{run_with_timeout, GIVE_UP_AFTER};

const SCRIPT: [&str; 3] = [
    "on run argv",
    "display alert (item 1 of argv) message (item 2 of argv) as critical giving up after 600",
    "end run",
];

pub fn show(title: &str, message: &str) -> bool {
    let args = [
        "-e", SCRIPT[0], "-e", SCRIPT[1], "-e", SCRIPT[2], title, message,
    ];
    // osascript's own give-up comes first.
    let within = GIVE_UP_AFTER + std::time::Duration::from_secs(5);
    // An app's PATH is /usr/bin:/bin:/usr/sbin:/sbin at best.
    run_with_timeout("/usr/bin/osascript", &args, within).is_ok_and(|out| out.success())
}

/// One of the menu's questions.
pub struct Question<'a> {
    pub title: &'a str,
    pub message: &'a str,
    /// The first one answers yes; none: AppKit's own "OK".
    pub buttons: &'a [&'a str],
    /// A text field with this filled in.
    pub text: Option<&'a str>,
    pub critical: bool,
}

/// Asks `question` in a modal alert in front of every other app, on the main thread (waiting
/// here for its answer when called from another): the text typed (empty without a field) when
/// the first button was pressed, `None` otherwise. The main thread must be running the app's
/// event loop, or not be busy: it runs the alert.
pub fn ask(question: &Question) -> Option<String> {
    run_on_main(|mtm| {
        let (alert, field) = alert(mtm, question);
        // `activate` is macOS 14 and later; this app runs from macOS 12.
        #[allow(deprecated)]
        NSApplication::sharedApplication(mtm).activateIgnoringOtherApps(true);
        let confirmed = alert.runModal() == NSAlertFirstButtonReturn;
        confirmed.then(|| {
            field
                .map(|f| f.stringValue().to_string())
                .unwrap_or_default()
        })
    })
}

fn alert(
    mtm: MainThreadMarker,
    question: &Question,
) -> (Retained<NSAlert>, Option<Retained<NSTextField>>) {
    let alert = NSAlert::new(mtm);
    alert.setMessageText(&NSString::from_str(question.title));
    alert.setInformativeText(&NSString::from_str(question.message));
    if question.critical {
        alert.setAlertStyle(NSAlertStyle::Critical);
    }
    for button in question.buttons {
        alert.addButtonWithTitle(&NSString::from_str(button));
    }
    let field = question.text.map(|current| {
        let field = NSTextField::textFieldWithString(&NSString::from_str(current), mtm);
        field.setFrame(NSRect::new(
            NSPoint::new(0.0, 0.0),
            NSSize::new(320.0, 24.0),
        ));
        alert.setAccessoryView(Some(&field));
        alert.window().setInitialFirstResponder(Some(&field));
        field
    });
    (alert, field)
}

/// For `doctor`: builds and lays out the head-address question with its text field, without
/// showing it (run on the main thread, as the menu's questions are).
pub fn check() -> Result<String, String> {
    let mtm = MainThreadMarker::new().ok_or("not on the main thread")?;
    let _app = NSApplication::sharedApplication(mtm);
    let question = Question {
        title: "BitTrader Worker",
        message: "doctor",
        buttons: &["OK", "Cancel"],
        text: Some("100.64.0.1"),
        critical: false,
    };
    let (alert, field) = alert(mtm, &question);
    alert.layout();
    let typed = field
        .map(|f| f.stringValue().to_string())
        .unwrap_or_default();
    Ok(format!(
        "NSAlert · {} buttons · text field \"{typed}\"",
        alert.buttons().count()
    ))
}
