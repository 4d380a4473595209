//! The tray: the menu's items and lines, and its dialogs.

use super::{cpu_count, Lang, BREW_UPGRADE};
use crate::model::{
    Battery, ChargeState, FoundHead, HeadAddress, InstallStep, RayInUse, RayInstall,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuWord {
    Contribute,
    PauseAfterTasks,
    Cpus,
    HeadAddress,
    SetHead,
    OpenDashboard,
    FindHeads,
    Searching,
    NoneFound,
    Contribution,
    OpenLog,
    OpenLogsFolder,
    CheckThisMac,
    InstallCli,
    Uninstall,
    UninstallAll,
    UninstallKeepData,
    About,
    StartAtLogin,
    Quit,
    HeadPrompt,
    HeadInvalid,
    Ok,
    Cancel,
    ReplaceLegacy,
    StartupFailed,
}

pub fn word(lang: Lang, word: MenuWord) -> &'static str {
    use MenuWord::*;
    match word {
        Contribute => lang.tr("Contribute", "Contribuir"),
        PauseAfterTasks => lang.tr("Pause after current tasks", "Pausar al terminar las tareas"),
        Cpus => "CPUs",
        HeadAddress => lang.tr("Head address…", "Dirección del head…"),
        SetHead => lang.tr(
            "Set your head address…",
            "Configura la dirección de tu head…",
        ),
        OpenDashboard => lang.tr("Open Ray dashboard", "Abrir el panel de Ray"),
        FindHeads => lang.tr("Find heads on my tailnet", "Buscar heads en mi tailnet"),
        Searching => lang.tr("Searching your tailnet…", "Buscando en tu tailnet…"),
        NoneFound => lang.tr(
            "No head answers on your tailnet",
            "Ningún head responde en tu tailnet",
        ),
        Contribution => lang.tr("Contribution…", "Contribución…"),
        OpenLog => lang.tr("Open log", "Abrir el registro"),
        OpenLogsFolder => lang.tr("Open logs folder", "Abrir la carpeta de registros"),
        CheckThisMac => lang.tr("Check this Mac…", "Revisar este Mac…"),
        InstallCli => lang.tr(
            "Install command-line tool…",
            "Instalar la herramienta de línea de comandos…",
        ),
        Uninstall => lang.tr("Uninstall", "Desinstalar"),
        UninstallAll => lang.tr(
            "Remove BitTrader Worker and its data…",
            "Quitar BitTrader Worker y sus datos…",
        ),
        UninstallKeepData => lang.tr(
            "Remove BitTrader Worker, keep settings and history…",
            "Quitar BitTrader Worker, conservar configuración e historial…",
        ),
        About => lang.tr("About BitTrader Worker", "Acerca de BitTrader Worker"),
        StartAtLogin => lang.tr("Start at login", "Abrir al iniciar sesión"),
        Quit => lang.tr("Quit", "Salir"),
        HeadPrompt => lang.tr(
            "Address of the Ray head (host or host:port):",
            "Dirección del head de Ray (host o host:puerto):",
        ),
        HeadInvalid => lang.tr(
            "That head address was not saved",
            "No se guardó esa dirección del head",
        ),
        Ok => "OK",
        Cancel => lang.tr("Cancel", "Cancelar"),
        ReplaceLegacy => lang.tr(
            "The old BitTrader worker_daemon.sh starts at login with the same label. Replace it \
             with this app? A backup of the old LaunchAgent is kept.",
            "El antiguo worker_daemon.sh de BitTrader se abre al iniciar sesión con la misma \
             etiqueta. ¿Reemplazarlo por esta app? Se guarda una copia del LaunchAgent antiguo.",
        ),
        StartupFailed => lang.tr(
            "BitTrader Worker could not start",
            "BitTrader Worker no pudo iniciarse",
        ),
    }
}

/// The About panel's build line, beside the version (the word reads alike in both).
pub fn about_build(commit: &str) -> String {
    format!("commit {commit}")
}

/// The About panel's details: the Ray in use and the bundle identifier.
pub fn about_details(lang: Lang, ray: Option<&RayInUse>, bundle_id: &str) -> String {
    let ray = match ray {
        Some(RayInUse {
            version: Some(version),
            ..
        }) => format!("Ray {version}"),
        Some(RayInUse { path, .. }) => lang.tr(
            format!("Ray at {path}, version unknown"),
            format!("Ray en {path}, versión desconocida"),
        ),
        None => lang.tr("Ray not found yet", "Ray aún no encontrado"),
    };
    format!("{ray} · {bundle_id}")
}

/// The question before `uninstall`: what goes, the data folder named when it goes too.
pub fn uninstall_question(lang: Lang, keep_data: bool, folder: &std::path::Path) -> String {
    let folder = folder.display();
    match keep_data {
        true => lang.tr(
            "BitTrader Worker will quit, stop starting at login and remove Ray's environment \
             from this Mac; your settings and history stay. Continue?"
                .to_string(),
            "BitTrader Worker se cerrará, dejará de abrirse al iniciar sesión y quitará el \
             entorno de Ray de este Mac; tu configuración e historial se quedan. ¿Continuar?"
                .to_string(),
        ),
        false => lang.tr(
            format!(
                "BitTrader Worker will quit, stop starting at login and delete {folder}: Ray's \
                 environment, your settings, your contribution history and the logs. This \
                 cannot be undone. Continue?"
            ),
            format!(
                "BitTrader Worker se cerrará, dejará de abrirse al iniciar sesión y borrará \
                 {folder}: el entorno de Ray, tu configuración, tu historial de contribución y \
                 los registros. No se puede deshacer. ¿Continuar?"
            ),
        ),
    }
}

pub fn startup_failed_body(lang: Lang, why: &str) -> String {
    lang.tr(
        format!("{why}\n\nThe app has quit. Fix this, then open it again."),
        format!("{why}\n\nLa app se ha cerrado. Corrígelo y vuelve a abrirla."),
    )
}

pub fn worker_use(lang: Lang, offered: u32, busy_percent: Option<u8>) -> String {
    let offered = cpu_count(offered);
    let busy = busy_percent.map_or(String::new(), |p| {
        lang.tr(
            format!(" · worker busy {p} %"),
            format!(" · worker ocupado {p} %"),
        )
    });
    lang.tr(
        format!("Offering {offered}{busy}"),
        format!("Ofreciendo {offered}{busy}"),
    )
}

/// "on power" or "on battery".
pub fn power_source(lang: Lang, on_ac: bool) -> &'static str {
    match on_ac {
        true => lang.tr("on power", "conectado a la corriente"),
        false => lang.tr("on battery", "con batería"),
    }
}

/// "Battery 80 % · charging": held at a charge, or full, it is on power.
pub fn battery_line(lang: Lang, battery: Battery, on_ac: bool) -> String {
    let how = match battery.state {
        ChargeState::Charging => lang.tr("charging", "cargando"),
        ChargeState::Full | ChargeState::NotCharging => power_source(lang, true),
        ChargeState::Unknown => power_source(lang, on_ac),
        ChargeState::Discharging => power_source(lang, false),
    };
    let percent = battery.percent;
    lang.tr(
        format!("Battery {percent} % · {how}"),
        format!("Batería {percent} % · {how}"),
    )
}

/// The item that offers a newer release: its page, or Homebrew's command for a cask install.
pub fn update_item(lang: Lang, version: &str, homebrew: bool) -> String {
    if homebrew {
        lang.tr(
            format!("Update to {version}: run {BREW_UPGRADE}…"),
            format!("Actualizar a {version}: ejecuta {BREW_UPGRADE}…"),
        )
    } else {
        lang.tr(
            format!("Update to {version}…"),
            format!("Actualizar a {version}…"),
        )
    }
}

/// What a click on the item of a Homebrew install says (the page would install a second copy).
pub fn brew_upgrade_body(lang: Lang, version: &str) -> String {
    lang.tr(
        format!(
            "BitTrader Worker {version} is out. This copy was installed with Homebrew, so update \
             it with Homebrew: in Terminal, run {BREW_UPGRADE}"
        ),
        format!(
            "Ya está BitTrader Worker {version}. Esta copia se instaló con Homebrew, así que \
             actualízala con Homebrew: en Terminal, ejecuta {BREW_UPGRADE}"
        ),
    )
}

pub fn cluster_line(lang: Lang, cpus: f64, nodes: usize) -> String {
    lang.tr(
        format!("Cluster: {cpus:.0} CPUs on {nodes} nodes"),
        format!("Clúster: {cpus:.0} CPUs en {nodes} nodos"),
    )
}

/// "Only when idle" cannot work: the machine cannot tell, or the desktop has not said yet.
pub fn only_when_idle_line(lang: Lang, unsupported: bool) -> &'static str {
    if unsupported {
        lang.tr(
            "Only when idle: this computer cannot tell — contributing regardless",
            "Solo en reposo: este equipo no lo indica — contribuye igualmente",
        )
    } else {
        lang.tr(
            "Only when idle: the desktop has not reported idleness yet — counted as in use",
            "Solo en reposo: el escritorio aún no ha indicado reposo — se cuenta como en uso",
        )
    }
}

/// `None`: the version `setup` picks (the head's or the newest).
fn ray_named(version: Option<&str>) -> String {
    version.map_or("Ray".into(), |v| format!("Ray {v}"))
}

pub fn install_ray_item(lang: Lang, version: Option<&str>) -> String {
    let ray = ray_named(version);
    lang.tr(format!("Install {ray}…"), format!("Instalar {ray}…"))
}

pub fn ray_install_line(lang: Lang, install: &RayInstall) -> String {
    use InstallStep::*;
    let ray = ray_named(install.version.as_deref());
    let step: String = match &install.step {
        Starting => lang.tr("starting", "empezando"),
        FindingPython => lang.tr("looking for Python", "buscando Python"),
        CreatingVenv { python } => lang.tr(
            format!("preparing Python {python}"),
            format!("preparando Python {python}"),
        ),
        Downloading { package } => lang.tr(
            format!("downloading {package}"),
            format!("descargando {package}"),
        ),
        Installing => lang.tr("installing", "instalando"),
        Checking => lang.tr("checking", "comprobando"),
    };
    lang.tr(
        format!("📦 Installing {ray}… {step}"),
        format!("📦 Instalando {ray}… {step}"),
    )
}

pub fn head_menu_title(lang: Lang, head: Option<&HeadAddress>) -> String {
    let head = head.map_or(lang.tr("none", "ninguno"), |h| h.to_string());
    format!("Head: {head}")
}

/// `first_run`: no head of the user's yet.
pub fn found_head_item(lang: Lang, head: &FoundHead, first_run: bool) -> String {
    let head = format!("{} ({})", super::printable(&head.name), head.address);
    match first_run {
        true => lang.tr(format!("Join {head}"), format!("Unirse a {head}")),
        false => head,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayFailure {
    Icon,
    LoginItem,
}

pub fn tray_failed_line(lang: Lang, what: TrayFailure, why: &str) -> String {
    match what {
        TrayFailure::Icon => lang.tr(
            format!("could not create the tray icon: {why}"),
            format!("no se pudo crear el icono de la barra de menús: {why}"),
        ),
        TrayFailure::LoginItem => lang.tr(
            format!("could not point the login item at this app: {why}"),
            format!("no se pudo apuntar el ítem de inicio a esta app: {why}"),
        ),
    }
}
