//! Every sentence the user reads about the worker's state, in one place.
//!
//! The log keeps the old daemon's shape (`2026-01-26 10:00:08 - ✅ Worker connected to the
//! cluster with 10 CPUs`): one line per change of state, never one per probe.

use crate::model::{
    AutoPause, ConfigEdit, Fault, KeepAwake, LogNote, Notice, PauseAtThermal, Phase, Status,
    TailscaleProblem, ThermalState, Unreachable, WorkerFailure,
};

/// The language of everything the user reads: the menu, the tooltip, the notifications,
/// `worker.log` and the CLI. One per process ([`Lang::current`]); in Spanish the log keeps the
/// old bash daemon's phrases for the same events (its users were told to look for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Spanish (the existing install speaks Spanish).
    Es,
}

impl Lang {
    /// From a POSIX locale name (`es_ES.UTF-8`, `es`, `en_US`) or a macOS one (`es_ES`,
    /// `es-419`); anything not Spanish is English.
    pub fn from_locale(name: &str) -> Lang {
        let lower = name.trim().to_ascii_lowercase();
        if lower == "es"
            || lower.starts_with("es_")
            || lower.starts_with("es-")
            || lower.starts_with("es.")
        {
            Lang::Es
        } else {
            Lang::En
        }
    }

    /// The system's language: `LC_ALL`, `LC_MESSAGES`, `LANG` (the first one set decides, as
    /// in POSIX: `LC_ALL=C` means English whatever `LANG` says); only when none is set, the
    /// OS's own setting (sys-locale: on macOS, where apps started from Finder get none of
    /// those variables, the user's preferred language).
    pub fn detect() -> Lang {
        Lang::detect_from(|var| std::env::var(var).ok(), sys_locale::get_locale)
    }

    /// [`Lang::detect`] on given variables (`var`) and OS setting (`system`).
    fn detect_from(
        var: impl Fn(&str) -> Option<String>,
        system: impl FnOnce() -> Option<String>,
    ) -> Lang {
        let set = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .find_map(|name| var(name).filter(|value| !value.is_empty()));
        // C, C.UTF-8 and POSIX are the untranslated locale: English, like any non-Spanish one.
        match set {
            Some(value) => Lang::from_locale(&value),
            None => system().map_or(Lang::En, |locale| Lang::from_locale(&locale)),
        }
    }

    /// This process's language: [`Lang::detect`], asked once and kept, so that the tray, the
    /// log and the CLI of one process never disagree.
    pub fn current() -> Lang {
        static CURRENT: std::sync::OnceLock<Lang> = std::sync::OnceLock::new();
        *CURRENT.get_or_init(Lang::detect)
    }
}

/// The fixed words of the menu.
#[derive(Debug)]
pub struct MenuWords {
    /// The check item that pauses (now) when unchecked.
    pub contribute: &'static str,
    /// Pauses once the running tasks finish.
    pub pause_after_tasks: &'static str,
    /// The CPU submenu.
    pub cpus: &'static str,
    /// The head address item (opens a prompt).
    pub head_address: &'static str,
    /// Opens the log.
    pub open_log: &'static str,
    /// The login item check.
    pub start_at_login: &'static str,
    /// Quits.
    pub quit: &'static str,
    /// "Battery".
    pub battery: &'static str,
    /// Battery charging.
    pub charging: &'static str,
    /// Battery discharging.
    pub discharging: &'static str,
    /// Battery full / held on AC.
    pub on_power: &'static str,
    /// Prompt title for the head address.
    pub head_prompt: &'static str,
    /// Error title when the address is refused.
    pub head_invalid: &'static str,
    /// Asks before replacing the old install's LaunchAgent.
    pub replace_legacy: &'static str,
    /// macOS wants the user to allow the login item (System Settings is opened for it).
    pub login_needs_approval: &'static str,
}

const EN: MenuWords = MenuWords {
    contribute: "Contribute",
    pause_after_tasks: "Pause after current tasks",
    cpus: "CPUs",
    head_address: "Head address…",
    open_log: "Open log",
    start_at_login: "Start at login",
    quit: "Quit",
    battery: "Battery",
    charging: "charging",
    discharging: "on battery",
    on_power: "on power",
    head_prompt: "Address of the Ray head (host or host:port):",
    head_invalid: "That head address was not saved",
    replace_legacy: "The old BitTrader worker_daemon.sh starts at login with the same label. Replace it with this app? A backup of the old LaunchAgent is kept.",
    login_needs_approval: "macOS needs your approval: in System Settings › General › Login Items, turn on BitTrader Worker.",
};

const ES: MenuWords = MenuWords {
    contribute: "Contribuir",
    pause_after_tasks: "Pausar al terminar las tareas",
    cpus: "CPUs",
    head_address: "Dirección del head…",
    open_log: "Abrir el registro",
    start_at_login: "Abrir al iniciar sesión",
    quit: "Salir",
    battery: "Batería",
    charging: "cargando",
    discharging: "con batería",
    on_power: "conectado a la corriente",
    head_prompt: "Dirección del head de Ray (host o host:puerto):",
    head_invalid: "No se guardó esa dirección del head",
    replace_legacy: "El antiguo worker_daemon.sh de BitTrader se abre al iniciar sesión con la misma etiqueta. ¿Reemplazarlo por esta app? Se guarda una copia del LaunchAgent antiguo.",
    login_needs_approval: "macOS necesita tu permiso: en Ajustes del Sistema › General › Ítems de inicio, activa BitTrader Worker.",
};

/// The menu's words in `lang`.
pub fn menu_words(lang: Lang) -> &'static MenuWords {
    match lang {
        Lang::En => &EN,
        Lang::Es => &ES,
    }
}

/// "1 CPU", "10 CPUs" (the same in Spanish).
pub fn cpu_count(n: u32) -> String {
    if n == 1 {
        "1 CPU".to_string()
    } else {
        format!("{n} CPUs")
    }
}

/// "CPU use of the worker: 37 %" / "Cluster: 22 CPUs on 2 nodes".
pub fn worker_use(lang: Lang, offered: u32, percent: Option<f32>) -> String {
    match (lang, percent) {
        (Lang::En, Some(p)) => format!("Offering {} · worker busy {p:.0} %", cpu_count(offered)),
        (Lang::En, None) => format!("Offering {}", cpu_count(offered)),
        (Lang::Es, Some(p)) => format!(
            "Ofreciendo {} · worker ocupado {p:.0} %",
            cpu_count(offered)
        ),
        (Lang::Es, None) => format!("Ofreciendo {}", cpu_count(offered)),
    }
}

/// The cluster's size as the head's dashboard tells it.
pub fn cluster_line(lang: Lang, cpus: f64, nodes: usize) -> String {
    match lang {
        Lang::En => format!("Cluster: {cpus:.0} CPUs on {nodes} nodes"),
        Lang::Es => format!("Clúster: {cpus:.0} CPUs en {nodes} nodos"),
    }
}

/// One line that says where things stand, for `status`, the tray's tooltip and the log.
pub fn summary(status: &Status) -> String {
    summary_in(Lang::En, status)
}

/// [`summary`] in `lang`. Only words quoted from Ray or the OS (a crash's last line, an OS
/// error) stay as they were said.
pub fn summary_in(lang: Lang, status: &Status) -> String {
    if let Some(line) = demo_summary(lang, status) {
        return line;
    }
    if lang == Lang::Es {
        return summary_es(status);
    }
    let head = status
        .head
        .as_ref()
        .map_or_else(|| "no head".to_string(), |h| h.to_string());
    let cpus = status.worker_cpus.unwrap_or(status.cpus);
    let why = status
        .unreachable
        .as_ref()
        .map(|u| unreachable_words(Lang::En, u))
        .unwrap_or_else(|| "no answer".to_string());
    match status.phase {
        Phase::Checking => format!("Checking whether the head {head} is reachable"),
        Phase::Starting => format!("Joining {head} with {}", cpu_count(cpus)),
        Phase::Connected => format!(
            "Connected to {head} · {}{}",
            cpu_count(cpus),
            keeping_awake_words(Lang::En, status)
        ),
        Phase::Disconnecting => {
            format!("Head unreachable — {why} · keeping the worker for a moment")
        }
        Phase::Disconnected => format!("Head unreachable — {why} · retrying"),
        Phase::Reconnecting => format!("Reconnecting to {head}"),
        Phase::Stopping => "Stopping the worker".to_string(),
        Phase::Paused => match (&status.auto_pause, status.paused) {
            (Some(reason), false) => format!("Paused — {}", auto_pause_words(Lang::En, reason)),
            _ => "Paused".to_string(),
        },
        Phase::Error => match &status.fault {
            Some(fault) => format!("Error: {}", fault_message(Lang::En, fault)),
            None => "Error".to_string(),
        },
        Phase::ShuttingDown => "Shutting down".to_string(),
        Phase::Draining => format!(
            "Finishing the running tasks, then pausing{}",
            keeping_awake_words(Lang::En, status)
        ),
    }
}

fn summary_es(status: &Status) -> String {
    let head = status
        .head
        .as_ref()
        .map_or_else(|| "sin head".to_string(), |h| h.to_string());
    let cpus = status.worker_cpus.unwrap_or(status.cpus);
    let why = status
        .unreachable
        .as_ref()
        .map(|u| unreachable_words(Lang::Es, u))
        .unwrap_or_else(|| "sin respuesta".to_string());
    match status.phase {
        Phase::Checking => format!("Comprobando si el head {head} responde"),
        Phase::Starting => format!("Uniéndose a {head} con {}", cpu_count(cpus)),
        Phase::Connected => format!(
            "Conectado a {head} · {}{}",
            cpu_count(cpus),
            keeping_awake_words(Lang::Es, status)
        ),
        Phase::Disconnecting => {
            format!("Head inalcanzable — {why} · se mantiene el worker un momento")
        }
        Phase::Disconnected => format!("Head inalcanzable — {why} · reintentando"),
        Phase::Reconnecting => format!("Reconectando con {head}"),
        Phase::Stopping => "Deteniendo el worker".to_string(),
        Phase::Paused => match (&status.auto_pause, status.paused) {
            (Some(reason), false) => format!("En pausa — {}", auto_pause_words(Lang::Es, reason)),
            _ => "En pausa".to_string(),
        },
        Phase::Error => match &status.fault {
            Some(fault) => format!("Error: {}", fault_message(Lang::Es, fault)),
            None => "Error".to_string(),
        },
        Phase::ShuttingDown => "Cerrando".to_string(),
        Phase::Draining => format!(
            "Terminando las tareas en curso; luego, pausa{}",
            keeping_awake_words(Lang::Es, status)
        ),
    }
}

/// The end of the connected (or draining) line while idle sleep is held off (`keep_awake`),
/// else nothing.
fn keeping_awake_words(lang: Lang, status: &Status) -> &'static str {
    match (lang, status.courtesy.keeping_awake) {
        (_, false) => "",
        (Lang::En, true) => " · keeping this computer awake",
        (Lang::Es, true) => " · mantiene el equipo despierto",
    }
}

/// The menu's line when "only when idle" is on but this machine cannot tell idleness.
pub fn idle_unsupported_line(lang: Lang) -> String {
    match lang {
        Lang::En => "Only when idle: this computer cannot tell — contributing regardless",
        Lang::Es => "Solo en reposo: este equipo no lo indica — contribuye igualmente",
    }
    .to_string()
}

/// The menu's line when "only when idle" holds the worker back because the desktop has not
/// reported idleness since the session began (logind's hint never set).
pub fn idle_hint_never_set_line(lang: Lang) -> String {
    match lang {
        Lang::En => "Only when idle: the desktop has not reported idleness yet — counted as in use",
        Lang::Es => {
            "Solo en reposo: el escritorio aún no ha indicado reposo — se cuenta como en uso"
        }
    }
    .to_string()
}

/// The courtesy settings and what they do now, one line each, for `bittrader-worker status`.
pub fn courtesy_lines(status: &Status) -> Vec<String> {
    courtesy_lines_in(Lang::En, status)
}

/// [`courtesy_lines`] in `lang`.
pub fn courtesy_lines_in(lang: Lang, status: &Status) -> Vec<String> {
    let courtesy = &status.courtesy;
    let es = lang == Lang::Es;
    let keep_awake = match (lang, courtesy.keep_awake) {
        (Lang::En, KeepAwake::OnPower) => "on power",
        (Lang::En, KeepAwake::Always) => "always",
        (Lang::En, KeepAwake::Never) => "never",
        (Lang::Es, KeepAwake::OnPower) => "con corriente",
        (Lang::Es, KeepAwake::Always) => "siempre",
        (Lang::Es, KeepAwake::Never) => "nunca",
    };
    let now = match (lang, courtesy.keeping_awake) {
        (Lang::En, true) => "holding idle sleep off now",
        (Lang::En, false) => "not holding now",
        (Lang::Es, true) => "impide ahora el reposo por inactividad",
        (Lang::Es, false) => "no lo impide ahora",
    };
    let pause_at = match (lang, courtesy.pause_at_thermal) {
        (Lang::En, PauseAtThermal::Serious) => "serious",
        (Lang::En, PauseAtThermal::Critical) => "critical",
        (Lang::En, PauseAtThermal::Never) => "never",
        (Lang::Es, PauseAtThermal::Serious) => thermal_words(Lang::Es, ThermalState::Serious),
        (Lang::Es, PauseAtThermal::Critical) => thermal_words(Lang::Es, ThermalState::Critical),
        (Lang::Es, PauseAtThermal::Never) => "nunca",
    };
    let thermal = courtesy.thermal.map_or(
        if es {
            "no se indica aquí"
        } else {
            "not reported here"
        },
        |t| thermal_words(lang, t),
    );
    let only_when_idle = match (
        lang,
        courtesy.only_when_idle_minutes,
        courtesy.idle_unsupported,
    ) {
        (Lang::En, None, _) => "only when idle off".to_string(),
        (Lang::Es, None, _) => "solo en reposo desactivado".to_string(),
        (Lang::En, Some(minutes), false) if courtesy.idle_hint_never_set => format!(
            "only when idle after {minutes} min: the desktop has not reported idleness yet, \
             counted as in use"
        ),
        (Lang::Es, Some(minutes), false) if courtesy.idle_hint_never_set => format!(
            "solo en reposo tras {minutes} min: el escritorio aún no ha indicado reposo, se \
             cuenta como en uso"
        ),
        (Lang::En, Some(minutes), false) => {
            format!("only when idle after {minutes} min without input")
        }
        (Lang::Es, Some(minutes), false) => {
            format!("solo en reposo tras {minutes} min sin teclado ni ratón")
        }
        (Lang::En, Some(minutes), true) => format!(
            "only when idle after {minutes} min: not supported here (this session reports no \
             idle time), contributing regardless"
        ),
        (Lang::Es, Some(minutes), true) => format!(
            "solo en reposo tras {minutes} min: no disponible aquí (esta sesión no indica el \
             tiempo de reposo), contribuye igualmente"
        ),
    };
    if es {
        vec![
            format!("mantener despierto: {keep_awake} ({now})"),
            format!("pausa por temperatura: {pause_at} (ahora {thermal})"),
            only_when_idle,
        ]
    } else {
        vec![
            format!("keep awake {keep_awake} ({now})"),
            format!("pause at thermal {pause_at} (now {thermal})"),
            only_when_idle,
        ]
    }
}

/// Why the supervisor paused by itself, and when it resumes.
pub fn auto_pause_words(lang: Lang, reason: &AutoPause) -> String {
    match (lang, reason) {
        (Lang::En, AutoPause::LowBattery { percent }) => {
            format!("battery at {percent} % · resumes on power or when charged enough")
        }
        (Lang::En, AutoPause::OnBattery) => "on battery · contributes only on power".to_string(),
        (Lang::En, AutoPause::Asleep) => "the machine is asleep".to_string(),
        (Lang::Es, AutoPause::LowBattery { percent }) => {
            format!("batería al {percent} % · sigue al conectar el cargador o con carga suficiente")
        }
        (Lang::Es, AutoPause::OnBattery) => {
            "con batería · solo contribuye conectado a la corriente".to_string()
        }
        (Lang::Es, AutoPause::Asleep) => "el equipo está dormido".to_string(),
        (Lang::En, AutoPause::UserPresent { away_minutes }) => format!(
            "you are using this computer · contributes after {} without input",
            duration_words(u64::from(*away_minutes) * 60)
        ),
        (Lang::Es, AutoPause::UserPresent { away_minutes }) => format!(
            "estás usando el equipo · contribuye tras {} sin teclado ni ratón",
            duration_words(u64::from(*away_minutes) * 60)
        ),
        (
            Lang::En,
            AutoPause::RunsHot {
                thermal,
                resume_after_secs,
            },
        ) => format!(
            "the machine runs hot ({}) · resumes after {} cooler",
            thermal_words(Lang::En, *thermal),
            duration_words(*resume_after_secs)
        ),
        (
            Lang::Es,
            AutoPause::RunsHot {
                thermal,
                resume_after_secs,
            },
        ) => format!(
            "el equipo está muy caliente ({}) · sigue tras {} más fresco",
            thermal_words(Lang::Es, *thermal),
            duration_words(*resume_after_secs)
        ),
    }
}

/// A thermal state in a word or two.
pub fn thermal_words(lang: Lang, state: ThermalState) -> &'static str {
    match (lang, state) {
        (Lang::En, ThermalState::Nominal) => "nominal",
        (Lang::En, ThermalState::Fair) => "fair",
        (Lang::En, ThermalState::Serious) => "serious",
        (Lang::En, ThermalState::Critical) => "critical",
        (Lang::Es, ThermalState::Nominal) => "normal",
        (Lang::Es, ThermalState::Fair) => "templado",
        (Lang::Es, ThermalState::Serious) => "alto",
        (Lang::Es, ThermalState::Critical) => "crítico",
    }
}

/// The log line for the state `next` (the supervisor decides when a change is worth one).
/// English; see [`transition_lines_in`].
pub fn transition_line(next: &Status) -> String {
    transition_lines_in(Lang::En, next).remove(0)
}

/// The log lines for the state `next` in `lang`. In Spanish they are the old bash daemon's
/// phrases for the same events (`🔗 Conectando a …`, `✅ Worker Móvil conectado al cluster con
/// 10 CPUs`, `⚠️ No puedo contactar al Head (…).`); a Tailscale head that Tailscale vouches for
/// but that does not answer gets a second line, as the old daemon wrote (`ℹ️ Tailscale
/// conectado (…), pero ping falló.`).
pub fn transition_lines_in(lang: Lang, next: &Status) -> Vec<String> {
    let mut lines = vec![match lang {
        Lang::En => transition_en(next),
        Lang::Es => transition_es(next),
    }];
    if let Some(line) = tailscale_up_but_no_answer(lang, next) {
        lines.push(line);
    }
    lines
}

fn transition_en(next: &Status) -> String {
    let head = next
        .head
        .as_ref()
        .map_or_else(|| "no head".to_string(), |h| h.to_string());
    let cpus = next.worker_cpus.unwrap_or(next.cpus);
    match next.phase {
        Phase::Checking => format!("🔎 Checking the head {head}"),
        Phase::Starting => format!("🚀 Starting the worker: {} for {head}", cpu_count(cpus)),
        Phase::Connected => format!(
            "✅ Worker connected to the cluster with {}",
            cpu_count(cpus)
        ),
        Phase::Disconnecting => format!("⚠️ {}", summary_in(Lang::En, next)),
        Phase::Disconnected => format!("🔌 {}", summary_in(Lang::En, next)),
        Phase::Reconnecting => format!("🔄 Reconnecting to {head}"),
        Phase::Stopping => "🛑 Stopping the worker".to_string(),
        Phase::Paused => format!("⏸️ {}", summary_in(Lang::En, next)),
        Phase::Error => format!("❌ {}", summary_in(Lang::En, next)),
        Phase::ShuttingDown => "👋 Shutting down".to_string(),
        Phase::Draining => {
            "⏳ Draining: no new tasks; pausing once the running ones finish".to_string()
        }
    }
}

/// The old daemon's words: "Worker Móvil" on a laptop, "Worker" elsewhere.
fn worker_es(next: &Status) -> &'static str {
    if next.mobile {
        "Worker Móvil"
    } else {
        "Worker"
    }
}

fn transition_es(next: &Status) -> String {
    let head = next
        .head
        .as_ref()
        .map_or_else(|| "sin head".to_string(), |h| h.to_string());
    let host = next
        .head
        .as_ref()
        .map_or_else(|| "sin head".to_string(), |h| h.host.clone());
    let cpus = next.worker_cpus.unwrap_or(next.cpus);
    let why = next
        .unreachable
        .as_ref()
        .map(|u| unreachable_words(Lang::Es, u))
        .unwrap_or_else(|| "sin respuesta".to_string());
    match next.phase {
        Phase::Checking => format!("🔎 Comprobando el head {head}"),
        Phase::Starting => format!("🔗 Conectando a {head}..."),
        Phase::Connected => format!(
            "✅ {} conectado al cluster con {}",
            worker_es(next),
            cpu_count(cpus)
        ),
        Phase::Disconnecting => format!(
            "⚠️ No puedo contactar al Head ({host}). Motivo: {why} · se mantiene el worker un \
             momento"
        ),
        Phase::Disconnected => {
            format!("⚠️ No puedo contactar al Head ({host}). Motivo: {why} · reintentando")
        }
        Phase::Reconnecting => format!("🔄 Reconectando con {head}"),
        Phase::Stopping => "🛑 Deteniendo el worker".to_string(),
        Phase::Paused => format!("⏸️ {}", summary_in(Lang::Es, next)),
        Phase::Error => format!("❌ {}", summary_in(Lang::Es, next)),
        Phase::ShuttingDown => "👋 Cerrando".to_string(),
        Phase::Draining => {
            "⏳ Drenando: sin tareas nuevas; pausa cuando terminen las que están en curso"
                .to_string()
        }
    }
}

/// The second line while the supervisor says Tailscale vouches for a head that does not
/// answer ([`Status::tailscale_vouches_for_silent_head`]).
fn tailscale_up_but_no_answer(lang: Lang, next: &Status) -> Option<String> {
    if !next.tailscale_vouches_for_silent_head {
        return None;
    }
    let head = next.head.as_ref()?;
    let why = unreachable_words(lang, next.unreachable.as_ref()?);
    Some(match lang {
        Lang::En => format!(
            "ℹ️ Tailscale is connected ({} online: {why}), but the head does not answer",
            head.host
        ),
        Lang::Es => format!(
            "ℹ️ Tailscale conectado ({} en línea: {why}), pero ping falló.",
            head.host
        ),
    })
}

/// A notification's title and body.
pub fn notice(notice: &Notice) -> (String, String) {
    notice_in(Lang::En, notice)
}

/// [`notice`] in `lang`.
pub fn notice_in(lang: Lang, notice: &Notice) -> (String, String) {
    if lang == Lang::Es {
        return match notice {
            Notice::HeadLost { why } => (
                "Worker desconectado".to_string(),
                match why.as_ref().map(|u| unreachable_words(Lang::Es, u)) {
                    Some(why) => format!(
                        "El head no responde ({why}); se detuvo el worker. Volverá a unirse solo."
                    ),
                    None => "El head no responde; se detuvo el worker. Volverá a unirse solo."
                        .to_string(),
                },
            ),
            Notice::Reconnected { away_secs } => (
                "Worker reconectado".to_string(),
                format!(
                    "De vuelta en el clúster tras {}.",
                    duration_words(*away_secs)
                ),
            ),
            Notice::NeedsAttention { fault } => (
                "BitTrader Worker te necesita".to_string(),
                fault_message(Lang::Es, fault),
            ),
            Notice::BatteryLow { percent } => (
                format!("Batería al {percent} %"),
                "El worker sigue contribuyendo; se pondrá en pausa si la batería sigue bajando. Conecta el cargador para seguir.".to_string(),
            ),
            Notice::AutoPaused { reason } => ("Worker en pausa".to_string(), auto_pause_words(Lang::Es, reason)),
            Notice::RayInstalled { version } => (
                format!("Ray {version} instalado"),
                "El worker se vuelve a unir al clúster ahora.".to_string(),
            ),
            Notice::RayInstallFailed { why } => (
                "No se pudo instalar Ray".to_string(),
                format!("{why} (detalles en el registro)"),
            ),
            Notice::HeadFound { head } => (
                "Un head de Ray en tu tailnet".to_string(),
                format!(
                    "{} ({}) responde. Elígelo en el menú (Head) para contribuir a él.",
                    head.name, head.address
                ),
            ),
            Notice::CooledDown => (
                "El worker vuelve a contribuir".to_string(),
                "El equipo se ha enfriado; el worker vuelve a unirse al clúster.".to_string(),
            ),
            Notice::LidClosed => (
                "Tapa cerrada mientras contribuyes".to_string(),
                "El Mac se dormirá y el head seguirá solo; reintentará aquí las tareas que se pierdan.".to_string(),
            ),
        };
    }
    match notice {
        Notice::HeadLost { why } => (
            "Worker disconnected".to_string(),
            match why.as_ref().map(|u| unreachable_words(Lang::En, u)) {
                Some(why) => format!("The head is unreachable ({why}); the worker was stopped. It will rejoin by itself."),
                None => "The head is unreachable; the worker was stopped. It will rejoin by itself.".to_string(),
            },
        ),
        Notice::Reconnected { away_secs } => (
            "Worker reconnected".to_string(),
            format!("Back in the cluster after {}.", duration_words(*away_secs)),
        ),
        Notice::NeedsAttention { fault } => {
            ("BitTrader Worker needs you".to_string(), fault_message(Lang::En, fault))
        }
        Notice::BatteryLow { percent } => (
            format!("Battery at {percent} %"),
            "The worker keeps contributing and pauses if the battery keeps falling. Plug in to carry on.".to_string(),
        ),
        Notice::AutoPaused { reason } => ("Worker paused".to_string(), auto_pause_words(Lang::En, reason)),
        Notice::RayInstalled { version } => (
            format!("Ray {version} installed"),
            "The worker joins the cluster again now.".to_string(),
        ),
        Notice::RayInstallFailed { why } => (
            "Ray could not be installed".to_string(),
            format!("{why} (details in the log)"),
        ),
        Notice::HeadFound { head } => (
            "A Ray head on your tailnet".to_string(),
            format!(
                "{} ({}) answers. Choose it in the menu to contribute to it.",
                head.name, head.address
            ),
        ),
        Notice::CooledDown => (
            "Worker contributing again".to_string(),
            "The machine has cooled down; the worker joins the cluster again.".to_string(),
        ),
        Notice::LidClosed => (
            "Lid closed while contributing".to_string(),
            "The Mac will sleep and the head carries on alone; tasks lost here are retried there.".to_string(),
        ),
    }
}

/// What needs the user and what to do about it: the tray's error line and the notification.
pub fn fault_message(lang: Lang, fault: &Fault) -> String {
    match (lang, fault) {
        (Lang::En, Fault::NoHead) => {
            "No head address is set. Run `bittrader-worker head ADDRESS` (e.g. 100.64.0.1)."
                .to_string()
        }
        (Lang::Es, Fault::NoHead) => "No hay ninguna dirección del head configurada. Ejecuta \
             `bittrader-worker head DIRECCIÓN` (p. ej., 100.64.0.1)."
            .to_string(),
        (Lang::En, Fault::RayMissing { path }) => {
            format!("Ray is not installed here (`{path}` not found). Run `bittrader-worker setup`.")
        }
        (Lang::Es, Fault::RayMissing { path }) => format!(
            "Ray no está instalado en este equipo (no se encuentra `{path}`). Ejecuta \
             `bittrader-worker setup`."
        ),
        (_, Fault::Worker { failure }) => failure_message(lang, failure),
        (Lang::En, Fault::GaveUp { failures, last }) => format!(
            "The worker died {failures} times in a row; stopped retrying. Last error: {} \
             Tick Contribute (or run `bittrader-worker resume`) to try again.",
            failure_message(Lang::En, last)
        ),
        (Lang::Es, Fault::GaveUp { failures, last }) => format!(
            "El worker falló {failures} veces seguidas y se dejó de reintentar. Último error: {} \
             Marca Contribuir (o ejecuta `bittrader-worker resume`) para volver a intentarlo.",
            failure_message(Lang::Es, last)
        ),
    }
}

/// The menu item that installs Ray (`version`: `None` when `setup` will ask the head).
pub fn install_ray_item(lang: Lang, version: Option<&str>) -> String {
    match (lang, version) {
        (Lang::En, Some(v)) => format!("Install Ray {v}…"),
        (Lang::En, None) => "Install Ray…".to_string(),
        (Lang::Es, Some(v)) => format!("Instalar Ray {v}…"),
        (Lang::Es, None) => "Instalar Ray…".to_string(),
    }
}

/// The menu's state line while Ray is being installed.
pub fn ray_install_line(lang: Lang, install: &crate::model::RayInstall) -> String {
    use crate::model::InstallStep;
    let ray = match &install.version {
        Some(v) => format!("Ray {v}"),
        None => "Ray".to_string(),
    };
    let step = match (lang, &install.step) {
        (Lang::En, InstallStep::Starting) => "starting".to_string(),
        (Lang::Es, InstallStep::Starting) => "empezando".to_string(),
        (Lang::En, InstallStep::FindingPython) => "looking for Python".to_string(),
        (Lang::Es, InstallStep::FindingPython) => "buscando Python".to_string(),
        (Lang::En, InstallStep::CreatingVenv { python }) => format!("preparing Python {python}"),
        (Lang::Es, InstallStep::CreatingVenv { python }) => format!("preparando Python {python}"),
        (Lang::En, InstallStep::Downloading { package }) => format!("downloading {package}"),
        (Lang::Es, InstallStep::Downloading { package }) => format!("descargando {package}"),
        (Lang::En, InstallStep::Installing) => "installing".to_string(),
        (Lang::Es, InstallStep::Installing) => "instalando".to_string(),
        (Lang::En, InstallStep::Checking) => "checking".to_string(),
        (Lang::Es, InstallStep::Checking) => "comprobando".to_string(),
    };
    match lang {
        Lang::En => format!("📦 Installing {ray}… {step}"),
        Lang::Es => format!("📦 Instalando {ray}… {step}"),
    }
}

/// Why Ray has no build for this machine, and what to do instead.
pub fn no_build_message(lang: Lang, why: &crate::setup::python::NoBuild) -> String {
    use crate::setup::python::NoBuild;
    let ray = |ray: &Option<String>| match ray {
        Some(v) => format!("Ray {v}"),
        None => match lang {
            Lang::En => "The newest Ray".to_string(),
            Lang::Es => "La versión más reciente de Ray".to_string(),
        },
    };
    match (lang, why) {
        (Lang::En, NoBuild::IntelMac { ray: v }) => format!(
            "{} has no build for Intel Macs (the last one with Intel-Mac builds is 2.49.2). \
             Run Ray 2.49.2 or older on the whole cluster, head included, or contribute from \
             another machine.",
            ray(v)
        ),
        (Lang::Es, NoBuild::IntelMac { ray: v }) => format!(
            "{} no tiene versión para Mac con procesador Intel (la última que la tiene es la \
             2.49.2). Usa Ray 2.49.2 o anterior en todo el clúster, head incluido, o contribuye \
             desde otro equipo.",
            ray(v)
        ),
        (Lang::En, NoBuild::OldMacOs { ray: v, macos }) => format!(
            "{} needs macOS 12 or newer on this Mac, which has macOS {macos}. Update macOS, or \
             run Ray 2.49.2 or older on the whole cluster.",
            ray(v)
        ),
        (Lang::Es, NoBuild::OldMacOs { ray: v, macos }) => format!(
            "{} necesita macOS 12 o posterior y este Mac tiene macOS {macos}. Actualiza macOS o \
             usa Ray 2.49.2 o anterior en todo el clúster.",
            ray(v)
        ),
        (Lang::En, NoBuild::Platform { ray: v }) => format!(
            "{} has no build for this system: it needs macOS on Apple silicon or Linux on x86_64 \
             or ARM64. Contribute from another machine.",
            ray(v)
        ),
        (Lang::Es, NoBuild::Platform { ray: v }) => format!(
            "{} no tiene versión para este sistema: necesita macOS en Apple silicon o Linux en \
             x86_64 o ARM64. Contribuye desde otro equipo.",
            ray(v)
        ),
    }
}

/// Why the worker's `ray start` ended and what to do, in one or two sentences. Ray's own last
/// line, when quoted, stays as Ray wrote it.
pub fn failure_message(lang: Lang, failure: &WorkerFailure) -> String {
    match lang {
        Lang::En => failure_en(failure),
        Lang::Es => failure_es(failure),
    }
}

fn failure_en(failure: &WorkerFailure) -> String {
    match failure {
        WorkerFailure::VersionMismatch {
            cluster: Some(head),
            this_machine: Some(mine),
        } if head == mine => format!(
            "The head and this machine both run Ray {head} but with different Python \
             versions, and Ray refuses to mix them. Install the head's Python version here, \
             then run `bittrader-worker setup --ray-version {head}`."
        ),
        WorkerFailure::VersionMismatch {
            cluster: Some(head),
            this_machine,
        } => format!(
            "The head runs Ray {head}, this machine {} — run `bittrader-worker setup \
             --ray-version {head}`.",
            this_machine.as_deref().unwrap_or("a different version")
        ),
        WorkerFailure::VersionMismatch { cluster: None, .. } => {
            "The head runs a different Ray (or Python) version than this machine — run \
             `bittrader-worker setup` to install the head's version."
                .to_string()
        }
        WorkerFailure::VersionSkewSuspected { this_machine } => {
            let mine = match this_machine {
                Some(v) => format!(" (this machine has {v})"),
                None => String::new(),
            };
            format!(
                "The head could not hand this machine its session: that is what Ray does \
                 when the head runs a different Ray version{mine}. Run `bittrader-worker \
                 setup` to install the head's version."
            )
        }
        WorkerFailure::MultiNodeDisabled => {
            "Ray refuses to join a cluster from macOS or Windows unless \
             RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 is set, and it was not set for this \
             worker. Run `bittrader-worker setup` and start the worker again."
                .to_string()
        }
        WorkerFailure::AuthRefused => {
            "The head refused this machine's Ray authentication token. Check auth_token_file \
             in config.toml: it must hold the head's token (`ray get-auth-token` on the head \
             prints it)."
                .to_string()
        }
        WorkerFailure::HeadUnreachable => {
            "Ray could not reach the head (refused or timed out). Check that Ray is running \
             on the head and that this machine can reach it; the worker retries on its own."
                .to_string()
        }
        WorkerFailure::NodeMarkedDead => {
            "The head dropped this node after a network cut; rejoining.".to_string()
        }
        WorkerFailure::DidNotJoin { within_secs } => format!(
            "Ray did not join the cluster within {within_secs} s. See ray-worker.out in the \
             worker's folder for its output."
        ),
        WorkerFailure::ExitedSilently { code: Some(code) } => format!(
            "`ray start` exited with code {code} without saying why. See ray-worker.out in the \
             worker's folder for its output."
        ),
        WorkerFailure::ExitedSilently { code: None } => {
            "`ray start` was killed by a signal. See ray-worker.out in the worker's folder for \
             its output."
                .to_string()
        }
        WorkerFailure::Crashed { last_line } if last_line.is_empty() => {
            "Ray stopped without saying why. See ray-worker.out in the worker's folder for \
             its output."
                .to_string()
        }
        WorkerFailure::Crashed { last_line } => format!(
            "Ray stopped unexpectedly: {last_line}. See ray-worker.out in the worker's \
             folder for the full output."
        ),
    }
}

fn failure_es(failure: &WorkerFailure) -> String {
    match failure {
        WorkerFailure::VersionMismatch {
            cluster: Some(head),
            this_machine: Some(mine),
        } if head == mine => format!(
            "El head y este equipo usan Ray {head}, pero con versiones de Python distintas, y \
             Ray no permite mezclarlas. Instala aquí la versión de Python del head y luego \
             ejecuta `bittrader-worker setup --ray-version {head}`."
        ),
        WorkerFailure::VersionMismatch {
            cluster: Some(head),
            this_machine,
        } => format!(
            "El head usa Ray {head} y este equipo {} — ejecuta `bittrader-worker setup \
             --ray-version {head}`.",
            this_machine.as_deref().unwrap_or("otra versión")
        ),
        WorkerFailure::VersionMismatch { cluster: None, .. } => {
            "El head usa una versión de Ray (o de Python) distinta de la de este equipo — \
             ejecuta `bittrader-worker setup` para instalar la versión del head."
                .to_string()
        }
        WorkerFailure::VersionSkewSuspected { this_machine } => {
            let mine = match this_machine {
                Some(v) => format!(" (este equipo tiene la {v})"),
                None => String::new(),
            };
            format!(
                "El head no pudo pasarle su sesión a este equipo: es lo que hace Ray cuando el \
                 head usa otra versión de Ray{mine}. Ejecuta `bittrader-worker setup` para \
                 instalar la versión del head."
            )
        }
        WorkerFailure::MultiNodeDisabled => {
            "Ray no se une a un clúster desde macOS o Windows salvo que esté definida \
             RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1, y no lo estaba para este worker. Ejecuta \
             `bittrader-worker setup` y vuelve a iniciar el worker."
                .to_string()
        }
        WorkerFailure::AuthRefused => {
            "El head rechazó el token de autenticación de Ray de este equipo. Revisa \
             auth_token_file en config.toml: debe contener el token del head (lo muestra \
             `ray get-auth-token` en el head)."
                .to_string()
        }
        WorkerFailure::HeadUnreachable => {
            "Ray no pudo conectar con el head (conexión rechazada o sin respuesta). Comprueba \
             que Ray esté en marcha en el head y que este equipo llegue a él; el worker lo \
             reintenta solo."
                .to_string()
        }
        WorkerFailure::NodeMarkedDead => {
            "El head dio de baja este nodo tras un corte de red; volviendo a unirse.".to_string()
        }
        WorkerFailure::DidNotJoin { within_secs } => format!(
            "Ray no se unió al cluster en {within_secs} s. Mira ray-worker.out en la carpeta \
             del worker para ver su salida."
        ),
        WorkerFailure::ExitedSilently { code: Some(code) } => format!(
            "`ray start` terminó con el código {code} sin decir por qué. Mira ray-worker.out en \
             la carpeta del worker para ver su salida."
        ),
        WorkerFailure::ExitedSilently { code: None } => {
            "`ray start` fue terminado por una señal. Mira ray-worker.out en la carpeta del \
             worker para ver su salida."
                .to_string()
        }
        WorkerFailure::Crashed { last_line } if last_line.is_empty() => {
            "Ray se detuvo sin decir por qué. Mira ray-worker.out en la carpeta del worker \
             para ver su salida."
                .to_string()
        }
        WorkerFailure::Crashed { last_line } => format!(
            "Ray se detuvo de forma inesperada: {last_line}. Mira ray-worker.out en la carpeta \
             del worker para ver la salida completa."
        ),
    }
}

/// The title of the alert when the app cannot start.
pub fn startup_failed_title(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "BitTrader Worker could not start",
        Lang::Es => "BitTrader Worker no pudo iniciarse",
    }
}

/// The alert's text: what went wrong (`why`, in the words of the error), and what happens now.
pub fn startup_failed_body(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("{why}\n\nThe app has quit. Fix this, then open it again."),
        Lang::Es => format!("{why}\n\nLa app se ha cerrado. Corrígelo y vuelve a abrirla."),
    }
}

/// The line in `worker.log` when the app cannot start.
pub fn startup_failed_line(why: &str) -> String {
    startup_failed_line_in(Lang::En, why)
}

/// [`startup_failed_line`] in `lang` (`why` stays in the error's own words).
pub fn startup_failed_line_in(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("❌ Could not start: {why}"),
        Lang::Es => format!("❌ No se pudo iniciar: {why}"),
    }
}

/// A line for `worker.log` about something no state change shows (English).
pub fn log_note(note: &LogNote) -> String {
    log_note_in(Lang::En, note)
}

/// [`log_note`] in `lang`.
pub fn log_note_in(lang: Lang, note: &LogNote) -> String {
    match (lang, note) {
        (_, LogNote::StateChanged(status)) => transition_lines_in(lang, status).join("\n"),
        (_, LogNote::ConfigEdit(edit)) => config_edit_line(lang, edit),
        (_, LogNote::RayInUse(ray)) => ray_in_use_line(
            lang,
            ray.as_ref()
                .map(|ray| (ray.path.as_str(), ray.version.as_deref())),
        ),
        (
            Lang::En,
            LogNote::DrainEnded {
                tasks_finished: true,
                ..
            },
        ) => "⏳ Drained: the running tasks finished".to_string(),
        (Lang::En, LogNote::DrainEnded { deadline_secs, .. }) => format!(
            "⏳ Drain deadline ({deadline_secs} s) passed with tasks still running; stopping \
             (Ray retries them on other nodes; tasks pinned to this one wait for it)"
        ),
        (
            Lang::Es,
            LogNote::DrainEnded {
                tasks_finished: true,
                ..
            },
        ) => "⏳ Drenado: terminaron las tareas en curso".to_string(),
        (Lang::Es, LogNote::DrainEnded { deadline_secs, .. }) => format!(
            "⏳ Pasó el plazo del drenado ({deadline_secs} s) con tareas aún en curso; se \
             detiene (Ray las reintenta en otros nodos; las fijadas a este lo esperan)"
        ),
        (Lang::En, LogNote::KeepAwakeRefused { why }) => format!(
            "⚠️ keep_awake: the system refused to hold idle sleep off ({why}); this computer may \
             sleep while contributing"
        ),
        (Lang::Es, LogNote::KeepAwakeRefused { why }) => format!(
            "⚠️ keep_awake: el sistema no permitió mantener el equipo despierto ({why}); puede \
             dormirse mientras contribuye"
        ),
    }
}

// ----- worker.log's start and the CLI, in the user's language (issue 10, item 10) -----

/// The first line of a start: the old daemon's `🚀 Worker Daemon iniciado`.
pub fn daemon_started_line(lang: Lang) -> String {
    match lang {
        Lang::En => "🚀 Worker daemon started".to_string(),
        Lang::Es => "🚀 Worker Daemon iniciado".to_string(),
    }
}

/// Which mode the machine runs in, with what it was told by (`detail`: the model identifier,
/// `MacBookAir10,1`, else the form factor): the old daemon's `📱 Worker Móvil Detectado (…)`.
pub fn machine_line(lang: Lang, mobile: bool, detail: &str) -> String {
    match (lang, mobile) {
        (Lang::En, true) => format!("📱 Mobile worker detected ({detail})"),
        (Lang::En, false) => format!("🖥️ Desktop worker detected ({detail})"),
        (Lang::Es, true) => format!("📱 Worker Móvil Detectado ({detail})"),
        // The old daemon's phrase with "Worker" for "Worker Móvil" (issue 10).
        (Lang::Es, false) => format!("🖥️ Worker Detectado ({detail})"),
    }
}

/// What kind of machine this is, for [`machine_line`] when its model is not known.
pub fn form_factor_words(lang: Lang, form_factor: crate::platform::FormFactor) -> &'static str {
    use crate::platform::FormFactor;
    match (lang, form_factor) {
        (Lang::En, FormFactor::Laptop) => "a laptop",
        (Lang::En, FormFactor::Desktop) => "a desktop",
        (Lang::En, FormFactor::Unknown) => "kind of machine unknown",
        (Lang::Es, FormFactor::Laptop) => "un portátil",
        (Lang::Es, FormFactor::Desktop) => "un equipo de sobremesa",
        (Lang::Es, FormFactor::Unknown) => "tipo de equipo desconocido",
    }
}

/// The `ray` the worker runs, or that none was found.
pub fn ray_in_use_line(lang: Lang, ray: Option<(&str, Option<&str>)>) -> String {
    match (lang, ray) {
        (Lang::En, Some((path, version))) => {
            format!("🐍 Ray: {path} ({})", version.unwrap_or("version unknown"))
        }
        (Lang::Es, Some((path, version))) => {
            format!(
                "🐍 Ray: {path} ({})",
                version.unwrap_or("versión desconocida")
            )
        }
        (Lang::En, None) => "🐍 Ray: not found".to_string(),
        (Lang::Es, None) => "🐍 Ray: no encontrado".to_string(),
    }
}

/// The machine watcher could not subscribe to the OS's power changes (`why`), so it reads the
/// power every `every` instead, and an unplug is seen that much later.
pub fn power_polled_line(lang: Lang, why: &str, every: std::time::Duration) -> String {
    let secs = every.as_secs();
    match lang {
        Lang::En => format!(
            "🔋 Power changes are not signalled here ({why}): the power is read every {secs} s"
        ),
        Lang::Es => format!(
            "🔋 Aquí el sistema no avisa de los cambios de alimentación ({why}): se lee cada {secs} s"
        ),
    }
}

/// The machine watcher's thread could not be made (`why`): power, lid and sleep go unseen.
pub fn machine_unwatched_line(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("⚠️ The power and the lid are not watched: no thread for it ({why})"),
        Lang::Es => {
            format!("⚠️ No se vigilan la alimentación ni la tapa: no hay hilo para ello ({why})")
        }
    }
}

/// No sleep notification of the OS reaches this process (`why`; `None`: macOS, where only the
/// menu-bar app gets them), so sleeps are measured with the clocks, after the wake.
pub fn sleep_by_clocks_line(lang: Lang, why: Option<&str>) -> String {
    let why = why.unwrap_or(match lang {
        Lang::En => "only the menu-bar app receives them",
        Lang::Es => "solo la app de la barra de menús los recibe",
    });
    match lang {
        Lang::En => format!(
            "💤 No sleep notifications from the system ({why}): sleeps are measured by the \
             clocks, after the wake"
        ),
        Lang::Es => format!(
            "💤 El sistema no avisa de las suspensiones ({why}): se miden con los relojes, al \
             despertar"
        ),
    }
}

/// The note before the first log line written after some could not be (the English is what
/// tests/lab_faults.rs looks for).
pub fn dropped_log_lines_note(lang: Lang, dropped: u64) -> String {
    match lang {
        Lang::En => format!(
            "⚠️ {dropped} line(s) of this log could not be written (disk full or folder not \
             writable)"
        ),
        Lang::Es => format!(
            "⚠️ {dropped} línea(s) de este registro no se pudieron escribir (disco lleno o \
             carpeta sin permiso de escritura)"
        ),
    }
}

/// The worker's pid file could not be written (an orphan after a crash would not be found).
pub fn pid_file_not_written_line(lang: Lang, path: &str, why: &str) -> String {
    match lang {
        Lang::En => format!("could not write {path}: {why}"),
        Lang::Es => format!("no se pudo escribir {path}: {why}"),
    }
}

/// The machine announced a sleep.
pub fn going_to_sleep_line(lang: Lang) -> String {
    match lang {
        Lang::En => "💤 The machine is going to sleep".to_string(),
        Lang::Es => "💤 El equipo se va a dormir".to_string(),
    }
}

/// The machine woke after `slept_secs`.
pub fn woke_line(lang: Lang, slept_secs: u64) -> String {
    match lang {
        Lang::En => format!("☀️ The machine woke after {slept_secs} s asleep"),
        Lang::Es => format!("☀️ El equipo despertó tras {slept_secs} s dormido"),
    }
}

/// What the drain request to the head came to (`Err`: the head's or Ray's words).
pub fn drain_requested_line(lang: Lang, outcome: &Result<(), String>) -> String {
    match (lang, outcome) {
        (Lang::En, Ok(())) => {
            "⏳ The head stopped sending this node tasks; waiting for the running ones".to_string()
        }
        (Lang::En, Err(why)) => format!("⏳ Drain not accepted ({why}); stopping now"),
        (Lang::Es, Ok(())) => {
            "⏳ El head dejó de enviar tareas a este nodo; esperando a las que están en curso"
                .to_string()
        }
        (Lang::Es, Err(why)) => format!("⏳ Drenado no aceptado ({why}); se detiene ya"),
    }
}

/// A worker an earlier run left behind was stopped (`stopped`), or pid `pid` was left alone
/// because it is no longer that worker.
pub fn orphan_line(lang: Lang, pid: u32, stopped: bool) -> String {
    match (lang, stopped) {
        (Lang::En, true) => {
            format!("🧹 Stopped the worker (pid {pid}) left behind by an earlier run")
        }
        (Lang::Es, true) => {
            format!("🧹 Detenido el worker (pid {pid}) que dejó una ejecución anterior")
        }
        (Lang::En, false) => {
            format!("Left pid {pid} alone: it is no longer the worker an earlier run started")
        }
        (Lang::Es, false) => format!(
            "Se deja en paz el pid {pid}: ya no es el worker que inició una ejecución anterior"
        ),
    }
}

/// No head is configured and the demo head could not start (`why`: the error's own words).
pub fn demo_head_failed_line(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("No head is configured and the demo head could not start: {why}"),
        Lang::Es => format!(
            "No hay ningún head configurado y el head de demostración no pudo arrancar: {why}"
        ),
    }
}

/// Installing Ray from the app failed (`why`: the installer's last word).
pub fn install_failed_line(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("📦 Installing Ray failed: {why}"),
        Lang::Es => format!("📦 Falló la instalación de Ray: {why}"),
    }
}

/// The log line for a hand edit of config.toml.
pub fn config_edit_line(lang: Lang, edit: &ConfigEdit) -> String {
    match (lang, edit) {
        (Lang::En, ConfigEdit::Invalid(problem)) => format!(
            "⚠️ {problem}: this edit is not applied; the running settings stay as they were"
        ),
        (Lang::Es, ConfigEdit::Invalid(problem)) => format!(
            "⚠️ {problem}: este cambio no se aplica; los ajustes en uso siguen como estaban"
        ),
        (Lang::En, ConfigEdit::Removed) => "⚠️ config.toml was removed: the running settings \
             stay; the next change from the menu or the CLI writes it again"
            .to_string(),
        (Lang::Es, ConfigEdit::Removed) => "⚠️ Se borró config.toml: los ajustes en uso se \
             mantienen; el próximo cambio desde el menú o la CLI lo vuelve a escribir"
            .to_string(),
        (Lang::En, ConfigEdit::ReadableAgain) => "✏️ config.toml is readable again".to_string(),
        (Lang::Es, ConfigEdit::ReadableAgain) => "✏️ config.toml vuelve a poder leerse".to_string(),
        (Lang::En, ConfigEdit::HeadRemoved) => "✏️ config.toml: `head` removed; the worker \
             keeps its head until BitTrader Worker restarts"
            .to_string(),
        (Lang::Es, ConfigEdit::HeadRemoved) => "✏️ config.toml: se quitó `head`; el worker \
             mantiene su head hasta que BitTrader Worker se reinicie"
            .to_string(),
        (Lang::En, ConfigEdit::Applied(what)) => format!("✏️ config.toml edited: {what} applied"),
        (Lang::Es, ConfigEdit::Applied(what)) => {
            format!("✏️ config.toml editado: aplicado {what}")
        }
        (Lang::En, ConfigEdit::AtRestart(keys)) => {
            format!("✏️ config.toml edited: {keys} take effect when BitTrader Worker restarts")
        }
        (Lang::Es, ConfigEdit::AtRestart(keys)) => {
            format!("✏️ config.toml editado: {keys} se aplica cuando BitTrader Worker se reinicie")
        }
        (Lang::En, ConfigEdit::Polling { every_secs, why }) => format!(
            "✏️ config.toml: the system does not report changes to its folder ({why}); hand \
             edits are picked up every {every_secs} s"
        ),
        (Lang::Es, ConfigEdit::Polling { every_secs, why }) => format!(
            "✏️ config.toml: el sistema no avisa de los cambios en su carpeta ({why}); los \
             cambios a mano se leen cada {every_secs} s"
        ),
    }
}

/// The answer to `quit` once everything has stopped.
pub fn stopped_reply(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Stopped.",
        Lang::Es => "Detenido.",
    }
}

/// A reply's note ([`ReplyNote`](crate::model::ReplyNote)) in `lang`.
pub fn reply_note(lang: Lang, note: &crate::model::ReplyNote) -> String {
    use crate::model::ReplyNote;
    match note {
        ReplyNote::Stopped => stopped_reply(lang).to_string(),
        ReplyNote::NotSaved { key, why } => setting_not_saved(lang, key, why),
    }
}

/// The labels of `bittrader-worker status` (its lines besides the summary).
#[derive(Debug)]
pub struct StatusLabels {
    /// "worker pid".
    pub worker_pid: &'static str,
    /// "node ip".
    pub node_ip: &'static str,
    /// "ray".
    pub ray: &'static str,
    /// "version unknown".
    pub version_unknown: &'static str,
    /// "mode".
    pub mode: &'static str,
    /// The mobile mode's words.
    pub mobile: &'static str,
    /// The desktop mode's words.
    pub desktop: &'static str,
    /// "log".
    pub log: &'static str,
}

/// [`StatusLabels`] in `lang`.
pub fn status_labels(lang: Lang) -> &'static StatusLabels {
    const EN_LABELS: StatusLabels = StatusLabels {
        worker_pid: "worker pid",
        node_ip: "node ip",
        ray: "ray",
        version_unknown: "version unknown",
        mode: "mode",
        mobile: "mobile (laptop: battery policy on)",
        desktop: "desktop",
        log: "log",
    };
    const ES_LABELS: StatusLabels = StatusLabels {
        worker_pid: "pid del worker",
        node_ip: "ip del nodo",
        ray: "ray",
        version_unknown: "versión desconocida",
        mode: "modo",
        mobile: "móvil (portátil: política de batería activa)",
        desktop: "escritorio",
        log: "registro",
    };
    match lang {
        Lang::En => &EN_LABELS,
        Lang::Es => &ES_LABELS,
    }
}

/// Why the head does not answer, as a clause ("no answer from the head") that fits after
/// "Head unreachable — ". An OS error's own words ([`Unreachable::Other`]) stay as they were.
pub fn unreachable_words(lang: Lang, why: &Unreachable) -> String {
    match (lang, why) {
        (Lang::En, Unreachable::TimedOut) => "no answer from the head".to_string(),
        (Lang::Es, Unreachable::TimedOut) => "sin respuesta del head".to_string(),
        (Lang::En, Unreachable::Refused) => {
            "the head's machine is up but Ray is not running".to_string()
        }
        (Lang::Es, Unreachable::Refused) => {
            "el equipo del head está encendido, pero Ray no está en marcha".to_string()
        }
        (Lang::En, Unreachable::NoRoute) => "no network route to the head".to_string(),
        (Lang::Es, Unreachable::NoRoute) => "no hay ruta de red hasta el head".to_string(),
        (Lang::En, Unreachable::NameNotResolved) => "the head's name does not resolve".to_string(),
        (Lang::Es, Unreachable::NameNotResolved) => {
            "el nombre del head no se puede resolver".to_string()
        }
        (_, Unreachable::Tailscale { problem }) => tailscale_words(lang, problem),
        (_, Unreachable::Other { detail }) => detail.clone(),
    }
}

/// What Tailscale says is wrong and what to do, as a clause that fits after "Head unreachable — ".
pub fn tailscale_words(lang: Lang, problem: &TailscaleProblem) -> String {
    match (lang, problem) {
        (Lang::En, TailscaleProblem::Stopped) => {
            "Tailscale is stopped — open Tailscale and connect".to_string()
        }
        (Lang::Es, TailscaleProblem::Stopped) => {
            "Tailscale está detenido — abre Tailscale y conéctate".to_string()
        }
        (Lang::En, TailscaleProblem::NeedsLogin) => {
            "Tailscale needs you to log in — open Tailscale and log in".to_string()
        }
        (Lang::Es, TailscaleProblem::NeedsLogin) => {
            "Tailscale necesita que inicies sesión — abre Tailscale e inicia sesión".to_string()
        }
        (Lang::En, TailscaleProblem::HeadOffline { peer }) => {
            format!("the head ({peer}) is offline in Tailscale — check that it is on and connected")
        }
        (Lang::Es, TailscaleProblem::HeadOffline { peer }) => format!(
            "el head ({peer}) aparece desconectado en Tailscale — comprueba que esté encendido \
             y conectado"
        ),
        (Lang::En, TailscaleProblem::HeadNotInTailnet) => {
            "the head's address is no machine of your Tailscale network — not joining whatever \
             answers there; check the head address"
                .to_string()
        }
        (Lang::Es, TailscaleProblem::HeadNotInTailnet) => {
            "la dirección del head no es de ninguna máquina de tu red Tailscale — no se une a lo \
             que responda ahí; revisa la dirección del head"
                .to_string()
        }
        (Lang::En, TailscaleProblem::NotInstalled) => {
            "the head is a Tailscale address and Tailscale is not installed here — install and \
             connect Tailscale"
                .to_string()
        }
        (Lang::Es, TailscaleProblem::NotInstalled) => {
            "el head es una dirección de Tailscale y Tailscale no está instalado aquí — instala \
             Tailscale y conéctate"
                .to_string()
        }
        (Lang::En, TailscaleProblem::NotAnswering) => {
            "Tailscale does not say it is connected — open Tailscale and check that it is on"
                .to_string()
        }
        (Lang::Es, TailscaleProblem::NotAnswering) => {
            "Tailscale no dice que esté conectado — abre Tailscale y comprueba que esté activo"
                .to_string()
        }
    }
}

/// "45 s", "3 min", "2 h 5 min".
pub fn duration_words(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{} min", secs / 60)
    } else {
        format!("{} h {} min", secs / 3600, (secs % 3600) / 60)
    }
}

/// The answer to a change (pause, resume, CPUs, head) that took effect but could not be
/// written to config.toml: it holds until the app quits.
pub fn setting_not_saved(lang: Lang, key: &str, why: &str) -> String {
    match lang {
        Lang::En => format!(
            "Done, but `{key}` could not be saved ({why}): it holds until BitTrader Worker \
             quits. Free some disk space or fix the folder's permissions."
        ),
        Lang::Es => format!(
            "Hecho, pero no se pudo guardar `{key}` ({why}): vale hasta que BitTrader Worker \
             se cierre. Libera espacio en el disco o corrige los permisos de la carpeta."
        ),
    }
}

// ----- first run: the demo head, and where to set a real one (issue 10, item 9) -----

/// While the head is the built-in demo head, the state line says it is a local demo (an
/// address on 127.0.0.1 tells a newcomer nothing); `None` for a real head or a state whose
/// line says nothing of the head.
fn demo_summary(lang: Lang, status: &Status) -> Option<String> {
    if !status.demo {
        return None;
    }
    let cpus = cpu_count(status.worker_cpus.unwrap_or(status.cpus));
    Some(match (lang, status.phase) {
        (Lang::En, Phase::Checking) => "Demo: starting a local practice head".to_string(),
        (Lang::Es, Phase::Checking) => "Demo: arrancando un head de práctica local".to_string(),
        (Lang::En, Phase::Starting) => format!("Demo: joining a local practice head with {cpus}"),
        (Lang::Es, Phase::Starting) => {
            format!("Demo: uniéndose a un head de práctica local con {cpus}")
        }
        (Lang::En, Phase::Connected) => {
            format!("Demo: connected to a local practice head · {cpus}")
        }
        (Lang::Es, Phase::Connected) => {
            format!("Demo: conectado a un head de práctica local · {cpus}")
        }
        (Lang::En, Phase::Reconnecting) => {
            "Demo: reconnecting to the local practice head".to_string()
        }
        (Lang::Es, Phase::Reconnecting) => {
            "Demo: reconectando con el head de práctica local".to_string()
        }
        _ => return None,
    })
}

/// The menu's words about the head: setting one, finding one, its dashboard.
#[derive(Debug)]
pub struct HeadWords {
    /// The first item while no real head is set (opens the address prompt).
    pub set_head: &'static str,
    /// Opens the head's Ray dashboard in the browser (shown while it answers).
    pub open_dashboard: &'static str,
    /// Starts a search for heads on the tailnet.
    pub find_heads: &'static str,
    /// The search is under way.
    pub searching: &'static str,
    /// The search found nothing.
    pub none_found: &'static str,
}

// ----- heads found on the tailnet (issue 10, item 7) -----

/// The Head submenu's title: "Head: 100.64.0.1:6379".
pub fn head_menu_title(lang: Lang, head: Option<&crate::model::HeadAddress>) -> String {
    match (lang, head) {
        (_, Some(head)) => format!("Head: {head}"),
        (Lang::En, None) => "Head: none".to_string(),
        (Lang::Es, None) => "Head: ninguno".to_string(),
    }
}

/// A head found on the tailnet, as a menu choice: "desktop (100.64.0.1:6379)"; on a first run
/// (no head of the user's yet), "Join desktop (100.64.0.1:6379)".
pub fn found_head_item(lang: Lang, head: &crate::model::FoundHead, first_run: bool) -> String {
    match (lang, first_run) {
        (_, false) => format!("{} ({})", head.name, head.address),
        (Lang::En, true) => format!("Join {} ({})", head.name, head.address),
        (Lang::Es, true) => format!("Unirse a {} ({})", head.name, head.address),
    }
}

/// Why the tailnet could not be searched, in a few words.
pub fn search_failed_words(lang: Lang, problem: &TailscaleProblem) -> String {
    match (lang, problem) {
        (Lang::En, TailscaleProblem::NotInstalled) => "Tailscale is not installed here",
        (Lang::Es, TailscaleProblem::NotInstalled) => "Tailscale no está instalado aquí",
        (Lang::En, TailscaleProblem::Stopped) => "Tailscale is stopped",
        (Lang::Es, TailscaleProblem::Stopped) => "Tailscale está detenido",
        (Lang::En, TailscaleProblem::NeedsLogin) => "Tailscale needs you to log in",
        (Lang::Es, TailscaleProblem::NeedsLogin) => "Tailscale necesita que inicies sesión",
        (Lang::En, _) => "Tailscale does not answer",
        (Lang::Es, _) => "Tailscale no responde",
    }
    .to_string()
}

/// `bittrader-worker find-heads`'s lines: one per head found, then what to do; or that none
/// answered.
pub fn find_heads_report(lang: Lang, finds: &crate::model::TailnetFinds) -> Vec<String> {
    let cut = finds
        .was_cut()
        .then(|| format!("({})", machines_asked(lang, finds)));
    if finds.heads.is_empty() {
        let none = match lang {
            Lang::En => "No machine of your tailnet answers on Ray's port.".to_string(),
            Lang::Es => "Ninguna máquina de tu tailnet responde en el puerto de Ray.".to_string(),
        };
        return [Some(none), cut].into_iter().flatten().collect();
    }
    let mut lines: Vec<String> = finds
        .heads
        .iter()
        .map(|head| format!("{}\t{}", head.address, head.name))
        .collect();
    lines.extend(cut);
    lines.push(match lang {
        Lang::En => "Join one with `bittrader-worker head ADDRESS`.".to_string(),
        Lang::Es => "Únete a uno con `bittrader-worker head DIRECCIÓN`.".to_string(),
    });
    lines
}

/// "64 of 80 machines asked": the search was cut at its limit.
pub fn machines_asked(lang: Lang, finds: &crate::model::TailnetFinds) -> String {
    match lang {
        Lang::En => format!("{} of {} machines asked", finds.asked, finds.machines),
        Lang::Es => format!("{} de {} máquinas consultadas", finds.asked, finds.machines),
    }
}

/// [`HeadWords`] in `lang`.
pub fn head_words(lang: Lang) -> &'static HeadWords {
    const EN_HEAD: HeadWords = HeadWords {
        set_head: "Set your head address…",
        open_dashboard: "Open Ray dashboard",
        find_heads: "Find heads on my tailnet",
        searching: "Searching your tailnet…",
        none_found: "No head answers on your tailnet",
    };
    const ES_HEAD: HeadWords = HeadWords {
        set_head: "Configura la dirección de tu head…",
        open_dashboard: "Abrir el panel de Ray",
        find_heads: "Buscar heads en mi tailnet",
        searching: "Buscando en tu tailnet…",
        none_found: "Ningún head responde en tu tailnet",
    };
    match lang {
        Lang::En => &EN_HEAD,
        Lang::Es => &ES_HEAD,
    }
}

// ---------------------------------------------------------------------------------------------
// What you gave: the menu's line, `stats`, the contribution page
// ---------------------------------------------------------------------------------------------

/// CPU-seconds as CPU-hours for people: one decimal under 10 ("3.2", "3,2" in Spanish), whole
/// hours above ("21").
pub fn cpu_hours(lang: Lang, cpu_secs: f64) -> String {
    let hours = cpu_secs.max(0.0) / 3600.0;
    let text = if hours < 9.95 {
        format!("{hours:.1}")
    } else {
        format!("{hours:.0}")
    };
    match lang {
        Lang::En => text,
        Lang::Es => text.replace('.', ","),
    }
}

/// "Today 3.2 CPU-h · 7 days 21 CPU-h".
pub fn contribution_line(lang: Lang, summary: &crate::model::ContributionSummary) -> String {
    let (today, week) = (
        cpu_hours(lang, summary.today_cpu_secs),
        cpu_hours(lang, summary.week_cpu_secs),
    );
    match lang {
        Lang::En => format!("Today {today} CPU-h · 7 days {week} CPU-h"),
        Lang::Es => format!("Hoy {today} CPU-h · 7 días {week} CPU-h"),
    }
}

/// The menu item that opens the contribution page.
pub fn contribution_item(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Contribution…",
        Lang::Es => "Contribución…",
    }
}

/// What `stats` says when history.json cannot be read.
pub fn history_unreadable(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!(
            "{why}. BitTrader Worker sets it aside (history.json.corrupt-DATE) at its next start \
             and begins a new one."
        ),
        Lang::Es => format!(
            "{why}. BitTrader Worker lo aparta (history.json.corrupt-FECHA) al volver a abrirse \
             y empieza uno nuevo."
        ),
    }
}

/// The words of the contribution page.
#[derive(Debug)]
pub struct PageWords {
    /// The HTML `lang` attribute.
    pub html_lang: &'static str,
    /// The page's title and heading.
    pub title: &'static str,
    /// Under the heading: what the page shows.
    pub subtitle: &'static str,
    /// The figures' labels.
    pub today: &'static str,
    /// "Last 7 days".
    pub last_7_days: &'static str,
    /// "Last 30 days".
    pub last_30_days: &'static str,
    /// The bar chart's heading.
    pub per_day: &'static str,
    /// The timeline's heading.
    pub timeline: &'static str,
    /// The timeline's states, for the legend and the tooltips.
    pub connected: &'static str,
    /// Paused by the user.
    pub paused_user: &'static str,
    /// Paused: low battery.
    pub paused_low_battery: &'static str,
    /// Paused: on battery.
    pub paused_on_battery: &'static str,
    /// Paused: asleep.
    pub paused_asleep: &'static str,
    /// Paused: the machine ran hot.
    pub paused_hot: &'static str,
    /// Paused: the user was at the machine ("only when idle").
    pub paused_user_active: &'static str,
    /// Disconnected.
    pub disconnected: &'static str,
    /// The app was not running.
    pub not_running: &'static str,
    /// Short month names, January first.
    pub months: [&'static str; 12],
    /// Short weekday names, Monday first.
    pub weekdays: [&'static str; 7],
    /// Before the time the page was drawn.
    pub updated: &'static str,
    /// How the figures are measured.
    pub footnote: &'static str,
}

const PAGE_EN: PageWords = PageWords {
    html_lang: "en",
    title: "What you gave",
    subtitle: "CPU time this machine's Ray worker gave to your cluster",
    today: "Today",
    last_7_days: "Last 7 days",
    last_30_days: "Last 30 days",
    per_day: "CPU-hours per day",
    timeline: "The last 7 days",
    connected: "Connected",
    paused_user: "Paused by you",
    paused_low_battery: "Paused: low battery",
    paused_on_battery: "Paused: on battery",
    paused_asleep: "Paused: asleep",
    paused_hot: "Paused: running hot",
    paused_user_active: "Paused: you were using it",
    disconnected: "Disconnected",
    not_running: "App not running",
    months: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
    weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    updated: "Updated",
    footnote: "CPU time of the Ray worker's processes (user + system), read once a minute while connected. One CPU-hour is one core busy for an hour.",
};

const PAGE_ES: PageWords = PageWords {
    html_lang: "es",
    title: "Lo que aportaste",
    subtitle: "Tiempo de CPU que el worker de Ray de esta máquina aportó a tu clúster",
    today: "Hoy",
    last_7_days: "Últimos 7 días",
    last_30_days: "Últimos 30 días",
    per_day: "CPU-horas por día",
    timeline: "Los últimos 7 días",
    connected: "Conectado",
    paused_user: "Pausado por ti",
    paused_low_battery: "Pausado: batería baja",
    paused_on_battery: "Pausado: con batería",
    paused_asleep: "Pausado: en reposo",
    paused_hot: "Pausado: demasiado caliente",
    paused_user_active: "Pausado: lo estabas usando",
    disconnected: "Desconectado",
    not_running: "App cerrada",
    months: [
        "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic",
    ],
    weekdays: ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
    updated: "Actualizado",
    footnote: "Tiempo de CPU de los procesos del worker de Ray (usuario + sistema), leído una vez por minuto mientras está conectado. Una CPU-hora es un núcleo ocupado durante una hora.",
};

/// The contribution page's words in `lang`.
pub fn page_words(lang: Lang) -> &'static PageWords {
    match lang {
        Lang::En => &PAGE_EN,
        Lang::Es => &PAGE_ES,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_locale_variable_set_decides_and_the_os_only_when_none_is() {
        use super::Lang;
        let detect = |vars: &[(&str, &str)], system: Option<&str>| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Lang::detect_from(
                |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
                || system.map(str::to_string),
            )
        };
        // LC_ALL=C wins over a Spanish LANG and a Spanish OS.
        for c in ["C", "POSIX", "C.UTF-8"] {
            assert_eq!(
                detect(&[("LC_ALL", c), ("LANG", "es_ES.UTF-8")], Some("es-ES")),
                Lang::En,
                "{c}"
            );
        }
        assert_eq!(
            detect(&[("LC_MESSAGES", "C"), ("LANG", "es_ES.UTF-8")], None),
            Lang::En
        );
        assert_eq!(
            detect(&[("LC_ALL", "es_MX.UTF-8"), ("LANG", "en_US.UTF-8")], None),
            Lang::Es
        );
        // An empty variable counts as unset.
        assert_eq!(
            detect(&[("LC_ALL", ""), ("LANG", "es_ES.UTF-8")], None),
            Lang::Es
        );
        // None set: the OS's setting, else English.
        assert_eq!(detect(&[], Some("es-ES")), Lang::Es);
        assert_eq!(detect(&[("LC_ALL", "")], Some("es")), Lang::Es);
        assert_eq!(detect(&[], None), Lang::En);
        assert_eq!(detect(&[("LANG", "C")], Some("es-ES")), Lang::En);
    }

    use super::*;

    /// The English words for a failure, as the log and the CLI print them.
    trait UserMessage {
        fn user_message(&self) -> String;
    }

    impl UserMessage for WorkerFailure {
        fn user_message(&self) -> String {
            failure_message(Lang::En, self)
        }
    }

    fn status(phase: Phase) -> Status {
        Status {
            phase,
            head: Some("100.64.0.1:6379".parse().expect("a head address")),
            cpus: 10,
            worker_cpus: Some(10),
            paused: false,
            ..Status::default()
        }
    }

    #[test]
    fn the_connected_line_keeps_the_old_daemons_words() {
        let line = transition_line(&status(Phase::Connected));
        assert_eq!(line, "✅ Worker connected to the cluster with 10 CPUs");
    }

    #[test]
    fn spanish_log_lines_are_the_old_daemons() {
        let mut mobile = status(Phase::Connected);
        mobile.mobile = true;
        assert_eq!(
            transition_lines_in(Lang::Es, &mobile),
            ["✅ Worker Móvil conectado al cluster con 10 CPUs"]
        );
        // A desktop is a "Worker".
        assert_eq!(
            transition_lines_in(Lang::Es, &status(Phase::Connected)),
            ["✅ Worker conectado al cluster con 10 CPUs"]
        );
        assert_eq!(
            transition_lines_in(Lang::Es, &status(Phase::Starting)),
            ["🔗 Conectando a 100.64.0.1:6379..."]
        );
        // Tailscale vouches for the head (no Tailscale problem), the head does not answer.
        let mut lost = status(Phase::Disconnected);
        lost.unreachable = Some(Unreachable::TimedOut);
        lost.tailscale_vouches_for_silent_head = true;
        let lines = transition_lines_in(Lang::Es, &lost);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("⚠️ No puedo contactar al Head (100.64.0.1)."),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("ℹ️ Tailscale conectado (")
                && lines[1].ends_with("), pero ping falló."),
            "{lines:?}"
        );
        // Tailscale itself is the problem: it says so, and no "Tailscale conectado".
        lost.unreachable = Some(Unreachable::Tailscale {
            problem: TailscaleProblem::Stopped,
        });
        lost.tailscale_vouches_for_silent_head = false;
        assert_eq!(transition_lines_in(Lang::Es, &lost).len(), 1);
        // A LAN head: no Tailscale line.
        let mut lan = status(Phase::Disconnecting);
        lan.head = Some("192.168.1.10".parse().expect("head"));
        lan.unreachable = Some(Unreachable::Refused);
        let lines = transition_lines_in(Lang::Es, &lan);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("⚠️ No puedo contactar al Head (192.168.1.10)."),
            "{lines:?}"
        );
        assert_eq!(daemon_started_line(Lang::Es), "🚀 Worker Daemon iniciado");
        assert_eq!(
            machine_line(Lang::Es, true, "MacBookAir10,1"),
            "📱 Worker Móvil Detectado (MacBookAir10,1)"
        );
    }

    #[test]
    fn every_log_line_has_its_own_spanish() {
        let pairs = |f: &dyn Fn(Lang) -> String| (f(Lang::En), f(Lang::Es));
        let mut all = vec![
            pairs(&daemon_started_line),
            pairs(&|l| machine_line(l, false, "iMac21,1")),
            pairs(&|l| ray_in_use_line(l, None)),
            pairs(&|l| ray_in_use_line(l, Some(("/opt/ray", None)))),
            pairs(&going_to_sleep_line),
            pairs(&|l| woke_line(l, 40)),
            pairs(&|l| drain_requested_line(l, &Ok(()))),
            pairs(&|l| drain_requested_line(l, &Err("x".into()))),
            pairs(&|l| orphan_line(l, 7, true)),
            pairs(&|l| orphan_line(l, 7, false)),
            pairs(&|l| demo_head_failed_line(l, "x")),
            pairs(&|l| install_failed_line(l, "x")),
            pairs(&|l| startup_failed_line_in(l, "x")),
            pairs(&|l| machine_line(l, true, "MacBookAir10,1")),
            pairs(&|l| dropped_log_lines_note(l, 3)),
            pairs(&|l| pid_file_not_written_line(l, "/x/worker.pid", "x")),
            pairs(&|l| machine_unwatched_line(l, "x")),
            pairs(&|l| sleep_by_clocks_line(l, None)),
            pairs(&|l| sleep_by_clocks_line(l, Some("x"))),
        ];
        for edit in [
            ConfigEdit::Invalid("x".into()),
            ConfigEdit::Removed,
            ConfigEdit::ReadableAgain,
            ConfigEdit::HeadRemoved,
            ConfigEdit::Applied("cpus = 2".into()),
            ConfigEdit::AtRestart("mode".into()),
            ConfigEdit::Polling {
                every_secs: 2,
                why: "x".into(),
            },
        ] {
            all.push(pairs(&|l| config_edit_line(l, &edit)));
        }
        for deadline in [true, false] {
            let note = LogNote::DrainEnded {
                tasks_finished: deadline,
                deadline_secs: 60,
            };
            all.push(pairs(&|l| log_note_in(l, &note)));
        }
        for phase in Phase::ALL {
            let mut s = status(phase);
            if phase == Phase::Error {
                // An error always has its fault.
                s.fault = Some(Fault::RayMissing {
                    path: "/opt/ray/bin/ray".into(),
                });
            }
            all.push(pairs(&|l| transition_lines_in(l, &s).join(" / ")));
        }
        for (en, es) in &all {
            assert_tidy_and_translated(en, es);
        }
    }

    #[test]
    fn the_machine_line_is_the_old_daemons_with_worker_on_a_desktop() {
        assert_eq!(
            machine_line(Lang::Es, true, "MacBookAir10,1"),
            "📱 Worker Móvil Detectado (MacBookAir10,1)"
        );
        assert_eq!(
            machine_line(Lang::Es, false, "iMac21,1"),
            "🖥️ Worker Detectado (iMac21,1)"
        );
    }

    #[test]
    fn a_search_cut_at_its_limit_says_how_many_machines_were_asked() {
        use crate::model::{FoundHead, TailnetFinds};
        let desktop = FoundHead {
            name: "desktop".into(),
            address: "100.64.0.1:6379".parse().expect("head"),
        };
        let cut = TailnetFinds {
            heads: vec![desktop],
            asked: 64,
            machines: 80,
        };
        assert_eq!(
            find_heads_report(Lang::En, &cut),
            [
                "100.64.0.1:6379\tdesktop",
                "(64 of 80 machines asked)",
                "Join one with `bittrader-worker head ADDRESS`."
            ]
        );
        let none = TailnetFinds {
            heads: Vec::new(),
            ..cut
        };
        assert_eq!(
            find_heads_report(Lang::Es, &none),
            [
                "Ninguna máquina de tu tailnet responde en el puerto de Ray.",
                "(64 de 80 máquinas consultadas)"
            ]
        );
        let all = TailnetFinds { asked: 80, ..none };
        assert_eq!(find_heads_report(Lang::En, &all).len(), 1);
    }

    #[test]
    fn a_refused_head_is_worded_as_ray_not_running() {
        let mut b = status(Phase::Disconnected);
        b.unreachable = Some(Unreachable::Refused);
        let line = transition_line(&b);
        assert!(line.contains("Ray is not running"), "{line}");
    }

    #[test]
    fn the_language_follows_the_locale() {
        assert_eq!(Lang::from_locale("es_ES.UTF-8"), Lang::Es);
        assert_eq!(Lang::from_locale("es-419"), Lang::Es);
        assert_eq!(Lang::from_locale("es"), Lang::Es);
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("estonian"), Lang::En);
    }

    #[test]
    fn spanish_lines_are_spanish() {
        assert_eq!(
            summary_in(Lang::Es, &status(Phase::Connected)),
            "Conectado a 100.64.0.1:6379 · 10 CPUs"
        );
        assert_eq!(summary_in(Lang::Es, &status(Phase::Paused)), "En pausa");
        let (title, _) = notice_in(Lang::Es, &Notice::Reconnected { away_secs: 120 });
        assert_eq!(title, "Worker reconectado");
    }

    #[test]
    fn one_cpu_is_singular() {
        let mut one = status(Phase::Connected);
        one.worker_cpus = Some(1);
        assert_eq!(
            transition_line(&one),
            "✅ Worker connected to the cluster with 1 CPU"
        );
        assert_eq!(worker_use(Lang::En, 1, None), "Offering 1 CPU");
        assert_eq!(
            worker_use(Lang::Es, 4, Some(12.0)),
            "Ofreciendo 4 CPUs · worker ocupado 12 %"
        );
    }

    fn every_failure() -> Vec<WorkerFailure> {
        let v = |s: &str| Some(s.to_string());
        vec![
            WorkerFailure::VersionMismatch {
                cluster: v("2.6.2"),
                this_machine: v("2.6.2"),
            },
            WorkerFailure::VersionMismatch {
                cluster: v("2.60.0"),
                this_machine: v("2.51.2"),
            },
            WorkerFailure::VersionMismatch {
                cluster: v("2.60.0"),
                this_machine: None,
            },
            WorkerFailure::VersionMismatch {
                cluster: None,
                this_machine: None,
            },
            WorkerFailure::VersionSkewSuspected {
                this_machine: v("2.51.2"),
            },
            WorkerFailure::VersionSkewSuspected { this_machine: None },
            WorkerFailure::MultiNodeDisabled,
            WorkerFailure::AuthRefused,
            WorkerFailure::HeadUnreachable,
            WorkerFailure::NodeMarkedDead,
            WorkerFailure::DidNotJoin { within_secs: 120 },
            WorkerFailure::ExitedSilently { code: Some(1) },
            WorkerFailure::ExitedSilently { code: None },
            WorkerFailure::Crashed {
                last_line: String::new(),
            },
            WorkerFailure::Crashed {
                last_line: "boom".into(),
            },
        ]
    }

    fn every_tailscale_problem() -> Vec<TailscaleProblem> {
        vec![
            TailscaleProblem::Stopped,
            TailscaleProblem::NeedsLogin,
            TailscaleProblem::HeadOffline {
                peer: "desktop".into(),
            },
            TailscaleProblem::HeadNotInTailnet,
            TailscaleProblem::NotInstalled,
            TailscaleProblem::NotAnswering,
        ]
    }

    /// Non-empty, one line, no doubled spaces (a slip in a `\` continuation shows as one).
    fn assert_tidy_and_translated(en: &str, es: &str) {
        assert!(!es.is_empty(), "empty Spanish for {en:?}");
        assert!(!es.contains("  ") && !es.contains('\n'), "{es:?}");
        assert_ne!(en, es, "not translated");
    }

    #[test]
    fn every_message_has_its_own_spanish() {
        let mut faults = vec![
            Fault::NoHead,
            Fault::RayMissing {
                path: "/opt/ray/bin/ray".into(),
            },
        ];
        for failure in every_failure() {
            assert_tidy_and_translated(
                &failure_message(Lang::En, &failure),
                &failure_message(Lang::Es, &failure),
            );
            faults.push(Fault::Worker {
                failure: failure.clone(),
            });
            faults.push(Fault::GaveUp {
                failures: 5,
                last: failure,
            });
        }
        for fault in &faults {
            assert_tidy_and_translated(
                &fault_message(Lang::En, fault),
                &fault_message(Lang::Es, fault),
            );
        }
        let mut whys = vec![
            Unreachable::TimedOut,
            Unreachable::Refused,
            Unreachable::NoRoute,
            Unreachable::NameNotResolved,
        ];
        for problem in every_tailscale_problem() {
            assert_tidy_and_translated(
                &tailscale_words(Lang::En, &problem),
                &tailscale_words(Lang::Es, &problem),
            );
            whys.push(Unreachable::Tailscale { problem });
        }
        for why in &whys {
            assert_tidy_and_translated(
                &unreachable_words(Lang::En, why),
                &unreachable_words(Lang::Es, why),
            );
        }
        // The OS's own words are quoted, not translated.
        let other = Unreachable::Other {
            detail: "Host is down (os error 64)".into(),
        };
        assert_eq!(
            unreachable_words(Lang::Es, &other),
            "Host is down (os error 64)"
        );
    }

    #[test]
    fn the_log_words_for_an_unreachable_head() {
        assert_eq!(
            unreachable_words(Lang::En, &Unreachable::Refused),
            "the head's machine is up but Ray is not running"
        );
    }

    #[test]
    fn some_spanish_sentences_exactly() {
        assert_eq!(
            tailscale_words(Lang::Es, &TailscaleProblem::Stopped),
            "Tailscale está detenido — abre Tailscale y conéctate"
        );
        assert_eq!(
            failure_message(
                Lang::Es,
                &WorkerFailure::VersionMismatch {
                    cluster: Some("2.60.0".into()),
                    this_machine: Some("2.51.2".into()),
                }
            ),
            "El head usa Ray 2.60.0 y este equipo 2.51.2 — ejecuta `bittrader-worker setup \
             --ray-version 2.60.0`."
        );
        assert_eq!(
            fault_message(
                Lang::Es,
                &Fault::RayMissing {
                    path: "/opt/ray/bin/ray".into()
                }
            ),
            "Ray no está instalado en este equipo (no se encuentra `/opt/ray/bin/ray`). \
             Ejecuta `bittrader-worker setup`."
        );
        let mut away = status(Phase::Disconnected);
        away.unreachable = Some(Unreachable::Tailscale {
            problem: TailscaleProblem::NeedsLogin,
        });
        assert_eq!(
            summary_in(Lang::Es, &away),
            "Head inalcanzable — Tailscale necesita que inicies sesión — abre Tailscale e \
             inicia sesión · reintentando"
        );
    }

    #[test]
    fn the_state_line_says_when_it_keeps_the_machine_awake() {
        let mut connected = status(Phase::Connected);
        connected.courtesy.keeping_awake = true;
        assert_eq!(
            summary_in(Lang::En, &connected),
            "Connected to 100.64.0.1:6379 · 10 CPUs · keeping this computer awake"
        );
        assert_eq!(
            summary_in(Lang::Es, &connected),
            "Conectado a 100.64.0.1:6379 · 10 CPUs · mantiene el equipo despierto"
        );
        assert_eq!(
            courtesy_lines(&connected)[0],
            "keep awake on power (holding idle sleep off now)"
        );
        connected.courtesy.keeping_awake = false;
        assert_eq!(
            summary_in(Lang::En, &connected),
            "Connected to 100.64.0.1:6379 · 10 CPUs"
        );
    }

    #[test]
    fn waiting_for_the_user_to_be_away_says_how_long() {
        let mut paused = status(Phase::Paused);
        paused.auto_pause = Some(AutoPause::UserPresent { away_minutes: 10 });
        assert_eq!(
            summary_in(Lang::En, &paused),
            "Paused — you are using this computer · contributes after 10 min without input"
        );
        assert_eq!(
            summary_in(Lang::Es, &paused),
            "En pausa — estás usando el equipo · contribuye tras 10 min sin teclado ni ratón"
        );
        paused.courtesy.only_when_idle_minutes = Some(10);
        assert_eq!(
            courtesy_lines(&paused)[2],
            "only when idle after 10 min without input"
        );
        paused.courtesy.idle_hint_never_set = true;
        assert!(courtesy_lines(&paused)[2].contains("counted as in use"));
        assert!(courtesy_lines_in(Lang::Es, &paused)[2].contains("se cuenta como en uso"));
        paused.courtesy.idle_hint_never_set = false;
        paused.courtesy.idle_unsupported = true;
        assert!(courtesy_lines(&paused)[2].contains("not supported here"));
        assert!(courtesy_lines_in(Lang::Es, &paused)[2].contains("no disponible aquí"));
        assert_eq!(
            courtesy_lines_in(Lang::Es, &status(Phase::Connected)),
            vec![
                "mantener despierto: con corriente (no lo impide ahora)",
                "pausa por temperatura: alto (ahora no se indica aquí)",
                "solo en reposo desactivado",
            ]
        );
        assert_eq!(
            courtesy_lines(&status(Phase::Connected))[2],
            "only when idle off"
        );
    }

    #[test]
    fn a_pause_for_heat_says_why_and_when_it_ends() {
        let mut paused = status(Phase::Paused);
        paused.auto_pause = Some(AutoPause::RunsHot {
            thermal: ThermalState::Serious,
            resume_after_secs: 300,
        });
        assert_eq!(
            summary_in(Lang::En, &paused),
            "Paused — the machine runs hot (serious) · resumes after 5 min cooler"
        );
        assert_eq!(
            summary_in(Lang::Es, &paused),
            "En pausa — el equipo está muy caliente (alto) · sigue tras 5 min más fresco"
        );
        let (title, body) = notice_in(Lang::Es, &Notice::CooledDown);
        assert_eq!(title, "El worker vuelve a contribuir");
        assert!(body.contains("enfriado"), "{body}");
        let (title, _) = notice_in(Lang::En, &Notice::CooledDown);
        assert_eq!(title, "Worker contributing again");
        paused.courtesy.thermal = Some(ThermalState::Critical);
        assert_eq!(
            courtesy_lines(&paused)[1],
            "pause at thermal serious (now critical)"
        );
        paused.courtesy.thermal = None;
        assert_eq!(
            courtesy_lines(&paused)[1],
            "pause at thermal serious (now not reported here)"
        );
    }

    #[test]
    fn a_spanish_version_mismatch_error_names_both_versions_and_setup() {
        let mut e = status(Phase::Error);
        e.fault = Some(Fault::Worker {
            failure: WorkerFailure::VersionMismatch {
                cluster: Some("2.60.0".into()),
                this_machine: Some("2.51.2".into()),
            },
        });
        let line = summary_in(Lang::Es, &e);
        assert!(line.starts_with("Error: El head usa Ray"), "{line}");
        assert!(line.contains("2.60.0") && line.contains("2.51.2"), "{line}");
        assert!(line.contains("`bittrader-worker setup"), "{line}");
        assert!(!line.contains("this machine"), "{line}");
    }

    #[test]
    fn spanish_notifications_explain_in_spanish() {
        let (_, body) = notice_in(
            Lang::Es,
            &Notice::HeadLost {
                why: Some(Unreachable::TimedOut),
            },
        );
        assert_eq!(
            body,
            "El head no responde (sin respuesta del head); se detuvo el worker. Volverá a unirse \
             solo."
        );
        let fault = Fault::GaveUp {
            failures: 5,
            last: WorkerFailure::AuthRefused,
        };
        let (title, body) = notice_in(Lang::Es, &Notice::NeedsAttention { fault });
        assert_eq!(title, "BitTrader Worker te necesita");
        assert!(
            body.starts_with("El worker falló 5 veces seguidas")
                && body.contains("auth_token_file")
                && body.ends_with("Marca Contribuir (o ejecuta `bittrader-worker resume`) para volver a intentarlo."),
            "{body}"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(42), "42 s");
        assert_eq!(duration_words(180), "3 min");
        assert_eq!(duration_words(7500), "2 h 5 min");
    }

    #[test]
    fn user_messages() {
        let m = WorkerFailure::VersionSkewSuspected {
            this_machine: Some("2.51.2".into()),
        }
        .user_message();
        assert_eq!(
            m,
            "The head could not hand this machine its session: that is what Ray does when the \
             head runs a different Ray version (this machine has 2.51.2). Run \
             `bittrader-worker setup` to install the head's version."
        );
        let m = WorkerFailure::VersionMismatch {
            cluster: Some("2.60.0".into()),
            this_machine: Some("2.51.2".into()),
        }
        .user_message();
        assert_eq!(
            m,
            "The head runs Ray 2.60.0, this machine 2.51.2 — run `bittrader-worker setup \
             --ray-version 2.60.0`."
        );
        let same = WorkerFailure::VersionMismatch {
            cluster: Some("2.6.2".into()),
            this_machine: Some("2.6.2".into()),
        }
        .user_message();
        assert!(same.contains("Python"), "{same}");
        assert!(WorkerFailure::AuthRefused
            .user_message()
            .contains("auth_token_file in config.toml"));
        assert!(WorkerFailure::NodeMarkedDead
            .user_message()
            .contains("rejoining"));
        assert!(WorkerFailure::MultiNodeDisabled
            .user_message()
            .contains("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1"));
        assert!(WorkerFailure::Crashed {
            last_line: "boom".into()
        }
        .user_message()
        .contains("boom"));
        for f in [
            WorkerFailure::VersionMismatch {
                cluster: None,
                this_machine: None,
            },
            WorkerFailure::VersionSkewSuspected { this_machine: None },
            WorkerFailure::HeadUnreachable,
            WorkerFailure::Crashed {
                last_line: String::new(),
            },
        ] {
            let m = f.user_message();
            assert!(
                !m.is_empty() && !m.contains("  ") && !m.contains('\n'),
                "{m:?}"
            );
        }
    }

    #[test]
    fn tailscale_problems_in_english() {
        assert_eq!(
            tailscale_words(Lang::En, &TailscaleProblem::Stopped),
            "Tailscale is stopped — open Tailscale and connect"
        );
        assert!(tailscale_words(Lang::En, &TailscaleProblem::NeedsLogin)
            .starts_with("Tailscale needs you to log in"));
    }

    #[test]
    fn an_offline_head_in_english() {
        let problem = TailscaleProblem::HeadOffline {
            peer: "desktop".into(),
        };
        assert_eq!(
            tailscale_words(Lang::En, &problem),
            "the head (desktop) is offline in Tailscale — check that it is on and connected"
        );
    }

    #[test]
    fn the_contribution_line_in_both_languages() {
        let summary = crate::model::ContributionSummary {
            today_cpu_secs: 3.2 * 3600.0,
            week_cpu_secs: 21.3 * 3600.0,
        };
        assert_eq!(
            contribution_line(Lang::En, &summary),
            "Today 3.2 CPU-h · 7 days 21 CPU-h"
        );
        assert_eq!(
            contribution_line(Lang::Es, &summary),
            "Hoy 3,2 CPU-h · 7 días 21 CPU-h"
        );
        assert_eq!(cpu_hours(Lang::En, 0.0), "0.0");
        assert_eq!(cpu_hours(Lang::En, 9.96 * 3600.0), "10");
    }

    #[test]
    fn the_polled_power_line_says_why_and_how_often() {
        let why = "Address family not supported by protocol (os error 97)";
        let every = std::time::Duration::from_secs(5);
        for lang in [Lang::En, Lang::Es] {
            let line = power_polled_line(lang, why, every);
            assert!(line.contains(why) && line.contains("5 s"), "{line}");
        }
    }
}
