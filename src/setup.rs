//! `bittrader-worker setup`: a private Python venv with the Ray this cluster needs. A worker whose
//! Ray differs from the head's fails cryptically, so the default is the head's version when its
//! dashboard answers, else the newest; the interpreter is chosen up front ([`python`]), and a
//! machine Ray has no build for is told so before anything is touched. For the app
//! (`--progress-lines`) it prints [`SetupProgress`] lines, which [`parse_progress_line`] reads.

pub mod python;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, Paths};
use crate::dashboard;
use crate::model::InstallStep;
use crate::model::NoBuild;
use crate::platform::command::CountedSpawn;
use crate::platform::tool_search::{is_executable_file, ToolSearch};
use crate::text::cli::{self, SetupStep};
use crate::text::Lang;
use python::{Host, PythonSearch};

/// `bittrader-worker setup`'s options; without a Ray version, the head's, else the newest.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SetupOptions {
    /// Install exactly this Ray version (e.g. 2.60.0).
    #[arg(long)]
    pub ray_version: Option<String>,
    /// Prefer this Python minor version (the head's), e.g. 3.12.
    #[arg(long = "python", value_name = "PYTHON", value_parser = parse_python_minor)]
    pub python_minor: Option<u32>,
    /// Print one progress line per step, for the app (not for people).
    #[arg(long, hide = true)]
    pub progress_lines: bool,
}

/// `3.12` → `12`.
fn parse_python_minor(text: &str) -> Result<u32, String> {
    text.strip_prefix("3.")
        .and_then(|minor| minor.parse().ok())
        .ok_or_else(|| format!("`{text}` is not a Python 3 version such as 3.12"))
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Not a plain version (it could smuggle pip arguments). Shown escaped: it may come from a
    /// head.
    #[error("`{}` is not a Ray version: use digits and dots, e.g. 2.60.0", shown(.0))]
    BadVersion(String),
    /// Ray has no build for this machine.
    #[error("{}", cli::no_build_message(Lang::En, .0))]
    NoBuild(NoBuild),
    /// No interpreter the package index has Ray wheels for (3.`first` to 3.`last` here), and
    /// no `uv` to fetch one.
    #[error(
        "No Python 3.{first} to 3.{last} was found (Ray {ray} needs one). Install one (from \
         python.org, or `brew install python@3.12`), then run `bittrader-worker setup` again."
    )]
    NoPython { first: u32, last: u32, ray: String },
    /// No Python 3 at all (nothing to ask the package index with), and no `uv`.
    #[error(
        "No Python 3 was found (Ray {ray} needs one). Install one (from python.org, or `brew \
         install python@3.12`), then run `bittrader-worker setup` again."
    )]
    NoPythonAtAll { ray: String },
    #[error("creating the data folder {path}: {source}")]
    Home {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
}

/// Creates `~/.bittrader_worker/.venv` (if needed) and installs Ray into it.
pub fn run(paths: &Paths, config: &Config, options: &SetupOptions) -> Result<(), SetupError> {
    let tools = ToolSearch::from_process();
    let search = PythonSearch::for_this_machine(&tools);
    // The app's own `uv`, beside this program in the bundle, before any other.
    let bundled = std::env::current_exe().map(|exe| exe.with_file_name("uv"));
    let uv = bundled.ok().filter(|uv| is_executable_file(uv));
    let (host, uv) = (python::this_host(), uv.or_else(|| tools.find("uv")));
    run_with(paths, config, options, host, &search, uv.as_deref())
}

/// [`run`] on `host`, with the places to look for Python and `uv` given.
pub fn run_with(
    paths: &Paths,
    config: &Config,
    options: &SetupOptions,
    host: Host,
    search: &PythonSearch,
    uv: Option<&Path>,
) -> Result<(), SetupError> {
    let out = Reporter {
        lines: options.progress_lines,
        lang: Lang::current(),
    };
    let version = match &options.ray_version {
        Some(v) => Some(validate_version(v)?),
        None => {
            let (version, sentence) = head_version(config, out.lang);
            out.say(&sentence);
            version
        }
    };
    // The head's Python minor version is preferred (pickled objects and some libraries care);
    // `--python` wins.
    let python_minor = options.python_minor.or_else(|| {
        let head = config.head.as_ref()?;
        let minor = dashboard::head_python_minor(&head.host, Duration::from_secs(3))?;
        out.tell(SetupStep::HeadPython { minor });
        Some(minor)
    });
    // Before anything is touched: which Pythons here the package index has this Ray for; when
    // none, for which it would have it, or that it has none for this machine at all.
    let (ray, ray_shown) = (
        version.as_deref(),
        version.clone().unwrap_or("(newest)".into()),
    );
    let found = search.interpreters(python::LOOKED_FOR);
    let native = python::native(&found, &host);
    let mut minors: Vec<u32> = native.iter().map(|i| i.version.1).collect();
    minors.sort_unstable();
    minors.dedup();
    let usable = native.first().map_or(Vec::new(), |asker| {
        python::with_wheels(&asker.path, &minors, ray)
    });
    // The Python `uv` fetches when none here will do: the head's, else 3.12 where no Python
    // can ask the index, else the newest the index has the Ray for.
    let mut uv_minor = python_minor.unwrap_or(12);
    if let (Some(asker), true) = (native.first(), usable.is_empty()) {
        let elsewhere =
            python::with_wheels(&asker.path, &python::LOOKED_FOR.collect::<Vec<_>>(), ray);
        match (elsewhere.first(), elsewhere.last()) {
            (Some(_), Some(&last)) if uv.is_some() => {
                uv_minor = python_minor
                    .filter(|m| elsewhere.contains(m))
                    .unwrap_or(last);
            }
            (Some(&first), Some(&last)) => {
                let ray = ray_shown;
                return Err(SetupError::NoPython { first, last, ray });
            }
            _ => return Err(SetupError::NoBuild(python::no_build(ray, &host))),
        }
    }
    paths.ensure_home().map_err(|source| SetupError::Home {
        path: paths.home.clone(),
        source,
    })?;
    let venv = paths.venv_dir();
    let mut previous = PreviousVenv::restore_after_a_crash(&venv);
    let venv_python = venv.join("bin").join("python");
    let wants_extras = config.ray.dashboard_details;
    // pip adds the dashboard's extras to a venv but never takes them away: a venv that must lose
    // them, or whose Ray cannot say, is made again.
    let reusable = is_executable_file(&venv_python)
        && python::probe(&venv_python).is_some_and(|i| {
            i.arch == host.arch
                && python_minor.is_none_or(|m| m == i.version.1)
                && !python::with_wheels(&venv_python, &[i.version.1], ray).is_empty()
        })
        && (wants_extras || python::dashboard_extras(&venv_python) == Some(false));
    if !reusable {
        out.step(InstallStep::FindingPython);
        // `uv` can fetch a Python of its own, the way out on a Mac with none.
        let chosen = python::choose(&native, &usable, python_minor);
        let (mut command, python, path) = match (chosen, uv) {
            (Some(chosen), _) => {
                let mut command = Command::new(&chosen.path);
                command.args(["-m", "venv"]);
                let (major, minor, patch) = chosen.version;
                let path = chosen.path.display().to_string();
                (command, format!("{major}.{minor}.{patch}"), Some(path))
            }
            (None, Some(uv)) => {
                let python = format!("3.{uv_minor}");
                let mut command = Command::new(uv);
                command.args(["venv", "--seed", "--python", &python]);
                (command, python, None)
            }
            (None, None) => return Err(SetupError::NoPythonAtAll { ray: ray_shown }),
        };
        out.step(InstallStep::CreatingVenv {
            python: python.clone(),
        });
        let venv_text = venv.display().to_string();
        out.tell(SetupStep::CreatingVenv {
            venv: &venv_text,
            python: &python,
            path: path.as_deref(),
        });
        previous.set_aside()?;
        run_quiet("creating the venv", command.arg(&venv))?;
    }
    let spec = ray_spec(version.as_deref(), wants_extras);
    out.tell(SetupStep::Installing { spec: &spec });
    out.step(InstallStep::Downloading {
        package: "ray".to_string(),
    });
    let mut pip = Command::new(&venv_python);
    pip.args(["-m", "pip", "install", "--upgrade", "--progress-bar"]);
    if out.lines {
        run_translating_pip(pip.args(["off", &spec]), &out)?;
    } else {
        let step = "pip install";
        let status = pip.args(["on", &spec]).status();
        exited(step, status.map_err(|e| failed(step, e))?)?;
    }
    out.step(InstallStep::Checking);
    let ray = venv.join("bin").join("ray");
    let installed = check_ray(&ray)?;
    previous.discard();
    let path = ray.display().to_string();
    out.tell(SetupStep::Ready {
        version: &installed,
        path: &path,
    });
    if out.lines {
        let done = SetupProgress::Done { version: installed };
        println!("{}", progress_line(&done));
    }
    Ok(())
}

/// A working venv set aside while its replacement is made (a venv cannot be moved once made:
/// its scripts name its path), put back if the replacement fails and deleted once it works.
struct PreviousVenv {
    venv: PathBuf,
    aside: PathBuf,
    set_aside: bool,
}

impl PreviousVenv {
    /// For `venv`; one a crash left aside, with no venv in its place, is put back first.
    fn restore_after_a_crash(venv: &Path) -> PreviousVenv {
        let mut aside = venv.as_os_str().to_os_string();
        aside.push(".previous");
        let previous = PreviousVenv {
            venv: venv.to_path_buf(),
            aside: PathBuf::from(aside),
            set_aside: false,
        };
        if previous.aside.exists() {
            if venv.exists() {
                let _ = std::fs::remove_dir_all(&previous.aside);
            } else {
                let _ = std::fs::rename(&previous.aside, venv);
            }
        }
        previous
    }

    fn set_aside(&mut self) -> Result<(), SetupError> {
        if self.venv.exists() {
            let step = "setting the old venv aside";
            std::fs::rename(&self.venv, &self.aside).map_err(|e| failed(step, e))?;
            self.set_aside = true;
        }
        Ok(())
    }

    fn discard(&mut self) {
        if std::mem::take(&mut self.set_aside) {
            let _ = std::fs::remove_dir_all(&self.aside);
        }
    }
}

impl Drop for PreviousVenv {
    fn drop(&mut self) {
        if self.set_aside {
            let _ = std::fs::remove_dir_all(&self.venv);
            let _ = std::fs::rename(&self.aside, &self.venv);
        }
    }
}

/// The head's Ray version from its dashboard, if one is configured, answers, and says a
/// version; and the sentence telling the user what was found. Nothing the head sent reaches
/// pip unless it is a plain version, nor the terminal unescaped.
fn head_version(config: &Config, lang: Lang) -> (Option<String>, String) {
    let say = |step| cli::setup_line(lang, step);
    let Some(head) = config.head.as_ref() else {
        return (None, say(SetupStep::NoHead));
    };
    let host = head.host.as_str();
    match dashboard::head_ray_version(host, Duration::from_secs(3)) {
        Ok(said) => match validate_version(&said) {
            Ok(version) => {
                let sentence = say(SetupStep::HeadRuns {
                    host,
                    version: &version,
                });
                (Some(version), sentence)
            }
            Err(_) => {
                let shown = &shown(&said);
                (None, say(SetupStep::HeadSaidNoVersion { host, shown }))
            }
        },
        Err(e) => {
            let shown = &shown(&e.to_string());
            (None, say(SetupStep::HeadNotAsked { shown }))
        }
    }
}

/// `text` for a terminal: control characters written out (`\u{1b}`), at most 80 characters.
fn shown(text: &str) -> String {
    let escaped: String = text
        .chars()
        .map(|c| match c.is_control() {
            true => c.escape_default().to_string(),
            false => c.to_string(),
        })
        .collect();
    crate::ray_output::shorten(&escaped, 80)
}

/// Versions like `2.60.0`, nothing that could smuggle pip arguments.
pub fn validate_version(version: &str) -> Result<String, SetupError> {
    let ok = !version.is_empty()
        && version.len() <= 32
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.')
        && version.starts_with(|c: char| c.is_ascii_digit());
    if !ok {
        return Err(SetupError::BadVersion(version.to_string()));
    }
    Ok(version.to_string())
}

/// One line of `setup --progress-lines`: [`PROGRESS_PREFIX`] and the JSON of this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupProgress {
    Step(InstallStep),
    Done { version: String },
}

const PROGRESS_PREFIX: &str = "@progress ";

pub fn progress_line(progress: &SetupProgress) -> String {
    let json = serde_json::to_string(progress).unwrap_or_default();
    format!("{PROGRESS_PREFIX}{json}")
}

/// Reads back a line of `setup --progress-lines`; other lines, and a version that is not one, give
/// `None`.
pub fn parse_progress_line(line: &str) -> Option<SetupProgress> {
    let progress = serde_json::from_str(line.strip_prefix(PROGRESS_PREFIX)?).ok()?;
    match &progress {
        SetupProgress::Done { version } if validate_version(version).is_err() => None,
        _ => Some(progress),
    }
}

/// Runs `setup --progress-lines` as a child for the data folder `home`, telling `step` each step
/// as it is printed (a pip install takes minutes); the installed version, or setup's last word.
pub async fn run_child(
    home: PathBuf,
    version: Option<String>,
    step: impl Fn(InstallStep),
) -> Result<String, String> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut child = tokio::process::Command::new(exe)
        .args(["setup", "--progress-lines"])
        .args(
            version
                .iter()
                .flat_map(|version| ["--ray-version", version]),
        )
        .env("BITTRADER_WORKER_HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn_counted()
        .map_err(|e| format!("cannot start setup: {e}"))?;
    let stderr = child.stderr.take();
    let stderr_text = tokio::spawn(async move {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text).await;
        }
        text
    });
    let mut installed = None;
    if let Some(stdout) = child.stdout.take() {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match parse_progress_line(&line) {
                Some(SetupProgress::Step(one)) => step(one),
                Some(SetupProgress::Done { version }) => installed = Some(version),
                None => {}
            }
        }
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    match installed {
        Some(version) if status.success() => Ok(version),
        _ => Err(last_line(&stderr_text.await.unwrap_or_default())
            .map(|line| line.trim_start_matches("Error: ").to_string())
            .unwrap_or_else(|| format!("setup ended with {status}"))),
    }
}

/// What a line of `pip install --progress-bar off` says is starting, if anything.
pub fn pip_step(line: &str) -> Option<InstallStep> {
    let line = line.trim_start();
    if let Some(rest) = line.strip_prefix("Collecting ") {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        return Some(InstallStep::Downloading { package: name });
    }
    if line.starts_with("Installing collected packages") {
        return Some(InstallStep::Installing);
    }
    None
}

/// Sentences for a person (in `lang`), or progress lines for the app.
struct Reporter {
    lines: bool,
    lang: Lang,
}

impl Reporter {
    fn say(&self, sentence: &str) {
        if !self.lines {
            println!("{sentence}");
        }
    }

    /// `step` in a sentence, for a person.
    fn tell(&self, step: SetupStep<'_>) {
        self.say(&cli::setup_line(self.lang, step));
    }

    fn step(&self, step: InstallStep) {
        if self.lines {
            println!("{}", progress_line(&SetupProgress::Step(step)));
        }
    }
}

fn failed(step: &'static str, error: impl ToString) -> SetupError {
    SetupError::Step {
        step,
        detail: error.to_string(),
    }
}

fn exited(step: &'static str, status: std::process::ExitStatus) -> Result<(), SetupError> {
    if status.success() {
        Ok(())
    } else {
        Err(failed(step, status))
    }
}

/// Its output kept for the error (the app reads only progress lines): the last line of stderr.
fn run_quiet(step: &'static str, command: &mut Command) -> Result<(), SetupError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed(step, e))?;
    if output.status.success() {
        return Ok(());
    }
    let detail = last_line(&String::from_utf8_lossy(&output.stderr));
    Err(failed(
        step,
        detail.unwrap_or_else(|| output.status.to_string()),
    ))
}

/// The last line of `text` that says something.
fn last_line(text: &str) -> Option<String> {
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    Some(line.to_string())
}

/// Runs pip, turning its "Collecting …" and "Installing …" lines into progress lines.
fn run_translating_pip(command: &mut Command, out: &Reporter) -> Result<(), SetupError> {
    let step = "pip install";
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| failed(step, e))?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(step) = pip_step(&line) {
                out.step(step);
            }
        }
    }
    exited(step, child.wait().map_err(|e| failed(step, e))?)
}

/// What pip installs: Ray, with its dashboard's extras (`ray[default]`) when `extras`.
pub fn ray_spec(version: Option<&str>, extras: bool) -> String {
    let name = if extras { "ray[default]" } else { "ray" };
    match version {
        Some(v) => format!("{name}=={v}"),
        None => name.to_string(),
    }
}

/// The version the installed `ray --version` says.
fn check_ray(ray: &Path) -> Result<String, SetupError> {
    let step = "checking the installed Ray";
    let output = Command::new(ray)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed(step, format!("{}: {e}", ray.display())))?;
    let text = String::from_utf8_lossy(&output.stdout);
    crate::ray_output::parse_ray_version(&text)
        .filter(|_| output.status.success())
        .ok_or_else(|| {
            failed(
                step,
                format!("{} --version said {:?}", ray.display(), text.trim()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_versions_are_accepted() {
        assert_eq!(validate_version("2.60.0").expect("ok"), "2.60.0");
        assert!(validate_version("2.60.0rc1").is_ok());
        for bad in ["", "latest", "2.60; rm -rf", "--index-url=x", "2.60.0 ray"] {
            assert!(validate_version(bad).is_err(), "{bad}");
        }
    }

    /// A dashboard on loopback (a loopback address of its own: the port is Ray's fixed 8265)
    /// answering every request with `body`; returns its address.
    fn fake_dashboard(ip: &str, body: &'static str) -> Option<String> {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind((ip, dashboard::DASHBOARD_PORT)).ok()?;
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Some(ip.to_string())
    }

    fn config_for(host: &str) -> Config {
        Config {
            head: Some(crate::model::HeadAddress {
                host: host.to_string(),
                port: 6379,
            }),
            ..Config::with_defaults(2)
        }
    }

    #[test]
    fn a_head_naming_a_wheel_path_or_escape_codes_as_its_version_is_not_believed() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "127.86.65.1",
                r#"{"ray_version":"../../x.whl"}"#,
                "`../../x.whl`",
            ),
            (
                "127.86.65.2",
                r#"{"ray_version":"2.60.0\u001b[2J"}"#,
                r"`2.60.0\u{1b}[2J`",
            ),
            (
                "127.86.65.3",
                r#"{"ray_version":"2.60.0 --index-url=http://evil\n"}"#,
                r"--index-url=http://evil\n`",
            ),
        ];
        for &(ip, body, quoted) in cases {
            let Some(host) = fake_dashboard(ip, body) else {
                eprintln!("cannot listen on {ip}:8265: not tested");
                continue;
            };
            let (version, sentence) = head_version(&config_for(&host), Lang::En);
            assert_eq!(version, None, "{body}");
            assert!(sentence.contains(quoted), "{sentence}");
            assert!(sentence.contains("not a version"), "{sentence}");
            assert!(!sentence.chars().any(char::is_control), "{sentence:?}");
        }
        if let Some(host) = fake_dashboard("127.86.65.4", r#"{"ray_version":"2.60.0"}"#) {
            let (version, sentence) = head_version(&config_for(&host), Lang::En);
            assert_eq!(version.as_deref(), Some("2.60.0"), "{sentence}");
        }
    }

    #[test]
    fn a_bad_version_is_shown_escaped() {
        let msg = validate_version("2.60\u{1b}[2J\n").unwrap_err().to_string();
        assert!(!msg.chars().any(char::is_control), "{msg:?}");
        assert!(msg.contains(r"2.60\u{1b}[2J\n"), "{msg}");
    }

    #[test]
    fn progress_lines_round_trip_and_junk_is_ignored() {
        for progress in [
            SetupProgress::Step(InstallStep::CreatingVenv {
                python: "3.12.4".into(),
            }),
            SetupProgress::Step(InstallStep::Installing),
            SetupProgress::Step(InstallStep::Downloading {
                package: "ray".into(),
            }),
            SetupProgress::Done {
                version: "2.60.0".into(),
            },
        ] {
            assert_eq!(
                parse_progress_line(&progress_line(&progress)),
                Some(progress)
            );
        }
        assert_eq!(parse_progress_line("Collecting ray"), None);
        let bad_version = progress_line(&SetupProgress::Done {
            version: "2.60.0; rm -rf /".into(),
        });
        assert_eq!(parse_progress_line(&bad_version), None);
    }
}
