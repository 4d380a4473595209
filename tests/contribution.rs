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
