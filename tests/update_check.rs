//! The real `bittrader-worker daemon` asks a releases feed served here, on 127.0.0.1, a second
//! after start (`[timing] first_update_check_secs = 1`): a newer release reaches `status
//! --json`, this build's own or a broken feed offers nothing (the latter said once in the log),
//! and a feed that never answers holds up neither the control socket nor a quit. When it is asked
//! and how often is the simulator's (`supervisor_updates.rs`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bittrader_test_support::daemon::{Home, Options};
use bittrader_test_support::secs;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// How the feed answers.
#[derive(Clone, Copy)]
enum Answer {
    /// 200 with this body.
    Json(&'static str),
    /// 500 with an empty body.
    ServerError,
    /// The connection is accepted and never answered.
    Silent,
}

/// A releases feed on loopback; the connections it accepted are counted. Its thread serves
/// until the test's process ends (a silent feed keeps what it accepted open).
struct Feed {
    port: u16,
    asked: Arc<AtomicUsize>,
}

impl Feed {
    fn serve(answer: Answer) -> Feed {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the feed");
        let port = listener.local_addr().expect("the feed's address").port();
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for mut conn in listener.incoming().map_while(Result::ok) {
                counter.fetch_add(1, Ordering::SeqCst);
                let reply = match answer {
                    Answer::Silent => {
                        held.push(conn);
                        continue;
                    }
                    Answer::Json(body) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \
                         {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    Answer::ServerError => {
                        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: \
                         close\r\n\r\n"
                            .to_string()
                    }
                };
                let mut request = [0u8; 4096];
                let _ = conn.read(&mut request);
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        Feed { port, asked }
    }

    fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/repos/bittrader/bittrader-worker/releases/latest",
            self.port
        )
    }

    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

fn home_with(feed: &Feed) -> Home {
    let options = Options {
        prefix: "bw-update-",
        updates_feed: Some(feed.url()),
        ..Options::default()
    };
    Home::new(BIN, options)
}

/// GitHub's latest-release JSON naming `tag`.
fn latest(tag: &str) -> &'static str {
    let body = format!(
        r#"{{"tag_name":"{tag}","name":"{tag}","draft":false,"prerelease":false,
        "html_url":"https://github.com/bittrader/bittrader-worker/releases/tag/{tag}"}}"#
    );
    Box::leak(body.into_boxed_str())
}

fn failures_logged(home: &Home) -> usize {
    let log = home.read("worker.log");
    log.lines()
        .filter(|line| line.contains("releases feed"))
        .count()
}

#[test]
fn a_newer_release_shows_in_status_json() {
    let feed = Feed::serve(Answer::Json(latest("v99.1.0")));
    let home = home_with(&feed);
    let _daemon = home.daemon();
    let status = home.wait_status("the update offered", secs(10), |s| {
        !s["status"]["update"].is_null()
    });
    let update = &status["status"]["update"];
    assert_eq!(update["version"], "99.1.0", "{status}");
    assert_eq!(
        update["page"],
        "https://github.com/bittrader/bittrader-worker/releases/tag/v99.1.0"
    );
    assert_eq!(update["homebrew"], false, "no cask on this machine");
    let cli = home.cli(&["status", "--json"]);
    let printed: serde_json::Value =
        serde_json::from_slice(&cli.stdout).expect("status --json prints JSON");
    assert_eq!(printed["status"]["update"]["version"], "99.1.0");
    let said = String::from_utf8_lossy(&home.cli(&["status"]).stdout).into_owned();
    assert!(said.contains("update 99.1.0 is out: https://"), "{said}");
    assert_eq!(feed.asked(), 1, "one request, no more");
}

#[test]
fn this_builds_own_version_offers_nothing() {
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    let feed = Feed::serve(Answer::Json(latest(&tag)));
    let home = home_with(&feed);
    let _daemon = home.daemon();
    home.wait_until("the feed asked", secs(10), || feed.asked() == 1);
    // The answer is read just after the request: give it a moment to reach the status.
    std::thread::sleep(Duration::from_millis(300));
    let status = home.status().expect("the daemon answers");
    assert!(status["status"]["update"].is_null(), "{status}");
    assert_eq!(failures_logged(&home), 0, "{}", home.read("worker.log"));
}

#[test]
fn a_broken_feed_offers_nothing_and_is_logged_once() {
    for answer in [Answer::Json("{\"tag_name\": 7"), Answer::ServerError] {
        let feed = Feed::serve(answer);
        let home = home_with(&feed);
        let _daemon = home.daemon();
        home.wait_until("the failure logged", secs(10), || {
            failures_logged(&home) > 0
        });
        let status = home.status().expect("the daemon answers");
        assert!(status["status"]["update"].is_null(), "{status}");
        assert_eq!(failures_logged(&home), 1, "{}", home.read("worker.log"));
        assert!(
            home.read("worker.log").contains(&feed.url()),
            "names the feed"
        );
    }
}

#[test]
fn a_feed_that_never_answers_holds_up_neither_status_nor_quit() {
    let feed = Feed::serve(Answer::Silent);
    let home = home_with(&feed);
    let mut daemon = home.daemon();
    home.wait_until("the feed asked", secs(10), || feed.asked() == 1);
    // The request now waits for its 10 s timeout; meanwhile the socket answers at once.
    for _ in 0..6 {
        let asked = Instant::now();
        let status = home.status().expect("the daemon answers");
        assert!(status["status"]["phase"].is_string());
        let took = asked.elapsed();
        assert!(took < Duration::from_millis(500), "status took {took:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let quit = Instant::now();
    let out = home.cli(&["quit"]);
    assert!(out.status.success(), "{out:?}");
    assert!(daemon.wait_exit(secs(5)).is_some(), "the daemon quit");
    let took = quit.elapsed();
    assert!(took < secs(4), "quit waited for the feed: {took:?}");
}
