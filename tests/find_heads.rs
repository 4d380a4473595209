//! "Find heads on my tailnet" and `bittrader-worker find-heads` (issue 10, item 7): the fake
//! `tailscale` lists peers at loopback addresses (127.a.b.c: all of 127/8 is this machine's), a
//! TCP listener on Ray's port stands for a head on some of them, and the search must list
//! exactly the online peers that accept a connection. All traffic stays on loopback.

use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};

use bittrader_test_support::daemon::{Home, Options};
use bittrader_test_support::secs;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// Ray's port, which the search knocks on.
const RAY_PORT: u16 = 6379;

/// A small tailnet on loopback: two heads (listening), a machine without Ray, and an offline
/// machine that listens (an offline peer is never knocked on).
struct Tailnet {
    desktop: Ipv4Addr,
    nas: Ipv4Addr,
    printer: Ipv4Addr,
    offline: Ipv4Addr,
    _listeners: Vec<TcpListener>,
}

impl Tailnet {
    /// `None` when Ray's port cannot be bound on loopback (something holds *:6379 here).
    /// `slot` tells this process's tests apart.
    fn start(heads: usize, slot: u8) -> Option<Tailnet> {
        // A /24 of 127/8 of this test's own, so tests and parallel runs do not collide.
        let b = 20 + (std::process::id() % 200) as u8;
        let c = ((std::process::id() / 200 % 80) as u8) * 3 + slot;
        let at = |d: u8| Ipv4Addr::new(127, b, c, d);
        let tailnet = Tailnet {
            desktop: at(10),
            nas: at(11),
            printer: at(12),
            offline: at(13),
            _listeners: Vec::new(),
        };
        let mut listening = vec![tailnet.desktop, tailnet.offline];
        if heads > 1 {
            listening.push(tailnet.nas);
        }
        let mut listeners = Vec::new();
        for ip in listening {
            match TcpListener::bind(SocketAddrV4::new(ip, RAY_PORT)) {
                Ok(listener) => listeners.push(listener),
                Err(e) => {
                    eprintln!("skipped: cannot listen on {ip}:{RAY_PORT}: {e}");
                    return None;
                }
            }
        }
        Some(Tailnet {
            _listeners: listeners,
            ..tailnet
        })
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
            }
        })
        .to_string()
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
    let Some(tailnet) = Tailnet::start(2, 0) else {
        return;
    };
    let home = home_with(&tailnet);
    let out = home.cli(&["find-heads"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        [
            format!("{}:{RAY_PORT}\tdesktop", tailnet.desktop),
            format!("{}:{RAY_PORT}\tnas", tailnet.nas),
        ],
        "{text}"
    );
    assert!(lines[2].contains("bittrader-worker head"), "{text}");
    assert_eq!(lines.len(), 3, "{text}");

    // Tailscale stopped: it says so, and fails.
    fs::write(
        home.file("tailscale.json"),
        include_str!("fixtures/tailscale_status_stopped_rockstor_SHORTENED.json"),
    )
    .expect("tailscale.json");
    let out = home.cli(&["find-heads"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Tailscale is stopped"),
        "{out:?}"
    );
}

#[test]
fn the_running_app_searches_on_request_and_shows_what_it_found() {
    let Some(tailnet) = Tailnet::start(2, 1) else {
        return;
    };
    let home = home_with(&tailnet);
    let _daemon = home.daemon();
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
            { "name": "desktop", "address": format!("{}:{RAY_PORT}", tailnet.desktop) },
            { "name": "nas", "address": format!("{}:{RAY_PORT}", tailnet.nas) },
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
    let Some(tailnet) = Tailnet::start(1, 2) else {
        return;
    };
    let home = home_with(&tailnet);
    // No head configured (the daemon starts no demo head).
    let config: String = home
        .read("config.toml")
        .lines()
        .filter(|line| !line.starts_with("head = "))
        .map(|line| format!("{line}\n"))
        .collect();
    fs::write(home.file("config.toml"), config).expect("config.toml");
    let daemon = home.daemon();
    let offer = format!(
        "🔔 A Ray head on your tailnet: desktop ({}:{RAY_PORT}) answers.",
        tailnet.desktop
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
    let _daemon = home.daemon();
    home.wait_status("the second start's search", secs(15), |s| {
        s["status"]["head_search"]["kind"] == "found"
    });
    std::thread::sleep(secs(1));
    let log = home.read("worker.log");
    assert_eq!(log.matches(&offer).count(), 1, "{log}");
}
