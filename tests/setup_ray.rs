//! `bittrader-worker setup`: the Ray venv with the head's version, asked of the head's
//! dashboard (here a stand-in on 127.0.0.1:8265), and bad versions refused before anything is
//! touched. The install itself is real (pip, from PyPI or its cache), so it takes a little while.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_bittrader-worker")
}

#[test]
fn a_version_that_could_smuggle_pip_arguments_is_refused_and_nothing_is_created() {
    let home = tempfile::tempdir().expect("home");
    let out = Command::new(bin())
        .args(["setup", "--ray-version", "2.60.0 --index-url=http://x"])
        .env("BITTRADER_WORKER_HOME", home.path())
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .expect("setup");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a Ray version"), "{stderr}");
    assert!(!home.path().join(".venv").exists());
}

#[test]
fn setup_from_a_terminal_is_refused_while_the_app_runs_and_nothing_is_touched() {
    use std::os::unix::net::UnixListener;
    let home = tempfile::tempdir().expect("home");
    // The running app, as its control socket answers a status request.
    let listener = UnixListener::bind(home.path().join("control.sock")).expect("socket");
    let app = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("a client");
        let mut request = String::new();
        BufReader::new(&stream)
            .read_line(&mut request)
            .expect("read");
        let reply = r#"{"ok":true,"message":null,"note":null,"report":null}"#;
        writeln!(&stream, "{reply}").expect("reply");
        request
    });
    let out = Command::new(bin())
        .args(["setup", "--ray-version", "2.60.0"])
        .env("BITTRADER_WORKER_HOME", home.path())
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .expect("setup");
    let asked = app.join().expect("the app's thread");
    assert!(asked.contains("status"), "{asked}");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("BitTrader Worker is running"), "{stderr}");
    assert!(!home.path().join(".venv").exists());
}

#[test]
#[ignore = "slow tier: pip and the network (installs Ray)"]
fn setup_installs_the_ray_version_the_head_runs() {
    // The head's dashboard: answers /api/version as a real 2.60.0 head does.
    let listener = match TcpListener::bind("127.0.0.1:8265") {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("!!! SKIPPING: 127.0.0.1:8265 is taken ({e}); a local Ray dashboard runs?");
            return;
        }
    };
    let dashboard = std::thread::spawn(move || {
        let body = include_str!("fixtures/ray260_dashboard_api_version.json");
        if let Ok((stream, _)) = listener.accept() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            // Read the whole request (up to the blank line) before answering, as a server does.
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 0) && !header.trim().is_empty() {
                header.clear();
            }
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            return request;
        }
        String::new()
    });
    let home = tempfile::tempdir().expect("home");
    std::fs::write(
        home.path().join("config.toml"),
        "head = \"127.0.0.1\"\ncpus = 1\n",
    )
    .expect("config");
    let out = Command::new(bin())
        .arg("setup")
        .env("BITTRADER_WORKER_HOME", home.path())
        .env("LC_ALL", "en_US.UTF-8")
        .output()
        .expect("setup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let asked = dashboard.join().expect("dashboard");
    assert!(asked.starts_with("GET /api/version "), "{asked}");
    assert!(
        stdout.contains("The head 127.0.0.1 runs Ray 2.60.0"),
        "{stdout}"
    );
    let ray = home.path().join(".venv/bin/ray");
    let version = Command::new(&ray).arg("--version").output().expect("ray");
    assert!(
        String::from_utf8_lossy(&version.stdout).contains("2.60.0"),
        "{}",
        String::from_utf8_lossy(&version.stdout)
    );
}

/// A machine with no Python `setup` may use (none in its search) gets Ray through `uv`, which
/// comes from the package index (the wheel the .app bundles) and here finds the local 3.11
/// rather than download one: the path a stock Mac takes, but for the Python download, which
/// this machine cannot reach.
#[test]
#[ignore = "slow tier: pip and the network (installs uv and Ray)"]
fn with_no_usable_python_uv_makes_the_venv_and_ray_is_installed() {
    use bittrader_worker::config::{Config, Paths};
    use bittrader_worker::setup::python::{self, PythonSearch};
    use bittrader_worker::setup::{self, SetupOptions};
    let tools = tempfile::tempdir().expect("tools");
    let pins = concat!(env!("CARGO_MANIFEST_DIR"), "/bundle/uv-requirements.txt");
    let installed = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--require-hashes",
        ])
        .args(["--only-binary=:all:", "--target"])
        .arg(tools.path())
        .args(["-r", pins])
        .status()
        .expect("pip");
    assert!(installed.success(), "uv from the index");
    let uv = tools.path().join("bin/uv");
    let home = tempfile::tempdir().expect("home");
    let paths = Paths {
        home: home.path().join("data"),
    };
    let options = SetupOptions {
        ray_version: Some("2.60.0".to_string()),
        python_minor: Some(11),
        progress_lines: false,
    };
    let nothing_usable = PythonSearch::default();
    let config = Config::with_defaults(1);
    let host = python::this_host();
    setup::run_with(&paths, &config, &options, host, &nothing_usable, Some(&uv))
        .expect("setup through uv");
    let ray = paths.venv_dir().join("bin/ray");
    let said = Command::new(&ray).arg("--version").output().expect("ray");
    assert!(String::from_utf8_lossy(&said.stdout).contains("2.60.0"));
    let cfg = std::fs::read_to_string(paths.venv_dir().join("pyvenv.cfg")).expect("pyvenv.cfg");
    assert!(cfg.contains("uv = "), "made by uv: {cfg}");
}
