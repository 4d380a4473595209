//! What you gave: the contribution page, and its figures as the menu and `stats` show them.

use super::Lang;
use chrono::{Datelike, NaiveDate};

use crate::model::ContributionSummary;

/// A fixed word or sentence of the contribution page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageWord {
    /// The HTML `lang` attribute.
    HtmlLang,
    /// The title and heading.
    Title,
    /// What the page shows.
    Subtitle,
    Today,
    Last7Days,
    Last30Days,
    /// The bar chart's heading.
    PerDay,
    /// The timeline's heading.
    Timeline,
    // The timeline's states, for the legend and the tooltips.
    Connected,
    PausedUser,
    PausedLowBattery,
    PausedOnBattery,
    PausedAsleep,
    PausedHot,
    /// Paused: the user was at the machine ("only when idle").
    PausedUserActive,
    Disconnected,
    NotRunning,
    /// Before the time the page was drawn.
    Updated,
    /// How the figures are measured.
    Footnote,
}

/// `word` in `lang`.
pub fn word(lang: Lang, word: PageWord) -> &'static str {
    use PageWord::*;
    match lang {
        Lang::En => match word {
            HtmlLang => "en",
            Title => "What you gave",
            Subtitle => "CPU time this machine's Ray worker gave to your cluster",
            Today => "Today",
            Last7Days => "Last 7 days",
            Last30Days => "Last 30 days",
            PerDay => "CPU-hours per day",
            Timeline => "The last 7 days",
            Connected => "Connected",
            PausedUser => "Paused by you",
            PausedLowBattery => "Paused: low battery",
            PausedOnBattery => "Paused: on battery",
            PausedAsleep => "Paused: asleep",
            PausedHot => "Paused: running hot",
            PausedUserActive => "Paused: you were using it",
            Disconnected => "Disconnected",
            NotRunning => "App not running",
            Updated => "Updated",
            Footnote => {
                "CPU time of the Ray worker's processes (user + system), read once a minute while \
                 connected. One CPU-hour is one core busy for an hour."
            }
        },
        Lang::Es => match word {
            HtmlLang => "es",
            Title => "Lo que aportaste",
            Subtitle => "Tiempo de CPU que el worker de Ray de esta máquina aportó a tu clúster",
            Today => "Hoy",
            Last7Days => "Últimos 7 días",
            Last30Days => "Últimos 30 días",
            PerDay => "CPU-horas por día",
            Timeline => "Los últimos 7 días",
            Connected => "Conectado",
            PausedUser => "Pausado por ti",
            PausedLowBattery => "Pausado: batería baja",
            PausedOnBattery => "Pausado: con batería",
            PausedAsleep => "Pausado: en reposo",
            PausedHot => "Pausado: demasiado caliente",
            PausedUserActive => "Pausado: lo estabas usando",
            Disconnected => "Desconectado",
            NotRunning => "App cerrada",
            Updated => "Actualizado",
            Footnote => {
                "Tiempo de CPU de los procesos del worker de Ray (usuario + sistema), leído una vez \
                 por minuto mientras está conectado. Una CPU-hora es un núcleo ocupado durante una \
                 hora."
            }
        },
    }
}

/// A day as the page labels it: "Nov 29" / "29 nov".
pub fn day_label(lang: Lang, day: NaiveDate) -> String {
    let (month0, day) = (day.month0() as usize, day.day());
    match lang {
        Lang::En => {
            let months = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            format!("{} {day}", months[month0 % 12])
        }
        Lang::Es => {
            let months = [
                "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic",
            ];
            format!("{day} {}", months[month0 % 12])
        }
    }
}

/// A weekday's short name (`from_monday`: 0 for Monday).
pub fn weekday(lang: Lang, from_monday: usize) -> &'static str {
    let names = match lang {
        Lang::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        Lang::Es => ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
    };
    names[from_monday % 7]
}

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

/// "Today 3.2 CPU-h · 7 days 21 CPU-h": the menu's line and `stats`'s first.
pub fn contribution_line(lang: Lang, summary: &ContributionSummary) -> String {
    let today = cpu_hours(lang, summary.today_cpu_secs);
    let week = cpu_hours(lang, summary.week_cpu_secs);
    match lang {
        Lang::En => format!("Today {today} CPU-h · 7 days {week} CPU-h"),
        Lang::Es => format!("Hoy {today} CPU-h · 7 días {week} CPU-h"),
    }
}

/// `stats`'s month line: "Last 30 days: 40 CPU-h".
pub fn month_line(lang: Lang, cpu_secs: f64) -> String {
    format!(
        "{}: {} CPU-h",
        word(lang, PageWord::Last30Days),
        cpu_hours(lang, cpu_secs)
    )
}
