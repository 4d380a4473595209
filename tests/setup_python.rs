//! `setup` chooses its Python from fake interpreters (small scripts that print what the real
//! probe prints) on fake machines, never runs the macOS Xcode stub, and refuses a machine Ray
//! has no build for with a plain message before touching anything.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bittrader_worker::config::{Config, Paths};
use bittrader_worker::setup::python::{self, Arch, Host, HostOs, PythonSearch};
use bittrader_worker::setup::{self, SetupError, SetupOptions};

const ARM_MAC: Host = Host {
    os: HostOs::MacOs {
        version: Some((14, 5)),
    },
    arch: Arch::Arm64,
};

fn executable(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    std::fs::write(path, body).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A fake Mac: `/usr/bin` holds the Xcode stub (as `python3` and `python3.9`: it records that
/// it ran and fails, as the stub does after popping its dialog), Homebrew has 3.12 and
/// python.org 3.14.
struct FakeMac {
    _root: tempfile::TempDir,
    usr_bin: PathBuf,
    brew: PathBuf,
    framework: PathBuf,
    stub_ran: PathBuf,
}

impl FakeMac {
    fn new() -> FakeMac {
        let root = tempfile::tempdir().expect("root");
        let usr_bin = root.path().join("usr/bin");
        let brew = root.path().join("opt/homebrew/bin");
        let framework = root
            .path()
            .join("Library/Frameworks/Python.framework/Versions/3.14/bin");
        let stub_ran = root.path().join("stub-ran");
        let stub = format!(
            "#!/bin/sh\necho \"$0\" >> '{}'\necho 'xcode-select: note: No developer tools were found, requesting install.' >&2\nexit 1\n",
            stub_ran.display()
        );
        executable(&usr_bin.join("python3"), &stub);
        executable(&usr_bin.join("python3.9"), &stub);
        executable(&brew.join("python3.12"), "#!/bin/sh\necho '3.12.4 arm64'\n");
        executable(
            &framework.join("python3.14"),
            "#!/bin/sh\necho '3.14.0 arm64'\n",
        );
        FakeMac {
            usr_bin,
            brew,
            framework,
            stub_ran,
            _root: root,
        }
    }

    fn search(&self) -> PythonSearch {
        PythonSearch {
            // `/usr/bin` first, to show the rule and not the order keeps the stub unrun.
            dirs: vec![
                self.usr_bin.clone(),
                self.brew.clone(),
                self.framework.clone(),
            ],
            stub_dirs: vec![self.usr_bin.clone()],
            developer_pythons: vec![self.usr_bin.join("no-CommandLineTools/python3")],
        }
    }
}

#[test]
fn the_newest_supported_python_is_chosen_and_the_stub_is_never_run() {
    let mac = FakeMac::new();
    let minors = python::supported_pythons(Some("2.60.0"), &ARM_MAC).expect("arm64 Mac");
    let found = mac.search().interpreters(&minors);
    let chosen = python::choose(&found, &minors, &ARM_MAC, None).expect("a Python");
    assert_eq!(chosen.path, mac.framework.join("python3.14"));
    assert_eq!(chosen.version, (3, 14, 0));
    assert!(!mac.stub_ran.exists(), "the Xcode stub was run");
}

#[test]
fn the_heads_python_minor_wins_when_present() {
    let mac = FakeMac::new();
    let minors = python::supported_pythons(Some("2.60.0"), &ARM_MAC).expect("arm64 Mac");
    let found = mac.search().interpreters(&minors);
    let chosen = python::choose(&found, &minors, &ARM_MAC, Some(12)).expect("a Python");
    assert_eq!(chosen.path, mac.brew.join("python3.12"));
    assert!(!mac.stub_ran.exists());
}

#[test]
fn an_intel_python_on_apple_silicon_is_passed_over() {
    let mac = FakeMac::new();
    executable(
        &mac.brew.join("python3.13"),
        "#!/bin/sh\necho '3.13.1 x86_64'\n",
    );
    let minors = python::supported_pythons(Some("2.60.0"), &ARM_MAC).expect("arm64 Mac");
    let found = mac.search().interpreters(&minors);
    let chosen = python::choose(&found, &minors, &ARM_MAC, Some(13)).expect("a Python");
    assert_ne!(chosen.version.1, 13);
}

#[test]
fn with_the_command_line_tools_installed_usr_bin_may_be_run() {
    let mac = FakeMac::new();
    let tools = mac.usr_bin.join("CommandLineTools/python3");
    executable(&tools, "#!/bin/sh\necho '3.9.6 arm64'\n");
    let search = PythonSearch {
        developer_pythons: vec![tools],
        ..mac.search()
    };
    assert!(search.may_run(&mac.usr_bin.join("python3")));
    assert!(!mac.search().may_run(&mac.usr_bin.join("python3")));
}

/// A data folder that does not exist yet, inside a temporary one.
fn data_folder() -> (tempfile::TempDir, Paths) {
    let home = tempfile::tempdir().expect("home");
    let paths = Paths {
        home: home.path().join("data"),
    };
    (home, paths)
}

fn ray_260() -> SetupOptions {
    SetupOptions {
        ray_version: Some("2.60.0".to_string()),
        ..SetupOptions::default()
    }
}

#[test]
fn an_intel_mac_with_a_recent_head_is_refused_plainly_and_nothing_is_touched() {
    let mac = FakeMac::new();
    let (_home, paths) = data_folder();
    let intel = Host {
        arch: Arch::X86_64,
        ..ARM_MAC
    };
    let err = setup::run_with(
        &paths,
        &Config::with_defaults(4),
        &ray_260(),
        intel,
        &mac.search(),
        None,
    )
    .expect_err("refused");
    assert!(matches!(err, SetupError::NoBuild(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Ray 2.60.0 has no build for Intel Macs (the last one with Intel-Mac builds is 2.49.2). \
         Run Ray 2.49.2 or older on the whole cluster, head included, or contribute from \
         another machine."
    );
    assert!(
        !paths.home.exists(),
        "nothing is created for a refused machine"
    );
    assert!(!mac.stub_ran.exists());
}

#[test]
fn a_mac_without_any_usable_python_and_no_uv_says_what_to_install() {
    let mac = FakeMac::new();
    let (_home, paths) = data_folder();
    let search = PythonSearch {
        dirs: vec![mac.usr_bin.clone()],
        ..mac.search()
    };
    let err = setup::run_with(
        &paths,
        &Config::with_defaults(4),
        &ray_260(),
        ARM_MAC,
        &search,
        None,
    )
    .expect_err("no Python");
    assert!(
        err.to_string()
            .starts_with("No Python 3.10 to 3.14 was found"),
        "{err}"
    );
    assert!(!mac.stub_ran.exists());
}

/// Recorded on this Linux machine: pyenv's CPython 3.12.1 running the probe `setup` runs.
#[test]
fn a_real_interpreters_probe_answer_parses() {
    let out = include_str!("fixtures/python_probe_cpython3_12_1_linux_x86_64.txt");
    assert_eq!(python::parse_probe(out), Some(((3, 12, 1), Arch::X86_64)));
}

/// Recorded on this Linux machine: `python -m pip install --progress-bar off
/// 'ray[default]==2.60.0'` (pip 23.2.1, CPython 3.12.1, a fresh venv), stdout.
#[test]
fn pips_real_output_becomes_downloading_then_installing() {
    use bittrader_worker::model::InstallStep;
    let out = include_str!("fixtures/pip23_2_install_ray260_default_progress_off_linux.txt");
    let steps: Vec<InstallStep> = out.lines().filter_map(setup::pip_step).collect();
    assert_eq!(
        steps.first(),
        Some(&InstallStep::Downloading {
            package: "ray".to_string()
        })
    );
    assert_eq!(steps.last(), Some(&InstallStep::Installing));
    assert!(steps.len() > 10, "{steps:?}");
}

/// A Python 3.12 whose venvs have no index to install from: `-m venv DIR` makes a venv whose
/// `python -m pip` fails, as pip does offline.
const OFFLINE_PYTHON_312: &str = r#"#!/bin/sh
case "$1" in
  -c) echo '3.12.4 arm64' ;;
  -m) for dir; do :; done
      mkdir -p "$dir/bin"
      printf '#!/bin/sh\ncase "$1" in -c) echo "3.12.4 arm64";; *) echo "no index reachable" >&2; exit 1;; esac\n' > "$dir/bin/python"
      chmod 755 "$dir/bin/python" ;;
esac
"#;

#[test]
fn a_failed_setup_leaves_the_working_venv_as_it_was() {
    let mac = FakeMac::new();
    executable(&mac.brew.join("python3.12"), OFFLINE_PYTHON_312);
    let (_home, paths) = data_folder();
    // The venv of an earlier setup, on 3.13, with its Ray.
    let venv = paths.venv_dir();
    executable(&venv.join("bin/python"), "#!/bin/sh\necho '3.13.1 arm64'\n");
    executable(
        &venv.join("bin/ray"),
        "#!/bin/sh\necho 'ray, version 2.60.0'\n",
    );
    // The head now runs 3.12, and the index cannot be reached.
    let options = SetupOptions {
        python_minor: Some(12),
        ..ray_260()
    };
    let search = mac.search();
    let err = setup::run_with(
        &paths,
        &Config::with_defaults(4),
        &options,
        ARM_MAC,
        &search,
        None,
    )
    .expect_err("pip fails");
    assert!(err.to_string().starts_with("pip install failed"), "{err}");
    let python = std::fs::read_to_string(venv.join("bin/python")).expect("the old python");
    assert!(python.contains("3.13.1"), "the venv was replaced: {python}");
    assert!(venv.join("bin/ray").exists(), "the old Ray is gone");
    let beside: Vec<_> = std::fs::read_dir(&paths.home)
        .expect("data folder")
        .flatten()
        .map(|entry| entry.file_name())
        .collect();
    assert_eq!(beside, [venv.file_name().expect("name")], "{beside:?}");
}
