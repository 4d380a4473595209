//! `doctor`: every path the app takes into the OS, Ray and the network, taken once for real and
//! reported one line each (passed, failed with what to do, or not applicable here), so that the
//! first run on a new machine tells what works there and what does not.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::{Config, Paths};
use crate::dashboard;
use crate::model::doctor::{Check, Finding, Report, Seen};
use crate::model::{AwakeHold, HeadAddress, IdleReading};
use crate::platform::clock::{SleepClock as _, SystemSleepClock};
use crate::platform::command::output_within;
use crate::platform::power::PowerSource;
use crate::platform::{self, PowerChanges, ProcessTable, SystemPower, SystemProcesses};
use crate::runtime::{control, platform::locate_ray, probe, worker};
use crate::setup::python;
use crate::tailscale::cli::TailscaleCli;
use crate::text::{self, doctor as words, Lang};

/// How long any one check may wait for the OS or the network.
const WAIT: Duration = Duration::from_secs(3);

/// Below this, the log and history may soon fail to be written.
const DISK_LOW_BYTES: u64 = 100 * 1024 * 1024;

use Seen::{Failed, NotApplicable, Passed};

/// Takes every path once, in [`Check`]'s order; the checks that only macOS has are "not
/// applicable" elsewhere.
pub async fn run(paths: &Paths, config: &Config, lang: Lang) -> Report {
    use Check::*;
    let exe = std::env::current_exe().unwrap_or_default();
    let tailscale = TailscaleCli::discover();
    let (ours, theirs) = ray(lang, paths, config).await;
    let (port, tailnet) = network(lang, config.head.as_ref(), &tailscale).await;
    let power = words::power(lang, &SystemPower.power(), SystemPower.lid_closed());
    let seen = [
        (App, app(&exe).await),
        (Signature, signature(&exe).await),
        (System, system().await),
        (Ray, ours),
        (HeadRay, theirs),
        (Tailscale, tailnet),
        (HeadPort, port),
        (Power, Passed(power)),
        (PowerChanges, power_changes().into()),
        (NotifyRoundTrip, notify_round_trip()),
        (Thermal, thermal(lang).await),
        (UserIdle, user_idle(lang).await),
        (KeepAwake, keep_awake(lang).await),
        (AppNap, app_nap()),
        (SleepNotices, sleep_notices().await),
        (SleepClock, sleep_clock().into()),
        (LoginItem, login_item(lang, paths, exe).into()),
        (Dialog, dialog(lang).await),
        (DataFolder, data_folder(lang, paths)),
        (ControlSocket, running_app(paths)),
        (Disk, disk(paths).into()),
        (Processes, processes().into()),
        (Priority, priority().await),
        (HeldConnection, held_connection().await),
    ];
    let findings = seen.into_iter().map(|(check, seen)| Finding {
        check,
        what_to_do: matches!(seen, Failed(_)).then(|| words::what_to_do(lang, check).into()),
        seen,
    });
    Report {
        findings: findings.collect(),
    }
}

/// `program args…` within [`WAIT`]: its exit status and what it printed on both streams.
async fn command_output(program: &str, args: &[&str]) -> Option<(bool, String)> {
    let mut command = tokio::process::Command::new(program);
    let output = output_within(command.args(args), WAIT).await.ok()?;
    let mut said = String::from_utf8_lossy(&output.stdout).into_owned();
    said.push_str(&String::from_utf8_lossy(&output.stderr));
    Some((output.status.success(), said.trim().to_string()))
}

fn bundle_of(exe: &Path) -> Option<&Path> {
    let app = exe.ancestors().nth(3)?;
    platform::login_item::is_inside_app_bundle(exe).then_some(app)
}

async fn app(exe: &Path) -> Seen {
    let shown = exe.display().to_string();
    // Gatekeeper runs a quarantined app from a random read-only copy: its login item and
    // settings then point at a path that is gone at the next start.
    if shown.contains("/AppTranslocation/") {
        return Failed(shown);
    }
    let Some(bundle) = bundle_of(exe).map(Path::to_string_lossy) else {
        return Passed(shown);
    };
    match command_output("xattr", &["-p", "com.apple.quarantine", &bundle]).await {
        Some((true, _)) => Passed(format!("{bundle} · com.apple.quarantine")),
        _ => Passed(bundle.into_owned()),
    }
}

/// `codesign -dv`'s identifier, and who signed (its first `Authority`, or ad hoc).
pub fn parse_codesign(said: &str) -> Option<String> {
    let field = |name: &str| {
        let prefix = format!("{name}=");
        said.lines().find_map(|line| line.strip_prefix(&prefix))
    };
    let signer = match (field("Authority"), field("Signature")) {
        (Some(authority), _) => authority,
        (None, Some("adhoc")) => "ad hoc",
        _ => return None,
    };
    let identifier = field("Identifier").unwrap_or("?");
    let team = field("TeamIdentifier").unwrap_or("not set");
    Some(format!("{identifier} · {signer} · TeamIdentifier={team}"))
}

async fn signature(exe: &Path) -> Seen {
    if !cfg!(target_os = "macos") {
        return NotApplicable("macOS".into());
    }
    let signed = bundle_of(exe).unwrap_or(exe).to_string_lossy().into_owned();
    match command_output("/usr/bin/codesign", &["-dv", "--verbose=2", &signed]).await {
        Some((true, said)) => parse_codesign(&said).ok_or(said).into(),
        Some((false, said)) => Failed(said),
        None => Failed("/usr/bin/codesign".into()),
    }
}

async fn system() -> Seen {
    let os = sysinfo::System::long_os_version().unwrap_or_default();
    let model = platform::machine_model().map_or(String::new(), |model| format!("{model} · "));
    let form = platform::detect_form_factor();
    let fact = format!("{os} · {} · {model}{form:?}", std::env::consts::ARCH);
    // An Intel build on Apple silicon runs translated, slower, and finds no arm64 Ray.
    match command_output("/usr/sbin/sysctl", &["-n", "sysctl.proc_translated"]).await {
        Some((true, said)) if said == "1" => Failed(fact + " · Rosetta"),
        _ => Passed(fact),
    }
}

/// The Python a `ray` script runs on: its `#!` line.
fn python_of(ray: &Path) -> Option<PathBuf> {
    let mut first = [0u8; 512];
    let read = std::io::Read::read(&mut std::fs::File::open(ray).ok()?, &mut first).ok()?;
    let line = String::from_utf8_lossy(&first[..read]);
    let mut words = line.lines().next()?.strip_prefix("#!")?.split_whitespace();
    // `#!/usr/bin/env python3`: the program env runs.
    let interpreter = words
        .next()
        .filter(|w| !w.ends_with("/env"))
        .or_else(|| words.next())?;
    Some(PathBuf::from(interpreter))
}

/// Ours, then the head's: whether Ray will take this node (same Ray, same Python minor: the
/// worker accepts another patch release).
async fn ray(lang: Lang, paths: &Paths, config: &Config) -> (Seen, Seen) {
    // As the app looks for it: with the login shell's PATH when the usual places lack it.
    let ray = locate_ray(config.ray_path.clone(), paths.clone()).await;
    let version = match ray.is_absolute() {
        true => worker::local_ray_version(&ray).await,
        false => None,
    };
    let python = python_of(&ray).and_then(|python| python::probe(&python));
    let shown = ray.display();
    let ours = match (&version, python.as_ref().map(|p| p.version)) {
        _ if !ray.is_absolute() => Failed(words::no_ray(lang)),
        (Some(v), Some((a, b, c))) => Passed(format!("{shown} · Ray {v} · Python {a}.{b}.{c}")),
        (v, _) => Failed(format!(
            "{shown} · Ray {} · Python ?",
            v.as_deref().unwrap_or("?")
        )),
    };
    let Some(head) = config.head.clone() else {
        return (ours, NotApplicable(words::no_head(lang)));
    };
    let asked = tokio::task::spawn_blocking(move || {
        let version = dashboard::head_ray_version(&head.host, WAIT).map_err(|e| e.to_string());
        (version, dashboard::head_python_minor(&head.host, WAIT))
    });
    let (head_version, head_minor) = asked.await.unwrap_or_else(|e| (Err(e.to_string()), None));
    let theirs = match head_version {
        Err(why) => Failed(why),
        Ok(head_version) => {
            let our_minor = python.as_ref().map(|p| p.version.1);
            let ours = version.as_deref();
            let fact = words::versions(lang, &head_version, head_minor, ours, our_minor);
            let same_python = head_minor.is_none() || head_minor == our_minor;
            match ours == Some(head_version.as_str()) && same_python {
                true => Passed(fact),
                false => Failed(fact),
            }
        }
    };
    (ours, theirs)
}

/// The head's Ray port, and Tailscale's word on the head when it is reached through Tailscale.
async fn network(lang: Lang, head: Option<&HeadAddress>, tailscale: &TailscaleCli) -> (Seen, Seen) {
    let Some(head) = head else {
        let none = words::no_head(lang);
        return (NotApplicable(none.clone()), NotApplicable(none));
    };
    let (resolved, unreachable) = probe::probe_head(head, WAIT, tailscale).await;
    let address = resolved.map_or_else(|| head.host.clone(), |ip| ip.to_string());
    let port = match &unreachable {
        None => Passed(format!("{head} ({address})")),
        Some(why) => Failed(format!("{head}: {}", text::unreachable_words(lang, why))),
    };
    let tailnet = match (tailscale.installed(), head.through_tailscale(resolved)) {
        (false, false) => NotApplicable(words::outside_tailnet(lang)),
        (false, true) => Failed("tailscale".into()),
        (true, _) => match tailscale.status().await {
            None => Failed("tailscale status --json".into()),
            Some(status) => match status.diagnose(&address) {
                Some(problem) => Failed(text::tailscale_words(lang, &problem)),
                None => Passed(format!(
                    "{:?} · {:?}",
                    status.backend_state, status.self_ips
                )),
            },
        },
    };
    (port, tailnet)
}

/// The first of `values` within [`WAIT`].
async fn first<T>(values: &mut mpsc::UnboundedReceiver<T>) -> Option<T> {
    tokio::time::timeout(WAIT, values.recv())
        .await
        .ok()
        .flatten()
}

async fn thermal(lang: Lang) -> Seen {
    let (states, mut state) = mpsc::unbounded_channel();
    platform::thermal::watch(states);
    match (first(&mut state).await, cfg!(target_os = "macos")) {
        (Some(state), _) => Passed(text::thermal_words(lang, state).into()),
        (None, true) => Failed("NSProcessInfo.thermalState".into()),
        (None, false) => NotApplicable(words::not_reported(lang)),
    }
}

async fn user_idle(lang: Lang) -> Seen {
    let (readings, mut reading) = mpsc::unbounded_channel();
    platform::user_idle::watch(Duration::from_secs(60), readings);
    match first(&mut reading).await {
        Some(IdleReading::Idle(idle)) => Passed(format!("{} s", idle.as_secs())),
        Some(IdleReading::HintNeverSet) => Passed("IdleHint".into()),
        Some(IdleReading::NoSession) => NotApplicable(words::not_reported(lang)),
        Some(IdleReading::ReadFailed) | None => Failed("—".into()),
    }
}

fn app_nap() -> Seen {
    let nap = platform::app_nap::disable_app_nap();
    match cfg!(target_os = "macos") {
        true => Passed(format!("{nap:?}")),
        false => NotApplicable("macOS".into()),
    }
}

fn sleep_clock() -> Result<String, String> {
    let asleep = SystemSleepClock.asleep_total();
    asleep
        .map(|t| format!("{} s", t.as_secs()))
        .ok_or("—".into())
}

fn power_changes() -> Result<String, String> {
    let mut changes = PowerChanges::open().map_err(|e| e.to_string())?;
    changes.wait(Duration::ZERO).map_err(|e| e.to_string())?;
    Ok(changes.source())
}

/// notify(3): a private name posted, seen on its descriptor within a second (the power source's
/// changes arrive the same way).
#[cfg(target_os = "macos")]
fn notify_round_trip() -> Seen {
    use crate::platform::darwin_notify::{post, DarwinNotification};
    let name = c"com.bittrader.worker.doctor";
    let seen = DarwinNotification::register(name).and_then(|mut registered| {
        post(name)?;
        registered.wait(Duration::from_secs(1))
    });
    match seen {
        Ok(true) => Passed(name.to_string_lossy().into_owned()),
        Ok(false) => Failed("1 s".into()),
        Err(e) => Failed(e.to_string()),
    }
}

#[cfg(not(target_os = "macos"))]
fn notify_round_trip() -> Seen {
    NotApplicable("macOS".into())
}

/// The idle-sleep hold taken, then released.
async fn keep_awake(lang: Lang) -> Seen {
    let (hold, holds) = watch::channel(true);
    let (reports, mut report) = mpsc::unbounded_channel();
    platform::awake::follow(holds, reports);
    let taken = first(&mut report).await;
    hold.send_replace(false);
    match (taken, first(&mut report).await) {
        (Some(AwakeHold::Held), Some(AwakeHold::Released)) => Passed(platform::awake::WHY.into()),
        (Some(AwakeHold::Unavailable), _) => NotApplicable(words::not_reported(lang)),
        (Some(AwakeHold::Refused { why }), _) => Failed(why),
        (taken, released) => Failed(format!("{taken:?} · {released:?}")),
    }
}

/// macOS: the workspace's sleep and wake observers registered.
#[cfg(target_os = "macos")]
async fn sleep_notices() -> Seen {
    struct Ignored;
    impl platform::sleep::SleepHandler for Ignored {
        fn will_sleep(&self) {}
        fn woke(&self, _slept: Duration) {}
    }
    platform::sleep::observe_sleep(Box::new(Ignored)).stop();
    Passed("NSWorkspace".into())
}

/// Linux: logind on the system bus (without it, the clocks measure sleeps).
#[cfg(target_os = "linux")]
async fn sleep_notices() -> Seen {
    match platform::logind::connect().await {
        Ok(_) => Passed(platform::logind::LOGIND.into()),
        Err(e) if platform::logind::is_no_logind(&e) => NotApplicable(e.to_string()),
        Err(e) => Failed(e.to_string()),
    }
}

/// macOS: the head-address question built and laid out in this process, on the main thread
/// (where `doctor` runs its checks), not shown.
#[cfg(target_os = "macos")]
async fn dialog(_lang: Lang) -> Seen {
    // AppKit may hang or abort without a window server (over SSH, before login): asked first.
    match command_output("/bin/launchctl", &["managername"]).await {
        Some((true, session)) if session == "Aqua" => platform::alert::macos::check().into(),
        Some((_, session)) => NotApplicable(format!("launchctl managername: {session}")),
        None => NotApplicable("launchctl managername: —".into()),
    }
}

/// Linux: the first prompt program that answers `--version`.
#[cfg(not(target_os = "macos"))]
async fn dialog(lang: Lang) -> Seen {
    for program in ["zenity", "kdialog"] {
        if let Some((true, said)) = command_output(program, &["--version"]).await {
            let version = said.lines().next().unwrap_or_default();
            return Passed(format!("{program} {version}"));
        }
    }
    NotApplicable(words::no_prompt_program(lang))
}

fn login_item(lang: Lang, paths: &Paths, exe: PathBuf) -> Result<String, String> {
    let item = platform::system_login_item(exe, paths.home.clone()).map_err(|e| e.to_string())?;
    Ok(text::cli::login_item_status(lang, &item.status()))
}

fn running_app(paths: &Paths) -> Seen {
    match control::request(&paths.socket(), &control::Request::Status) {
        Ok(reply) => Passed(reply.report.map_or(String::new(), |r| r.summary)),
        Err(control::ClientError::NotRunning { path }) => NotApplicable(path),
        Err(e) => Failed(e.to_string()),
    }
}

/// Its owner and mode; before the first start there is none yet, which is no failure.
fn data_folder(lang: Lang, paths: &Paths) -> Seen {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let shown = paths.home.display();
    if let Err(e) = paths.check_home() {
        return Failed(e.to_string());
    }
    match std::fs::metadata(&paths.home) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o7777;
            Passed(format!("{shown} · uid {} · {mode:o}", meta.uid()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            NotApplicable(format!("{shown}: {}", words::not_made_yet(lang)))
        }
        Err(e) => Failed(format!("{shown}: {e}")),
    }
}

// `fsblkcnt_t` is 32 bits on macOS.
#[allow(clippy::useless_conversion)]
fn disk(paths: &Paths) -> Result<String, String> {
    // Before the first start, the folder it will be made in.
    let folder = paths.home.ancestors().find(|folder| folder.exists());
    let stat =
        nix::sys::statvfs::statvfs(folder.unwrap_or(Path::new("/"))).map_err(|e| e.to_string())?;
    let free = u64::from(stat.blocks_available()) * u64::from(stat.fragment_size());
    let shown = format!("{} MB", free / 1_000_000);
    (free >= DISK_LOW_BYTES)
        .then_some(shown.clone())
        .ok_or(shown)
}

/// The process table as the drain and the CPU figures read it: this process, found and measured.
fn processes() -> Result<String, String> {
    let me = std::process::id();
    let table = SystemProcesses;
    let listed = table.list().iter().any(|p| p.pid == me);
    table
        .usage(me)
        .filter(|_| listed && table.start_ticks(me).is_some())
        .ok_or("—")?;
    let group = table.group_of(me).ok_or("—")?;
    let boot = table.boot_id().ok_or("—")?;
    Ok(format!("pid {me} · group {group} · boot {boot}"))
}

/// A child started in a group of its own at lower priority, as the worker is.
async fn priority() -> Seen {
    let mut command = tokio::process::Command::new("/bin/sh");
    platform::priority::new_group_at_nice(command.args(["-c", "exit 0"]), 10);
    match output_within(&mut command, WAIT).await {
        Ok(output) if output.status.success() => Passed("nice 10".into()),
        Ok(output) => Failed(output.status.to_string()),
        Err(e) => Failed(e.to_string()),
    }
}

/// The keepalive and user timeout the held connection to the head gets, on a loopback one.
async fn held_connection() -> Seen {
    let watched = async {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let stream = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
        platform::tcp_watch::watch_path(&stream, Duration::from_secs(10))
    };
    match watched.await {
        Ok(()) => Passed("TCP keepalive · 127.0.0.1".into()),
        Err(e) => Failed(e.to_string()),
    }
}
