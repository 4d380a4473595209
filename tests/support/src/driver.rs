//! The driver in the simulated world ([`FakePlatform`]) under paused tokio time, for the
//! driver's wiring tests (`driver_paused_time.rs`, `sleep_wake.rs`): the real loop, channels,
//! requests and status, in a data folder of its own.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bittrader_worker::config::{Config, Paths};
use bittrader_worker::model::{Phase, Status};
use bittrader_worker::runtime::control::{Pending, Reply, Request, StatusReport};
use bittrader_worker::runtime::{self, DriverOptions, NoNotifier, SleepLink};
use bittrader_worker::supervisor::Settings;
use tokio::sync::{mpsc, oneshot, watch};

use crate::fake_platform::FakePlatform;
use crate::secs;
use crate::world::{WorkerScript, World};

/// One driver over one fake world, in a data folder of its own.
pub struct Harness {
    pub world: FakePlatform,
    pub requests: mpsc::Sender<Pending>,
    pub status: watch::Receiver<StatusReport>,
    shutdown: Option<oneshot::Sender<()>>,
    driver: tokio::task::JoinHandle<()>,
    pub home: tempfile::TempDir,
    /// Where the driver hands out the link for the sleep notifications the tray observes.
    pub sleep_link: Option<Arc<OnceLock<SleepLink>>>,
}

impl Harness {
    /// Starts the driver on a configured head, with `script` for every worker.
    pub fn start(script: WorkerScript) -> Harness {
        Harness::start_with(script, |_| {})
    }

    /// Starts the driver in data folder `home` (a restart keeps what the last run left).
    pub fn start_in(script: WorkerScript, home: tempfile::TempDir) -> Harness {
        Harness::start_in_with(script, home, |_| {})
    }

    /// [`Harness::start`] with the configuration changed by `configure` first.
    pub fn start_with(script: WorkerScript, configure: impl FnOnce(&mut Config)) -> Harness {
        Harness::start_in_with(
            script,
            tempfile::tempdir().expect("a data folder"),
            configure,
        )
    }

    /// [`Harness::start_in`] with the configuration changed by `configure` first.
    pub fn start_in_with(
        script: WorkerScript,
        home: tempfile::TempDir,
        configure: impl FnOnce(&mut Config),
    ) -> Harness {
        Harness::launch(script, home, configure, None)
    }

    /// [`Harness::start`] with the sleep notifications observed by the caller, as the macOS
    /// tray does: the driver hands out its link in [`Harness::sleep_link`].
    pub fn start_as_tray(script: WorkerScript) -> Harness {
        let link = Some(Arc::new(OnceLock::new()));
        Harness::launch(
            script,
            tempfile::tempdir().expect("a data folder"),
            |_| {},
            link,
        )
    }

    fn launch(
        script: WorkerScript,
        home: tempfile::TempDir,
        configure: impl FnOnce(&mut Config),
        sleep_link: Option<Arc<OnceLock<SleepLink>>>,
    ) -> Harness {
        let paths = Paths {
            home: home.path().to_path_buf(),
        };
        let mut config = Config {
            head: Some("100.64.0.1:6379".parse().expect("a head address")),
            cpus: 2,
            ..Config::with_defaults(4)
        };
        configure(&mut config);
        let world = FakePlatform::new(World {
            worker: script,
            ..World::default()
        });
        let (requests, requests_rx) = mpsc::channel(16);
        let (status_tx, status) = watch::channel(StatusReport::default());
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let options = DriverOptions {
            settings: Settings::from_config(&config, false),
            paths,
            config,
            machine_cpus: 4,
            demo_head: None,
            startup_lines: Vec::new(),
            first_run_offered: false,
            show_cluster: true,
            sleep_link: sleep_link.clone(),
        };
        let driver = tokio::spawn(runtime::run(
            world.clone(),
            options,
            requests_rx,
            status_tx,
            Box::new(NoNotifier),
            async {
                let _ = shutdown_rx.await;
            },
        ));
        Harness {
            world,
            requests,
            status,
            shutdown: Some(shutdown_tx),
            driver,
            home,
            sleep_link,
        }
    }

    /// The worker log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("worker.log")).unwrap_or_default()
    }

    pub fn now(&self) -> Option<Status> {
        self.status.borrow().status.clone()
    }

    pub fn phase(&self) -> Option<Phase> {
        self.now().map(|s| s.phase)
    }

    /// Waits (in paused time) until the status satisfies `ready`; panics after `within`.
    pub async fn wait_for(
        &mut self,
        within: Duration,
        what: &str,
        ready: impl Fn(&Status) -> bool,
    ) {
        let reached = tokio::time::timeout(
            within,
            self.status
                .wait_for(|r| r.status.as_ref().is_some_and(&ready)),
        )
        .await
        .is_ok_and(|seen| seen.is_ok());
        assert!(reached, "not {what} within {within:?}: {:?}", self.now());
    }

    pub async fn wait_phase(&mut self, phase: Phase, within: Duration) {
        self.wait_for(within, &format!("{phase:?}"), |s| s.phase == phase)
            .await;
    }

    pub async fn request(&self, request: Request) -> Reply {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Pending { request, reply })
            .await
            .expect("the driver takes requests");
        answer.await.expect("the driver answers")
    }

    /// Asks the driver to stop (as SIGTERM does), waits for it to finish, and hands back its
    /// data folder.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let finished = tokio::time::timeout(secs(60), &mut self.driver).await;
        assert!(finished.is_ok(), "the driver finished after the shutdown");
        assert_eq!(
            self.world.record().starts.len(),
            self.world.record().exits,
            "every worker it started has ended"
        );
        self.home
    }
}
