//! `doctor`: every check worded in both languages, `codesign`'s words read from recorded output,
//! and the command run for real on this machine against a head that does not answer.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use bittrader_worker::doctor::parse_codesign;
use bittrader_worker::model::doctor::Check;
use bittrader_worker::text::{doctor as words, Lang};
use clap::ValueEnum;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_check_has_a_title_and_what_to_do_in_both_languages() {
    for &check in Check::value_variants() {
        for lang in [Lang::En, Lang::Es] {
            assert!(!words::title(lang, check).is_empty(), "{check:?} {lang:?}");
            let what = words::what_to_do(lang, check);
            assert!(
                what.ends_with('.'),
                "{check:?} {lang:?}: a sentence: {what}"
            );
        }
        assert_ne!(
            words::what_to_do(Lang::En, check),
            words::what_to_do(Lang::Es, check),
            "{check:?}: the Spanish is a translation"
        );
    }
}

#[test]
fn codesign_says_who_signed_the_app() {
    let adhoc = fixture("macos_codesign_display_verbose4_adhoc_linker_signed_dune5650.txt");
    assert_eq!(
        parse_codesign(&adhoc).as_deref(),
        Some("foo · ad hoc · TeamIdentifier=not set")
    );
    let apple = fixture("macos_codesign_dv_verbose4_apple_signed_craftware.txt");
    assert_eq!(
        parse_codesign(&apple).as_deref(),
        Some("? · Software Signing · TeamIdentifier=not set")
    );
    let unsigned = "/Applications/X.app: code object is not signed at all";
    assert_eq!(parse_codesign(unsigned), None);
}

/// `doctor --json` in a new data folder whose head is a loopback port nobody listens on.
fn doctor_against_a_silent_head(lang: &str) -> (std::process::Output, tempfile::TempDir) {
    let home = tempfile::tempdir().expect("home");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let fake_ray = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_ray/ray");
    let config = format!(
        "head = \"127.0.0.1:{port}\"\nray_path = \"{}\"\n",
        fake_ray.display()
    );
    std::fs::write(home.path().join("config.toml"), config).expect("config");
    // A prompt program that only says its version (on a Mac, AppKit's alert is checked).
    let bin = home.path().join("bin");
    std::fs::create_dir(&bin).expect("bin");
    let zenity = bin.join("zenity");
    std::fs::write(&zenity, "#!/bin/sh\necho 4.0.1\n").expect("zenity");
    std::fs::set_permissions(&zenity, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(BIN)
        .args(["doctor", "--json"])
        .env("PATH", path)
        .env("BITTRADER_WORKER_HOME", home.path())
        .env("BITTRADER_TAILSCALE", home.path().join("no-tailscale"))
        .env("LC_ALL", lang)
        .output()
        .expect("doctor");
    (out, home)
}

#[test]
fn doctor_runs_every_check_once_and_names_a_head_that_does_not_answer() {
    let (out, home) = doctor_against_a_silent_head("en_US.UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{stderr}", String::from_utf8_lossy(&out.stdout)));
    let findings = report["findings"].as_array().expect("findings");
    let ids: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["check"].as_str())
        .collect();
    let all: Vec<Value> = Check::value_variants()
        .iter()
        .map(|c| serde_json::json!(c))
        .collect();
    let expected: Vec<&str> = all.iter().filter_map(Value::as_str).collect();
    assert_eq!(ids, expected, "every check once, in order");
    let finding = |id: &str| {
        let found = findings.iter().find(|f| f["check"] == id);
        found.unwrap_or_else(|| panic!("{id}: {report}")).clone()
    };

    let port = finding("head-port");
    assert_eq!(port["outcome"], "failed", "{port}");
    assert!(
        port["fact"]
            .as_str()
            .is_some_and(|f| f.contains("Ray is not running")),
        "{port}"
    );
    assert!(port["what_to_do"]
        .as_str()
        .is_some_and(|w| w.contains("ray start --head")));
    assert_eq!(
        finding("head-ray")["outcome"],
        "failed",
        "no dashboard answers"
    );
    // The stand-in `ray` says its version but runs on bash, not Python.
    let ray = finding("ray");
    assert_eq!(ray["outcome"], "failed", "{ray}");
    assert!(ray["fact"]
        .as_str()
        .is_some_and(|f| f.starts_with(env!("CARGO_MANIFEST_DIR"))));
    assert_eq!(
        finding("tailscale")["outcome"],
        "not-applicable",
        "a loopback head"
    );
    // An unbundled test binary is signed by the linker on Apple silicon only: no verdict here.
    let on_a_mac = cfg!(target_os = "macos");
    if !on_a_mac {
        assert_eq!(finding("signature")["outcome"], "not-applicable");
    }
    for macos_only in ["notify-round-trip", "app-nap"] {
        let expected = if on_a_mac { "passed" } else { "not-applicable" };
        assert_eq!(finding(macos_only)["outcome"], expected, "{macos_only}");
    }
    for here in [
        "app",
        "system",
        "power",
        "power-changes",
        "data-folder",
        "disk",
    ] {
        assert_eq!(finding(here)["outcome"], "passed", "{here}: {report}");
    }
    let dialog = finding("dialog");
    assert_eq!(dialog["outcome"], "passed", "{dialog}");
    if !on_a_mac {
        assert_eq!(dialog["fact"], "zenity 4.0.1");
    }
    for here in ["sleep-clock", "processes", "priority", "held-connection"] {
        assert_eq!(finding(here)["outcome"], "passed", "{here}: {report}");
    }
    assert_eq!(
        finding("control-socket")["outcome"],
        "not-applicable",
        "no app runs"
    );
    assert_eq!(out.status.code(), Some(1), "a check failed");

    let saved = std::fs::read_to_string(home.path().join("doctor.txt")).expect("doctor.txt");
    let port_line = "FAILED    The head's Ray port: 127.0.0.1:";
    assert!(saved.lines().any(|l| l.starts_with(port_line)), "{saved}");
    assert!(saved.ends_with("not applicable here\n"), "{saved}");
}

#[test]
fn doctor_speaks_the_users_language() {
    let (out, home) = doctor_against_a_silent_head("es_ES.UTF-8");
    assert!(serde_json::from_slice::<Value>(&out.stdout).is_ok());
    let saved = std::fs::read_to_string(home.path().join("doctor.txt")).expect("doctor.txt");
    assert!(
        saved.contains("FALLA     El puerto Ray del head"),
        "{saved}"
    );
    assert!(saved.contains("Comprueba que el head ejecuta"), "{saved}");
}

/// A Mac where the app never ran: no data folder yet is no failure, and the disk is read where
/// the folder will be made.
#[test]
fn before_the_first_start_the_data_folder_is_not_a_failure() {
    let parent = tempfile::tempdir().expect("parent");
    let home = parent.path().join("never-made");
    let out = Command::new(BIN)
        .args(["doctor", "--json"])
        .env("BITTRADER_WORKER_HOME", &home)
        .env("BITTRADER_TAILSCALE", parent.path().join("no-tailscale"))
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .expect("doctor");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = report["findings"].as_array().expect("findings");
    let outcome = |id: &str| {
        let found = findings.iter().find(|f| f["check"] == id).expect(id);
        found["outcome"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(outcome("data-folder"), "not-applicable", "{report}");
    assert_eq!(outcome("disk"), "passed", "{report}");
    assert!(!home.exists(), "doctor makes no data folder");
}
