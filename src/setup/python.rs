//! Choosing the Python for Ray's venv up front: Ray has wheels for some machines and CPython
//! versions only (2.51.2 for 3.9 on Apple silicon, 2.60.0 for 3.10 to 3.14 and macOS 12 or newer,
//! none newer than 2.49.2 for Intel Macs), and pip fails late and cryptically on the others. So
//! the package index is asked which of the Pythons found it has the Ray for ([`with_wheels`]).
//!
//! Without the Command Line Tools, a Mac's `/usr/bin/python3` is a stub that pops a dialog:
//! nothing in `/usr/bin` runs unless the real interpreter behind it exists (a file test).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::model::NoBuild;
use crate::platform::command::run_with_timeout;
use crate::platform::tool_search::{is_executable_file, subdirs_bin, ToolSearch};

/// A first run compiling its caches on a slow disk can take this long; slower is skipped.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Its version and the machine it was built for (an Intel Python under Rosetta would fetch Intel
/// wheels).
const PROBE_PROGRAM: &str =
    "import sys, platform; print('%d.%d.%d' % sys.version_info[:3], platform.machine())";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Arm64,
    X86_64,
    Other,
}

impl Arch {
    /// From `uname -m`, `platform.machine()` or `std::env::consts::ARCH`.
    pub fn from_name(name: &str) -> Arch {
        match name.trim() {
            "arm64" | "aarch64" => Arch::Arm64,
            "x86_64" | "AMD64" | "amd64" => Arch::X86_64,
            _ => Arch::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostOs {
    MacOs { version: Option<(u32, u32)> },
    Linux,
    Other,
}

/// What decides which Ray wheels exist for this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    pub os: HostOs,
    pub arch: Arch,
}

/// The machine this runs on: on macOS its version (sysinfo) and, for an Intel build, whether
/// Rosetta runs it (an Intel build on Apple silicon is still an arm64 machine).
pub fn this_host() -> Host {
    let arch = Arch::from_name(std::env::consts::ARCH);
    if !cfg!(target_os = "macos") {
        let os = match cfg!(target_os = "linux") {
            true => HostOs::Linux,
            false => HostOs::Other,
        };
        return Host { os, arch };
    }
    let version = sysinfo::System::os_version()
        .ok()
        .and_then(|v| major_minor(&v));
    let rosetta = ["-n", "sysctl.proc_translated"];
    let translated = arch == Arch::X86_64
        && run_with_timeout("/usr/sbin/sysctl", &rosetta, Duration::from_secs(5))
            .is_ok_and(|out| out.stdout.trim() == "1");
    Host {
        os: HostOs::MacOs { version },
        arch: if translated { Arch::Arm64 } else { arch },
    }
}

/// `14.5` of macOS `14.5.1`, `2.60` of Ray `2.60.0rc1`; a missing minor is 0.
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().unwrap_or("0");
    let digits = minor.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((major, digits.parse().ok()?))
}

/// The CPython minor versions looked for on this machine (as `python3.N`): which of them Ray has
/// wheels for is the package index's answer ([`with_wheels`]), not a table.
pub const LOOKED_FOR: std::ops::RangeInclusive<u32> = 8..=15;

/// `pip index versions` may wait on a slow index or mirror.
const INDEX_TIMEOUT: Duration = Duration::from_secs(60);

/// The versions in `pip index versions`' answer (`Available versions: 2.60.0, 2.59.0, …`).
pub fn parse_index_versions(said: &str) -> Vec<String> {
    let list = said
        .lines()
        .find_map(|line| line.strip_prefix("Available versions:"));
    let versions = list.into_iter().flat_map(|list| list.split(','));
    versions
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Which of `minors` the package index has a wheel of Ray `ray` (`None`: of any version) for on
/// this machine, asked through `python`'s pip: its configuration, mirror and certificates, and
/// its machine's wheel tags (`pip index versions`, which pip has had since 21.2).
pub fn with_wheels(python: &Path, minors: &[u32], ray: Option<&str>) -> Vec<u32> {
    let has_ray = |minor: &u32| {
        let version = format!("3.{minor}");
        let args = [
            "-m",
            "pip",
            "index",
            "versions",
            "ray",
            "--only-binary=:all:",
        ];
        let args = [&args[..], &["--python-version", &version]].concat();
        let said = run_with_timeout(&python.to_string_lossy(), &args, INDEX_TIMEOUT);
        let versions = said.map_or_else(|_| Vec::new(), |out| parse_index_versions(&out.stdout));
        ray.map_or(!versions.is_empty(), |ray| {
            versions.iter().any(|v| v == ray)
        })
    };
    minors.iter().copied().filter(has_ray).collect()
}

/// Why the index has no Ray for any Python here, in the user's terms.
pub fn no_build(ray: Option<&str>, host: &Host) -> NoBuild {
    let ray = ray.map(str::to_string);
    match (host.os, host.arch) {
        (HostOs::MacOs { .. }, Arch::X86_64) => NoBuild::IntelMac { ray },
        (
            HostOs::MacOs {
                version: Some((major, minor)),
            },
            _,
        ) if major < 12 => NoBuild::OldMacOs {
            ray,
            macos: format!("{major}.{minor}"),
        },
        _ => NoBuild::Platform { ray },
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    pub path: PathBuf,
    pub version: (u32, u32, u32),
    pub arch: Arch,
}

pub fn parse_probe(stdout: &str) -> Option<((u32, u32, u32), Arch)> {
    let line = stdout.lines().find(|l| !l.trim().is_empty())?;
    let (version, machine) = line.trim().split_once(' ')?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    Some((version, Arch::from_name(machine)))
}

/// `None` if it fails or says nothing sensible.
pub fn probe(path: &Path) -> Option<Interpreter> {
    let out = run_with_timeout(
        &path.to_string_lossy(),
        &["-c", PROBE_PROGRAM],
        PROBE_TIMEOUT,
    )
    .ok()
    .filter(|out| out.success())?;
    let (version, arch) = parse_probe(&out.stdout)?;
    Some(Interpreter {
        path: path.to_path_buf(),
        version,
        arch,
    })
}

/// Whether the Ray in `python`'s venv has its dashboard's extras, asked the way Ray asks when it
/// chooses between its full and its minimal dashboard agent; `None` when its Ray does not
/// import or does not answer in time.
pub fn dashboard_extras(python: &Path) -> Option<bool> {
    const ASK: &str = "import ray\ntry:\n    import ray.dashboard.optional_deps\nexcept ImportError:\n    print('without')\nelse:\n    print('with')";
    let out = run_with_timeout(&python.to_string_lossy(), &["-c", ASK], PROBE_TIMEOUT).ok()?;
    match out.stdout.lines().last().map(str::trim) {
        Some("with") if out.success() => Some(true),
        Some("without") if out.success() => Some(false),
        _ => None,
    }
}

#[derive(Debug, Clone, Default)]
pub struct PythonSearch {
    pub dirs: Vec<PathBuf>,
    /// Folders whose `python3` may be the Xcode stub (macOS: `/usr/bin`).
    pub stub_dirs: Vec<PathBuf>,
    /// The real interpreters behind the stub; without one, nothing in `stub_dirs` is run.
    pub developer_pythons: Vec<PathBuf>,
}

impl PythonSearch {
    /// [`ToolSearch`]'s places, the python.org and pyenv installs, `/usr/bin` last.
    pub fn for_this_machine(tools: &ToolSearch) -> PythonSearch {
        let mut dirs = tools.dirs();
        // Newest version first.
        let pyenv = tools.home.as_ref().map(|home| home.join(".pyenv/versions"));
        let python_org = PathBuf::from("/Library/Frameworks/Python.framework/Versions");
        for versions in pyenv.into_iter().chain([python_org]) {
            dirs.extend(subdirs_bin(&versions).into_iter().rev());
        }
        let usr_bin = PathBuf::from("/usr/bin");
        dirs.retain(|dir| *dir != usr_bin);
        dirs.push(usr_bin.clone());
        let macos = cfg!(target_os = "macos");
        PythonSearch {
            dirs,
            stub_dirs: if macos { vec![usr_bin] } else { Vec::new() },
            developer_pythons: if macos {
                vec![
                    PathBuf::from("/Library/Developer/CommandLineTools/usr/bin/python3"),
                    PathBuf::from("/Applications/Xcode.app/Contents/Developer/usr/bin/python3"),
                ]
            } else {
                Vec::new()
            },
        }
    }

    pub fn may_run(&self, path: &Path) -> bool {
        let in_stub_dir = path
            .parent()
            .is_some_and(|dir| self.stub_dirs.iter().any(|stub| stub == dir));
        !in_stub_dir || self.developer_pythons.iter().any(|p| is_executable_file(p))
    }

    /// Every interpreter that may run and whose name allows a version in `minors`, probed, in
    /// search order, each file once.
    pub fn interpreters(&self, minors: std::ops::RangeInclusive<u32>) -> Vec<Interpreter> {
        let mut names: Vec<String> = minors.rev().map(|m| format!("python3.{m}")).collect();
        names.push("python3".to_string());
        let mut seen = std::collections::HashSet::new();
        let paths = self
            .dirs
            .iter()
            .flat_map(|dir| names.iter().map(move |name| dir.join(name)));
        paths
            .filter(|path| is_executable_file(path) && self.may_run(path))
            .filter(|path| {
                seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone()))
            })
            .filter_map(|path| probe(&path))
            .collect()
    }
}

/// This machine's Python 3s: its processor's (an Intel Python under Rosetta would fetch Intel
/// wheels).
pub fn native<'a>(candidates: &'a [Interpreter], host: &Host) -> Vec<&'a Interpreter> {
    let native = |i: &&Interpreter| i.version.0 == 3 && i.arch == host.arch;
    candidates.iter().filter(native).collect()
}

/// One with a minor version in `minors` (those Ray has wheels for): the head's minor version when
/// present, else the newest.
pub fn choose<'a>(
    candidates: &[&'a Interpreter],
    minors: &[u32],
    head_minor: Option<u32>,
) -> Option<&'a Interpreter> {
    let usable = candidates
        .iter()
        .copied()
        .filter(|i| minors.contains(&i.version.1));
    // The first found of the best: ties keep the search order.
    usable.min_by_key(|i| {
        (
            Some(i.version.1) != head_minor,
            std::cmp::Reverse(i.version.1),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(major_minor("14.5\n"), Some((14, 5)));
        assert_eq!(major_minor("26.0.1"), Some((26, 0)));
        assert_eq!(major_minor("12"), Some((12, 0)));
        assert_eq!(major_minor("2.60.0"), Some((2, 60)));
        assert_eq!(major_minor("2.60rc1"), Some((2, 60)));
        assert_eq!(major_minor("2.9.3"), Some((2, 9)));
        assert_eq!(
            parse_probe("3.12.4 arm64\n"),
            Some(((3, 12, 4), Arch::Arm64))
        );
        assert_eq!(parse_probe("Python 3.12.4"), None);
    }
}
