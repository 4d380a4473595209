//! Every sentence the user reads, in English and Spanish, by where it goes: [`menu`] (the tray
//! and its dialogs), [`log`] (worker.log), [`notice`] (notifications), [`cli`] (what the commands
//! print) and [`page`] (the contribution page); this file holds the words they share.
//!
//! Kept in Rust so that a message without its Spanish does not compile: [`Lang::tr`] takes both.

pub mod cli;
pub mod doctor;
pub mod log;
pub mod menu;
pub mod notice;
pub mod page;

use crate::model::{AutoPause, Fault, TailscaleProblem, ThermalState, Unreachable, WorkerFailure};

/// The language of everything the user reads, one per process ([`Lang::current`]); Spanish since
/// the existing install speaks it (its log keeps the old bash daemon's phrases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    /// `en` or `es`, whichever is in this language: the one place a message picks it.
    pub fn tr<T>(self, en: impl Into<T>, es: impl Into<T>) -> T {
        match self {
            Lang::En => en.into(),
            Lang::Es => es.into(),
        }
    }

    /// From a POSIX locale (`es_ES.UTF-8`, `es`) or a macOS one (`es-419`); not Spanish: English.
    pub fn from_locale(name: &str) -> Lang {
        let lower = name.trim().to_ascii_lowercase();
        match lower.split(['_', '-', '.']).next() {
            Some("es") => Lang::Es,
            _ => Lang::En,
        }
    }

    /// The system's language: the first of `LC_ALL`, `LC_MESSAGES`, `LANG` that is set decides
    /// (as in POSIX: `LC_ALL=C` is English whatever `LANG` says); only when none is, the OS's
    /// setting (apps started from Finder get none of those variables).
    fn detect_from(
        var: impl Fn(&str) -> Option<String>,
        system: impl FnOnce() -> Option<String>,
    ) -> Lang {
        let set = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .find_map(|name| var(name).filter(|value| !value.is_empty()));
        match set {
            Some(value) => Lang::from_locale(&value),
            None => system().map_or(Lang::En, |locale| Lang::from_locale(&locale)),
        }
    }

    /// Detected once so that the tray, the log and the CLI of a process never disagree.
    pub fn current() -> Lang {
        static CURRENT: std::sync::OnceLock<Lang> = std::sync::OnceLock::new();
        let var = |name: &str| std::env::var(name).ok();
        *CURRENT.get_or_init(|| Lang::detect_from(var, sys_locale::get_locale))
    }
}

/// "1 CPU", "10 CPUs" (the same in Spanish).
/// The command that updates a copy installed with Homebrew's cask (the menu and `status`).
pub const BREW_UPGRADE: &str = "brew upgrade --cask bittrader-worker";

pub fn cpu_count(n: u32) -> String {
    match n {
        1 => "1 CPU".into(),
        _ => format!("{n} CPUs"),
    }
}

/// "45 s", "3 min", "2 h 5 min" (the same in Spanish).
pub fn duration_words(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// A clause that fits after "Head unreachable — "; an OS error's own words stay as they were.
pub fn unreachable_words(lang: Lang, why: &Unreachable) -> String {
    use Unreachable::*;
    match why {
        TimedOut => lang.tr("no answer from the head", "sin respuesta del head"),
        Refused => lang.tr(
            "the head's machine is up but Ray is not running",
            "el equipo del head está encendido, pero Ray no está en marcha",
        ),
        NoRoute => lang.tr(
            "no network route to the head",
            "no hay ruta de red hasta el head",
        ),
        LocalNetworkDenied => lang.tr(
            "macOS may be blocking this app from the local network — allow BitTrader Worker in \
             System Settings › Privacy & Security › Local Network",
            "macOS puede estar impidiendo a esta app el acceso a la red local — permite \
             BitTrader Worker en Ajustes del Sistema › Privacidad y seguridad › Red local",
        ),
        NameNotResolved => lang.tr(
            "the head's name does not resolve",
            "el nombre del head no se puede resolver",
        ),
        Tailscale { problem } => tailscale_words(lang, problem),
        PracticeHeadGone => lang.tr(
            "the practice head stopped — quit and reopen BitTrader Worker for a new one, or set \
             your own head",
            "el head de práctica se detuvo — cierra y vuelve a abrir BitTrader Worker para tener \
             uno nuevo, o configura tu propio head",
        ),
        Other { detail } => detail.clone(),
    }
}

pub(crate) fn tailscale_words(lang: Lang, problem: &TailscaleProblem) -> String {
    use TailscaleProblem::*;
    match problem {
        Stopped => lang.tr(
            "Tailscale is stopped — open Tailscale and connect",
            "Tailscale está detenido — abre Tailscale y conéctate",
        ),
        NeedsLogin => lang.tr(
            "Tailscale needs you to log in — open Tailscale and log in",
            "Tailscale necesita que inicies sesión — abre Tailscale e inicia sesión",
        ),
        HeadOffline { peer } => {
            let peer = printable(peer);
            lang.tr(
                format!(
                    "the head ({peer}) is offline in Tailscale — check that it is on and connected"
                ),
                format!(
                    "el head ({peer}) aparece desconectado en Tailscale — comprueba que esté \
                 encendido y conectado"
                ),
            )
        }
        HeadNotInTailnet => lang.tr(
            "the head's address is no machine of your Tailscale network — not joining whatever \
             answers there; check the head address",
            "la dirección del head no es de ninguna máquina de tu red Tailscale — no se une a lo \
             que responda ahí; revisa la dirección del head",
        ),
        NotInstalled => lang.tr(
            "the head is a Tailscale address and Tailscale is not installed here — install and \
             connect Tailscale",
            "el head es una dirección de Tailscale y Tailscale no está instalado aquí — instala \
             Tailscale y conéctate",
        ),
        NotAnswering => lang.tr(
            "Tailscale does not say it is connected — open Tailscale and check that it is on",
            "Tailscale no dice que esté conectado — abre Tailscale y comprueba que esté activo",
        ),
    }
}

pub fn fault_message(lang: Lang, fault: &Fault) -> String {
    match fault {
        Fault::NoHead => lang.tr(
            "No head address is set. Run `bittrader-worker head ADDRESS` (e.g. 100.64.0.1).",
            "No hay ninguna dirección del head configurada. Ejecuta `bittrader-worker head \
             DIRECCIÓN` (p. ej., 100.64.0.1).",
        ),
        Fault::RayMissing { path } => lang.tr(
            format!(
                "Ray is not installed here (`{path}` not found). Run `bittrader-worker setup`."
            ),
            format!(
                "Ray no está instalado en este equipo (no se encuentra `{path}`). Ejecuta \
                 `bittrader-worker setup`."
            ),
        ),
        Fault::Worker { failure } => failure_message(lang, failure),
        Fault::GaveUp { failures, last } => {
            let last = failure_message(lang, last);
            lang.tr(
                format!(
                    "The worker died {failures} times in a row; stopped retrying. Last error: \
                     {last} Tick Contribute (or run `bittrader-worker resume`) to try again."
                ),
                format!(
                    "El worker falló {failures} veces seguidas y se dejó de reintentar. Último \
                     error: {last} Marca Contribuir (o ejecuta `bittrader-worker resume`) para \
                     volver a intentarlo."
                ),
            )
        }
    }
}

/// What is wrong with the data folder or a file in it: the app and every command refuse it.
#[derive(Debug, Clone, Copy)]
pub enum FolderProblem<'a> {
    LinkAt(&'a str),
    NotAFolder(&'a str),
    OtherOwner { path: &'a str, owner: u32, you: u32 },
    OpenToOthers { path: &'a str, mode: u32 },
}

pub fn folder_problem(lang: Lang, problem: FolderProblem<'_>) -> String {
    match problem {
        FolderProblem::LinkAt(path) => lang.tr(
            format!(
                "{path} is a symbolic link, where the app keeps a file of its own: it is not \
                 followed. Remove it (`rm {path}`) and start again."
            ),
            format!(
                "{path} es un enlace simbólico, donde la app guarda un archivo propio: no se \
                 sigue. Bórralo (`rm {path}`) y vuelve a empezar."
            ),
        ),
        FolderProblem::NotAFolder(path) => lang.tr(
            format!(
                "{path} exists but is not a folder. Move it away, or set BITTRADER_WORKER_HOME \
                 to a folder of your own."
            ),
            format!(
                "{path} existe pero no es una carpeta. Muévelo a otro sitio, o indica en \
                 BITTRADER_WORKER_HOME una carpeta tuya."
            ),
        ),
        FolderProblem::OtherOwner { path, owner, you } => lang.tr(
            format!(
                "{path} belongs to another user (uid {owner}), not to you (uid {you}): it is not \
                 used. Remove it, or set BITTRADER_WORKER_HOME to a folder of your own."
            ),
            format!(
                "{path} pertenece a otro usuario (uid {owner}), no a ti (uid {you}): no se usa. \
                 Bórrala, o indica en BITTRADER_WORKER_HOME una carpeta tuya."
            ),
        ),
        FolderProblem::OpenToOthers { path, mode } => lang.tr(
            format!(
                "{path} is open to other users (mode {mode:o}), who could replace its files: it \
                 is not used. Run `chmod 700 {path}`, or set BITTRADER_WORKER_HOME to a new folder."
            ),
            format!(
                "{path} está abierta a otros usuarios (modo {mode:o}), que podrían cambiar sus \
                 archivos: no se usa. Ejecuta `chmod 700 {path}`, o indica en \
                 BITTRADER_WORKER_HOME una carpeta nueva."
            ),
        ),
    }
}

/// Ray's own last line, when quoted, stays as Ray wrote it.
pub fn failure_message(lang: Lang, failure: &WorkerFailure) -> String {
    use WorkerFailure::*;
    let see_output: &str = lang.tr(
        "See ray-worker.out in the worker's folder for its output.",
        "Mira ray-worker.out en la carpeta del worker para ver su salida.",
    );
    match failure {
        VersionMismatch {
            cluster: Some(head),
            this_machine: Some(mine),
        } if head == mine => lang.tr(
            format!(
                "The head and this machine both run Ray {head} but with different Python \
                 versions, and Ray refuses to mix them. Install the head's Python version here, \
                 then run `bittrader-worker setup --ray-version {head}`."
            ),
            format!(
                "El head y este equipo usan Ray {head}, pero con versiones de Python distintas, \
                 y Ray no permite mezclarlas. Instala aquí la versión de Python del head y luego \
                 ejecuta `bittrader-worker setup --ray-version {head}`."
            ),
        ),
        VersionMismatch {
            cluster: Some(head),
            this_machine,
        } => {
            let mine = this_machine.as_deref();
            lang.tr(
                format!(
                    "The head runs Ray {head}, this machine {} — run `bittrader-worker setup \
                     --ray-version {head}`.",
                    mine.unwrap_or("a different version")
                ),
                format!(
                    "El head usa Ray {head} y este equipo {} — ejecuta `bittrader-worker setup \
                     --ray-version {head}`.",
                    mine.unwrap_or("otra versión")
                ),
            )
        }
        VersionMismatch { cluster: None, .. } => lang.tr(
            "The head runs a different Ray (or Python) version than this machine — run \
             `bittrader-worker setup` to install the head's version.",
            "El head usa una versión de Ray (o de Python) distinta de la de este equipo — ejecuta \
             `bittrader-worker setup` para instalar la versión del head.",
        ),
        VersionSkewSuspected { this_machine } => {
            let mine = |has: &str| {
                this_machine
                    .as_ref()
                    .map_or(String::new(), |v| format!(" ({has} {v})"))
            };
            lang.tr(
                format!(
                    "The head could not hand this machine its session: that is what Ray does \
                     when the head runs a different Ray version{}. Run `bittrader-worker setup` \
                     to install the head's version.",
                    mine("this machine has")
                ),
                format!(
                    "El head no pudo pasarle su sesión a este equipo: es lo que hace Ray cuando \
                     el head usa otra versión de Ray{}. Ejecuta `bittrader-worker setup` para \
                     instalar la versión del head.",
                    mine("este equipo tiene la")
                ),
            )
        }
        MultiNodeDisabled => lang.tr(
            "Ray refuses to join a cluster from macOS or Windows unless \
             RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1 is set, and it was not set for this worker. Run \
             `bittrader-worker setup` and start the worker again.",
            "Ray no se une a un clúster desde macOS o Windows salvo que esté definida \
             RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=1, y no lo estaba para este worker. Ejecuta \
             `bittrader-worker setup` y vuelve a iniciar el worker.",
        ),
        AuthRefused => lang.tr(
            "The head refused this machine's Ray authentication token. Check auth_token_file in \
             config.toml: it must hold the head's token (`ray get-auth-token` on the head prints \
             it).",
            "El head rechazó el token de autenticación de Ray de este equipo. Revisa \
             auth_token_file en config.toml: debe contener el token del head (lo muestra `ray \
             get-auth-token` en el head).",
        ),
        HeadUnreachable => lang.tr(
            "Ray could not reach the head (refused or timed out). Check that Ray is running on \
             the head and that this machine can reach it; the worker retries on its own.",
            "Ray no pudo conectar con el head (conexión rechazada o sin respuesta). Comprueba que \
             Ray esté en marcha en el head y que este equipo llegue a él; el worker lo reintenta \
             solo.",
        ),
        NodeMarkedDead => lang.tr(
            "The head dropped this node after a network cut; rejoining.",
            "El head dio de baja este nodo tras un corte de red; volviendo a unirse.",
        ),
        DidNotJoin { within_secs } => lang.tr(
            format!("Ray did not join the cluster within {within_secs} s. {see_output}"),
            format!("Ray no se unió al cluster en {within_secs} s. {see_output}"),
        ),
        ExitedSilently { code: Some(code) } => lang.tr(
            format!("`ray start` exited with code {code} without saying why. {see_output}"),
            format!("`ray start` terminó con el código {code} sin decir por qué. {see_output}"),
        ),
        ExitedSilently { code: None } => lang.tr(
            format!("`ray start` was killed by a signal. {see_output}"),
            format!("`ray start` fue terminado por una señal. {see_output}"),
        ),
        Crashed { last_line } if last_line.is_empty() => lang.tr(
            format!("Ray stopped without saying why. {see_output}"),
            format!("Ray se detuvo sin decir por qué. {see_output}"),
        ),
        Crashed { last_line } => lang.tr(
            format!(
                "Ray stopped unexpectedly: {last_line}. See ray-worker.out in the worker's folder \
                 for the full output."
            ),
            format!(
                "Ray se detuvo de forma inesperada: {last_line}. Mira ray-worker.out en la \
                 carpeta del worker para ver la salida completa."
            ),
        ),
    }
}

pub fn auto_pause_words(lang: Lang, reason: &AutoPause) -> String {
    use AutoPause::*;
    match *reason {
        LowBattery { percent } => lang.tr(
            format!("battery at {percent} % · resumes on power or when charged enough"),
            format!(
                "batería al {percent} % · sigue al conectar el cargador o con carga suficiente"
            ),
        ),
        OnBattery => lang.tr(
            "on battery · contributes only on power",
            "con batería · solo contribuye conectado a la corriente",
        ),
        Asleep => lang.tr("the machine is asleep", "el equipo está dormido"),
        UserPresent { away_minutes } => {
            let away = duration_words(u64::from(away_minutes) * 60);
            lang.tr(
                format!("you are using this computer · contributes after {away} without input"),
                format!("estás usando el equipo · contribuye tras {away} sin teclado ni ratón"),
            )
        }
        RunsHot {
            thermal,
            resume_after_secs,
        } => {
            let thermal = thermal_words(lang, thermal);
            let after = duration_words(resume_after_secs);
            lang.tr(
                format!("the machine runs hot ({thermal}) · resumes after {after} cooler"),
                format!("el equipo está muy caliente ({thermal}) · sigue tras {after} más fresco"),
            )
        }
    }
}

/// A name from outside (a tailnet peer's, chosen by its owner) as it may be shown: each control
/// character (ESC, BEL, CR, LF, the C1 set…) written out as `\u{1b}`, so that it can neither
/// forge a line nor steer a terminal.
pub fn printable(name: &str) -> String {
    let shown = |c: char| match c.is_control() {
        true => c.escape_unicode().to_string(),
        false => c.to_string(),
    };
    name.chars().map(shown).collect()
}

/// Why a settings file is not read: not a regular file, or larger than 256 KiB.
pub fn settings_file_refused(lang: Lang) -> &'static str {
    lang.tr(
        "it is not a regular file of at most 256 KiB: replace it with a text file of the settings",
        "no es un archivo normal de 256 KiB como mucho: cámbielo por un archivo de texto con los \
         ajustes",
    )
}

/// A thermal state in a word or two.
pub fn thermal_words(lang: Lang, state: ThermalState) -> &'static str {
    use ThermalState::*;
    match state {
        Nominal => lang.tr("nominal", "normal"),
        Fair => lang.tr("fair", "templado"),
        Serious => lang.tr("serious", "alto"),
        Critical => lang.tr("critical", "crítico"),
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

    use super::cli::{courtesy_lines, find_heads_report, summary};
    use super::log::*;
    use super::notice::notice;
    use super::page::{contribution_line, cpu_hours};
    use super::*;
    use crate::model::{ChargeState, ConfigEdit, LogNote, Notice, Phase, Status};

    /// The English words for a failure, as the log and the CLI print them.
    trait UserMessage {
        fn user_message(&self) -> String;
    }

    impl UserMessage for WorkerFailure {
        fn user_message(&self) -> String {
            failure_message(Lang::En, self)
        }
    }

    /// The first English line for the state `next`.
    fn transition_line(next: &Status) -> String {
        transition_lines(Lang::En, next).remove(0)
    }

    fn skew() -> crate::model::PythonSkew {
        crate::model::PythonSkew {
            head: "3.11.7".into(),
            this_machine: "3.11.2".into(),
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
            transition_lines(Lang::Es, &mobile),
            ["✅ Worker Móvil conectado al cluster con 10 CPUs"]
        );
        // A desktop is a "Worker".
        assert_eq!(
            transition_lines(Lang::Es, &status(Phase::Connected)),
            ["✅ Worker conectado al cluster con 10 CPUs"]
        );
        assert_eq!(
            transition_lines(Lang::Es, &status(Phase::Starting)),
            ["🔗 Conectando a 100.64.0.1:6379..."]
        );
        // Tailscale vouches for the head (no Tailscale problem), the head does not answer.
        let mut lost = status(Phase::Disconnected);
        lost.unreachable = Some(Unreachable::TimedOut);
        lost.tailscale_vouches_for_silent_head = true;
        let lines = transition_lines(Lang::Es, &lost);
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
        assert_eq!(transition_lines(Lang::Es, &lost).len(), 1);
        // A LAN head: no Tailscale line.
        let mut lan = status(Phase::Disconnecting);
        lan.head = Some("192.168.1.10".parse().expect("head"));
        lan.unreachable = Some(Unreachable::Refused);
        let lines = transition_lines(Lang::Es, &lan);
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
            pairs(&|l| daemon_started_line(l).into()),
            pairs(&|l| machine_line(l, false, "iMac21,1")),
            pairs(&|l| log_note(l, &LogNote::RayInUse(None))),
            pairs(&|l| {
                let ray = crate::model::RayInUse {
                    path: "/opt/ray".into(),
                    version: None,
                };
                log_note(l, &LogNote::RayInUse(Some(ray)))
            }),
            pairs(&|l| going_to_sleep_line(l).into()),
            pairs(&|l| woke_line(l, 40)),
            pairs(&|l| drain_requested_line(l, &Ok(()))),
            pairs(&|l| drain_requested_line(l, &Err("x".into()))),
            pairs(&|l| orphan_line(l, Leftover::Worker, 7, true)),
            pairs(&|l| orphan_line(l, Leftover::Worker, 7, false)),
            pairs(&|l| demo_head_failed_line(l, "x")),
            pairs(&|l| install_failed_line(l, "x")),
            pairs(&|l| startup_failed_line(l, "x")),
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
            all.push(pairs(&|l| log_note(l, &note)));
        }
        for phase in Phase::ALL {
            let mut s = status(phase);
            if phase == Phase::Error {
                // An error always has its fault.
                s.fault = Some(Fault::RayMissing {
                    path: "/opt/ray/bin/ray".into(),
                });
            }
            all.push(pairs(&|l| transition_lines(l, &s).join(" / ")));
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
            summary(Lang::Es, &status(Phase::Connected)),
            "Conectado a 100.64.0.1:6379 · 10 CPUs"
        );
        assert_eq!(summary(Lang::Es, &status(Phase::Paused)), "En pausa");
        let (title, _) = notice(Lang::Es, &Notice::Reconnected { away_secs: 120 });
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
        assert_eq!(super::menu::worker_use(Lang::En, 1, None), "Offering 1 CPU");
        assert_eq!(
            super::menu::worker_use(Lang::Es, 4, Some(12)),
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

    /// Every message in both languages: each variant of what it words gives a tidy Spanish that
    /// differs from the English. The matches without a wildcard make a new variant fail to
    /// compile here until it is listed ("CPUs" and "OK" alone read alike in both).
    #[test]
    fn every_variant_of_every_message_is_worded_in_both_languages() {
        use super::cli::{self, DemoStep, SetupStep, StatusLine};
        use super::menu::{self, MenuWord, TrayFailure};
        use super::page::{self, PageWord};
        use crate::model::{FoundHead, InstallStep, NoBuild, RayInstall, ReplyNote, TailnetFinds};
        use crate::platform::LoginStatus;
        let mut all: Vec<(String, String)> = Vec::new();
        let mut push = |f: &dyn Fn(Lang) -> String| all.push((f(Lang::En), f(Lang::Es)));
        let head = FoundHead {
            name: "desktop".into(),
            address: "100.64.0.1:6379".parse().expect("head"),
        };
        let notices = [
            Notice::HeadLost { why: None },
            Notice::HeadLost {
                why: Some(Unreachable::NoRoute),
            },
            Notice::Reconnected { away_secs: 90 },
            Notice::NeedsAttention {
                fault: Fault::NoHead,
            },
            Notice::BatteryLow { percent: 20 },
            Notice::AutoPaused {
                reason: AutoPause::OnBattery,
            },
            Notice::LidClosed,
            Notice::RayInstalled {
                version: "2.60.0".into(),
            },
            Notice::RayInstallFailed { why: "x".into() },
            Notice::HeadFound { head: head.clone() },
            Notice::CooledDown,
            Notice::OpenedAgain {
                status: Box::new(status(Phase::Connected)),
            },
        ];
        // A new Notice fails to compile here until it is listed above.
        for n in &notices {
            match n {
                Notice::HeadLost { .. }
                | Notice::Reconnected { .. }
                | Notice::NeedsAttention { .. }
                | Notice::BatteryLow { .. }
                | Notice::AutoPaused { .. }
                | Notice::LidClosed
                | Notice::RayInstalled { .. }
                | Notice::RayInstallFailed { .. }
                | Notice::HeadFound { .. }
                | Notice::CooledDown
                | Notice::OpenedAgain { .. } => {}
            }
            push(&|l| notice(l, n).0);
            push(&|l| notice(l, n).1);
            push(&|l| notice_line(l, n));
        }
        for note in [
            LogNote::DrainEnded {
                tasks_finished: true,
                deadline_secs: 60,
            },
            LogNote::KeepAwakeRefused { why: "x".into() },
            LogNote::StateChanged(Box::new(status(Phase::Connected))),
            LogNote::ConfigEdit(ConfigEdit::Removed),
            LogNote::RayInUse(None),
            LogNote::PythonSkew(skew()),
            LogNote::UpdateCheckFailed { why: "x".into() },
        ] {
            match note {
                LogNote::DrainEnded { .. }
                | LogNote::KeepAwakeRefused { .. }
                | LogNote::StateChanged(_)
                | LogNote::ConfigEdit(_)
                | LogNote::RayInUse(_)
                | LogNote::PythonSkew(_)
                | LogNote::UpdateCheckFailed { .. } => {}
            }
            push(&|l| log_note(l, &note));
        }
        for reason in [
            AutoPause::LowBattery { percent: 9 },
            AutoPause::OnBattery,
            AutoPause::Asleep,
            AutoPause::RunsHot {
                thermal: ThermalState::Serious,
                resume_after_secs: 300,
            },
            AutoPause::UserPresent { away_minutes: 10 },
        ] {
            let mut paused = status(Phase::Paused);
            paused.auto_pause = Some(reason);
            push(&|l| summary(l, &paused));
        }
        for phase in Phase::ALL {
            for demo in [false, true] {
                let mut s = status(phase);
                s.demo = demo;
                s.fault = Some(Fault::NoHead);
                push(&|l| summary(l, &s));
            }
        }
        let unknown_ray = crate::model::RayInUse {
            path: "/opt/ray/bin/ray".into(),
            version: None,
        };
        for ray in [None, Some(&unknown_ray)] {
            push(&|l| menu::about_details(l, ray, crate::BUNDLE_ID));
        }
        use crate::model::Removed;
        for removed in [
            Removed::StoppedTheApp,
            Removed::LoginItem,
            Removed::LegacyLoginItem,
            Removed::Folder("/Users/me/.bittrader_worker".into()),
            Removed::FilesIn("/Volumes/data/bw".into(), true),
            Removed::FilesIn("/Volumes/data/bw".into(), false),
            Removed::Link("/Users/me/Library/Logs/BitTrader Worker".into()),
        ] {
            match removed {
                Removed::StoppedTheApp
                | Removed::LoginItem
                | Removed::LegacyLoginItem
                | Removed::Folder(_)
                | Removed::FilesIn(..)
                | Removed::Link(_) => {}
            }
            push(&|l| cli::uninstalled(l, &removed));
        }
        for kept in [
            None,
            Some(std::path::Path::new("/Users/me/.bittrader_worker")),
        ] {
            push(&|l| cli::uninstall_finished(l, kept));
        }
        use crate::model::{CliLinkRefused, CliLinked};
        let linked = CliLinked {
            link: "/usr/local/bin/bittrader-worker".into(),
            target: "/Applications/BitTrader Worker.app/Contents/MacOS/bittrader-worker".into(),
            replaced: None,
            on_path: true,
        };
        let moved = CliLinked {
            replaced: Some("/Volumes/Old/BitTrader Worker.app/Contents/MacOS/x".into()),
            on_path: false,
            ..linked.clone()
        };
        for linked in [linked, moved] {
            push(&|l| cli::cli_linked(l, &linked).replace('\n', " "));
        }
        for refused in [
            CliLinkRefused::NotALink { link: "/l".into() },
            CliLinkRefused::OtherLink {
                link: "/l".into(),
                target: "/bin/sh".into(),
            },
            CliLinkRefused::NoPermission {
                dir: "/d".into(),
                link: "/d/l".into(),
                target: "/t".into(),
            },
            CliLinkRefused::AdminCancelled,
            CliLinkRefused::NoHome,
            CliLinkRefused::ThisProgramUnknown { why: "x".into() },
            CliLinkRefused::Failed {
                path: "/l".into(),
                why: "x".into(),
            },
        ] {
            match refused {
                CliLinkRefused::NotALink { .. }
                | CliLinkRefused::OtherLink { .. }
                | CliLinkRefused::NoPermission { .. }
                | CliLinkRefused::AdminCancelled
                | CliLinkRefused::NoHome
                | CliLinkRefused::ThisProgramUnknown { .. }
                | CliLinkRefused::Failed { .. } => {}
            }
            push(&|l| cli::cli_link_refused(l, &refused));
        }
        {
            use crate::platform::LoginItemError::{self, *};
            let errors = [
                UnusableProgramPath {
                    path: "/x/bittrader-worker".into(),
                    why: "is relative",
                },
                Translocated {
                    path: "/private/var/folders/x/AppTranslocation/y".into(),
                },
                LegacyPresent {
                    path: "/Users/me/Library/LaunchAgents/com.bittrader.worker.plist".into(),
                    program: "/Users/me/.bittrader_worker/worker_daemon.sh".into(),
                    backup: "/Users/me/Library/LaunchAgents/x.legacy-backup".into(),
                },
                NotOurs {
                    path: "/Users/me/Library/LaunchAgents/com.bittrader.worker.plist".into(),
                    detail: "runs /bin/true".into(),
                },
                Io {
                    action: "write",
                    path: "/Users/me/Library/LaunchAgents".into(),
                    source: std::io::ErrorKind::PermissionDenied.into(),
                },
                Launchctl {
                    action: "bootstrap gui/501".into(),
                    detail: "Input/output error".into(),
                },
                NoHome,
            ];
            for error in &errors {
                match error {
                    UnusableProgramPath { .. }
                    | Translocated { .. }
                    | LegacyPresent { .. }
                    | NotOurs { .. }
                    | Io { .. }
                    | LoginItemError::Plist(_)
                    | Launchctl { .. }
                    | NoHome => {}
                }
                push(&|l| cli::login_item_error(l, error));
            }
        }
        push(&|l| cli::app_did_not_quit(l, "timed out"));
        let folder = std::path::Path::new("/Users/me/.bittrader_worker");
        push(&|l| cli::could_not_remove(l, folder, "Permission denied"));
        let mut quitting = status(Phase::ShuttingDown);
        quitting.quit_waits_for_tasks_secs = Some(15);
        push(&|l| summary(l, &quitting));
        use MenuWord::*;
        let menu_words = [
            Contribute,
            PauseAfterTasks,
            HeadAddress,
            SetHead,
            OpenDashboard,
            FindHeads,
            Searching,
            NoneFound,
            Contribution,
            OpenLog,
            OpenLogsFolder,
            StartAtLogin,
            CheckThisMac,
            InstallCli,
            Uninstall,
            UninstallAll,
            UninstallKeepData,
            About,
            Quit,
            HeadPrompt,
            HeadInvalid,
            Cancel,
            ReplaceLegacy,
            StartupFailed,
        ];
        for word in menu_words {
            match word {
                Cpus | Contribute | PauseAfterTasks | HeadAddress | SetHead | OpenDashboard
                | FindHeads | Searching | NoneFound | Contribution | OpenLog | OpenLogsFolder
                | StartAtLogin | CheckThisMac | InstallCli | Uninstall | UninstallAll
                | UninstallKeepData | About | Quit | HeadPrompt | HeadInvalid | Ok | Cancel
                | ReplaceLegacy | StartupFailed => {}
            }
            push(&|l| menu::word(l, word).into());
        }
        for homebrew in [false, true] {
            push(&|l| menu::update_item(l, "0.2.0", homebrew));
        }
        push(&|l| menu::brew_upgrade_body(l, "0.2.0"));
        for state in [
            ChargeState::Charging,
            ChargeState::Discharging,
            ChargeState::Full,
            ChargeState::NotCharging,
            ChargeState::Unknown,
        ] {
            for on_ac in [false, true] {
                let battery = crate::model::Battery { percent: 80, state };
                push(&|l| menu::battery_line(l, battery, on_ac));
                push(&|l| menu::power_source(l, on_ac).into());
            }
        }
        use PageWord::*;
        let page_words = [
            HtmlLang,
            Title,
            Subtitle,
            Today,
            Last7Days,
            Last30Days,
            PerDay,
            Timeline,
            Connected,
            PausedUser,
            PausedLowBattery,
            PausedOnBattery,
            PausedAsleep,
            PausedHot,
            PausedUserActive,
            Disconnected,
            NotRunning,
            Updated,
            Footnote,
        ];
        for word in page_words {
            match word {
                HtmlLang | Title | Subtitle | Today | Last7Days | Last30Days | PerDay
                | Timeline | Connected | PausedUser | PausedLowBattery | PausedOnBattery
                | PausedAsleep | PausedHot | PausedUserActive | Disconnected | NotRunning
                | Updated | Footnote => {}
            }
            push(&|l| page::word(l, word).into());
        }
        for day in 0..7 {
            push(&|l| page::weekday(l, day).into());
        }
        push(&|l| page::month_line(l, 7200.0));
        let update = crate::model::UpdateAvailable {
            version: "0.2.0".into(),
            page: "https://x/v0.2.0".into(),
            homebrew: false,
        };
        let brewed = crate::model::UpdateAvailable {
            homebrew: true,
            ..update.clone()
        };
        for line in [
            StatusLine::WorkerPid(7),
            StatusLine::NodeIp("100.64.0.2"),
            StatusLine::Ray {
                path: "/r",
                version: None,
            },
            StatusLine::PythonSkew(&skew()),
            StatusLine::Mode { mobile: true },
            StatusLine::Mode { mobile: false },
            StatusLine::Update(&update),
            StatusLine::Update(&brewed),
            StatusLine::Log("/w.log"),
        ] {
            push(&|l| cli::status_line(l, line));
        }
        for step in [
            SetupStep::NoHead,
            SetupStep::HeadRuns {
                host: "h",
                version: "2.60.0",
            },
            SetupStep::HeadSaidNoVersion {
                host: "h",
                shown: "x",
            },
            SetupStep::HeadNotAsked { shown: "x" },
            SetupStep::HeadPython { minor: 12 },
            SetupStep::CreatingVenv {
                venv: "/v",
                python: "3.12",
                path: Some("/p"),
            },
            SetupStep::CreatingVenv {
                venv: "/v",
                python: "3.12",
                path: None,
            },
            SetupStep::Installing { spec: "ray" },
            SetupStep::Ready {
                version: "2.60.0",
                path: "/r",
            },
        ] {
            push(&|l| cli::setup_line(l, step));
        }
        for step in [
            DemoStep::Starting { folder: "/d" },
            DemoStep::Joining {
                address: "127.0.0.1:6379",
                folder: "/d",
            },
            DemoStep::Stopping,
        ] {
            push(&|l| cli::demo_line(l, step).replace('\n', " "));
        }
        for login in [
            LoginStatus::Disabled,
            LoginStatus::Enabled {
                program: "/p".into(),
                is_this_program: true,
            },
            LoginStatus::Enabled {
                program: "/p".into(),
                is_this_program: false,
            },
            LoginStatus::Legacy {
                program: "/p".into(),
            },
            LoginStatus::Unrecognized { detail: "x".into() },
        ] {
            push(&|l| cli::login_item_status(l, &login).replace('\n', " "));
        }
        for on in [true, false] {
            push(&|l| cli::login_item_set(l, on).into());
        }
        for why in [
            NoBuild::IntelMac { ray: None },
            NoBuild::OldMacOs {
                ray: Some("2.60.0".into()),
                macos: "11.7".into(),
            },
            NoBuild::Platform { ray: None },
        ] {
            push(&|l| cli::no_build_message(l, &why));
        }
        for note in [
            ReplyNote::Stopped,
            ReplyNote::NotSaved {
                key: "cpus".into(),
                why: "x".into(),
            },
        ] {
            push(&|l| cli::reply_note(l, &note));
            push(&|l| not_saved_setting_line(l, &note));
        }
        for step in [
            InstallStep::Starting,
            InstallStep::FindingPython,
            InstallStep::CreatingVenv {
                python: "3.12".into(),
            },
            InstallStep::Downloading {
                package: "ray".into(),
            },
            InstallStep::Installing,
            InstallStep::Checking,
        ] {
            let install = RayInstall {
                version: None,
                step,
            };
            push(&|l| menu::ray_install_line(l, &install));
        }
        for note in [
            HistoryNote::Unreadable { error: "x" },
            HistoryNote::SetAside {
                error: "x",
                aside: "/a",
            },
            HistoryNote::NotSetAside {
                error: "x",
                why: "y",
            },
        ] {
            push(&|l| history_note(l, note));
        }
        let finds = TailnetFinds {
            heads: vec![head.clone()],
            asked: 3,
            machines: 9,
        };
        push(&|l| cli::find_heads_report(l, &finds).join(" / "));
        push(&|l| cli::head_saved(l, "h"));
        push(&|l| cli::history_unreadable(l, "x"));
        push(&|l| menu::worker_use(l, 4, Some(12)));
        push(&|l| menu::worker_use(l, 4, None));
        push(&|l| menu::cluster_line(l, 22.0, 2));
        push(&|l| menu::only_when_idle_line(l, true).into());
        push(&|l| menu::only_when_idle_line(l, false).into());
        push(&|l| menu::install_ray_item(l, None));
        push(&|l| menu::head_menu_title(l, None));
        push(&|l| menu::found_head_item(l, &head, true));
        push(&|l| menu::startup_failed_body(l, "x").replace("\n\n", " "));
        push(&|l| menu::tray_failed_line(l, TrayFailure::Icon, "x"));
        push(&|l| menu::tray_failed_line(l, TrayFailure::LoginItem, "x"));
        push(&|l| not_saved_line(l, "/h.json", "x"));
        push(&|l| orphan_line(l, Leftover::DemoHead, 7, true));
        push(&|l| orphan_line(l, Leftover::DemoHead, 7, false));
        push(&|l| form_factor_words(l, crate::platform::FormFactor::Unknown).into());
        for (en, es) in &all {
            assert_tidy_and_translated(en, es);
        }
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
            Unreachable::LocalNetworkDenied,
            Unreachable::NameNotResolved,
            Unreachable::PracticeHeadGone,
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
            summary(Lang::Es, &away),
            "Head inalcanzable — Tailscale necesita que inicies sesión — abre Tailscale e \
             inicia sesión · reintentando"
        );
    }

    #[test]
    fn the_state_line_says_when_it_keeps_the_machine_awake() {
        let mut connected = status(Phase::Connected);
        connected.courtesy.keeping_awake = true;
        assert_eq!(
            summary(Lang::En, &connected),
            "Connected to 100.64.0.1:6379 · 10 CPUs · keeping this computer awake"
        );
        assert_eq!(
            summary(Lang::Es, &connected),
            "Conectado a 100.64.0.1:6379 · 10 CPUs · mantiene el equipo despierto"
        );
        assert_eq!(
            courtesy_lines(Lang::En, &connected)[0],
            "keep awake on power (holding idle sleep off now)"
        );
        connected.courtesy.keeping_awake = false;
        assert_eq!(
            summary(Lang::En, &connected),
            "Connected to 100.64.0.1:6379 · 10 CPUs"
        );
    }

    #[test]
    fn waiting_for_the_user_to_be_away_says_how_long() {
        let mut paused = status(Phase::Paused);
        paused.auto_pause = Some(AutoPause::UserPresent { away_minutes: 10 });
        assert_eq!(
            summary(Lang::En, &paused),
            "Paused — you are using this computer · contributes after 10 min without input"
        );
        assert_eq!(
            summary(Lang::Es, &paused),
            "En pausa — estás usando el equipo · contribuye tras 10 min sin teclado ni ratón"
        );
        paused.courtesy.only_when_idle_minutes = Some(10);
        assert_eq!(
            courtesy_lines(Lang::En, &paused)[2],
            "only when idle after 10 min without input"
        );
        paused.courtesy.idle_hint_never_set = true;
        assert!(courtesy_lines(Lang::En, &paused)[2].contains("counted as in use"));
        assert!(courtesy_lines(Lang::Es, &paused)[2].contains("se cuenta como en uso"));
        paused.courtesy.idle_hint_never_set = false;
        paused.courtesy.idle_unsupported = true;
        assert!(courtesy_lines(Lang::En, &paused)[2].contains("not supported here"));
        assert!(courtesy_lines(Lang::Es, &paused)[2].contains("no disponible aquí"));
        assert_eq!(
            courtesy_lines(Lang::Es, &status(Phase::Connected)),
            vec![
                "mantener despierto: con corriente (no lo impide ahora)",
                "pausa por temperatura: alto (ahora no se indica aquí)",
                "solo en reposo desactivado",
            ]
        );
        assert_eq!(
            courtesy_lines(Lang::En, &status(Phase::Connected))[2],
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
            summary(Lang::En, &paused),
            "Paused — the machine runs hot (serious) · resumes after 5 min cooler"
        );
        assert_eq!(
            summary(Lang::Es, &paused),
            "En pausa — el equipo está muy caliente (alto) · sigue tras 5 min más fresco"
        );
        let (title, body) = notice(Lang::Es, &Notice::CooledDown);
        assert_eq!(title, "El worker vuelve a contribuir");
        assert!(body.contains("enfriado"), "{body}");
        let (title, _) = notice(Lang::En, &Notice::CooledDown);
        assert_eq!(title, "Worker contributing again");
        paused.courtesy.thermal = Some(ThermalState::Critical);
        assert_eq!(
            courtesy_lines(Lang::En, &paused)[1],
            "pause at thermal serious (now critical)"
        );
        paused.courtesy.thermal = None;
        assert_eq!(
            courtesy_lines(Lang::En, &paused)[1],
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
        let line = summary(Lang::Es, &e);
        assert!(line.starts_with("Error: El head usa Ray"), "{line}");
        assert!(line.contains("2.60.0") && line.contains("2.51.2"), "{line}");
        assert!(line.contains("`bittrader-worker setup"), "{line}");
        assert!(!line.contains("this machine"), "{line}");
    }

    #[test]
    fn spanish_notifications_explain_in_spanish() {
        let (_, body) = notice(
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
        let (title, body) = notice(Lang::Es, &Notice::NeedsAttention { fault });
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

    #[test]
    fn a_name_from_outside_cannot_forge_a_line_or_steer_the_terminal() {
        use crate::model::{FoundHead, Notice, TailnetFinds};
        let forged = "desktop\x1b[2J\x07\r\n100.64.0.9:6379\tbank\u{9b}31m\u{7f}";
        let head = FoundHead {
            name: forged.into(),
            address: "100.64.0.1:6379".parse().expect("head"),
        };
        let finds = TailnetFinds {
            heads: vec![head.clone()],
            asked: 1,
            machines: 1,
        };
        let offline = Unreachable::Tailscale {
            problem: TailscaleProblem::HeadOffline {
                peer: forged.into(),
            },
        };
        for lang in [Lang::En, Lang::Es] {
            let (title, body) = notice::notice(lang, &Notice::HeadFound { head: head.clone() });
            let shown = [
                cli::find_heads_report(lang, &finds).join("\n"),
                menu::found_head_item(lang, &head, true),
                title + &body,
                unreachable_words(lang, &offline),
            ];
            for text in shown {
                let controls: Vec<char> = text.chars().filter(|c| c.is_control()).collect();
                // The report's own lines and columns are its only ones.
                assert!(
                    controls.iter().all(|c| *c == '\n' || *c == '\t'),
                    "{text:?}"
                );
                assert!(
                    text.contains("desktop\\u{1b}[2J\\u{7}\\u{d}\\u{a}100.64"),
                    "{text}"
                );
            }
            assert_eq!(cli::find_heads_report(lang, &finds).len(), 2);
        }
    }
}
