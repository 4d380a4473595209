//! The contribution page: the history as one self-contained HTML file (inline CSS and SVG, no
//! script), opened by "Contribution…". Bars and segments carry their figures in `data-*`
//! attributes and a `<title>`, so tests read them back.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};

use super::History;
use crate::config::Paths;
use crate::model::{Activity, PauseReason};
use crate::text::page::{cpu_hours, day_label, weekday, word, PageWord};
use crate::text::Lang;

pub const BAR_DAYS: u32 = 30;
pub const TIMELINE_DAYS: u32 = 7;

// The drawing's geometry, in SVG user units.
const CHART_W: f64 = 720.0;
const CHART_H: f64 = 240.0;
const PLOT_LEFT: f64 = 44.0;
const PLOT_TOP: f64 = 12.0;
const PLOT_BOTTOM: f64 = 208.0;
const ROW_H: f64 = 30.0;
const ROW_GAP: f64 = 10.0;
const TRACK_LEFT: f64 = 84.0;
const TRACK_RIGHT: f64 = 712.0;

/// The CSS class of an activity, and its words.
fn kind(activity: Activity, lang: Lang) -> (&'static str, &'static str) {
    use PageWord as Word;
    use PauseReason::*;
    let (class, page_word) = match activity {
        Activity::Connected => ("connected", Word::Connected),
        Activity::Paused { reason: User } => ("paused-user", Word::PausedUser),
        Activity::Paused { reason: LowBattery } => ("paused-low-battery", Word::PausedLowBattery),
        Activity::Paused { reason: OnBattery } => ("paused-on-battery", Word::PausedOnBattery),
        Activity::Paused { reason: Asleep } => ("paused-asleep", Word::PausedAsleep),
        Activity::Paused { reason: RunsHot } => ("paused-hot", Word::PausedHot),
        Activity::Paused { reason: UserActive } => ("paused-user-active", Word::PausedUserActive),
        Activity::Disconnected => ("disconnected", Word::Disconnected),
        Activity::Off => ("off", Word::NotRunning),
    };
    (class, word(lang, page_word))
}

fn legend() -> impl Iterator<Item = Activity> {
    use PauseReason::*;
    let paused = [User, OnBattery, LowBattery, Asleep, RunsHot, UserActive];
    std::iter::once(Activity::Connected)
        .chain(paused.map(|reason| Activity::Paused { reason }))
        .chain([Activity::Disconnected, Activity::Off])
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `max` (at least 1 CPU-hour).
fn nice_max(max: f64) -> f64 {
    let max = max.max(1.0);
    let mut step = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * step >= max {
                return m * step;
            }
        }
        step *= 10.0;
    }
}

pub fn render<Tz: TimeZone>(history: &History, now: DateTime<Tz>, lang: Lang) -> String {
    let tz = now.timezone();
    let today = now.date_naive();
    let now_utc = now.with_timezone(&Utc);
    let summary = history.summary(today);
    let days = history.last_days(today, BAR_DAYS);
    let month_secs: f64 = days.iter().map(|(_, secs)| secs).sum();

    let mut html = format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title} · BitTrader Worker</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<header>
<h1>{title}</h1>
<p class="subtitle">{subtitle}</p>
</header>
<section class="figures">
"#,
        lang = word(lang, PageWord::HtmlLang),
        title = esc(word(lang, PageWord::Title)),
        subtitle = esc(word(lang, PageWord::Subtitle)),
    );
    for (id, label, secs) in [
        ("today", PageWord::Today, summary.today_cpu_secs),
        ("week", PageWord::Last7Days, summary.week_cpu_secs),
        ("month", PageWord::Last30Days, month_secs),
    ] {
        let _ = writeln!(
            html,
            r#"<div class="figure" id="figure-{id}"><div class="label">{label}</div><div class="value">{value}<span class="unit">CPU-h</span></div></div>"#,
            label = esc(word(lang, label)),
            value = esc(&cpu_hours(lang, secs)),
        );
    }
    html.push_str("</section>\n");

    html.push_str(&card(word(lang, PageWord::PerDay)));
    html.push_str(&bars_svg(&days, today, lang));
    html.push_str("</section>\n");

    html.push_str(&card(word(lang, PageWord::Timeline)));
    html.push_str(&timeline_svg(history, &tz, today, now_utc, lang));
    html.push_str(r#"<ul class="legend">"#);
    for activity in legend() {
        let (class, label) = kind(activity, lang);
        let _ = write!(
            html,
            r#"<li><span class="swatch {class}"></span>{}</li>"#,
            esc(label)
        );
    }
    html.push_str("</ul>\n</section>\n");

    let _ = write!(
        html,
        r#"<footer><p>{footnote}</p><p>{updated} {date} {time:02}:{minute:02}</p></footer>
</main>
</body>
</html>
"#,
        footnote = esc(word(lang, PageWord::Footnote)),
        updated = esc(word(lang, PageWord::Updated)),
        date = esc(&day_label(lang, today)),
        time = now.hour(),
        minute = now.minute(),
    );
    html
}

fn card(title: &str) -> String {
    format!("<section class=\"card\"><h2>{}</h2>\n", esc(title))
}

/// The 30 bars, with a scale and a label every 5 days (today's bar stands out).
fn bars_svg(days: &[(NaiveDate, f64)], today: NaiveDate, lang: Lang) -> String {
    let max_hours = days
        .iter()
        .map(|(_, secs)| secs / 3600.0)
        .fold(0.0, f64::max);
    let top = nice_max(max_hours);
    let plot_h = PLOT_BOTTOM - PLOT_TOP;
    let slot = (CHART_W - PLOT_LEFT - 4.0) / days.len().max(1) as f64;
    let bar_w = slot * 0.68;
    let mut svg = format!(
        r#"<svg class="bars" viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-label="{}">"#,
        esc(word(lang, PageWord::PerDay))
    );
    for step in 0..=4 {
        let value = top * f64::from(step) / 4.0;
        let y = PLOT_BOTTOM - plot_h * f64::from(step) / 4.0;
        let class = if step == 0 { "axis" } else { "grid" };
        let label = if value.fract() == 0.0 {
            format!("{value:.0}")
        } else {
            cpu_hours(lang, value * 3600.0)
        };
        let _ = write!(
            svg,
            r#"<line class="{class}" x1="{PLOT_LEFT}" x2="{CHART_W}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{x:.1}" y="{ty:.1}" text-anchor="end">{label}</text>"#,
            x = PLOT_LEFT - 8.0,
            ty = y + 4.0,
        );
    }
    for (index, (day, secs)) in days.iter().enumerate() {
        let hours = secs / 3600.0;
        let height = (hours / top * plot_h).clamp(0.0, plot_h);
        let x = PLOT_LEFT + 2.0 + slot * index as f64 + (slot - bar_w) / 2.0;
        let class = if *day == today { "bar today" } else { "bar" };
        let label = day_label(lang, *day);
        let _ = write!(
            svg,
            r#"<rect class="{class}" data-date="{day}" data-cpu-hours="{hours:.2}" x="{x:.2}" y="{y:.2}" width="{bar_w:.2}" height="{height:.2}" rx="{rx:.1}"><title>{title}: {value} CPU-h</title></rect>"#,
            y = PLOT_BOTTOM - height,
            rx = (bar_w / 4.0).min(height / 2.0),
            title = esc(&label),
            value = esc(&cpu_hours(lang, *secs)),
        );
        let from_end = days.len() - 1 - index;
        if from_end.is_multiple_of(5) {
            // The last label ends at its bar's right edge, inside the drawing.
            let (anchor, cx) = if from_end == 0 {
                ("end", x + bar_w)
            } else {
                ("middle", x + bar_w / 2.0)
            };
            let _ = write!(
                svg,
                r#"<text class="day{today}" x="{cx:.1}" y="{ty:.1}" text-anchor="{anchor}">{}</text>"#,
                esc(&label),
                today = if from_end == 0 { " today" } else { "" },
                ty = PLOT_BOTTOM + 20.0,
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// One row per local day, oldest first, midnight to midnight.
fn timeline_svg<Tz: TimeZone>(
    history: &History,
    tz: &Tz,
    today: NaiveDate,
    now: DateTime<Utc>,
    lang: Lang,
) -> String {
    let head = 22.0;
    let height = head + f64::from(TIMELINE_DAYS) * (ROW_H + ROW_GAP);
    let track_w = TRACK_RIGHT - TRACK_LEFT;
    let mut svg = format!(
        r#"<svg class="timeline" viewBox="0 0 {CHART_W} {height}" role="img" aria-label="{}">"#,
        esc(word(lang, PageWord::Timeline))
    );
    for hour in [0, 6, 12, 18, 24] {
        let x = TRACK_LEFT + track_w * f64::from(hour) / 24.0;
        let anchor = match hour {
            0 => "start",
            24 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            r#"<text class="tick" x="{x:.1}" y="14" text-anchor="{anchor}">{hour:02}:00</text><line class="hour" x1="{x:.1}" x2="{x:.1}" y1="{head}" y2="{bottom:.1}"/>"#,
            bottom = height - ROW_GAP,
        );
    }
    let midnight = |day: NaiveDate| -> DateTime<Utc> {
        let local = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&local))
    };
    let first_day = today - chrono::Days::new(u64::from(TIMELINE_DAYS - 1));
    let spans = history.spans(midnight(first_day), now);
    for row in 0..TIMELINE_DAYS {
        let day = first_day + chrono::Days::new(u64::from(row));
        let (start, end) = (midnight(day), midnight(day + chrono::Days::new(1)));
        let length = (end - start).num_seconds().max(1) as f64;
        let y = head + f64::from(row) * (ROW_H + ROW_GAP);
        let weekday = weekday(lang, day.weekday().num_days_from_monday() as usize);
        let _ = write!(
            svg,
            r#"<g class="row" data-date="{day}"><text class="rowlabel{today}" x="0" y="{ly:.1}">{weekday} <tspan class="date">{label}</tspan></text><clipPath id="clip-{day}"><rect x="{TRACK_LEFT}" y="{y:.1}" width="{track_w:.1}" height="{ROW_H}" rx="6"/></clipPath><rect class="track" x="{TRACK_LEFT}" y="{y:.1}" width="{track_w:.1}" height="{ROW_H}" rx="6"/><g clip-path="url(#clip-{day})">"#,
            today = if day == today { " today" } else { "" },
            ly = y + ROW_H / 2.0 + 4.0,
            weekday = esc(weekday),
            label = esc(&day_label(lang, day)),
        );
        for span in &spans {
            let (from, until) = (span.from.max(start), span.until.min(end));
            if until <= from {
                continue;
            }
            let x0 = TRACK_LEFT + track_w * (from - start).num_seconds() as f64 / length;
            let x1 = TRACK_LEFT + track_w * (until - start).num_seconds() as f64 / length;
            let (class, label) = kind(span.activity, lang);
            let (lf, lu) = (from.with_timezone(tz), until.with_timezone(tz));
            let _ = write!(
                svg,
                r#"<rect class="seg {class}" data-state="{class}" data-from="{from}" data-until="{until}" x="{x0:.2}" y="{y:.1}" width="{w:.2}" height="{ROW_H}"><title>{label} {fh:02}:{fm:02}–{uh:02}:{um:02}</title></rect>"#,
                from = from.to_rfc3339(),
                until = until.to_rfc3339(),
                w = (x1 - x0).max(0.5),
                label = esc(label),
                fh = lf.hour(),
                fm = lf.minute(),
                uh = if until == end { 24 } else { lu.hour() },
                um = if until == end { 0 } else { lu.minute() },
            );
        }
        svg.push_str("</g></g>");
    }
    svg.push_str("</svg>\n");
    svg
}

/// Draws `paths`' history.json into contribution.html; its path, or why not.
pub fn write_page(paths: &Paths, lang: Lang) -> Result<PathBuf, String> {
    let history = super::file::read(&paths.history_file())
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let page = render(&history, chrono::Local::now(), lang);
    let path = paths.contribution_page();
    crate::atomic_file::write(&path, page.as_bytes(), 0o600)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

const STYLE: &str = include_str!("page.css");

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;
    use std::time::Duration;

    /// Madrid in winter, 29 Nov 2026 at 15:30.
    fn now() -> DateTime<FixedOffset> {
        FixedOffset::east_opt(3600)
            .expect("offset")
            .with_ymd_and_hms(2026, 11, 29, 15, 30, 0)
            .single()
            .expect("time")
    }

    fn sample() -> History {
        let mut history = History::default();
        let today = now().date_naive();
        for back in 0..40u64 {
            let hours = (back % 7) as f64 * 1.5;
            history.add_cpu(
                today - chrono::Days::new(back),
                Duration::from_secs_f64(hours * 3600.0),
            );
        }
        let at = |h: i64| now().with_timezone(&Utc) - chrono::Duration::hours(h);
        history.record(at(60), Activity::Connected);
        history.record(
            at(30),
            Activity::Paused {
                reason: PauseReason::User,
            },
        );
        history.record(at(20), Activity::Disconnected);
        history.record(at(3), Activity::Connected);
        history
    }

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn thirty_bars_with_their_figures_and_today_highlighted() {
        let page = render(&sample(), now(), Lang::En);
        assert_eq!(count(&page, r#"<rect class="bar"#), 30);
        assert_eq!(count(&page, r#"<rect class="bar today""#), 1);
        assert!(page.contains(r#"data-date="2026-11-29" data-cpu-hours="0.00""#));
        // 28 Nov is one day back: 1.5 CPU-h; 23 Nov (6 back) the most, 9 CPU-h, scaled to 10.
        assert!(page.contains(r#"data-date="2026-11-28" data-cpu-hours="1.50""#));
        assert!(page.contains(r#"data-date="2026-11-23" data-cpu-hours="9.00""#));
        assert!(page.contains("<title>Nov 23: 9.0 CPU-h</title>"));
        assert!(
            page.contains(r#"data-date="2026-10-31""#),
            "the first of 30 days"
        );
        assert!(!page.contains(r#"data-date="2026-10-30" data-cpu"#));
    }

    #[test]
    fn the_timeline_has_seven_days_split_at_local_midnight() {
        let page = render(&sample(), now(), Lang::En);
        assert_eq!(count(&page, r#"<g class="row""#), 7);
        assert!(page.contains(r#"<g class="row" data-date="2026-11-23""#));
        // Connected from 60 h ago (03:30 local on the 27th) to 30 h ago (09:30 on the 28th),
        // split at the local midnight between; then again for the last 3 hours.
        assert_eq!(count(&page, r#"data-state="connected""#), 2 + 1);
        assert_eq!(count(&page, r#"data-state="paused-user""#), 1);
        assert_eq!(count(&page, r#"data-state="disconnected""#), 2);
        assert!(page.contains("<title>Paused by you 09:30–19:30</title>"));
        assert!(
            page.contains("<title>Connected 12:30–15:30</title>"),
            "until now"
        );
        for label in [
            "Connected",
            "Paused by you",
            "Paused: asleep",
            "App not running",
        ] {
            assert!(page.contains(&format!("</span>{label}</li>")), "{label}");
        }
    }

    #[test]
    fn the_page_is_self_contained_and_spanish_when_asked() {
        let page = render(&sample(), now(), Lang::Es);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains(r#"<html lang="es">"#));
        assert!(page.contains("Lo que aportaste"));
        assert!(page.contains("<title>23 nov: 9,0 CPU-h</title>"));
        assert!(page.contains("prefers-color-scheme: dark"));
        for outside in [
            "<script",
            "http:",
            "https:",
            "<link",
            "<img",
            "@import",
            "@font-face",
        ] {
            assert!(!page.contains(outside), "{outside}");
        }
    }

    #[test]
    fn the_page_is_written_next_to_the_history_and_a_corrupt_history_is_left_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let paths = Paths {
            home: dir.path().to_path_buf(),
        };
        let path = write_page(&paths, Lang::En).expect("written with no history yet");
        assert_eq!(path, dir.path().join("contribution.html"));
        let page = std::fs::read_to_string(&path).expect("page");
        assert!(page.contains("What you gave"));
        std::fs::write(paths.history_file(), "{oops").expect("seed");
        let why = write_page(&paths, Lang::En).expect_err("not drawn from a corrupt file");
        assert!(why.contains("is not a valid history"), "{why}");
        assert_eq!(
            std::fs::read_to_string(paths.history_file()).expect("kept"),
            "{oops"
        );
    }

    #[test]
    fn an_empty_history_still_draws_the_frame() {
        let page = render(&History::default(), now(), Lang::En);
        assert_eq!(count(&page, r#"<rect class="bar"#), 30);
        assert_eq!(count(&page, r#"<rect class="seg"#), 0);
        assert!(page.contains(r#"data-cpu-hours="0.00""#));
    }
}
