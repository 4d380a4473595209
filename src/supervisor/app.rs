//! The running app's duties besides the worker, each a small machine of its own: config.toml's
//! hand edits ([`ConfigLooks`], [`ConfigEdits`]), the `ray` in use, the cluster's size for the
//! menu ([`ClusterAsks`]) and the log's lines for changes of state ([`transitions`]).

use std::time::Instant;

use super::cluster::ClusterAsks;
use super::config_edits::{ConfigEdits, Running};
use super::config_looks::ConfigLooks;
use super::settings::CONFIG_FILE_CHECK_EVERY;
use super::timers::Timer;
use super::{transitions, Action, Event, Supervisor};
use crate::config::Config;
use crate::model::{ConfigEdit, LogNote, RayInUse, Status};

/// What the duties know.
#[derive(Debug, Clone, Default)]
pub(super) struct App {
    /// config.toml: when to look, and its last reading (`None`: not watched, as in tests).
    config: Option<(ConfigLooks, ConfigEdits)>,
    /// The cluster's size, where it is shown.
    cluster: Option<ClusterAsks>,
    /// The `ray` a worker runs, as last looked up.
    pub(super) ray: Option<RayInUse>,
    /// The log's lines for changes of state are asked for (the running app, not a test).
    logging: bool,
    /// The state the log last said.
    logged: Option<Status>,
}

impl App {
    /// The cluster's size, while it is known.
    pub(super) fn cluster_size(&self) -> Option<crate::model::ClusterSize> {
        self.cluster.as_ref().and_then(ClusterAsks::size)
    }
}

impl Supervisor {
    /// The supervisor of the running app: its changes of state are logged; config.toml is looked
    /// at for hand edits from now on, diffed against `config` (the file as read at start); the
    /// `ray` in use is looked up; the cluster's size is asked while connected if `show_cluster`
    /// (the tray shows it).
    pub fn with_app(mut self, now: Instant, config: Config, show_cluster: bool) -> Self {
        let looks = ConfigLooks::start(now, &mut self.timers);
        self.app.config = Some((looks, ConfigEdits::new(config)));
        self.app.cluster = show_cluster.then(ClusterAsks::default);
        self.app.logging = true;
        self.actions.push_back(Action::LookUpRay);
        self
    }

    /// An event of the app's duties.
    pub(super) fn on_app_event(&mut self, now: Instant, event: Event) {
        let timers = &mut self.timers;
        let mut notes = Vec::new();
        match (event, &mut self.app.config) {
            (Event::ConfigFileChanged, Some((looks, _))) => looks.handle_change(now, timers),
            (Event::ConfigWatchLost { why }, Some((looks, _))) => {
                if !looks.polling() {
                    let every_secs = CONFIG_FILE_CHECK_EVERY.as_secs();
                    notes.push(LogNote::ConfigEdit(ConfigEdit::Polling { every_secs, why }));
                }
                looks.handle_reports_lost(now, timers);
            }
            (Event::ConfigFileRead(reading), Some((_, edits))) => {
                let running = Running {
                    head: self.wanted.head.as_ref(),
                    cpus: self.wanted.cpus,
                    paused: self.wanted.paused,
                };
                let (commands, edits) = edits.on_reading(reading, running);
                for command in commands {
                    self.on_user(now, command);
                }
                notes.extend(edits.into_iter().map(LogNote::ConfigEdit));
            }
            (Event::ClusterSize(size), _) => {
                if let Some(cluster) = &mut self.app.cluster {
                    cluster.answered(size);
                }
            }
            (Event::RayInUse(ray), _) => {
                self.app.ray = ray.clone();
                notes.push(LogNote::RayInUse(ray));
            }
            _ => {}
        }
        self.actions.extend(notes.into_iter().map(Action::Log));
    }

    /// A deadline of the app's duties.
    pub(super) fn on_app_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::ConfigLook => {
                if let Some((looks, _)) = &mut self.app.config {
                    looks.looked(now, &mut self.timers);
                    self.actions.push_back(Action::ReadConfigFile);
                }
            }
            Timer::ClusterAsk => {
                let asks = self
                    .app
                    .cluster
                    .as_mut()
                    .is_some_and(|c| c.ask(now, &mut self.timers));
                if let Some(head) = self.wanted.head.clone().filter(|_| asks) {
                    self.actions.push_back(Action::AskClusterSize { head });
                }
            }
            _ => {}
        }
    }

    /// After each step: the cluster's size follows the connection, and a change of state
    /// worth a line is logged.
    pub(super) fn after_step(&mut self, now: Instant) {
        if self.app.cluster.is_none() && !self.app.logging {
            return;
        }
        let status = self.status();
        if let Some(cluster) = &mut self.app.cluster {
            cluster.follow(now, &status, &mut self.timers);
        }
        if self.app.logging && transitions::worth_a_line(self.app.logged.as_ref(), &status) {
            self.app.logged = Some(status.clone());
            let note = LogNote::StateChanged(Box::new(status));
            self.actions.push_back(Action::Log(note));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileReading;
    use crate::model::{ClusterSize, HeadAddress, Phase};
    use crate::supervisor::{HeadProbe, Settings};
    use std::time::Duration;

    fn head() -> HeadAddress {
        "192.168.1.10:6379".parse().expect("a head")
    }

    fn config() -> Config {
        Config {
            head: Some(head()),
            cpus: 2,
            ..Config::with_defaults(4)
        }
    }

    fn app(t0: Instant, show_cluster: bool) -> Supervisor {
        Supervisor::new(Settings::default(), Some(head()), 2, false, t0).with_app(
            t0,
            config(),
            show_cluster,
        )
    }

    fn drain(sup: &mut Supervisor) -> Vec<Action> {
        std::iter::from_fn(|| sup.poll_action()).collect()
    }

    fn logged(actions: &[Action]) -> Vec<&LogNote> {
        actions
            .iter()
            .filter_map(|action| match action {
                Action::Log(note) => Some(note),
                _ => None,
            })
            .collect()
    }

    /// Runs `sup` to `until`, answering probes (the head up) and the worker's start (joined).
    fn run_connected(sup: &mut Supervisor, from: Instant, until: Instant) -> Vec<Action> {
        let mut seen = Vec::new();
        let mut now = from;
        loop {
            for action in drain(sup) {
                match &action {
                    Action::Probe { head, .. } => sup.handle_event(
                        now,
                        Event::HeadProbe(HeadProbe {
                            head: head.clone(),
                            unreachable: None,
                            tailscale: None,
                        }),
                    ),
                    Action::StartWorker(_) => sup.handle_event(now, Event::WorkerJoined),
                    _ => {}
                }
                seen.push(action);
            }
            if !sup.actions.is_empty() {
                continue;
            }
            match sup.poll_timeout().filter(|at| *at <= until) {
                Some(at) => {
                    now = at;
                    sup.handle_timeout(at);
                }
                None => return seen,
            }
        }
    }

    #[test]
    fn a_hand_edit_read_at_the_first_look_is_applied_and_logged() {
        let t0 = Instant::now();
        let mut sup = app(t0, false);
        assert_eq!(drain(&mut sup), [Action::LookUpRay]);
        sup.handle_timeout(t0);
        let actions = drain(&mut sup);
        assert!(actions.contains(&Action::ReadConfigFile), "{actions:?}");
        let edited = Config {
            cpus: 1,
            ..config()
        };
        sup.handle_event(t0, Event::ConfigFileRead(FileReading::Valid(edited)));
        assert_eq!(sup.status().cpus, 1);
        let actions = drain(&mut sup);
        assert_eq!(
            logged(&actions),
            [&LogNote::ConfigEdit(ConfigEdit::Applied("cpus = 1".into()))]
        );
    }

    #[test]
    fn a_lost_watch_is_said_once_and_the_file_looked_at_every_2_s() {
        let t0 = Instant::now();
        let mut sup = app(t0, false);
        for _ in 0..2 {
            sup.handle_event(
                t0,
                Event::ConfigWatchLost {
                    why: "no inotify left".into(),
                },
            );
        }
        let polling = LogNote::ConfigEdit(ConfigEdit::Polling {
            every_secs: 2,
            why: "no inotify left".into(),
        });
        let actions = run_connected(&mut sup, t0, t0 + CONFIG_FILE_CHECK_EVERY * 10);
        assert_eq!(
            logged(&actions)
                .iter()
                .filter(|note| ***note == polling)
                .count(),
            1
        );
        let looks = actions
            .iter()
            .filter(|a| **a == Action::ReadConfigFile)
            .count();
        assert_eq!(looks, 11, "at start, then every 2 s");
    }

    #[test]
    fn each_change_of_state_worth_a_line_is_logged_once() {
        let t0 = Instant::now();
        let mut sup = app(t0, false);
        let actions = run_connected(&mut sup, t0, t0 + Duration::from_secs(600));
        let phases: Vec<Phase> = logged(&actions)
            .into_iter()
            .filter_map(|note| match note {
                LogNote::StateChanged(status) => Some(status.phase),
                _ => None,
            })
            .collect();
        assert_eq!(
            phases,
            [Phase::Checking, Phase::Starting, Phase::Connected],
            "ten minutes connected, a probe every 2 s: one line each"
        );
        let tests_only = Supervisor::new(Settings::default(), Some(head()), 2, false, t0);
        let mut tests_only = tests_only;
        let actions = run_connected(&mut tests_only, t0, t0 + Duration::from_secs(60));
        assert!(logged(&actions).is_empty(), "without the app, nothing");
    }

    #[test]
    fn the_ray_in_use_is_looked_up_at_start_and_after_an_install() {
        let t0 = Instant::now();
        let mut sup = app(t0, false);
        assert_eq!(drain(&mut sup), [Action::LookUpRay]);
        let ray = RayInUse {
            path: "/opt/ray/bin/ray".into(),
            version: Some("2.51.2".into()),
        };
        sup.handle_event(t0, Event::RayInUse(Some(ray.clone())));
        assert_eq!(sup.status().ray, Some(ray.clone()));
        assert!(logged(&drain(&mut sup)).contains(&&LogNote::RayInUse(Some(ray))));
        sup.handle_event(
            t0,
            Event::User(crate::supervisor::UserCommand::InstallRay { version: None }),
        );
        drain(&mut sup);
        sup.handle_event(t0, Event::RayInstallEnded(Ok("2.60.0".into())));
        assert!(drain(&mut sup).contains(&Action::LookUpRay));
    }

    #[test]
    fn the_cluster_size_is_asked_where_shown_and_reaches_the_status() {
        let t0 = Instant::now();
        let size = ClusterSize { cpus: 6, nodes: 2 };
        let mut shown = app(t0, true);
        let actions = run_connected(&mut shown, t0, t0 + Duration::from_secs(61));
        let asks = actions
            .iter()
            .filter(|a| matches!(a, Action::AskClusterSize { .. }))
            .count();
        assert_eq!(asks, 3, "on joining, then every 30 s");
        shown.handle_event(t0, Event::ClusterSize(Some(size)));
        assert_eq!(shown.status().cluster, Some(size));
        let mut hidden = app(t0, false);
        let actions = run_connected(&mut hidden, t0, t0 + Duration::from_secs(61));
        assert!(!actions
            .iter()
            .any(|a| matches!(a, Action::AskClusterSize { .. })));
    }
}
