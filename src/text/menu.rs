//! The tray: the menu's items and lines, and its dialogs.

use super::{cpu_count, Lang};
use crate::model::{FoundHead, HeadAddress, InstallStep, RayInstall};

/// A fixed item, line or dialog text of the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuWord {
    /// The check item that pauses (now) when unchecked.
    Contribute,
    /// Pauses once the running tasks finish.
    PauseAfterTasks,
    /// The CPU submenu.
    Cpus,
    /// The head address item (opens a prompt).
    HeadAddress,
    /// The first item while no real head is set (opens the address prompt).
    SetHead,
    /// Opens the head's Ray dashboard (shown while it answers).
    OpenDashboard,
    /// Starts a search for heads on the tailnet.
    FindHeads,
    /// The search is under way.
    Searching,
    /// The search found nothing.
    NoneFound,
    /// Opens the contribution page.
    Contribution,
    OpenLog,
    StartAtLogin,
    Quit,
    Battery,
    /// Battery charging.
    Charging,
    /// Battery discharging.
    Discharging,
    /// Battery full or held on AC.
    OnPower,
    /// The head address prompt.
    HeadPrompt,
    /// The error dialog's title when the address is refused.
    HeadInvalid,
    /// Asks before replacing the old install's LaunchAgent.
    ReplaceLegacy,
    /// macOS wants the user to allow the login item (System Settings is opened for it).
    LoginNeedsApproval,
    /// The alert's title when the app cannot start.
    StartupFailed,
}

/// `word` in `lang`.
pub fn word(lang: Lang, word: MenuWord) -> &'static str {
    use MenuWord::*;
    match lang {
        Lang::En => match word {
            Contribute => "Contribute",
            PauseAfterTasks => "Pause after current tasks",
            Cpus => "CPUs",
            HeadAddress => "Head address…",
            SetHead => "Set your head address…",
            OpenDashboard => "Open Ray dashboard",
            FindHeads => "Find heads on my tailnet",
            Searching => "Searching your tailnet…",
            NoneFound => "No head answers on your tailnet",
            Contribution => "Contribution…",
            OpenLog => "Open log",
            StartAtLogin => "Start at login",
            Quit => "Quit",
            Battery => "Battery",
            Charging => "charging",
            Discharging => "on battery",
            OnPower => "on power",
            HeadPrompt => "Address of the Ray head (host or host:port):",
            HeadInvalid => "That head address was not saved",
            ReplaceLegacy => {
                "The old BitTrader worker_daemon.sh starts at login with the same label. Replace \
                 it with this app? A backup of the old LaunchAgent is kept."
            }
            LoginNeedsApproval => {
                "macOS needs your approval: in System Settings › General › Login Items, turn on \
                 BitTrader Worker."
            }
            StartupFailed => "BitTrader Worker could not start",
        },
        Lang::Es => match word {
            Contribute => "Contribuir",
            PauseAfterTasks => "Pausar al terminar las tareas",
            Cpus => "CPUs",
            HeadAddress => "Dirección del head…",
            SetHead => "Configura la dirección de tu head…",
            OpenDashboard => "Abrir el panel de Ray",
            FindHeads => "Buscar heads en mi tailnet",
            Searching => "Buscando en tu tailnet…",
            NoneFound => "Ningún head responde en tu tailnet",
            Contribution => "Contribución…",
            OpenLog => "Abrir el registro",
            StartAtLogin => "Abrir al iniciar sesión",
            Quit => "Salir",
            Battery => "Batería",
            Charging => "cargando",
            Discharging => "con batería",
            OnPower => "conectado a la corriente",
            HeadPrompt => "Dirección del head de Ray (host o host:puerto):",
            HeadInvalid => "No se guardó esa dirección del head",
            ReplaceLegacy => {
                "El antiguo worker_daemon.sh de BitTrader se abre al iniciar sesión con la misma \
                 etiqueta. ¿Reemplazarlo por esta app? Se guarda una copia del LaunchAgent antiguo."
            }
            LoginNeedsApproval => {
                "macOS necesita tu permiso: en Ajustes del Sistema › General › Ítems de inicio, \
                 activa BitTrader Worker."
            }
            StartupFailed => "BitTrader Worker no pudo iniciarse",
        },
    }
}

/// The alert's text when the app cannot start: what went wrong (`why`, the error's own words)
/// and what happens now.
pub fn startup_failed_body(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("{why}\n\nThe app has quit. Fix this, then open it again."),
        Lang::Es => format!("{why}\n\nLa app se ha cerrado. Corrígelo y vuelve a abrirla."),
    }
}

/// "Offering 4 CPUs · worker busy 37 %".
pub fn worker_use(lang: Lang, offered: u32, busy_percent: Option<u8>) -> String {
    let offered = cpu_count(offered);
    match lang {
        Lang::En => match busy_percent {
            Some(p) => format!("Offering {offered} · worker busy {p} %"),
            None => format!("Offering {offered}"),
        },
        Lang::Es => match busy_percent {
            Some(p) => format!("Ofreciendo {offered} · worker ocupado {p} %"),
            None => format!("Ofreciendo {offered}"),
        },
    }
}

/// "Cluster: 22 CPUs on 2 nodes", as the head's dashboard tells it.
pub fn cluster_line(lang: Lang, cpus: f64, nodes: usize) -> String {
    match lang {
        Lang::En => format!("Cluster: {cpus:.0} CPUs on {nodes} nodes"),
        Lang::Es => format!("Clúster: {cpus:.0} CPUs en {nodes} nodos"),
    }
}

/// The line while "only when idle" is on and cannot work: this machine cannot tell idleness
/// (`unsupported`), or the desktop has not reported it since the session began.
pub fn only_when_idle_line(lang: Lang, unsupported: bool) -> &'static str {
    match lang {
        Lang::En if unsupported => {
            "Only when idle: this computer cannot tell — contributing regardless"
        }
        Lang::En => "Only when idle: the desktop has not reported idleness yet — counted as in use",
        Lang::Es if unsupported => {
            "Solo en reposo: este equipo no lo indica — contribuye igualmente"
        }
        Lang::Es => {
            "Solo en reposo: el escritorio aún no ha indicado reposo — se cuenta como en uso"
        }
    }
}

/// The item that installs Ray (`version`: `None` when `setup` will ask the head).
pub fn install_ray_item(lang: Lang, version: Option<&str>) -> String {
    let ray = version.map_or("Ray".into(), |v| format!("Ray {v}"));
    match lang {
        Lang::En => format!("Install {ray}…"),
        Lang::Es => format!("Instalar {ray}…"),
    }
}

/// The state line while Ray is being installed.
pub fn ray_install_line(lang: Lang, install: &RayInstall) -> String {
    use InstallStep::*;
    let ray = install
        .version
        .as_ref()
        .map_or("Ray".into(), |v| format!("Ray {v}"));
    match lang {
        Lang::En => {
            let step = match &install.step {
                Starting => "starting".into(),
                FindingPython => "looking for Python".into(),
                CreatingVenv { python } => format!("preparing Python {python}"),
                Downloading { package } => format!("downloading {package}"),
                Installing => "installing".into(),
                Checking => "checking".into(),
            };
            format!("📦 Installing {ray}… {step}")
        }
        Lang::Es => {
            let step = match &install.step {
                Starting => "empezando".into(),
                FindingPython => "buscando Python".into(),
                CreatingVenv { python } => format!("preparando Python {python}"),
                Downloading { package } => format!("descargando {package}"),
                Installing => "instalando".into(),
                Checking => "comprobando".into(),
            };
            format!("📦 Instalando {ray}… {step}")
        }
    }
}

/// The Head submenu's title: "Head: 100.64.0.1:6379".
pub fn head_menu_title(lang: Lang, head: Option<&HeadAddress>) -> String {
    let head = head.map(|h| h.to_string());
    match lang {
        Lang::En => format!("Head: {}", head.unwrap_or_else(|| "none".into())),
        Lang::Es => format!("Head: {}", head.unwrap_or_else(|| "ninguno".into())),
    }
}

/// A head found on the tailnet as a choice: "desktop (100.64.0.1:6379)"; on a first run (no
/// head of the user's yet), "Join desktop (100.64.0.1:6379)".
pub fn found_head_item(lang: Lang, head: &FoundHead, first_run: bool) -> String {
    let head = format!("{} ({})", head.name, head.address);
    match lang {
        Lang::En if first_run => format!("Join {head}"),
        Lang::Es if first_run => format!("Unirse a {head}"),
        Lang::En | Lang::Es => head,
    }
}

/// What the tray could not set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayFailure {
    /// The icon in the menu bar.
    Icon,
    /// Pointing the login item at this copy of the app.
    LoginItem,
}

/// The tray's line on stderr when `what` failed (`why`: the error's own words).
pub fn tray_failed_line(lang: Lang, what: TrayFailure, why: &str) -> String {
    match lang {
        Lang::En => match what {
            TrayFailure::Icon => format!("could not create the tray icon: {why}"),
            TrayFailure::LoginItem => format!("could not point the login item at this app: {why}"),
        },
        Lang::Es => match what {
            TrayFailure::Icon => format!("no se pudo crear el icono de la barra de menús: {why}"),
            TrayFailure::LoginItem => {
                format!("no se pudo apuntar el ítem de inicio a esta app: {why}")
            }
        },
    }
}
