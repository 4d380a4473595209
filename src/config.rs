//! The on-disk configuration: where files live, what `config.toml` may say, and the one-time
//! import of the old shell install's `config.env` / `current_cpus`.
//!
//! This module reads and writes files under the worker's home folder and validates values. It
//! never starts processes and never decides anything at run time: that is the supervisor's job.
//! A file it cannot understand is reported (path, key, what is allowed) and left untouched.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{HeadAddress, HeadAddressError, HEAD_ADDRESS_HINT};

/// A configuration problem, worded for the user who has to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither `$BITTRADER_WORKER_HOME` nor `$HOME` is set, so there is no folder to use.
    #[error("cannot find the worker's folder: set BITTRADER_WORKER_HOME or HOME")]
    NoHome,
    /// `$BITTRADER_WORKER_HOME` is relative: it would change with the current directory.
    #[error(
        "BITTRADER_WORKER_HOME is `{}`, a relative path: use an absolute path such as \
         /Users/you/.bittrader_worker",
        path.display()
    )]
    RelativeHome {
        /// The value that was given.
        path: PathBuf,
    },
    /// A file exists but says something we cannot accept (syntax, unknown key, bad value).
    /// The message names the key and what is allowed; the file is left as it is.
    #[error("{}: {message}", path.display())]
    File {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A value is out of range (from a file or the command line). `Config::load_or_import`
    /// turns this into [`ConfigError::File`] so that the file is named too.
    #[error("{key}: {message}")]
    Invalid {
        /// The setting, as written in config.toml (`cpus`, `timing.grace_secs`).
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// Reading a file failed for a reason other than "it does not exist".
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A head address that cannot be used (from the command line or the control socket).
    #[error(transparent)]
    HeadAddress(#[from] HeadAddressError),
    /// Writing config.toml failed; the previous file (if any) is intact.
    #[error("cannot save {}: {source}", path.display())]
    Save {
        /// The file that could not be written.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// Where every file of the worker lives: one folder, by default `~/.bittrader_worker`
/// (the old shell install used the same folder, which is how its settings are found).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The worker's folder.
    pub home: PathBuf,
}

impl Paths {
    /// `$BITTRADER_WORKER_HOME` if set (and not empty), else `$HOME/.bittrader_worker`.
    pub fn from_env() -> Result<Paths, ConfigError> {
        Self::from_vars(
            std::env::var_os("BITTRADER_WORKER_HOME"),
            std::env::var_os("HOME"),
        )
    }

    /// [`Paths::from_env`] without touching the process environment (tests).
    fn from_vars(
        worker_home: Option<OsString>,
        home: Option<OsString>,
    ) -> Result<Paths, ConfigError> {
        if let Some(dir) = worker_home.filter(|v| !v.is_empty()) {
            let path = PathBuf::from(dir);
            // A launchd agent runs with cwd `/`, a terminal elsewhere: a relative folder would
            // silently split the configuration in two.
            if path.is_relative() {
                return Err(ConfigError::RelativeHome { path });
            }
            return Ok(Paths { home: path });
        }
        match home.filter(|v| !v.is_empty()) {
            Some(home) => Ok(Paths {
                home: PathBuf::from(home).join(".bittrader_worker"),
            }),
            None => Err(ConfigError::NoHome),
        }
    }

    /// `config.toml`: the configuration this program owns.
    pub fn config_file(&self) -> PathBuf {
        self.home.join("config.toml")
    }

    /// `config.env`: the old shell install's settings (`HEAD_IP=...`), read once on import.
    pub fn legacy_env(&self) -> PathBuf {
        self.home.join("config.env")
    }

    /// `current_cpus`: the old shell install's CPU count, read once on import.
    pub fn legacy_cpus(&self) -> PathBuf {
        self.home.join("current_cpus")
    }

    /// `worker.log`: this program's own log.
    pub fn log_file(&self) -> PathBuf {
        self.home.join("worker.log")
    }

    /// `ray-worker.out`: the output of `ray start --block`.
    pub fn ray_log_file(&self) -> PathBuf {
        self.home.join("ray-worker.out")
    }

    /// `control.sock`: the local socket the CLI talks to the daemon through.
    pub fn socket(&self) -> PathBuf {
        self.home.join("control.sock")
    }

    /// `supervisor.lock`: held by the running daemon so that only one runs.
    pub fn lock_file(&self) -> PathBuf {
        self.home.join("supervisor.lock")
    }

    /// `worker.pid`: the Ray worker's process id, to clean up an orphan after a crash.
    pub fn worker_pid_file(&self) -> PathBuf {
        self.home.join("worker.pid")
    }

    /// `.venv`: the Python environment holding Ray.
    pub fn venv_dir(&self) -> PathBuf {
        self.home.join(".venv")
    }

    /// Creates the folder with mode 0700, or narrows an existing one to 0700: it holds the
    /// control socket and may point at an auth token, so other users must not get in.
    pub fn ensure_home(&self) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.home)?;
        let meta = fs::metadata(&self.home)?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists but is not a folder", self.home.display()),
            ));
        }
        // `recursive(true)` does not touch a folder that already exists, and the umask may
        // have changed the bits of a new one: set them explicitly.
        if meta.permissions().mode() & 0o777 != 0o700 {
            fs::set_permissions(&self.home, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// HeadAddress
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Mode, NodeIp, Timing
// ---------------------------------------------------------------------------------------------

/// How the worker treats the machine's situation (battery, network changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Decide from the machine (laptop or desktop).
    #[default]
    Auto,
    /// A laptop that moves between networks and sleeps.
    Mobile,
    /// A machine that stays put on one network.
    Fixed,
}

/// Which IP this node announces to the cluster (`ray start --node-ip-address`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum NodeIp {
    /// Let the worker pick the address that reaches the head (e.g. the Tailscale IP).
    #[default]
    Auto,
    /// Always announce this address.
    Fixed(IpAddr),
}

/// Why a `node_ip` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a node IP: use \"auto\" or an IP address like 100.64.0.2")]
pub struct NodeIpError(pub String);

impl FromStr for NodeIp {
    type Err = NodeIpError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("auto") {
            return Ok(NodeIp::Auto);
        }
        t.parse::<IpAddr>()
            .map(NodeIp::Fixed)
            .map_err(|_| NodeIpError(s.to_string()))
    }
}

impl fmt::Display for NodeIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeIp::Auto => f.write_str("auto"),
            NodeIp::Fixed(ip) => write!(f, "{ip}"),
        }
    }
}

impl TryFrom<String> for NodeIp {
    type Error = NodeIpError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<NodeIp> for String {
    fn from(n: NodeIp) -> String {
        n.to_string()
    }
}

/// Timings under `[timing]` in config.toml. Every field may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// How long the worker is kept while the head is unreachable (0 to 3600 s).
    pub grace_secs: u64,
    /// Time between head probes (200 to 60000 ms).
    pub probe_interval_ms: u64,
    /// How long one probe may take (100 to 30000 ms).
    pub probe_timeout_ms: u64,
    /// Time between SIGTERM and SIGKILL when stopping Ray (1 to 120 s).
    pub stop_grace_secs: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            grace_secs: 30,
            probe_interval_ms: 2000,
            probe_timeout_ms: 1500,
            stop_grace_secs: 10,
        }
    }
}

impl Timing {
    /// `grace_secs` as a Duration.
    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.grace_secs)
    }

    /// `probe_interval_ms` as a Duration.
    pub fn probe_interval(&self) -> Duration {
        Duration::from_millis(self.probe_interval_ms)
    }

    /// `probe_timeout_ms` as a Duration.
    pub fn probe_timeout(&self) -> Duration {
        Duration::from_millis(self.probe_timeout_ms)
    }

    /// `stop_grace_secs` as a Duration.
    pub fn stop_grace(&self) -> Duration {
        Duration::from_secs(self.stop_grace_secs)
    }

    /// Checks every field against its allowed range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let checks: [(&str, u64, u64, u64, &str); 4] = [
            ("timing.grace_secs", self.grace_secs, 0, 3600, "seconds"),
            (
                "timing.probe_interval_ms",
                self.probe_interval_ms,
                200,
                60_000,
                "milliseconds",
            ),
            (
                "timing.probe_timeout_ms",
                self.probe_timeout_ms,
                100,
                30_000,
                "milliseconds",
            ),
            (
                "timing.stop_grace_secs",
                self.stop_grace_secs,
                1,
                120,
                "seconds",
            ),
        ];
        for (key, value, min, max, unit) in checks {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::Invalid {
                    key: key.to_string(),
                    message: format!("{value} is out of range: choose {min} to {max} {unit}"),
                });
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

/// Everything config.toml can say. Unknown keys are refused so that a typo is not ignored.
///
/// `cpus` has no fixed default (it is the machine's CPU count), so a file without `cpus`
/// must be read through [`Config::load_or_import`]; deserializing one directly gives `cpus = 0`,
/// which [`Config::validate`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The head to join; `None` until the user sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<HeadAddress>,
    /// CPUs offered to the cluster, 1 to the machine's logical CPUs.
    #[serde(default)]
    pub cpus: u32,
    /// The user paused contributing.
    #[serde(default)]
    pub paused: bool,
    /// How the machine is treated (see [`Mode`]).
    #[serde(default)]
    pub mode: Mode,
    /// The `ray` executable; `None` means the one in the worker's `.venv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ray_path: Option<PathBuf>,
    /// The IP announced to the cluster.
    #[serde(default)]
    pub node_ip: NodeIp,
    /// A file holding the cluster's Ray auth token (token authentication, Ray 2.52+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token_file: Option<PathBuf>,
    /// Timings.
    #[serde(default)]
    pub timing: Timing,
    /// What to do on battery (laptops, in mobile mode).
    #[serde(default)]
    pub battery: BatteryConfig,
}

/// The battery policy: separate stop and resume levels so that it never flaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatteryConfig {
    /// Warn once per discharge at this level while contributing (percent).
    pub warn_percent: u8,
    /// Pause on battery at this level (percent).
    pub stop_percent: u8,
    /// Resume on battery above this level (percent); plugging in resumes at once.
    pub resume_percent: u8,
    /// Contribute only while on power.
    pub only_on_power: bool,
    /// Offer at most this many CPUs on battery (0: no limit).
    pub cpus_on_battery: u32,
}

impl Default for BatteryConfig {
    fn default() -> Self {
        BatteryConfig {
            warn_percent: 20,
            stop_percent: 10,
            resume_percent: 30,
            only_on_power: false,
            cpus_on_battery: 0,
        }
    }
}

impl BatteryConfig {
    /// Levels within 0–100 with stop < resume and stop ≤ warn, and a CPU limit the machine has.
    pub fn validate(&self, machine_cpus: u32) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| {
            Err(ConfigError::Invalid {
                key: format!("battery.{key}"),
                message,
            })
        };
        for (key, value) in [
            ("warn_percent", self.warn_percent),
            ("stop_percent", self.stop_percent),
            ("resume_percent", self.resume_percent),
        ] {
            if value > 100 {
                return invalid(
                    key,
                    format!("{value} is out of range: choose 0 to 100 (percent)"),
                );
            }
        }
        if self.stop_percent >= self.resume_percent {
            return invalid(
                "resume_percent",
                format!(
                    "{} must be above stop_percent ({}), or the worker would flap",
                    self.resume_percent, self.stop_percent
                ),
            );
        }
        if self.warn_percent < self.stop_percent {
            return invalid(
                "warn_percent",
                format!(
                    "{} must be at least stop_percent ({}): the warning comes first",
                    self.warn_percent, self.stop_percent
                ),
            );
        }
        if self.cpus_on_battery > machine_cpus {
            return invalid(
                "cpus_on_battery",
                format!(
                    "{} is more than this machine's {machine_cpus} CPUs: choose 0 (no limit) to {machine_cpus}",
                    self.cpus_on_battery
                ),
            );
        }
        Ok(())
    }
}

/// Where a loaded configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// config.toml existed and was read.
    File,
    /// The old install's config.env (and current_cpus) were imported and config.toml written.
    Imported,
    /// Nothing on disk: defaults, and nothing was written.
    Defaults,
}

/// The result of [`Config::load_or_import_with_report`]: the configuration, where it came from,
/// and notes for the user about anything the import had to skip or adjust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOutcome {
    /// The configuration, validated.
    pub config: Config,
    /// Where it came from.
    pub source: ConfigSource,
    /// Import notes ("current_cpus held `abc`, not a number: using 8"); empty unless imported.
    pub notes: Vec<String>,
}

/// `n` CPUs must be 1 to `machine_cpus`. A `machine_cpus` of 0 (the OS did not say) is taken
/// as 1 so that there is always a valid choice.
pub fn validate_cpus(n: u32, machine_cpus: u32) -> Result<u32, ConfigError> {
    let max = machine_cpus.max(1);
    if (1..=max).contains(&n) {
        return Ok(n);
    }
    let plural = if max == 1 { "CPU" } else { "CPUs" };
    Err(ConfigError::Invalid {
        key: "cpus".to_string(),
        message: format!(
            "CPU count {n} is out of range: this machine has {max} {plural}, choose 1 to {max}"
        ),
    })
}

impl Config {
    /// The configuration of a fresh install: no head, every CPU, not paused.
    pub fn with_defaults(machine_cpus: u32) -> Config {
        Config {
            head: None,
            cpus: machine_cpus.max(1),
            paused: false,
            mode: Mode::default(),
            ray_path: None,
            node_ip: NodeIp::default(),
            auth_token_file: None,
            timing: Timing::default(),
            battery: BatteryConfig::default(),
        }
    }

    /// Checks every value against what is allowed on this machine.
    pub fn validate(&self, machine_cpus: u32) -> Result<(), ConfigError> {
        validate_cpus(self.cpus, machine_cpus)?;
        self.timing.validate()?;
        self.battery.validate(machine_cpus)
    }

    /// Loads config.toml; if it does not exist, imports the old install's config.env (and
    /// writes config.toml); if neither exists, returns defaults without writing anything.
    /// Use [`Config::load_or_import_with_report`] to learn which happened and the import notes.
    pub fn load_or_import(paths: &Paths, machine_cpus: u32) -> Result<Config, ConfigError> {
        Self::load_or_import_with_report(paths, machine_cpus).map(|o| o.config)
    }

    /// [`Config::load_or_import`], also saying where the configuration came from.
    ///
    /// A config.toml that cannot be read or is invalid is an error naming the file, the key
    /// and what is allowed; it is never overwritten (the user's edits stay for them to fix).
    pub fn load_or_import_with_report(
        paths: &Paths,
        machine_cpus: u32,
    ) -> Result<LoadOutcome, ConfigError> {
        let path = paths.config_file();
        match read_text(&path)? {
            Some(text) => {
                let config =
                    Self::parse_toml(&text, machine_cpus).map_err(|e| in_file(&path, e))?;
                Ok(LoadOutcome {
                    config,
                    source: ConfigSource::File,
                    notes: Vec::new(),
                })
            }
            None => match read_text(&paths.legacy_env())? {
                Some(env_text) => {
                    let (config, notes) = Self::import_legacy(paths, &env_text, machine_cpus)?;
                    config.save(paths)?;
                    Ok(LoadOutcome {
                        config,
                        source: ConfigSource::Imported,
                        notes,
                    })
                }
                None => Ok(LoadOutcome {
                    config: Config::with_defaults(machine_cpus),
                    source: ConfigSource::Defaults,
                    notes: Vec::new(),
                }),
            },
        }
    }

    /// Parses and validates the text of a config.toml. A missing `cpus` means every CPU.
    fn parse_toml(text: &str, machine_cpus: u32) -> Result<Config, ConfigError> {
        // First as a plain table: syntax errors surface here, and it tells whether `cpus` was
        // written at all (an explicit `cpus = 0` is an error, a missing one is the default).
        let table: toml::Table =
            toml::from_str(text).map_err(|e| toml_error(text, &e, machine_cpus))?;
        let mut config: Config =
            toml::from_str(text).map_err(|e| toml_error(text, &e, machine_cpus))?;
        if !table.contains_key("cpus") {
            config.cpus = machine_cpus.max(1);
        }
        config.validate(machine_cpus)?;
        Ok(config)
    }

    /// Builds a configuration from the old install's files. Never fails on their content:
    /// what cannot be used is skipped with a note, because the old install kept working with
    /// it and refusing to start now would be worse.
    fn import_legacy(
        paths: &Paths,
        env_text: &str,
        machine_cpus: u32,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let mut config = Config::with_defaults(machine_cpus);
        let mut notes = Vec::new();
        let env_path = paths.legacy_env();

        match legacy_head_ip(env_text) {
            Some(value) if value.is_empty() => {
                notes.push(format!(
                    "{}: HEAD_IP is empty; no head set",
                    env_path.display()
                ));
            }
            Some(value) => match value.parse::<HeadAddress>() {
                Ok(head) => config.head = Some(head),
                Err(e) => notes.push(format!("{}: HEAD_IP: {e}; no head set", env_path.display())),
            },
            None => notes.push(format!(
                "{}: no HEAD_IP line; no head set",
                env_path.display()
            )),
        }

        let cpus_path = paths.legacy_cpus();
        if let Some(text) = read_text(&cpus_path)? {
            let max = machine_cpus.max(1);
            let t = text.trim();
            match t.parse::<u64>() {
                Ok(n) if n > u64::from(max) => {
                    config.cpus = max;
                    notes.push(format!(
                        "{}: {n} CPUs is more than this machine has; using {max}",
                        cpus_path.display()
                    ));
                }
                Ok(0) => {
                    config.cpus = 1;
                    notes.push(format!(
                        "{}: 0 CPUs is not allowed; using 1",
                        cpus_path.display()
                    ));
                }
                Ok(n) => config.cpus = n as u32,
                Err(_) => notes.push(format!(
                    "{}: `{}` is not a number; using all {max} CPUs",
                    cpus_path.display(),
                    shorten(t, 40)
                )),
            }
        }
        Ok((config, notes))
    }

    /// Writes config.toml atomically: a temp file in the same folder (mode 0600), fsync, then
    /// rename over the old file, so a crash leaves either the old or the new file, never half.
    pub fn save(&self, paths: &Paths) -> Result<(), ConfigError> {
        let path = paths.config_file();
        let save_err = |source: io::Error| ConfigError::Save {
            path: path.clone(),
            source,
        };
        let body = toml::to_string_pretty(self)
            .map_err(|e| save_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        let text = format!(
            "# BitTrader Worker settings. Unknown keys are refused; see `bittrader-worker --help`.\n{body}"
        );
        paths.ensure_home().map_err(save_err)?;
        crate::atomic_file::write(&path, text.as_bytes(), 0o600).map_err(save_err)
    }
}

/// The file's text, `None` if it does not exist. Other errors (permissions, not UTF-8) are
/// reported with the path.
fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(ConfigError::File {
            path: path.to_path_buf(),
            message: "the file is not text (UTF-8); fix or remove it".to_string(),
        }),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Attaches the file's path to a value error, so the user knows which file to open.
fn in_file(path: &Path, e: ConfigError) -> ConfigError {
    match e {
        ConfigError::Invalid { key, message } => ConfigError::File {
            path: path.to_path_buf(),
            message: format!("`{key}`: {message}"),
        },
        ConfigError::File { message, .. } => ConfigError::File {
            path: path.to_path_buf(),
            message,
        },
        other => other,
    }
}

/// Turns toml's multi-line error (with a source excerpt) into one line: where, which key, and
/// serde's own wording of what is allowed ("unknown field `cpu`, expected one of ...").
fn toml_error(text: &str, e: &toml::de::Error, machine_cpus: u32) -> ConfigError {
    // Some messages span lines ("invalid table header\nduplicate key ..."): keep one line.
    let mut message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let Some(span) = e.span() else {
        return ConfigError::File {
            path: PathBuf::new(),
            message,
        };
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    // Values are refused by our own parsers whose messages do not know the key: name it from
    // the line (`head = "http://x"` → `head`). Unknown-field messages already name it.
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    // serde's type errors say "expected u32": say what the setting accepts instead.
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        if let Some(allowed) = key.as_deref().and_then(|k| allowed_values(k, machine_cpus)) {
            message = format!("{message}; use {allowed}");
        }
    }
    let message = match key {
        Some(key) if !message.contains(&format!("`{key}`")) => {
            format!("line {line_no}, `{key}`: {message}")
        }
        _ => format!("line {line_no}: {message}"),
    };
    ConfigError::File {
        path: PathBuf::new(),
        message,
    }
}

/// What a key accepts, for messages about a value of the wrong type.
fn allowed_values(key: &str, machine_cpus: u32) -> Option<String> {
    let text = match key {
        "cpus" => format!("a whole number from 1 to {}", machine_cpus.max(1)),
        "paused" => "true or false".to_string(),
        "head" => format!("a quoted address: {HEAD_ADDRESS_HINT}"),
        "mode" => "\"auto\", \"mobile\" or \"fixed\"".to_string(),
        "node_ip" => "\"auto\" or a quoted IP address".to_string(),
        "ray_path" | "auth_token_file" => "a quoted file path".to_string(),
        "timing" => "a [timing] table".to_string(),
        "grace_secs" => "a whole number of seconds from 0 to 3600".to_string(),
        "probe_interval_ms" => "a whole number of milliseconds from 200 to 60000".to_string(),
        "probe_timeout_ms" => "a whole number of milliseconds from 100 to 30000".to_string(),
        "stop_grace_secs" => "a whole number of seconds from 1 to 120".to_string(),
        _ => return None,
    };
    Some(text)
}

/// The value of the last `HEAD_IP=` assignment in a shell-style env file (as the shell would
/// see it: later lines win), unquoted, without a trailing comment. `None` when there is none.
fn legacy_head_ip(text: &str) -> Option<String> {
    let mut found = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export")
            .filter(|rest| rest.starts_with(char::is_whitespace))
            .map(str::trim_start)
            .unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "HEAD_IP" {
            continue;
        }
        found = Some(shell_value(value.trim_start()));
    }
    found
}

/// One shell word: `"quoted"` / `'quoted'` up to the closing quote, else up to whitespace
/// (an unquoted ` # comment` after the value is not part of it).
fn shell_value(v: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(quote) {
            return match rest.find(quote) {
                Some(end) => rest[..end].trim().to_string(),
                None => rest.trim().to_string(),
            };
        }
    }
    v.split(char::is_whitespace)
        .next()
        .unwrap_or("")
        .to_string()
}

/// At most `max` characters, for quoting junk back to the user.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths_in(dir: &tempfile::TempDir) -> Paths {
        Paths {
            home: dir.path().join("home"),
        }
    }

    fn setup() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(&dir);
        paths.ensure_home().unwrap();
        (dir, paths)
    }

    fn head(host: &str, port: u16) -> HeadAddress {
        HeadAddress {
            host: host.to_string(),
            port,
        }
    }

    #[test]
    fn head_address_accepts_valid_forms() {
        let table: &[(&str, &str, u16, &str)] = &[
            ("100.64.0.1", "100.64.0.1", 6379, "100.64.0.1:6379"),
            ("100.64.0.1:6380", "100.64.0.1", 6380, "100.64.0.1:6380"),
            ("  100.64.0.1  ", "100.64.0.1", 6379, "100.64.0.1:6379"),
            ("desktop", "desktop", 6379, "desktop:6379"),
            (
                "desktop.tail1234.ts.net",
                "desktop.tail1234.ts.net",
                6379,
                "desktop.tail1234.ts.net:6379",
            ),
            (
                "desktop.tail1234.ts.net.:1",
                "desktop.tail1234.ts.net",
                1,
                "desktop.tail1234.ts.net:1",
            ),
            ("my-host-2:65535", "my-host-2", 65535, "my-host-2:65535"),
            (
                "fd7a:115c:a1e0::1",
                "fd7a:115c:a1e0::1",
                6379,
                "[fd7a:115c:a1e0::1]:6379",
            ),
            (
                "[fd7a:115c:a1e0::1]:6380",
                "fd7a:115c:a1e0::1",
                6380,
                "[fd7a:115c:a1e0::1]:6380",
            ),
            ("[::1]", "::1", 6379, "[::1]:6379"),
            ("::1", "::1", 6379, "[::1]:6379"),
        ];
        for &(input, host, port, shown) in table {
            let parsed: HeadAddress = input
                .parse()
                .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
            assert_eq!(parsed, head(host, port), "{input:?}");
            assert_eq!(parsed.to_string(), shown, "{input:?}");
            // Display round-trips.
            assert_eq!(shown.parse::<HeadAddress>().unwrap(), parsed);
        }
    }

    #[test]
    fn head_address_rejects_invalid_forms() {
        let table: &[(&str, &str)] = &[
            ("", "empty"),
            ("   ", "empty"),
            ("my host", "spaces"),
            ("100.64.0.1 6379", "spaces"),
            ("http://x", "host:port"),
            ("https://desktop.ts.net:6379", "host:port"),
            ("desktop/", "host:port"),
            ("host:0", "1 to 65535"),
            ("host:99999", "1 to 65535"),
            ("host:99999999999999999999", "1 to 65535"),
            ("host:", "1 to 65535"),
            ("host:abc", "1 to 65535"),
            (":6379", "host is missing"),
            ("-bad.example", "hyphens"),
            ("bad-.example", "hyphens"),
            ("a..b", "hyphens"),
            ("under_score", "hyphens"),
            ("héllo", "hyphens"),
            (&"a".repeat(64), "63"),
            ("300.1.1.1", "IPv4"),
            ("100.64.0", "IPv4"),
            ("fd7a::1:6379:x", "brackets"),
            ("[fd7a::1", "host:port"),
            ("[notv6]:6379", "IPv6"),
            ("[::1]6379", "host:port"),
            ("[::1]:0", "1 to 65535"),
            ("@@@", "hyphens"),
        ];
        for &(input, needle) in table {
            let err = input
                .parse::<HeadAddress>()
                .expect_err(&format!("{input:?} should be refused"));
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("`{input}`")),
                "{input:?}: message {msg:?} should quote the input"
            );
            assert!(
                msg.contains(needle),
                "{input:?}: message {msg:?} should mention {needle:?}"
            );
        }
    }

    #[test]
    fn head_address_scheme_message_is_helpful() {
        let msg = "http://x".parse::<HeadAddress>().unwrap_err().to_string();
        assert_eq!(
            msg,
            "`http://x` is not a head address: use host or host:port, e.g. 100.64.0.1 or \
             desktop.tailnet.ts.net:6379"
        );
    }

    #[test]
    fn head_address_serde_is_a_string() {
        #[derive(Serialize, Deserialize)]
        struct W {
            head: HeadAddress,
        }
        let w: W = toml::from_str("head = \"[::1]:7000\"").unwrap();
        assert_eq!(w.head, head("::1", 7000));
        assert_eq!(toml::to_string(&w).unwrap().trim(), "head = \"[::1]:7000\"");
        assert!(toml::from_str::<W>("head = \"host:0\"").is_err());
    }

    #[test]
    fn node_ip_serde() {
        #[derive(Serialize, Deserialize)]
        struct W {
            node_ip: NodeIp,
        }
        let w: W = toml::from_str("node_ip = \"auto\"").unwrap();
        assert_eq!(w.node_ip, NodeIp::Auto);
        let w: W = toml::from_str("node_ip = \"100.64.0.2\"").unwrap();
        assert_eq!(w.node_ip, NodeIp::Fixed("100.64.0.2".parse().unwrap()));
        assert_eq!(
            toml::to_string(&w).unwrap().trim(),
            "node_ip = \"100.64.0.2\""
        );
        let err = toml::from_str::<W>("node_ip = \"desk\"")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("\"auto\" or an IP address"), "{err}");
    }

    #[test]
    fn cpus_validation() {
        assert!(validate_cpus(0, 10).is_err());
        let msg = validate_cpus(500, 10).unwrap_err().to_string();
        assert!(
            msg.contains("CPU count 500 is out of range: this machine has 10 CPUs, choose 1 to 10"),
            "{msg}"
        );
        let msg = validate_cpus(0, 10).unwrap_err().to_string();
        assert!(msg.contains("choose 1 to 10"), "{msg}");
        assert_eq!(validate_cpus(1, 10).unwrap(), 1);
        assert_eq!(validate_cpus(10, 10).unwrap(), 10);
        assert!(validate_cpus(2, 1)
            .unwrap_err()
            .to_string()
            .contains("has 1 CPU,"));
        // The OS did not say: one CPU is still allowed.
        assert_eq!(validate_cpus(1, 0).unwrap(), 1);
    }

    #[test]
    fn timing_ranges() {
        let ok = Timing::default();
        assert!(ok.validate().is_ok());
        for (t, key) in [
            (
                Timing {
                    grace_secs: 3601,
                    ..ok.clone()
                },
                "timing.grace_secs",
            ),
            (
                Timing {
                    probe_interval_ms: 199,
                    ..ok.clone()
                },
                "timing.probe_interval_ms",
            ),
            (
                Timing {
                    probe_timeout_ms: 30_001,
                    ..ok.clone()
                },
                "timing.probe_timeout_ms",
            ),
            (
                Timing {
                    stop_grace_secs: 0,
                    ..ok.clone()
                },
                "timing.stop_grace_secs",
            ),
        ] {
            let msg = t.validate().unwrap_err().to_string();
            assert!(msg.starts_with(key), "{msg}");
            assert!(msg.contains("choose"), "{msg}");
        }
        assert!(Timing {
            grace_secs: 0,
            ..ok
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn paths_from_vars() {
        let p = Paths::from_vars(Some("/opt/bw".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p.home, PathBuf::from("/opt/bw"));
        let p = Paths::from_vars(Some("".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p.home, PathBuf::from("/home/u/.bittrader_worker"));
        assert_eq!(
            p.config_file(),
            PathBuf::from("/home/u/.bittrader_worker/config.toml")
        );
        assert_eq!(
            p.socket(),
            PathBuf::from("/home/u/.bittrader_worker/control.sock")
        );
        assert!(matches!(
            Paths::from_vars(Some("rel/dir".into()), None),
            Err(ConfigError::RelativeHome { .. })
        ));
        assert!(matches!(
            Paths::from_vars(None, None),
            Err(ConfigError::NoHome)
        ));
    }

    #[test]
    fn ensure_home_creates_0700_and_narrows_existing() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(&dir);
        paths.ensure_home().unwrap();
        let mode = fs::metadata(&paths.home).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::set_permissions(&paths.home, fs::Permissions::from_mode(0o755)).unwrap();
        paths.ensure_home().unwrap();
        let mode = fs::metadata(&paths.home).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn no_files_gives_defaults_and_writes_nothing() {
        let (_dir, paths) = setup();
        let out = Config::load_or_import_with_report(&paths, 8).unwrap();
        assert_eq!(out.source, ConfigSource::Defaults);
        assert_eq!(out.config, Config::with_defaults(8));
        assert_eq!(out.config.head, None);
        assert_eq!(out.config.cpus, 8);
        assert_eq!(fs::read_dir(&paths.home).unwrap().count(), 0);
    }

    #[test]
    fn legacy_import_variants() {
        let cases: &[(&str, Option<HeadAddress>)] = &[
            ("HEAD_IP=100.64.0.1\n", Some(head("100.64.0.1", 6379))),
            ("HEAD_IP=\"100.64.0.1\"\n", Some(head("100.64.0.1", 6379))),
            ("HEAD_IP='desktop.tail1234.ts.net'\n", Some(head("desktop.tail1234.ts.net", 6379))),
            ("export HEAD_IP=100.64.0.7\n", Some(head("100.64.0.7", 6379))),
            (
                "# old install\n\n  # HEAD_IP=1.1.1.1\nOTHER=x\nexport   HEAD_IP=\"100.64.0.9\"  # desktop\n",
                Some(head("100.64.0.9", 6379)),
            ),
            ("HEAD_IP=100.64.0.1 # the desktop\n", Some(head("100.64.0.1", 6379))),
            ("HEAD_IP=100.64.0.1\nHEAD_IP=100.64.0.2\n", Some(head("100.64.0.2", 6379))),
            ("HEAD_IP=100.64.0.1:6380\r\n", Some(head("100.64.0.1", 6380))),
            ("HEAD_IP=\n", None),
            ("HEAD_IP=http://nope\n", None),
            ("SOMETHING=else\n", None),
            ("exportHEAD_IP=1.2.3.4\n", None),
        ];
        for (env, want) in cases {
            let (_dir, paths) = setup();
            fs::write(paths.legacy_env(), env).unwrap();
            let out = Config::load_or_import_with_report(&paths, 4).unwrap();
            assert_eq!(out.source, ConfigSource::Imported, "{env:?}");
            assert_eq!(&out.config.head, want, "{env:?}");
            assert_eq!(
                out.notes.is_empty(),
                want.is_some(),
                "{env:?}: {:?}",
                out.notes
            );
            // config.toml was written and reads back the same.
            let again = Config::load_or_import_with_report(&paths, 4).unwrap();
            assert_eq!(again.source, ConfigSource::File);
            assert_eq!(again.config, out.config);
            // The legacy file is left alone.
            assert_eq!(fs::read_to_string(paths.legacy_env()).unwrap(), *env);
        }
    }

    #[test]
    fn legacy_import_current_cpus() {
        let cases: &[(&str, u32, bool)] = &[
            ("3\n", 3, false),
            ("  6  ", 6, false),
            ("64\n", 8, true),
            ("0\n", 1, true),
            ("abc\n", 8, true),
            ("-2", 8, true),
            ("", 8, true),
            ("99999999999999999999999", 8, true),
        ];
        for &(content, want, noted) in cases {
            let (_dir, paths) = setup();
            fs::write(paths.legacy_env(), "HEAD_IP=100.64.0.1\n").unwrap();
            fs::write(paths.legacy_cpus(), content).unwrap();
            let out = Config::load_or_import_with_report(&paths, 8).unwrap();
            assert_eq!(out.config.cpus, want, "{content:?}");
            assert_eq!(!out.notes.is_empty(), noted, "{content:?}: {:?}", out.notes);
            if noted {
                assert!(out.notes[0].contains("current_cpus"), "{:?}", out.notes);
            }
        }
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let (_dir, paths) = setup();
        fs::write(paths.config_file(), "head = \"100.64.0.1\"\ncpu = 4\n").unwrap();
        let err = Config::load_or_import(&paths, 8).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&paths.config_file().display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("`cpu`"), "{msg}");
        assert!(msg.contains("`cpus`"), "should list allowed keys: {msg}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");

        fs::write(paths.config_file(), "[timing]\ngrace = 5\n").unwrap();
        let msg = Config::load_or_import(&paths, 8).unwrap_err().to_string();
        assert!(
            msg.contains("`grace`") && msg.contains("`grace_secs`"),
            "{msg}"
        );
    }

    #[test]
    fn bad_values_name_key_and_allowed_range() {
        let (_dir, paths) = setup();
        let file = paths.config_file().display().to_string();
        let cases: &[(&str, &[&str])] = &[
            ("head = \"http://x\"\n", &["`head`", "host:port"]),
            ("cpus = 500\n", &["`cpus`", "choose 1 to 8"]),
            ("cpus = 0\n", &["`cpus`", "choose 1 to 8"]),
            ("cpus = -1\n", &["`cpus`", "from 1 to 8"]),
            (
                "[timing]\ngrace_secs = \"30s\"\n",
                &["`grace_secs`", "0 to 3600"],
            ),
            ("[timing]\n[timing]\n", &["line 2", "duplicate key"]),
            (
                "mode = \"turbo\"\n",
                &["`mode`", "`auto`", "`mobile`", "`fixed`"],
            ),
            ("node_ip = \"x\"\n", &["`node_ip`", "\"auto\""]),
            (
                "[timing]\ngrace_secs = 5000\n",
                &["timing.grace_secs", "0 to 3600"],
            ),
            ("paused = \"yes\"\n", &["`paused`", "true or false"]),
        ];
        for (text, needles) in cases {
            fs::write(paths.config_file(), text).unwrap();
            let msg = Config::load_or_import(&paths, 8).unwrap_err().to_string();
            assert!(msg.starts_with(&file), "{text:?}: {msg}");
            for n in *needles {
                assert!(msg.contains(n), "{text:?}: {msg:?} should contain {n:?}");
            }
            assert!(!msg.contains('\n'), "one line: {msg}");
            // The bad file is not overwritten.
            assert_eq!(fs::read_to_string(paths.config_file()).unwrap(), *text);
        }
    }

    #[test]
    fn corrupt_toml_names_file_and_is_not_overwritten() {
        let (_dir, paths) = setup();
        // Even with a legacy file present, a broken config.toml must not trigger an import.
        fs::write(paths.legacy_env(), "HEAD_IP=100.64.0.1\n").unwrap();
        let junk = "head = \"100.64.0.1\nthis is [not toml\n";
        fs::write(paths.config_file(), junk).unwrap();
        let msg = Config::load_or_import(&paths, 8).unwrap_err().to_string();
        assert!(
            msg.starts_with(&paths.config_file().display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("line 1"), "{msg}");
        assert_eq!(fs::read_to_string(paths.config_file()).unwrap(), junk);

        fs::write(paths.config_file(), [0xff, 0xfe, 0x00]).unwrap();
        let msg = Config::load_or_import(&paths, 8).unwrap_err().to_string();
        assert!(msg.contains("not text"), "{msg}");
        assert_eq!(fs::read(paths.config_file()).unwrap(), [0xff, 0xfe, 0x00]);
    }

    #[test]
    fn missing_cpus_means_all_and_partial_timing_keeps_defaults() {
        let (_dir, paths) = setup();
        fs::write(paths.config_file(), "[timing]\ngrace_secs = 60\n").unwrap();
        let c = Config::load_or_import(&paths, 6).unwrap();
        assert_eq!(c.cpus, 6);
        assert_eq!(c.head, None);
        assert_eq!(
            c.timing,
            Timing {
                grace_secs: 60,
                ..Timing::default()
            }
        );
    }

    #[test]
    fn save_round_trip_and_file_mode() {
        let (_dir, paths) = setup();
        let config = Config {
            head: Some(head("fd7a:115c:a1e0::1", 7000)),
            cpus: 3,
            paused: true,
            mode: Mode::Mobile,
            ray_path: Some(PathBuf::from("/opt/ray/bin/ray")),
            node_ip: NodeIp::Fixed("100.64.0.2".parse().unwrap()),
            auth_token_file: Some(PathBuf::from("/Users/me/.ray/auth_token")),
            timing: Timing {
                grace_secs: 0,
                probe_interval_ms: 500,
                probe_timeout_ms: 400,
                stop_grace_secs: 5,
            },
            battery: BatteryConfig {
                only_on_power: true,
                ..BatteryConfig::default()
            },
        };
        config.save(&paths).unwrap();
        let loaded = Config::load_or_import(&paths, 4).unwrap();
        assert_eq!(loaded, config);
        let mode = fs::metadata(paths.config_file())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);

        // Defaults round-trip too (the `None`s are left out of the file).
        let defaults = Config::with_defaults(4);
        defaults.save(&paths).unwrap();
        let text = fs::read_to_string(paths.config_file()).unwrap();
        assert!(!text.contains("head"), "{text}");
        assert_eq!(Config::load_or_import(&paths, 4).unwrap(), defaults);
    }

    #[test]
    fn atomic_save_leaves_no_temp_files() {
        let (_dir, paths) = setup();
        for cpus in 1..=5 {
            let c = Config {
                cpus,
                ..Config::with_defaults(8)
            };
            c.save(&paths).unwrap();
        }
        let names: Vec<String> = fs::read_dir(&paths.home)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["config.toml".to_string()]);
        assert_eq!(Config::load_or_import(&paths, 8).unwrap().cpus, 5);
    }

    #[test]
    fn failed_save_keeps_old_file_and_cleans_up() {
        let (_dir, paths) = setup();
        Config::with_defaults(2).save(&paths).unwrap();
        let before = fs::read_to_string(paths.config_file()).unwrap();
        // Make the rename fail: config.toml replaced by a non-empty folder.
        fs::remove_file(paths.config_file()).unwrap();
        fs::create_dir(paths.config_file()).unwrap();
        fs::write(paths.config_file().join("x"), "x").unwrap();
        let err = Config::with_defaults(3).save(&paths).unwrap_err();
        assert!(matches!(err, ConfigError::Save { .. }), "{err}");
        let names: Vec<String> = fs::read_dir(&paths.home)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["config.toml".to_string()], "temp file removed");
        assert!(!before.is_empty());
    }

    #[test]
    fn save_creates_home_0700() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(&dir);
        Config::with_defaults(2).save(&paths).unwrap();
        let mode = fs::metadata(&paths.home).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn battery_levels_must_not_flap() {
        let mut battery = BatteryConfig::default();
        assert!(battery.validate(8).is_ok());
        battery.resume_percent = 10;
        let err = battery.validate(8).expect_err("stop = resume");
        assert!(err.to_string().contains("battery.resume_percent"), "{err}");
        battery.resume_percent = 30;
        battery.warn_percent = 5;
        assert!(battery.validate(8).is_err());
        battery.warn_percent = 20;
        battery.cpus_on_battery = 9;
        let err = battery.validate(8).expect_err("too many");
        assert!(err.to_string().contains("0 (no limit) to 8"), "{err}");
    }

    #[test]
    fn a_battery_section_is_read_and_unknown_battery_keys_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = Paths {
            home: dir.path().to_path_buf(),
        };
        std::fs::write(
            paths.config_file(),
            "cpus = 2\n[battery]\nonly_on_power = true\ncpus_on_battery = 1\n",
        )
        .expect("write");
        let config = Config::load_or_import(&paths, 4).expect("load");
        assert!(config.battery.only_on_power);
        assert_eq!(config.battery.cpus_on_battery, 1);
        assert_eq!(config.battery.stop_percent, 10);
        std::fs::write(paths.config_file(), "cpus = 2\n[battery]\nstop_at = 3\n").expect("write");
        let err = Config::load_or_import(&paths, 4).expect_err("unknown key");
        assert!(err.to_string().contains("stop_at"), "{err}");
    }
}
