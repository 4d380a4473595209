//! What you gave, from the outside: `bittrader-worker stats` reads history.json with no app
//! running, and the contribution page renders in a real browser (headless Chromium).

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bittrader-worker"))
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// A history with `hours` CPU-hours today, and 18 on the day before yesterday.
fn write_history(home: &Path, hours: f64) {
    let before = today() - chrono::Days::new(2);
    let json = serde_json::json!({
        "version": 1,
        "days": {
            today().to_string(): { "cpu_secs": hours * 3600.0 },
            before.to_string(): { "cpu_secs": 18.0 * 3600.0 },
        },
        "timeline": [
            { "from": (chrono::Utc::now() - chrono::Duration::hours(30)).to_rfc3339(), "state": "connected" },
            { "from": (chrono::Utc::now() - chrono::Duration::hours(5)).to_rfc3339(), "state": "paused", "reason": "on_battery" },
        ],
    });
    std::fs::write(home.join("history.json"), json.to_string()).expect("history written");
}

fn stats(home: &Path, args: &[&str], lang: &str) -> std::process::Output {
    bin()
        .arg("stats")
        .args(args)
        .env("BITTRADER_WORKER_HOME", home)
        .env("LC_ALL", lang)
        .output()
        .expect("stats runs")
}

#[test]
fn stats_reads_the_history_with_no_app_running() {
    let home = tempfile::tempdir().expect("home");
    write_history(home.path(), 3.2);
    let out = stats(home.path(), &[], "C");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Today 3.2 CPU-h · 7 days 21 CPU-h\n"),
        "{text}"
    );
    let out = stats(home.path(), &[], "es_ES.UTF-8");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Hoy 3,2 CPU-h · 7 días 21 CPU-h\n"),
        "{text}"
    );

    let out = stats(home.path(), &["--page"], "C");
    assert!(out.status.success(), "{out:?}");
    let page = std::fs::read_to_string(home.path().join("contribution.html")).expect("page");
    assert!(page.contains("<title>What you gave · BitTrader Worker</title>"));

    let out = stats(home.path(), &["--json"], "C");
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["today_cpu_hours"], 3.2);
    assert_eq!(json["week_cpu_hours"], 21.2);
    assert_eq!(json["days"].as_array().map(Vec::len), Some(30));
    let timeline = json["timeline"].as_array().expect("timeline");
    assert_eq!(timeline.len(), 2);
    assert_eq!(timeline[1]["state"], "paused");
    assert_eq!(timeline[1]["reason"], "on_battery");
}

#[test]
fn stats_with_no_history_says_zero_and_a_corrupt_one_is_reported_and_left_alone() {
    let home = tempfile::tempdir().expect("home");
    let out = stats(home.path(), &[], "C");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Today 0.0 CPU-h · 7 days 0.0 CPU-h"));

    std::fs::write(home.path().join("history.json"), "{\"days\": [").expect("seed");
    let out = stats(home.path(), &[], "C");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a valid history"), "{err}");
    assert_eq!(
        std::fs::read_to_string(home.path().join("history.json")).expect("still there"),
        "{\"days\": ["
    );
}

// ---------------------------------------------------------------------------------------------
// The page in a real browser
// ---------------------------------------------------------------------------------------------

use bittrader_worker::history::page::render;
use bittrader_worker::history::History;
use bittrader_worker::model::{Activity, PauseReason};
use bittrader_worker::text::Lang;
use chrono::{DateTime, FixedOffset, TimeZone, Utc};

/// Chromium, as Debian installs it.
fn chromium() -> Option<std::path::PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with `args`, giving up after a minute.
fn run_chromium(browser: &Path, profile: &Path, args: &[String]) -> std::process::Output {
    use wait_timeout::ChildExt;
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            // Nothing may be fetched: the page is self-contained.
            "--proxy-server=127.0.0.1:9",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Both pipes drained while it runs, so a chatty browser never blocks on a full pipe.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            text
        })
    };
    let reader = drain(Box::new(child.stdout.take().expect("stdout")));
    let errors = drain(Box::new(child.stderr.take().expect("stderr")));
    let status = match child
        .wait_timeout(std::time::Duration::from_secs(60))
        .expect("wait")
    {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium took more than a minute");
        }
    };
    let stdout = reader.join().unwrap_or_default();
    let stderr = errors.join().unwrap_or_default();
    std::process::Output {
        status,
        stdout,
        stderr,
    }
}

/// Sunday 29 Nov 2026, 15:30 in Madrid (UTC+1).
fn page_now() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(3600)
        .expect("offset")
        .with_ymd_and_hms(2026, 11, 29, 15, 30, 0)
        .single()
        .expect("time")
}

/// A month of a laptop that contributes in the evenings and at night: varied days, and a week
/// of connected, paused (by the user, on battery, asleep) and disconnected stretches.
fn month_of_history() -> History {
    let mut history = History::default();
    let today = page_now().date_naive();
    let pattern = [
        6.4, 9.8, 3.1, 0.0, 12.5, 15.2, 7.7, 4.9, 10.3, 2.2, 8.8, 13.9, 5.5, 1.3, 9.1,
    ];
    for back in 0..30u64 {
        let hours: f64 = pattern[(back as usize * 7) % pattern.len()];
        history.add_cpu(
            today - chrono::Days::new(back),
            std::time::Duration::from_secs_f64(hours * 3600.0),
        );
    }
    let local = |days_back: i64, h: u32, m: u32| -> DateTime<Utc> {
        let day = today - chrono::Days::new(days_back as u64);
        page_now()
            .timezone()
            .from_local_datetime(&day.and_hms_opt(h, m, 0).expect("time"))
            .single()
            .expect("local")
            .with_timezone(&Utc)
    };
    use Activity::*;
    let paused = |reason| Paused { reason };
    let week = [
        (7, 23, 0, Off),
        (6, 8, 40, Disconnected),
        (6, 8, 41, Connected),
        (6, 12, 30, paused(PauseReason::OnBattery)),
        (6, 14, 10, Connected),
        (6, 23, 50, paused(PauseReason::Asleep)),
        (5, 7, 30, Connected),
        (5, 18, 0, paused(PauseReason::User)),
        (5, 21, 0, Connected),
        (4, 9, 15, Disconnected),
        (4, 10, 5, Connected),
        (3, 1, 0, paused(PauseReason::Asleep)),
        (3, 8, 0, Connected),
        (3, 13, 0, paused(PauseReason::LowBattery)),
        (3, 14, 30, Connected),
        (2, 19, 0, Off),
        (1, 8, 20, Disconnected),
        (1, 8, 21, Connected),
        (1, 17, 45, paused(PauseReason::OnBattery)),
        (1, 19, 0, Connected),
        (0, 2, 0, paused(PauseReason::Asleep)),
        (0, 9, 10, Connected),
        (0, 11, 0, paused(PauseReason::User)),
        (0, 12, 15, Connected),
    ];
    for (back, h, m, activity) in week {
        history.record(local(back, h, m), activity);
    }
    history
}

/// The value of attribute `name` in the tag starting at `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

/// Every start tag `<name ...>` in `dom` whose class starts with `class`.
fn tags<'a>(dom: &'a str, name: &str, class: &str) -> Vec<&'a str> {
    let open = format!("<{name} class=\"{class}");
    dom.match_indices(&open)
        .map(|(at, _)| {
            let end = dom[at..].find('>').map_or(dom.len(), |e| at + e);
            &dom[at..end]
        })
        .collect()
}

#[test]
#[ignore = "slow tier: Chromium"]
fn the_contribution_page_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        bittrader_test_support::skip::skip_or_fail(
            "contribution page test",
            "chromium is not installed",
            Some("(Debian: apt-get install chromium)"),
            "BITTRADER_REQUIRE_BROWSER",
        );
        return;
    };
    let work = tempfile::tempdir().expect("dir");
    let shots = std::env::var_os("BITTRADER_PAGE_SHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| work.path().to_path_buf());
    let history = month_of_history();
    let page = work.path().join("contribution.html");
    std::fs::write(&page, render(&history, page_now(), Lang::En)).expect("page written");
    let url = format!("file://{}", page.display());

    // The DOM as Chromium parsed it: 30 bars of the right heights, the timeline's segments.
    let out = run_chromium(
        &browser,
        &work.path().join("profile-dom"),
        &["--dump-dom".to_string(), url.clone()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let bars = tags(&dom, "rect", "bar");
    assert_eq!(bars.len(), 30, "30 bars");
    let hours: Vec<f64> = bars
        .iter()
        .map(|b| {
            attr(b, "data-cpu-hours")
                .and_then(|v| v.parse().ok())
                .expect("hours")
        })
        .collect();
    let today = page_now().date_naive();
    let expected: Vec<f64> = history
        .last_days(today, 30)
        .iter()
        .map(|(_, secs)| (secs / 3600.0 * 100.0).round() / 100.0)
        .collect();
    assert_eq!(hours, expected, "the bars in date order");
    // The tallest day (15.2 CPU-h) on a 20 CPU-h scale over 196 units.
    for (bar, h) in bars.iter().zip(&hours) {
        let height: f64 = attr(bar, "height")
            .and_then(|v| v.parse().ok())
            .expect("height");
        assert!((height - h / 20.0 * 196.0).abs() < 0.02, "{bar}");
    }
    assert_eq!(attr(bars[29], "data-date"), Some("2026-11-29"));
    assert!(
        dom.contains("<title>Nov 29: 6.4 CPU-h</title>"),
        "today's bar's tooltip"
    );
    assert!(
        dom.contains("<title>Nov 24: 15 CPU-h</title>"),
        "the tallest day's"
    );
    assert_eq!(tags(&dom, "rect", "bar today").len(), 1);
    assert_eq!(tags(&dom, "g", "row").len(), 7, "7 days of timeline");
    let segments = tags(&dom, "rect", "seg");
    let states: std::collections::BTreeSet<&str> = segments
        .iter()
        .filter_map(|s| attr(s, "data-state"))
        .collect();
    for state in [
        "connected",
        "paused-user",
        "paused-on-battery",
        "paused-low-battery",
        "paused-asleep",
        "disconnected",
        "off",
    ] {
        assert!(states.contains(state), "{state} in {states:?}");
    }
    assert!(dom.contains("<title>Paused: low battery 13:00–14:30</title>"));
    assert_eq!(tags(&dom, "span", "swatch").len(), 9, "the legend");

    // The picture: light and dark, not blank, with the bars' blue and the timeline's green.
    for (name, dark) in [("contribution.png", false), ("contribution-dark.png", true)] {
        let shot = shots.join(name);
        let mut args = vec![
            format!("--screenshot={}", shot.display()),
            "--window-size=860,1060".to_string(),
            "--force-device-scale-factor=1".to_string(),
        ];
        if dark {
            args.push("--force-dark-mode".to_string());
            args.push("--blink-settings=preferredColorScheme=0".to_string());
        }
        args.push(url.clone());
        let out = run_chromium(
            &browser,
            &work.path().join(format!("profile-{name}")),
            &args,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (width, height, pixels) = decode_png(&shot);
        assert_eq!((width, height), (860, 1060));
        let count = |rgb: [u8; 3]| {
            pixels
                .iter()
                .filter(|p| p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 6))
                .count()
        };
        let distinct: std::collections::HashSet<[u8; 3]> = pixels.iter().copied().collect();
        assert!(
            distinct.len() > 50,
            "{name}: {} colours: blank?",
            distinct.len()
        );
        let (background, green, accent) = if dark {
            ([0x1c, 0x1c, 0x1e], [0x30, 0xd1, 0x58], [0x0a, 0x84, 0xff])
        } else {
            ([0xf5, 0xf5, 0xf7], [0x34, 0xc7, 0x59], [0x00, 0x7a, 0xff])
        };
        assert!(count(background) > 100_000, "{name}: the page's background");
        assert!(count(green) > 5_000, "{name}: connected segments");
        assert!(count(accent) > 300, "{name}: today's bar");
        eprintln!("screenshot: {}", shot.display());
    }
}

/// Width, height and RGB pixels of a PNG.
fn decode_png(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("screenshot written"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buffer).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = buffer[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, pixels)
}
