//! What you gave: the contribution page, and its figures as the menu and `stats` show them.

use super::Lang;
use chrono::{Datelike, NaiveDate};

use crate::model::ContributionSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageWord {
    /// The HTML `lang` attribute.
    HtmlLang,
    Title,
    Subtitle,
    Today,
    Last7Days,
    Last30Days,
    PerDay,
    Timeline,
    // The timeline's states, for the legend and the tooltips.
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
}

pub fn word(lang: Lang, word: PageWord) -> &'static str {
    use PageWord::*;
    match word {
        HtmlLang => lang.tr("en", "es"),
        Title => lang.tr("What you gave", "Lo que aportaste"),
        Subtitle => lang.tr(
            "CPU time this machine's Ray worker gave to your cluster",
            "Tiempo de CPU que el worker de Ray de esta máquina aportó a tu clúster",
        ),
        Today => lang.tr("Today", "Hoy"),
        Last7Days => lang.tr("Last 7 days", "Últimos 7 días"),
        Last30Days => lang.tr("Last 30 days", "Últimos 30 días"),
        PerDay => lang.tr("CPU-hours per day", "CPU-horas por día"),
        Timeline => lang.tr("The last 7 days", "Los últimos 7 días"),
        Connected => lang.tr("Connected", "Conectado"),
        PausedUser => lang.tr("Paused by you", "Pausado por ti"),
        PausedLowBattery => lang.tr("Paused: low battery", "Pausado: batería baja"),
        PausedOnBattery => lang.tr("Paused: on battery", "Pausado: con batería"),
        PausedAsleep => lang.tr("Paused: asleep", "Pausado: en reposo"),
        PausedHot => lang.tr("Paused: running hot", "Pausado: demasiado caliente"),
        PausedUserActive => lang.tr("Paused: you were using it", "Pausado: lo estabas usando"),
        Disconnected => lang.tr("Disconnected", "Desconectado"),
        NotRunning => lang.tr("App not running", "App cerrada"),
        Updated => lang.tr("Updated", "Actualizado"),
        Footnote => lang.tr(
            "CPU time of the Ray worker's processes (user + system), read once a minute while \
             connected. One CPU-hour is one core busy for an hour.",
            "Tiempo de CPU de los procesos del worker de Ray (usuario + sistema), leído una vez \
             por minuto mientras está conectado. Una CPU-hora es un núcleo ocupado durante una \
             hora.",
        ),
    }
}

pub fn day_label(lang: Lang, day: NaiveDate) -> String {
    let months: [&str; 12] = lang.tr(
        [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ],
        [
            "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic",
        ],
    );
    let (month, day) = (months[day.month0() as usize % 12], day.day());
    lang.tr(format!("{month} {day}"), format!("{day} {month}"))
}

pub fn weekday(lang: Lang, from_monday: usize) -> &'static str {
    let names: [&str; 7] = lang.tr(
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
    );
    names[from_monday % 7]
}

/// One decimal under 10 CPU-hours, whole hours above.
pub fn cpu_hours(lang: Lang, cpu_secs: f64) -> String {
    let hours = cpu_secs.max(0.0) / 3600.0;
    let decimals = if hours < 9.95 { 1 } else { 0 };
    let text = format!("{hours:.decimals$}");
    lang.tr(text.clone(), text.replace('.', ","))
}

pub fn contribution_line(lang: Lang, summary: &ContributionSummary) -> String {
    let today = cpu_hours(lang, summary.today_cpu_secs);
    let week = cpu_hours(lang, summary.week_cpu_secs);
    lang.tr(
        format!("Today {today} CPU-h · 7 days {week} CPU-h"),
        format!("Hoy {today} CPU-h · 7 días {week} CPU-h"),
    )
}

pub fn month_line(lang: Lang, cpu_secs: f64) -> String {
    format!(
        "{}: {} CPU-h",
        word(lang, PageWord::Last30Days),
        cpu_hours(lang, cpu_secs)
    )
}
