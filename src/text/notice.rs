//! Notifications: a title and a body for each [`Notice`].

use super::{auto_pause_words, duration_words, fault_message, unreachable_words, Lang};
use crate::model::{Notice, Unreachable};

pub fn notice(lang: Lang, notice: &Notice) -> (String, String) {
    use Notice::*;
    match notice {
        HeadLost {
            why: Some(why @ Unreachable::PracticeHeadGone),
        } => (
            lang.tr("Worker stopped", "Worker detenido"),
            lang.tr(
                format!("The worker was stopped: {}.", unreachable_words(lang, why)),
                format!("Se detuvo el worker: {}.", unreachable_words(lang, why)),
            ),
        ),
        HeadLost { why } => {
            let why = why.as_ref().map(|why| unreachable_words(lang, why));
            let why = why.map(|why| format!(" ({why})")).unwrap_or_default();
            (
                lang.tr("Worker disconnected", "Worker desconectado"),
                lang.tr(
                    format!(
                        "The head is unreachable{why}; the worker was stopped. It will rejoin by \
                         itself."
                    ),
                    format!(
                        "El head no responde{why}; se detuvo el worker. Volverá a unirse solo."
                    ),
                ),
            )
        }
        Reconnected { away_secs } => {
            let away = duration_words(*away_secs);
            (
                lang.tr("Worker reconnected", "Worker reconectado"),
                lang.tr(
                    format!("Back in the cluster after {away}."),
                    format!("De vuelta en el clúster tras {away}."),
                ),
            )
        }
        NeedsAttention { fault } => (
            lang.tr("BitTrader Worker needs you", "BitTrader Worker te necesita"),
            fault_message(lang, fault),
        ),
        BatteryLow { percent } => (
            lang.tr(
                format!("Battery at {percent} %"),
                format!("Batería al {percent} %"),
            ),
            lang.tr(
                "The worker keeps contributing and pauses if the battery keeps falling. Plug in \
                 to carry on.",
                "El worker sigue contribuyendo; se pondrá en pausa si la batería sigue bajando. \
                 Conecta el cargador para seguir.",
            ),
        ),
        AutoPaused { reason } => (
            lang.tr("Worker paused", "Worker en pausa"),
            auto_pause_words(lang, reason),
        ),
        RayInstalled { version } => (
            lang.tr(
                format!("Ray {version} installed"),
                format!("Ray {version} instalado"),
            ),
            lang.tr(
                "The worker joins the cluster again now.",
                "El worker se vuelve a unir al clúster ahora.",
            ),
        ),
        RayInstallFailed { why } => (
            lang.tr("Ray could not be installed", "No se pudo instalar Ray"),
            lang.tr(
                format!("{why} (details in the log)"),
                format!("{why} (detalles en el registro)"),
            ),
        ),
        HeadFound { head } => {
            let head = super::menu::found_head_item(lang, head, false);
            (
                lang.tr("A Ray head on your tailnet", "Un head de Ray en tu tailnet"),
                lang.tr(
                    format!("{head} answers. Choose it in the menu to contribute to it."),
                    format!("{head} responde. Elígelo en el menú (Head) para contribuir a él."),
                ),
            )
        }
        CooledDown => (
            lang.tr("Worker contributing again", "El worker vuelve a contribuir"),
            lang.tr(
                "The machine has cooled down; the worker joins the cluster again.",
                "El equipo se ha enfriado; el worker vuelve a unirse al clúster.",
            ),
        ),
        OpenedAgain { status } => {
            let summary = super::cli::summary(lang, status);
            (
                lang.tr(
                    "BitTrader Worker is running",
                    "BitTrader Worker está en marcha",
                ),
                lang.tr(
                    format!(
                        "{summary}. Its icon is in the menu bar, at the top right; a crowded \
                         menu bar or the notch can hide it."
                    ),
                    format!(
                        "{summary}. Su icono está en la barra de menús, arriba a la derecha; si \
                         la barra está llena o hay muesca, puede quedar oculto."
                    ),
                ),
            )
        }
        LidClosed => (
            lang.tr(
                "Lid closed while contributing",
                "Tapa cerrada mientras contribuyes",
            ),
            lang.tr(
                "The Mac will sleep and the head carries on alone; tasks lost here are retried \
                 there.",
                "El Mac se dormirá y el head seguirá solo; reintentará aquí las tareas que se \
                 pierdan.",
            ),
        ),
    }
}
