//! worker.log's lines: `2026-01-26 10:00:08 - ✅ Worker connected to the cluster with 10 CPUs`,
//! one per change of state, never one per probe. In Spanish they are the old bash daemon's
//! phrases where it had one (its users were told to look for them).

use super::cli::{self, head_words, while_unreachable, why_words};
use super::{cpu_count, notice::notice, Lang};
use crate::model::{ConfigEdit, LogNote, Notice, Phase, ReplyNote, Status};
use crate::platform::FormFactor;

/// The lines for the state `next`. A head Tailscale vouches for but that does not answer gets a
/// second line, as the old daemon wrote (`ℹ️ Tailscale conectado (…), pero ping falló.`).
pub fn transition_lines(lang: Lang, next: &Status) -> Vec<String> {
    let (head, why) = (head_words(lang, next), why_words(lang, next));
    let host = next.head.as_ref().map_or(head.clone(), |h| h.host.clone());
    let cpus = cpu_count(next.worker_cpus.unwrap_or(next.cpus));
    let summary = cli::summary(lang, next);
    let mobile = if next.mobile { " Móvil" } else { "" };
    use Phase::*;
    let line = match next.phase {
        Checking => lang.tr(
            format!("🔎 Checking the head {head}"),
            format!("🔎 Comprobando el head {head}"),
        ),
        Starting => lang.tr(
            format!("🚀 Starting the worker: {cpus} for {head}"),
            format!("🔗 Conectando a {head}..."),
        ),
        Connected => lang.tr(
            format!("✅ Worker connected to the cluster with {cpus}"),
            format!("✅ Worker{mobile} conectado al cluster con {cpus}"),
        ),
        Disconnecting | Disconnected => {
            let sign = match next.phase {
                Disconnecting => "⚠️",
                _ => "🔌",
            };
            let then = while_unreachable(lang, next);
            lang.tr(
                format!("{sign} {summary}"),
                format!("⚠️ No puedo contactar al Head ({host}). Motivo: {why} · {then}"),
            )
        }
        Reconnecting => lang.tr(
            format!("🔄 Reconnecting to {head}"),
            format!("🔄 Reconectando con {head}"),
        ),
        Stopping => format!("🛑 {summary}"),
        Paused => format!("⏸️ {summary}"),
        Error => format!("❌ {summary}"),
        ShuttingDown => format!("👋 {summary}"),
        Draining => lang.tr(
            "⏳ Draining: no new tasks; pausing once the running ones finish",
            "⏳ Drenando: sin tareas nuevas; pausa cuando terminen las que están en curso",
        ),
    };
    let vouched = next.tailscale_vouches_for_silent_head && next.head.is_some();
    let tailscale = (vouched && next.unreachable.is_some()).then(|| {
        lang.tr(
            format!(
                "ℹ️ Tailscale is connected ({host} online: {why}), but the head does not answer"
            ),
            format!("ℹ️ Tailscale conectado ({host} en línea: {why}), pero ping falló."),
        )
    });
    [Some(line), tailscale].into_iter().flatten().collect()
}

pub fn log_note(lang: Lang, note: &LogNote) -> String {
    use LogNote::*;
    match note {
        StateChanged(status) => transition_lines(lang, status).join("\n"),
        ConfigEdit(edit) => config_edit_line(lang, edit),
        RayInUse(Some(ray)) => {
            let version = ray.version.as_deref();
            format!("🐍 Ray: {}", cli::ray_at(lang, &ray.path, version))
        }
        RayInUse(None) => lang.tr("🐍 Ray: not found", "🐍 Ray: no encontrado"),
        PythonSkew(skew) => format!("🐍 {}", cli::python_skew(lang, skew)),
        DrainEnded {
            tasks_finished: true,
            ..
        } => lang.tr(
            "⏳ Drained: the running tasks finished",
            "⏳ Drenado: terminaron las tareas en curso",
        ),
        DrainEnded { deadline_secs, .. } => lang.tr(
            format!(
                "⏳ Drain deadline ({deadline_secs} s) passed with tasks still running; stopping \
                 (Ray retries them on other nodes; tasks pinned to this one wait for it)"
            ),
            format!(
                "⏳ Pasó el plazo del drenado ({deadline_secs} s) con tareas aún en curso; se \
                 detiene (Ray las reintenta en otros nodos; las fijadas a este lo esperan)"
            ),
        ),
        KeepAwakeRefused { why } => lang.tr(
            format!(
                "⚠️ keep_awake: the system refused to hold idle sleep off ({why}); this computer \
                 may sleep while contributing"
            ),
            format!(
                "⚠️ keep_awake: el sistema no permitió mantener el equipo despierto ({why}); puede \
                 dormirse mientras contribuye"
            ),
        ),
        UpdateCheckFailed { why } => lang.tr(
            format!(
                "⚠️ Could not ask the releases feed for a newer version ({why}); said once, tried \
                 again daily"
            ),
            format!(
                "⚠️ No se pudo consultar si hay una versión nueva ({why}); se dice una vez y se \
                 vuelve a intentar cada día"
            ),
        ),
    }
}

pub fn notice_line(lang: Lang, notice_: &Notice) -> String {
    let (title, body) = notice(lang, notice_);
    format!("🔔 {title}: {body}")
}

pub fn not_saved_setting_line(lang: Lang, note: &ReplyNote) -> String {
    format!("⚠️ {}", cli::reply_note(lang, note))
}

pub fn warning_line(why: &str) -> String {
    format!("⚠️ {why}")
}

pub fn not_saved_line(lang: Lang, path: &str, why: &str) -> String {
    lang.tr(
        format!("⚠️ Could not save {path}: {why}"),
        format!("⚠️ No se pudo guardar {path}: {why}"),
    )
}

/// What loading history.json had to do.
#[derive(Debug, Clone, Copy)]
pub enum HistoryNote<'a> {
    Unreadable { error: &'a str },
    SetAside { error: &'a str, aside: &'a str },
    NotSetAside { error: &'a str, why: &'a str },
}

pub fn history_note(lang: Lang, note: HistoryNote<'_>) -> String {
    use HistoryNote::*;
    match note {
        Unreadable { error } => lang.tr(
            format!(
                "⚠️ {error}: the contribution is counted from now on but not saved until \
                 BitTrader Worker restarts"
            ),
            format!(
                "⚠️ {error}: la contribución se cuenta desde ahora, pero no se guarda hasta que \
                 BitTrader Worker se reinicie"
            ),
        ),
        SetAside { error, aside } => lang.tr(
            format!("⚠️ {error}: moved to {aside} and a new history begun"),
            format!("⚠️ {error}: se movió a {aside} y se empieza un historial nuevo"),
        ),
        NotSetAside { error, why } => lang.tr(
            format!(
                "⚠️ {error}, and it could not be moved aside ({why}): it is left as it is and \
                 nothing is saved until BitTrader Worker restarts"
            ),
            format!(
                "⚠️ {error}, y no se pudo apartar ({why}): se deja como está y no se guarda nada \
                 hasta que BitTrader Worker se reinicie"
            ),
        ),
    }
}

pub fn startup_failed_line(lang: Lang, why: &str) -> String {
    lang.tr(
        format!("❌ Could not start: {why}"),
        format!("❌ No se pudo iniciar: {why}"),
    )
}

/// The first line of a start: the old daemon's `🚀 Worker Daemon iniciado`.
pub fn daemon_started_line(lang: Lang) -> &'static str {
    lang.tr("🚀 Worker daemon started", "🚀 Worker Daemon iniciado")
}

/// `detail`: the model identifier, else [`form_factor_words`]; the old daemon's phrase.
pub fn machine_line(lang: Lang, mobile: bool, detail: &str) -> String {
    match mobile {
        true => lang.tr(
            format!("📱 Mobile worker detected ({detail})"),
            format!("📱 Worker Móvil Detectado ({detail})"),
        ),
        false => lang.tr(
            format!("🖥️ Desktop worker detected ({detail})"),
            format!("🖥️ Worker Detectado ({detail})"),
        ),
    }
}

pub fn form_factor_words(lang: Lang, form_factor: FormFactor) -> &'static str {
    match form_factor {
        FormFactor::Laptop => lang.tr("a laptop", "un portátil"),
        FormFactor::Desktop => lang.tr("a desktop", "un equipo de sobremesa"),
        FormFactor::Unknown => lang.tr("kind of machine unknown", "tipo de equipo desconocido"),
    }
}

pub fn power_polled_line(lang: Lang, why: &str, every: std::time::Duration) -> String {
    let secs = every.as_secs();
    lang.tr(
        format!(
            "🔋 Power changes are not signalled here ({why}): the power is read every {secs} s"
        ),
        format!(
            "🔋 Aquí el sistema no avisa de los cambios de alimentación ({why}): se lee cada \
             {secs} s"
        ),
    )
}

/// The machine watcher's thread could not be made (`why`): power, lid and sleep go unseen.
pub fn machine_unwatched_line(lang: Lang, why: &str) -> String {
    lang.tr(
        format!("⚠️ The power and the lid are not watched: no thread for it ({why})"),
        format!("⚠️ No se vigilan la alimentación ni la tapa: no hay hilo para ello ({why})"),
    )
}

/// No sleep notification of the OS reaches this process (`why`; `None`: macOS, where only the
/// menu-bar app gets them), so sleeps are measured with the clocks, after the wake.
pub fn sleep_by_clocks_line(lang: Lang, why: Option<&str>) -> String {
    let why = why.unwrap_or(lang.tr(
        "only the menu-bar app receives them",
        "solo la app de la barra de menús los recibe",
    ));
    lang.tr(
        format!(
            "💤 No sleep notifications from the system ({why}): sleeps are measured by the \
             clocks, after the wake"
        ),
        format!(
            "💤 El sistema no avisa de las suspensiones ({why}): se miden con los relojes, al \
             despertar"
        ),
    )
}

/// tests/lab_faults.rs looks for the English.
pub fn dropped_log_lines_note(lang: Lang, dropped: u64) -> String {
    lang.tr(
        format!(
            "⚠️ {dropped} line(s) of this log could not be written (disk full or folder not \
             writable)"
        ),
        format!(
            "⚠️ {dropped} línea(s) de este registro no se pudieron escribir (disco lleno o \
             carpeta sin permiso de escritura)"
        ),
    )
}

pub fn pid_file_not_written_line(lang: Lang, path: &str, why: &str) -> String {
    lang.tr(
        format!("could not write {path}: {why}"),
        format!("no se pudo escribir {path}: {why}"),
    )
}

pub fn going_to_sleep_line(lang: Lang) -> &'static str {
    lang.tr(
        "💤 The machine is going to sleep",
        "💤 El equipo se va a dormir",
    )
}

pub fn woke_line(lang: Lang, slept_secs: u64) -> String {
    lang.tr(
        format!("☀️ The machine woke after {slept_secs} s asleep"),
        format!("☀️ El equipo despertó tras {slept_secs} s dormido"),
    )
}

pub fn drain_requested_line(lang: Lang, outcome: &Result<(), String>) -> String {
    match outcome {
        Ok(()) => lang.tr(
            "⏳ The head stopped sending this node tasks; waiting for the running ones",
            "⏳ El head dejó de enviar tareas a este nodo; esperando a las que están en curso",
        ),
        Err(why) => lang.tr(
            format!("⏳ Drain not accepted ({why}); stopping now"),
            format!("⏳ Drenado no aceptado ({why}); se detiene ya"),
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    Worker,
    DemoHead,
}

pub fn orphan_line(lang: Lang, what: Leftover, pid: u32, stopped: bool) -> String {
    let what: &str = match what {
        Leftover::Worker => lang.tr("the worker", "el worker"),
        Leftover::DemoHead => lang.tr("the demo head", "el head de demostración"),
    };
    match stopped {
        true => lang.tr(
            format!("🧹 Stopped {what} (pid {pid}) left behind by an earlier run"),
            format!("🧹 Detenido {what} (pid {pid}) que dejó una ejecución anterior"),
        ),
        false => lang.tr(
            format!("Left pid {pid} alone: it is no longer {what} an earlier run started"),
            format!(
                "Se deja en paz el pid {pid}: ya no es {what} que inició una ejecución anterior"
            ),
        ),
    }
}

pub fn demo_head_failed_line(lang: Lang, why: &str) -> String {
    lang.tr(
        format!("No head is configured and the demo head could not start: {why}"),
        format!("No hay ningún head configurado y el head de demostración no pudo arrancar: {why}"),
    )
}

pub fn install_failed_line(lang: Lang, why: &str) -> String {
    lang.tr(
        format!("📦 Installing Ray failed: {why}"),
        format!("📦 Falló la instalación de Ray: {why}"),
    )
}

pub fn config_edit_line(lang: Lang, edit: &ConfigEdit) -> String {
    use ConfigEdit::*;
    match edit {
        Invalid(problem) => lang.tr(
            format!(
                "⚠️ {problem}: this edit is not applied; the running settings stay as they were"
            ),
            format!(
                "⚠️ {problem}: este cambio no se aplica; los ajustes en uso siguen como estaban"
            ),
        ),
        Removed => lang.tr(
            "⚠️ config.toml was removed: the running settings stay; the next change from the menu \
             or the CLI writes it again",
            "⚠️ Se borró config.toml: los ajustes en uso se mantienen; el próximo cambio desde el \
             menú o la CLI lo vuelve a escribir",
        ),
        ReadableAgain => lang.tr(
            "✏️ config.toml is readable again",
            "✏️ config.toml vuelve a poder leerse",
        ),
        HeadRemoved => lang.tr(
            "✏️ config.toml: `head` removed; the worker keeps its head until BitTrader Worker \
             restarts",
            "✏️ config.toml: se quitó `head`; el worker mantiene su head hasta que BitTrader \
             Worker se reinicie",
        ),
        Applied(what) => lang.tr(
            format!("✏️ config.toml edited: {what} applied"),
            format!("✏️ config.toml editado: aplicado {what}"),
        ),
        AtRestart(keys) => lang.tr(
            format!("✏️ config.toml edited: {keys} take effect when BitTrader Worker restarts"),
            format!("✏️ config.toml editado: {keys} se aplica cuando BitTrader Worker se reinicie"),
        ),
        Polling { every_secs, why } => lang.tr(
            format!(
                "✏️ config.toml: the system does not report changes to its folder ({why}); hand \
                 edits are picked up every {every_secs} s"
            ),
            format!(
                "✏️ config.toml: el sistema no avisa de los cambios en su carpeta ({why}); los \
                 cambios a mano se leen cada {every_secs} s"
            ),
        ),
    }
}
