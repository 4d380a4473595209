//! The driver's [`Platform`] in the simulated [`World`]: every answer is the world's, every delay
//! a tokio sleep, so a test under `tokio::time::pause` runs minutes of the driver in
//! milliseconds. The machine's reports (power, sleep, heat, network) the test sends as events
//! ([`FakePlatform::report`]). No process, socket or file of the machine is touched.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bittrader_worker::model::{
    AwakeHold, ClusterSize, HeadAddress, IdleReading, InstallStep, PowerSnapshot, ProcessUsage,
    RayInUse, TailnetFinds, TailscaleProblem, UpdateCheck,
};
use bittrader_worker::runtime::{Events, Platform, Task, Watches, WorkerHandle};
use bittrader_worker::supervisor::settings::USER_IDLE_LOOK_EVERY;
use bittrader_worker::supervisor::{
    Event, HeadConnection, HeadProbe, SpawnFailure, TreeReading, WorkerExit, WorkerSpec,
};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::world::World;

/// What the driver did to the world, for the test to read.
#[derive(Debug, Default, Clone)]
pub struct FakeRecord {
    /// Every worker started, in order.
    pub starts: Vec<WorkerSpec>,
    /// When each was started.
    pub started_at: Vec<Instant>,
    /// Every stop asked for, with its grace.
    pub stops: Vec<Duration>,
    /// Every drain asked for.
    pub drains: usize,
    /// Workers that ended, by SIGTERM, SIGKILL or on their own.
    pub exits: usize,
    /// When a worker's CPU counters were read.
    pub usage_samples: Vec<Instant>,
    /// Every change of the idle-sleep hold (`keep_awake`), with its time.
    pub awake: Vec<(Instant, bool)>,
    /// When the head was probed.
    pub probes: Vec<Instant>,
    /// How many searches for heads on the tailnet were run.
    pub searches: usize,
    /// The driver watches the user's idle time.
    pub watching_user_idle: bool,
}

/// The world and what the driver did in it.
#[derive(Debug)]
struct Fake {
    world: World,
    record: FakeRecord,
    next_pid: u32,
    /// When the live worker was asked to drain.
    drained_at: Option<Instant>,
    /// Where the machine's reports go, once the driver watches.
    events: Option<Events>,
    /// Each live worker's pid, with its start.
    trees: Vec<(u32, Instant)>,
}

/// Locks without panicking: a test that panicked while holding the lock has already failed,
/// and the value inside is still the last one set.
fn lock(fake: &Mutex<Fake>) -> MutexGuard<'_, Fake> {
    fake.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The fake [`Platform`]. Clones share one world.
#[derive(Debug, Clone)]
pub struct FakePlatform {
    fake: Arc<Mutex<Fake>>,
}

impl FakePlatform {
    /// The driver in `world`.
    pub fn new(world: World) -> Self {
        FakePlatform {
            fake: Arc::new(Mutex::new(Fake {
                world,
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
        change(&mut lock(&self.fake).world)
    }

    /// What happened so far.
    pub fn record(&self) -> FakeRecord {
        lock(&self.fake).record.clone()
    }

    /// The machine reports `event` (a power change, a sleep notification, the heat, the
    /// network) as the platform's watchers would.
    pub fn report(&self, event: Event) {
        if let Some(events) = &lock(&self.fake).events {
            let _ = events.send(event);
        }
    }

    /// Whether idle sleep is held off now (the last change of the hold).
    pub fn awake_held(&self) -> bool {
        let fake = lock(&self.fake);
        fake.record.awake.last().is_some_and(|(_, held)| *held)
    }
}

/// A fake worker: reports its exit once, on its own, on SIGTERM or on SIGKILL.
pub struct FakeWorker {
    pid: u32,
    end: Arc<End>,
}

/// A fake worker's end.
struct End {
    exited: AtomicBool,
    fake: Arc<Mutex<Fake>>,
    events: Events,
    /// Explaining its exit takes this long (`ray --version` on a busy machine).
    explain_takes: Duration,
}

impl End {
    /// Ends the worker `after` from now unless it ended before; `exit` is reported
    /// `explain_takes` later.
    fn after(self: &Arc<Self>, after: Duration, exit: WorkerExit) {
        let end = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if end.exited.swap(true, Ordering::SeqCst) {
                return;
            }
            {
                let mut fake = lock(&end.fake);
                fake.record.exits += 1;
                fake.drained_at = None;
            }
            tokio::time::sleep(end.explain_takes).await;
            let _ = end.events.send(Event::WorkerExited(exit));
        });
    }
}

impl WorkerHandle for FakeWorker {
    fn pid(&self) -> u32 {
        self.pid
    }

    fn stop(&self, grace: Duration) {
        let mut fake = lock(&self.end.fake);
        fake.record.stops.push(grace);
        let after = fake.world.stop_takes(grace);
        let failure = fake.world.worker.says_at_stop.clone();
        drop(fake);
        self.end.after(
            after,
            WorkerExit {
                code: None,
                failure,
            },
        );
    }
}

impl Platform for FakePlatform {
    type Worker = FakeWorker;

    fn find_heads(&self) -> Task<Result<TailnetFinds, TailscaleProblem>> {
        let mut fake = lock(&self.fake);
        fake.record.searches += 1;
        let found = fake.world.found_heads.clone();
        Box::pin(async move {
            // The real search takes up to its connect timeout.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            found
        })
    }

    fn probe(
        &self,
        head: &HeadAddress,
        _timeout: Duration,
        _tailscale_max_age: Duration,
    ) -> Task<HeadProbe> {
        let mut fake = lock(&self.fake);
        fake.record.probes.push(Instant::now());
        let (probe, takes) = (fake.world.probe(head), fake.world.answer_takes);
        Box::pin(async move {
            tokio::time::sleep(takes).await;
            probe
        })
    }

    fn watch_head(
        &self,
        _head: &HeadAddress,
        lost_after: Duration,
        state: impl Fn(HeadConnection) + Send + Sync + 'static,
    ) -> Task<()> {
        let fake = self.fake.clone();
        Box::pin(async move {
            let takes = lock(&fake).world.answer_takes;
            tokio::time::sleep(takes).await;
            if !lock(&fake).world.holds_connection() {
                return state(HeadConnection::NotHeld);
            }
            state(HeadConnection::Held);
            while !lock(&fake).world.connection_silent() {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            // The keepalive's probes go unanswered for `lost_after`.
            tokio::time::sleep(lost_after).await;
            state(HeadConnection::Lost);
        })
    }

    fn node_ip(&self, _head: &HeadAddress) -> Task<Result<IpAddr, String>> {
        let takes = lock(&self.fake).world.worker.node_ip_takes;
        Box::pin(async move {
            tokio::time::sleep(takes).await;
            Ok(IpAddr::V4(Ipv4Addr::LOCALHOST))
        })
    }

    fn start_worker(
        &self,
        spec: &WorkerSpec,
        _node_ip: IpAddr,
        events: Events,
    ) -> Result<FakeWorker, SpawnFailure> {
        let mut fake = lock(&self.fake);
        let now = Instant::now();
        fake.record.starts.push(spec.clone());
        fake.record.started_at.push(now);
        fake.next_pid += 1;
        let (script, pid) = (fake.world.worker.clone(), fake.next_pid);
        fake.trees.push((pid, now));
        let end = Arc::new(End {
            exited: AtomicBool::new(false),
            fake: self.fake.clone(),
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
        if let Some((after, failure)) = script.exits_after {
            let code = Some(1);
            end.after(after, WorkerExit { code, failure });
        }
        Ok(FakeWorker { pid, end })
    }

    fn drain(
        &self,
        _head: &HeadAddress,
        _worker_pid: u32,
        _deadline: Duration,
    ) -> Task<Result<(), String>> {
        let mut fake = lock(&self.fake);
        fake.record.drains += 1;
        fake.drained_at = Some(Instant::now());
        Box::pin(async { Ok(()) })
    }

    fn sample_tree(&self, _worker_pid: u32) -> Task<TreeReading> {
        let fake = lock(&self.fake);
        let since = fake.drained_at.map(|at| Instant::now() - at);
        Box::pin(std::future::ready(fake.world.tree(since)))
    }

    fn sample_usage(&self, worker_pid: u32) -> Task<Option<Vec<ProcessUsage>>> {
        let mut fake = lock(&self.fake);
        let now = Instant::now();
        fake.record.usage_samples.push(now);
        let started = fake.trees.iter().find(|(pid, _)| *pid == worker_pid);
        let tree = started.map(|(pid, started)| fake.world.usage(*pid, 1, now - *started));
        Box::pin(std::future::ready(Some(tree.unwrap_or_default())))
    }

    fn ray_in_use(&self) -> Task<Option<RayInUse>> {
        Box::pin(std::future::ready(None))
    }

    fn install_ray(
        &self,
        _version: Option<String>,
        _step: impl Fn(InstallStep) + Send + 'static,
    ) -> Task<Result<String, String>> {
        Box::pin(std::future::ready(Err(
            "the fake installs nothing".to_string()
        )))
    }

    /// A head's two nodes: its own and this machine's.
    fn cluster_size(&self, _head: &HeadAddress) -> Task<Option<ClusterSize>> {
        Box::pin(std::future::ready(Some(ClusterSize { cpus: 6, nodes: 2 })))
    }

    fn check_for_update(&self) -> Task<UpdateCheck> {
        Box::pin(std::future::ready(lock(&self.fake).world.update_check()))
    }

    /// A desktop on mains; the hold on idle sleep as the world grants it (each take and release
    /// recorded, the one at the sender's end included); the idle time is read every few seconds
    /// while asked for, growing with tokio time between readings as a real idle counter does.
    fn watch(&self, events: Events, watches: Watches) {
        let desktop = PowerSnapshot {
            on_ac: true,
            battery: None,
        };
        let _ = events.send(Event::Power(desktop));
        let mut fake = lock(&self.fake);
        fake.events = Some(events.clone());
        fake.record.watching_user_idle = watches.user_idle;
        drop(fake);
        let hold = follow_hold(self.fake.clone(), watches.keep_awake, events.clone());
        tokio::spawn(hold);
        if watches.user_idle {
            let fake = self.fake.clone();
            tokio::spawn(async move {
                loop {
                    let idle = lock(&fake).world.user_idle;
                    let reading = idle.map_or(IdleReading::NoSession, IdleReading::Idle);
                    if events.send(Event::UserIdle(reading)).is_err() {
                        return;
                    }
                    tokio::time::sleep(USER_IDLE_LOOK_EVERY).await;
                    if let Some(idle) = &mut lock(&fake).world.user_idle {
                        *idle += USER_IDLE_LOOK_EVERY;
                    }
                }
            });
        }
    }
}

/// Follows the supervisor's `hold_awake` as the OS's hold would, until the driver is gone.
async fn follow_hold(fake: Arc<Mutex<Fake>>, mut hold: watch::Receiver<bool>, events: Events) {
    let mut held = false;
    loop {
        let wanted = *hold.borrow_and_update();
        if wanted != held {
            let mut fake = lock(&fake);
            let report = fake.world.awake(wanted);
            if !matches!(report, AwakeHold::Refused { .. }) {
                held = wanted;
                fake.record.awake.push((Instant::now(), held));
            }
            drop(fake);
            let _ = events.send(Event::AwakeHold(report));
        }
        if hold.changed().await.is_err() {
            if held {
                lock(&fake).record.awake.push((Instant::now(), false));
            }
            return;
        }
    }
}
