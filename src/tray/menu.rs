//! The menu as data: a pure function from what the app knows to the entries to show.
//!
//! The tray never decides anything: it renders [`model`] and turns a click on an entry's id
//! into a request ([`command_for`]). Both are plain functions, tested without a display.

use crate::model::{Phase, PowerSnapshot, Status};
use crate::runtime::control::{Request, StatusReport};
use crate::text::menu::MenuWord;
use crate::text::{self, cli, page, Lang};

/// One entry of the menu; stable ids let the tray update it in place and read its clicks.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `-` for a separator.
    pub id: String,
    pub text: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Text that cannot be clicked.
    Info,
    Action,
    Check {
        checked: bool,
        enabled: bool,
    },
    Submenu(Vec<Entry>),
    Separator,
    /// The toolkit's About item and panel.
    About(About),
}

/// What the About panel shows.
#[derive(Debug, Clone, PartialEq)]
pub struct About {
    pub version: String,
    /// Beside the version: the commit built.
    pub build: String,
    /// The Ray in use and the bundle identifier.
    pub details: String,
}

fn entry(id: impl Into<String>, text: impl Into<String>, kind: Kind) -> Entry {
    let (id, text) = (id.into(), text.into());
    Entry { id, text, kind }
}

fn info(id: &str, text: impl Into<String>) -> Entry {
    entry(id, text, Kind::Info)
}

fn action(id: &str, text: impl Into<String>) -> Entry {
    entry(id, text, Kind::Action)
}

fn check(id: impl Into<String>, text: impl Into<String>, checked: bool, enabled: bool) -> Entry {
    entry(id, text, Kind::Check { checked, enabled })
}

fn separator() -> Entry {
    entry("-", "", Kind::Separator)
}

pub mod ids {
    pub const STATE: &str = "state";
    pub const WORKER: &str = "worker";
    pub const CLUSTER: &str = "cluster";
    pub const BATTERY: &str = "battery";
    pub const CONTRIBUTE: &str = "contribute";
    pub const PAUSE_AFTER_TASKS: &str = "pause-after-tasks";
    pub const CPUS: &str = "cpus";
    /// Prefix of the CPU count items: `cpus:4`.
    pub const CPU_PREFIX: &str = "cpus:";
    /// Opens the head address prompt.
    pub const HEAD: &str = "head";
    pub const OPEN_LOG: &str = "open-log";
    pub const OPEN_LOGS_FOLDER: &str = "open-logs-folder";
    pub const CHECK_THIS_MAC: &str = "check-this-mac";
    /// Links `bittrader-worker` into a folder on PATH.
    pub const INSTALL_CLI: &str = "install-cli";
    pub const UNINSTALL_MENU: &str = "uninstall-menu";
    pub const UNINSTALL_ALL: &str = "uninstall-all";
    pub const UNINSTALL_KEEP_DATA: &str = "uninstall-keep-data";
    pub const LOGIN: &str = "login";
    pub const QUIT: &str = "quit";
    pub const ABOUT: &str = "about";
    pub const INSTALL_RAY: &str = "install-ray";
    pub const DASHBOARD: &str = "dashboard";
    pub const HEAD_MENU: &str = "head-menu";
    pub const FIND_HEADS: &str = "find-heads";
    pub const HEAD_SEARCH: &str = "head-search";
    /// Prefix of the heads found: `found-head:100.64.0.1:6379`.
    pub const FOUND_HEAD_PREFIX: &str = "found-head:";
    pub const CONTRIBUTION: &str = "contribution";
    pub const OPEN_CONTRIBUTION: &str = "open-contribution";
    pub const ONLY_WHEN_IDLE: &str = "only-when-idle";
    /// A newer release: its page, or Homebrew's command.
    pub const UPDATE: &str = "update";
}

/// The menu for the driver's `report`, with the start-at-login tick (`None`: unknown, no item).
pub fn model(
    report: &StatusReport,
    login_item: Option<bool>,
    machine_cpus: u32,
    lang: Lang,
) -> Vec<Entry> {
    let word = |word| text::menu::word(lang, word);
    // Before the supervisor's first step: nothing known, one CPU offered.
    let status = &report.status.clone().unwrap_or(Status {
        cpus: 1,
        ..Status::default()
    });
    let mut entries = vec![info(
        ids::STATE,
        match &status.ray_install {
            Some(install) => text::menu::ray_install_line(lang, install),
            None => cli::summary(lang, status),
        },
    )];
    // Until a real head is set, setting one comes first; afterwards it sits with the settings.
    let first_run = status.needs_a_head;
    if first_run {
        entries.push(action(ids::HEAD, word(MenuWord::SetHead)));
        entries.extend(head_search_entries(status, lang, true));
    }
    if let Some(version) = ray_install_offer(status) {
        let item = text::menu::install_ray_item(lang, version.as_deref());
        entries.push(action(ids::INSTALL_RAY, item));
    }
    if matches!(
        status.phase,
        Phase::Connected | Phase::Starting | Phase::Disconnecting
    ) {
        let offered = status.worker_cpus.unwrap_or(status.cpus);
        let line = text::menu::worker_use(lang, offered, status.worker_busy_percent);
        entries.push(info(ids::WORKER, line));
    }
    let courtesy = &status.courtesy;
    if courtesy.idle_unsupported || courtesy.idle_hint_never_set {
        let line = text::menu::only_when_idle_line(lang, courtesy.idle_unsupported);
        entries.push(info(ids::ONLY_WHEN_IDLE, line));
    }
    if let Some(size) = status.cluster {
        let line = text::menu::cluster_line(lang, f64::from(size.cpus), size.nodes as usize);
        entries.push(info(ids::CLUSTER, line));
    }
    if let Some(PowerSnapshot {
        on_ac,
        battery: Some(battery),
    }) = report.power
    {
        let line = text::menu::battery_line(lang, battery, on_ac);
        entries.push(info(ids::BATTERY, line));
    }
    if let Some(summary) = &report.contribution {
        let line = page::contribution_line(lang, summary);
        entries.push(info(ids::CONTRIBUTION, line));
    }
    entries.push(separator());
    entries.push(check(
        ids::CONTRIBUTE,
        word(MenuWord::Contribute),
        // In error the worker is not contributing: the tick is off, and ticking it retries.
        !status.paused && status.phase != Phase::Error,
        status.phase != Phase::ShuttingDown,
    ));
    if status.phase == Phase::Connected && !status.paused {
        entries.push(action(
            ids::PAUSE_AFTER_TASKS,
            word(MenuWord::PauseAfterTasks),
        ));
    }
    if dashboard_url(status).is_some() {
        entries.push(action(ids::DASHBOARD, word(MenuWord::OpenDashboard)));
    }
    let cpus = (1..=machine_cpus.max(1))
        .map(|n| {
            check(
                format!("{}{n}", ids::CPU_PREFIX),
                n.to_string(),
                n == status.cpus,
                true,
            )
        })
        .collect();
    let cpus_title = format!("{} ({})", word(MenuWord::Cpus), status.cpus);
    entries.push(entry(ids::CPUS, cpus_title, Kind::Submenu(cpus)));
    if !first_run {
        // The heads found first, then the prompt and the search.
        let (mut head, rest): (Vec<Entry>, Vec<Entry>) = head_search_entries(status, lang, false)
            .into_iter()
            .partition(|entry| matches!(entry.kind, Kind::Check { .. }));
        if !head.is_empty() {
            head.push(separator());
        }
        head.push(action(ids::HEAD, word(MenuWord::HeadAddress)));
        head.extend(rest);
        let title = text::menu::head_menu_title(lang, status.head.as_ref());
        entries.push(entry(ids::HEAD_MENU, title, Kind::Submenu(head)));
    }
    entries.push(separator());
    if let Some(update) = &status.update {
        let item = text::menu::update_item(lang, &update.version, update.homebrew);
        entries.push(action(ids::UPDATE, item));
    }
    entries.push(action(ids::OPEN_CONTRIBUTION, word(MenuWord::Contribution)));
    entries.push(action(ids::OPEN_LOG, word(MenuWord::OpenLog)));
    entries.push(action(
        ids::OPEN_LOGS_FOLDER,
        word(MenuWord::OpenLogsFolder),
    ));
    entries.push(action(ids::CHECK_THIS_MAC, word(MenuWord::CheckThisMac)));
    entries.push(action(ids::INSTALL_CLI, word(MenuWord::InstallCli)));
    let uninstall = vec![
        action(ids::UNINSTALL_ALL, word(MenuWord::UninstallAll)),
        action(ids::UNINSTALL_KEEP_DATA, word(MenuWord::UninstallKeepData)),
    ];
    let title = word(MenuWord::Uninstall);
    entries.push(entry(ids::UNINSTALL_MENU, title, Kind::Submenu(uninstall)));
    if let Some(enabled) = login_item {
        let label = word(MenuWord::StartAtLogin);
        entries.push(check(ids::LOGIN, label, enabled, true));
    }
    entries.push(separator());
    let about = About {
        version: env!("CARGO_PKG_VERSION").into(),
        build: text::menu::about_build(crate::COMMIT),
        details: text::menu::about_details(lang, status.ray.as_ref(), crate::BUNDLE_ID),
    };
    entries.push(entry(ids::ABOUT, word(MenuWord::About), Kind::About(about)));
    entries.push(action(ids::QUIT, word(MenuWord::Quit)));
    entries
}

/// The head's dashboard page, while it answers (the cluster's size comes from it). It binds
/// 127.0.0.1 unless the head runs with `--dashboard-host=0.0.0.0`: most remote heads have none.
pub fn dashboard_url(status: &Status) -> Option<String> {
    status.cluster?;
    let head = status.head.as_ref()?;
    Some(crate::dashboard::page_url(&head.host))
}

/// The search for heads: its item (a line while it runs), each head found as a one-click choice
/// (an action on a first run, else a check item ticked for the head in use), or why none.
fn head_search_entries(status: &Status, lang: Lang, first_run: bool) -> Vec<Entry> {
    use crate::model::HeadSearch;
    let word = |word| text::menu::word(lang, word);
    // While a search runs, a line instead of the item, and the last finds stay choosable.
    let mut entries = vec![if status.head_search == Some(HeadSearch::Searching) {
        info(ids::HEAD_SEARCH, word(MenuWord::Searching))
    } else {
        action(ids::FIND_HEADS, word(MenuWord::FindHeads))
    }];
    for head in &status.found_heads {
        let id = format!("{}{}", ids::FOUND_HEAD_PREFIX, head.address);
        let label = text::menu::found_head_item(lang, head, first_run);
        entries.push(if first_run {
            action(&id, label)
        } else {
            check(id, label, status.head.as_ref() == Some(&head.address), true)
        });
    }
    let line = match &status.head_search {
        Some(HeadSearch::Found(finds)) if finds.heads.is_empty() => {
            let mut line = word(MenuWord::NoneFound).to_string();
            if finds.was_cut() {
                line = format!("{line} ({})", cli::machines_asked(lang, finds));
            }
            Some(line)
        }
        Some(HeadSearch::Found(finds)) if finds.was_cut() => Some(cli::machines_asked(lang, finds)),
        Some(HeadSearch::Failed { problem }) => Some(cli::search_failed_words(lang, problem)),
        Some(HeadSearch::Found(_) | HeadSearch::Searching) | None => None,
    };
    entries.extend(line.map(|line| info(ids::HEAD_SEARCH, line)));
    entries
}

/// Whether the menu offers to install Ray, and which version (`Some(None)`: `setup` finds out):
/// when Ray is missing or refused for its version, and no install is under way.
pub fn ray_install_offer(status: &Status) -> Option<Option<String>> {
    use crate::model::{Fault, WorkerFailure};
    if status.ray_install.is_some() {
        return None;
    }
    let failure = match status.fault.as_ref()? {
        Fault::RayMissing { .. } => return Some(None),
        Fault::Worker { failure } | Fault::GaveUp { last: failure, .. } => failure,
        Fault::NoHead => return None,
    };
    match failure {
        // Same Ray, another Python: reinstalling Ray alone would not help.
        WorkerFailure::VersionMismatch {
            cluster: Some(head),
            this_machine: Some(mine),
        } if head == mine => None,
        WorkerFailure::VersionMismatch { cluster, .. } => Some(cluster.clone()),
        WorkerFailure::VersionSkewSuspected { .. } => Some(None),
        _ => None,
    }
}

/// What a click on `id` asks of the supervisor, given the status the menu showed. Items
/// that open something locally (log, head prompt, login item) are not requests: `None`.
pub fn command_for(id: &str, status: &Status) -> Option<Request> {
    match id {
        ids::CONTRIBUTE => Some(if status.paused || status.phase == Phase::Error {
            Request::Resume
        } else {
            Request::Pause
        }),
        ids::QUIT => Some(Request::Quit),
        ids::PAUSE_AFTER_TASKS => Some(Request::PauseAfterTasks),
        ids::INSTALL_RAY => {
            ray_install_offer(status).map(|version| Request::InstallRay { version })
        }
        ids::FIND_HEADS => Some(Request::FindHeads),
        _ if id.starts_with(ids::FOUND_HEAD_PREFIX) => {
            let address = id.strip_prefix(ids::FOUND_HEAD_PREFIX)?;
            // Only an address the search found, as shown (also while the next search runs).
            let found = status
                .found_heads
                .iter()
                .any(|head| head.address.to_string() == address);
            found.then(|| Request::Head {
                address: address.to_string(),
            })
        }
        _ => id
            .strip_prefix(ids::CPU_PREFIX)
            .and_then(|n| n.parse().ok())
            .map(|cpus| Request::Cpus { cpus }),
    }
}

/// The ids of every entry in order (with submenus flattened): two models with the same shape
/// can be updated in place instead of rebuilt, so an open menu stays open.
pub fn shape(entries: &[Entry]) -> Vec<String> {
    let mut out = Vec::new();
    for entry in entries {
        out.push(entry.id.clone());
        match &entry.kind {
            Kind::Submenu(entries) => out.extend(shape(entries)),
            // The toolkit takes the panel's content only when the item is made.
            Kind::About(about) => out.push(format!("{about:?}")),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChargeState;
    use crate::model::TailscaleProblem;
    use crate::model::WorkerFailure;
    use crate::model::{ClusterSize, ContributionSummary, Fault, Unreachable};

    fn report(status: &Status) -> StatusReport {
        StatusReport {
            status: Some(status.clone()),
            ..StatusReport::default()
        }
    }

    /// The menu for a report that carries only `status`.
    fn menu_for(status: &Status, machine_cpus: u32, lang: Lang) -> Vec<Entry> {
        model(&report(status), None, machine_cpus, lang)
    }

    fn status(phase: Phase) -> Status {
        Status {
            phase,
            head: Some("100.64.0.1:6379".parse().expect("a head address")),
            cpus: 10,
            worker_cpus: Some(10),
            paused: phase == Phase::Paused,
            ..Status::default()
        }
    }

    fn text_of(entries: &[Entry], id: &str) -> Option<String> {
        entries.iter().find_map(|e| match &e.kind {
            Kind::Submenu(entries) => text_of(entries, id),
            Kind::Separator => None,
            _ => (e.id == id).then(|| e.text.clone()),
        })
    }

    fn checked(entries: &[Entry], id: &str) -> Option<bool> {
        entries.iter().find_map(|e| match &e.kind {
            Kind::Check { checked, .. } if e.id == id => Some(*checked),
            Kind::Submenu(entries) => checked(entries, id),
            _ => None,
        })
    }

    #[test]
    fn what_you_gave_shows_whenever_it_is_known_and_opens_the_page() {
        let gave = |phase| StatusReport {
            contribution: Some(ContributionSummary {
                today_cpu_secs: 3.2 * 3600.0,
                week_cpu_secs: 21.0 * 3600.0,
            }),
            ..report(&status(phase))
        };
        for phase in [Phase::Connected, Phase::Paused, Phase::Disconnected] {
            let menu = model(&gave(phase), None, 10, Lang::En);
            assert_eq!(
                text_of(&menu, ids::CONTRIBUTION).as_deref(),
                Some("Today 3.2 CPU-h · 7 days 21 CPU-h"),
                "{phase:?}"
            );
            assert_eq!(
                text_of(&menu, ids::OPEN_CONTRIBUTION).as_deref(),
                Some("Contribution…")
            );
        }
        let menu = model(&gave(Phase::Connected), None, 10, Lang::Es);
        assert_eq!(
            text_of(&menu, ids::CONTRIBUTION).as_deref(),
            Some("Hoy 3,2 CPU-h · 7 días 21 CPU-h")
        );
        let none = menu_for(&status(Phase::Connected), 10, Lang::En);
        assert_eq!(
            text_of(&none, ids::CONTRIBUTION),
            None,
            "not before it is known"
        );
        assert_eq!(
            command_for(ids::OPEN_CONTRIBUTION, &status(Phase::Connected)),
            None,
            "opened locally, not a request"
        );
    }

    #[test]
    fn connected_shows_head_cpus_use_and_the_cluster() {
        let connected = Status {
            worker_busy_percent: Some(37),
            cluster: Some(ClusterSize { cpus: 22, nodes: 2 }),
            ..status(Phase::Connected)
        };
        let menu = menu_for(&connected, 10, Lang::En);
        assert_eq!(
            text_of(&menu, ids::STATE).as_deref(),
            Some("Connected to 100.64.0.1:6379 · 10 CPUs")
        );
        assert_eq!(
            text_of(&menu, ids::WORKER).as_deref(),
            Some("Offering 10 CPUs · worker busy 37 %")
        );
        assert_eq!(
            text_of(&menu, ids::CLUSTER).as_deref(),
            Some("Cluster: 22 CPUs on 2 nodes")
        );
        assert_eq!(checked(&menu, ids::CONTRIBUTE), Some(true));
        assert_eq!(checked(&menu, "cpus:10"), Some(true));
        assert_eq!(checked(&menu, "cpus:3"), Some(false));
    }

    #[test]
    fn every_state_has_a_state_line_and_the_fixed_items() {
        for phase in Phase::ALL {
            for lang in [Lang::En, Lang::Es] {
                let menu = menu_for(&status(phase), 4, lang);
                let state = text_of(&menu, ids::STATE).unwrap_or_default();
                assert!(!state.is_empty(), "{phase:?}");
                let shape = shape(&menu);
                for id in [
                    ids::CONTRIBUTE,
                    ids::CPUS,
                    ids::HEAD,
                    ids::OPEN_LOG,
                    ids::QUIT,
                ] {
                    assert!(shape.iter().any(|s| s == id), "{phase:?} lacks {id}");
                }
                assert_eq!(
                    shape
                        .iter()
                        .filter(|s| s.starts_with(ids::CPU_PREFIX))
                        .count(),
                    4
                );
            }
        }
    }

    #[test]
    fn unreachable_and_error_lines_say_why() {
        let mut s = status(Phase::Disconnected);
        s.worker_cpus = None;
        s.unreachable = Some(Unreachable::Tailscale {
            problem: TailscaleProblem::Stopped,
        });
        let menu = menu_for(&s, 10, Lang::En);
        let line = text_of(&menu, ids::STATE).unwrap_or_default();
        assert!(
            line.starts_with("Head unreachable — Tailscale is stopped"),
            "{line}"
        );
        assert!(line.ends_with("retrying"), "{line}");
        assert_eq!(
            text_of(&menu, ids::WORKER),
            None,
            "no CPU line while disconnected"
        );

        let mut e = status(Phase::Error);
        e.fault = Some(Fault::Worker {
            failure: WorkerFailure::VersionMismatch {
                cluster: Some("2.51.2".into()),
                this_machine: Some("2.60.0".into()),
            },
        });
        let line = text_of(&menu_for(&e, 10, Lang::En), ids::STATE).unwrap_or_default();
        assert!(
            line.starts_with("Error:") && line.contains("2.51.2") && line.contains("setup"),
            "{line}"
        );
    }

    #[test]
    fn the_logs_folder_is_offered_beside_the_log() {
        for (lang, words) in [
            (Lang::En, "Open logs folder"),
            (Lang::Es, "Abrir la carpeta de registros"),
        ] {
            let menu = menu_for(&status(Phase::Connected), 4, lang);
            assert_eq!(
                text_of(&menu, ids::OPEN_LOGS_FOLDER).as_deref(),
                Some(words)
            );
            let at = |id| menu.iter().position(|e| e.id == id);
            assert_eq!(at(ids::OPEN_LOGS_FOLDER), at(ids::OPEN_LOG).map(|i| i + 1));
        }
    }

    #[test]
    fn uninstall_sits_in_a_submenu_of_its_own_with_a_choice_for_the_data() {
        let menu = menu_for(&status(Phase::Connected), 4, Lang::En);
        let Some(Entry {
            text,
            kind: Kind::Submenu(choices),
            ..
        }) = menu.iter().find(|e| e.id == ids::UNINSTALL_MENU)
        else {
            panic!("no Uninstall submenu");
        };
        assert_eq!(text, "Uninstall");
        let ids: Vec<&str> = choices.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, [ids::UNINSTALL_ALL, ids::UNINSTALL_KEEP_DATA]);
        // Nothing happens on the click alone: the tray asks first.
        assert_eq!(
            command_for(ids::UNINSTALL_ALL, &status(Phase::Connected)),
            None
        );
    }

    #[test]
    fn about_names_the_version_the_commit_the_ray_in_use_and_the_bundle() {
        let about = |status: &Status, lang| {
            let menu = menu_for(status, 4, lang);
            let found = menu.into_iter().find(|e| e.id == ids::ABOUT);
            let Some(Entry {
                text,
                kind: Kind::About(about),
                ..
            }) = found
            else {
                panic!("no About item");
            };
            (text, about)
        };
        let mut connected = status(Phase::Connected);
        connected.ray = Some(crate::model::RayInUse {
            path: "/Users/me/.bittrader_worker/.venv/bin/ray".into(),
            version: Some("2.51.2".into()),
        });
        let (text, shown) = about(&connected, Lang::En);
        assert_eq!(text, "About BitTrader Worker");
        assert_eq!(shown.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(shown.build, format!("commit {}", crate::COMMIT));
        assert_eq!(shown.details, "Ray 2.51.2 · com.bittrader.worker");
        let (text, shown) = about(&status(Phase::Checking), Lang::Es);
        assert_eq!(text, "Acerca de BitTrader Worker");
        assert_eq!(
            shown.details,
            "Ray aún no encontrado · com.bittrader.worker"
        );
        // Right above Quit; a change of its content rebuilds the menu (the toolkit keeps it).
        let menu = menu_for(&connected, 4, Lang::En);
        let ids: Vec<&str> = menu.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids[ids.len() - 2..], [ids::ABOUT, ids::QUIT]);
        assert_ne!(
            shape(&menu),
            shape(&menu_for(&status(Phase::Checking), 4, Lang::En))
        );
    }

    #[test]
    fn the_demo_head_is_called_a_demo_and_setting_a_head_comes_first() {
        let mut demo = status(Phase::Connected);
        demo.head = Some("127.0.0.1:33421".parse().expect("head"));
        demo.worker_cpus = Some(2);
        demo.demo = true;
        demo.needs_a_head = true;
        for (lang, state, set) in [
            (
                Lang::En,
                "Demo: connected to a local practice head · 2 CPUs",
                "Set your head address…",
            ),
            (
                Lang::Es,
                "Demo: conectado a un head de práctica local · 2 CPUs",
                "Configura la dirección de tu head…",
            ),
        ] {
            let menu = menu_for(&demo, 4, lang);
            assert_eq!(text_of(&menu, ids::STATE).as_deref(), Some(state));
            // Right under the state line, and only once.
            assert_eq!(menu[1].id, ids::HEAD);
            assert_eq!(text_of(&menu, ids::HEAD).as_deref(), Some(set));
            assert_eq!(shape(&menu).iter().filter(|id| *id == ids::HEAD).count(), 1);
        }
        // No head at all (the demo head could not start): the same offer.
        let mut none = status(Phase::Error);
        none.head = None;
        none.needs_a_head = true;
        none.fault = Some(Fault::NoHead);
        assert_eq!(menu_for(&none, 4, Lang::En)[1].id, ids::HEAD);
        // A real head: the state names it, and the head item sits with the settings.
        let real = menu_for(&status(Phase::Connected), 4, Lang::En);
        assert_eq!(
            text_of(&real, ids::STATE).as_deref(),
            Some("Connected to 100.64.0.1:6379 · 10 CPUs")
        );
        assert_ne!(real[1].id, ids::HEAD);
        assert_eq!(text_of(&real, ids::HEAD).as_deref(), Some("Head address…"));
    }

    #[test]
    fn a_newer_release_is_offered_with_its_page_or_homebrews_command() {
        use crate::model::UpdateAvailable;
        let s = status(Phase::Connected);
        assert_eq!(text_of(&menu_for(&s, 4, Lang::En), ids::UPDATE), None);
        let update = UpdateAvailable {
            version: "0.2.0".into(),
            page: "https://github.com/bittrader/bittrader-worker/releases/tag/v0.2.0".into(),
            homebrew: false,
        };
        let offered = Status {
            update: Some(update.clone()),
            ..s.clone()
        };
        let menu = menu_for(&offered, 4, Lang::En);
        assert_eq!(
            text_of(&menu, ids::UPDATE).as_deref(),
            Some("Update to 0.2.0…")
        );
        assert_eq!(
            text_of(&menu_for(&offered, 4, Lang::Es), ids::UPDATE).as_deref(),
            Some("Actualizar a 0.2.0…")
        );
        // Not a request to the supervisor: the tray opens the page or says the command.
        assert_eq!(command_for(ids::UPDATE, &offered), None);
        let at = |id: &str| shape(&menu).iter().position(|s| s == id);
        assert!(at(ids::CONTRIBUTE) < at(ids::UPDATE) && at(ids::UPDATE) < at(ids::QUIT));
        let brewed = Status {
            update: Some(UpdateAvailable {
                homebrew: true,
                ..update
            }),
            ..s
        };
        assert_eq!(
            text_of(&menu_for(&brewed, 4, Lang::En), ids::UPDATE).as_deref(),
            Some("Update to 0.2.0: run brew upgrade --cask bittrader-worker…")
        );
    }

    #[test]
    fn the_command_line_tool_can_be_installed_from_the_menu_in_both_languages() {
        let s = status(Phase::Connected);
        let menu = menu_for(&s, 4, Lang::En);
        assert_eq!(
            text_of(&menu, ids::INSTALL_CLI).as_deref(),
            Some("Install command-line tool…")
        );
        assert_eq!(
            text_of(&menu_for(&s, 4, Lang::Es), ids::INSTALL_CLI).as_deref(),
            Some("Instalar la herramienta de línea de comandos…")
        );
        // Not a request to the supervisor: the tray makes the link and says where it went.
        assert_eq!(command_for(ids::INSTALL_CLI, &s), None);
        // With the other tools, before Uninstall.
        let at = |id: &str| shape(&menu).iter().position(|s| s == id);
        assert!(at(ids::CHECK_THIS_MAC) < at(ids::INSTALL_CLI));
        assert!(at(ids::INSTALL_CLI) < at(ids::UNINSTALL_MENU));
        // Also on a first run, with nothing known yet.
        let empty = model(&StatusReport::default(), None, 4, Lang::En);
        assert!(text_of(&empty, ids::INSTALL_CLI).is_some());
    }

    #[test]
    fn the_dashboard_item_shows_only_while_the_dashboard_answers() {
        let s = status(Phase::Connected);
        let silent = menu_for(&s, 4, Lang::En);
        assert_eq!(text_of(&silent, ids::DASHBOARD), None);
        assert_eq!(dashboard_url(&s), None);
        let answering = Status {
            cluster: Some(ClusterSize { cpus: 12, nodes: 2 }),
            ..s.clone()
        };
        let menu = menu_for(&answering, 4, Lang::En);
        assert_eq!(
            text_of(&menu, ids::DASHBOARD).as_deref(),
            Some("Open Ray dashboard")
        );
        assert_eq!(
            dashboard_url(&answering).as_deref(),
            Some("http://100.64.0.1:8265")
        );
        // Not a request to the supervisor: the tray opens it.
        assert_eq!(command_for(ids::DASHBOARD, &answering), None);
        // After Contribute, which stays the first item that can be clicked.
        let at = |id: &str| shape(&menu).iter().position(|s| s == id);
        assert!(at(ids::CONTRIBUTE) < at(ids::DASHBOARD));
        let mut v6 = answering.clone();
        v6.head = Some("[fd7a:115c:a1e0::1]:6379".parse().expect("head"));
        assert_eq!(
            dashboard_url(&v6).as_deref(),
            Some("http://[fd7a:115c:a1e0::1]:8265")
        );
        assert_eq!(
            text_of(&menu_for(&answering, 4, Lang::Es), ids::DASHBOARD).as_deref(),
            Some("Abrir el panel de Ray")
        );
    }

    fn found(name: &str, address: &str) -> crate::model::FoundHead {
        crate::model::FoundHead {
            name: name.to_string(),
            address: address.parse().expect("head"),
        }
    }

    fn submenu<'a>(entries: &'a [Entry], id: &str) -> Option<&'a [Entry]> {
        entries.iter().find_map(|e| match &e.kind {
            Kind::Submenu(entries) if e.id == id => Some(entries.as_slice()),
            _ => None,
        })
    }

    #[test]
    fn heads_found_on_the_tailnet_are_one_click_choices() {
        use crate::model::{HeadSearch, TailnetFinds};
        let heads = vec![
            found("desktop", "100.64.0.1:6379"),
            found("nas", "100.64.0.7:6379"),
        ];
        // A head of the user's: the Head submenu lists them, the one in use ticked.
        let mut s = status(Phase::Connected);
        s.head_search = Some(HeadSearch::Found(TailnetFinds {
            heads: heads.clone(),
            asked: 2,
            machines: 2,
        }));
        s.found_heads = heads.clone();
        let menu = menu_for(&s, 4, Lang::En);
        let head = submenu(&menu, ids::HEAD_MENU).expect("the Head submenu");
        assert_eq!(
            shape(head),
            [
                "found-head:100.64.0.1:6379",
                "found-head:100.64.0.7:6379",
                "-",
                ids::HEAD,
                ids::FIND_HEADS
            ]
        );
        assert_eq!(checked(&menu, "found-head:100.64.0.1:6379"), Some(true));
        assert_eq!(checked(&menu, "found-head:100.64.0.7:6379"), Some(false));
        assert_eq!(
            command_for("found-head:100.64.0.7:6379", &s),
            Some(Request::Head {
                address: "100.64.0.7:6379".into()
            })
        );
        // Only what the search found.
        assert_eq!(command_for("found-head:203.0.113.9:6379", &s), None);
        assert_eq!(command_for(ids::FIND_HEADS, &s), Some(Request::FindHeads));

        // The demo head: setting a head, the search and its finds come first.
        let mut demo = s.clone();
        demo.demo = true;
        demo.needs_a_head = true;
        demo.head = Some("127.0.0.1:33421".parse().expect("head"));
        let menu = menu_for(&demo, 4, Lang::En);
        assert_eq!(
            shape(&menu)[..5],
            [
                ids::STATE,
                ids::HEAD,
                ids::FIND_HEADS,
                "found-head:100.64.0.1:6379",
                "found-head:100.64.0.7:6379"
            ]
        );
        assert_eq!(
            text_of(&menu, "found-head:100.64.0.1:6379").as_deref(),
            Some("Join desktop (100.64.0.1:6379)")
        );
        assert_eq!(submenu(&menu, ids::HEAD_MENU), None);

        // While searching again, a line instead of the item, and the last finds stay listed
        // and choosable; then nothing found, or why.
        demo.head_search = Some(HeadSearch::Searching);
        let menu = menu_for(&demo, 4, Lang::Es);
        assert_eq!(
            text_of(&menu, ids::HEAD_SEARCH).as_deref(),
            Some("Buscando en tu tailnet…")
        );
        assert_eq!(text_of(&menu, ids::FIND_HEADS), None);
        assert_eq!(
            shape(&menu)[2..5],
            [
                ids::HEAD_SEARCH,
                "found-head:100.64.0.1:6379",
                "found-head:100.64.0.7:6379"
            ]
        );
        assert_eq!(
            command_for("found-head:100.64.0.1:6379", &demo),
            Some(Request::Head {
                address: "100.64.0.1:6379".into()
            })
        );
        demo.found_heads.clear();
        demo.head_search = Some(HeadSearch::Found(TailnetFinds::default()));
        let menu = menu_for(&demo, 4, Lang::En);
        assert_eq!(
            text_of(&menu, ids::HEAD_SEARCH).as_deref(),
            Some("No head answers on your tailnet")
        );
        // A search cut at the limit says so.
        demo.head_search = Some(HeadSearch::Found(TailnetFinds {
            heads: Vec::new(),
            asked: 64,
            machines: 80,
        }));
        let menu = menu_for(&demo, 4, Lang::En);
        assert_eq!(
            text_of(&menu, ids::HEAD_SEARCH).as_deref(),
            Some("No head answers on your tailnet (64 of 80 machines asked)")
        );
        demo.head_search = Some(HeadSearch::Found(TailnetFinds {
            heads: heads.clone(),
            asked: 64,
            machines: 80,
        }));
        let menu = menu_for(&demo, 4, Lang::Es);
        assert_eq!(
            text_of(&menu, ids::HEAD_SEARCH).as_deref(),
            Some("64 de 80 máquinas consultadas")
        );
        demo.head_search = Some(HeadSearch::Failed {
            problem: TailscaleProblem::Stopped,
        });
        let menu = menu_for(&demo, 4, Lang::En);
        assert_eq!(
            text_of(&menu, ids::HEAD_SEARCH).as_deref(),
            Some("Tailscale is stopped")
        );
    }

    #[test]
    fn paused_unticks_contribute_and_a_click_resumes() {
        let s = status(Phase::Paused);
        let menu = menu_for(&s, 10, Lang::Es);
        assert_eq!(checked(&menu, ids::CONTRIBUTE), Some(false));
        assert_eq!(text_of(&menu, ids::STATE).as_deref(), Some("En pausa"));
        assert_eq!(command_for(ids::CONTRIBUTE, &s), Some(Request::Resume));
        assert_eq!(
            command_for(ids::CONTRIBUTE, &status(Phase::Connected)),
            Some(Request::Pause)
        );
    }

    #[test]
    fn in_error_contribute_is_unticked_and_a_click_retries() {
        let mut e = status(Phase::Error);
        e.fault = Some(Fault::RayMissing { path: "ray".into() });
        let menu = menu_for(&e, 4, Lang::En);
        assert_eq!(checked(&menu, ids::CONTRIBUTE), Some(false));
        assert_eq!(command_for(ids::CONTRIBUTE, &e), Some(Request::Resume));
    }

    #[test]
    fn a_missing_or_refused_ray_offers_an_install_and_its_progress_shows() {
        let mut e = status(Phase::Error);
        e.fault = Some(Fault::Worker {
            failure: WorkerFailure::VersionMismatch {
                cluster: Some("2.60.0".into()),
                this_machine: Some("2.51.2".into()),
            },
        });
        let menu = menu_for(&e, 4, Lang::En);
        assert_eq!(
            text_of(&menu, ids::INSTALL_RAY).as_deref(),
            Some("Install Ray 2.60.0…")
        );
        assert_eq!(
            command_for(ids::INSTALL_RAY, &e),
            Some(Request::InstallRay {
                version: Some("2.60.0".into())
            })
        );
        e.ray_install = Some(crate::model::RayInstall {
            version: Some("2.60.0".into()),
            step: crate::model::InstallStep::Downloading {
                package: "ray".into(),
            },
        });
        let menu = menu_for(&e, 4, Lang::Es);
        assert_eq!(text_of(&menu, ids::INSTALL_RAY), None);
        assert_eq!(
            text_of(&menu, ids::STATE).as_deref(),
            Some("📦 Instalando Ray 2.60.0… descargando ray")
        );
        let mut missing = status(Phase::Error);
        missing.fault = Some(Fault::RayMissing { path: "ray".into() });
        assert_eq!(
            text_of(&menu_for(&missing, 4, Lang::Es), ids::INSTALL_RAY).as_deref(),
            Some("Instalar Ray…")
        );
    }

    #[test]
    fn cpu_items_become_cpu_requests_and_junk_is_ignored() {
        let s = status(Phase::Connected);
        assert_eq!(command_for("cpus:3", &s), Some(Request::Cpus { cpus: 3 }));
        assert_eq!(command_for("cpus:x", &s), None);
        assert_eq!(command_for(ids::OPEN_LOG, &s), None);
        assert_eq!(command_for(ids::QUIT, &s), Some(Request::Quit));
    }

    fn on_power(on_ac: bool, battery: Option<(u8, ChargeState)>) -> StatusReport {
        let battery = battery.map(|(percent, state)| crate::model::Battery { percent, state });
        StatusReport {
            power: Some(crate::model::PowerSnapshot { on_ac, battery }),
            ..report(&status(Phase::Connected))
        }
    }

    #[test]
    fn battery_shows_only_when_there_is_one() {
        let none = menu_for(&status(Phase::Connected), 10, Lang::En);
        assert_eq!(text_of(&none, ids::BATTERY), None);
        let desktop = model(&on_power(true, None), None, 10, Lang::En);
        assert_eq!(text_of(&desktop, ids::BATTERY), None);
        let some = model(
            &on_power(false, Some((42, ChargeState::Discharging))),
            None,
            10,
            Lang::En,
        );
        assert_eq!(
            text_of(&some, ids::BATTERY).as_deref(),
            Some("Battery 42 % · on battery")
        );
    }

    #[test]
    fn the_battery_line_follows_the_charge_state() {
        for (state, on_ac, how) in [
            (ChargeState::Charging, true, "charging"),
            (ChargeState::Discharging, false, "on battery"),
            (ChargeState::NotCharging, true, "on power"),
            (ChargeState::Full, true, "on power"),
            (ChargeState::Unknown, true, "on power"),
            (ChargeState::Unknown, false, "on battery"),
        ] {
            let menu = model(&on_power(on_ac, Some((55, state))), None, 4, Lang::En);
            let line = format!("Battery 55 % · {how}");
            assert_eq!(text_of(&menu, ids::BATTERY), Some(line), "{state:?}");
        }
    }

    #[test]
    fn the_start_at_login_tick_shows_once_it_is_read() {
        let report = report(&status(Phase::Connected));
        assert_eq!(
            checked(&model(&report, None, 4, Lang::En), ids::LOGIN),
            None
        );
        assert_eq!(
            checked(&model(&report, Some(true), 4, Lang::En), ids::LOGIN),
            Some(true)
        );
        assert_eq!(
            checked(&model(&report, Some(false), 4, Lang::En), ids::LOGIN),
            Some(false)
        );
    }

    #[test]
    fn before_the_first_report_the_menu_shows_an_empty_status() {
        let empty = model(&StatusReport::default(), None, 4, Lang::En);
        let nothing_known = Status {
            cpus: 1,
            ..Status::default()
        };
        assert_eq!(empty, menu_for(&nothing_known, 4, Lang::En));
    }

    #[test]
    fn a_new_busy_figure_keeps_the_shape_but_a_new_state_may_not() {
        let s = status(Phase::Connected);
        let busy = |percent| Status {
            worker_busy_percent: Some(percent),
            ..s.clone()
        };
        let (a, b) = (
            menu_for(&busy(1), 4, Lang::En),
            menu_for(&busy(99), 4, Lang::En),
        );
        assert_ne!(a, b);
        assert_eq!(shape(&a), shape(&b));
        let paused = menu_for(&status(Phase::Paused), 4, Lang::En);
        assert_ne!(shape(&a), shape(&paused));
    }

    #[test]
    fn the_menu_says_when_only_when_idle_cannot_work_here() {
        let mut status = Status {
            phase: Phase::Connected,
            ..Status::default()
        };
        let shown = |status: &Status| {
            menu_for(status, 4, Lang::En)
                .iter()
                .any(|e| e.id == ids::ONLY_WHEN_IDLE)
        };
        assert!(!shown(&status));
        status.courtesy.only_when_idle_minutes = Some(10);
        status.courtesy.idle_hint_never_set = true;
        assert!(shown(&status));
        status.courtesy.idle_hint_never_set = false;
        status.courtesy.idle_unsupported = true;
        assert!(shown(&status));
    }
}
