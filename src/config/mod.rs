//! The on-disk configuration: where files live, what `config.toml` may say, and the one-time import
//! of the old shell install's `config.env` / `current_cpus`. Files and validation only; a file it
//! cannot understand is reported (path, key, what is allowed) and left untouched.

use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{HeadAddress, KeepAwake, PauseAtThermal, HEAD_ADDRESS_HINT};

/// A configuration problem, worded for the user who has to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot find the worker's folder: set BITTRADER_WORKER_HOME or HOME")]
    NoHome,
    /// Relative: it would change with the current directory.
    #[error(
        "BITTRADER_WORKER_HOME is `{}`, a relative path: use an absolute path such as \
         /Users/you/.bittrader_worker",
        path.display()
    )]
    RelativeHome { path: PathBuf },
    /// The file says something we cannot accept (syntax, unknown key, bad value); left as it is.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// A value out of range; [`Config::load_or_import`] turns it into [`ConfigError::File`].
    #[error("{key}: {message}")]
    Invalid {
        /// As written in config.toml (`cpus`, `timing.grace_secs`).
        key: String,
        message: String,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// Writing config.toml failed; the previous file (if any) is intact.
    #[error("cannot save {}: {source}", path.display())]
    Save { path: PathBuf, source: io::Error },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, message: String) -> ConfigError {
        let key = key.into();
        ConfigError::Invalid { key, message }
    }

    fn in_file(path: &Path, message: impl Into<String>) -> ConfigError {
        let (path, message) = (path.to_path_buf(), message.into());
        ConfigError::File { path, message }
    }
}

mod battery;
mod edit;
mod legacy;
mod paths;
mod ray;
mod timing;

pub use battery::BatteryConfig;
pub use edit::{read_if_changed, save_setting, FileReading, FileStamp, Setting};
pub use paths::Paths;
pub use ray::RayProcesses;
pub use timing::Timing;

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

/// Which IP this node announces to the cluster (`ray start --node-ip-address`): `"auto"` (the
/// address that reaches the head, e.g. the Tailscale IP) or an IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeIp {
    #[default]
    Auto,
    #[serde(untagged)]
    Fixed(IpAddr),
}

/// Everything config.toml can say; unknown keys are refused so that a typo is not ignored. A
/// missing `cpus` means every CPU: `Default` gives 0, which [`Config::validate`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `None` until the user sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<HeadAddress>,
    /// 1 to the machine's logical CPUs.
    pub cpus: u32,
    pub paused: bool,
    pub mode: Mode,
    /// `None`: the one `setup` installed, else the one found (`platform::tool_search`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ray_path: Option<PathBuf>,
    pub node_ip: NodeIp,
    /// The cluster's Ray auth token (token authentication, Ray 2.52+).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token_file: Option<PathBuf>,
    pub keep_awake: KeepAwake,
    pub pause_at_thermal: PauseAtThermal,
    /// `None`: contribute whether or not the user is at the machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only_when_idle_minutes: Option<u32>,
    pub timing: Timing,
    pub battery: BatteryConfig,
    pub ray: RayProcesses,
    /// Ask the releases feed once a day whether a newer version is out (the only request the
    /// app makes beyond the head and Tailscale).
    pub check_updates: bool,
    /// Where the newest release is asked: a GitHub "latest release" API address, or anything
    /// that answers the same JSON (`tag_name`, `html_url`).
    pub updates_feed: String,
}

/// The project's releases on GitHub.
pub const DEFAULT_UPDATES_FEED: &str =
    "https://api.github.com/repos/bittrader/bittrader-worker/releases/latest";

impl Default for Config {
    fn default() -> Self {
        Config {
            head: None,
            cpus: 0,
            paused: false,
            mode: Mode::default(),
            ray_path: None,
            node_ip: NodeIp::default(),
            auth_token_file: None,
            keep_awake: KeepAwake::default(),
            pause_at_thermal: PauseAtThermal::default(),
            only_when_idle_minutes: None,
            timing: Timing::default(),
            battery: BatteryConfig::default(),
            ray: RayProcesses::default(),
            check_updates: true,
            updates_feed: DEFAULT_UPDATES_FEED.to_string(),
        }
    }
}

/// What [`Config::load_or_import`] found, with notes for the user's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOutcome {
    pub config: Config,
    /// What importing `config.env` skipped or adjusted (empty unless this load imported it).
    pub notes: Vec<String>,
}

/// `n` CPUs must be 1 to `machine_cpus` (0, the OS not saying, counts as 1).
pub fn validate_cpus(n: u32, machine_cpus: u32) -> Result<u32, ConfigError> {
    let max = machine_cpus.max(1);
    if (1..=max).contains(&n) {
        return Ok(n);
    }
    let plural = if max == 1 { "CPU" } else { "CPUs" };
    Err(ConfigError::invalid(
        "cpus",
        format!(
            "CPU count {n} is out of range: this machine has {max} {plural}, choose 1 to {max}"
        ),
    ))
}

impl Config {
    /// A fresh install's: no head, every CPU, not paused.
    pub fn with_defaults(machine_cpus: u32) -> Config {
        Config {
            cpus: machine_cpus.max(1),
            ..Config::default()
        }
    }

    pub fn validate(&self, machine_cpus: u32) -> Result<(), ConfigError> {
        validate_cpus(self.cpus, machine_cpus)?;
        self.timing.validate()?;
        validate_only_when_idle(self.only_when_idle_minutes)?;
        validate_updates_feed(&self.updates_feed)?;
        self.ray.validate()?;
        self.battery.validate(machine_cpus)
    }

    /// Loads config.toml; without one, imports (and saves) the old install's config.env; without
    /// either, defaults. An unreadable or invalid config.toml is an error, never overwritten.
    pub fn load_or_import(paths: &Paths, machine_cpus: u32) -> Result<LoadOutcome, ConfigError> {
        let path = paths.config_file();
        let (config, notes) = if let Some(text) = read_text(&path)? {
            (Self::parse_toml(&text, &path, machine_cpus)?, Vec::new())
        } else if let Some(env_text) = read_text(&paths.legacy_env())? {
            let (config, notes) = Self::import_legacy(paths, &env_text, machine_cpus)?;
            config.save(paths)?;
            (config, notes)
        } else {
            (Config::with_defaults(machine_cpus), Vec::new())
        };
        Ok(LoadOutcome { config, notes })
    }

    /// config.toml's `text`; an error names `path`, the line, the key and what is allowed.
    fn parse_toml(text: &str, path: &Path, machine_cpus: u32) -> Result<Config, ConfigError> {
        let in_file = |message: String| ConfigError::in_file(path, message);
        let toml_error = |e: toml::de::Error| in_file(toml_message(text, &e, machine_cpus));
        // First as a plain table: syntax errors surface here, and it tells a missing `cpus` (every
        // CPU) from an explicit `cpus = 0` (an error).
        let table: toml::Table = toml::from_str(text).map_err(toml_error)?;
        let mut config: Config = toml::from_str(text).map_err(toml_error)?;
        if !table.contains_key("cpus") {
            config.cpus = machine_cpus.max(1);
        }
        config.validate(machine_cpus).map_err(|e| match e {
            ConfigError::Invalid { key, message } => in_file(format!("`{key}`: {message}")),
            other => other,
        })?;
        Ok(config)
    }

    /// Writes the whole of config.toml atomically (0600), for a file this program creates; a change
    /// to the user's file goes through [`save_setting`], which keeps the rest.
    pub fn save(&self, paths: &Paths) -> Result<(), ConfigError> {
        let path = paths.config_file();
        let save_err = |source: io::Error| ConfigError::Save {
            path: path.clone(),
            source,
        };
        let body = toml::to_string_pretty(self)
            .map_err(|e| save_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        let text = format!("{}{body}", edit::HEADER);
        paths.ensure_home().map_err(save_err)?;
        let _lock = edit::lock(paths).map_err(save_err)?;
        crate::atomic_file::write(&path, text.as_bytes(), 0o600).map_err(save_err)
    }
}

const MAX_IDLE_MINUTES: u32 = 24 * 60;

/// 1 to a day; leaving it out turns the rule off.
fn validate_only_when_idle(minutes: Option<u32>) -> Result<(), ConfigError> {
    match minutes {
        Some(n) if !(1..=MAX_IDLE_MINUTES).contains(&n) => Err(ConfigError::invalid(
            "only_when_idle_minutes",
            format!(
                "{n} is out of range: choose 1 to {MAX_IDLE_MINUTES} minutes without input, or \
                 remove the line to contribute whether or not the computer is in use"
            ),
        )),
        _ => Ok(()),
    }
}

/// An address ureq can ask: a misspelt feed is said at start, not once a day in the log.
fn validate_updates_feed(feed: &str) -> Result<(), ConfigError> {
    let scheme_ok = feed.starts_with("https://") || feed.starts_with("http://");
    if scheme_ok && !feed.contains(char::is_whitespace) {
        return Ok(());
    }
    Err(ConfigError::invalid(
        "updates_feed",
        format!(
            "`{feed}` is not a web address: use one that starts with https://, or remove the \
             line for the project's releases"
        ),
    ))
}

/// The most a settings file may hold: far more than any setting needs (said in `text`).
const MAX_SETTINGS_BYTES: u64 = 256 * 1024;

/// `None` if the file does not exist; other errors (permissions, not UTF-8, not a regular file,
/// too large) name the path. Opened without blocking, as a FIFO there would wait for a writer.
fn read_text(path: &Path) -> Result<Option<String>, ConfigError> {
    use io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut options = fs::OpenOptions::new();
    let file = match options.read(true).custom_flags(libc::O_NONBLOCK).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_err(source)),
    };
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() || meta.len() > MAX_SETTINGS_BYTES {
        let message = crate::text::settings_file_refused(crate::text::Lang::current());
        return Err(ConfigError::in_file(path, message));
    }
    let mut text = String::new();
    match file.take(MAX_SETTINGS_BYTES).read_to_string(&mut text) {
        Ok(_) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => Err(ConfigError::in_file(
            path,
            "the file is not text (UTF-8); fix or remove it",
        )),
        Err(source) => Err(read_err(source)),
    }
}

/// Several lines of a parser's message as one.
fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("; ")
}

/// toml's error as one line: where, which key, and what is allowed.
fn toml_message(text: &str, e: &toml::de::Error, machine_cpus: u32) -> String {
    let mut message = one_line(e.message());
    let Some(span) = e.span() else {
        return message;
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    // Our own parsers' messages do not know the key: name it from the line.
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    // serde's type errors say "expected u32" (or "wanted string or table"): say what the setting
    // accepts instead.
    let type_error = [
        "invalid type",
        "invalid value",
        "wanted ",
        "data did not match",
    ];
    if type_error.iter().any(|start| message.starts_with(start)) {
        if let Some(allowed) = key.as_deref().and_then(|k| allowed_values(k, machine_cpus)) {
            message = format!("{message}; use {allowed}");
        }
    }
    match key {
        Some(key) if !message.contains(&format!("`{key}`")) => {
            format!("line {line_no}, `{key}`: {message}")
        }
        _ => format!("line {line_no}: {message}"),
    }
}

/// A number setting's name, lowest and highest value, and unit: for checking it and for saying
/// what is allowed.
type NumberRange = (&'static str, u64, u64, &'static str);

/// The first of `values` outside its range (`ranges`, in the same order), as the error for
/// `table.key`.
fn check_ranges(table: &str, ranges: &[NumberRange], values: &[u64]) -> Result<(), ConfigError> {
    for (&(key, min, max, unit), &value) in ranges.iter().zip(values) {
        if !(min..=max).contains(&value) {
            let message = format!("{value} is out of range: choose {min} to {max} {unit}");
            return Err(ConfigError::invalid(format!("{table}.{key}"), message));
        }
    }
    Ok(())
}

fn allowed_values(key: &str, machine_cpus: u32) -> Option<String> {
    let ranges = timing::RANGES.iter().chain(ray::RANGES.iter());
    if let Some((_, min, max, unit)) = ranges.clone().find(|range| range.0 == key) {
        return Some(format!("a whole number of {unit} from {min} to {max}"));
    }
    let text = match key {
        "cpus" => format!("a whole number from 1 to {}", machine_cpus.max(1)),
        "paused" | "lean" | "task_output" | "dashboard_details" | "check_updates" => {
            "true or false".to_string()
        }
        "updates_feed" => "a quoted http:// or https:// address".to_string(),
        "head" => format!("a quoted address: {HEAD_ADDRESS_HINT}"),
        "mode" => "\"auto\", \"mobile\" or \"fixed\"".to_string(),
        "node_ip" => "\"auto\" or a quoted IP address".to_string(),
        "ray_path" | "auth_token_file" => "a quoted file path".to_string(),
        "timing" => "a [timing] table".to_string(),
        "keep_awake" => "\"on_power\", \"always\" or \"never\"".to_string(),
        "pause_at_thermal" => "\"serious\", \"critical\" or \"never\"".to_string(),
        "only_when_idle_minutes" => {
            format!("a whole number of minutes from 1 to {MAX_IDLE_MINUTES}")
        }
        "nice" => "a whole number from 0 (normal priority) to 19 (the lowest)".to_string(),
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    pub(super) fn paths_in(dir: &tempfile::TempDir) -> Paths {
        Paths {
            home: dir.path().join("home"),
        }
    }

    pub(super) fn setup() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths_in(&dir);
        paths.ensure_home().unwrap();
        (dir, paths)
    }

    pub(super) fn head(host: &str, port: u16) -> HeadAddress {
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
        assert!(toml::from_str::<W>("node_ip = \"desk\"").is_err());
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
    fn no_files_gives_defaults_and_writes_nothing() {
        let (_dir, paths) = setup();
        let out = Config::load_or_import(&paths, 8).unwrap();
        assert!(out.notes.is_empty());
        assert_eq!(out.config, Config::with_defaults(8));
        assert_eq!(out.config.head, None);
        assert_eq!(out.config.cpus, 8);
        assert_eq!(fs::read_dir(&paths.home).unwrap().count(), 0);
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
        let c = Config::load_or_import(&paths, 6).unwrap().config;
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
            keep_awake: KeepAwake::Always,
            pause_at_thermal: PauseAtThermal::Critical,
            only_when_idle_minutes: Some(15),
            timing: Timing {
                grace_secs: 0,
                probe_interval_ms: 500,
                probe_timeout_ms: 400,
                stop_grace_secs: 5,
                join_timeout_secs: 300,
                first_update_check_secs: 5,
            },
            battery: BatteryConfig {
                only_on_power: true,
                ..BatteryConfig::default()
            },
            ray: RayProcesses {
                nice: 0,
                lean: false,
                task_output: false,
                dashboard_details: true,
                report_ms: 100,
                memory_check_ms: 0,
            },
            check_updates: false,
            updates_feed: "http://127.0.0.1:8000/latest".into(),
        };
        config.save(&paths).unwrap();
        let loaded = Config::load_or_import(&paths, 4).unwrap().config;
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
        assert_eq!(Config::load_or_import(&paths, 4).unwrap().config, defaults);
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
            .filter(|name| name != "config.lock")
            .collect();
        assert_eq!(names, vec!["config.toml".to_string()]);
        assert_eq!(Config::load_or_import(&paths, 8).unwrap().config.cpus, 5);
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
            .filter(|name| name != "config.lock")
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
    fn keep_awake_is_read_and_a_bad_value_names_what_is_allowed() {
        let read = |text: &str| Config::parse_toml(text, Path::new("config.toml"), 8);
        assert_eq!(read("").expect("defaults").keep_awake, KeepAwake::OnPower);
        assert_eq!(
            read("keep_awake = \"always\"").expect("valid").keep_awake,
            KeepAwake::Always
        );
        assert_eq!(
            read("keep_awake = \"never\"").expect("valid").keep_awake,
            KeepAwake::Never
        );
        let err = read("keep_awake = \"sometimes\"").expect_err("unknown value");
        let message = err.to_string();
        assert!(message.contains("keep_awake"), "{message}");
        assert!(message.contains("on_power"), "{message}");
        let err = read("keep_awake = true").expect_err("not a string");
        assert!(
            err.to_string()
                .contains("\"on_power\", \"always\" or \"never\""),
            "{err}"
        );
    }

    #[test]
    fn only_when_idle_minutes_is_optional_and_checked() {
        let read = |text: &str| Config::parse_toml(text, Path::new("config.toml"), 8);
        assert_eq!(read("").expect("defaults").only_when_idle_minutes, None);
        assert_eq!(
            read("only_when_idle_minutes = 10")
                .expect("valid")
                .only_when_idle_minutes,
            Some(10)
        );
        for bad in [
            "only_when_idle_minutes = 0",
            "only_when_idle_minutes = 1441",
        ] {
            let message = read(bad).expect_err(bad).to_string();
            assert!(
                message.contains("only_when_idle_minutes") && message.contains("1 to 1440"),
                "{message}"
            );
        }
        let message = read("only_when_idle_minutes = \"ten\"")
            .expect_err("not a number")
            .to_string();
        assert!(message.contains("whole number of minutes"), "{message}");
    }

    #[test]
    fn pause_at_thermal_is_read_and_a_bad_value_names_what_is_allowed() {
        let read = |text: &str| Config::parse_toml(text, Path::new("config.toml"), 8);
        assert_eq!(
            read("").expect("defaults").pause_at_thermal,
            PauseAtThermal::Serious
        );
        assert_eq!(
            read("pause_at_thermal = \"never\"")
                .expect("valid")
                .pause_at_thermal,
            PauseAtThermal::Never
        );
        let err = read("pause_at_thermal = \"fair\"").expect_err("not a limit");
        let message = err.to_string();
        assert!(
            message.contains("pause_at_thermal") && message.contains("critical"),
            "{message}"
        );
        let err = read("pause_at_thermal = 2").expect_err("not a string");
        assert!(
            err.to_string()
                .contains("\"serious\", \"critical\" or \"never\""),
            "{err}"
        );
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
        let config = Config::load_or_import(&paths, 4).expect("load").config;
        assert!(config.battery.only_on_power);
        assert_eq!(config.battery.cpus_on_battery, 1);
        assert_eq!(config.battery.stop_percent, 10);
        std::fs::write(paths.config_file(), "cpus = 2\n[battery]\nstop_at = 3\n").expect("write");
        let err = Config::load_or_import(&paths, 4).expect_err("unknown key");
        assert!(err.to_string().contains("stop_at"), "{err}");
    }
}
