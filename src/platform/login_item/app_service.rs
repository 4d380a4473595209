//! Start at login through `SMAppService.mainApp` (macOS 13+, the bundled app only).
//!
//! Why prefer it to the LaunchAgent: System Settings › General › Login Items lists the app by
//! its name and icon (a LaunchAgent shows up under "Allow in the Background" with its binary's
//! name), the user's switch there is reported back through its status, and it follows the app
//! when the app is moved. The LaunchAgent stays behind it: to fall back on when macOS refuses to
//! register (an app whose signature it does not accept), and to clean up after (an agent from
//! macOS 12 days, or the old shell install's), since two entries would start two copies.
//!
//! The rules ([`MainAppLoginItem`]) are compiled and tested on every OS; only
//! `SystemAppService`, the Objective-C calls, is macOS's.

use std::path::PathBuf;

use super::launch_agent::{LaunchAgent, Launchctl};
use super::{LoginItem, LoginItemError, LoginStatus};

/// `SMAppServiceStatus`: what macOS says about the app as a login item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppServiceStatus {
    /// Not registered (never, or unregistered).
    NotRegistered,
    /// Registered and allowed: it starts at login.
    Enabled,
    /// Registered, but the user turned it off in Login Items (or has yet to allow it).
    RequiresApproval,
    /// macOS could not find the service (for the main app: not run from a proper bundle).
    NotFound,
}

/// The main app's SMAppService. A trait so tests use a fake (`platform::fake::FakeAppService`).
pub trait AppService {
    /// Its current status (asked of macOS, in-process: no process is spawned).
    fn status(&self) -> AppServiceStatus;
    /// Registers the app to start at login; `Err` carries macOS's words.
    fn register(&self) -> Result<(), String>;
    /// Unregisters it; `Err` carries macOS's words.
    fn unregister(&self) -> Result<(), String>;
    /// Opens System Settings on the Login Items page, where the user allows the app.
    fn open_login_items_settings(&self);
}

impl<T: AppService + ?Sized> AppService for std::sync::Arc<T> {
    fn status(&self) -> AppServiceStatus {
        (**self).status()
    }
    fn register(&self) -> Result<(), String> {
        (**self).register()
    }
    fn unregister(&self) -> Result<(), String> {
        (**self).unregister()
    }
    fn open_login_items_settings(&self) {
        (**self).open_login_items_settings()
    }
}

/// The bundled app's login item on macOS 13+: SMAppService first, the LaunchAgent behind it.
#[derive(Debug)]
pub struct MainAppLoginItem<S: AppService, L: Launchctl> {
    /// `SMAppService.mainApp`.
    service: S,
    /// Our LaunchAgent: the fallback, and what is cleaned up once SMAppService starts the app.
    agent: LaunchAgent<L>,
    /// This executable, reported as the program SMAppService starts.
    exe: PathBuf,
}

impl<S: AppService, L: Launchctl> MainAppLoginItem<S, L> {
    /// The app `exe` through `service`, with `agent` behind it.
    pub fn new(service: S, agent: LaunchAgent<L>, exe: PathBuf) -> Self {
        MainAppLoginItem {
            service,
            agent,
            exe,
        }
    }

    /// Once SMAppService starts the app, a LaunchAgent of ours or the old install's would
    /// start a second copy: both go (the old one kept as a backup). Not ours: left alone.
    fn retire_agents(&self) -> Result<(), LoginItemError> {
        self.agent.retire_legacy()?;
        match self.agent.disable() {
            Err(LoginItemError::NotOurs { .. }) => Ok(()),
            other => other,
        }
    }

    /// The user has to allow the app in System Settings: take them there.
    fn ask_for_approval(&self) -> LoginItemError {
        self.service.open_login_items_settings();
        LoginItemError::NeedsApproval
    }
}

impl<S: AppService, L: Launchctl> LoginItem for MainAppLoginItem<S, L> {
    fn status(&self) -> LoginStatus {
        match self.service.status() {
            AppServiceStatus::Enabled => LoginStatus::Enabled {
                program: self.exe.to_string_lossy().into_owned(),
                is_this_program: true,
            },
            // Not through SMAppService: a LaunchAgent (the fallback, macOS 12 days, the old
            // install) may still start something, and says so itself.
            AppServiceStatus::NotRegistered
            | AppServiceStatus::RequiresApproval
            | AppServiceStatus::NotFound => self.agent.status(),
        }
    }

    fn enable(&self, replace_legacy: bool) -> Result<(), LoginItemError> {
        if let LoginStatus::Legacy { program } = self.agent.status() {
            if !replace_legacy {
                return Err(LoginItemError::LegacyPresent {
                    path: self.agent.plist_path(),
                    program,
                    backup: self.agent.backup_path(),
                });
            }
        }
        if let Err(refused) = self.service.register() {
            if self.service.status() == AppServiceStatus::RequiresApproval {
                return Err(self.ask_for_approval());
            }
            // macOS would not register the app (an ad-hoc signature it does not accept, a
            // damaged bundle): the LaunchAgent starts it as on macOS 12.
            return self.agent.enable(replace_legacy).map_err(|agent_error| {
                LoginItemError::AppService {
                    action: "register",
                    detail: format!("{refused}; the LaunchAgent instead: {agent_error}"),
                }
            });
        }
        if self.service.status() == AppServiceStatus::RequiresApproval {
            return Err(self.ask_for_approval());
        }
        self.retire_agents()
    }

    fn disable(&self) -> Result<(), LoginItemError> {
        let registered = matches!(
            self.service.status(),
            AppServiceStatus::Enabled | AppServiceStatus::RequiresApproval
        );
        let unregistered = if registered {
            self.service
                .unregister()
                .map_err(|detail| LoginItemError::AppService {
                    action: "unregister",
                    detail,
                })
        } else {
            Ok(())
        };
        // Our agent goes too (the fallback, or macOS 12 days'); another's is only an error
        // when it is the sole thing the user asked to turn off.
        let agent = match self.agent.disable() {
            Err(LoginItemError::NotOurs { .. }) if registered => Ok(()),
            other => other,
        };
        unregistered.and(agent)
    }

    fn repoint_to_this_program(&self) -> Result<bool, LoginItemError> {
        // SMAppService follows the bundle by itself; a LaunchAgent (the fallback) does not.
        if self.service.status() == AppServiceStatus::Enabled {
            return Ok(false);
        }
        self.agent.repoint_to_this_program()
    }
}

/// The real `SMAppService.mainApp`. Holds nothing, so it is `Send`: each call asks macOS for
/// the service object again (cheap, and the objects are not documented as thread-safe).
#[cfg(target_os = "macos")]
#[derive(Debug, Clone, Copy)]
pub struct SystemAppService;

#[cfg(target_os = "macos")]
impl SystemAppService {
    /// The main app's service, on macOS 13 and later (SMAppService is new in 13); `None` before.
    pub fn main_app() -> Option<SystemAppService> {
        use objc2_foundation::{NSOperatingSystemVersion, NSProcessInfo};
        let ventura = NSOperatingSystemVersion {
            majorVersion: 13,
            minorVersion: 0,
            patchVersion: 0,
        };
        NSProcessInfo::processInfo()
            .isOperatingSystemAtLeastVersion(ventura)
            .then_some(SystemAppService)
    }

    fn service() -> objc2::rc::Retained<objc2_service_management::SMAppService> {
        // SAFETY: a class method without arguments, available since macOS 13, which
        // `main_app` checked before handing out a `SystemAppService`.
        unsafe { objc2_service_management::SMAppService::mainAppService() }
    }
}

#[cfg(target_os = "macos")]
impl AppService for SystemAppService {
    fn status(&self) -> AppServiceStatus {
        use objc2_service_management::SMAppServiceStatus;
        // SAFETY: a property getter on a valid service object (macOS 13+, see `main_app`).
        let status = unsafe { Self::service().status() };
        if status == SMAppServiceStatus::Enabled {
            AppServiceStatus::Enabled
        } else if status == SMAppServiceStatus::RequiresApproval {
            AppServiceStatus::RequiresApproval
        } else if status == SMAppServiceStatus::NotRegistered {
            AppServiceStatus::NotRegistered
        } else {
            AppServiceStatus::NotFound
        }
    }

    fn register(&self) -> Result<(), String> {
        // SAFETY: as in `status`; errors come back as an NSError, not an exception.
        unsafe { Self::service().registerAndReturnError() }
            .map_err(|error| error.localizedDescription().to_string())
    }

    fn unregister(&self) -> Result<(), String> {
        // SAFETY: as in `register`.
        unsafe { Self::service().unregisterAndReturnError() }
            .map_err(|error| error.localizedDescription().to_string())
    }

    fn open_login_items_settings(&self) {
        // SAFETY: a class method without arguments, macOS 13+ (see `main_app`).
        unsafe { objc2_service_management::SMAppService::openSystemSettingsLoginItems() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::command::{CommandError, CommandOutput};
    use crate::platform::fake::FakeAppService;
    use crate::platform::login_item::tests::NASTY_EXE;
    use std::fs;
    use std::sync::{Arc, Mutex};

    /// A launchctl that records its calls; `print` finds the job (it is loaded), `bootout`
    /// finds nothing to stop, `bootstrap` works.
    #[derive(Default, Clone)]
    struct Launchd {
        calls: Arc<Mutex<Vec<String>>>,
    }

    impl Launchctl for Launchd {
        fn run(&self, args: &[&str]) -> Result<CommandOutput, CommandError> {
            self.calls
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(args.join(" "));
            let code = if args.first() == Some(&"bootout") {
                3
            } else {
                0
            };
            Ok(CommandOutput {
                code: Some(code),
                stdout: String::new(),
                stderr: String::new(),
            })
        }
    }

    struct Setup {
        home: tempfile::TempDir,
        service: Arc<FakeAppService>,
        launchd: Launchd,
    }

    impl Setup {
        fn new(service: FakeAppService) -> Self {
            Setup {
                home: tempfile::tempdir().expect("tempdir"),
                service: Arc::new(service),
                launchd: Launchd::default(),
            }
        }
        fn agent(&self) -> LaunchAgent<Launchd> {
            LaunchAgent::new(
                self.home.path().join("Library/LaunchAgents"),
                self.home.path().join(".bittrader_worker"),
                PathBuf::from(NASTY_EXE),
                501,
                self.launchd.clone(),
            )
        }
        fn item(&self) -> MainAppLoginItem<Arc<FakeAppService>, Launchd> {
            MainAppLoginItem::new(
                Arc::clone(&self.service),
                self.agent(),
                PathBuf::from(NASTY_EXE),
            )
        }
    }

    /// What the old shell install's agent looked like (constructed, as in launch_agent.rs).
    const LEGACY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Label</key><string>com.bittrader.worker</string>
<key>ProgramArguments</key><array><string>/bin/bash</string><string>/Users/me/.bittrader_worker/worker_daemon.sh</string></array>
</dict></plist>
"#;

    #[test]
    fn enabling_registers_and_removes_our_older_launch_agent() {
        let setup = Setup::new(FakeAppService::new(AppServiceStatus::NotRegistered));
        // macOS 12 days: our LaunchAgent starts the app.
        setup.agent().enable(false).expect("agent");
        let item = setup.item();
        assert!(matches!(item.status(), LoginStatus::Enabled { .. }));

        item.enable(false).expect("enable");
        assert_eq!(setup.service.status(), AppServiceStatus::Enabled);
        assert!(!setup.agent().plist_path().exists(), "one entry, one copy");
        assert_eq!(
            item.status(),
            LoginStatus::Enabled {
                program: NASTY_EXE.into(),
                is_this_program: true
            }
        );

        item.disable().expect("disable");
        assert_eq!(setup.service.status(), AppServiceStatus::NotRegistered);
        assert_eq!(item.status(), LoginStatus::Disabled);
    }

    #[test]
    fn turned_off_in_system_settings_shows_off_and_asks_for_approval() {
        let setup = Setup::new(FakeAppService::new(AppServiceStatus::RequiresApproval));
        let item = setup.item();
        assert_eq!(item.status(), LoginStatus::Disabled, "the tick is off");
        setup.service.needs_approval(true);
        let error = item.enable(false).expect_err("needs the user");
        assert!(matches!(error, LoginItemError::NeedsApproval), "{error}");
        assert!(setup.service.opened_settings(), "Login Items shown");
    }

    #[test]
    fn a_refused_registration_falls_back_to_the_launch_agent() {
        let setup = Setup::new(FakeAppService::new(AppServiceStatus::NotRegistered));
        setup
            .service
            .refuse_registration(Some("Invalid code signature"));
        let item = setup.item();
        item.enable(false).expect("the LaunchAgent works");
        assert!(setup.agent().plist_path().exists());
        assert!(matches!(item.status(), LoginStatus::Enabled { .. }));
        item.disable().expect("disable");
        assert!(!setup.agent().plist_path().exists());
    }

    #[test]
    fn the_old_install_is_replaced_only_when_confirmed() {
        let setup = Setup::new(FakeAppService::new(AppServiceStatus::NotRegistered));
        let agent = setup.agent();
        fs::create_dir_all(agent.plist_path().parent().expect("dir")).expect("mkdir");
        fs::write(agent.plist_path(), LEGACY).expect("write");
        let item = setup.item();
        assert!(matches!(
            item.enable(false),
            Err(LoginItemError::LegacyPresent { .. })
        ));
        assert_eq!(setup.service.status(), AppServiceStatus::NotRegistered);

        item.enable(true).expect("replace");
        assert_eq!(setup.service.status(), AppServiceStatus::Enabled);
        assert!(!agent.plist_path().exists());
        assert_eq!(
            fs::read_to_string(agent.backup_path()).expect("backup"),
            LEGACY
        );
    }

    #[test]
    fn a_registered_app_needs_no_repointing() {
        let setup = Setup::new(FakeAppService::new(AppServiceStatus::Enabled));
        assert!(!setup.item().repoint_to_this_program().expect("ok"));
        assert!(setup.launchd.calls.lock().expect("calls").is_empty());
    }
}
