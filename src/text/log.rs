//! worker.log's lines: `2026-01-26 10:00:08 - ✅ Worker connected to the cluster with 10 CPUs`,
//! one per change of state, never one per probe. In Spanish they are the old bash daemon's
//! phrases where it had one (its users were told to look for them).

use super::{cli, cpu_count, notice::notice, unreachable_words, Lang};
use crate::model::{LogNote, Notice, Phase, ReplyNote, Status};
use crate::platform::FormFactor;

/// The lines for a change from `previous` to `next` (none when nothing worth a line changed).
/// A head Tailscale vouches for but that does not answer gets a second line, as the old daemon
/// wrote (`ℹ️ Tailscale conectado (…), pero ping falló.`).
pub fn transition_lines(lang: Lang, previous: Option<&Status>, next: &Status) -> Vec<String> {
    if let Some(previous) = previous {
        // The worker's CPUs matter only while it is part of the cluster.
        let cpus_matter = matches!(next.phase, Phase::Starting | Phase::Connected);
        let same = previous.phase == next.phase
            && previous.fault == next.fault
            && previous.auto_pause.map(|a| std::mem::discriminant(&a))
                == next.auto_pause.map(|a| std::mem::discriminant(&a))
            && (!cpus_matter || previous.worker_cpus == next.worker_cpus)
            && previous.head == next.head
            && (next.phase != Phase::Disconnected || previous.unreachable == next.unreachable);
        if same {
            return Vec::new();
        }
    }
    let head = next.head.as_ref().map(|h| h.to_string());
    let host = next.head.as_ref().map(|h| h.host.clone());
    let cpus = cpu_count(next.worker_cpus.unwrap_or(next.cpus));
    let summary = cli::summary(lang, next);
    let why = next
        .unreachable
        .as_ref()
        .map(|u| unreachable_words(lang, u));
    let vouched = next.tailscale_vouches_for_silent_head && next.head.is_some() && why.is_some();
    use Phase::*;
    let (line, tailscale) = match lang {
        Lang::En => {
            let head = head.unwrap_or_else(|| "no head".into());
            let line = match next.phase {
                Checking => format!("🔎 Checking the head {head}"),
                Starting => format!("🚀 Starting the worker: {cpus} for {head}"),
                Connected => format!("✅ Worker connected to the cluster with {cpus}"),
                Disconnecting => format!("⚠️ {summary}"),
                Disconnected => format!("🔌 {summary}"),
                Reconnecting => format!("🔄 Reconnecting to {head}"),
                Stopping => "🛑 Stopping the worker".into(),
                Paused => format!("⏸️ {summary}"),
                Error => format!("❌ {summary}"),
                ShuttingDown => "👋 Shutting down".into(),
                Draining => {
                    "⏳ Draining: no new tasks; pausing once the running ones finish".into()
                }
            };
            let tailscale = vouched.then(|| {
                format!(
                    "ℹ️ Tailscale is connected ({} online: {}), but the head does not answer",
                    host.unwrap_or_default(),
                    why.unwrap_or_default()
                )
            });
            (line, tailscale)
        }
        Lang::Es => {
            let head = head.unwrap_or_else(|| "sin head".into());
            let host = host.unwrap_or_else(|| "sin head".into());
            let why = why.unwrap_or_else(|| "sin respuesta".into());
            let worker = if next.mobile {
                "Worker Móvil"
            } else {
                "Worker"
            };
            let line = match next.phase {
                Checking => format!("🔎 Comprobando el head {head}"),
                Starting => format!("🔗 Conectando a {head}..."),
                Connected => format!("✅ {worker} conectado al cluster con {cpus}"),
                Disconnecting => format!(
                    "⚠️ No puedo contactar al Head ({host}). Motivo: {why} · se mantiene el \
                     worker un momento"
                ),
                Disconnected => {
                    format!("⚠️ No puedo contactar al Head ({host}). Motivo: {why} · reintentando")
                }
                Reconnecting => format!("🔄 Reconectando con {head}"),
                Stopping => "🛑 Deteniendo el worker".into(),
                Paused => format!("⏸️ {summary}"),
                Error => format!("❌ {summary}"),
                ShuttingDown => "👋 Cerrando".into(),
                Draining => {
                    "⏳ Drenando: sin tareas nuevas; pausa cuando terminen las que están en curso"
                        .into()
                }
            };
            let tailscale = vouched.then(|| {
                format!("ℹ️ Tailscale conectado ({host} en línea: {why}), pero ping falló.")
            });
            (line, tailscale)
        }
    };
    [Some(line), tailscale].into_iter().flatten().collect()
}

/// A line about something no state change shows.
pub fn log_note(lang: Lang, note: &LogNote) -> String {
    use LogNote::*;
    match lang {
        Lang::En => match note {
            DrainEnded {
                tasks_finished: true,
                ..
            } => "⏳ Drained: the running tasks finished".into(),
            DrainEnded { deadline_secs, .. } => format!(
                "⏳ Drain deadline ({deadline_secs} s) passed with tasks still running; stopping \
                 (Ray retries them on other nodes; tasks pinned to this one wait for it)"
            ),
            KeepAwakeRefused { why } => format!(
                "⚠️ keep_awake: the system refused to hold idle sleep off ({why}); this computer \
                 may sleep while contributing"
            ),
        },
        Lang::Es => match note {
            DrainEnded {
                tasks_finished: true,
                ..
            } => "⏳ Drenado: terminaron las tareas en curso".into(),
            DrainEnded { deadline_secs, .. } => format!(
                "⏳ Pasó el plazo del drenado ({deadline_secs} s) con tareas aún en curso; se \
                 detiene (Ray las reintenta en otros nodos; las fijadas a este lo esperan)"
            ),
            KeepAwakeRefused { why } => format!(
                "⚠️ keep_awake: el sistema no permitió mantener el equipo despierto ({why}); puede \
                 dormirse mientras contribuye"
            ),
        },
    }
}

/// A notification, as the log keeps it.
pub fn notice_line(lang: Lang, notice_: &Notice) -> String {
    let (title, body) = notice(lang, notice_);
    format!("🔔 {title}: {body}")
}

/// A setting took effect but could not be written to config.toml (the reply's words).
pub fn not_saved_setting_line(lang: Lang, note: &ReplyNote) -> String {
    format!("⚠️ {}", cli::reply_note(lang, note))
}

/// Something went wrong that the error's own words (`why`) say.
pub fn warning_line(why: &str) -> String {
    format!("⚠️ {why}")
}

/// A file (history.json) could not be written.
pub fn not_saved_line(lang: Lang, path: &str, why: &str) -> String {
    match lang {
        Lang::En => format!("⚠️ Could not save {path}: {why}"),
        Lang::Es => format!("⚠️ No se pudo guardar {path}: {why}"),
    }
}

/// What loading history.json had to do.
#[derive(Debug, Clone, Copy)]
pub enum HistoryNote<'a> {
    /// It cannot be read (`error`): nothing is saved until a restart.
    Unreadable { error: &'a str },
    /// It is no history (`error`) and was moved to `aside`.
    SetAside { error: &'a str, aside: &'a str },
    /// It is no history (`error`) and could not be moved aside (`why`).
    NotSetAside { error: &'a str, why: &'a str },
}

/// The line for `note`.
pub fn history_note(lang: Lang, note: HistoryNote<'_>) -> String {
    use HistoryNote::*;
    match lang {
        Lang::En => match note {
            Unreadable { error } => format!(
                "⚠️ {error}: the contribution is counted from now on but not saved until \
                 BitTrader Worker restarts"
            ),
            SetAside { error, aside } => {
                format!("⚠️ {error}: moved to {aside} and a new history begun")
            }
            NotSetAside { error, why } => format!(
                "⚠️ {error}, and it could not be moved aside ({why}): it is left as it is and \
                 nothing is saved until BitTrader Worker restarts"
            ),
        },
        Lang::Es => match note {
            Unreadable { error } => format!(
                "⚠️ {error}: la contribución se cuenta desde ahora, pero no se guarda hasta que \
                 BitTrader Worker se reinicie"
            ),
            SetAside { error, aside } => {
                format!("⚠️ {error}: se movió a {aside} y se empieza un historial nuevo")
            }
            NotSetAside { error, why } => format!(
                "⚠️ {error}, y no se pudo apartar ({why}): se deja como está y no se guarda nada \
                 hasta que BitTrader Worker se reinicie"
            ),
        },
    }
}

/// The app could not start (`why` stays in the error's own words).
pub fn startup_failed_line(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!("❌ Could not start: {why}"),
        Lang::Es => format!("❌ No se pudo iniciar: {why}"),
    }
}

/// The first line of a start: the old daemon's `🚀 Worker Daemon iniciado`.
pub fn daemon_started_line(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "🚀 Worker daemon started",
        Lang::Es => "🚀 Worker Daemon iniciado",
    }
}

/// Which mode the machine runs in and what told (`detail`: the model identifier, else
/// [`form_factor_words`]): the old daemon's `📱 Worker Móvil Detectado (…)`.
pub fn machine_line(lang: Lang, mobile: bool, detail: &str) -> String {
    match lang {
        Lang::En if mobile => format!("📱 Mobile worker detected ({detail})"),
        Lang::En => format!("🖥️ Desktop worker detected ({detail})"),
        Lang::Es if mobile => format!("📱 Worker Móvil Detectado ({detail})"),
        Lang::Es => format!("🖥️ Worker Detectado ({detail})"),
    }
}

/// What kind of machine this is, for [`machine_line`] when its model is not known.
pub fn form_factor_words(lang: Lang, form_factor: FormFactor) -> &'static str {
    use FormFactor::*;
    match lang {
        Lang::En => match form_factor {
            Laptop => "a laptop",
            Desktop => "a desktop",
            Unknown => "kind of machine unknown",
        },
        Lang::Es => match form_factor {
            Laptop => "un portátil",
            Desktop => "un equipo de sobremesa",
            Unknown => "tipo de equipo desconocido",
        },
    }
}

/// The `ray` the worker runs (its path and version), or that none was found.
pub fn ray_in_use_line(lang: Lang, ray: Option<(&str, Option<&str>)>) -> String {
    match lang {
        Lang::En => match ray {
            Some((path, version)) => {
                format!("🐍 Ray: {path} ({})", version.unwrap_or("version unknown"))
            }
            None => "🐍 Ray: not found".into(),
        },
        Lang::Es => match ray {
            Some((path, version)) => {
                format!(
                    "🐍 Ray: {path} ({})",
                    version.unwrap_or("versión desconocida")
                )
            }
            None => "🐍 Ray: no encontrado".into(),
        },
    }
}

/// The OS does not signal power changes (`why`): the power is read every `every` instead.
pub fn power_polled_line(lang: Lang, why: &str, every: std::time::Duration) -> String {
    let secs = every.as_secs();
    match lang {
        Lang::En => format!(
            "🔋 Power changes are not signalled here ({why}): the power is read every {secs} s"
        ),
        Lang::Es => format!(
            "🔋 Aquí el sistema no avisa de los cambios de alimentación ({why}): se lee cada \
             {secs} s"
        ),
    }
}

/// Before the first line written after some could not be (tests/lab_faults.rs looks for the
/// English).
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
pub fn going_to_sleep_line(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "💤 The machine is going to sleep",
        Lang::Es => "💤 El equipo se va a dormir",
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
    match lang {
        Lang::En => match outcome {
            Ok(()) => {
                "⏳ The head stopped sending this node tasks; waiting for the running ones".into()
            }
            Err(why) => format!("⏳ Drain not accepted ({why}); stopping now"),
        },
        Lang::Es => match outcome {
            Ok(()) => "⏳ El head dejó de enviar tareas a este nodo; esperando a las que están en \
                 curso"
                .into(),
            Err(why) => format!("⏳ Drenado no aceptado ({why}); se detiene ya"),
        },
    }
}

/// What an earlier run can leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    /// The Ray worker.
    Worker,
    /// The demo's local Ray head.
    DemoHead,
}

/// `what` an earlier run left behind was stopped (`stopped`), or pid `pid` was left alone
/// because it is no longer that.
pub fn orphan_line(lang: Lang, what: Leftover, pid: u32, stopped: bool) -> String {
    match lang {
        Lang::En => {
            let what = match what {
                Leftover::Worker => "the worker",
                Leftover::DemoHead => "the demo head",
            };
            if stopped {
                format!("🧹 Stopped {what} (pid {pid}) left behind by an earlier run")
            } else {
                format!("Left pid {pid} alone: it is no longer {what} an earlier run started")
            }
        }
        Lang::Es => {
            let what = match what {
                Leftover::Worker => "el worker",
                Leftover::DemoHead => "el head de demostración",
            };
            if stopped {
                format!("🧹 Detenido {what} (pid {pid}) que dejó una ejecución anterior")
            } else {
                format!("Se deja en paz el pid {pid}: ya no es {what} que inició una ejecución anterior")
            }
        }
    }
}

/// A pid file (`path`) names no process group of ours: left alone.
pub fn foreign_pid_file_line(lang: Lang, path: &str) -> String {
    match lang {
        Lang::En => format!("Left {path} alone: it does not name a process group of ours"),
        Lang::Es => format!("Se deja en paz {path}: no nombra un grupo de procesos nuestro"),
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

/// What a hand edit of config.toml came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigEdit<'a> {
    /// The file does not read (`problem`: what is wrong, naming the key).
    Invalid(&'a str),
    /// The file was removed.
    Removed,
    /// The file reads again after a problem.
    ReadableAgain,
    /// `head` was removed from the file.
    HeadRemoved,
    /// These settings (`key = value, …`) were applied.
    Applied(&'a str),
    /// These keys take effect at the next start.
    AtRestart(&'a str),
    /// The OS does not report changes to the data folder (`why`: what failed): the file is
    /// looked at every `every_secs` seconds instead.
    Polling { every_secs: u64, why: &'a str },
}

/// The line for a hand edit of config.toml.
pub fn config_edit_line(lang: Lang, edit: ConfigEdit<'_>) -> String {
    use ConfigEdit::*;
    match lang {
        Lang::En => match edit {
            Invalid(problem) => format!(
                "⚠️ {problem}: this edit is not applied; the running settings stay as they were"
            ),
            Removed => "⚠️ config.toml was removed: the running settings stay; the next change \
                 from the menu or the CLI writes it again"
                .into(),
            ReadableAgain => "✏️ config.toml is readable again".into(),
            HeadRemoved => "✏️ config.toml: `head` removed; the worker keeps its head until \
                 BitTrader Worker restarts"
                .into(),
            Applied(what) => format!("✏️ config.toml edited: {what} applied"),
            AtRestart(keys) => {
                format!("✏️ config.toml edited: {keys} take effect when BitTrader Worker restarts")
            }
            Polling { every_secs, why } => format!(
                "✏️ config.toml: the system does not report changes to its folder ({why}); hand \
                 edits are picked up every {every_secs} s"
            ),
        },
        Lang::Es => {
            match edit {
                Invalid(problem) => format!(
                "⚠️ {problem}: este cambio no se aplica; los ajustes en uso siguen como estaban"
            ),
                Removed => "⚠️ Se borró config.toml: los ajustes en uso se mantienen; el próximo \
                 cambio desde el menú o la CLI lo vuelve a escribir"
                    .into(),
                ReadableAgain => "✏️ config.toml vuelve a poder leerse".into(),
                HeadRemoved => "✏️ config.toml: se quitó `head`; el worker mantiene su head hasta \
                 que BitTrader Worker se reinicie"
                    .into(),
                Applied(what) => format!("✏️ config.toml editado: aplicado {what}"),
                AtRestart(keys) => {
                    format!("✏️ config.toml editado: {keys} se aplica cuando BitTrader Worker se reinicie")
                }
                Polling { every_secs, why } => format!(
                "✏️ config.toml: el sistema no avisa de los cambios en su carpeta ({why}); los \
                 cambios a mano se leen cada {every_secs} s"
            ),
            }
        }
    }
}
