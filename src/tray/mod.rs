//! The menu-bar app: a face on the same supervisor the daemon runs, never a second one.
//!
//! Threads (macOS demands the UI on the main thread): the tao event loop owns the main thread
//! and every menu object; the supervisor runs on a tokio runtime on another thread. UI → runtime
//! through the same request channel the control socket uses; runtime → UI through a watch of
//! [`StatusReport`], forwarded to the event loop as a user event through an `EventLoopProxy`.
//! The tray is created once the loop has started (`StartCause::Init`), as tray-icon requires.

pub mod dialog;
pub mod extras;
pub mod icons;
pub mod login;
pub mod menu;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder, EventLoopProxy};
use tokio::sync::{mpsc, oneshot, watch};
use tray_icon::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

use crate::config::Paths;
use crate::model::{Notice, Phase, Status};
use crate::platform::sleep::{SleepHandler, SleepObserver};
use crate::runtime::control::{Pending, Reply, Request, StatusReport};
use crate::runtime::{Notifier, SleepLink};
use crate::service;
use crate::text::menu::{MenuWord, TrayFailure};
use crate::text::{self, Lang};
use icons::IconKind;
use menu::{Entry, Extras};

/// Events the event loop receives from other threads.
#[derive(Debug)]
pub enum UiEvent {
    /// The supervisor's state changed.
    Status(Box<StatusReport>),
    /// A menu item was clicked.
    Menu(MenuEvent),
    /// Whether the app starts at login (`None`: could not be read), read at start, when the
    /// menu opens and after a toggle ([`login`]).
    LoginItem(Option<bool>),
    /// The supervisor finished (quit, or an error that stopped it).
    Finished(Option<String>),
}

/// Shows the supervisor's notices as desktop notifications (the supervisor already keeps them
/// from becoming a storm).
pub struct DesktopNotifier {
    lang: Lang,
    /// Where a click that chooses a head goes (a head found on the tailnet, offered on a first
    /// run); `None`: notifications only inform.
    requests: Option<mpsc::Sender<Pending>>,
}

impl DesktopNotifier {
    /// A notifier speaking `lang`.
    pub fn new(lang: Lang) -> Self {
        #[cfg(target_os = "macos")]
        {
            // Without an application set, notify-rust may hang on recent macOS.
            let _ = notify_rust::set_application("com.bittrader.worker");
        }
        DesktopNotifier {
            lang,
            requests: None,
        }
    }

    /// Lets a click on a found head's notification choose it, where the desktop reports
    /// clicks (freedesktop notifications; not macOS from here, where the menu lists it first).
    pub fn choosing_through(mut self, requests: mpsc::Sender<Pending>) -> Self {
        self.requests = Some(requests);
        self
    }
}

impl Notifier for DesktopNotifier {
    fn notify(&mut self, notice: &Notice) {
        let (title, body) = text::notice::notice(self.lang, notice);
        #[cfg(all(unix, not(target_os = "macos")))]
        if let (Notice::HeadFound { head }, Some(requests)) = (notice, &self.requests) {
            let address = head.address.to_string();
            let requests = requests.clone();
            let join = text::menu::found_head_item(self.lang, head, true);
            // Waits for the click (or the close) on a thread of its own.
            std::thread::spawn(move || {
                let shown = notify_rust::Notification::new()
                    .appname("BitTrader Worker")
                    .summary(&title)
                    .body(&body)
                    .action("default", &join)
                    .action("join", &join)
                    .show();
                if let Ok(handle) = shown {
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
            let _ = notify_rust::Notification::new()
                .appname("BitTrader Worker")
                .summary(&title)
                .body(&body)
                .show();
        });
    }
}

/// One rendered menu item, kept so it can be updated in place.
enum Handle {
    Item(MenuItem),
    Check(CheckMenuItem),
    Sub(Submenu),
}

/// The muda menu built from a model, with its items by id.
struct RenderedMenu {
    menu: Menu,
    items: HashMap<String, Handle>,
    shape: Vec<String>,
    model: Vec<Entry>,
}

/// Why the menu-bar app could not start or run. The Display is the message for the user.
#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    /// Linux without X11 or Wayland.
    #[error("no display for the menu-bar icon. Use `bittrader-worker daemon` (headless) or `bittrader-worker demo`.")]
    NoDisplay,
    /// The supervisor could not start.
    #[error(transparent)]
    Start(#[from] service::StartError),
    /// The menu could not be built.
    #[error("could not build the menu: {0}")]
    Menu(#[from] tray_icon::menu::Error),
    /// The icon could not be made.
    #[error("could not make the menu-bar icon: {0}")]
    Icon(String),
}

impl TrayError {
    /// Another instance already runs (see [`service::StartError::is_already_running`]).
    pub fn is_already_running(&self) -> bool {
        matches!(self, TrayError::Start(e) if e.is_already_running())
    }
}

type MenuResult = Result<(), tray_icon::menu::Error>;

fn append_entries(
    entries: &[Entry],
    add: &mut dyn FnMut(&dyn tray_icon::menu::IsMenuItem) -> MenuResult,
    items: &mut HashMap<String, Handle>,
) -> MenuResult {
    for entry in entries {
        match entry {
            Entry::Info { id, text } => {
                let item = MenuItem::with_id(id.clone(), text, false, None);
                add(&item)?;
                items.insert(id.clone(), Handle::Item(item));
            }
            Entry::Action { id, text } => {
                let item = MenuItem::with_id(id.clone(), text, true, None);
                add(&item)?;
                items.insert(id.clone(), Handle::Item(item));
            }
            Entry::Check {
                id,
                text,
                checked,
                enabled,
            } => {
                let item = CheckMenuItem::with_id(id.clone(), text, *enabled, *checked, None);
                add(&item)?;
                items.insert(id.clone(), Handle::Check(item));
            }
            Entry::Submenu { id, text, entries } => {
                let submenu = Submenu::with_id(id.clone(), text, true);
                append_entries(entries, &mut |item| submenu.append(item), items)?;
                add(&submenu)?;
                items.insert(id.clone(), Handle::Sub(submenu));
            }
            Entry::Separator => add(&PredefinedMenuItem::separator())?,
        }
    }
    Ok(())
}

impl RenderedMenu {
    fn build(model: Vec<Entry>) -> Result<RenderedMenu, TrayError> {
        let menu = Menu::new();
        let mut items = HashMap::new();
        append_entries(&model, &mut |item| menu.append(item), &mut items)?;
        Ok(RenderedMenu {
            menu,
            items,
            shape: menu::shape(&model),
            model,
        })
    }

    /// Updates texts and ticks in place (an open menu stays open); `false` if the shape
    /// changed and the menu must be rebuilt.
    fn update(&mut self, model: &[Entry]) -> bool {
        if menu::shape(model) != self.shape {
            return false;
        }
        if model == self.model.as_slice() {
            return true;
        }
        self.apply(model);
        self.model = model.to_vec();
        true
    }

    fn apply(&self, model: &[Entry]) {
        for entry in model {
            match (entry, entry.id().and_then(|id| self.items.get(id))) {
                (
                    Entry::Info { text, .. } | Entry::Action { text, .. },
                    Some(Handle::Item(item)),
                ) => item.set_text(text),
                (
                    Entry::Check {
                        text,
                        checked,
                        enabled,
                        ..
                    },
                    Some(Handle::Check(item)),
                ) => {
                    item.set_text(text);
                    item.set_checked(*checked);
                    item.set_enabled(*enabled);
                }
                (Entry::Submenu { text, entries, .. }, Some(Handle::Sub(sub))) => {
                    sub.set_text(text);
                    self.apply(entries);
                }
                _ => {}
            }
        }
    }
}

fn tray_icon_for(phase: Phase) -> Result<Icon, TrayError> {
    let rgba = icons::decode(IconKind::for_phase(phase).png())
        .map_err(|e| TrayError::Icon(e.to_string()))?;
    Icon::from_rgba(rgba.pixels, rgba.width, rgba.height)
        .map_err(|e| TrayError::Icon(e.to_string()))
}

/// Sends a request to the supervisor without blocking the UI; the answer goes to `on_reply`
/// on a helper thread.
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

/// Forwards the OS's sleep and wake notifications to the driver, on the link it hands out (see
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
        if link
            .events
            .send(crate::supervisor::Event::WillSleep)
            .is_err()
        {
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
            let slept_secs = slept.as_secs();
            let _ = link
                .events
                .send(crate::supervisor::Event::Woke { slept_secs });
        }
    }
}

/// Runs the menu-bar app until Quit.
pub fn run(paths: Paths) -> Result<(), TrayError> {
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err(TrayError::NoDisplay);
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os("GDK_GL").is_none() {
        // The app draws no OpenGL; without this the first GTK program of a session probes the
        // X server's GL and maps Mesa and LLVM (≈ 55 MB measured under Xvfb, bench/README.md).
        // Set before GTK starts and before any other thread exists.
        std::env::set_var("GDK_GL", "disable");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TrayError::Start(service::StartError::Runtime(e)))?;
    // Signals first: a SIGTERM or SIGHUP from here on stops the worker cleanly.
    let shutdown = {
        let _entered = runtime.enter();
        service::terminated()
    };
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
    let proxy: EventLoopProxy<UiEvent> = event_loop.create_proxy();
    {
        let proxy = proxy.clone();
        MenuEvent::set_event_handler(Some(move |event| {
            let _ = proxy.send_event(UiEvent::Menu(event));
        }));
    }
    login::read_state(paths.clone(), proxy.clone(), true);
    login::reread_when_the_menu_opens(paths.clone(), proxy.clone());

    let (requests_tx, requests_rx) = mpsc::channel::<Pending>(16);
    let (status_tx, _) = watch::channel(service::initial_report(&paths));
    // Only macOS posts sleep notifications to the tray's run loop; elsewhere the platform
    // watches them (Linux: logind).
    let sleep_link = cfg!(target_os = "macos").then(|| Arc::new(OnceLock::new()));
    let mut sleep_handler = sleep_link.clone().map(|link| SleepToDriver {
        link,
        announced: AtomicU64::new(0),
    });
    // Quit takes at most the supervisor's own deadline for it.
    let quit_within =
        crate::supervisor::Settings::from_config(&prepared.loaded.config, false).quit_deadline();
    let mut sleep_observer: Option<SleepObserver> = None;
    let finished = spawn_runtime(
        paths.clone(),
        prepared.loaded,
        (requests_tx.clone(), requests_rx),
        status_tx,
        (proxy.clone(), sleep_link),
        lang,
        (runtime, shutdown),
    )?;
    let mut runtime_finished = false;

    let lock = prepared.lock;
    let log_file = paths.log_file();
    let paths = paths.clone();
    let mut tray: Option<TrayIcon> = None;
    let mut rendered: Option<RenderedMenu> = None;
    let mut status: Option<Status> = None;
    let mut extras = Extras::default();
    let mut shown_icon: Option<IconKind> = None;
    let mut quit_deadline: Option<Instant> = None;
    let mut lock = Some(lock);

    event_loop.run(move |event, _, control_flow| {
        *control_flow = match quit_deadline {
            Some(at) => ControlFlow::WaitUntil(at),
            None => ControlFlow::Wait,
        };
        let mut refresh = false;
        match event {
            Event::NewEvents(StartCause::Init) => {
                if let Some(handler) = sleep_handler.take() {
                    sleep_observer = Some(crate::platform::sleep::observe_sleep(Box::new(handler)));
                }
                let initial = Status {
                    cpus: 1,
                    ..Status::default()
                };
                let model = menu::model(&initial, &extras, machine_cpus, lang);
                match (RenderedMenu::build(model), tray_icon_for(Phase::Checking)) {
                    (Ok(built), Ok(icon)) => {
                        let builder = TrayIconBuilder::new()
                            .with_menu(Box::new(built.menu.clone()))
                            .with_tooltip("BitTrader Worker");
                        #[cfg(target_os = "macos")]
                        let builder = builder.with_icon_templated(icon);
                        #[cfg(not(target_os = "macos"))]
                        let builder = builder.with_icon(icon);
                        let made = builder.build();
                        match made {
                            Ok(icon) => tray = Some(icon),
                            Err(e) => {
                                let why = e.to_string();
                                let line =
                                    text::menu::tray_failed_line(lang, TrayFailure::Icon, &why);
                                eprintln!("bittrader-worker: {line}");
                            }
                        }
                        rendered = Some(built);
                    }
                    (Err(e), _) | (_, Err(e)) => eprintln!("bittrader-worker: {e:#}"),
                }
            }
            Event::NewEvents(StartCause::ResumeTimeReached { .. }) => {
                // Quit took longer than the worker's grace allows: leave anyway.
                *control_flow = ControlFlow::Exit;
            }
            Event::UserEvent(UiEvent::Status(report)) => {
                status = report.status.clone();
                // The login item is read apart (that may spawn launchctl): kept as last read.
                extras = extras::from_report(&report, extras.login_item);
                refresh = true;
            }
            Event::UserEvent(UiEvent::LoginItem(ticked)) => {
                extras.login_item = ticked;
                refresh = true;
            }
            Event::UserEvent(UiEvent::Menu(event)) => {
                let id = event.id.0.as_str();
                let Some(current) = status.as_ref() else {
                    return;
                };
                if let Some(request) = menu::command_for(id, current) {
                    if request == Request::Quit {
                        quit_deadline = Some(Instant::now() + quit_within);
                    }
                    send_request(&requests_tx, request, |_| {});
                    // The menu shows the supervisor's truth, not the click: re-render now so a
                    // check item the toolkit flipped on its own is put back until the status
                    // changes.
                    refresh = true;
                } else if id == menu::ids::OPEN_LOG {
                    dialog::open(&log_file);
                } else if id == menu::ids::DASHBOARD {
                    if let Some(url) = menu::dashboard_url(current, &extras) {
                        dialog::open_url(&url);
                    }
                } else if id == menu::ids::OPEN_CONTRIBUTION {
                    open_contribution_page(&paths, lang);
                } else if id == menu::ids::HEAD {
                    ask_for_head(current, &requests_tx, lang);
                } else if id == menu::ids::LOGIN {
                    let enable = extras.login_item != Some(true);
                    login::toggle(enable, paths.clone(), lang, proxy.clone());
                    refresh = true;
                }
            }
            Event::UserEvent(UiEvent::Finished(error)) => {
                runtime_finished = true;
                if let Some(error) = error {
                    service::report_startup_failure(Some(&paths), &error);
                }
                tray = None;
                drop(lock.take());
                // No supervisor left to stop a worker before a sleep.
                if let Some(observer) = sleep_observer.take() {
                    observer.stop();
                }
                *control_flow = ControlFlow::Exit;
                return;
            }
            Event::LoopDestroyed => {
                // The process ends when this returns: the worker must be stopped first, or it
                // would run on with no battery or sleep policy.
                if !runtime_finished && quit_deadline.is_none() {
                    quit_and_wait(&requests_tx, &finished, quit_within);
                }
                return;
            }
            _ => {}
        }
        if refresh {
            if let (Some(current), Some(icon)) = (status.as_ref(), tray.as_ref()) {
                let kind = IconKind::for_phase(current.phase);
                if shown_icon != Some(kind) {
                    if let Ok(image) = tray_icon_for(current.phase) {
                        #[cfg(target_os = "macos")]
                        let _ = icon.set_icon_templated(Some(image));
                        #[cfg(not(target_os = "macos"))]
                        let _ = icon.set_icon(Some(image));
                        shown_icon = Some(kind);
                    }
                }
                let _ = icon.set_tooltip(Some(text::cli::summary(lang, current)));
                let model = menu::model(current, &extras, machine_cpus, lang);
                let updated = rendered.as_mut().is_some_and(|r| r.update(&model));
                if !updated {
                    if let Ok(built) = RenderedMenu::build(model) {
                        icon.set_menu(Some(Box::new(built.menu.clone())));
                        rendered = Some(built);
                    }
                }
            }
        }
    })
}

/// Draws the contribution page from history.json into contribution.html and opens it in the
/// default browser, off the main thread (a file read, a write, and `open`/`xdg-open`).
fn open_contribution_page(paths: &Paths, lang: Lang) {
    let paths = paths.clone();
    let _ = std::thread::Builder::new()
        .name("contribution".into())
        .spawn(
            move || match crate::history::page::write_page(&paths, lang) {
                Ok(page) => dialog::open(&page),
                Err(why) => {
                    crate::service::note_startup(&paths, &text::log::warning_line(&why));
                    dialog::error(text::menu::word(lang, MenuWord::Contribution), &why);
                }
            },
        );
}

/// Prompts for a new head address off the main thread; an invalid one is refused by the
/// supervisor (nothing is saved) and the reason shown in an error dialog.
fn ask_for_head(current: &Status, requests: &mpsc::Sender<Pending>, lang: Lang) {
    let word = move |word| text::menu::word(lang, word);
    // The demo head's loopback address is no suggestion for a real one.
    let current = current
        .head
        .as_ref()
        .filter(|_| !current.demo)
        .map(|h| h.to_string())
        .unwrap_or_default();
    let requests = requests.clone();
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
            dialog::Answer::Unavailable => {
                if let Ok(paths) = Paths::from_env() {
                    dialog::open(&paths.config_file());
                }
            }
            _ => {}
        }
    });
}

/// Starts the supervisor's runtime thread: the service and the status forwarder.
fn spawn_runtime(
    paths: Paths,
    loaded: crate::config::LoadOutcome,
    requests: (mpsc::Sender<Pending>, mpsc::Receiver<Pending>),
    status_tx: watch::Sender<StatusReport>,
    (proxy, sleep_link): (EventLoopProxy<UiEvent>, Option<Arc<OnceLock<SleepLink>>>),
    lang: Lang,
    (runtime, shutdown): (
        tokio::runtime::Runtime,
        impl std::future::Future<Output = ()> + Send + 'static,
    ),
) -> Result<std::sync::mpsc::Receiver<()>, TrayError> {
    let (finished_tx, finished) = std::sync::mpsc::channel();
    let mut status_rx = status_tx.subscribe();
    let chooser = requests.0.clone();
    std::thread::Builder::new()
        .name("supervisor".into())
        .spawn(move || {
            runtime.block_on(async move {
                let forward = {
                    let proxy = proxy.clone();
                    tokio::spawn(async move {
                        while status_rx.changed().await.is_ok() {
                            let report = status_rx.borrow_and_update().clone();
                            if proxy.send_event(UiEvent::Status(Box::new(report))).is_err() {
                                return;
                            }
                        }
                    })
                };
                let result = service::serve(
                    paths,
                    loaded,
                    requests,
                    status_tx,
                    Box::new(DesktopNotifier::new(lang).choosing_through(chooser)),
                    shutdown,
                    Some(service::MenuBar { sleep_link }),
                )
                .await;
                forward.abort();
                // The worker is stopped by now: whoever waits for the end may go on.
                let _ = finished_tx.send(());
                let _ = proxy.send_event(UiEvent::Finished(result.err().map(|e| e.to_string())));
            });
        })
        .map_err(|e| TrayError::Start(service::StartError::Runtime(e)))?;
    Ok(finished)
}

/// Asks the supervisor to quit and waits, on this thread, until it has stopped the worker or
/// `within` has passed. For the paths where the process ends right after (macOS's own quit at
/// logout, from Activity Monitor or AppleScript, which reaches tao as `LoopDestroyed`).
fn quit_and_wait(
    requests: &mpsc::Sender<Pending>,
    finished: &std::sync::mpsc::Receiver<()>,
    within: Duration,
) -> bool {
    let (reply, _answer) = oneshot::channel();
    let request = Pending {
        request: Request::Quit,
        reply,
    };
    // A full queue still ends: the supervisor is busy with earlier requests, and the quit
    // that the wait below does not see is the process's exit.
    let _ = requests.try_send(request);
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
