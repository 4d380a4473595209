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

/// The package index as a fake Python's `-m pip index versions ray --python-version 3.N` answers
/// it (recorded answers of pip 23.2), then `rest` of the script for anything else.
#[derive(Clone, Copy)]
enum Index {
    /// An Apple-silicon Mac on macOS 14: Ray up to 2.51.2 for 3.9, up to 2.60.0 for 3.10-3.14.
    AppleSilicon,
    /// An Intel Mac: Ray up to 2.49.2 for 3.9-3.13, nothing newer.
    Intel,
}

fn fake_python(probe: &str, index: Index, rest: &str) -> String {
    let fixture = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        format!("cat '{}'", path.display())
    };
    let (py39, newer) = match index {
        Index::AppleSilicon => (
            fixture("pip23_2_index_versions_ray_py39_linux_x86_64.txt"),
            (
                "3.1[0-4]",
                fixture("pip23_2_index_versions_ray_py312_linux_x86_64.txt"),
            ),
        ),
        Index::Intel => {
            let intel = fixture("pip23_2_index_versions_ray_py312_macosx_12_0_x86_64.txt");
            (intel.clone(), ("3.1[0-3]", intel))
        }
    };
    format!(
        r#"#!/bin/sh
if [ "$1 $2 $3" = "-m pip index" ]; then
  for arg; do [ "$prev" = --python-version ] && version=$arg; prev=$arg; done
  case "$version" in
    3.9) {py39} ;;
    {}) {} ;;
    *) echo 'ERROR: No matching distribution found for ray' >&2; exit 1 ;;
  esac
  exit 0
fi
case "$1" in -c) echo '{probe}' ;; esac
{rest}
"#,
        newer.0, newer.1
    )
}

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
        executable(
            &brew.join("python3.12"),
            &fake_python("3.12.4 arm64", Index::AppleSilicon, ""),
        );
        executable(
            &framework.join("python3.14"),
            &fake_python("3.14.0 arm64", Index::AppleSilicon, ""),
        );
        FakeMac {
            usr_bin,
            brew,
            framework,
            stub_ran,
            _root: root,
        }
    }

    /// A search that finds only the Command Line Tools' Python 3.9.6.
    fn only_the_command_line_tools(&self) -> PythonSearch {
        let tools = self.usr_bin.join("CommandLineTools");
        let python = fake_python("3.9.6 arm64", Index::AppleSilicon, "");
        executable(&tools.join("python3"), &python);
        PythonSearch {
            dirs: vec![tools],
            ..self.search()
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

/// The Pythons `setup` would choose from on `mac`, and those the index has `ray` for.
fn found_and_usable(search: &PythonSearch, ray: &str) -> (Vec<python::Interpreter>, Vec<u32>) {
    let found = search.interpreters(python::LOOKED_FOR);
    let mut minors: Vec<u32> = python::native(&found, &ARM_MAC)
        .iter()
        .map(|i| i.version.1)
        .collect();
    minors.sort_unstable();
    let asker = python::native(&found, &ARM_MAC)[0].path.clone();
    let usable = python::with_wheels(&asker, &minors, Some(ray));
    (found, usable)
}

#[test]
fn the_newest_supported_python_is_chosen_and_the_stub_is_never_run() {
    let mac = FakeMac::new();
    let (found, usable) = found_and_usable(&mac.search(), "2.60.0");
    assert_eq!(usable, [12, 14], "asked of the index");
    let native = python::native(&found, &ARM_MAC);
    let chosen = python::choose(&native, &usable, None).expect("a Python");
    assert_eq!(chosen.path, mac.framework.join("python3.14"));
    assert_eq!(chosen.version, (3, 14, 0));
    assert!(!mac.stub_ran.exists(), "the Xcode stub was run");
}

#[test]
fn the_heads_python_minor_wins_when_present() {
    let mac = FakeMac::new();
    let (found, usable) = found_and_usable(&mac.search(), "2.60.0");
    let native = python::native(&found, &ARM_MAC);
    let chosen = python::choose(&native, &usable, Some(12)).expect("a Python");
    assert_eq!(chosen.path, mac.brew.join("python3.12"));
    assert!(!mac.stub_ran.exists());
}

#[test]
fn an_intel_python_on_apple_silicon_is_passed_over() {
    let mac = FakeMac::new();
    let intel_python = fake_python("3.13.1 x86_64", Index::AppleSilicon, "");
    executable(&mac.brew.join("python3.13"), &intel_python);
    let (found, usable) = found_and_usable(&mac.search(), "2.60.0");
    let native = python::native(&found, &ARM_MAC);
    assert!(native.iter().all(|i| i.version.1 != 13));
    let chosen = python::choose(&native, &usable, Some(13)).expect("a Python");
    assert_ne!(chosen.version.1, 13);
}

/// The cluster of a Mac whose Command Line Tools give Python 3.9.6: Ray 2.51.2 has a cp39 wheel
/// for Apple silicon, so that Python is the one.
#[test]
fn the_command_line_tools_python_gets_a_ray_the_index_has_for_it() {
    let mac = FakeMac::new();
    let search = mac.only_the_command_line_tools();
    let (found, usable) = found_and_usable(&search, "2.51.2");
    assert_eq!(usable, [9]);
    let native = python::native(&found, &ARM_MAC);
    let chosen = python::choose(&native, &usable, Some(9)).expect("a Python");
    assert_eq!(chosen.version, (3, 9, 6));
    let (_, usable) = found_and_usable(&search, "2.60.0");
    assert!(usable.is_empty(), "no 2.60.0 for 3.9");
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
    let intel_python = fake_python("3.12.4 x86_64", Index::Intel, "");
    executable(&mac.brew.join("python3.12"), &intel_python);
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
        err.to_string().starts_with("No Python 3 was found"),
        "{err}"
    );
    assert!(!mac.stub_ran.exists());
}

#[test]
fn a_python_the_index_has_no_ray_for_is_told_which_would_do() {
    let mac = FakeMac::new();
    let (_home, paths) = data_folder();
    let search = mac.only_the_command_line_tools();
    let config = Config::with_defaults(4);
    let err = setup::run_with(&paths, &config, &ray_260(), ARM_MAC, &search, None)
        .expect_err("no Python for 2.60.0");
    assert!(
        err.to_string()
            .starts_with("No Python 3.10 to 3.14 was found (Ray 2.60.0 needs one)"),
        "{err}"
    );
    assert!(!paths.home.exists(), "nothing is created");
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

/// A Python 3.12 whose venvs cannot install from the index: `-m venv DIR` makes a venv whose
/// `python -m pip` fails, as a download cut off does.
const FAILING_VENV: &str = r#"case "$1" in
  -m) for dir; do :; done
      mkdir -p "$dir/bin"
      printf '#!/bin/sh\ncase "$1" in -c) echo "3.12.4 arm64";; *) echo "download cut off" >&2; exit 1;; esac\n' > "$dir/bin/python"
      chmod 755 "$dir/bin/python" ;;
esac"#;

#[test]
fn a_failed_setup_leaves_the_working_venv_as_it_was() {
    let mac = FakeMac::new();
    let python = fake_python("3.12.4 arm64", Index::AppleSilicon, FAILING_VENV);
    executable(&mac.brew.join("python3.12"), &python);
    let (_home, paths) = data_folder();
    // The venv of an earlier setup, on 3.13, with its Ray.
    let venv = paths.venv_dir();
    executable(&venv.join("bin/python"), "#!/bin/sh\necho '3.13.1 arm64'\n");
    executable(
        &venv.join("bin/ray"),
        "#!/bin/sh\necho 'ray, version 2.60.0'\n",
    );
    // The head now runs 3.12, and the download fails.
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

/// Recorded here: `pip index versions ray --only-binary=:all: --python-version 3.9` by pip 21.2.4
/// (the Command Line Tools' pip) and 23.2, and what 23.2 says for a Python with no Ray (3.15).
#[test]
fn pips_index_answers_parse() {
    for recorded in [
        include_str!("fixtures/pip21_2_4_index_versions_ray_py39_linux_x86_64.txt"),
        include_str!("fixtures/pip23_2_index_versions_ray_py39_linux_x86_64.txt"),
    ] {
        let versions = python::parse_index_versions(recorded);
        assert_eq!(versions.first().map(String::as_str), Some("2.51.2"));
        assert!(versions.iter().any(|v| v == "2.9.3"), "{versions:?}");
        assert!(
            !versions.iter().any(|v| v.starts_with("2.60")),
            "{versions:?}"
        );
    }
    let none = include_str!("fixtures/pip23_2_index_versions_ray_py315_none_stderr.txt");
    assert!(python::parse_index_versions(none).is_empty());
}

/// With `uv` at hand, a Mac whose only Python the index has no Ray for gets one from uv: the
/// head's minor version when the index has the Ray for it, else the newest it has.
#[test]
fn with_uv_a_python_the_index_has_the_ray_for_is_fetched() {
    let mac = FakeMac::new();
    let search = mac.only_the_command_line_tools();
    for (head_minor, fetched) in [(None, "3.14"), (Some(12), "3.12"), (Some(9), "3.14")] {
        let (home, paths) = data_folder();
        let ran = home.path().join("uv-ran");
        let uv = home.path().join("uv");
        executable(
            &uv,
            &format!("#!/bin/sh\necho \"$@\" > '{}'\nexit 1\n", ran.display()),
        );
        let options = SetupOptions {
            python_minor: head_minor,
            ..ray_260()
        };
        let config = Config::with_defaults(4);
        let err = setup::run_with(&paths, &config, &options, ARM_MAC, &search, Some(&uv))
            .expect_err("the stand-in uv fails");
        assert!(
            err.to_string().starts_with("creating the venv failed"),
            "{err}"
        );
        let args = std::fs::read_to_string(&ran).expect("uv ran");
        let expected = format!("venv --seed --python {fetched} ");
        assert!(args.starts_with(&expected), "{head_minor:?}: {args}");
    }
}

/// A Python whose `-m venv DIR` makes a venv of fakes: its python answers the probe, the
/// package index and Ray's own check for the dashboard's extras (present once pip was asked for
/// `ray[default]`), and records what pip was asked; its `ray` says 2.60.0.
fn python_making_fake_venvs(probe: &str) -> String {
    let venv_python = fake_python(
        probe,
        Index::AppleSilicon,
        r#"venv=$(dirname "$(dirname "$0")")
case "$2" in *optional_deps*) [ -e "$venv/extras" ] && echo with || echo without; exit 0 ;; esac
if [ "$1 $2" = "-m pip" ]; then
  echo "$@" >> "$venv/pip-args"
  case "$*" in *"ray[default]"*) touch "$venv/extras" ;; esac
fi"#,
    );
    let rest = format!(
        r#"if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin"
  cat > "$3/bin/python" <<'PYTHON'
{venv_python}
PYTHON
  printf '#!/bin/sh\necho "ray, version 2.60.0"\n' > "$3/bin/ray"
  chmod 755 "$3/bin/python" "$3/bin/ray"
fi"#
    );
    fake_python(probe, Index::AppleSilicon, &rest)
}

#[test]
fn rays_dashboard_extras_are_installed_only_when_the_dashboard_gets_the_nodes_details() {
    let mac = FakeMac::new();
    // python.org's 3.14, the newest, is the one chosen.
    let python = python_making_fake_venvs("3.14.0 arm64");
    executable(&mac.framework.join("python3.14"), &python);
    let (_home, paths) = data_folder();
    let venv = paths.venv_dir();
    let search = mac.search();
    let setup = |config: &Config| {
        setup::run_with(&paths, config, &ray_260(), ARM_MAC, &search, None).expect("setup");
        let pip = std::fs::read_to_string(venv.join("pip-args")).expect("pip ran");
        (pip, venv.join("extras").exists())
    };
    let plain = Config::with_defaults(4);
    let (pip, extras) = setup(&plain);
    assert!(pip.contains(" ray==2.60.0") && !extras, "{pip}");

    let mut details = Config::with_defaults(4);
    details.ray.dashboard_details = true;
    let (pip, extras) = setup(&details);
    assert!(pip.contains(" ray[default]==2.60.0") && extras, "{pip}");
    assert_eq!(pip.lines().count(), 2, "the venv was not kept: {pip}");

    // pip cannot take the extras away: the venv is made again, without them.
    let (pip, extras) = setup(&plain);
    assert_eq!(pip.lines().count(), 1, "{pip}");
    assert!(pip.contains(" ray==2.60.0") && !extras, "{pip}");

    // Without extras, wanted or not, the venv is kept.
    let (pip, extras) = setup(&plain);
    assert_eq!(pip.lines().count(), 2, "the venv was not kept: {pip}");
    assert!(!extras, "{pip}");
}
