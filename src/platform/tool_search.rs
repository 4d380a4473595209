//! Where a GUI app looks for tools (`ray`, `python3.12`, `uv`): opened from Finder or by launchd
//! it gets `PATH=/usr/bin:/bin:/usr/sbin:/sbin`. Like editors, it looks in the well-known install
//! places, then in the login shell's PATH, asked once by [`load_login_shell_path`] (blocking: run
//! it off any event loop). It never runs what it finds.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use super::command::run_with_timeout;

/// A slow rc file or a prompt waiting for input is given up on; VS Code waits 10 s too.
pub const LOGIN_SHELL_TIMEOUT: Duration = Duration::from_secs(10);

/// Marks the PATH line, so that whatever the rc files print is skipped.
const PATH_MARK: &str = "_BITTRADER_LOGIN_PATH_=";

static LOGIN_SHELL_PATH: OnceLock<Option<OsString>> = OnceLock::new();

/// The `ray` to run: the configured one (even if missing, so the error names it), else the app
/// venv's, else the first `search` finds.
pub fn find_ray(
    configured: Option<&Path>,
    app_venv_ray: &Path,
    search: &ToolSearch,
) -> Option<PathBuf> {
    if let Some(path) = configured {
        return Some(path.to_path_buf());
    }
    if is_executable_file(app_venv_ray) {
        return Some(app_venv_ray.to_path_buf());
    }
    search.find("ray")
}

/// Where to look, in order and each folder once: the well-known places under `home`, this process's
/// `path`, then the login shell's.
#[derive(Debug, Clone, Default)]
pub struct ToolSearch {
    pub home: Option<PathBuf>,
    pub path: Option<OsString>,
    pub login_path: Option<OsString>,
}

impl ToolSearch {
    /// `$HOME`, `$PATH`, and the login shell's PATH if already loaded (it never starts a shell).
    pub fn from_process() -> ToolSearch {
        ToolSearch {
            home: std::env::var_os("HOME").map(PathBuf::from),
            path: std::env::var_os("PATH"),
            login_path: LOGIN_SHELL_PATH.get().cloned().flatten(),
        }
    }

    pub fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs = well_known_dirs(self.home.as_deref());
        for path in [&self.path, &self.login_path].into_iter().flatten() {
            dirs.extend(std::env::split_paths(path));
        }
        let mut seen = std::collections::HashSet::new();
        dirs.retain(|dir| !dir.as_os_str().is_empty() && seen.insert(dir.clone()));
        dirs
    }

    pub fn find(&self, name: &str) -> Option<PathBuf> {
        self.dirs()
            .into_iter()
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable_file(candidate))
    }
}

/// Where tools are installed that a GUI app's PATH misses, most specific first; folders named after
/// a version or an environment (conda envs, uv tools, `pip install --user`) are listed from the
/// disk.
pub fn well_known_dirs(home: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = vec![
        PathBuf::from("/opt/homebrew/bin"),
        PathBuf::from("/usr/local/bin"),
    ];
    let conda_bases = ["miniforge3", "mambaforge", "miniconda3", "anaconda3"];
    if let Some(home) = home {
        dirs.push(home.join(".local/bin"));
        for base in conda_bases {
            dirs.push(home.join(base).join("bin"));
            dirs.extend(subdirs_bin(&home.join(base).join("envs")));
        }
        dirs.push(home.join(".pyenv/shims"));
        dirs.extend(subdirs_bin(&home.join(".local/share/uv/tools")));
        dirs.extend(subdirs_bin(&home.join("Library/Python")));
        dirs.push(home.join(".cargo/bin"));
    }
    for base in conda_bases {
        dirs.push(Path::new("/opt").join(base).join("bin"));
    }
    dirs.push(PathBuf::from("/opt/homebrew/Caskroom/miniforge/base/bin"));
    dirs.push(PathBuf::from(
        "/Library/Frameworks/Python.framework/Versions/Current/bin",
    ));
    dirs
}

/// `parent/*/bin`, sorted by name.
pub fn subdirs_bin(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|dir| dir.is_dir())
        .collect();
    dirs.sort();
    dirs
}

pub fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Asks `shell` as a login shell (`-l`: `~/.zprofile` and friends run, as for Terminal) for its
/// PATH, waiting up to [`LOGIN_SHELL_TIMEOUT`].
pub fn login_shell_path(shell: &Path) -> Option<OsString> {
    let script = format!("printf '\\n{PATH_MARK}%s\\n' \"$PATH\"");
    let output = run_with_timeout(
        &shell.to_string_lossy(),
        &["-l", "-c", &script],
        LOGIN_SHELL_TIMEOUT,
    )
    .ok()?;
    parse_login_shell_output(&output.stdout).map(OsString::from)
}

/// The last marked line (rc files may print banners before it).
pub fn parse_login_shell_output(stdout: &str) -> Option<&str> {
    stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(PATH_MARK))
        .map(str::trim_end)
        .filter(|path| !path.is_empty())
}

/// `$SHELL`, else the account's (launchd may give no `$SHELL`).
fn user_shell() -> Option<OsString> {
    if let Some(shell) = std::env::var_os("SHELL").filter(|s| !s.is_empty()) {
        return Some(shell);
    }
    let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok()??;
    let shell = user.shell.into_os_string();
    (!shell.is_empty()).then_some(shell)
}

/// The login shell's PATH, asked on the first call and remembered, failure included, so no second
/// shell is ever started.
pub fn load_login_shell_path() -> Option<OsString> {
    LOGIN_SHELL_PATH
        .get_or_init(|| login_shell_path(Path::new(&user_shell()?)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marked_line_wins_over_rc_file_banners() {
        let out = "Welcome!\n\n_BITTRADER_LOGIN_PATH_=/opt/homebrew/bin:/usr/bin\n";
        assert_eq!(
            parse_login_shell_output(out),
            Some("/opt/homebrew/bin:/usr/bin")
        );
        assert_eq!(parse_login_shell_output("no mark\n"), None);
        assert_eq!(
            parse_login_shell_output("\n_BITTRADER_LOGIN_PATH_=\n"),
            None
        );
    }

    #[test]
    fn folders_come_in_order_and_once() {
        let search = ToolSearch {
            home: Some(PathBuf::from("/Users/ana")),
            path: Some(OsString::from("/usr/bin:/bin:/usr/local/bin")),
            login_path: Some(OsString::from("/Users/ana/bin:/usr/bin")),
        };
        let dirs = search.dirs();
        assert_eq!(dirs[0], PathBuf::from("/opt/homebrew/bin"));
        assert_eq!(dirs[2], PathBuf::from("/Users/ana/.local/bin"));
        let count = |d: &str| dirs.iter().filter(|x| x.as_path() == Path::new(d)).count();
        assert_eq!(count("/usr/local/bin"), 1);
        assert_eq!(count("/usr/bin"), 1);
        let pos = |d: &str| dirs.iter().position(|x| x.as_path() == Path::new(d));
        assert!(pos("/usr/bin") < pos("/Users/ana/bin"));
    }
}
