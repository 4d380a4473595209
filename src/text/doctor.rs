//! What `doctor` prints (and the menu's "Check this Mac…" shows): one line per check.

use super::Lang;
use crate::model::doctor::{Check, Report, Seen};
use crate::model::PowerSnapshot;

pub fn title(lang: Lang, check: Check) -> &'static str {
    use Check::*;
    match check {
        App => lang.tr("The app", "La app"),
        Signature => lang.tr("Code signature", "Firma de código"),
        System => lang.tr("System", "Sistema"),
        Ray => "Ray",
        HeadRay => lang.tr("The head's Ray", "El Ray del head"),
        Tailscale => "Tailscale",
        HeadPort => lang.tr("The head's Ray port", "El puerto Ray del head"),
        Power => lang.tr("Power", "Energía"),
        PowerChanges => lang.tr("Power changes", "Cambios de energía"),
        NotifyRoundTrip => lang.tr("Darwin notifications", "Notificaciones de Darwin"),
        Thermal => lang.tr("Heat", "Temperatura"),
        UserIdle => lang.tr("Time since last input", "Tiempo sin usar el equipo"),
        KeepAwake => lang.tr("Keeping awake", "Mantener despierto"),
        AppNap => "App Nap",
        SleepNotices => lang.tr("Sleep and wake notices", "Avisos de reposo y activación"),
        SleepClock => lang.tr("Sleep clock", "Reloj de reposo"),
        LoginItem => lang.tr("Start at login", "Abrir al iniciar sesión"),
        Dialog => lang.tr("The menu's questions", "Las preguntas del menú"),
        DataFolder => lang.tr("Data folder", "Carpeta de datos"),
        ControlSocket => lang.tr("The running app", "La app en marcha"),
        Disk => lang.tr("Free disk", "Disco libre"),
        Processes => lang.tr("Process table", "Tabla de procesos"),
        Priority => lang.tr("Lower priority", "Prioridad baja"),
        HeldConnection => lang.tr("Held connection", "Conexión mantenida"),
    }
}

/// For a failed check: one sentence saying what to do.
pub fn what_to_do(lang: Lang, check: Check) -> &'static str {
    use Check::*;
    match check {
        App => lang.tr(
            "Move BitTrader Worker into the Applications folder and open it from there.",
            "Mueve BitTrader Worker a la carpeta Aplicaciones y ábrelo desde ahí.",
        ),
        Signature => lang.tr(
            "Download the app again: this copy's signature is missing or damaged.",
            "Descarga la app de nuevo: la firma de esta copia falta o está dañada.",
        ),
        System => lang.tr(
            "Use the Apple-silicon build: this one runs translated by Rosetta.",
            "Usa la versión para Apple silicon: esta se ejecuta traducida por Rosetta.",
        ),
        Ray => lang.tr(
            "Install Ray from the menu (Install Ray…) or run `bittrader-worker setup`.",
            "Instala Ray desde el menú (Instalar Ray…) o ejecuta `bittrader-worker setup`.",
        ),
        HeadRay => lang.tr(
            "Run `bittrader-worker setup` to install the head's Ray and Python here, and check \
             that the head's dashboard answers on port 8265.",
            "Ejecuta `bittrader-worker setup` para instalar aquí el Ray y el Python del head, y \
             comprueba que su dashboard responde en el puerto 8265.",
        ),
        Tailscale => lang.tr(
            "Install Tailscale, log in and connect; the head must be online in your tailnet.",
            "Instala Tailscale, inicia sesión y conéctate; el head debe estar en línea en tu \
             tailnet.",
        ),
        HeadPort => lang.tr(
            "Check that the head runs `ray start --head` and that its address (menu: Head…) is \
             right.",
            "Comprueba que el head ejecuta `ray start --head` y que su dirección (menú: Head…) \
             es correcta.",
        ),
        UserIdle => lang.tr(
            "Turn “only when idle” off in config.toml: this session does not say how long it \
             has been idle.",
            "Desactiva «solo en reposo» en config.toml: esta sesión no indica cuánto lleva en \
             reposo.",
        ),
        KeepAwake => lang.tr(
            "Something refuses to keep this computer awake: set keep_awake = \"never\" in \
             config.toml.",
            "Algo impide mantener despierto el equipo: pon keep_awake = \"never\" en \
             config.toml.",
        ),
        LoginItem => lang.tr(
            "Turn “Start at login” off and on again from the menu.",
            "Desactiva y vuelve a activar «Abrir al iniciar sesión» desde el menú.",
        ),
        DataFolder => lang.tr(
            "Make the folder yours again, or move it away so that the app makes a new one.",
            "Haz tuya la carpeta de nuevo, o apártala para que la app cree otra.",
        ),
        ControlSocket => lang.tr(
            "Quit the app and open it again.",
            "Cierra la app y ábrela de nuevo.",
        ),
        Disk => lang.tr(
            "Free some disk space: the log and the history need room.",
            "Libera espacio en disco: el registro y el historial lo necesitan.",
        ),
        Power | PowerChanges | NotifyRoundTrip | Thermal | AppNap | SleepNotices | SleepClock
        | Dialog | Processes | Priority | HeldConnection => lang.tr(
            "The system did not answer as expected: please send doctor.txt with a bug report.",
            "El sistema no respondió como se esperaba: envía doctor.txt con un informe de error.",
        ),
    }
}

/// The report, one line per check, a second line saying what to do for each failure, and a
/// count at the end.
pub fn lines(lang: Lang, report: &Report) -> Vec<String> {
    let (mut lines, mut counts) = (Vec::new(), [0; 3]);
    for finding in &report.findings {
        let (counted, outcome, fact): (_, &str, _) = match &finding.seen {
            Seen::Passed(fact) => (0, lang.tr("passed", "correcto"), fact),
            Seen::Failed(fact) => (1, lang.tr("FAILED", "FALLA"), fact),
            Seen::NotApplicable(fact) => (2, lang.tr("n/a", "no aplica"), fact),
        };
        counts[counted] += 1;
        let title = title(lang, finding.check);
        lines.push(format!("{outcome:<9} {title}: {fact}"));
        if let Some(what) = &finding.what_to_do {
            lines.push(format!("          → {what}"));
        }
    }
    let [ok, bad, na] = counts;
    lines.push(lang.tr(
        format!("{ok} passed, {bad} failed, {na} not applicable here"),
        format!("{ok} correctos, {bad} fallan, {na} no aplican aquí"),
    ));
    lines
}

pub fn no_prompt_program(lang: Lang) -> String {
    lang.tr(
        "no zenity or kdialog: the menu opens config.toml to set the head",
        "sin zenity ni kdialog: el menú abre config.toml para configurar el head",
    )
}

pub fn no_head(lang: Lang) -> String {
    lang.tr("no head set", "sin head configurado")
}

pub fn outside_tailnet(lang: Lang) -> String {
    lang.tr(
        "the head is not on a tailnet",
        "el head no está en una tailnet",
    )
}

pub fn no_ray(lang: Lang) -> String {
    lang.tr(
        "no `ray` found (config.toml's ray_path, setup's venv, PATH)",
        "no se encontró `ray` (ray_path de config.toml, el venv de setup, PATH)",
    )
}

pub fn not_made_yet(lang: Lang) -> String {
    lang.tr(
        "not made yet (the app makes it at its first start)",
        "aún no existe (la app la crea al arrancar por primera vez)",
    )
}

pub fn not_reported(lang: Lang) -> String {
    lang.tr("not reported here", "no se indica aquí")
}

pub fn power(lang: Lang, power: &PowerSnapshot, lid_closed: Option<bool>) -> String {
    let source = super::menu::power_source(lang, power.on_ac);
    let battery = power
        .battery
        .map_or(lang.tr("no battery", "sin batería"), |b| {
            super::menu::battery_line(lang, b, power.on_ac)
        });
    let lid: &str = match lid_closed {
        Some(true) => lang.tr("lid closed", "tapa cerrada"),
        Some(false) => lang.tr("lid open", "tapa abierta"),
        None => lang.tr("no lid reported", "sin tapa indicada"),
    };
    format!("{source} · {battery} · {lid}")
}

/// The head's Ray and Python beside ours.
pub fn versions(
    lang: Lang,
    head_ray: &str,
    head_minor: Option<u32>,
    ours: Option<&str>,
    our_minor: Option<u32>,
) -> String {
    let python = |minor: Option<u32>| minor.map_or("?".into(), |m| format!("3.{m}"));
    let (head_python, our_python) = (python(head_minor), python(our_minor));
    let (here, ours): (&str, _) = (lang.tr("here", "aquí"), ours.unwrap_or("?"));
    format!("head: Ray {head_ray}, Python {head_python}; {here}: Ray {ours}, Python {our_python}")
}
