//! The "Start at login" tick and its toggle: reads and changes the login item off the main
//! thread and hands the answer to the event loop as [`UiEvent::LoginItem`].
//!
//! Reading may spawn `launchctl` (the LaunchAgent's real state), so it happens only at start
//! (after pointing a moved app's item back at it), when the menu opens, and after a toggle;
//! never on a timer, so an idle app spawns nothing.

use tao::event_loop::EventLoopProxy;
use tray_icon::{MouseButtonState, TrayIconEvent};

use super::{dialog, UiEvent};
use crate::config::Paths;
use crate::platform::{system_login_item, LoginItem, LoginStatus};
use crate::text::menu::{self, MenuWord, TrayFailure};
use crate::text::{self, Lang};

/// The login item that starts this program.
fn this_programs_item(paths: &Paths) -> Result<Box<dyn LoginItem + Send>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let worded = |e| text::cli::login_item_error(Lang::current(), &e);
    system_login_item(exe, paths.home.clone()).map_err(worded)
}

fn ticked(item: &dyn LoginItem) -> bool {
    matches!(item.status(), LoginStatus::Enabled { .. })
}

/// Reads whether the app starts at login, on a helper thread. With `repoint` (once, at start),
/// first points an item that starts a moved or deleted copy at this program.
fn read_state(paths: Paths, proxy: EventLoopProxy<UiEvent>, repoint: bool) {
    std::thread::spawn(move || {
        let item = this_programs_item(&paths).ok();
        if repoint {
            if let Some(Err(error)) = item.as_ref().map(|item| item.repoint_to_this_program()) {
                // Not fatal: the tick shows the item off, and turning it on rewrites it.
                let why = error.to_string();
                let line = menu::tray_failed_line(Lang::current(), TrayFailure::LoginItem, &why);
                eprintln!("bittrader-worker: {line}");
            }
        }
        let _ = proxy.send_event(UiEvent::LoginItem(item.map(|item| ticked(&*item))));
    });
}

/// Reads the state now, and again each time the menu is about to open (a press on the icon):
/// the user may have changed it in System Settings since. Trays that report no clicks (Linux's
/// AppIndicator) keep the state read at start and after each toggle.
pub fn follow(paths: Paths, proxy: EventLoopProxy<UiEvent>) {
    read_state(paths.clone(), proxy.clone(), true);
    TrayIconEvent::set_event_handler(Some(move |event: TrayIconEvent| {
        if let TrayIconEvent::Click {
            button_state: MouseButtonState::Down,
            ..
        } = event
        {
            read_state(paths.clone(), proxy.clone(), false);
        }
    }));
}

/// Turns start-at-login on or off off the main thread (launchctl takes a moment), then reads it
/// back for the tick. The old install's LaunchAgent is replaced (backed up) only if the user agrees.
pub fn toggle(enable: bool, paths: Paths, lang: Lang, proxy: EventLoopProxy<UiEvent>) {
    std::thread::spawn(move || {
        let item = match this_programs_item(&paths) {
            Ok(item) => item,
            Err(why) => return dialog::error("BitTrader Worker", &why),
        };
        let result = if !enable {
            item.disable()
        } else if let LoginStatus::Legacy { program } = item.status() {
            let question = format!("{} ({program})", menu::word(lang, MenuWord::ReplaceLegacy));
            if dialog::confirm("BitTrader Worker", &question) {
                item.enable(true)
            } else {
                Ok(())
            }
        } else {
            item.enable(false)
        };
        if let Err(e) = result {
            dialog::error("BitTrader Worker", &text::cli::login_item_error(lang, &e));
        }
        let _ = proxy.send_event(UiEvent::LoginItem(Some(ticked(&*item))));
    });
}
