//! Every sentence the user reads about the worker's state, in one place.
//!
//! The log keeps the old daemon's shape (`2026-01-26 10:00:08 - ✅ Worker connected to the
//! cluster with 10 CPUs`): one line per change of state, never one per probe.

use crate::supervisor::{AutoPause, Notice, Phase, Status};

/// The language of the menu, the tooltip and the notifications. The log stays in English, as
/// the old daemon's did, so that it reads the same whoever looks at it.
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

    /// The system's language: `LC_ALL`, `LC_MESSAGES`, `LANG` (the first set wins, as in
    /// POSIX); on macOS, where apps started from Finder get none of them, the user's
    /// `AppleLocale`.
    pub fn detect() -> Lang {
        for var in ["LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(value) = std::env::var(var) {
                if !value.is_empty() && value != "C" && value != "POSIX" {
                    return Lang::from_locale(&value);
                }
            }
        }
        #[cfg(target_os = "macos")]
        if let Ok(out) = std::process::Command::new("defaults")
            .args(["read", "-g", "AppleLocale"])
            .output()
        {
            return Lang::from_locale(&String::from_utf8_lossy(&out.stdout));
        }
        Lang::En
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

/// [`summary`] in `lang`. Error details (Ray's and the OS's) stay in English.
pub fn summary_in(lang: Lang, status: &Status) -> String {
    if lang == Lang::Es {
        return summary_es(status);
    }
    let head = status.head.as_deref().unwrap_or("no head");
    let cpus = status.worker_cpus.unwrap_or(status.cpus);
    let why = status
        .unreachable
        .as_ref()
        .map(|u| u.to_string())
        .unwrap_or_else(|| "no answer".to_string());
    match status.phase {
        Phase::Checking => format!("Checking whether the head {head} is reachable"),
        Phase::Starting => format!("Joining {head} with {}", cpu_count(cpus)),
        Phase::Connected => format!("Connected to {head} · {}", cpu_count(cpus)),
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
            Some(fault) => format!("Error: {}", fault.user_message()),
            None => "Error".to_string(),
        },
        Phase::ShuttingDown => "Shutting down".to_string(),
        Phase::Draining => "Finishing the running tasks, then pausing".to_string(),
    }
}

fn summary_es(status: &Status) -> String {
    let head = status.head.as_deref().unwrap_or("sin head");
    let cpus = status.worker_cpus.unwrap_or(status.cpus);
    let why = status
        .unreachable
        .as_ref()
        .map(|u| u.to_string())
        .unwrap_or_else(|| "sin respuesta".to_string());
    match status.phase {
        Phase::Checking => format!("Comprobando si el head {head} responde"),
        Phase::Starting => format!("Uniéndose a {head} con {}", cpu_count(cpus)),
        Phase::Connected => format!("Conectado a {head} · {}", cpu_count(cpus)),
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
            Some(fault) => format!("Error: {}", fault.user_message()),
            None => "Error".to_string(),
        },
        Phase::ShuttingDown => "Cerrando".to_string(),
        Phase::Draining => "Terminando las tareas en curso; luego, pausa".to_string(),
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
    }
}

/// The log line for a change from `previous` to `next`, or `None` when nothing worth a line
/// changed (the same phase, the same fault).
pub fn transition_line(previous: Option<&Status>, next: &Status) -> Option<String> {
    if let Some(previous) = previous {
        // The worker's CPUs matter only while it is part of the cluster; a worker that is
        // going away changes nothing worth a line.
        let cpus_matter = matches!(next.phase, Phase::Starting | Phase::Connected);
        let same = previous.phase == next.phase
            && previous.fault == next.fault
            && previous.auto_pause.map(|a| std::mem::discriminant(&a))
                == next.auto_pause.map(|a| std::mem::discriminant(&a))
            && (!cpus_matter || previous.worker_cpus == next.worker_cpus)
            && previous.head == next.head
            && (next.phase != Phase::Disconnected || previous.unreachable == next.unreachable);
        if same {
            return None;
        }
    }
    let head = next.head.as_deref().unwrap_or("no head");
    let cpus = next.worker_cpus.unwrap_or(next.cpus);
    let line = match next.phase {
        Phase::Checking => format!("🔎 Checking the head {head}"),
        Phase::Starting => format!("🚀 Starting the worker: {} for {head}", cpu_count(cpus)),
        Phase::Connected => format!(
            "✅ Worker connected to the cluster with {}",
            cpu_count(cpus)
        ),
        Phase::Disconnecting => format!("⚠️ {}", summary(next)),
        Phase::Disconnected => format!("🔌 {}", summary(next)),
        Phase::Reconnecting => format!("🔄 Reconnecting to {head}"),
        Phase::Stopping => "🛑 Stopping the worker".to_string(),
        Phase::Paused => format!("⏸️ {}", summary(next)),
        Phase::Error => format!("❌ {}", summary(next)),
        Phase::ShuttingDown => "👋 Shutting down".to_string(),
        Phase::Draining => {
            "⏳ Draining: no new tasks; pausing once the running ones finish".to_string()
        }
    };
    Some(line)
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
                match why {
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
                fault.user_message(),
            ),
            Notice::BatteryLow { percent } => (
                format!("Batería al {percent} %"),
                "El worker sigue contribuyendo; se pondrá en pausa si la batería sigue bajando. Conecta el cargador para seguir.".to_string(),
            ),
            Notice::AutoPaused { reason } => ("Worker en pausa".to_string(), auto_pause_words(Lang::Es, reason)),
            Notice::LidClosed => (
                "Tapa cerrada mientras contribuyes".to_string(),
                "El Mac se dormirá y el head seguirá solo; reintentará aquí las tareas que se pierdan.".to_string(),
            ),
        };
    }
    match notice {
        Notice::HeadLost { why } => (
            "Worker disconnected".to_string(),
            match why {
                Some(why) => format!("The head is unreachable ({why}); the worker was stopped. It will rejoin by itself."),
                None => "The head is unreachable; the worker was stopped. It will rejoin by itself.".to_string(),
            },
        ),
        Notice::Reconnected { away_secs } => (
            "Worker reconnected".to_string(),
            format!("Back in the cluster after {}.", duration_words(*away_secs)),
        ),
        Notice::NeedsAttention { fault } => {
            ("BitTrader Worker needs you".to_string(), fault.user_message())
        }
        Notice::BatteryLow { percent } => (
            format!("Battery at {percent} %"),
            "The worker keeps contributing and pauses if the battery keeps falling. Plug in to carry on.".to_string(),
        ),
        Notice::AutoPaused { reason } => ("Worker paused".to_string(), auto_pause_words(Lang::En, reason)),
        Notice::LidClosed => (
            "Lid closed while contributing".to_string(),
            "The Mac will sleep and the head carries on alone; tasks lost here are retried there.".to_string(),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::Unreachable;

    fn status(phase: Phase) -> Status {
        Status {
            phase,
            head: Some("100.64.0.1:6379".into()),
            cpus: 10,
            worker_cpus: Some(10),
            paused: false,
            ..Status::default()
        }
    }

    #[test]
    fn the_connected_line_keeps_the_old_daemons_words() {
        let line = transition_line(None, &status(Phase::Connected));
        assert_eq!(
            line.as_deref(),
            Some("✅ Worker connected to the cluster with 10 CPUs")
        );
    }

    #[test]
    fn no_line_when_nothing_changed() {
        let a = status(Phase::Connected);
        assert_eq!(transition_line(Some(&a), &a.clone()), None);
    }

    #[test]
    fn a_new_reason_while_disconnected_is_logged() {
        let mut a = status(Phase::Disconnected);
        a.unreachable = Some(Unreachable::TimedOut);
        let mut b = a.clone();
        b.unreachable = Some(Unreachable::Refused);
        let line = transition_line(Some(&a), &b).expect("a line");
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
            transition_line(None, &one).as_deref(),
            Some("✅ Worker connected to the cluster with 1 CPU")
        );
        assert_eq!(worker_use(Lang::En, 1, None), "Offering 1 CPU");
        assert_eq!(
            worker_use(Lang::Es, 4, Some(12.0)),
            "Ofreciendo 4 CPUs · worker ocupado 12 %"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(42), "42 s");
        assert_eq!(duration_words(180), "3 min");
        assert_eq!(duration_words(7500), "2 h 5 min");
    }
}
