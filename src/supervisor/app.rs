//! The running app's duties besides the worker: config.toml's hand edits ([`ConfigLooks`],
//! [`ConfigEdits`]), the `ray` in use, the cluster's size for the menu, the daily look for a
//! newer release, and the log's lines for changes of state. A supervisor without them (a
//! test's) works out none of it.

use std::time::{Duration, Instant};

use super::config_edits::ConfigEdits;
use super::config_looks::ConfigLooks;
use super::settings::{CONFIG_FILE_CHECK_EVERY, UPDATE_CHECK_EVERY};
use super::timers::{Timer, Timers};
use super::{Action, Event, Supervisor};
use crate::config::Config;
use crate::model::{
    this_build, ClusterSize, ConfigEdit, LogNote, Phase, PythonSkew, RayInUse, Status,
    UpdateAvailable, UpdateCheck,
};

#[derive(Debug, Clone, Default)]
pub(super) struct App {
    pub(super) looks: ConfigLooks,
    pub(super) edits: ConfigEdits,
    /// The tray shows the cluster's size: it is asked of the head's dashboard.
    show_cluster: bool,
    /// The dashboard's last answer, while connected.
    pub(super) cluster: Option<ClusterSize>,
    /// The `ray` a worker runs, as last looked up.
    pub(super) ray: Option<RayInUse>,
    /// What the last worker to join said of its Python against the head's.
    pub(super) python_skew: Option<PythonSkew>,
    /// The state the log last said.
    logged: Option<Status>,
    /// A release newer than this build, as the feed last named it.
    pub(super) update: Option<UpdateAvailable>,
    /// The feed's last look failed (and the log said so): said once until one works again.
    update_feed_failing: bool,
}

impl Supervisor {
    /// The running app's supervisor: config.toml is looked at for hand edits, diffed against
    /// `config` (as read at start); the `ray` in use is looked up; the cluster's size is asked;
    /// unless `check_updates` is off, the releases feed is asked for a newer version.
    pub fn with_app(mut self, now: Instant, config: Config, show_cluster: bool) -> Self {
        if config.check_updates {
            let first = Duration::from_secs(config.timing.first_update_check_secs);
            self.timers.set(Timer::UpdateCheck, now + first);
        }
        self.app = Some(App {
            looks: ConfigLooks::start(now, &mut self.timers),
            edits: ConfigEdits::new(config),
            show_cluster,
            ..App::default()
        });
        self.actions.push_back(Action::LookUpRay);
        self
    }

    /// The events only the running app's duties hear; a supervisor without them ignores them.
    pub(super) fn on_app_event(&mut self, now: Instant, event: Event) {
        let Some(app) = &mut self.app else {
            return;
        };
        let timers = &mut self.timers;
        match event {
            Event::ConfigFileChanged => app.looks.handle_change(now, timers),
            Event::ConfigWatchLost { why } => {
                if !app.looks.polling {
                    let every_secs = CONFIG_FILE_CHECK_EVERY.as_secs();
                    let edit = ConfigEdit::Polling { every_secs, why };
                    self.actions
                        .push_back(Action::Log(LogNote::ConfigEdit(edit)));
                }
                app.looks.handle_reports_lost(now, timers);
            }
            Event::ConfigFileRead(reading) => {
                let (commands, edits) = app.edits.on_reading(reading, &self.wanted);
                for command in commands {
                    self.on_user(now, command);
                }
                let notes = edits.into_iter().map(LogNote::ConfigEdit);
                self.actions.extend(notes.map(Action::Log));
            }
            Event::ClusterSize(size) => app.cluster = size,
            Event::RayInUse(ray) => {
                app.ray = ray.clone();
                self.actions.push_back(Action::Log(LogNote::RayInUse(ray)));
            }
            Event::PythonSkew(skew) => {
                let new = skew
                    .clone()
                    .filter(|skew| app.python_skew.as_ref() != Some(skew));
                app.python_skew = skew;
                let notes = new.map(|skew| Action::Log(LogNote::PythonSkew(skew)));
                self.actions.extend(notes);
            }
            Event::UpdateChecked(check) => {
                let note = app.update_checked(check);
                self.actions.extend(note.map(Action::Log));
            }
            // `handle_event` routes only the events above here.
            _ => {}
        }
    }

    /// The daily look at the releases feed is due (its timer is set only with the app): asked
    /// now, and again in a day.
    pub(super) fn check_for_update(&mut self, now: Instant) {
        self.timers
            .set(Timer::UpdateCheck, now + UPDATE_CHECK_EVERY);
        self.actions.push_back(Action::CheckForUpdate);
    }
}

impl App {
    /// What the feed said: a newer release is offered; a failure is logged only when the look
    /// before it worked, so a feed that is down for a week is one line, not seven.
    fn update_checked(&mut self, check: UpdateCheck) -> Option<LogNote> {
        let newest = match check.newest {
            Ok(newest) => newest,
            Err(why) => {
                let first = !std::mem::replace(&mut self.update_feed_failing, true);
                // What was offered stays offered: the release is no less out.
                return first.then_some(LogNote::UpdateCheckFailed { why });
            }
        };
        self.update_feed_failing = false;
        // Precedence, as semver orders releases: build metadata does not make one newer.
        let newer = newest.filter(|release| {
            release.version.cmp_precedence(&this_build()) == std::cmp::Ordering::Greater
        });
        self.update = newer.map(|release| UpdateAvailable {
            version: release.version.to_string(),
            page: release.page,
            homebrew: check.homebrew,
        });
        None
    }

    /// After each step: the cluster's size is asked on connecting to a real head (the demo's is
    /// this machine), then every `CLUSTER_ASK_EVERY`, forgotten once not; a change worth a line.
    pub(super) fn follow(
        &mut self,
        now: Instant,
        status: Status,
        timers: &mut Timers,
    ) -> Option<LogNote> {
        if self.show_cluster && status.phase == Phase::Connected && !status.demo {
            if !timers.is_set(Timer::ClusterAsk) {
                timers.set(Timer::ClusterAsk, now);
            }
        } else {
            timers.stop(Timer::ClusterAsk);
            self.cluster = None;
        }
        worth_a_line(self.logged.as_ref(), &status).then(|| {
            self.logged = Some(status.clone());
            LogNote::StateChanged(Box::new(status))
        })
    }
}

/// Whether going from `previous` (`None`: nothing said yet) to `next` is worth a log line: a new
/// phase, fault, kind of pause or head, a joined worker's CPUs, a new reason while disconnected.
fn worth_a_line(previous: Option<&Status>, next: &Status) -> bool {
    let Some(previous) = previous else {
        return true;
    };
    // A worker that is going away changes nothing worth a line.
    let cpus_matter = matches!(next.phase, Phase::Starting | Phase::Connected);
    let kind = |status: &Status| status.auto_pause.map(|a| std::mem::discriminant(&a));
    previous.phase != next.phase
        || previous.fault != next.fault
        || kind(previous) != kind(next)
        || (cpus_matter && previous.worker_cpus != next.worker_cpus)
        || previous.head != next.head
        || (next.phase == Phase::Disconnected && previous.unreachable != next.unreachable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileReading;
    use crate::model::{AutoPause, ConfigEdit, HeadAddress, Unreachable};
    use crate::supervisor::settings::{CLUSTER_ASK_EVERY, CONFIG_FILE_CHECK_EVERY};
    use crate::supervisor::{Event, HeadProbe, Settings, UserCommand};
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
                            resolved: None,
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
    fn a_python_patch_skew_is_shown_while_it_lasts_and_said_once() {
        let t0 = Instant::now();
        let mut sup = app(t0, false);
        drain(&mut sup);
        let skew = PythonSkew {
            head: "3.11.7".into(),
            this_machine: "3.11.2".into(),
        };
        sup.handle_event(t0, Event::PythonSkew(Some(skew.clone())));
        assert_eq!(sup.status().python_skew, Some(skew.clone()));
        let said = LogNote::PythonSkew(skew.clone());
        assert!(logged(&drain(&mut sup)).contains(&&said));
        sup.handle_event(t0, Event::PythonSkew(Some(skew.clone())));
        assert!(!logged(&drain(&mut sup)).contains(&&said), "once");
        sup.handle_event(t0, Event::PythonSkew(None));
        assert_eq!(sup.status().python_skew, None);
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

    #[test]
    fn the_cluster_size_is_asked_on_joining_and_forgotten_once_the_connection_goes() {
        let t0 = Instant::now();
        let size = ClusterSize { cpus: 22, nodes: 2 };
        let mut sup = app(t0, true);
        let actions = run_connected(&mut sup, t0, t0 + Duration::from_secs(1));
        let position = |wanted: fn(&Action) -> bool| actions.iter().position(wanted);
        let started = position(|a| matches!(a, Action::StartWorker(_)));
        let asked = position(|a| matches!(a, Action::AskClusterSize { .. }));
        assert!(started < asked, "not before the worker joined");
        assert_eq!(
            sup.timers.get(Timer::ClusterAsk),
            Some(t0 + CLUSTER_ASK_EVERY),
            "asked at once on joining at t0, next in half a minute"
        );
        sup.handle_event(t0, Event::ClusterSize(Some(size)));
        assert_eq!(sup.status().cluster, Some(size));
        sup.handle_event(t0, Event::User(UserCommand::Pause));
        assert_eq!(sup.timers.get(Timer::ClusterAsk), None);
        assert_eq!(
            sup.status().cluster,
            None,
            "no figure once the connection went"
        );
        sup.handle_event(t0, Event::ClusterSize(Some(size)));
        assert_eq!(sup.status().cluster, None, "a late answer is dropped");
    }

    #[test]
    fn the_demo_head_is_never_asked_its_cluster_size() {
        let t0 = Instant::now();
        let mut demo = Supervisor::new(Settings::default(), Some(head()), 2, false, t0)
            .with_demo_head(Some(head()))
            .with_app(t0, config(), true);
        let actions = run_connected(&mut demo, t0, t0 + Duration::from_secs(61));
        assert!(demo.status().demo && demo.status().phase == Phase::Connected);
        assert!(!actions
            .iter()
            .any(|a| matches!(a, Action::AskClusterSize { .. })));
    }

    fn status_at(phase: Phase) -> Status {
        Status {
            phase,
            head: Some("100.64.0.1:6379".parse().expect("head")),
            worker_cpus: Some(10),
            ..Status::default()
        }
    }

    #[test]
    fn no_line_when_nothing_changed() {
        let a = status_at(Phase::Connected);
        assert!(worth_a_line(None, &a), "the first state is said");
        assert!(!worth_a_line(Some(&a), &a.clone()));
        let busier = Status {
            worker_busy_percent: Some(80),
            recent_failures: 1,
            ..a.clone()
        };
        assert!(!worth_a_line(Some(&a), &busier), "not every figure");
    }

    #[test]
    fn a_new_reason_while_disconnected_is_logged() {
        let mut a = status_at(Phase::Disconnected);
        a.unreachable = Some(Unreachable::TimedOut);
        let mut b = a.clone();
        b.unreachable = Some(Unreachable::Refused);
        assert!(worth_a_line(Some(&a), &b));
        let (mut c, mut d) = (
            status_at(Phase::Disconnecting),
            status_at(Phase::Disconnecting),
        );
        c.unreachable = Some(Unreachable::TimedOut);
        d.unreachable = Some(Unreachable::Refused);
        assert!(!worth_a_line(Some(&c), &d), "only once disconnected");
    }

    #[test]
    fn the_cpus_count_only_in_the_cluster_and_a_pause_by_its_kind() {
        let mut a = status_at(Phase::Stopping);
        let mut b = a.clone();
        b.worker_cpus = Some(4);
        assert!(!worth_a_line(Some(&a), &b), "a worker going away");
        a.phase = Phase::Connected;
        b.phase = Phase::Connected;
        assert!(worth_a_line(Some(&a), &b));
        let low = |percent| Status {
            auto_pause: Some(AutoPause::LowBattery { percent }),
            ..status_at(Phase::Paused)
        };
        assert!(!worth_a_line(Some(&low(9)), &low(8)), "the same kind");
        assert!(worth_a_line(Some(&status_at(Phase::Paused)), &low(8)));
    }
}
