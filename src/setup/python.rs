//! Choosing the Python for Ray's venv up front: Ray has wheels for some machines and CPython
//! versions only, and pip fails late and cryptically on the others (checked on PyPI with `pip
//! install --dry-run --only-binary=:all:` for 2.60.0 and 2.49.2):
//! - Ray ≥ 2.50 (and the newest): macOS ≥ 12 arm64, or Linux x86_64/aarch64, CPython 3.10–3.14.
//! - Ray ≤ 2.49: CPython 3.9–3.13.
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

/// The first Ray release without Intel-Mac wheels, and with arm64 wheels for macOS ≥ 12 only.
const FIRST_WITHOUT_INTEL_MAC: (u32, u32) = (2, 50);

/// The CPython minor versions Ray `ray` has wheels for on `host`.
pub fn supported_pythons(
    ray: Option<&str>,
    host: &Host,
) -> Result<std::ops::RangeInclusive<u32>, NoBuild> {
    let recent = ray
        .and_then(major_minor)
        .is_none_or(|v| v >= FIRST_WITHOUT_INTEL_MAC);
    let owned = ray.map(str::to_string);
    match (host.os, host.arch) {
        (HostOs::MacOs { .. }, Arch::X86_64) if recent => {
            return Err(NoBuild::IntelMac { ray: owned })
        }
        (
            HostOs::MacOs {
                version: Some((major, minor)),
            },
            Arch::Arm64,
        ) if recent && major < 12 => {
            return Err(NoBuild::OldMacOs {
                ray: owned,
                macos: format!("{major}.{minor}"),
            })
        }
        (HostOs::MacOs { .. } | HostOs::Linux, Arch::Arm64 | Arch::X86_64) => {}
        _ => return Err(NoBuild::Platform { ray: owned }),
    }
    Ok(if recent { 10..=14 } else { 9..=13 })
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
    pub fn interpreters(&self, minors: &std::ops::RangeInclusive<u32>) -> Vec<Interpreter> {
        let mut names: Vec<String> = minors
            .clone()
            .rev()
            .map(|m| format!("python3.{m}"))
            .collect();
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

/// One for this machine's processor with a version Ray has wheels for: the head's minor version
/// when present, else the newest.
pub fn choose<'a>(
    candidates: &'a [Interpreter],
    minors: &std::ops::RangeInclusive<u32>,
    host: &Host,
    head_minor: Option<u32>,
) -> Option<&'a Interpreter> {
    let usable = candidates
        .iter()
        .filter(|i| i.version.0 == 3 && minors.contains(&i.version.1) && i.arch == host.arch);
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

    const ARM_MAC: Host = Host {
        os: HostOs::MacOs {
            version: Some((14, 5)),
        },
        arch: Arch::Arm64,
    };

    #[test]
    fn wheels_by_machine_and_ray_version() {
        assert_eq!(supported_pythons(Some("2.60.0"), &ARM_MAC), Ok(10..=14));
        assert_eq!(supported_pythons(None, &ARM_MAC), Ok(10..=14));
        assert_eq!(supported_pythons(Some("2.49.2"), &ARM_MAC), Ok(9..=13));
        let intel = Host {
            arch: Arch::X86_64,
            ..ARM_MAC
        };
        assert!(matches!(
            supported_pythons(Some("2.60.0"), &intel),
            Err(NoBuild::IntelMac { .. })
        ));
        assert_eq!(supported_pythons(Some("2.49.2"), &intel), Ok(9..=13));
        let big_sur = Host {
            os: HostOs::MacOs {
                version: Some((11, 7)),
            },
            ..ARM_MAC
        };
        assert!(matches!(
            supported_pythons(Some("2.50.0"), &big_sur),
            Err(NoBuild::OldMacOs { .. })
        ));
        let linux_arm = Host {
            os: HostOs::Linux,
            arch: Arch::Arm64,
        };
        assert_eq!(supported_pythons(Some("2.60.0"), &linux_arm), Ok(10..=14));
    }

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
