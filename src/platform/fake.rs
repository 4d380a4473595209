//! Stand-ins for the OS facts, for tests of the code that uses them (here and under `tests/`).
//!
//! Each fake holds its answer behind a `Mutex`, so a test keeps an `Arc` to it and changes the
//! answer while the code under test holds another `Arc` (the traits are implemented for
//! `Arc<T>`). No fake touches the machine.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::clock::SleepClock;

use super::login_item::{LoginItem, LoginItemError, LoginStatus};
use super::power::PowerSource;
use super::processes::{ProcessInfo, ProcessTable};
use crate::model::PowerSnapshot;
use nix::sys::signal::Signal;

/// Locks without panicking: a test that panicked while holding the lock has already failed,
/// and the value inside is still the last one set.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A [`PowerSource`] and [`SleepClock`] whose answers the test sets. A new answer is only
/// read at the watcher's next look, unless the test also posts it as the OS would
/// ([`FakePower::post_power_change`]).
#[derive(Debug)]
pub struct FakePower {
    power: Mutex<PowerSnapshot>,
    lid_closed: Mutex<Option<bool>>,
    asleep_total: Mutex<Duration>,
    /// The OS's "the power changed" (what `platform::power::changes` waits on for real).
    changes: Arc<Notify>,
}

impl FakePower {
    /// Starts with `power` and a lid in state `lid_closed`.
    pub fn new(power: PowerSnapshot, lid_closed: Option<bool>) -> Self {
        FakePower {
            power: Mutex::new(power),
            lid_closed: Mutex::new(lid_closed),
            asleep_total: Mutex::new(Duration::from_secs(1000)),
            changes: Arc::new(Notify::new()),
        }
    }

    /// A desktop: mains, no battery, no lid.
    pub fn desktop() -> Self {
        FakePower::new(
            PowerSnapshot {
                on_ac: true,
                battery: None,
            },
            None,
        )
    }

    /// What [`PowerSource::power`] answers from now on. The OS posts nothing: a watcher
    /// sees it at its next look (as a battery percent that drifts).
    pub fn set_power(&self, power: PowerSnapshot) {
        *lock(&self.power) = power;
    }

    /// The OS says the power changed (an unplug: kIOPSNotifyPowerSource, a power_supply
    /// uevent). Wakes the watcher's wait; one post is kept if it is not waiting yet.
    pub fn post_power_change(&self) {
        self.changes.notify_one();
    }

    /// What a watcher waits on for [`FakePower::post_power_change`].
    pub fn power_changes(&self) -> Arc<Notify> {
        self.changes.clone()
    }

    /// What [`PowerSource::lid_closed`] answers from now on.
    pub fn set_lid_closed(&self, lid_closed: Option<bool>) {
        *lock(&self.lid_closed) = lid_closed;
    }

    /// The machine was suspended for `slept` ([`SleepClock::asleep_total`] grows by it).
    pub fn sleep_for(&self, slept: Duration) {
        *lock(&self.asleep_total) += slept;
    }
}

impl SleepClock for FakePower {
    fn asleep_total(&self) -> Option<Duration> {
        Some(*lock(&self.asleep_total))
    }
}

impl PowerSource for FakePower {
    fn power(&self) -> PowerSnapshot {
        *lock(&self.power)
    }

    fn lid_closed(&self) -> Option<bool> {
        *lock(&self.lid_closed)
    }
}

/// A [`LoginItem`] that keeps its state in memory and behaves like the real ones: enabling
/// over the legacy agent needs `replace_legacy`, and disabling leaves what is not ours.
#[derive(Debug)]
pub struct FakeLoginItem {
    status: Mutex<LoginStatus>,
    program: String,
}

impl FakeLoginItem {
    /// Starts in `status`; enabling installs an entry for `program`.
    pub fn new(status: LoginStatus, program: &str) -> Self {
        FakeLoginItem {
            status: Mutex::new(status),
            program: program.to_string(),
        }
    }

    /// Changes the state as if something outside the app had changed the file.
    pub fn set_status(&self, status: LoginStatus) {
        *lock(&self.status) = status;
    }
}

impl LoginItem for FakeLoginItem {
    fn status(&self) -> LoginStatus {
        lock(&self.status).clone()
    }

    fn enable(&self, replace_legacy: bool) -> Result<(), LoginItemError> {
        let mut status = lock(&self.status);
        if let LoginStatus::Legacy { program } = &*status {
            if !replace_legacy {
                return Err(LoginItemError::LegacyPresent {
                    path: "com.bittrader.worker.plist".into(),
                    program: program.clone(),
                    backup: "com.bittrader.worker.plist.legacy-backup".into(),
                });
            }
        }
        *status = LoginStatus::Enabled {
            program: self.program.clone(),
            is_this_program: true,
        };
        Ok(())
    }

    fn disable(&self) -> Result<(), LoginItemError> {
        let mut status = lock(&self.status);
        match &*status {
            LoginStatus::Disabled | LoginStatus::Enabled { .. } => {
                *status = LoginStatus::Disabled;
                Ok(())
            }
            LoginStatus::Legacy { program } => Err(LoginItemError::NotOurs {
                path: "com.bittrader.worker.plist".into(),
                detail: format!("the old install's agent, running {program}"),
            }),
            LoginStatus::Unrecognized { detail } => Err(LoginItemError::NotOurs {
                path: "com.bittrader.worker.plist".into(),
                detail: detail.clone(),
            }),
        }
    }

    /// An entry of ours for another program (the app was moved) is pointed at this one.
    fn repoint_to_this_program(&self) -> Result<bool, LoginItemError> {
        let mut status = lock(&self.status);
        let LoginStatus::Enabled {
            is_this_program: false,
            ..
        } = &*status
        else {
            return Ok(false);
        };
        *status = LoginStatus::Enabled {
            program: self.program.clone(),
            is_this_program: true,
        };
        Ok(true)
    }
}

/// One process of a [`FakeProcesses`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeProcess {
    /// Its id.
    pub pid: u32,
    /// Its parent's id.
    pub parent: Option<u32>,
    /// Its process group.
    pub group: u32,
    /// Its raw start ticks.
    pub ticks: u64,
    /// Its wall-clock start (what sysinfo derives, and a clock step moves).
    pub start_time: u64,
    /// Its environment, as `NAME=value` entries.
    pub env: Vec<String>,
    /// SIGTERM leaves it running (only SIGKILL ends it).
    pub ignores_term: bool,
}

impl FakeProcess {
    /// Process `pid`, child of `parent`, in group `group`, started at `ticks`; no environment.
    pub fn new(pid: u32, parent: u32, group: u32, ticks: u64) -> Self {
        FakeProcess {
            pid,
            parent: Some(parent),
            group,
            ticks,
            start_time: 1_700_000_000 + ticks / 100,
            env: Vec::new(),
            ignores_term: false,
        }
    }

    /// The same, with `NAME=value` in its environment.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env.push(format!("{name}={value}"));
        self
    }
}

/// A signal a [`FakeProcesses`] was asked to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeSignal {
    /// To one process.
    Process(u32, Signal),
    /// To a process group.
    Group(u32, Signal),
}

/// A [`ProcessTable`] over processes the test lists, on a boot the test names. Signals are
/// recorded, and act on the fake processes only: SIGKILL ends one, SIGTERM too unless it
/// ignores it.
#[derive(Debug)]
pub struct FakeProcesses {
    boot_id: Mutex<Option<String>>,
    processes: Mutex<Vec<FakeProcess>>,
    signals: Mutex<Vec<FakeSignal>>,
}

impl FakeProcesses {
    /// `processes` running on boot `boot_id`.
    pub fn new(boot_id: &str, processes: Vec<FakeProcess>) -> Self {
        FakeProcesses {
            boot_id: Mutex::new(Some(boot_id.to_string())),
            processes: Mutex::new(processes),
            signals: Mutex::new(Vec::new()),
        }
    }

    /// Every signal sent so far.
    pub fn signals(&self) -> Vec<FakeSignal> {
        lock(&self.signals).clone()
    }

    /// The pids still running.
    pub fn running(&self) -> Vec<u32> {
        lock(&self.processes).iter().map(|p| p.pid).collect()
    }

    /// Starts `process`.
    pub fn add(&self, process: FakeProcess) {
        lock(&self.processes).push(process);
    }

    fn deliver(&self, matches: impl Fn(&FakeProcess) -> bool, signal: Signal) -> bool {
        let mut processes = lock(&self.processes);
        let hit = processes.iter().any(&matches);
        processes.retain(|p| {
            !(matches(p)
                && (signal == Signal::SIGKILL || (signal == Signal::SIGTERM && !p.ignores_term)))
        });
        hit
    }
}

impl ProcessTable for FakeProcesses {
    fn start_ticks(&self, pid: u32) -> Option<u64> {
        lock(&self.processes)
            .iter()
            .find(|p| p.pid == pid)
            .map(|p| p.ticks)
    }

    fn group_of(&self, pid: u32) -> Option<u32> {
        lock(&self.processes)
            .iter()
            .find(|p| p.pid == pid)
            .map(|p| p.group)
    }

    fn boot_id(&self) -> Option<String> {
        lock(&self.boot_id).clone()
    }

    fn list(&self) -> Vec<ProcessInfo> {
        lock(&self.processes)
            .iter()
            .map(|p| ProcessInfo {
                pid: p.pid,
                parent: p.parent,
                cmd: Vec::new(),
            })
            .collect()
    }

    fn carrying(&self, name: &str, value: &str) -> Vec<u32> {
        let wanted = format!("{name}={value}");
        lock(&self.processes)
            .iter()
            .filter(|p| p.env.contains(&wanted))
            .map(|p| p.pid)
            .collect()
    }

    fn signal(&self, pid: u32, signal: Signal) -> bool {
        lock(&self.signals).push(FakeSignal::Process(pid, signal));
        self.deliver(|p| p.pid == pid, signal)
    }

    fn signal_group(&self, pgid: u32, signal: Signal) -> bool {
        lock(&self.signals).push(FakeSignal::Group(pgid, signal));
        self.deliver(|p| p.group == pgid, signal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Battery, ChargeState};
    use std::sync::Arc;

    #[test]
    fn fake_power_is_shared_through_an_arc() {
        let fake = Arc::new(FakePower::desktop());
        let seen_by_code: Box<dyn PowerSource> = Box::new(Arc::clone(&fake));
        assert!(seen_by_code.power().on_ac);
        assert_eq!(seen_by_code.lid_closed(), None);

        let on_battery = PowerSnapshot {
            on_ac: false,
            battery: Some(Battery {
                percent: 42,
                state: ChargeState::Discharging,
            }),
        };
        fake.set_power(on_battery);
        fake.set_lid_closed(Some(true));
        assert_eq!(seen_by_code.power(), on_battery);
        assert_eq!(seen_by_code.lid_closed(), Some(true));
    }

    #[test]
    fn fake_login_item_follows_the_real_rules() {
        let item = FakeLoginItem::new(
            LoginStatus::Legacy {
                program: "/Users/me/.bittrader_worker/worker_daemon.sh".into(),
            },
            "/Applications/BitTrader Worker.app/Contents/MacOS/bittrader-worker",
        );
        assert!(matches!(
            item.enable(false),
            Err(LoginItemError::LegacyPresent { .. })
        ));
        assert!(matches!(
            item.disable(),
            Err(LoginItemError::NotOurs { .. })
        ));
        item.enable(true).expect("replace");
        assert!(matches!(item.status(), LoginStatus::Enabled { .. }));
        assert!(!item.repoint_to_this_program().expect("nothing to do"));
        item.set_status(LoginStatus::Enabled {
            program: "/Users/me/Downloads/BitTrader Worker.app/Contents/MacOS/bittrader-worker"
                .into(),
            is_this_program: false,
        });
        assert!(item.repoint_to_this_program().expect("moved"));
        assert!(matches!(
            item.status(),
            LoginStatus::Enabled {
                is_this_program: true,
                ..
            }
        ));
        item.disable().expect("disable");
        assert_eq!(item.status(), LoginStatus::Disabled);
    }
}
