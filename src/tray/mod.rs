//! The menu-bar app: a face on the same supervisor the daemon runs, never a second one.
//!
//! Threads (macOS demands the UI on the main thread): the tao event loop owns the main thread
//! and every menu object; the supervisor runs on a tokio runtime on another thread. UI → runtime
//! through the same request channel the control socket uses; runtime → UI as [`UiEvent`]s
//! through an `EventLoopProxy`. The tray is created once the loop has started
//! (`StartCause::Init`), as tray-icon requires.

pub mod dialog;
pub mod icons;
pub mod login;
pub mod menu;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder};
use tokio::sync::{mpsc, oneshot};
use tray_icon::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, MenuItemKind, PredefinedMenuItem, Submenu,
};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::config::Paths;
use crate::model::{Notice, Status};
use crate::platform::sleep::SleepHandler;
use crate::runtime::control::{Pending, Reply, Request, StatusReport};
use crate::runtime::{Notifier, SleepLink};
use crate::service::{self, StartError};
use crate::supervisor::Event as SupervisorEvent;
use crate::text::menu::{MenuWord, TrayFailure};
use crate::text::{self, Lang};
use menu::{Entry, Kind};

/// Events the event loop receives from other threads.
#[derive(Debug)]
pub enum UiEvent {
    Status(Box<StatusReport>),
    Menu(MenuEvent),
    /// Whether the app starts at login (`None`: could not be read), see [`login`].
    LoginItem(Option<bool>),
    /// The supervisor finished (quit, or an error that stopped it).
    Finished(Option<String>),
}

/// Shows the supervisor's notices as desktop notifications (it keeps them from a storm).
pub struct DesktopNotifier {
    lang: Lang,
    /// Where a click on a found head's notification goes: freedesktop reports clicks, macOS
    /// (from here) does not, and there the menu lists the head first.
    #[cfg_attr(target_os = "macos", allow(dead_code))]
    requests: mpsc::Sender<Pending>,
}

impl DesktopNotifier {
    pub fn new(lang: Lang, requests: mpsc::Sender<Pending>) -> Self {
        // A bare binary has no bundle identifier, and notify-rust may then hang on recent
        // macOS; inside the app bundle macOS has ours, and setting one would swizzle
        // -[NSBundle bundleIdentifier] for the whole process (mac-notification-sys).
        #[cfg(target_os = "macos")]
        if !std::env::current_exe()
            .is_ok_and(|exe| crate::platform::login_item::is_inside_app_bundle(&exe))
        {
            let _ = notify_rust::set_application("com.bittrader.worker");
        }
        DesktopNotifier { lang, requests }
    }
}

impl Notifier for DesktopNotifier {
    fn notify(&mut self, notice: &Notice) {
        let (title, body) = text::notice::notice(self.lang, notice);
        let mut shown = notify_rust::Notification::new();
        shown
            .appname("BitTrader Worker")
            .summary(&title)
            .body(&body);
        #[cfg(all(unix, not(target_os = "macos")))]
        if let Notice::HeadFound { head } = notice {
            let join = text::menu::found_head_item(self.lang, head, true);
            shown.action("default", &join).action("join", &join);
            let (address, requests) = (head.address.to_string(), self.requests.clone());
            // Waits for the click (or the close) on a thread of its own.
            std::thread::spawn(move || {
                if let Ok(handle) = shown.show() {
                    handle.wait_for_action(|action| {
                        if action == "default" || action == "join" {
                            // The supervisor takes it only if no head was set meanwhile.
                            let join = Request::JoinFoundHead { address };
                            send_request(&requests, join, |_| {});
                        }
                    });
                }
            });
            return;
        }
        // Showing can block (D-Bus, the macOS notification centre): never on the runtime.
        std::thread::spawn(move || {
            let _ = shown.show();
        });
    }
}

/// The icon and its menu, as last drawn.
struct Tray {
    icon: TrayIcon,
    menu: Menu,
    /// What `menu` shows.
    model: Vec<Entry>,
    drawn: Option<&'static [u8]>,
}

impl Tray {
    fn new(model: Vec<Entry>) -> Result<Tray, String> {
        let menu = build_menu(&model).map_err(|e| e.to_string())?;
        let icon = TrayIconBuilder::new()
            .with_menu(Box::new(menu.clone()))
            .with_tooltip("BitTrader Worker")
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Tray {
            icon,
            menu,
            model,
            drawn: None,
        })
    }

    /// Shows `status` and the menu `model` made of it: texts and ticks are updated in place
    /// (an open menu stays open), and the menu is rebuilt only when its shape changed.
    fn show(&mut self, status: &Status, model: Vec<Entry>, lang: Lang) {
        let png = icons::png(status.phase);
        if self.drawn != Some(png) {
            if let Ok(image) = icon_image(png) {
                #[cfg(target_os = "macos")]
                let _ = self.icon.set_icon_templated(Some(image));
                #[cfg(not(target_os = "macos"))]
                let _ = self.icon.set_icon(Some(image));
                self.drawn = Some(png);
            }
        }
        let _ = self
            .icon
            .set_tooltip(Some(text::cli::summary(lang, status)));
        if menu::shape(&model) != menu::shape(&self.model) {
            if let Ok(menu) = build_menu(&model) {
                self.icon.set_menu(Some(Box::new(menu.clone())));
                (self.menu, self.model) = (menu, model);
            }
        } else if model != self.model {
            self.model = model;
            self.put_back();
        }
    }

    /// Sets every item as the model says, over what the toolkit changed on a click.
    fn put_back(&self) {
        apply(&self.model, &self.menu.items());
    }
}

type MenuResult = Result<(), tray_icon::menu::Error>;

fn build_menu(model: &[Entry]) -> Result<Menu, tray_icon::menu::Error> {
    let menu = Menu::new();
    append_entries(model, &|item| menu.append(item))?;
    Ok(menu)
}

fn append_entries(entries: &[Entry], add: &dyn Fn(&dyn IsMenuItem) -> MenuResult) -> MenuResult {
    for Entry { id, text, kind } in entries {
        match kind {
            Kind::Info => add(&MenuItem::with_id(id, text, false, None))?,
            Kind::Action => add(&MenuItem::with_id(id, text, true, None))?,
            Kind::Check { checked, enabled } => {
                add(&CheckMenuItem::with_id(id, text, *enabled, *checked, None))?
            }
            Kind::Submenu(entries) => {
                let submenu = Submenu::with_id(id, text, true);
                append_entries(entries, &|item| submenu.append(item))?;
                add(&submenu)?;
            }
            Kind::Separator => add(&PredefinedMenuItem::separator())?,
            Kind::About(about) => {
                let metadata = tray_icon::menu::AboutMetadata {
                    name: Some("BitTrader Worker".into()),
                    version: Some(about.version.clone()),
                    short_version: Some(about.build.clone()),
                    // The macOS panel shows the credits, GTK's the comments.
                    comments: Some(about.details.clone()),
                    credits: Some(about.details.clone()),
                    ..Default::default()
                };
                add(&PredefinedMenuItem::about(Some(text), Some(metadata)))?
            }
        }
    }
    Ok(())
}

/// Puts the texts and ticks of `model` on `items`, built from a model of the same shape.
fn apply(model: &[Entry], items: &[MenuItemKind]) {
    for (Entry { text, kind, .. }, item) in model.iter().zip(items) {
        match (kind, item) {
            (Kind::Info | Kind::Action, MenuItemKind::MenuItem(item)) => item.set_text(text),
            (Kind::Check { checked, enabled }, MenuItemKind::Check(item)) => {
                item.set_text(text);
                item.set_checked(*checked);
                item.set_enabled(*enabled);
            }
            (Kind::Submenu(entries), MenuItemKind::Submenu(submenu)) => {
                submenu.set_text(text);
                apply(entries, &submenu.items());
            }
            _ => {}
        }
    }
}

fn icon_image(png: &[u8]) -> Result<Icon, String> {
    let rgba = icons::decode(png)?;
    Icon::from_rgba(rgba.pixels, rgba.width, rgba.height).map_err(|e| e.to_string())
}

/// Sends a request without blocking the UI; the answer goes to `on_reply` on a helper thread.
fn send_request(
    requests: &mpsc::Sender<Pending>,
    request: Request,
    on_reply: impl FnOnce(Reply) + Send + 'static,
) {
    let (tx, rx) = oneshot::channel();
    if requests.try_send(Pending { request, reply: tx }).is_err() {
        return;
    }
    std::thread::spawn(move || {
        if let Ok(reply) = rx.blocking_recv() {
            on_reply(reply);
        }
    });
}

/// Forwards macOS's sleep and wake notifications to the driver, on the link it hands out (see
/// `platform::sleep`).
struct SleepToDriver {
    /// Set once the driver runs: a notification before that has no worker to stop.
    link: Arc<OnceLock<SleepLink>>,
    /// The announcements sent so far, to find the supervisor's verdict on the latest.
    announced: AtomicU64,
}

/// How often the blocked WillSleep observer looks at the supervisor's verdict.
const SLEEP_HOLD_POLL: Duration = Duration::from_millis(50);

impl SleepHandler for SleepToDriver {
    /// Runs on the main thread, and the sleep waits for it: blocks until the supervisor has
    /// taken in this announcement and holds the sleep no more (the worker has stopped, within
    /// the supervisor's own bound), as logind's delay inhibitor does, so that Ray is stopped
    /// rather than frozen mid-task.
    fn will_sleep(&self) {
        let Some(link) = self.link.get() else {
            return;
        };
        let announced = self.announced.fetch_add(1, Ordering::SeqCst) + 1;
        if link.events.send(SupervisorEvent::WillSleep).is_err() {
            return;
        }
        // macOS waits 30 s at most; no verdict by then means no supervisor to wait for.
        let bound = Instant::now() + crate::supervisor::settings::SLEEP_HOLD_MAX;
        while Instant::now() < bound {
            let gate = *link.gate.borrow();
            if gate.will_sleeps_seen >= announced && !gate.holding {
                return;
            }
            std::thread::sleep(SLEEP_HOLD_POLL);
        }
    }

    fn woke(&self, slept: Duration) {
        if let Some(link) = self.link.get() {
            let _ = link.events.send(SupervisorEvent::Woke {
                slept_secs: slept.as_secs(),
            });
        }
    }
}

/// Runs the menu-bar app until Quit.
pub fn run(paths: Paths) -> Result<(), StartError> {
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return Err(StartError::NoDisplay);
        }
        // The app draws no OpenGL; without this the first GTK program of a session probes the
        // X server's GL and maps Mesa and LLVM (≈ 55 MB measured under Xvfb, bench/README.md).
        // Set before GTK starts and before any other thread exists.
        if std::env::var_os("GDK_GL").is_none() {
            std::env::set_var("GDK_GL", "disable");
        }
    }
    let (runtime, shutdown) = service::runtime_and_shutdown()?;
    let prepared = service::prepare(&paths)?;
    let lang = Lang::current();
    let machine_cpus = service::machine_cpus();

    #[allow(unused_mut)]
    let mut event_loop = EventLoopBuilder::<UiEvent>::with_user_event().build();
    #[cfg(target_os = "macos")]
    {
        use tao::platform::macos::{ActivationPolicy, EventLoopExtMacOS};
        // A menu-bar app: no Dock icon, no app menu.
        event_loop.set_activation_policy(ActivationPolicy::Accessory);
        // tao activates the app when it starts, which takes the focus from whatever the user
        // is typing in (at every login, too). A menu-bar app has no window to focus.
        event_loop.set_activate_ignoring_other_apps(false);
    }
    // Never dropped: `event_loop.run` below does not return, so App Nap stays off (it would
    // stretch the supervisor's timers) for as long as the process lives.
    let _app_nap = crate::platform::app_nap::disable_app_nap();
    let proxy = event_loop.create_proxy();
    {
        let proxy = proxy.clone();
        MenuEvent::set_event_handler(Some(move |event| {
            let _ = proxy.send_event(UiEvent::Menu(event));
        }));
    }
    login::follow(paths.clone(), proxy.clone());

    let (requests, requests_rx) = mpsc::channel::<Pending>(16);
    // Only macOS posts sleep notifications to the tray's run loop; Linux has logind.
    let sleep_link = cfg!(target_os = "macos").then(|| Arc::new(OnceLock::new()));
    let mut sleep_handler = sleep_link.clone().map(|link| SleepToDriver {
        link,
        announced: AtomicU64::new(0),
    });
    let mut sleep_observer = None;
    // Quit takes at most the supervisor's own deadline for it.
    let quit_within =
        crate::supervisor::Settings::from_config(&prepared.loaded.config, false).quit_deadline();
    let (finished_tx, finished) = std::sync::mpsc::channel();
    let supervisor = {
        let (paths, proxy) = (paths.clone(), proxy.clone());
        let notifier = Box::new(DesktopNotifier::new(lang, requests.clone()));
        let requests = (requests.clone(), requests_rx);
        move || {
            let status_proxy = proxy.clone();
            let on_status = move |report| {
                let _ = status_proxy.send_event(UiEvent::Status(Box::new(report)));
            };
            let menu_bar = Some(service::MenuBar { sleep_link });
            let serve = service::serve(
                paths, prepared, requests, notifier, shutdown, menu_bar, on_status,
            );
            let result = runtime.block_on(serve);
            // The worker is stopped by now: whoever waits for the end may go on.
            let _ = finished_tx.send(());
            let _ = proxy.send_event(UiEvent::Finished(result.err().map(|e| e.to_string())));
        }
    };
    std::thread::Builder::new()
        .name("supervisor".into())
        .spawn(supervisor)
        .map_err(StartError::Runtime)?;

    let mut tray: Option<Tray> = None;
    let mut report = StatusReport::default();
    let mut login_item: Option<bool> = None;
    let mut quit_deadline: Option<Instant> = None;
    // Kept for as long as the app runs (macOS: see `text_editing_menu`).
    #[cfg(target_os = "macos")]
    let mut _edit_menu: Option<Menu> = None;
    event_loop.run(move |event, _, control_flow| {
        *control_flow = quit_deadline.map_or(ControlFlow::Wait, ControlFlow::WaitUntil);
        match event {
            Event::NewEvents(StartCause::Init) => {
                #[cfg(target_os = "macos")]
                {
                    _edit_menu = text_editing_menu();
                }
                if let Some(handler) = sleep_handler.take() {
                    sleep_observer = Some(crate::platform::sleep::observe_sleep(Box::new(handler)));
                }
                match Tray::new(menu::model(&report, login_item, machine_cpus, lang)) {
                    Ok(made) => tray = Some(made),
                    Err(why) => {
                        let line = text::menu::tray_failed_line(lang, TrayFailure::Icon, &why);
                        eprintln!("bittrader-worker: {line}");
                    }
                }
            }
            Event::NewEvents(StartCause::ResumeTimeReached { .. }) => {
                // Quit took longer than the worker's grace allows: leave anyway.
                *control_flow = ControlFlow::Exit;
                return;
            }
            Event::UserEvent(UiEvent::Status(new)) => report = *new,
            Event::UserEvent(UiEvent::LoginItem(ticked)) => login_item = ticked,
            // Finder, Spotlight or the Dock opening the app again reach the running one as a
            // reopen (macOS starts no second process); a second process says the same on the
            // socket (main.rs).
            Event::Reopen { .. } => {
                send_request(&requests, Request::OpenedAgain, |_| {});
                return;
            }
            Event::UserEvent(UiEvent::Menu(event)) => {
                let id = event.id.0.as_str();
                let Some(current) = report.status.as_ref() else {
                    return;
                };
                match (menu::command_for(id, current), id) {
                    (Some(request), _) => {
                        if request == Request::Quit {
                            quit_deadline = Some(Instant::now() + quit_within);
                        }
                        send_request(&requests, request, |_| {});
                    }
                    (None, menu::ids::OPEN_LOG) => dialog::open(paths.log_file()),
                    (None, menu::ids::OPEN_LOGS_FOLDER) => dialog::open(paths.logs_dir()),
                    (None, menu::ids::DASHBOARD) => {
                        if let Some(url) = menu::dashboard_url(current) {
                            dialog::open(url);
                        }
                    }
                    (None, menu::ids::UPDATE) => offer_update(current, lang),
                    (None, menu::ids::OPEN_CONTRIBUTION) => open_contribution_page(&paths, lang),
                    (None, menu::ids::CHECK_THIS_MAC) => check_this_mac(&paths, lang),
                    (None, menu::ids::INSTALL_CLI) => install_cli(lang),
                    (None, menu::ids::UNINSTALL_ALL) => uninstall(&paths, lang, false),
                    (None, menu::ids::UNINSTALL_KEEP_DATA) => uninstall(&paths, lang, true),
                    (None, menu::ids::HEAD) => ask_for_head(current, &requests, &paths, lang),
                    (None, menu::ids::LOGIN) => {
                        let enable = login_item != Some(true);
                        login::toggle(enable, paths.clone(), lang, proxy.clone());
                    }
                    (None, _) => {}
                }
                // The menu shows the supervisor's truth: a tick the toolkit flipped is put back.
                if let Some(tray) = &tray {
                    tray.put_back();
                }
                return;
            }
            Event::UserEvent(UiEvent::Finished(error)) => {
                if let Some(error) = error {
                    service::report_startup_failure(Some(&paths), &error);
                }
                tray = None;
                // No supervisor left to stop a worker before a sleep.
                if let Some(observer) = sleep_observer.take() {
                    observer.stop();
                }
                *control_flow = ControlFlow::Exit;
                return;
            }
            Event::LoopDestroyed => {
                // The process ends when this returns: the worker must be stopped first, or it
                // would run on with no battery or sleep policy. Returns at once if it has.
                if quit_deadline.is_none() {
                    quit_and_wait(&requests, &finished, quit_within);
                }
                return;
            }
            _ => return,
        }
        if let Some(tray) = tray.as_mut() {
            let model = menu::model(&report, login_item, machine_cpus, lang);
            tray.show(&report.status.clone().unwrap_or_default(), model, lang);
        }
    })
}

/// The newer release's page, or for a Homebrew install the command that updates it (the page's
/// download would be a second copy beside the cask's), off the main thread.
fn offer_update(current: &Status, lang: Lang) {
    let Some(update) = current.update.clone() else {
        return;
    };
    if !update.homebrew {
        return dialog::open(update.page);
    }
    std::thread::spawn(move || {
        let body = text::menu::brew_upgrade_body(lang, &update.version);
        dialog::inform("BitTrader Worker", &body);
    });
}

/// ⌘X, ⌘C, ⌘V, ⌘A and ⌘Z in the head-address field are key equivalents of an Edit menu's
/// items in AppKit: a menu-bar app has no menu of its own, so this one is set and never shown.
#[cfg(target_os = "macos")]
fn text_editing_menu() -> Option<Menu> {
    let items: [&dyn IsMenuItem; 7] = [
        &PredefinedMenuItem::undo(None),
        &PredefinedMenuItem::redo(None),
        &PredefinedMenuItem::separator(),
        &PredefinedMenuItem::cut(None),
        &PredefinedMenuItem::copy(None),
        &PredefinedMenuItem::paste(None),
        &PredefinedMenuItem::select_all(None),
    ];
    let edit = Submenu::with_items("Edit", true, &items).ok()?;
    let menu = Menu::with_items(&[&edit]).ok()?;
    menu.init_for_nsapp();
    Some(menu)
}

/// Draws the contribution page from history.json into contribution.html and opens it in the
/// default browser, off the main thread (a file read, a write, and `open`/`xdg-open`).
fn open_contribution_page(paths: &Paths, lang: Lang) {
    let paths = paths.clone();
    std::thread::spawn(
        move || match crate::history::page::write_page(&paths, lang) {
            Ok(page) => dialog::open(page),
            Err(why) => {
                service::note_startup(&paths, &text::log::warning_line(&why));
                dialog::error(text::menu::word(lang, MenuWord::Contribution), &why);
            }
        },
    );
}

/// Runs `doctor` in a process of its own (as a bug report's would) and opens the report it
/// saves, off the main thread.
fn check_this_mac(paths: &Paths, lang: Lang) {
    let paths = paths.clone();
    std::thread::spawn(move || {
        let report = paths.doctor_file();
        let _ = std::fs::remove_file(&report);
        let ran = std::env::current_exe().and_then(|exe| {
            std::process::Command::new(exe)
                .arg("doctor")
                .env("BITTRADER_WORKER_HOME", &paths.home)
                .stdout(std::process::Stdio::null())
                .status()
        });
        let why = match ran {
            Ok(_) if report.is_file() => return dialog::open(report),
            Ok(status) => status.to_string(),
            Err(e) => e.to_string(),
        };
        dialog::error(text::menu::word(lang, MenuWord::CheckThisMac), &why);
    });
}

/// Links the command-line tool into the default folder and says where it went (or why not),
/// off the main thread: macOS's password prompt, when the folder needs it, waits for the user.
fn install_cli(lang: Lang) {
    std::thread::spawn(move || match crate::cli_link::install(None) {
        Ok(linked) => dialog::inform("BitTrader Worker", &text::cli::cli_linked(lang, &linked)),
        Err(refused) => {
            let why = text::cli::cli_link_refused(lang, &refused);
            dialog::error(text::menu::word(lang, MenuWord::InstallCli), &why);
        }
    });
}

/// After a confirmation, runs `uninstall` in a process of its own (its own process group, so
/// that it outlives this app, which it quits first); it shows its outcome in an alert.
fn uninstall(paths: &Paths, lang: Lang, keep_data: bool) {
    let home = paths.home.clone();
    std::thread::spawn(move || {
        let question = text::menu::uninstall_question(lang, keep_data, &home);
        if !dialog::confirm("BitTrader Worker", &question) {
            return;
        }
        use std::os::unix::process::CommandExt;
        let started = std::env::current_exe().and_then(|exe| {
            let mut command = std::process::Command::new(exe);
            command.args(["uninstall", "--alert"]);
            if keep_data {
                command.arg("--keep-data");
            }
            command.env("BITTRADER_WORKER_HOME", &home).process_group(0);
            // Not launchd's job even when this app is: it must boot the LaunchAgent out.
            command.env_remove("XPC_SERVICE_NAME");
            command.stdin(std::process::Stdio::null()).spawn()?.wait()
        });
        if let Err(e) = started {
            dialog::error(text::menu::word(lang, MenuWord::Uninstall), &e.to_string());
        }
    });
}

/// Prompts for a new head address off the main thread; the supervisor refuses an invalid one
/// (shown in an error dialog). Without a prompt program, the configuration file opens instead.
fn ask_for_head(current: &Status, requests: &mpsc::Sender<Pending>, paths: &Paths, lang: Lang) {
    let word = move |word| text::menu::word(lang, word);
    // The demo head's loopback address is no suggestion for a real one.
    let current = current
        .head
        .as_ref()
        .filter(|_| !current.demo)
        .map(|h| h.to_string())
        .unwrap_or_default();
    let (requests, config_file) = (requests.clone(), paths.config_file());
    std::thread::spawn(move || {
        match dialog::ask("BitTrader Worker", word(MenuWord::HeadPrompt), &current) {
            dialog::Answer::Entered(address) if address != current => {
                send_request(&requests, Request::Head { address }, move |reply| {
                    if !reply.ok {
                        dialog::error(
                            word(MenuWord::HeadInvalid),
                            reply.message.as_deref().unwrap_or(""),
                        );
                    }
                });
            }
            dialog::Answer::Unavailable => dialog::open(config_file),
            _ => {}
        }
    });
}

/// Asks the supervisor to quit and waits, on this thread, until it has stopped the worker or
/// `within` has passed. For the paths where the process ends right after (macOS's own quit at
/// logout, from Activity Monitor or AppleScript, which reaches tao as `LoopDestroyed`).
fn quit_and_wait(
    requests: &mpsc::Sender<Pending>,
    finished: &std::sync::mpsc::Receiver<()>,
    within: Duration,
) -> bool {
    // A full queue still ends: the supervisor is busy with earlier requests, and the quit
    // that the wait below does not see is the process's exit.
    send_request(requests, Request::Quit, |_| {});
    finished.recv_timeout(within).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_system_quit_asks_the_supervisor_to_quit_and_waits_for_its_end() {
        let (requests, mut inbox) = mpsc::channel::<Pending>(4);
        let (finished_tx, finished) = std::sync::mpsc::channel();
        let supervisor = std::thread::spawn(move || {
            let pending = inbox.blocking_recv().expect("a request");
            assert_eq!(pending.request, Request::Quit);
            // The worker takes a while to stop.
            std::thread::sleep(Duration::from_millis(200));
            let _ = finished_tx.send(());
        });
        let started = Instant::now();
        assert!(quit_and_wait(&requests, &finished, Duration::from_secs(10)));
        assert!(started.elapsed() >= Duration::from_millis(200), "it waited");
        supervisor.join().expect("the stand-in supervisor");
    }

    #[test]
    fn a_supervisor_that_never_ends_is_waited_for_only_until_the_deadline() {
        let (requests, _inbox) = mpsc::channel::<Pending>(4);
        let (_finished_tx, finished) = std::sync::mpsc::channel::<()>();
        let started = Instant::now();
        assert!(!quit_and_wait(
            &requests,
            &finished,
            Duration::from_millis(100)
        ));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
