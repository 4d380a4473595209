//! Notifications: a title and a body for each [`Notice`].

use super::{auto_pause_words, duration_words, fault_message, unreachable_words, Lang};
use crate::model::Notice;

/// A notification's title and body.
pub fn notice(lang: Lang, notice: &Notice) -> (String, String) {
    use Notice::*;
    // Why the head was lost, as " (why)" after its first clause, when known.
    let why = match notice {
        HeadLost { why: Some(why) } => format!(" ({})", unreachable_words(lang, why)),
        _ => String::new(),
    };
    match lang {
        Lang::En => match notice {
            HeadLost { .. } => (
                "Worker disconnected".into(),
                format!(
                    "The head is unreachable{why}; the worker was stopped. It will rejoin by itself."
                ),
            ),
            Reconnected { away_secs } => (
                "Worker reconnected".into(),
                format!("Back in the cluster after {}.", duration_words(*away_secs)),
            ),
            NeedsAttention { fault } => (
                "BitTrader Worker needs you".into(),
                fault_message(lang, fault),
            ),
            BatteryLow { percent } => (
                format!("Battery at {percent} %"),
                "The worker keeps contributing and pauses if the battery keeps falling. Plug in \
                 to carry on."
                    .into(),
            ),
            AutoPaused { reason } => ("Worker paused".into(), auto_pause_words(lang, reason)),
            RayInstalled { version } => (
                format!("Ray {version} installed"),
                "The worker joins the cluster again now.".into(),
            ),
            RayInstallFailed { why } => (
                "Ray could not be installed".into(),
                format!("{why} (details in the log)"),
            ),
            HeadFound { head } => (
                "A Ray head on your tailnet".into(),
                format!(
                    "{} ({}) answers. Choose it in the menu to contribute to it.",
                    head.name, head.address
                ),
            ),
            CooledDown => (
                "Worker contributing again".into(),
                "The machine has cooled down; the worker joins the cluster again.".into(),
            ),
            LidClosed => (
                "Lid closed while contributing".into(),
                "The Mac will sleep and the head carries on alone; tasks lost here are retried \
                 there."
                    .into(),
            ),
        },
        Lang::Es => match notice {
            HeadLost { .. } => (
                "Worker desconectado".into(),
                format!("El head no responde{why}; se detuvo el worker. Volverá a unirse solo."),
            ),
            Reconnected { away_secs } => (
                "Worker reconectado".into(),
                format!(
                    "De vuelta en el clúster tras {}.",
                    duration_words(*away_secs)
                ),
            ),
            NeedsAttention { fault } => (
                "BitTrader Worker te necesita".into(),
                fault_message(lang, fault),
            ),
            BatteryLow { percent } => (
                format!("Batería al {percent} %"),
                "El worker sigue contribuyendo; se pondrá en pausa si la batería sigue bajando. \
                 Conecta el cargador para seguir."
                    .into(),
            ),
            AutoPaused { reason } => ("Worker en pausa".into(), auto_pause_words(lang, reason)),
            RayInstalled { version } => (
                format!("Ray {version} instalado"),
                "El worker se vuelve a unir al clúster ahora.".into(),
            ),
            RayInstallFailed { why } => (
                "No se pudo instalar Ray".into(),
                format!("{why} (detalles en el registro)"),
            ),
            HeadFound { head } => (
                "Un head de Ray en tu tailnet".into(),
                format!(
                    "{} ({}) responde. Elígelo en el menú (Head) para contribuir a él.",
                    head.name, head.address
                ),
            ),
            CooledDown => (
                "El worker vuelve a contribuir".into(),
                "El equipo se ha enfriado; el worker vuelve a unirse al clúster.".into(),
            ),
            LidClosed => (
                "Tapa cerrada mientras contribuyes".into(),
                "El Mac se dormirá y el head seguirá solo; reintentará aquí las tareas que se \
                 pierdan."
                    .into(),
            ),
        },
    }
}
