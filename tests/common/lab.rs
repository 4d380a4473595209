//! The two-host lab (tests/lab/lab.sh) as the real-Ray tests use it: running lab.sh, the Ray
//! under test, the loud skip where a lab is impossible, and the guard that takes it down.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// tests/lab/
pub fn lab_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab")
}

/// The Ray under test (`BITTRADER_TEST_RAY`, set by scripts/test).
pub fn ray() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("BITTRADER_TEST_RAY")?);
    path.is_file().then_some(path)
}

/// Runs `lab.sh ARGS…`.
pub fn lab(args: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(lab_dir().join("lab.sh"))
        .args(args)
        .env("RAY", ray().unwrap_or_default())
        .output()
        .expect("running lab.sh")
}

/// Runs `lab.sh ARGS…`, which must succeed; its output.
pub fn lab_ok(args: &[&str]) -> String {
    let out = lab(args);
    assert!(
        out.status.success(),
        "lab.sh {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Says loudly that `test` cannot run here, and fails instead where `BITTRADER_REQUIRE_LAB`
/// is set (CI), so a broken lab never hides behind a skip.
pub fn skip_or_fail(test: &str, reason: &str) {
    let loud = format!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPING the {test}: {reason}\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    if std::env::var_os("BITTRADER_REQUIRE_LAB").is_some() {
        panic!("{loud}BITTRADER_REQUIRE_LAB is set, so this is a failure");
    }
    eprintln!("{loud}");
}

/// Takes the lab down when the test ends, whatever happens.
pub struct Lab;

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = lab(&["down"]);
    }
}
