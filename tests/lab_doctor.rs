//! `doctor` in the real two-host lab, run in the laptop host: it names the cause for a head that
//! answers, Tailscale stopped, a Ray version skew, a Python patch skew and a head cut off.

use std::path::{Path, PathBuf};

use serde_json::Value;

use bittrader_test_support::lab::{lab, lab_ok, lab_tailscale_status, ready, Lab, HEAD};

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");
const TEST: &str = "doctor lab test";

/// `doctor --json` in the laptop host, with `ray` and Tailscale saying `tailscale_json`.
fn doctor(ray: &Path, tailscale_json: &str) -> Value {
    let home = tempfile::Builder::new()
        .prefix("btw-lab-doctor-")
        .tempdir_in("/tmp")
        .expect("home");
    let config = format!("head = \"{HEAD}:6379\"\nray_path = \"{}\"\n", ray.display());
    std::fs::write(home.path().join("config.toml"), config).expect("config");
    std::fs::write(home.path().join("tailscale.json"), tailscale_json).expect("tailscale.json");
    let fake_tailscale =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_tailscale/tailscale");
    let out = std::process::Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh"))
        .args(["laptop-exec", BIN, "doctor", "--json"])
        .env("BITTRADER_WORKER_HOME", home.path())
        .env("BITTRADER_TAILSCALE", fake_tailscale)
        .env("FAKE_TAILSCALE_JSON", home.path().join("tailscale.json"))
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .expect("doctor");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The outcome and fact of `check`.
fn finding(report: &Value, check: &str) -> (String, String) {
    let findings = report["findings"].as_array().expect("findings");
    let found = findings.iter().find(|f| f["check"] == check).expect(check);
    let text = |key: &str| found[key].as_str().unwrap_or_default().to_string();
    (text("outcome"), text("fact"))
}

#[test]
#[ignore = "slow tier: root, network namespaces and real Ray"]
fn doctor_names_the_cause_in_the_lab() {
    let Some(ray) = ready(TEST) else {
        return;
    };
    lab_ok(&["up"]);
    let _lab = Lab;
    let running = lab_tailscale_status();

    let report = doctor(&ray, &running);
    for check in ["ray", "head-ray", "tailscale", "head-port"] {
        assert_eq!(finding(&report, check).0, "passed", "{check}: {report}");
    }
    let (_, versions) = finding(&report, "head-ray");
    assert!(
        versions.contains("head: Ray 2.") && versions.contains("here: Ray 2."),
        "{versions}"
    );

    let stopped = running.replacen("\"Running\"", "\"Stopped\"", 1);
    let (outcome, fact) = finding(&doctor(&ray, &stopped), "tailscale");
    assert_eq!(
        (outcome.as_str(), fact.contains("Tailscale is stopped")),
        ("failed", true),
        "{fact}"
    );

    let old_ray = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_ray/ray");
    let (outcome, fact) = finding(&doctor(&old_ray, &running), "head-ray");
    assert_eq!(outcome, "failed", "{fact}");
    assert!(fact.contains("here: Ray 2.51.2"), "the skew named: {fact}");

    match std::env::var_os("BITTRADER_TEST_RAY_SKEW").map(PathBuf::from) {
        Some(skewed) if skewed.is_file() => {
            let report = doctor(&skewed, &running);
            let (outcome, fact) = finding(&report, "ray");
            assert_eq!(outcome, "passed", "{fact}");
            let python = std::process::Command::new(skewed.with_file_name("python"))
                .args(["-c", "import platform; print(platform.python_version())"])
                .output()
                .expect("the skewed venv's python");
            let python = format!("Python {}", String::from_utf8_lossy(&python.stdout).trim());
            assert!(
                fact.contains(&python),
                "the worker's own patch release: {fact}"
            );
            let (outcome, fact) = finding(&report, "head-ray");
            assert_eq!(
                outcome, "passed",
                "another patch release is accepted: {fact}"
            );
        }
        _ => eprintln!("{TEST}: BITTRADER_TEST_RAY_SKEW names no ray: the Python skew row not run"),
    }

    lab_ok(&["cut"]);
    let report = doctor(&ray, &running);
    let _ = lab(&["heal"]);
    let (outcome, fact) = finding(&report, "head-port");
    assert_eq!(outcome, "failed", "{fact}");
    assert!(fact.starts_with(&format!("{HEAD}:6379")), "{fact}");
}
