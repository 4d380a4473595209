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
use crate::platform::{system_login_item, LoginStatus};
use crate::text::menu::{self, MenuWord, TrayFailure};
use crate::text::Lang;

/// Reads whether the app starts at login, on a helper thread. With `repoint` (once, at start),
/// first points an item that starts a moved or deleted copy at this program.
pub fn read_state(paths: Paths, proxy: EventLoopProxy<UiEvent>, repoint: bool) {
    std::thread::spawn(move || {
        let item = std::env::current_exe()
            .ok()
            .and_then(|exe| system_login_item(exe, paths.home.clone()).ok());
        if repoint {
            if let Some(Err(error)) = item.as_ref().map(|item| item.repoint_to_this_program()) {
                // Not fatal: the tick shows the item off, and turning it on rewrites it.
                let why = error.to_string();
                let line = menu::tray_failed_line(Lang::current(), TrayFailure::LoginItem, &why);
                eprintln!("bittrader-worker: {line}");
            }
        }
        let ticked = item.map(|item| matches!(item.status(), LoginStatus::Enabled { .. }));
        let _ = proxy.send_event(UiEvent::LoginItem(ticked));
    });
}

/// Reads the state again each time the menu is about to open (a press on the icon): the user
/// may have changed it in System Settings since. Trays that report no clicks (Linux's
/// AppIndicator) keep the state read at start and after each toggle.
pub fn reread_when_the_menu_opens(paths: Paths, proxy: EventLoopProxy<UiEvent>) {
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

/// Turns start-at-login on or off off the main thread (launchctl can take a moment), then
/// reads the state back for the tick. The old install's LaunchAgent is only replaced when the
/// user agrees; a backup is kept.
pub fn toggle(enable: bool, paths: Paths, lang: Lang, proxy: EventLoopProxy<UiEvent>) {
    std::thread::spawn(move || {
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let item = match system_login_item(exe, paths.home.clone()) {
            Ok(item) => item,
            Err(e) => return dialog::error("BitTrader Worker", &e.to_string()),
        };
        let word = |word| menu::word(lang, word);
        let result = if !enable {
            item.disable()
        } else if let LoginStatus::Legacy { program } = item.status() {
            if dialog::confirm(
                "BitTrader Worker",
                &format!("{} ({program})", word(MenuWord::ReplaceLegacy)),
            ) {
                item.enable(true)
            } else {
                Ok(())
            }
        } else {
            item.enable(false)
        };
        match result {
            Ok(()) => {}
            Err(e) => dialog::error("BitTrader Worker", &e.to_string()),
        }
        let ticked = matches!(item.status(), LoginStatus::Enabled { .. });
        let _ = proxy.send_event(UiEvent::LoginItem(Some(ticked)));
    });
}
