//! The app opened again while it runs: the running menu-bar app (under Xvfb) shows where it
//! stands in a desktop notification, received here on a private D-Bus session bus by a stand-in
//! for the desktop's notification server (`org.freedesktop.Notifications`, as notify-rust
//! speaks it), and the second process leaves quietly.

#![cfg(all(target_os = "linux", feature = "tray"))]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bittrader_test_support::bus::Bus;
use bittrader_test_support::daemon::{Home, Options};
use bittrader_test_support::display::Display;
use bittrader_test_support::process::run_with_timeout;
use bittrader_test_support::skip::skip_or_fail;
use bittrader_test_support::{poll, secs};
use futures::StreamExt;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// The (summary, body) of every notification shown.
type Shown = Arc<Mutex<Vec<(String, String)>>>;

/// `org.freedesktop.Notifications` on `bus`, served from this test process.
fn notification_server(bus: &Bus) -> (tokio::runtime::Runtime, zbus::Connection, Shown) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let shown = Shown::default();
    let record = shown.clone();
    let conn = rt.block_on(async {
        let conn = zbus::connection::Builder::address(bus.address.as_str())
            .build()
            .await
            .expect("connect the notification server");
        let mut calls = zbus::MessageStream::from(&conn);
        conn.request_name("org.freedesktop.Notifications")
            .await
            .expect("own org.freedesktop.Notifications");
        let served = conn.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = calls.next().await {
                let header = message.header();
                if header.message_type() != zbus::message::Type::MethodCall {
                    continue;
                }
                match header.member().map(|m| m.as_str().to_string()).as_deref() {
                    Some("Notify") => {
                        type Notify = (
                            String,
                            u32,
                            String,
                            String,
                            String,
                            Vec<String>,
                            HashMap<String, zbus::OwnedVariant>,
                            i32,
                        );
                        let (_, _, _, summary, body, ..): Notify =
                            message.body().deserialize().expect("Notify(susssasa{sv}i)");
                        let id = {
                            let mut all = record.lock().unwrap();
                            all.push((summary, body));
                            all.len() as u32
                        };
                        served.reply(&header, &id).await.expect("answer Notify");
                    }
                    Some("GetServerInformation") => {
                        let info = ("stand-in", "bittrader tests", "1", "1.2");
                        served.reply(&header, &info).await.expect("answer");
                    }
                    Some("GetCapabilities") => {
                        let caps = vec!["body".to_string()];
                        served.reply(&header, &caps).await.expect("answer");
                    }
                    _ => {}
                }
            }
        });
        conn
    });
    (rt, conn, shown)
}

#[test]
#[ignore = "slow tier: Xvfb and dbus-daemon"]
fn opening_the_running_app_again_shows_a_notification_of_where_it_stands() {
    let missing: Vec<&str> = ["Xvfb", "xdotool", "dbus-daemon"]
        .into_iter()
        .filter(|tool| {
            std::process::Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map_or(true, |out| !out.status.success())
        })
        .collect();
    if !missing.is_empty() {
        skip_or_fail(
            "second launch notification",
            &format!("missing {}", missing.join(", ")),
            Some("install xvfb, xdotool and dbus-daemon (scripts/test does)"),
            "BITTRADER_REQUIRE_TRAY",
        );
        return;
    }
    let home = Home::new(
        BIN,
        Options {
            prefix: "bw-again-",
            cpus: 1,
            ..Options::default()
        },
    );
    let display = Display::start(home.path());
    let bus = Bus::start();
    let (_rt, _server, shown) = notification_server(&bus);
    let app = || {
        let mut app = home.command(&[]);
        app.env("DISPLAY", display.name())
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env_remove("WAYLAND_DISPLAY")
            .env("GDK_BACKEND", "x11")
            .env("NO_AT_BRIDGE", "1");
        app
    };
    let _running = home.spawn("the app", app(), "app.out");
    home.wait_phase("connected", secs(30));

    let out = run_with_timeout(app(), secs(20)).expect("the app opened again");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = poll(secs(10), std::time::Duration::from_millis(100), || {
        let all = shown.lock().unwrap();
        all.iter()
            .find(|(summary, _)| summary == "BitTrader Worker is running")
            .cloned()
    });
    let (_, body) = found.unwrap_or_else(|| {
        panic!(
            "no notification; shown: {:?}\n{}",
            shown.lock().unwrap(),
            home.read("app.out")
        )
    });
    assert!(body.starts_with("Connected to 127.0.0.1:"), "{body}");
    assert!(body.contains("menu bar"), "{body}");
    assert_eq!(home.starts().len(), 1, "the worker is left alone");
}
