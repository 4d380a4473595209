//! Start at login: a LaunchAgent on macOS, an XDG autostart entry on Linux.
//!
//! The file formats are pure functions ([`launch_agent_plist`], [`xdg_autostart_entry`],
//! [`classify_existing_plist`]) tested by parsing their output back. [`LaunchAgent`] and
//! [`XdgAutostart`] install and remove them; both take their folders as parameters, and
//! `launchctl` is behind the [`Launchctl`] trait, so every path through them runs in tests on
//! any OS without touching the real account. [`system_login_item`] picks the one for this OS.
//!
//! The old shell install used the same label, `com.bittrader.worker`, for a LaunchAgent that
//! ran `worker_daemon.sh`. It is never overwritten silently: [`LoginItem::enable`] refuses
//! unless asked to replace it, and then keeps a backup.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::command::{run_with_timeout, CommandError, CommandOutput};

/// The LaunchAgent's label, also its file name and the XDG entry's name.
pub const LAUNCH_AGENT_LABEL: &str = "com.bittrader.worker";

/// The old install's script; a LaunchAgent that runs it is the legacy install.
pub const LEGACY_SCRIPT: &str = "worker_daemon.sh";

/// The file the LaunchAgent's stdout and stderr go to, inside the data folder. The app writes
/// its own log; this catches what happens before that (a panic, a dynamic-linker error).
pub const LAUNCHD_LOG_FILE: &str = "launchd.log";

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// Whether this program starts at login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LoginStatus {
    /// Nothing of ours starts at login.
    Disabled,
    /// Our entry is installed and starts `program`.
    Enabled {
        /// The program the entry starts.
        program: String,
        /// `program` is the running executable. `false` after the app was moved or a new
        /// copy installed elsewhere: enabling again points it here.
        is_this_program: bool,
    },
    /// The old shell install's LaunchAgent is there (same label, runs `worker_daemon.sh`).
    Legacy {
        /// What it runs: the `worker_daemon.sh` argument.
        program: String,
    },
    /// Something else sits at our path: another label, or a file that cannot be read.
    Unrecognized {
        /// What was found, for the user.
        detail: String,
    },
}

/// What a `com.bittrader.worker.plist` already on disk is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExistingAgent {
    /// Ours: our label, not running the old script.
    Ours,
    /// The old shell install: it runs `worker_daemon.sh` (directly or through a shell).
    Legacy {
        /// The argument that names the script.
        program: String,
    },
    /// A valid property list that belongs to something else.
    Foreign {
        /// Its `Label`, if it has one.
        label: Option<String>,
    },
    /// Not a property list dictionary at all.
    Unreadable,
}

/// Why starting at login could not be turned on or off.
#[derive(Debug, thiserror::Error)]
pub enum LoginItemError {
    /// The program path cannot be written into the entry.
    #[error("the program path {path:?} {why}; move the app to a folder with a plain name (such as /Applications) and try again")]
    UnusableProgramPath {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        why: &'static str,
    },
    /// macOS runs a freshly downloaded app from a random read-only copy (App Translocation);
    /// that path is gone after a restart, so a LaunchAgent pointing at it would never start.
    #[error("the app is running from a temporary copy made by macOS ({path}); move BitTrader Worker to the Applications folder, open it from there, then turn on start at login again")]
    Translocated {
        /// The temporary path.
        path: PathBuf,
    },
    /// The old install's LaunchAgent is in place and replacing it was not confirmed.
    #[error("the old BitTrader worker ({program}) starts at login from {path}; confirm replacing it (it is kept as {backup})")]
    LegacyPresent {
        /// The plist.
        path: PathBuf,
        /// What it runs.
        program: String,
        /// Where the backup would go.
        backup: PathBuf,
    },
    /// [`LoginItem::disable`] found an entry that is not ours and left it alone.
    #[error("{path} is not ours ({detail}); it was left in place")]
    NotOurs {
        /// The file.
        path: PathBuf,
        /// What it is.
        detail: String,
    },
    /// A file or folder operation failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The property list could not be produced (should not happen for valid strings).
    #[error("could not write the LaunchAgent: {0}")]
    Plist(#[from] plist::Error),
    /// `launchctl` refused.
    #[error("launchctl {action} failed: {detail}")]
    Launchctl {
        /// The subcommand and target.
        action: String,
        /// What it said.
        detail: String,
    },
    /// Neither `$HOME` (nor, on Linux, `$XDG_CONFIG_HOME`) gives a folder to use.
    #[error("cannot find your home folder: HOME is not set")]
    NoHome,
}

/// Turns starting at login on and off.
pub trait LoginItem {
    /// What is installed now (read from disk; says nothing about what runs right now).
    fn status(&self) -> LoginStatus;
    /// Installs our entry. With the old install's LaunchAgent in place this fails with
    /// [`LoginItemError::LegacyPresent`] unless `replace_legacy`, which backs it up first.
    fn enable(&self, replace_legacy: bool) -> Result<(), LoginItemError>;
    /// Removes our entry (nothing to do if there is none). Leaves anything else in place.
    fn disable(&self) -> Result<(), LoginItemError>;
}

/// The login item for this OS, for the current user, starting `exe`. `data_dir` is the
/// worker's folder (`~/.bittrader_worker`), where launchd's log goes on macOS.
#[cfg(target_os = "macos")]
pub fn system_login_item(
    exe: PathBuf,
    data_dir: PathBuf,
) -> Result<Box<dyn LoginItem + Send>, LoginItemError> {
    Ok(Box::new(LaunchAgent::for_current_user(exe, data_dir)?))
}

/// The login item for this OS, for the current user, starting `exe`. `data_dir` is the
/// worker's folder (`~/.bittrader_worker`), where launchd's log goes on macOS.
#[cfg(not(target_os = "macos"))]
pub fn system_login_item(
    exe: PathBuf,
    data_dir: PathBuf,
) -> Result<Box<dyn LoginItem + Send>, LoginItemError> {
    // An autostart entry has no log redirection; the app's own log is in `data_dir`.
    let _ = data_dir;
    Ok(Box::new(XdgAutostart::for_current_user(exe)?))
}

/// Checks that `exe` can be written into a login entry: absolute, UTF-8 (plists and desktop
/// files are UTF-8 text) and free of control characters (XML 1.0 cannot hold most of them).
fn program_text(exe: &Path) -> Result<&str, LoginItemError> {
    let unusable = |why| LoginItemError::UnusableProgramPath {
        path: exe.to_path_buf(),
        why,
    };
    let text = exe.to_str().ok_or_else(|| unusable("is not valid UTF-8"))?;
    if !exe.is_absolute() {
        return Err(unusable("is relative"));
    }
    if text.chars().any(char::is_control) {
        return Err(unusable("contains control characters"));
    }
    Ok(text)
}

// ---------------------------------------------------------------------------------------------
// macOS: the LaunchAgent plist
// ---------------------------------------------------------------------------------------------

/// The keys of our LaunchAgent, in the order they are written.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LaunchAgentKeys<'a> {
    label: &'a str,
    program_arguments: [&'a str; 1],
    /// The data folder the plist's log paths use, so a custom `BITTRADER_WORKER_HOME` set when
    /// enabling still holds at login (launchd gives agents no shell environment).
    environment_variables: BTreeMap<&'a str, &'a str>,
    run_at_load: bool,
    keep_alive: KeepAlive,
    limit_load_to_session_type: &'a str,
    process_type: &'a str,
    standard_out_path: &'a str,
    standard_error_path: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeepAlive {
    successful_exit: bool,
}

/// Our LaunchAgent as XML plist bytes:
///
/// - `ProgramArguments` = `[exe]` (the plist writer escapes `&`, `<`, ...);
/// - `RunAtLoad`: start at login;
/// - `KeepAlive` = `{SuccessfulExit = false}`: restart after a crash, but a Quit (exit 0)
///   stays quit until the next login;
/// - `LimitLoadToSessionType` = `Aqua`: only in a graphical login (a menu-bar app has nothing
///   to do in an SSH session);
/// - `ProcessType` = `Interactive`: not throttled like a background job while the user works
///   with it;
/// - `StandardOutPath`/`StandardErrorPath` = `data_dir/launchd.log`.
///
/// Note for the app: `launchctl bootstrap` starts it at once (RunAtLoad). A second instance
/// that finds one already running must exit with status 0, or KeepAlive restarts it.
pub fn launch_agent_plist(exe: &Path, data_dir: &Path) -> Result<Vec<u8>, LoginItemError> {
    let program = program_text(exe)?;
    if program.contains("/AppTranslocation/") {
        return Err(LoginItemError::Translocated {
            path: exe.to_path_buf(),
        });
    }
    let data = program_text(data_dir)?;
    let log_path = data_dir.join(LAUNCHD_LOG_FILE);
    let log = program_text(&log_path)?;
    let keys = LaunchAgentKeys {
        label: LAUNCH_AGENT_LABEL,
        program_arguments: [program],
        environment_variables: BTreeMap::from([("BITTRADER_WORKER_HOME", data)]),
        run_at_load: true,
        keep_alive: KeepAlive {
            successful_exit: false,
        },
        limit_load_to_session_type: "Aqua",
        process_type: "Interactive",
        standard_out_path: log,
        standard_error_path: log,
    };
    let mut bytes = Vec::new();
    plist::to_writer_xml(&mut bytes, &keys)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// What a plist found at our path is. See [`ExistingAgent`].
pub fn classify_existing_plist(bytes: &[u8]) -> ExistingAgent {
    let Ok(value) = plist::Value::from_reader(io::Cursor::new(bytes)) else {
        return ExistingAgent::Unreadable;
    };
    let Some(dict) = value.as_dictionary() else {
        return ExistingAgent::Unreadable;
    };
    let label = dict
        .get("Label")
        .and_then(plist::Value::as_string)
        .map(str::to_string);
    // `bash worker_daemon.sh`, `/path/worker_daemon.sh`, `bash -c "cd … && ./worker_daemon.sh"`:
    // any argument naming the script.
    if let Some(script) = program_of(dict)
        .into_iter()
        .find(|arg| arg.contains(LEGACY_SCRIPT))
    {
        return ExistingAgent::Legacy { program: script };
    }
    if label.as_deref() == Some(LAUNCH_AGENT_LABEL) {
        ExistingAgent::Ours
    } else {
        ExistingAgent::Foreign { label }
    }
}

/// `Program` and the `ProgramArguments` strings of a LaunchAgent, in that order.
fn program_of(dict: &plist::Dictionary) -> Vec<String> {
    let program = dict.get("Program").and_then(plist::Value::as_string);
    let arguments = dict
        .get("ProgramArguments")
        .and_then(plist::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(plist::Value::as_string);
    program
        .into_iter()
        .chain(arguments)
        .map(str::to_string)
        .collect()
}

/// The program a plist starts: `Program`, else the first of `ProgramArguments`.
fn first_program(bytes: &[u8]) -> Option<String> {
    let value = plist::Value::from_reader(io::Cursor::new(bytes)).ok()?;
    program_of(value.as_dictionary()?).into_iter().next()
}

// ---------------------------------------------------------------------------------------------
// macOS: launchctl
// ---------------------------------------------------------------------------------------------

/// Runs `launchctl` with the given arguments. A trait so tests record the calls instead; any
/// `Fn(&[&str]) -> Result<CommandOutput, CommandError>` is one.
pub trait Launchctl {
    /// Runs `launchctl args…` and returns how it ended.
    fn run(&self, args: &[&str]) -> Result<CommandOutput, CommandError>;
}

impl<F> Launchctl for F
where
    F: Fn(&[&str]) -> Result<CommandOutput, CommandError>,
{
    fn run(&self, args: &[&str]) -> Result<CommandOutput, CommandError> {
        self(args)
    }
}

/// The real `/bin/launchctl`, with a 10 s deadline (bootout waits for the job to exit, and
/// launchd gives a job a few seconds after SIGTERM).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLaunchctl;

impl Launchctl for SystemLaunchctl {
    fn run(&self, args: &[&str]) -> Result<CommandOutput, CommandError> {
        run_with_timeout("/bin/launchctl", args, Duration::from_secs(10))
    }
}

/// `launchctl bootout` answers that count as "was not loaded, nothing to stop": 3 "No such
/// process" and 113 "Could not find specified service" (the wording varies across macOS
/// versions, so the text is checked too), and 36 "Operation now in progress", which it says
/// when the job is still on its way out.
fn bootout_done(out: &CommandOutput) -> bool {
    let text = format!("{} {}", out.stdout, out.stderr);
    out.success()
        || matches!(out.code, Some(3 | 36 | 113))
        || text.contains("No such process")
        || text.contains("Could not find specified service")
        || text.contains("not loaded")
}

/// What `launchctl` said, for an error message.
fn launchctl_detail(result: &Result<CommandOutput, CommandError>) -> String {
    match result {
        Ok(out) => {
            let said = if out.stderr.trim().is_empty() {
                out.stdout.trim()
            } else {
                out.stderr.trim()
            };
            match (said.is_empty(), out.code) {
                (false, _) => said.to_string(),
                (true, Some(code)) => format!("exit status {code}"),
                (true, None) => "killed by a signal".to_string(),
            }
        }
        Err(error) => error.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// macOS: the LaunchAgent login item
// ---------------------------------------------------------------------------------------------

/// The LaunchAgent `com.bittrader.worker` in a user's `~/Library/LaunchAgents`.
#[derive(Debug)]
pub struct LaunchAgent<L: Launchctl = SystemLaunchctl> {
    agents_dir: PathBuf,
    data_dir: PathBuf,
    exe: PathBuf,
    uid: u32,
    launchctl: L,
    running_as_job: bool,
    /// Pause between bootstrap attempts (zero in tests).
    retry_delay: Duration,
}

impl LaunchAgent<SystemLaunchctl> {
    /// The current user's: `$HOME/Library/LaunchAgents`, the real uid, `/bin/launchctl`.
    pub fn for_current_user(exe: PathBuf, data_dir: PathBuf) -> Result<Self, LoginItemError> {
        let home = std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .ok_or(LoginItemError::NoHome)?;
        let agents_dir = PathBuf::from(home).join("Library").join("LaunchAgents");
        let uid = nix::unistd::getuid().as_raw();
        // launchd puts the job's label in XPC_SERVICE_NAME; anything started otherwise (Finder,
        // a terminal) has a different value or none.
        let running_as_job =
            std::env::var("XPC_SERVICE_NAME").is_ok_and(|name| name == LAUNCH_AGENT_LABEL);
        Ok(
            LaunchAgent::new(agents_dir, data_dir, exe, uid, SystemLaunchctl)
                .running_as_job(running_as_job),
        )
    }
}

impl<L: Launchctl> LaunchAgent<L> {
    /// A LaunchAgent in `agents_dir` starting `exe`, logging into `data_dir`, for user `uid`
    /// (the `gui/UID` launchd domain).
    pub fn new(
        agents_dir: PathBuf,
        data_dir: PathBuf,
        exe: PathBuf,
        uid: u32,
        launchctl: L,
    ) -> Self {
        LaunchAgent {
            agents_dir,
            data_dir,
            exe,
            uid,
            launchctl,
            running_as_job: false,
            retry_delay: Duration::from_millis(500),
        }
    }

    /// Says whether this process is the LaunchAgent's own job. Then `launchctl bootout` would
    /// stop this very process, so enable and disable only change the file, which launchd
    /// reads at the next login.
    pub fn running_as_job(mut self, running_as_job: bool) -> Self {
        self.running_as_job = running_as_job;
        self
    }

    /// `agents_dir/com.bittrader.worker.plist`.
    pub fn plist_path(&self) -> PathBuf {
        self.agents_dir.join(format!("{LAUNCH_AGENT_LABEL}.plist"))
    }

    /// Where the replaced legacy plist is kept: `com.bittrader.worker.plist.legacy-backup` (not
    /// ending in `.plist`, so launchd does not load it at login).
    pub fn backup_path(&self) -> PathBuf {
        self.agents_dir
            .join(format!("{LAUNCH_AGENT_LABEL}.plist.legacy-backup"))
    }

    fn service_target(&self) -> String {
        format!("gui/{}/{LAUNCH_AGENT_LABEL}", self.uid)
    }

    /// `launchctl bootout gui/UID/com.bittrader.worker`: `Ok` if it is now unloaded (or never
    /// was), else what launchctl said.
    fn bootout(&self) -> Result<(), LoginItemError> {
        let target = self.service_target();
        let result = self.launchctl.run(&["bootout", &target]);
        match &result {
            Ok(out) if bootout_done(out) => Ok(()),
            _ => Err(LoginItemError::Launchctl {
                action: format!("bootout {target}"),
                detail: launchctl_detail(&result),
            }),
        }
    }

    /// `launchctl bootstrap gui/UID PATH`, tried three times: right after a bootout the old
    /// job may still be exiting, and bootstrap then fails with "already loaded/in progress".
    fn bootstrap(&self, path: &Path) -> Result<(), LoginItemError> {
        let domain = format!("gui/{}", self.uid);
        let path_text = path.to_string_lossy();
        let mut last = None;
        for attempt in 0..3 {
            if attempt > 0 {
                std::thread::sleep(self.retry_delay);
            }
            let result = self.launchctl.run(&["bootstrap", &domain, &path_text]);
            if matches!(&result, Ok(out) if out.success()) {
                return Ok(());
            }
            last = Some(result);
        }
        Err(LoginItemError::Launchctl {
            action: format!("bootstrap {domain} {path_text}"),
            detail: last.as_ref().map(launchctl_detail).unwrap_or_default(),
        })
    }
}

impl<L: Launchctl> LoginItem for LaunchAgent<L> {
    fn status(&self) -> LoginStatus {
        let path = self.plist_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return LoginStatus::Disabled,
            Err(error) => {
                return LoginStatus::Unrecognized {
                    detail: format!("{} cannot be read: {error}", path.display()),
                }
            }
        };
        match classify_existing_plist(&bytes) {
            ExistingAgent::Ours => {
                let program = first_program(&bytes).unwrap_or_default();
                let is_this_program = Path::new(&program) == self.exe;
                LoginStatus::Enabled {
                    program,
                    is_this_program,
                }
            }
            ExistingAgent::Legacy { program } => LoginStatus::Legacy { program },
            ExistingAgent::Foreign { label } => LoginStatus::Unrecognized {
                detail: format!(
                    "{} belongs to {}",
                    path.display(),
                    label.as_deref().unwrap_or("a LaunchAgent without a label")
                ),
            },
            ExistingAgent::Unreadable => LoginStatus::Unrecognized {
                detail: format!("{} is not a property list", path.display()),
            },
        }
    }

    fn enable(&self, replace_legacy: bool) -> Result<(), LoginItemError> {
        let path = self.plist_path();
        let plist = launch_agent_plist(&self.exe, &self.data_dir)?;
        match fs::read(&path) {
            Ok(existing) => {
                if let ExistingAgent::Legacy { program } = classify_existing_plist(&existing) {
                    if !replace_legacy {
                        return Err(LoginItemError::LegacyPresent {
                            path,
                            program,
                            backup: self.backup_path(),
                        });
                    }
                    write_atomically(&self.backup_path(), &existing)?;
                }
                // Ours (maybe for an older path), foreign or unreadable: the file name is ours,
                // so it is replaced.
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(LoginItemError::Io {
                    action: "read",
                    path,
                    source,
                })
            }
        }
        fs::create_dir_all(&self.agents_dir).map_err(|source| LoginItemError::Io {
            action: "create",
            path: self.agents_dir.clone(),
            source,
        })?;
        // launchd does not create the log's folder, and a job whose StandardOutPath cannot be
        // opened does not start. 0700 as the worker's folder always is.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.data_dir)
            .map_err(|source| LoginItemError::Io {
                action: "create",
                path: self.data_dir.clone(),
                source,
            })?;
        write_atomically(&path, &plist)?;
        if self.running_as_job {
            return Ok(());
        }
        // Unload whatever runs under our label (the legacy script's loop, or our agent for an
        // older path). A failure here is not final: if it matters, bootstrap fails and says so.
        let bootout = self.bootout();
        self.bootstrap(&path)
            .map_err(|error| match (error, bootout) {
                (LoginItemError::Launchctl { action, detail }, Err(bootout_error)) => {
                    LoginItemError::Launchctl {
                        action,
                        detail: format!("{detail} (before it: {bootout_error})"),
                    }
                }
                (error, _) => error,
            })
    }

    fn disable(&self) -> Result<(), LoginItemError> {
        let path = self.plist_path();
        match fs::read(&path) {
            Ok(existing) => match classify_existing_plist(&existing) {
                ExistingAgent::Ours => {}
                other => {
                    return Err(LoginItemError::NotOurs {
                        path,
                        detail: match other {
                            ExistingAgent::Legacy { program } => {
                                format!("the old install's agent, running {program}")
                            }
                            ExistingAgent::Foreign { label } => {
                                format!("labelled {}", label.as_deref().unwrap_or("nothing"))
                            }
                            _ => "not a property list".to_string(),
                        },
                    })
                }
            },
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(LoginItemError::Io {
                    action: "read",
                    path,
                    source,
                })
            }
        }
        // Unload first (a loaded job with KeepAlive would otherwise be restarted after a
        // crash until logout), but remove the file whatever launchctl says: that alone keeps
        // it from starting at the next login, which is what was asked.
        let bootout = if self.running_as_job {
            Ok(())
        } else {
            self.bootout()
        };
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(LoginItemError::Io {
                    action: "remove",
                    path,
                    source,
                })
            }
        }
        bootout
    }
}

// ---------------------------------------------------------------------------------------------
// Linux: the XDG autostart entry
// ---------------------------------------------------------------------------------------------

/// The autostart entry for `exe`, a Desktop Entry file:
///
/// ```text
/// [Desktop Entry]
/// Type=Application
/// Name=BitTrader Worker
/// Exec="/opt/Bit Trader/bittrader-worker"
/// ...
/// X-GNOME-Autostart-enabled=true
/// ```
///
/// `Exec` follows the Desktop Entry spec: an argument with a reserved character is put in
/// double quotes with `"`, `` ` ``, `$` and `\` backslash-escaped inside; `%` is doubled (it
/// starts field codes); then the whole value gets the string escapes (`\` → `\\`, newline →
/// `\n`), which the spec applies before the quoting rule, so a literal `$` ends up as `\\$`.
pub fn xdg_autostart_entry(exe: &Path) -> Result<String, LoginItemError> {
    let program = program_text(exe)?;
    let exec = escape_desktop_string(&quote_exec_argument(program));
    Ok(format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=BitTrader Worker\n\
         Comment=Keeps this machine contributing CPUs to your Ray cluster\n\
         Exec={exec}\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n"
    ))
}

/// One `Exec` argument, quoted if the spec requires it.
fn quote_exec_argument(arg: &str) -> String {
    // The spec's reserved characters: any of them forces quoting.
    const RESERVED: &[char] = &[
        ' ', '\t', '\n', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(',
        ')', '`',
    ];
    let arg = arg.replace('%', "%%");
    if !arg.is_empty() && !arg.contains(RESERVED) {
        return arg;
    }
    let mut quoted = String::with_capacity(arg.len() + 2);
    quoted.push('"');
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// The string-value escapes of the Desktop Entry spec. Only `\\` can occur: newlines, tabs
/// and other control characters never get this far ([`program_text`] refuses them).
fn escape_desktop_string(value: &str) -> String {
    value.replace('\\', "\\\\")
}

/// The reverse of [`escape_desktop_string`] (plus `\s`, a space).
fn unescape_desktop_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            // Not a string escape: left for the quoting rule.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Splits an `Exec` value (string escapes included) into its arguments, undoing quoting and
/// `%%`. `None` for an unterminated quote.
fn parse_exec(value: &str) -> Option<Vec<String>> {
    let value = unescape_desktop_string(value);
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(arg) = current.take() {
                    args.push(arg);
                }
            }
            '"' => {
                let arg = current.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => {
                            let next = chars.next()?;
                            if !matches!(next, '"' | '`' | '$' | '\\') {
                                arg.push('\\');
                            }
                            arg.push(next);
                        }
                        other => arg.push(other),
                    }
                }
            }
            other => current.get_or_insert_with(String::new).push(other),
        }
    }
    args.extend(current);
    Some(args.into_iter().map(|arg| arg.replace("%%", "%")).collect())
}

/// The `[Desktop Entry]` group's keys (unlocalised), values with string escapes still in.
fn desktop_entry_keys(text: &str) -> BTreeMap<&str, &str> {
    let mut keys = BTreeMap::new();
    let mut in_group = false;
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with('[') {
            in_group = line.trim_end() == "[Desktop Entry]";
        } else if in_group && !line.starts_with('#') {
            if let Some((key, value)) = line.split_once('=') {
                keys.insert(key.trim_end(), value.trim_start());
            }
        }
    }
    keys
}

/// `$XDG_CONFIG_HOME/autostart`, or `$HOME/.config/autostart` when it is unset, empty or
/// relative (the Base Directory spec says to ignore relative values).
fn autostart_dir_from(
    xdg_config_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let config = xdg_config_home
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            home.filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(config.join("autostart"))
}

/// `com.bittrader.worker.desktop` in an XDG autostart folder.
#[derive(Debug, Clone)]
pub struct XdgAutostart {
    autostart_dir: PathBuf,
    exe: PathBuf,
}

impl XdgAutostart {
    /// An entry in `autostart_dir` starting `exe`.
    pub fn new(autostart_dir: PathBuf, exe: PathBuf) -> Self {
        XdgAutostart { autostart_dir, exe }
    }

    /// The current user's: `$XDG_CONFIG_HOME/autostart` or `~/.config/autostart`.
    pub fn for_current_user(exe: PathBuf) -> Result<Self, LoginItemError> {
        let dir = autostart_dir_from(
            std::env::var_os("XDG_CONFIG_HOME"),
            std::env::var_os("HOME"),
        )
        .ok_or(LoginItemError::NoHome)?;
        Ok(XdgAutostart::new(dir, exe))
    }

    /// `autostart_dir/com.bittrader.worker.desktop`.
    pub fn entry_path(&self) -> PathBuf {
        self.autostart_dir
            .join(format!("{LAUNCH_AGENT_LABEL}.desktop"))
    }
}

impl LoginItem for XdgAutostart {
    fn status(&self) -> LoginStatus {
        let path = self.entry_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return LoginStatus::Disabled,
            Err(error) => {
                return LoginStatus::Unrecognized {
                    detail: format!("{} cannot be read: {error}", path.display()),
                }
            }
        };
        let keys = desktop_entry_keys(&text);
        // What the desktop's "startup applications" settings write to switch an entry off.
        let switched_off = keys.get("Hidden") == Some(&"true")
            || keys.get("X-GNOME-Autostart-enabled") == Some(&"false");
        if switched_off {
            return LoginStatus::Disabled;
        }
        match keys
            .get("Exec")
            .and_then(|exec| parse_exec(exec))
            .and_then(|args| args.into_iter().next())
        {
            Some(program) => {
                let is_this_program = Path::new(&program) == self.exe;
                LoginStatus::Enabled {
                    program,
                    is_this_program,
                }
            }
            None => LoginStatus::Unrecognized {
                detail: format!("{} has no usable Exec line", path.display()),
            },
        }
    }

    /// Writes the entry. There is no legacy autostart on Linux, so `replace_legacy` has no use.
    fn enable(&self, _replace_legacy: bool) -> Result<(), LoginItemError> {
        let entry = xdg_autostart_entry(&self.exe)?;
        fs::create_dir_all(&self.autostart_dir).map_err(|source| LoginItemError::Io {
            action: "create",
            path: self.autostart_dir.clone(),
            source,
        })?;
        write_atomically(&self.entry_path(), entry.as_bytes())
    }

    fn disable(&self) -> Result<(), LoginItemError> {
        let path = self.entry_path();
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(LoginItemError::Io {
                action: "remove",
                path,
                source,
            }),
        }
    }
}

/// Writes a login entry through [`crate::atomic_file`], mode 0644: launchd ignores a plist that
/// others can write.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), LoginItemError> {
    crate::atomic_file::write(path, bytes, 0o644).map_err(|source| LoginItemError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::os::unix::fs::PermissionsExt;

    const NASTY_EXE: &str =
        "/Applications/Bit Trader & Co <beta>/BitTrader Worker.app/Contents/MacOS/bittrader-worker";

    fn parse(bytes: &[u8]) -> plist::Dictionary {
        plist::Value::from_reader(io::Cursor::new(bytes))
            .expect("plist parses")
            .into_dictionary()
            .expect("a dictionary")
    }

    fn string<'a>(dict: &'a plist::Dictionary, key: &str) -> &'a str {
        dict.get(key)
            .and_then(plist::Value::as_string)
            .unwrap_or_else(|| panic!("{key} is a string"))
    }

    // --- plist generation ---------------------------------------------------------------------

    #[test]
    fn generated_plist_has_every_key_right() {
        let data = Path::new("/Users/me/.bittrader_worker");
        let bytes = launch_agent_plist(Path::new(NASTY_EXE), data).expect("plist");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        // Escaped by the writer, not pasted raw.
        assert!(text.contains("&amp; Co &lt;beta&gt;"), "{text}");

        let dict = parse(&bytes);
        assert_eq!(string(&dict, "Label"), "com.bittrader.worker");
        let args: Vec<&str> = dict
            .get("ProgramArguments")
            .and_then(plist::Value::as_array)
            .expect("array")
            .iter()
            .map(|v| v.as_string().expect("string"))
            .collect();
        assert_eq!(args, [NASTY_EXE]);
        assert_eq!(
            dict.get("RunAtLoad").and_then(plist::Value::as_boolean),
            Some(true)
        );
        let keep_alive = dict
            .get("KeepAlive")
            .and_then(plist::Value::as_dictionary)
            .expect("KeepAlive is a dictionary");
        assert_eq!(keep_alive.len(), 1);
        assert_eq!(
            keep_alive
                .get("SuccessfulExit")
                .and_then(plist::Value::as_boolean),
            Some(false)
        );
        assert_eq!(string(&dict, "LimitLoadToSessionType"), "Aqua");
        assert_eq!(string(&dict, "ProcessType"), "Interactive");
        assert_eq!(
            string(&dict, "StandardOutPath"),
            "/Users/me/.bittrader_worker/launchd.log"
        );
        assert_eq!(
            string(&dict, "StandardErrorPath"),
            "/Users/me/.bittrader_worker/launchd.log"
        );
        let env = dict
            .get("EnvironmentVariables")
            .and_then(plist::Value::as_dictionary)
            .expect("env");
        assert_eq!(
            env.get("BITTRADER_WORKER_HOME")
                .and_then(plist::Value::as_string),
            Some("/Users/me/.bittrader_worker")
        );
        assert_eq!(
            dict.len(),
            9,
            "no unexpected keys: {:?}",
            dict.keys().collect::<Vec<_>>()
        );
        assert_eq!(classify_existing_plist(&bytes), ExistingAgent::Ours);
    }

    #[test]
    fn plist_refuses_unusable_paths() {
        let data = Path::new("/Users/me/.bittrader_worker");
        assert!(matches!(
            launch_agent_plist(Path::new("bittrader-worker"), data),
            Err(LoginItemError::UnusableProgramPath { .. })
        ));
        assert!(matches!(
            launch_agent_plist(Path::new("/Applications/a\u{1}b"), data),
            Err(LoginItemError::UnusableProgramPath { .. })
        ));
        use std::os::unix::ffi::OsStrExt;
        let not_utf8 = Path::new(std::ffi::OsStr::from_bytes(b"/Applications/\xff/app"));
        assert!(matches!(
            launch_agent_plist(not_utf8, data),
            Err(LoginItemError::UnusableProgramPath { .. })
        ));
        let translocated = Path::new(
            "/private/var/folders/x/T/AppTranslocation/1234/d/BitTrader Worker.app/Contents/MacOS/bittrader-worker",
        );
        let error = launch_agent_plist(translocated, data).expect_err("refused");
        assert!(matches!(error, LoginItemError::Translocated { .. }));
        assert!(error.to_string().contains("Applications folder"));
    }

    // --- classification -----------------------------------------------------------------------

    /// Constructed: what the old shell install's agent looked like (same label, bash running
    /// the script). No copy of the real one was available.
    const CONSTRUCTED_LEGACY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>Label</key>
    <string>com.bittrader.worker</string>
    <key>ProgramArguments</key>
    <array>
        <string>/bin/bash</string>
        <string>/Users/me/.bittrader_worker/worker_daemon.sh</string>
    </array>
    <key>RunAtLoad</key>
    <true/>
    <key>KeepAlive</key>
    <true/>
</dict>
</plist>
"#;

    #[test]
    fn constructed_legacy_plists_are_legacy() {
        assert_eq!(
            classify_existing_plist(CONSTRUCTED_LEGACY.as_bytes()),
            ExistingAgent::Legacy {
                program: "/Users/me/.bittrader_worker/worker_daemon.sh".into()
            }
        );
        // Constructed variants: the script run directly, and through `bash -c`.
        let direct = CONSTRUCTED_LEGACY.replace("<string>/bin/bash</string>\n", "");
        assert!(matches!(
            classify_existing_plist(direct.as_bytes()),
            ExistingAgent::Legacy { .. }
        ));
        let shell = CONSTRUCTED_LEGACY.replace(
            "<string>/Users/me/.bittrader_worker/worker_daemon.sh</string>",
            "<string>-c</string><string>cd ~/.bittrader_worker &amp;&amp; ./worker_daemon.sh</string>",
        );
        assert_eq!(
            classify_existing_plist(shell.as_bytes()),
            ExistingAgent::Legacy {
                program: "cd ~/.bittrader_worker && ./worker_daemon.sh".into()
            }
        );
    }

    #[test]
    fn fixture_plists_are_foreign() {
        let coolprop = include_str!(
            "../../tests/fixtures/macos_launchagent_keepalive_successfulexit_false_coolprop.plist"
        );
        assert_eq!(
            classify_existing_plist(coolprop.as_bytes()),
            ExistingAgent::Foreign {
                label: Some("org.coolprop.a-worker".into())
            }
        );
        // A source-code template: its label is the placeholder itself.
        let mountaineer = include_str!(
            "../../tests/fixtures/macos_launchagent_menubar_mountaineer_TEMPLATE.plist"
        );
        assert_eq!(
            classify_existing_plist(mountaineer.as_bytes()),
            ExistingAgent::Foreign {
                label: Some("{label}".into())
            }
        );
    }

    #[test]
    fn garbage_and_binary_plists() {
        assert_eq!(classify_existing_plist(b""), ExistingAgent::Unreadable);
        assert_eq!(
            classify_existing_plist(b"not a plist at all"),
            ExistingAgent::Unreadable
        );
        // A plist whose root is not a dictionary.
        let mut array = Vec::new();
        plist::Value::Array(vec![plist::Value::from("x")])
            .to_writer_xml(&mut array)
            .expect("xml");
        assert_eq!(classify_existing_plist(&array), ExistingAgent::Unreadable);
        // `plutil -convert binary1` output of a legacy plist is still recognised.
        let mut binary = Vec::new();
        plist::Value::from_reader(io::Cursor::new(CONSTRUCTED_LEGACY.as_bytes()))
            .expect("parse")
            .to_writer_binary(&mut binary)
            .expect("binary");
        assert!(matches!(
            classify_existing_plist(&binary),
            ExistingAgent::Legacy { .. }
        ));
    }

    // --- the LaunchAgent login item with a recording launchctl --------------------------------

    /// A launchctl that records its calls and answers from a script of results by subcommand.
    struct Recorder {
        calls: RefCell<Vec<String>>,
        bootout: (Option<i32>, &'static str),
        bootstrap: RefCell<Vec<(Option<i32>, &'static str)>>,
    }

    impl Recorder {
        fn new(bootout: (Option<i32>, &'static str)) -> Self {
            Recorder {
                calls: RefCell::new(Vec::new()),
                bootout,
                bootstrap: RefCell::new(Vec::new()),
            }
        }
    }

    impl Launchctl for &Recorder {
        fn run(&self, args: &[&str]) -> Result<CommandOutput, CommandError> {
            self.calls.borrow_mut().push(args.join(" "));
            let (code, stderr) = if args.first() == Some(&"bootout") {
                self.bootout
            } else {
                let mut script = self.bootstrap.borrow_mut();
                if script.is_empty() {
                    (Some(0), "")
                } else {
                    script.remove(0)
                }
            };
            Ok(CommandOutput {
                code,
                stdout: String::new(),
                stderr: stderr.to_string(),
            })
        }
    }

    struct Setup {
        home: tempfile::TempDir,
    }

    impl Setup {
        fn new() -> Self {
            Setup {
                home: tempfile::tempdir().expect("tempdir"),
            }
        }
        fn agents(&self) -> PathBuf {
            self.home.path().join("Library/LaunchAgents")
        }
        fn data(&self) -> PathBuf {
            self.home.path().join(".bittrader_worker")
        }
        fn agent<'r>(&self, recorder: &'r Recorder) -> LaunchAgent<&'r Recorder> {
            let mut agent = LaunchAgent::new(
                self.agents(),
                self.data(),
                PathBuf::from(NASTY_EXE),
                501,
                recorder,
            );
            agent.retry_delay = Duration::ZERO;
            agent
        }
    }

    const NOT_LOADED: (Option<i32>, &str) = (Some(3), "Boot-out failed: 3: No such process");

    #[test]
    fn enable_on_a_fresh_account() {
        let setup = Setup::new();
        let recorder = Recorder::new(NOT_LOADED);
        let agent = setup.agent(&recorder);
        assert_eq!(agent.status(), LoginStatus::Disabled);

        agent.enable(false).expect("enable");
        let path = agent.plist_path();
        let bytes = fs::read(&path).expect("written");
        assert_eq!(classify_existing_plist(&bytes), ExistingAgent::Ours);
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode & 0o022, 0, "not writable by others: {mode:o}");
        assert!(setup.data().is_dir(), "the log folder exists for launchd");
        assert_eq!(
            *recorder.calls.borrow(),
            [
                "bootout gui/501/com.bittrader.worker".to_string(),
                format!("bootstrap gui/501 {}", path.display()),
            ]
        );
        assert_eq!(
            agent.status(),
            LoginStatus::Enabled {
                program: NASTY_EXE.into(),
                is_this_program: true
            }
        );
        // No temp file is left behind.
        let names: Vec<_> = fs::read_dir(setup.agents())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [OsString::from("com.bittrader.worker.plist")]);
    }

    #[test]
    fn enable_refuses_the_legacy_agent_unless_told_and_then_backs_it_up() {
        let setup = Setup::new();
        fs::create_dir_all(setup.agents()).expect("mkdir");
        let recorder = Recorder::new((Some(0), ""));
        let agent = setup.agent(&recorder);
        fs::write(agent.plist_path(), CONSTRUCTED_LEGACY).expect("write");
        assert_eq!(
            agent.status(),
            LoginStatus::Legacy {
                program: "/Users/me/.bittrader_worker/worker_daemon.sh".into()
            }
        );

        let error = agent.enable(false).expect_err("refused");
        assert!(
            matches!(error, LoginItemError::LegacyPresent { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("worker_daemon.sh"));
        assert_eq!(
            fs::read_to_string(agent.plist_path()).expect("read"),
            CONSTRUCTED_LEGACY,
            "untouched"
        );
        assert!(recorder.calls.borrow().is_empty(), "launchctl not run");

        agent.enable(true).expect("enable");
        assert_eq!(
            fs::read_to_string(agent.backup_path()).expect("backup"),
            CONSTRUCTED_LEGACY
        );
        assert!(matches!(agent.status(), LoginStatus::Enabled { .. }));
        // The legacy job (same label) is booted out before ours is bootstrapped.
        assert_eq!(recorder.calls.borrow().len(), 2);
        assert!(recorder.calls.borrow()[0].starts_with("bootout "));
    }

    #[test]
    fn enable_replaces_an_older_path_of_ours() {
        let setup = Setup::new();
        let recorder = Recorder::new((Some(0), ""));
        let old = LaunchAgent::new(
            setup.agents(),
            setup.data(),
            PathBuf::from("/old/place/bittrader-worker"),
            501,
            &recorder,
        );
        old.enable(false).expect("enable old");
        let agent = setup.agent(&recorder);
        assert_eq!(
            agent.status(),
            LoginStatus::Enabled {
                program: "/old/place/bittrader-worker".into(),
                is_this_program: false
            }
        );
        agent.enable(false).expect("enable");
        assert!(matches!(
            agent.status(),
            LoginStatus::Enabled {
                is_this_program: true,
                ..
            }
        ));
    }

    #[test]
    fn bootstrap_is_retried_then_reported_with_launchctls_words() {
        let setup = Setup::new();
        let recorder = Recorder::new((Some(36), "Boot-out failed: 36: Operation now in progress"));
        recorder.bootstrap.borrow_mut().push((
            Some(37),
            "Bootstrap failed: 37: Operation already in progress",
        ));
        let agent = setup.agent(&recorder);
        agent.enable(false).expect("second attempt works");
        assert_eq!(recorder.calls.borrow().len(), 3);

        let setup = Setup::new();
        let recorder = Recorder::new((Some(1), "Boot-out failed: 1: Operation not permitted"));
        *recorder.bootstrap.borrow_mut() =
            vec![(Some(5), "Bootstrap failed: 5: Input/output error"); 3];
        let agent = setup.agent(&recorder);
        let error = agent.enable(false).expect_err("fails");
        let message = error.to_string();
        assert!(message.contains("5: Input/output error"), "{message}");
        assert!(message.contains("Operation not permitted"), "{message}");
        assert_eq!(recorder.calls.borrow().len(), 4);
        // The file is in place anyway: it still starts at the next login.
        assert!(agent.plist_path().exists());
    }

    #[test]
    fn running_as_the_job_changes_only_the_file() {
        let setup = Setup::new();
        let recorder = Recorder::new((Some(0), ""));
        let agent = setup.agent(&recorder).running_as_job(true);
        agent.enable(false).expect("enable");
        assert!(agent.plist_path().exists());
        agent.disable().expect("disable");
        assert!(!agent.plist_path().exists());
        assert!(
            recorder.calls.borrow().is_empty(),
            "bootout would have killed this process: {:?}",
            recorder.calls.borrow()
        );
    }

    #[test]
    fn disable_boots_out_and_removes_only_ours() {
        let setup = Setup::new();
        let recorder = Recorder::new(NOT_LOADED);
        let agent = setup.agent(&recorder);
        agent.disable().expect("nothing to do");
        assert!(recorder.calls.borrow().is_empty());

        agent.enable(false).expect("enable");
        recorder.calls.borrow_mut().clear();
        agent.disable().expect("disable");
        assert!(!agent.plist_path().exists());
        assert_eq!(
            *recorder.calls.borrow(),
            ["bootout gui/501/com.bittrader.worker".to_string()]
        );
        assert_eq!(agent.status(), LoginStatus::Disabled);

        // The legacy agent and a foreign file are left alone.
        fs::write(agent.plist_path(), CONSTRUCTED_LEGACY).expect("write");
        assert!(matches!(
            agent.disable(),
            Err(LoginItemError::NotOurs { .. })
        ));
        assert!(agent.plist_path().exists());
        fs::write(
            agent.plist_path(),
            include_str!(
                "../../tests/fixtures/macos_launchagent_keepalive_successfulexit_false_coolprop.plist"
            ),
        )
        .expect("write");
        assert!(matches!(
            agent.status(),
            LoginStatus::Unrecognized { ref detail } if detail.contains("org.coolprop.a-worker")
        ));
        assert!(matches!(
            agent.disable(),
            Err(LoginItemError::NotOurs { .. })
        ));
    }

    #[test]
    fn disable_removes_the_file_even_when_bootout_fails() {
        let setup = Setup::new();
        let recorder = Recorder::new((Some(1), "Boot-out failed: 1: Operation not permitted"));
        let agent = setup.agent(&recorder);
        agent.enable(false).expect("enable (bootstrap succeeds)");
        let error = agent.disable().expect_err("reported");
        assert!(error.to_string().contains("Operation not permitted"));
        assert!(!agent.plist_path().exists());
    }

    #[test]
    fn a_closure_is_a_launchctl() {
        let setup = Setup::new();
        let agent = LaunchAgent::new(
            setup.agents(),
            setup.data(),
            PathBuf::from("/Applications/x"),
            501,
            |args: &[&str]| -> Result<CommandOutput, CommandError> {
                Ok(CommandOutput {
                    code: Some(if args[0] == "bootout" { 113 } else { 0 }),
                    stdout: String::new(),
                    stderr: String::new(),
                })
            },
        );
        agent.enable(false).expect("enable");
    }

    // --- XDG autostart ------------------------------------------------------------------------

    #[test]
    fn xdg_entry_parses_back_for_nasty_paths() {
        for exe in [
            "/usr/bin/bittrader-worker",
            "/home/me/Bit Trader/bittrader-worker",
            NASTY_EXE,
            r#"/home/me/we"ird $HOME `x` back\slash 100%/bin"#,
            "/home/me/~tilde;semi'quote'#(x)*?|<in>&bin",
        ] {
            let entry = xdg_autostart_entry(Path::new(exe)).expect("entry");
            let keys = desktop_entry_keys(&entry);
            assert_eq!(keys.get("Type"), Some(&"Application"));
            assert_eq!(keys.get("Name"), Some(&"BitTrader Worker"));
            assert_eq!(keys.get("X-GNOME-Autostart-enabled"), Some(&"true"));
            let exec = keys.get("Exec").expect("Exec");
            assert_eq!(
                parse_exec(exec),
                Some(vec![exe.to_string()]),
                "{exe:?} -> Exec={exec}"
            );
            assert_eq!(entry.lines().count(), 7, "one line per key: {entry}");
        }
    }

    #[test]
    fn xdg_exec_quoting_is_the_specs() {
        let exec = |exe: &str| {
            let entry = xdg_autostart_entry(Path::new(exe)).expect("entry");
            desktop_entry_keys(&entry)
                .get("Exec")
                .expect("Exec")
                .to_string()
        };
        assert_eq!(
            exec("/usr/bin/bittrader-worker"),
            "/usr/bin/bittrader-worker"
        );
        assert_eq!(exec("/opt/Bit Trader/w"), r#""/opt/Bit Trader/w""#);
        // The spec's own examples: `$` in a quoted argument is `\\$` in the file, a literal
        // backslash is four; `"` becomes `\\"` after both rules.
        assert_eq!(exec("/a b/$x"), r#""/a b/\\$x""#);
        assert_eq!(exec(r"/a\b"), r#""/a\\\\b""#);
        assert_eq!(exec(r#"/a"b"#), r#""/a\\"b""#);
        assert_eq!(exec("/a/100%"), "/a/100%%");
        // Control characters (a tab, a newline) are refused rather than escaped.
        assert!(matches!(
            xdg_autostart_entry(Path::new("/a\tb")),
            Err(LoginItemError::UnusableProgramPath { .. })
        ));
    }

    #[test]
    fn xdg_autostart_dir_follows_the_base_directory_spec() {
        let dir = |xdg: Option<&str>, home: Option<&str>| {
            autostart_dir_from(xdg.map(OsString::from), home.map(OsString::from))
        };
        assert_eq!(
            dir(Some("/x/config"), Some("/home/me")),
            Some(PathBuf::from("/x/config/autostart"))
        );
        assert_eq!(
            dir(None, Some("/home/me")),
            Some(PathBuf::from("/home/me/.config/autostart"))
        );
        assert_eq!(
            dir(Some(""), Some("/home/me")),
            Some(PathBuf::from("/home/me/.config/autostart"))
        );
        assert_eq!(
            dir(Some("relative/config"), Some("/home/me")),
            Some(PathBuf::from("/home/me/.config/autostart"))
        );
        assert_eq!(dir(None, None), None);
    }

    #[test]
    fn xdg_enable_status_disable() {
        let home = tempfile::tempdir().expect("tempdir");
        let dir = home.path().join("config/autostart");
        let exe = PathBuf::from("/home/me/My Apps/bittrader-worker");
        let item = XdgAutostart::new(dir.clone(), exe.clone());
        assert_eq!(item.status(), LoginStatus::Disabled);
        item.enable(false).expect("enable");
        assert_eq!(item.entry_path(), dir.join("com.bittrader.worker.desktop"));
        assert_eq!(
            item.status(),
            LoginStatus::Enabled {
                program: exe.to_string_lossy().into_owned(),
                is_this_program: true
            }
        );
        // Switched off by the desktop's settings (they add one of these keys).
        let text = fs::read_to_string(item.entry_path()).expect("read");
        fs::write(
            item.entry_path(),
            text.replace(
                "X-GNOME-Autostart-enabled=true",
                "X-GNOME-Autostart-enabled=false",
            ),
        )
        .expect("write");
        assert_eq!(item.status(), LoginStatus::Disabled);
        fs::write(item.entry_path(), format!("{text}Hidden=true\n")).expect("write");
        assert_eq!(item.status(), LoginStatus::Disabled);

        item.disable().expect("disable");
        assert!(!item.entry_path().exists());
        item.disable().expect("idempotent");
        assert_eq!(item.status(), LoginStatus::Disabled);
    }

    #[test]
    fn status_serializes_for_the_status_json() {
        let json = serde_json::to_string(&LoginStatus::Enabled {
            program: "/a".into(),
            is_this_program: true,
        })
        .expect("json");
        assert_eq!(
            json,
            r#"{"state":"enabled","program":"/a","is_this_program":true}"#
        );
    }
}
