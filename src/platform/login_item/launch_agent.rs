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
    io_error, is_inside_app_bundle, program_text, read_entry, read_if_there, remove_if_there,
    write_atomically, LoginItem, LoginItemError, LoginStatus, LAUNCH_AGENT_LABEL,
};
use crate::platform::command::{run_with_timeout, CommandError, CommandOutput};

/// The old install's script; a LaunchAgent that runs it is the legacy install.
const LEGACY_SCRIPT: &str = "worker_daemon.sh";

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LaunchAgentKeys<'a> {
    label: &'a str,
    program_arguments: [&'a str; 1],
    /// The data folder, so that a custom `BITTRADER_WORKER_HOME` holds at login too (launchd gives
    /// agents no shell environment).
    environment_variables: BTreeMap<&'a str, &'a str>,
    run_at_load: bool,
    keep_alive: BTreeMap<&'a str, bool>,
    limit_load_to_session_type: &'a str,
    process_type: &'a str,
    standard_out_path: &'a str,
    standard_error_path: &'a str,
}

/// Our LaunchAgent plist: `RunAtLoad`; `KeepAlive = {SuccessfulExit = false}` (restarted after a
/// crash, a Quit stays quit; so a second instance must exit 0); `Aqua` sessions only (nothing to
/// do over SSH); `Interactive` (not throttled); both outputs to `data_dir/launchd.log`, catching
/// what comes before the app's own log (a panic, a dynamic-linker error).
pub fn launch_agent_plist(exe: &Path, data_dir: &Path) -> Result<Vec<u8>, LoginItemError> {
    let program = program_text(exe)?;
    if program.contains("/AppTranslocation/") {
        return Err(LoginItemError::Translocated {
            path: exe.to_path_buf(),
        });
    }
    let log_path = data_dir.join("launchd.log");
    let log = program_text(&log_path)?;
    let keys = LaunchAgentKeys {
        label: LAUNCH_AGENT_LABEL,
        program_arguments: [program],
        environment_variables: BTreeMap::from([("BITTRADER_WORKER_HOME", program_text(data_dir)?)]),
        run_at_load: true,
        keep_alive: BTreeMap::from([("SuccessfulExit", false)]),
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

/// What a plist at our path is: ours (`Enabled`, before launchd is asked), the old shell
/// install's (any argument naming its script, as in `bash -c "cd … && ./worker_daemon.sh"`), or
/// something else.
fn classify(bytes: &[u8], exe: &Path) -> LoginStatus {
    let Ok(plist::Value::Dictionary(dict)) = plist::Value::from_reader(io::Cursor::new(bytes))
    else {
        return LoginStatus::Unrecognized {
            detail: "a file that is not a property list".to_string(),
        };
    };
    let arguments = dict
        .get("ProgramArguments")
        .and_then(plist::Value::as_array);
    let mut program = dict
        .get("Program")
        .into_iter()
        .chain(arguments.into_iter().flatten())
        .filter_map(plist::Value::as_string);
    if let Some(script) = program.clone().find(|arg| arg.contains(LEGACY_SCRIPT)) {
        return LoginStatus::Legacy {
            program: script.to_string(),
        };
    }
    match dict.get("Label").and_then(plist::Value::as_string) {
        Some(LAUNCH_AGENT_LABEL) => {
            let program = program.next().unwrap_or_default().to_string();
            LoginStatus::Enabled {
                is_this_program: Path::new(&program) == exe,
                program,
            }
        }
        label => LoginStatus::Unrecognized {
            detail: format!("a LaunchAgent labelled {}", label.unwrap_or("nothing")),
        },
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

/// Runs `launchctl args`: `/bin/launchctl`, given 10 s (bootout waits for the job, which launchd
/// gives a few seconds after SIGTERM), or a recording closure in the tests.
pub type Launchctl = fn(&[&str]) -> Result<CommandOutput, CommandError>;

#[derive(Debug)]
pub struct LaunchAgent<L = Launchctl> {
    agents_dir: PathBuf,
    data_dir: PathBuf,
    exe: PathBuf,
    /// The `gui/UID` launchd domain.
    uid: u32,
    launchctl: L,
    /// This process is the LaunchAgent's own job: `launchctl bootout` would stop it, so enable and
    /// disable only change the file, which launchd reads at the next login.
    running_as_job: bool,
    /// Pause between bootstrap attempts (zero in tests).
    retry_delay: Duration,
}

impl LaunchAgent {
    pub fn for_current_user(exe: PathBuf, data_dir: PathBuf) -> Result<Self, LoginItemError> {
        let home = std::env::var_os("HOME")
            .filter(|home| !home.is_empty())
            .ok_or(LoginItemError::NoHome)?;
        Ok(LaunchAgent {
            agents_dir: PathBuf::from(home).join("Library/LaunchAgents"),
            data_dir,
            exe,
            uid: nix::unistd::getuid().as_raw(),
            launchctl: |args| run_with_timeout("/bin/launchctl", args, Duration::from_secs(10)),
            // launchd puts the job's label in XPC_SERVICE_NAME.
            running_as_job: std::env::var("XPC_SERVICE_NAME")
                .is_ok_and(|name| name == LAUNCH_AGENT_LABEL),
            retry_delay: Duration::from_millis(500),
        })
    }
}

impl<L: Fn(&[&str]) -> Result<CommandOutput, CommandError>> LaunchAgent<L> {
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

    /// `Ok` if `done` says launchctl did it, else its words.
    fn launchctl(&self, args: &[&str], done: fn(&CommandOutput) -> bool) -> Result<(), String> {
        let out = (self.launchctl)(args).map_err(|error| error.to_string())?;
        if done(&out) {
            return Ok(());
        }
        let said = [out.stderr.trim(), out.stdout.trim()];
        let detail = match (said.into_iter().find(|text| !text.is_empty()), out.code) {
            (Some(text), _) => text.to_string(),
            (None, Some(code)) => format!("exit status {code}"),
            (None, None) => "killed by a signal".to_string(),
        };
        Err(detail)
    }

    /// `Ok` if our job is now unloaded (or never was).
    fn bootout(&self) -> Result<(), LoginItemError> {
        let target = self.service_target();
        self.launchctl(&["bootout", &target], bootout_done)
            .map_err(|detail| LoginItemError::Launchctl {
                action: format!("bootout {target}"),
                detail,
            })
    }
}

impl<L: Fn(&[&str]) -> Result<CommandOutput, CommandError>> LoginItem for LaunchAgent<L> {
    fn status(&self) -> LoginStatus {
        let bytes = match read_entry(&self.plist_path()) {
            Ok(bytes) => bytes,
            Err(status) => return status,
        };
        let status = classify(&bytes, &self.exe);
        if let LoginStatus::Enabled {
            program,
            is_this_program,
        } = &status
        {
            // A program that is gone does not start, and neither does a job launchd does not know
            // (switched off in Login Items, or never loaded). The running job needs no asking, and
            // without an answer from launchctl the file (what the next login reads) decides.
            let gone = !is_this_program && !Path::new(program).exists();
            let print = || (self.launchctl)(&["print", &self.service_target()]);
            if gone || (!self.running_as_job && print().is_ok_and(|out| !out.success())) {
                return LoginStatus::Disabled;
            }
        }
        status
    }

    fn enable(&self, replace_legacy: bool) -> Result<(), LoginItemError> {
        let path = self.plist_path();
        let plist = launch_agent_plist(&self.exe, &self.data_dir)?;
        // Ours (maybe for an older path), foreign or unreadable: our file name, so replaced.
        if let Some(existing) = read_if_there(&path)? {
            if let LoginStatus::Legacy { program } = classify(&existing, &self.exe) {
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
        // Unload whatever runs under our label (the legacy loop, or our agent for an older path);
        // a failure here matters only if bootstrap fails too. Bootstrap is tried three times:
        // right after a bootout the old job may still be exiting.
        let bootout = self.bootout();
        let domain = format!("gui/{}", self.uid);
        let path_text = path.to_string_lossy();
        let bootstrap =
            || self.launchctl(&["bootstrap", &domain, &path_text], CommandOutput::success);
        let mut result = bootstrap();
        for _ in 1..3 {
            if result.is_err() {
                std::thread::sleep(self.retry_delay);
                result = bootstrap();
            }
        }
        result.map_err(|detail| LoginItemError::Launchctl {
            action: format!("bootstrap {domain} {path_text}"),
            detail: match bootout {
                Ok(()) => detail,
                Err(bootout) => format!("{detail} (before it: {bootout})"),
            },
        })
    }

    /// Our agent starting a program that is gone, or (this program being in an app bundle) another
    /// copy of the app: rewritten to start this one. Only the file changes (bootstrapping now would
    /// start a second copy). A bare binary never takes over an installed app's agent.
    fn repoint_to_this_program(&self) -> Result<bool, LoginItemError> {
        let path = self.plist_path();
        let Some(bytes) = read_if_there(&path)? else {
            return Ok(false);
        };
        let LoginStatus::Enabled {
            program,
            is_this_program: false,
        } = classify(&bytes, &self.exe)
        else {
            return Ok(false);
        };
        if Path::new(&program).exists() && !is_inside_app_bundle(&self.exe) {
            return Ok(false);
        }
        write_atomically(&path, &launch_agent_plist(&self.exe, &self.data_dir)?)?;
        Ok(true)
    }

    fn set_aside_legacy(&self) -> Result<bool, LoginItemError> {
        let path = self.plist_path();
        let Some(existing) = read_if_there(&path)? else {
            return Ok(false);
        };
        if !matches!(classify(&existing, &self.exe), LoginStatus::Legacy { .. }) {
            return Ok(false);
        }
        write_atomically(&self.backup_path(), &existing)?;
        // The old loop may be running under our label: unloaded, and its file gone whatever
        // launchctl says (that alone keeps it from the next login).
        let bootout = match self.running_as_job {
            true => Ok(()),
            false => self.bootout(),
        };
        remove_if_there(&path).and(bootout).map(|()| true)
    }

    fn disable(&self) -> Result<(), LoginItemError> {
        let path = self.plist_path();
        let Some(existing) = read_if_there(&path)? else {
            return Ok(());
        };
        let detail = match classify(&existing, &self.exe) {
            LoginStatus::Legacy { program } => {
                format!("the old install's agent, running {program}")
            }
            LoginStatus::Unrecognized { detail } => detail,
            LoginStatus::Enabled { .. } | LoginStatus::Disabled => {
                // Unload first (a loaded KeepAlive job would be restarted after a crash until
                // logout), but remove the file whatever launchctl says: that alone keeps it from
                // the next login.
                let bootout = match self.running_as_job {
                    true => Ok(()),
                    false => self.bootout(),
                };
                return remove_if_there(&path).and(bootout);
            }
        };
        Err(LoginItemError::NotOurs { path, detail })
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
        assert!(matches!(
            classify(&bytes, Path::new(NASTY_EXE)),
            LoginStatus::Enabled {
                is_this_program: true,
                ..
            }
        ));
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
            classify(CONSTRUCTED_LEGACY.as_bytes(), Path::new(NASTY_EXE)),
            LoginStatus::Legacy {
                program: "/Users/me/.bittrader_worker/worker_daemon.sh".into()
            }
        );
        // Constructed variants: the script run directly, and through `bash -c`.
        let direct = CONSTRUCTED_LEGACY.replace("<string>/bin/bash</string>\n", "");
        assert!(matches!(
            classify(direct.as_bytes(), Path::new(NASTY_EXE)),
            LoginStatus::Legacy { .. }
        ));
        let shell = CONSTRUCTED_LEGACY.replace(
            "<string>/Users/me/.bittrader_worker/worker_daemon.sh</string>",
            "<string>-c</string><string>cd ~/.bittrader_worker &amp;&amp; ./worker_daemon.sh</string>",
        );
        assert_eq!(
            classify(shell.as_bytes(), Path::new(NASTY_EXE)),
            LoginStatus::Legacy {
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
            classify(coolprop.as_bytes(), Path::new(NASTY_EXE)),
            LoginStatus::Unrecognized {
                detail: "a LaunchAgent labelled org.coolprop.a-worker".into()
            }
        );
        // A source-code template: its label is the placeholder itself.
        let mountaineer = include_str!(
            "../../../tests/fixtures/macos_launchagent_menubar_mountaineer_TEMPLATE.plist"
        );
        assert_eq!(
            classify(mountaineer.as_bytes(), Path::new(NASTY_EXE)),
            LoginStatus::Unrecognized {
                detail: "a LaunchAgent labelled {label}".into()
            }
        );
    }

    #[test]
    fn garbage_and_binary_plists() {
        let unreadable = LoginStatus::Unrecognized {
            detail: "a file that is not a property list".into(),
        };
        let exe = Path::new(NASTY_EXE);
        assert_eq!(classify(b"", exe), unreadable);
        assert_eq!(classify(b"not a plist at all", exe), unreadable);
        // A plist whose root is not a dictionary.
        let mut array = Vec::new();
        plist::Value::Array(vec![plist::Value::from("x")])
            .to_writer_xml(&mut array)
            .expect("xml");
        assert_eq!(classify(&array, exe), unreadable);
        // `plutil -convert binary1` output of a legacy plist is still recognised.
        let mut binary = Vec::new();
        plist::Value::from_reader(io::Cursor::new(CONSTRUCTED_LEGACY.as_bytes()))
            .expect("parse")
            .to_writer_binary(&mut binary)
            .expect("binary");
        assert!(matches!(classify(&binary, exe), LoginStatus::Legacy { .. }));
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

    impl Recorder {
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
        fn agent_for<'r>(&self, recorder: &'r Recorder, exe: impl Into<PathBuf>) -> Agent<'r> {
            LaunchAgent {
                agents_dir: self.agents(),
                data_dir: self.data(),
                exe: exe.into(),
                uid: 501,
                launchctl: Box::new(|args| recorder.run(args)),
                running_as_job: false,
                retry_delay: Duration::ZERO,
            }
        }
        fn agent<'r>(&self, recorder: &'r Recorder) -> Agent<'r> {
            self.agent_for(recorder, NASTY_EXE)
        }
    }

    type Agent<'r> = LaunchAgent<Box<dyn Fn(&[&str]) -> Result<CommandOutput, CommandError> + 'r>>;

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
        assert!(matches!(
            classify(&bytes, Path::new(NASTY_EXE)),
            LoginStatus::Enabled { .. }
        ));
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
    fn the_legacy_agent_is_set_aside_with_its_backup_and_nothing_is_started() {
        let setup = Setup::new();
        fs::create_dir_all(setup.agents()).expect("mkdir");
        let recorder = Recorder::new((Some(0), ""));
        let agent = setup.agent(&recorder);
        assert!(!agent.set_aside_legacy().expect("nothing there"));
        fs::write(agent.plist_path(), CONSTRUCTED_LEGACY).expect("write");
        assert!(agent.set_aside_legacy().expect("set aside"));
        assert!(!agent.plist_path().exists());
        assert_eq!(
            fs::read_to_string(agent.backup_path()).expect("backup"),
            CONSTRUCTED_LEGACY
        );
        // Booted out, never bootstrapped: no copy of the app is started by it.
        let changes = recorder.changes();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(changes[0].starts_with("bootout "));
        assert_eq!(agent.status(), LoginStatus::Disabled);
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
        let as_job = LaunchAgent {
            running_as_job: true,
            ..setup.agent(&recorder)
        };
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
        let agent = LaunchAgent {
            running_as_job: true,
            ..setup.agent(&recorder)
        };
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
    fn a_bootout_answering_113_counts_as_not_loaded() {
        let setup = Setup::new();
        let recorder = Recorder::new(NOT_LOADED);
        let agent: Agent = LaunchAgent {
            launchctl: Box::new(|args: &[&str]| {
                Ok(CommandOutput {
                    code: Some(if args[0] == "bootout" { 113 } else { 0 }),
                    stdout: String::new(),
                    stderr: String::new(),
                })
            }),
            ..setup.agent_for(&recorder, "/Applications/x")
        };
        agent.enable(false).expect("enable");
    }
}
