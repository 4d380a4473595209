//! The macOS login item: the LaunchAgent `~/Library/LaunchAgents/com.bittrader.worker.plist`,
//! loaded and unloaded with `launchctl`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::{
    io_error, is_inside_app_bundle, program_text, write_atomically, LoginItem, LoginItemError,
    LoginStatus, LAUNCHD_LOG_FILE, LAUNCH_AGENT_LABEL, LEGACY_SCRIPT,
};
use crate::platform::command::{run_with_timeout, CommandError, CommandOutput};

/// What a `com.bittrader.worker.plist` already on disk is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExistingAgent {
    /// Our label, not running the old script.
    Ours,
    /// The old shell install: it runs `worker_daemon.sh` (directly or through a shell).
    Legacy { program: String },
    /// A valid property list that belongs to something else.
    Foreign { label: Option<String> },
    /// Not a property list dictionary.
    Unreadable,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LaunchAgentKeys<'a> {
    label: &'a str,
    program_arguments: [&'a str; 1],
    /// The data folder, so that a custom `BITTRADER_WORKER_HOME` holds at login too (launchd gives
    /// agents no shell environment).
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

/// Our LaunchAgent as XML plist bytes: `ProgramArguments = [exe]`; `RunAtLoad`; `KeepAlive =
/// {SuccessfulExit = false}` (restarted after a crash, a Quit stays quit); `Aqua` sessions only
/// (nothing to do over SSH); `ProcessType = Interactive` (not throttled); both outputs to
/// `data_dir/launchd.log`. `launchctl bootstrap` starts it at once, so a second instance must
/// exit with status 0, or KeepAlive restarts it.
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

/// `Program`, else the first of `ProgramArguments`.
fn first_program(bytes: &[u8]) -> Option<String> {
    let value = plist::Value::from_reader(io::Cursor::new(bytes)).ok()?;
    program_of(value.as_dictionary()?).into_iter().next()
}

/// Runs `launchctl args…`; a trait so tests record the calls (any such closure is one).
pub trait Launchctl {
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

/// `/bin/launchctl`, given 10 s (bootout waits for the job, which launchd gives a few seconds after
/// SIGTERM).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLaunchctl;

impl Launchctl for SystemLaunchctl {
    fn run(&self, args: &[&str]) -> Result<CommandOutput, CommandError> {
        run_with_timeout("/bin/launchctl", args, Duration::from_secs(10))
    }
}

/// `launchctl bootout` answers meaning "was not loaded": 3 "No such process", 113 "Could not find
/// specified service" (the wording varies, so the text counts too), and 36 "Operation now in
/// progress" (the job is on its way out).
fn bootout_done(out: &CommandOutput) -> bool {
    let text = format!("{} {}", out.stdout, out.stderr);
    out.success()
        || matches!(out.code, Some(3 | 36 | 113))
        || text.contains("No such process")
        || text.contains("Could not find specified service")
        || text.contains("not loaded")
}

fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>, LoginItemError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_error("read", path)(error)),
    }
}

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
    /// `$HOME/Library/LaunchAgents`, the real uid, `/bin/launchctl`.
    pub fn for_current_user(exe: PathBuf, data_dir: PathBuf) -> Result<Self, LoginItemError> {
        let home = std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .ok_or(LoginItemError::NoHome)?;
        let agents_dir = PathBuf::from(home).join("Library").join("LaunchAgents");
        let uid = nix::unistd::getuid().as_raw();
        // launchd puts the job's label in XPC_SERVICE_NAME.
        let running_as_job =
            std::env::var("XPC_SERVICE_NAME").is_ok_and(|name| name == LAUNCH_AGENT_LABEL);
        Ok(
            LaunchAgent::new(agents_dir, data_dir, exe, uid, SystemLaunchctl)
                .running_as_job(running_as_job),
        )
    }
}

impl<L: Launchctl> LaunchAgent<L> {
    /// For user `uid` (the `gui/UID` launchd domain).
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

    /// This process is the LaunchAgent's own job: `launchctl bootout` would stop it, so enable and
    /// disable only change the file, which launchd reads at the next login.
    pub fn running_as_job(mut self, running_as_job: bool) -> Self {
        self.running_as_job = running_as_job;
        self
    }

    pub fn plist_path(&self) -> PathBuf {
        self.agents_dir.join(format!("{LAUNCH_AGENT_LABEL}.plist"))
    }

    /// Not ending in `.plist`, so launchd does not load it at login.
    pub fn backup_path(&self) -> PathBuf {
        self.agents_dir
            .join(format!("{LAUNCH_AGENT_LABEL}.plist.legacy-backup"))
    }

    fn service_target(&self) -> String {
        format!("gui/{}/{LAUNCH_AGENT_LABEL}", self.uid)
    }

    /// Whether launchd knows our job (`launchctl print` succeeds): not when never loaded, booted
    /// out, or switched off in System Settings › Login Items. `Err`: launchctl could not be asked.
    fn is_loaded(&self) -> Result<bool, CommandError> {
        Ok(self
            .launchctl
            .run(&["print", &self.service_target()])?
            .success())
    }

    /// `Ok` if our job is now unloaded (or never was), else what launchctl said.
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

    /// Tried three times: right after a bootout the old job may still be exiting.
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
                // A program that is gone does not start, and neither does a job launchd does not
                // know (switched off in Login Items, or never loaded); the running job needs no
                // asking.
                if !is_this_program && !Path::new(&program).exists() {
                    return LoginStatus::Disabled;
                }
                // Loaded, or launchctl unavailable: the file (what the next login reads) decides.
                if !self.running_as_job && matches!(self.is_loaded(), Ok(false)) {
                    return LoginStatus::Disabled;
                }
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
        // Ours (maybe for an older path), foreign or unreadable: our file name, so replaced.
        if let Some(existing) = read_if_there(&path)? {
            if let ExistingAgent::Legacy { program } = classify_existing_plist(&existing) {
                if !replace_legacy {
                    let backup = self.backup_path();
                    return Err(LoginItemError::LegacyPresent {
                        path,
                        program,
                        backup,
                    });
                }
                write_atomically(&self.backup_path(), &existing)?;
            }
        }
        fs::create_dir_all(&self.agents_dir).map_err(io_error("create", &self.agents_dir))?;
        // launchd does not create the log's folder, and a job whose StandardOutPath cannot be
        // opened does not start. 0700 as the worker's folder always is.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.data_dir)
            .map_err(io_error("create", &self.data_dir))?;
        write_atomically(&path, &plist)?;
        if self.running_as_job {
            return Ok(());
        }
        // Unload whatever runs under our label (the legacy loop, or our agent for an older
        // path); a failure here matters only if bootstrap fails too.
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

    /// Our agent starting a program that is gone, or (this program being in an app bundle) another
    /// copy of the app: rewritten to start this one. Only the file changes (bootstrapping now would
    /// start a second copy). A bare binary never takes over an installed app's agent.
    fn repoint_to_this_program(&self) -> Result<bool, LoginItemError> {
        let path = self.plist_path();
        let bytes = match read_if_there(&path)? {
            Some(bytes) => bytes,
            None => return Ok(false),
        };
        if classify_existing_plist(&bytes) != ExistingAgent::Ours {
            return Ok(false);
        }
        let program = first_program(&bytes).unwrap_or_default();
        let program = Path::new(&program);
        let stale = program != self.exe && (!program.exists() || is_inside_app_bundle(&self.exe));
        if !stale {
            return Ok(false);
        }
        write_atomically(&path, &launch_agent_plist(&self.exe, &self.data_dir)?)?;
        Ok(true)
    }

    fn disable(&self) -> Result<(), LoginItemError> {
        let path = self.plist_path();
        let Some(existing) = read_if_there(&path)? else {
            return Ok(());
        };
        let detail = match classify_existing_plist(&existing) {
            ExistingAgent::Ours => None,
            ExistingAgent::Legacy { program } => {
                Some(format!("the old install's agent, running {program}"))
            }
            ExistingAgent::Foreign { label } => Some(format!(
                "labelled {}",
                label.as_deref().unwrap_or("nothing")
            )),
            ExistingAgent::Unreadable => Some("not a property list".to_string()),
        };
        if let Some(detail) = detail {
            return Err(LoginItemError::NotOurs { path, detail });
        }
        // Unload first (a loaded KeepAlive job would be restarted after a crash until logout),
        // but remove the file whatever launchctl says: that alone keeps it from the next login.
        let bootout = if self.running_as_job {
            Ok(())
        } else {
            self.bootout()
        };
        match fs::remove_file(&path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                Err(io_error("remove", &path)(error))
            }
            _ => bootout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::login_item::tests::NASTY_EXE;
    use std::cell::RefCell;
    use std::ffi::OsString;
    use std::os::unix::fs::PermissionsExt;

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
            "../../../tests/fixtures/macos_launchagent_keepalive_successfulexit_false_coolprop.plist"
        );
        assert_eq!(
            classify_existing_plist(coolprop.as_bytes()),
            ExistingAgent::Foreign {
                label: Some("org.coolprop.a-worker".into())
            }
        );
        // A source-code template: its label is the placeholder itself.
        let mountaineer = include_str!(
            "../../../tests/fixtures/macos_launchagent_menubar_mountaineer_TEMPLATE.plist"
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
        /// Whether `print` finds the job loaded.
        loaded: std::cell::Cell<bool>,
    }

    impl Recorder {
        fn new(bootout: (Option<i32>, &'static str)) -> Self {
            Recorder {
                calls: RefCell::new(Vec::new()),
                bootout,
                bootstrap: RefCell::new(Vec::new()),
                loaded: std::cell::Cell::new(true),
            }
        }

        /// The calls other than `print` (which only reads).
        fn changes(&self) -> Vec<String> {
            let calls = self.calls.borrow();
            calls
                .iter()
                .filter(|call| !call.starts_with("print "))
                .cloned()
                .collect()
        }
    }

    /// What `launchctl print` says for a job it does not know: exit status 113 with a
    /// message. The wording here is illustrative, not recorded; only the status is used.
    const NOT_FOUND: &str = "Could not find service \"com.bittrader.worker\" in domain for port";

    impl Launchctl for &Recorder {
        fn run(&self, args: &[&str]) -> Result<CommandOutput, CommandError> {
            self.calls.borrow_mut().push(args.join(" "));
            let (code, stderr) = if args.first() == Some(&"print") {
                if self.loaded.get() {
                    (Some(0), "")
                } else {
                    (Some(113), NOT_FOUND)
                }
            } else if args.first() == Some(&"bootout") {
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
        /// An agent starting `exe` (another copy, a moved one), in the same folders.
        fn agent_for<'r>(
            &self,
            recorder: &'r Recorder,
            exe: impl Into<PathBuf>,
        ) -> LaunchAgent<&'r Recorder> {
            LaunchAgent::new(self.agents(), self.data(), exe.into(), 501, recorder)
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
        assert_eq!(recorder.changes().len(), 2);
        assert!(recorder.changes()[0].starts_with("bootout "));
    }

    #[test]
    fn enable_replaces_an_older_path_of_ours() {
        let setup = Setup::new();
        let recorder = Recorder::new((Some(0), ""));
        // Another copy, still there.
        let other_copy = setup.home.path().join("old-place-bittrader-worker");
        fs::write(&other_copy, "#!/bin/sh\n").expect("write");
        let old = setup.agent_for(&recorder, other_copy.clone());
        old.enable(false).expect("enable old");
        let agent = setup.agent(&recorder);
        assert_eq!(
            agent.status(),
            LoginStatus::Enabled {
                program: other_copy.to_string_lossy().into_owned(),
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
    fn the_tick_is_off_when_launchd_does_not_know_the_job_or_the_program_is_gone() {
        let setup = Setup::new();
        let recorder = Recorder::new(NOT_LOADED);
        let agent = setup.agent(&recorder);
        agent.enable(false).expect("enable");
        assert!(matches!(agent.status(), LoginStatus::Enabled { .. }));
        let target = "print gui/501/com.bittrader.worker".to_string();
        assert_eq!(recorder.calls.borrow().last(), Some(&target));

        // Turned off in System Settings › Login Items: launchd no longer has the job.
        recorder.loaded.set(false);
        assert_eq!(agent.status(), LoginStatus::Disabled);

        // The job that runs is this process: nothing to ask.
        recorder.calls.borrow_mut().clear();
        let as_job = setup.agent(&recorder).running_as_job(true);
        assert!(matches!(as_job.status(), LoginStatus::Enabled { .. }));
        assert!(recorder.calls.borrow().is_empty());

        // The app was moved away: its plist starts nothing, and launchd is not even asked.
        recorder.loaded.set(true);
        let moved = setup.agent_for(
            &recorder,
            PathBuf::from("/Applications/Gone.app/Contents/MacOS/bittrader-worker"),
        );
        moved.enable(false).expect("enable");
        recorder.calls.borrow_mut().clear();
        assert_eq!(agent.status(), LoginStatus::Disabled);
        assert!(recorder.calls.borrow().is_empty());
    }

    #[test]
    fn a_moved_app_repoints_its_agent_atomically_and_only_its_own() {
        let setup = Setup::new();
        let recorder = Recorder::new(NOT_LOADED);
        let gone = "/Applications/Old Name.app/Contents/MacOS/bittrader-worker";
        setup
            .agent_for(&recorder, PathBuf::from(gone))
            .enable(false)
            .expect("enable");
        recorder.calls.borrow_mut().clear();

        let agent = setup.agent(&recorder);
        assert!(agent.repoint_to_this_program().expect("repoint"));
        assert_eq!(
            agent.status(),
            LoginStatus::Enabled {
                program: NASTY_EXE.into(),
                is_this_program: true
            }
        );
        assert!(
            recorder.changes().is_empty(),
            "only the file changes: bootstrapping would start a second copy"
        );
        assert!(!agent.repoint_to_this_program().expect("already here"));
        let names: Vec<_> = fs::read_dir(setup.agents())
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [OsString::from("com.bittrader.worker.plist")]);

        // A bare binary (cargo run) leaves an agent that starts an installed copy alone...
        let installed = setup.home.path().join("Installed.app/Contents/MacOS");
        fs::create_dir_all(&installed).expect("mkdir");
        let installed = installed.join("bittrader-worker");
        fs::write(&installed, "#!/bin/sh\n").expect("write");
        setup
            .agent_for(&recorder, installed)
            .enable(false)
            .expect("enable");
        let bare = setup.agent_for(
            &recorder,
            PathBuf::from("/src/target/debug/bittrader-worker"),
        );
        assert!(!bare.repoint_to_this_program().expect("left alone"));
        // ...but another copy of the app takes it over.
        assert!(setup
            .agent(&recorder)
            .repoint_to_this_program()
            .expect("taken"));

        // The old install's agent is never touched.
        fs::write(agent.plist_path(), CONSTRUCTED_LEGACY).expect("write");
        assert!(!agent.repoint_to_this_program().expect("not ours"));
        assert_eq!(
            fs::read_to_string(agent.plist_path()).expect("read"),
            CONSTRUCTED_LEGACY
        );
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
                "../../../tests/fixtures/macos_launchagent_keepalive_successfulexit_false_coolprop.plist"
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
}
