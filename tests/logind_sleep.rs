//! Linux sleep through systemd-logind (`src/platform/logind.rs`), against the real
//! `bittrader-worker daemon`, the fake `ray` (`tests/fake_ray/ray`), a "head" that is a TCP
//! listener, and a fake logind: a private `dbus-daemon` (from Debian's `dbus-daemon` package)
//! on which this test process owns `org.freedesktop.login1`, answers `Manager.Inhibit` with the
//! write end of a pipe (the read end sees EOF once the daemon lets go of the inhibitor) and
//! emits `Manager.PrepareForSleep` when told. The daemon finds the bus through
//! `BITTRADER_LOGIND_BUS`.
//!
//! The daemon is stopped when its guard drops (`quit`, then SIGKILL), the bus when its guard
//! drops, and every process group the fake `ray` recorded is killed, so a failing test leaves
//! no processes behind (see `tests/support/src/daemon.rs`).
#![cfg(target_os = "linux")]

use std::fs;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bittrader_test_support::bus::Bus;
use bittrader_test_support::daemon::{phase_of, worker_pid, Daemon, Home, Options};
use bittrader_test_support::process::group_members;
use bittrader_test_support::secs;
use futures::StreamExt;
use nix::fcntl::OFlag;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// A home for these tests: one CPU, the fake `ray` in `mode`.
fn home(mode: &'static str) -> Home {
    Home::new(
        BIN,
        Options {
            prefix: "bw-logind-",
            mode,
            cpus: 1,
            ..Options::default()
        },
    )
}

/// The daemon, looking for logind at `bus` (a D-Bus address, through `BITTRADER_LOGIND_BUS`).
fn daemon(home: &Home, bus: &str) -> Daemon {
    let mut daemon = home.command(&["daemon"]);
    daemon.env("BITTRADER_LOGIND_BUS", bus);
    home.spawn("the daemon", daemon, "daemon.out")
}

/// One `Manager.Inhibit` call the fake answered.
struct Inhibit {
    /// `what`, `who`, `why`, `mode`.
    args: (String, String, String, String),
    /// The read end of the pipe whose write end was the answer (non-blocking).
    read_end: fs::File,
}

impl Inhibit {
    /// Whether the caller has closed the descriptor (the read end sees EOF).
    fn released(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.read_end.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
            Err(e) => panic!("reading the inhibitor pipe: {e}"),
        }
    }
}

/// `org.freedesktop.login1` on the private bus, served from this test process.
struct FakeLogind {
    rt: tokio::runtime::Runtime,
    conn: zbus::Connection,
    inhibits: Arc<Mutex<Vec<Inhibit>>>,
    /// The user's graphical session's `IdleHint` and `IdleSinceHintMonotonic` (µs).
    idle: Arc<Mutex<(bool, u64)>>,
    /// The session's `Type` ("wayland" unless a test changes it).
    session_type: Arc<Mutex<String>>,
    /// While set, every `GetUser` and `Get` is answered with a D-Bus error (a glitch).
    failing: Arc<AtomicBool>,
    /// How many `GetUser` calls were answered (the session is looked up once, not per read).
    get_user_calls: Arc<AtomicUsize>,
    /// While set, `Inhibit("idle", …)` is refused (as a polkit policy may).
    refuse_idle: Arc<AtomicBool>,
}

/// The fake user's object and its graphical session's.
const USER_PATH: &str = "/org/freedesktop/login1/user/_0";
const SESSION_PATH: &str = "/org/freedesktop/login1/session/c1";

impl FakeLogind {
    fn start(bus: &Bus) -> FakeLogind {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let inhibits = Arc::new(Mutex::new(Vec::new()));
        // Not idle, and never reported idle: a session whose desktop does not report idleness.
        let idle = Arc::new(Mutex::new((false, 0)));
        let session_type = Arc::new(Mutex::new("wayland".to_string()));
        let failing = Arc::new(AtomicBool::new(false));
        let get_user_calls = Arc::new(AtomicUsize::new(0));
        let refuse_idle = Arc::new(AtomicBool::new(false));
        let conn = rt.block_on(async {
            let conn = zbus::connection::Builder::address(bus.address.as_str())
                .build()
                .await
                .expect("connect the fake logind");
            let mut calls = zbus::MessageStream::from(&conn);
            conn.request_name("org.freedesktop.login1")
                .await
                .expect("own org.freedesktop.login1");
            let served = conn.clone();
            let record = inhibits.clone();
            let session_idle = idle.clone();
            let kind = session_type.clone();
            let fail = failing.clone();
            let user_calls = get_user_calls.clone();
            let refuse = refuse_idle.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = calls.next().await {
                    let header = message.header();
                    if header.message_type() != zbus::message::Type::MethodCall {
                        continue;
                    }
                    let member = header.member().map(|m| m.as_str().to_string());
                    if matches!(member.as_deref(), Some("GetUser" | "Get"))
                        && fail.load(Ordering::SeqCst)
                    {
                        served
                            .reply_error(&header, "org.freedesktop.DBus.Error.Failed", &"a glitch")
                            .await
                            .expect("answer with an error");
                        continue;
                    }
                    match member.as_deref() {
                        Some("GetUser") => {
                            user_calls.fetch_add(1, Ordering::SeqCst);
                            let user = zbus::ObjectPath::try_from(USER_PATH).expect("path");
                            served.reply(&header, &user).await.expect("answer GetUser");
                            continue;
                        }
                        Some("Get") => {
                            let (interface, name): (String, String) =
                                message.body().deserialize().expect("Get(ss)");
                            let (hint, since) = *session_idle.lock().unwrap();
                            let value = match (interface.as_str(), name.as_str()) {
                                ("org.freedesktop.login1.User", "Display") => {
                                    zbus::Variant::from((
                                        "c1".to_string(),
                                        zbus::ObjectPath::try_from(SESSION_PATH).expect("path"),
                                    ))
                                }
                                (_, "Type") => zbus::Variant::from(kind.lock().unwrap().clone()),
                                (_, "IdleHint") => zbus::Variant::from(hint),
                                (_, "IdleSinceHintMonotonic") => zbus::Variant::from(since),
                                other => panic!("unexpected property {other:?}"),
                            };
                            served.reply(&header, &value).await.expect("answer Get");
                            continue;
                        }
                        Some("Inhibit") => {}
                        _ => continue,
                    }
                    let args: (String, String, String, String) =
                        message.body().deserialize().expect("Inhibit(ssss)");
                    if args.0 == "idle" && refuse.load(Ordering::SeqCst) {
                        served
                            .reply_error(
                                &header,
                                "org.freedesktop.DBus.Error.AccessDenied",
                                &"Permission denied",
                            )
                            .await
                            .expect("refuse Inhibit");
                        continue;
                    }
                    let (read_end, write_end) =
                        nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).expect("pipe");
                    served
                        .reply(&header, &zbus::OwnedFd::from(write_end))
                        .await
                        .expect("answer Inhibit");
                    // The only write end left is the caller's.
                    record.lock().unwrap().push(Inhibit {
                        args,
                        read_end: fs::File::from(read_end),
                    });
                }
            });
            conn
        });
        FakeLogind {
            rt,
            conn,
            inhibits,
            idle,
            session_type,
            failing,
            get_user_calls,
            refuse_idle,
        }
    }

    /// The session is idle since `since` before now (`Some`), or in use since `since` ago.
    fn set_idle(&self, idle: bool, since: Duration) {
        let since_us = monotonic_now().saturating_sub(since).as_micros() as u64;
        *self.idle.lock().unwrap() = (idle, since_us);
    }

    fn prepare_for_sleep(&self, start: bool) {
        self.rt
            .block_on(self.conn.emit_signal(
                None::<&str>,
                "/org/freedesktop/login1",
                "org.freedesktop.login1.Manager",
                "PrepareForSleep",
                &start,
            ))
            .expect("emit PrepareForSleep");
    }

    /// The `Inhibit` calls for `what` ("sleep", "idle"), in order.
    fn with_what<T>(&self, what: &str, look: impl FnOnce(&mut Vec<&mut Inhibit>) -> T) -> T {
        let mut all = self.inhibits.lock().unwrap();
        let mut of_what: Vec<&mut Inhibit> = all.iter_mut().filter(|i| i.args.0 == what).collect();
        look(&mut of_what)
    }

    fn inhibit_count(&self, what: &str) -> usize {
        self.with_what(what, |inhibits| inhibits.len())
    }

    fn released(&self, what: &str, index: usize) -> bool {
        self.with_what(what, |inhibits| inhibits[index].released())
    }

    fn args(&self, what: &str, index: usize) -> (String, String, String, String) {
        self.with_what(what, |inhibits| inhibits[index].args.clone())
    }

    /// Whether an inhibitor for `what` is held now: the latest was not released.
    fn held(&self, what: &str) -> bool {
        self.with_what(what, |inhibits| {
            inhibits.last_mut().is_some_and(|last| !last.released())
        })
    }
}

#[test]
#[ignore = "slow tier: dbus-daemon (a private D-Bus bus)"]
fn prepare_for_sleep_stops_the_worker_before_the_inhibitor_is_released() {
    let bus = Bus::start();
    let logind = FakeLogind::start(&bus);
    // A worker that ignores SIGTERM takes the whole stop grace (1 s) to go: an inhibitor
    // released without waiting for it would be seen while its group still runs.
    let home = home("ignore_term");
    let _daemon = daemon(&home, &bus.address);

    let connected = home.wait_status("phase `connected`", secs(15), |s| {
        phase_of(s) == "connected" && worker_pid(s).is_some()
    });
    let first = home.starts()[0].clone();
    assert_eq!(worker_pid(&connected), Some(first.pid));
    home.wait_until("a delay inhibitor", secs(5), || {
        logind.inhibit_count("sleep") == 1
    });
    assert_eq!(
        logind.args("sleep", 0),
        (
            "sleep".to_string(),
            "BitTrader Worker".to_string(),
            "Stopping the Ray worker cleanly".to_string(),
            "delay".to_string()
        )
    );
    assert!(
        !logind.released("sleep", 0),
        "the inhibitor is held while awake"
    );
    let config = home.read("config.toml");

    // logind announces the sleep; it would wait for the inhibitor (at most InhibitDelayMaxSec).
    logind.prepare_for_sleep(true);
    home.wait_until("the inhibitor to be released", secs(12), || {
        logind.released("sleep", 0)
    });
    assert!(
        group_members(first.pgid).is_empty(),
        "released only once the worker's process group is gone\n{}",
        home.diagnostics()
    );
    let asleep = home.wait_status("phase `paused`, no worker", secs(5), |s| {
        phase_of(s) == "paused" && worker_pid(s).is_none()
    });
    assert_eq!(asleep["status"]["auto_pause"]["kind"], "asleep", "{asleep}");
    assert_eq!(asleep["status"]["paused"], false, "not the user's pause");
    assert_eq!(
        logind.inhibit_count("sleep"),
        1,
        "no new inhibitor while asleep"
    );
    // Nothing starts while asleep, though the head answers every probe.
    thread::sleep(secs(2));
    assert_eq!(home.starts().len(), 1, "{}", home.diagnostics());

    // The wake: a new worker at once, and a new inhibitor for the next sleep.
    let woke_at = Instant::now();
    logind.prepare_for_sleep(false);
    let rejoined = home.wait_status("connected with a new worker", secs(5), |s| {
        phase_of(s) == "connected" && worker_pid(s).is_some_and(|p| p != first.pid)
    });
    assert!(woke_at.elapsed() < secs(5));
    assert_eq!(rejoined["status"]["auto_pause"], Value::Null, "{rejoined}");
    home.wait_until("a new inhibitor", secs(5), || {
        logind.inhibit_count("sleep") == 2
    });
    assert!(!logind.released("sleep", 1), "the new inhibitor is held");
    assert_eq!(home.starts().len(), 2, "{}", home.diagnostics());

    assert_eq!(home.read("config.toml"), config, "sleep is never saved");
    let log = home.read("worker.log");
    assert!(log.contains("going to sleep"), "{log}");
    assert!(log.contains("woke after"), "{log}");
}

#[test]
#[ignore = "slow tier: dbus-daemon (a private D-Bus bus)"]
fn without_logind_the_daemon_runs_as_before_and_says_nothing() {
    // A bus nobody owns org.freedesktop.login1 on, and no bus at all.
    let bus = Bus::start();
    for address in [
        bus.address.clone(),
        "unix:path=/nonexistent/bus".to_string(),
    ] {
        let home = home("join");
        let daemon = daemon(&home, &address);
        home.wait_status("phase `connected`", secs(15), |s| {
            phase_of(s) == "connected" && worker_pid(s).is_some()
        });
        drop(daemon);
        let said = format!("{}{}", home.read("worker.log"), home.read("daemon.out"));
        assert!(
            !said.to_lowercase().contains("logind") && !said.contains("D-Bus"),
            "{said}"
        );
        // Nothing to hold idle sleep with is not a refusal either.
        assert!(!said.contains("refused to hold idle sleep"), "{said}");
    }
}

/// A `/sys/class/power_supply` of the test's own (the daemon reads it through
/// `BITTRADER_POWER_SUPPLY_DIR`): a mains adapter and a battery at 80 %.
struct PowerSupply {
    dir: tempfile::TempDir,
}

impl PowerSupply {
    fn on_mains() -> PowerSupply {
        let dir = tempfile::Builder::new()
            .prefix("bw-power-")
            .tempdir()
            .expect("tempdir");
        for (supply, kind) in [("AC", "Mains"), ("BAT0", "Battery")] {
            fs::create_dir(dir.path().join(supply)).expect("supply folder");
            fs::write(dir.path().join(supply).join("type"), format!("{kind}\n")).expect("type");
        }
        let power = PowerSupply { dir };
        power.plug(true);
        power
    }

    /// Plugs the adapter in or out (each file replaced whole, as sysfs shows it).
    fn plug(&self, on_mains: bool) {
        let write = |path: &str, text: String| {
            let target = self.dir.path().join(path);
            let temporary = target.with_extension("new");
            fs::write(&temporary, text).expect("write a power file");
            fs::rename(&temporary, &target).expect("replace a power file");
        };
        write("AC/online", format!("{}\n", u8::from(on_mains)));
        let state = if on_mains { "Charging" } else { "Discharging" };
        write(
            "BAT0/uevent",
            format!(
                "POWER_SUPPLY_NAME=BAT0\nPOWER_SUPPLY_STATUS={state}\nPOWER_SUPPLY_PRESENT=1\n\
                 POWER_SUPPLY_CAPACITY=80\n"
            ),
        );
    }
}

/// Waits (at most `within`) for the idle inhibitor to be let go; how long that took.
fn released_within(logind: &FakeLogind, within: Duration) -> Duration {
    let since = Instant::now();
    while logind.held("idle") {
        assert!(
            since.elapsed() < within,
            "the idle inhibitor is still held after {within:?}"
        );
        // Often enough to time a release well under the second it is given, not so often
        // that the test takes the CPU from the daemon it times.
        thread::sleep(Duration::from_millis(5));
    }
    since.elapsed()
}

/// `keep_awake` through logind: the verdict becomes an idle inhibitor with our names, and its
/// end the inhibitor's release.
#[test]
#[ignore = "slow tier: dbus-daemon (a private D-Bus bus)"]
fn keep_awake_takes_an_idle_inhibitor_and_lets_it_go() {
    let bus = Bus::start();
    let logind = FakeLogind::start(&bus);
    let power = PowerSupply::on_mains();
    let home = home("join");
    let mut command = home.command(&["daemon"]);
    command
        .env("BITTRADER_LOGIND_BUS", &bus.address)
        .env("BITTRADER_POWER_SUPPLY_DIR", power.dir.path());
    let _daemon = home.spawn("the daemon", command, "daemon.out");
    let connected = |s: &Value| phase_of(s) == "connected" && worker_pid(s).is_some();

    // Connected on mains (keep_awake = "on_power" by default): held, and the menu says so.
    let status = home.wait_status("phase `connected`", secs(15), connected);
    home.wait_until("an idle inhibitor", secs(2), || logind.held("idle"));
    assert_eq!(
        logind.args("idle", 0),
        (
            "idle".to_string(),
            "BitTrader Worker".to_string(),
            "Contributing CPUs to the Ray cluster".to_string(),
            "block".to_string()
        )
    );
    assert_eq!(status["status"]["courtesy"]["keep_awake"], "on_power");
    let status = home.wait_status("keeping awake", secs(2), |s| {
        s["status"]["courtesy"]["keeping_awake"] == true
    });
    assert!(
        status["summary"]
            .as_str()
            .is_some_and(|s| s.contains("keeping this computer awake")),
        "{status}"
    );

    // The wiring of both ways: a pause releases within a second, a resume holds again (when
    // to hold is the simulator's: supervisor_courtesy).
    assert!(home.cli(&["pause"]).status.success());
    released_within(&logind, secs(1));
    thread::sleep(Duration::from_millis(500));
    assert_eq!(logind.inhibit_count("idle"), 1, "nothing held while paused");
    assert!(home.cli(&["resume"]).status.success());
    home.wait_status("connected again", secs(15), connected);
    home.wait_until("a new idle inhibitor", secs(2), || logind.held("idle"));
    assert_eq!(logind.inhibit_count("idle"), 2);
}

#[test]
#[ignore = "slow tier: dbus-daemon (a private D-Bus bus)"]
fn a_refused_idle_inhibitor_is_not_claimed_and_is_logged_once() {
    let bus = Bus::start();
    let logind = FakeLogind::start(&bus);
    logind.refuse_idle.store(true, Ordering::SeqCst);
    let power = PowerSupply::on_mains();
    let home = home("join");
    let mut command = home.command(&["daemon"]);
    command
        .env("BITTRADER_LOGIND_BUS", &bus.address)
        .env("BITTRADER_POWER_SUPPLY_DIR", power.dir.path());
    let _daemon = home.spawn("the daemon", command, "daemon.out");
    let connected = |s: &Value| phase_of(s) == "connected" && worker_pid(s).is_some();

    // Wanted (connected on mains) but refused: the status does not claim it.
    home.wait_status("wanted", secs(15), |s| {
        connected(s) && s["status"]["courtesy"]["hold_awake"] == true
    });
    thread::sleep(secs(1));
    let status = home.status().expect("status");
    assert_eq!(
        status["status"]["courtesy"]["keeping_awake"], false,
        "{status}"
    );
    assert!(
        status["summary"]
            .as_str()
            .is_some_and(|s| !s.contains("awake")),
        "{status}"
    );
    assert_eq!(logind.inhibit_count("idle"), 0);

    // Asked again at the next connect: still refused, still one line in the log.
    assert!(home.cli(&["pause"]).status.success());
    assert!(home.cli(&["resume"]).status.success());
    home.wait_status("connected again", secs(15), connected);
    thread::sleep(secs(1));
    let log = home.read("worker.log");
    assert_eq!(
        log.matches("refused to hold idle sleep off").count(),
        1,
        "{log}"
    );
    assert!(log.contains("Permission denied"), "{log}");
}

/// CLOCK_MONOTONIC now, the clock logind stamps its idle hints on.
fn monotonic_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) },
        0
    );
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
#[ignore = "slow tier: dbus-daemon (a private D-Bus bus)"]
fn only_when_idle_follows_the_sessions_idle_hint_and_starts_no_process_to_read_it() {
    let bus = Bus::start();
    let logind = FakeLogind::start(&bus);
    let home = home("join");
    // A top-level key goes before the tables.
    let config = home.read("config.toml");
    fs::write(
        home.file("config.toml"),
        format!("only_when_idle_minutes = 1\n{config}"),
    )
    .expect("write config.toml");
    logind.set_idle(false, secs(10));
    let _daemon = daemon(&home, &bus.address);
    let user_present =
        |s: &Value| phase_of(s) == "paused" && s["status"]["auto_pause"]["kind"] == "user_present";

    // In use: held back, and reading the idle time every 5 s starts no process.
    let held = home.wait_status("held back for the user", secs(15), user_present);
    assert_eq!(held["status"]["auto_pause"]["away_minutes"], 1, "{held}");
    thread::sleep(secs(2));
    let before = home.status().expect("status")["processes_spawned"].clone();
    thread::sleep(secs(11));
    let after = home.status().expect("status");
    assert!(user_present(&after), "{after}");
    assert_eq!(after["processes_spawned"], before, "{}", home.diagnostics());
    assert!(home.starts().is_empty());

    // Away for two minutes already: it joins at the next reading.
    logind.set_idle(true, secs(120));
    home.wait_status("connected once away", secs(10), |s| {
        phase_of(s) == "connected" && worker_pid(s).is_some()
    });

    // Back at the keyboard: it leaves (after its tasks) and waits again.
    logind.set_idle(false, Duration::ZERO);
    home.wait_status("held back again", secs(75), |s| {
        user_present(s) && worker_pid(s).is_none()
    });
    assert_eq!(home.starts().len(), 1);

    // The session was looked up once, not at every reading (more than 20 by now).
    assert_eq!(logind.get_user_calls.load(Ordering::SeqCst), 1);

    // A session whose hint has never been set (a fresh GNOME session before its first idle
    // period): the user counts as at the machine, and `status` says why.
    *logind.idle.lock().unwrap() = (false, 0);
    let never_set = home.wait_status("the hint never set", secs(10), |s| {
        s["status"]["courtesy"]["idle_hint_never_set"] == true
    });
    assert!(user_present(&never_set), "{never_set}");
    assert_eq!(never_set["status"]["courtesy"]["idle_unsupported"], false);
    let said = String::from_utf8_lossy(&home.cli(&["status"]).stdout).to_string();
    assert!(said.contains("has not reported idleness yet"), "{said}");

    // Away; then logind fails every read for a while: the worker neither leaves nor restarts.
    logind.set_idle(true, secs(120));
    home.wait_status("connected once away", secs(10), |s| {
        phase_of(s) == "connected" && worker_pid(s).is_some()
    });
    logind.failing.store(true, Ordering::SeqCst);
    // A tty session found when the session is looked up again after the errors.
    *logind.session_type.lock().unwrap() = "tty".to_string();
    for _ in 0..12 {
        thread::sleep(secs(1));
        let status = home.status().expect("status");
        assert_eq!(phase_of(&status), "connected", "{status}");
        assert_eq!(status["status"]["courtesy"]["idle_unsupported"], false);
    }
    assert_eq!(home.starts().len(), 2);
    logind.failing.store(false, Ordering::SeqCst);

    // A tty or ssh session has no keyboard idleness to report: unsupported, and not blocking.
    let unsupported = home.wait_status("unsupported", secs(10), |s| {
        s["status"]["courtesy"]["idle_unsupported"] == true
    });
    assert_eq!(phase_of(&unsupported), "connected", "{unsupported}");
    assert_eq!(home.starts().len(), 2);
    let said = String::from_utf8_lossy(&home.cli(&["status"]).stdout).to_string();
    assert!(
        said.contains("only when idle after 1 min: not supported here"),
        "{said}"
    );
}
