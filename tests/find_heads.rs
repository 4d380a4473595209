//! "Find heads on my tailnet" and `bittrader-worker find-heads` (issue 10, item 7): the fake
//! `tailscale` lists peers at loopback addresses (127.a.b.c: all of 127/8 is this machine's), a
//! TCP listener on the search's port stands for a head on some of them, and the search must list
//! exactly the online peers that accept a connection. The port is an ephemeral one
//! (`BITTRADER_FIND_HEADS_PORT`), so nothing on this machine holding 6379 can skip the tests.
//! All traffic stays on loopback.

use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Instant;

use bittrader_test_support::daemon::{Daemon, Home, Options};
use bittrader_test_support::process::run_with_timeout;
use bittrader_test_support::secs;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// A small tailnet on loopback: two heads (listening), a machine without Ray, an offline
/// machine that listens (an offline peer is never knocked on), and a machine that never
/// answers (its connection attempts time out, as a firewalled peer's would).
struct Tailnet {
    /// The port every head listens on, which the search knocks on.
    port: u16,
    desktop: Ipv4Addr,
    nas: Ipv4Addr,
    printer: Ipv4Addr,
    offline: Ipv4Addr,
    silent: Ipv4Addr,
    _listeners: Vec<TcpListener>,
    /// The connection that fills the silent machine's accept queue.
    _filler: TcpStream,
}

impl Tailnet {
    /// `slot` tells this process's tests apart.
    fn start(heads: usize, slot: u8) -> Tailnet {
        // A /24 of 127/8 of this test's own, so tests and parallel runs do not collide.
        let b = 20 + (std::process::id() % 200) as u8;
        let c = ((std::process::id() / 200 % 80) as u8) * 3 + slot;
        let at = |d: u8| Ipv4Addr::new(127, b, c, d);
        let (desktop, nas, printer, offline, silent) = (at(10), at(11), at(12), at(13), at(14));
        let mut listening = vec![desktop, offline, silent];
        if heads > 1 {
            listening.push(nas);
        }
        // An ephemeral port free on the first address, then the same port on the others.
        let (port, listeners) = (0..20)
            .find_map(|_| {
                let first = TcpListener::bind(SocketAddrV4::new(listening[0], 0)).ok()?;
                let port = first.local_addr().ok()?.port();
                let mut listeners = vec![first];
                for ip in &listening[1..] {
                    listeners.push(TcpListener::bind(SocketAddrV4::new(*ip, port)).ok()?);
                }
                Some((port, listeners))
            })
            .expect("a port free on every loopback address of the tailnet");
        // The silent machine: a backlog of 0, filled by one connection never accepted, so
        // the kernel drops every further SYN and the search's knock times out.
        let silent_listener = &listeners[2];
        // SAFETY: listen(2) on a socket this listener owns, to lower its backlog.
        let lowered = unsafe { libc::listen(silent_listener.as_raw_fd(), 0) };
        assert_eq!(lowered, 0, "listen(backlog 0)");
        let filler = TcpStream::connect(SocketAddrV4::new(silent, port)).expect("filler");
        Tailnet {
            port,
            desktop,
            nas,
            printer,
            offline,
            silent,
            _listeners: listeners,
            _filler: filler,
        }
    }

    /// `tailscale status --json` for it.
    fn status_json(&self) -> String {
        let peer = |name: &str, ip: Ipv4Addr, online: bool| {
            json!({
                "HostName": name,
                "DNSName": format!("{name}.tail1234.ts.net."),
                "TailscaleIPs": [ip.to_string()],
                "Online": online,
            })
        };
        json!({
            "BackendState": "Running",
            "Self": { "HostName": "laptop", "TailscaleIPs": ["100.101.102.103"], "Online": true },
            "Peer": {
                "nodekey:1": peer("desktop", self.desktop, true),
                "nodekey:2": peer("nas", self.nas, true),
                "nodekey:3": peer("printer", self.printer, true),
                "nodekey:4": peer("old-laptop", self.offline, false),
                "nodekey:5": peer("firewalled", self.silent, true),
            }
        })
        .to_string()
    }

    /// `bittrader-worker ARGS…` on `home`, searching this tailnet's port.
    fn command(&self, home: &Home, args: &[&str]) -> Command {
        let mut command = home.command(args);
        command.env("BITTRADER_FIND_HEADS_PORT", self.port.to_string());
        command
    }

    fn daemon(&self, home: &Home) -> Daemon {
        home.spawn("the daemon", self.command(home, &["daemon"]), "daemon.out")
    }

    /// Where a head on `ip` answers.
    fn at(&self, ip: Ipv4Addr) -> String {
        format!("{ip}:{}", self.port)
    }
}

fn home_with(tailnet: &Tailnet) -> Home {
    let home = Home::new(
        BIN,
        Options {
            prefix: "bw-find-",
            ..Options::default()
        },
    );
    fs::write(home.file("tailscale.json"), tailnet.status_json()).expect("tailscale.json");
    home
}

#[test]
fn the_cli_lists_the_peers_whose_ray_port_answers() {
    let tailnet = Tailnet::start(2, 0);
    let home = home_with(&tailnet);
    // The firewalled machine never answers: the whole search still ends in about
    // FIND_HEADS_CONNECT_TIMEOUT (1.5 s), every machine being knocked on at once.
    let started = Instant::now();
    let out =
        run_with_timeout(tailnet.command(&home, &["find-heads"]), secs(20)).expect("find-heads");
    let took = started.elapsed();
    eprintln!("find-heads took {took:?} with a machine that never answers");
    assert!(
        took >= secs(1),
        "it waited for the silent machine: {took:?}"
    );
    assert!(took < secs(5), "{took:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        [
            format!("{}\tdesktop", tailnet.at(tailnet.desktop)),
            format!("{}\tnas", tailnet.at(tailnet.nas)),
        ],
        "{text}"
    );
    assert!(lines[2].contains("bittrader-worker head"), "{text}");
    assert_eq!(lines.len(), 3, "{text}");

    // For a script: the same finds as JSON.
    let out = run_with_timeout(tailnet.command(&home, &["find-heads", "--json"]), secs(20))
        .expect("find-heads --json");
    assert!(out.status.success(), "{out:?}");
    let finds: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let names: Vec<&str> = finds["heads"]
        .as_array()
        .expect("heads")
        .iter()
        .filter_map(|head| head["name"].as_str())
        .collect();
    assert_eq!(names, ["desktop", "nas"], "{finds}");

    // Tailscale stopped: it says so, and fails.
    fs::write(
        home.file("tailscale.json"),
        include_str!("fixtures/tailscale_status_stopped_rockstor_SHORTENED.json"),
    )
    .expect("tailscale.json");
    let out =
        run_with_timeout(tailnet.command(&home, &["find-heads"]), secs(20)).expect("find-heads");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Tailscale is stopped"),
        "{out:?}"
    );
    let out = run_with_timeout(tailnet.command(&home, &["find-heads", "--json"]), secs(20))
        .expect("find-heads --json");
    assert!(!out.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(answer["problem"]["kind"], "stopped", "{answer}");
}

#[test]
fn the_running_app_searches_on_request_and_shows_what_it_found() {
    let tailnet = Tailnet::start(2, 1);
    let home = home_with(&tailnet);
    let _daemon = tailnet.daemon(&home);
    home.wait_phase("connected", secs(15));
    let report = home.send(json!({ "cmd": "find_heads" }));
    let search = &report["status"]["head_search"];
    // Answered at once: the search runs off the driver's loop.
    assert!(
        search["kind"] == "searching" || search["kind"] == "found",
        "{report}"
    );
    let status = home.wait_status("the search's result", secs(10), |s| {
        s["status"]["head_search"]["kind"] == "found"
    });
    let heads = &status["status"]["head_search"]["heads"];
    assert_eq!(
        heads,
        &json!([
            { "name": "desktop", "address": tailnet.at(tailnet.desktop) },
            { "name": "nas", "address": tailnet.at(tailnet.nas) },
        ]),
        "{status}"
    );
    // Nothing offered in a notification: a head is configured.
    assert!(
        !home.read("worker.log").contains("🔔"),
        "{}",
        home.read("worker.log")
    );
}

#[test]
fn a_first_run_with_one_head_on_the_tailnet_offers_it() {
    let tailnet = Tailnet::start(1, 2);
    let home = home_with(&tailnet);
    // No head configured (the daemon starts no demo head).
    let config: String = home
        .read("config.toml")
        .lines()
        .filter(|line| !line.starts_with("head = "))
        .map(|line| format!("{line}\n"))
        .collect();
    fs::write(home.file("config.toml"), config).expect("config.toml");
    let daemon = tailnet.daemon(&home);
    let offer = format!(
        "🔔 A Ray head on your tailnet: desktop ({}) answers.",
        tailnet.at(tailnet.desktop)
    );
    home.wait_until("the offer in worker.log", secs(15), || {
        home.read("worker.log").contains(&offer)
    });
    let status = home.wait_status("the search's result", secs(5), |s| {
        s["status"]["head_search"]["kind"] == "found"
    });
    assert_eq!(
        status["status"]["head_search"]["heads"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{status}"
    );

    // Offered once: the next start, still without a head, searches (the menu lists the find)
    // but does not offer it again.
    home.wait_until("the offer recorded", secs(5), || {
        home.file("first-run-offered").exists()
    });
    drop(daemon);
    let _daemon = tailnet.daemon(&home);
    home.wait_status("the second start's search", secs(15), |s| {
        s["status"]["head_search"]["kind"] == "found"
    });
    std::thread::sleep(secs(1));
    let log = home.read("worker.log");
    assert_eq!(log.matches(&offer).count(), 1, "{log}");
}
