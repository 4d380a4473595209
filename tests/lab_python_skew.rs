//! Real Ray, two hosts, the worker's Python on another patch release than the head's (the
//! image's python3 3.11.7 at the head, Debian's /usr/bin/python3 3.11.2 at the laptop; both
//! venvs made by scripts/test). Ray refuses such a node by default; the app starts its worker so
//! that Ray accepts it, and says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bittrader_test_support::lab::{lab_ok, laptop_nodes, ready, skip_or_fail, Lab, LabDaemon};

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");
const TEST: &str = "Python patch skew lab test";

/// The full version of the Python beside `ray` in its venv.
fn python_beside(ray: &Path) -> String {
    let python = ray.with_file_name("python");
    let out = Command::new(&python)
        .args(["-c", "import platform; print(platform.python_version())"])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
#[ignore = "slow tier: root, network namespaces and Ray on two Pythons"]
fn a_worker_whose_python_differs_from_the_heads_in_the_patch_release_joins() {
    let Some(head_ray) = ready(TEST) else {
        return;
    };
    let Some(worker_ray) = std::env::var_os("BITTRADER_TEST_RAY_SKEW")
        .map(PathBuf::from)
        .filter(|ray| ray.is_file())
    else {
        skip_or_fail(
            TEST,
            "BITTRADER_TEST_RAY_SKEW names no ray (scripts/test makes it where a second Python \
             on another patch release exists)",
        );
        return;
    };
    let (head_python, worker_python) = (python_beside(&head_ray), python_beside(&worker_ray));
    assert_ne!(head_python, worker_python, "no skew to test");
    assert_eq!(
        head_python.rsplit_once('.').map(|v| v.0),
        worker_python.rsplit_once('.').map(|v| v.0),
        "not the same minor release"
    );
    lab_ok(&["up"]);
    let _lab = Lab;

    let daemon = LabDaemon::start(BIN, &worker_ray, "btw-lab-skew-", "");
    daemon.wait("connected", Duration::from_secs(90), |d| {
        d.phase() == "connected"
    });
    daemon.wait("the head to see the node", Duration::from_secs(30), |_| {
        laptop_nodes().iter().any(|n| n["state"] == "ALIVE")
    });
    let status = daemon.status();
    let skew = &status["status"]["python_skew"];
    assert_eq!(skew["head"], head_python.as_str(), "{status}");
    assert_eq!(skew["this_machine"], worker_python.as_str(), "{status}");
    let log = daemon.log();
    let said = format!("Python {worker_python} differs from the head's {head_python}");
    assert_eq!(log.matches(&said).count(), 1, "said once: {log}");
    let human = daemon.cli(&["status"]);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains(&said),
        "{}",
        String::from_utf8_lossy(&human.stdout)
    );
}
