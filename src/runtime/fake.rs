//! A fake world for the driver: a head that answers or not, workers that join, crash, ignore
//! SIGTERM or drain on cue, and a machine whose reports (power, sleep, heat, network) the test
//! sends as events. No process, socket or file of the machine is touched, and every delay is a
//! tokio sleep, so a test under `tokio::time::pause` runs minutes of the driver in
//! milliseconds.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::platform::{Platform, Watches, WorkerHandle};
use super::{lock, Events};
use crate::model::{
    AwakeHold, ClusterSize, HeadAddress, IdleReading, InstallStep, PowerSnapshot, ProcessUsage,
    RayInUse, TailnetFinds, TailscaleCheck, TailscaleProblem, Unreachable,
};
use crate::ray_output;
use crate::supervisor::settings::USER_IDLE_LOOK_EVERY;
use crate::supervisor::{
    Event, HeadConnection, HeadProbe, SpawnFailure, TreeReading, WorkerExit, WorkerSpec,
};

/// How a fake worker behaves, from its start.
#[derive(Debug, Clone)]
pub struct WorkerScript {
    /// It prints "Ray runtime started" after this long (`None`: never).
    pub joins_after: Option<Duration>,
    /// It exits by itself after this long with this output tail.
    pub exits_after: Option<(Duration, Vec<String>)>,
    /// It ignores SIGTERM: only the SIGKILL after the grace ends it.
    pub ignores_sigterm: bool,
    /// Its running tasks finish this long after it is asked to drain (`None`: never).
    pub drains_in: Option<Duration>,
    /// Looking up the node IP for it takes this long (`tailscale status` after a wake).
    pub node_ip_takes: Duration,
    /// Explaining its exit takes this long (`ray --version` on a busy machine).
    pub explain_takes: Duration,
    /// The CPU its process tree uses, in cores (1.5: one and a half cores busy all the time).
    pub cpu_cores: f64,
}

impl Default for WorkerScript {
    fn default() -> Self {
        WorkerScript {
            joins_after: Some(Duration::from_secs(3)),
            exits_after: None,
            ignores_sigterm: false,
            drains_in: Some(Duration::from_secs(2)),
            node_ip_takes: Duration::ZERO,
            explain_takes: Duration::ZERO,
            cpu_cores: 1.0,
        }
    }
}

/// What the fake world has seen, for the test to read.
#[derive(Debug, Default, Clone)]
pub struct FakeRecord {
    /// Every worker started, in order.
    pub starts: Vec<WorkerSpec>,
    /// When each was started (tokio time).
    pub started_at: Vec<tokio::time::Instant>,
    /// Every stop asked for, with its grace.
    pub stops: Vec<Duration>,
    /// Every drain asked for.
    pub drains: usize,
    /// Workers that ended, by SIGTERM, SIGKILL or on their own.
    pub exits: usize,
    /// Readings of a worker's CPU counters, with when they were taken (tokio time).
    pub usage_samples: Vec<tokio::time::Instant>,
    /// Every change of the idle-sleep hold (`keep_awake`), with its tokio time.
    pub awake: Vec<(tokio::time::Instant, bool)>,
    /// When the head was probed (tokio time).
    pub probes: Vec<tokio::time::Instant>,
}

/// The fake world, which a test sets with [`FakePlatform::set`].
#[derive(Debug)]
pub struct World {
    /// The head answers probes (a held connection to it is lost after its `lost_after` once
    /// it does not, as the OS's keepalive finds).
    pub head_up: bool,
    /// What Tailscale says of a head at a Tailscale address.
    pub tailscale: TailscaleCheck,
    /// How workers started from now on behave.
    pub script: WorkerScript,
    /// A connection to the head can be held (and watched) while it answers; without one the
    /// head is probed at the usual cadence.
    pub holds_connections: bool,
    /// What a search for heads on the tailnet finds, and how many were run.
    pub found_heads: Result<TailnetFinds, TailscaleProblem>,
    pub searches: usize,
    /// How long ago the user's last input was, as the idle watcher reads it (`None`: the
    /// machine cannot tell); it grows between readings.
    pub user_idle: Option<Duration>,
    /// The driver watches the user's idle time.
    pub watching_user_idle: bool,
    /// The OS refuses the idle-sleep hold (as IOKit or logind may).
    pub refuse_awake: bool,
    record: FakeRecord,
    next_pid: u32,
    /// When the live worker's drain finishes, as tokio time.
    drained_at: Option<tokio::time::Instant>,
    /// Where the machine's reports go, once the driver watches.
    events: Option<Events>,
    /// Each live worker's pid, with its start and its CPU use in cores.
    trees: Vec<(u32, tokio::time::Instant, f64)>,
}

/// The fake [`Platform`]. Clones share one world.
#[derive(Debug, Clone)]
pub struct FakePlatform {
    world: Arc<Mutex<World>>,
}

impl Default for FakePlatform {
    fn default() -> Self {
        FakePlatform::new()
    }
}

impl FakePlatform {
    /// A desktop whose head answers and whose workers join after 3 s.
    pub fn new() -> Self {
        FakePlatform {
            world: Arc::new(Mutex::new(World {
                head_up: true,
                tailscale: TailscaleCheck::OnlinePeer,
                script: WorkerScript::default(),
                holds_connections: true,
                found_heads: Ok(TailnetFinds::default()),
                searches: 0,
                user_idle: Some(Duration::ZERO),
                watching_user_idle: false,
                refuse_awake: false,
                record: FakeRecord::default(),
                next_pid: 40_000,
                drained_at: None,
                events: None,
                trees: Vec::new(),
            })),
        }
    }

    /// Changes the world from now on, or reads it.
    pub fn set<T>(&self, change: impl FnOnce(&mut World) -> T) -> T {
        change(&mut lock(&self.world))
    }

    /// What happened so far.
    pub fn record(&self) -> FakeRecord {
        lock(&self.world).record.clone()
    }

    /// The machine reports `event` (a power change, a sleep notification, the heat, the
    /// network) as the platform's watchers would.
    pub fn report(&self, event: Event) {
        if let Some(events) = &lock(&self.world).events {
            let _ = events.send(event);
        }
    }

    /// Whether idle sleep is held off now (the last change of the hold).
    pub fn awake_held(&self) -> bool {
        lock(&self.world)
            .record
            .awake
            .last()
            .is_some_and(|(_, held)| *held)
    }
}

/// A fake worker: reports its exit once, on its own, on SIGTERM or on SIGKILL.
pub struct FakeWorker {
    pid: u32,
    ignores_sigterm: bool,
    end: Arc<End>,
}

/// A fake worker's end.
struct End {
    exited: AtomicBool,
    world: Arc<Mutex<World>>,
    events: Events,
    /// Explaining its exit takes this long (`ray --version` on a busy machine).
    explain_takes: Duration,
}

impl End {
    /// Ends the worker `after` from now unless it ended before; what `tail` says of the exit
    /// is reported `explain_takes` later.
    fn after(self: &Arc<Self>, after: Duration, code: Option<i32>, tail: Vec<String>) {
        let end = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if end.exited.swap(true, Ordering::SeqCst) {
                return;
            }
            {
                let mut world = lock(&end.world);
                world.record.exits += 1;
                world.drained_at = None;
            }
            tokio::time::sleep(end.explain_takes).await;
            let said = code.is_some() || !tail.is_empty();
            let failure = said.then(|| ray_output::classify_exit(&tail));
            let _ = end
                .events
                .send(Event::WorkerExited(WorkerExit { code, failure }));
        });
    }
}

impl WorkerHandle for FakeWorker {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn stop(&self, grace: Duration) {
        lock(&self.end.world).record.stops.push(grace);
        let after = match self.ignores_sigterm {
            true => grace,
            false => Duration::from_millis(200),
        };
        self.end.after(after, None, Vec::new());
    }
}

impl Platform for FakePlatform {
    type Worker = FakeWorker;

    fn find_heads(
        &self,
    ) -> impl Future<Output = Result<TailnetFinds, TailscaleProblem>> + Send + 'static {
        let mut world = lock(&self.world);
        world.searches += 1;
        let found = world.found_heads.clone();
        async move {
            // The real search takes up to its connect timeout.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            found
        }
    }

    fn probe(
        &self,
        head: &HeadAddress,
        _timeout: Duration,
        _tailscale_max_age: Duration,
    ) -> impl Future<Output = HeadProbe> + Send + 'static {
        let mut world = lock(&self.world);
        world.record.probes.push(tokio::time::Instant::now());
        let probe = HeadProbe {
            head: head.clone(),
            unreachable: (!world.head_up).then_some(Unreachable::TimedOut),
            tailscale: head.is_tailscale().then(|| world.tailscale.clone()),
        };
        async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            probe
        }
    }

    fn watch_head(
        &self,
        _head: &HeadAddress,
        lost_after: Duration,
        state: impl Fn(HeadConnection) + Send + Sync + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let world = self.world.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let holds = {
                let world = lock(&world);
                world.head_up && world.holds_connections
            };
            if !holds {
                return state(HeadConnection::NotHeld);
            }
            state(HeadConnection::Held);
            while lock(&world).head_up {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            // The keepalive's probes go unanswered for `lost_after`.
            tokio::time::sleep(lost_after).await;
            state(HeadConnection::Lost);
        }
    }

    fn node_ip(
        &self,
        _head: &HeadAddress,
    ) -> impl Future<Output = Result<IpAddr, String>> + Send + 'static {
        let takes = lock(&self.world).script.node_ip_takes;
        async move {
            tokio::time::sleep(takes).await;
            Ok(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
    }

    fn start_worker(
        &self,
        spec: &WorkerSpec,
        _node_ip: IpAddr,
        events: Events,
    ) -> Result<FakeWorker, SpawnFailure> {
        let mut world = lock(&self.world);
        let now = tokio::time::Instant::now();
        world.record.starts.push(spec.clone());
        world.record.started_at.push(now);
        world.next_pid += 1;
        let (script, pid) = (world.script.clone(), world.next_pid);
        world.trees.push((pid, now, script.cpu_cores));
        let end = Arc::new(End {
            exited: AtomicBool::new(false),
            world: self.world.clone(),
            events: events.clone(),
            explain_takes: script.explain_takes,
        });
        if let Some(after) = script.joins_after {
            let end = end.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if !end.exited.load(Ordering::SeqCst) {
                    let _ = events.send(Event::WorkerJoined);
                }
            });
        }
        if let Some((after, tail)) = script.exits_after {
            end.after(after, Some(1), tail);
        }
        Ok(FakeWorker {
            pid,
            ignores_sigterm: script.ignores_sigterm,
            end,
        })
    }

    fn drain(
        &self,
        _head: &HeadAddress,
        _worker_pid: u32,
        _deadline: Duration,
    ) -> impl Future<Output = Result<(), String>> + Send + 'static {
        let mut world = lock(&self.world);
        world.record.drains += 1;
        world.drained_at = world
            .script
            .drains_in
            .map(|after| tokio::time::Instant::now() + after);
        async { Ok(()) }
    }

    fn sample_tree(&self, _worker_pid: u32) -> impl Future<Output = TreeReading> + Send + 'static {
        let drained_at = lock(&self.world).drained_at;
        async move {
            match drained_at {
                Some(at) if tokio::time::Instant::now() >= at => TreeReading::Quiet,
                _ => TreeReading::Busy,
            }
        }
    }

    fn sample_usage(
        &self,
        worker_pid: u32,
    ) -> impl Future<Output = Option<Vec<ProcessUsage>>> + Send + 'static {
        let mut world = lock(&self.world);
        let now = tokio::time::Instant::now();
        world.record.usage_samples.push(now);
        // One process, busy `cores` since its start.
        let tree = world
            .trees
            .iter()
            .find(|(pid, _, _)| *pid == worker_pid)
            .map(|(pid, started, cores)| {
                vec![ProcessUsage {
                    pid: *pid,
                    start: 1,
                    parent: Some(1),
                    own: (now - *started).mul_f64(*cores),
                    children: Duration::ZERO,
                }]
            })
            .unwrap_or_default();
        std::future::ready(Some(tree))
    }

    fn ray_in_use(&self) -> impl Future<Output = Option<RayInUse>> + Send + 'static {
        std::future::ready(None)
    }

    fn install_ray(
        &self,
        _version: Option<String>,
        _step: impl Fn(InstallStep) + Send + 'static,
    ) -> impl Future<Output = Result<String, String>> + Send + 'static {
        std::future::ready(Err("the fake installs nothing".to_string()))
    }

    /// A head's two nodes: its own and this machine's.
    fn cluster_size(
        &self,
        _head: &HeadAddress,
    ) -> impl Future<Output = Option<ClusterSize>> + Send + 'static {
        std::future::ready(Some(ClusterSize { cpus: 6, nodes: 2 }))
    }

    /// A desktop on mains; the hold on idle sleep is granted unless
    /// [`FakePlatform::refuse_awake`] was called (each take and release recorded, the one at
    /// the sender's end included); the idle time is read every few seconds while asked for,
    /// growing with tokio time between readings as a real idle counter does.
    fn watch(&self, events: Events, watches: Watches) {
        let desktop = PowerSnapshot {
            on_ac: true,
            battery: None,
        };
        let _ = events.send(Event::Power(desktop));
        let mut world = lock(&self.world);
        world.events = Some(events.clone());
        world.watching_user_idle = watches.user_idle;
        drop(world);
        tokio::spawn(follow_hold(
            self.world.clone(),
            watches.keep_awake,
            events.clone(),
        ));
        if watches.user_idle {
            let world = self.world.clone();
            tokio::spawn(async move {
                loop {
                    let idle = lock(&world).user_idle;
                    let reading = idle.map_or(IdleReading::NoSession, IdleReading::Idle);
                    if events.send(Event::UserIdle(reading)).is_err() {
                        return;
                    }
                    tokio::time::sleep(USER_IDLE_LOOK_EVERY).await;
                    if let Some(idle) = &mut lock(&world).user_idle {
                        *idle += USER_IDLE_LOOK_EVERY;
                    }
                }
            });
        }
    }
}

/// Follows the supervisor's `hold_awake` as the OS's hold would, until the driver is gone.
async fn follow_hold(world: Arc<Mutex<World>>, mut hold: watch::Receiver<bool>, events: Events) {
    let mut held = false;
    loop {
        let wanted = *hold.borrow_and_update();
        if wanted != held {
            let report = if wanted && lock(&world).refuse_awake {
                AwakeHold::Refused {
                    why: "refused by the fake".to_string(),
                }
            } else {
                held = wanted;
                let now = tokio::time::Instant::now();
                lock(&world).record.awake.push((now, held));
                if held {
                    AwakeHold::Held
                } else {
                    AwakeHold::Released
                }
            };
            let _ = events.send(Event::AwakeHold(report));
        }
        if hold.changed().await.is_err() {
            if held {
                let now = tokio::time::Instant::now();
                lock(&world).record.awake.push((now, false));
            }
            return;
        }
    }
}
