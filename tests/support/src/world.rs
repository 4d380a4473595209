//! The one simulated world of the rule tests: a head that answers or not, workers that join,
//! crash, ignore SIGTERM or drain on cue, an OS that grants the idle-sleep hold or not. It keeps
//! no clock: the supervisor's virtual clock ([`crate::sim::Sim`]) and the driver under paused
//! tokio time ([`crate::fake_platform::FakePlatform`]) each ask it what happens and after how
//! long, so the rules are tested on the simulator and the driver's tests check only wiring.

use std::time::Duration;

use bittrader_worker::model::{
    AwakeHold, HeadAddress, ProcessUsage, Release, TailnetFinds, TailscaleCheck, TailscaleProblem,
    Unreachable, UpdateCheck, WorkerFailure,
};
use bittrader_worker::supervisor::{HeadProbe, TreeReading};

/// How a worker behaves, from its start.
#[derive(Debug, Clone)]
pub struct WorkerScript {
    /// It prints "Ray runtime started" after this long (`None`: never).
    pub joins_after: Option<Duration>,
    /// It exits by itself after this long, its output saying this.
    pub exits_after: Option<(Duration, Option<WorkerFailure>)>,
    /// A SIGTERM ends it after this long.
    pub stop_takes: Duration,
    /// What its output says as a stop ends it (e.g. Ray's "received SIGTERM. Draining…").
    pub says_at_stop: Option<WorkerFailure>,
    /// It ignores SIGTERM: only the SIGKILL after the grace ends it.
    pub ignores_sigterm: bool,
    /// Its running tasks finish this long after it is asked to drain (`None`: never).
    pub drain_takes: Option<Duration>,
    /// The CPU its process tree keeps busy, in cores.
    pub cpu_cores: f64,
    /// Looking up this machine's address for it takes this long (`tailscale status` after a
    /// wake).
    pub node_ip_takes: Duration,
    /// Explaining its exit takes this long (`ray --version` on a busy machine).
    pub explain_takes: Duration,
}

impl WorkerScript {
    /// A worker that never joins and exits after `after`, its output saying `failure`.
    pub fn crashing(after: Duration, failure: Option<WorkerFailure>) -> Self {
        WorkerScript {
            joins_after: None,
            exits_after: Some((after, failure)),
            ..WorkerScript::default()
        }
    }
}

impl Default for WorkerScript {
    fn default() -> Self {
        WorkerScript {
            joins_after: Some(Duration::from_secs(3)),
            exits_after: None,
            stop_takes: Duration::from_millis(500),
            says_at_stop: None,
            ignores_sigterm: false,
            drain_takes: Some(Duration::from_secs(8)),
            cpu_cores: 1.0,
            node_ip_takes: Duration::ZERO,
            explain_takes: Duration::ZERO,
        }
    }
}

/// The world as it is now; a test changes it between steps.
#[derive(Debug, Clone)]
pub struct World {
    /// The head answers probes.
    pub head_up: bool,
    /// What Tailscale says of a head at a Tailscale address.
    pub tailscale: TailscaleCheck,
    /// A connection to the head can be held while it answers (as to a real Ray GCS).
    pub holds_connections: bool,
    /// The path drops the keepalive's packets, not new connections: a held connection is lost
    /// every time while probes are answered.
    pub keepalive_dropped: bool,
    /// The head's side closes each held connection this long after it was held (a proxy, a
    /// load balancer), while probes are still answered.
    pub closes_held_after: Option<Duration>,
    /// Ray at the head is stopped: the machine answers, the Ray port refuses.
    pub ray_stopped: bool,
    /// How the workers started from now on behave.
    pub worker: WorkerScript,
    /// How long a probe, a drain request or a look at the worker takes to answer.
    pub answer_takes: Duration,
    /// The OS grants the idle-sleep hold (`keep_awake`) when asked.
    pub grants_awake: bool,
    /// What a search for heads on the tailnet finds.
    pub found_heads: Result<TailnetFinds, TailscaleProblem>,
    /// How long ago the user's last input was (`None`: the machine cannot tell).
    pub user_idle: Option<Duration>,
    /// Where a head named by a name resolves (`None`: nowhere).
    pub resolves_to: Option<std::net::IpAddr>,
    /// What the releases feed answers: its newest release, or why it cannot be read.
    pub releases_feed: Result<Option<Release>, String>,
    /// This copy was installed with Homebrew's cask.
    pub homebrew: bool,
}

impl Default for World {
    /// A desktop whose head, at a Tailscale address, answers and whose workers join after 3 s.
    fn default() -> Self {
        World {
            head_up: true,
            tailscale: TailscaleCheck::OnlinePeer,
            holds_connections: true,
            keepalive_dropped: false,
            closes_held_after: None,
            ray_stopped: false,
            worker: WorkerScript::default(),
            answer_takes: Duration::from_millis(5),
            grants_awake: true,
            found_heads: Ok(TailnetFinds::default()),
            user_idle: Some(Duration::ZERO),
            resolves_to: None,
            releases_feed: Ok(None),
            homebrew: false,
        }
    }
}

impl World {
    /// The answer to a probe of `head`.
    pub fn probe(&self, head: &HeadAddress) -> HeadProbe {
        let resolved = head.ip().or(self.resolves_to);
        HeadProbe {
            head: head.clone(),
            resolved,
            unreachable: match (self.head_up, self.ray_stopped) {
                (false, _) => Some(Unreachable::TimedOut),
                (true, true) => Some(Unreachable::Refused),
                (true, false) => None,
            },
            tailscale: head
                .through_tailscale(resolved)
                .then(|| self.tailscale.clone()),
        }
    }

    /// A connection to the head can be held now.
    pub fn holds_connection(&self) -> bool {
        self.holds_connections && self.head_up && !self.ray_stopped
    }

    /// A held connection goes unanswered now (the OS reports it lost after its `lost_after`).
    pub fn connection_silent(&self) -> bool {
        !self.head_up || self.keepalive_dropped
    }

    /// How long after a stop with `grace` the worker ends.
    pub fn stop_takes(&self, grace: Duration) -> Duration {
        match self.worker.ignores_sigterm {
            true => grace,
            false => self.worker.stop_takes,
        }
    }

    /// A look at the tree of a worker asked to drain `since` ago (`None`: not asked).
    pub fn tree(&self, since: Option<Duration>) -> TreeReading {
        match (since, self.worker.drain_takes) {
            (Some(since), Some(takes)) if since >= takes => TreeReading::Quiet,
            _ => TreeReading::Busy,
        }
    }

    /// The CPU counters of worker `pid` (its kernel start `start`), running for `ran`: one
    /// process, busy `cpu_cores` all along.
    pub fn usage(&self, pid: u32, start: u64, ran: Duration) -> Vec<ProcessUsage> {
        vec![ProcessUsage {
            pid,
            start,
            parent: Some(1),
            own: ran.mul_f64(self.worker.cpu_cores),
            children: Duration::ZERO,
        }]
    }

    /// A look at the releases feed now.
    pub fn update_check(&self) -> UpdateCheck {
        UpdateCheck {
            newest: self.releases_feed.clone(),
            homebrew: self.homebrew,
        }
    }

    /// What the OS makes of a wish to hold idle sleep off (`true`) or to let it go.
    pub fn awake(&self, wanted: bool) -> AwakeHold {
        match (wanted, self.grants_awake) {
            (false, _) => AwakeHold::Released,
            (true, true) => AwakeHold::Held,
            (true, false) => AwakeHold::Refused {
                why: "refused by the simulated OS".to_string(),
            },
        }
    }
}
