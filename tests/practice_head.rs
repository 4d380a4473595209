//! The practice head the menu-bar app starts when no head is set, as the real platform follows
//! it: once its process has ended, its port is anyone's (another local user may listen there
//! next), so its address is never knocked on again, and the probe says why.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use bittrader_test_support::{poll, secs};
use bittrader_worker::config::{Config, Paths};
use bittrader_worker::model::{HeadAddress, Unreachable};
use bittrader_worker::platform::command::SharedChild;
use bittrader_worker::runtime::{self, Platform, SystemPlatform};
use bittrader_worker::tailscale::cli::TailscaleCli;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Connections `listener` (non-blocking) has waiting.
fn accepted(listener: &TcpListener) -> usize {
    let mut count = 0;
    loop {
        match listener.accept() {
            Ok(_) => count += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return count,
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[tokio::test]
async fn a_practice_head_whose_process_ended_is_gone_and_its_port_is_left_alone() {
    let home = tempfile::tempdir().expect("tempdir");
    let paths = Paths {
        home: home.path().to_path_buf(),
    };
    let log = runtime::log::shared(paths.ray_log_file());
    let config = Config::with_defaults(1);
    let mut platform = SystemPlatform::new(paths, &config, TailscaleCli::default(), log);
    // What listens at the head's address: the head while it runs, a squatter once it ended.
    let port_holder = TcpListener::bind("127.0.0.1:0").expect("bind");
    port_holder.set_nonblocking(true).expect("nonblocking");
    let head = HeadAddress {
        host: "127.0.0.1".into(),
        port: port_holder.local_addr().expect("addr").port(),
    };
    // Stands for the head's `ray start --block`.
    let process = SharedChild::new(Command::new("sleep").arg("600").spawn().expect("sleep"));
    let token = home.path().join("demo-head.token");
    platform.pin_local_head(head.clone(), token, process.clone());
    let probe = |platform: &SystemPlatform| platform.probe(&head, secs(2), secs(5));

    let answer = probe(&platform).await;
    assert_eq!(
        answer.unreachable, None,
        "while it runs, the head is probed"
    );
    assert_eq!(accepted(&port_holder), 1);

    let pid = Pid::from_raw(process.id() as i32);
    kill(pid, Signal::SIGKILL).expect("kill");
    let ended = poll(secs(5), Duration::from_millis(20), || process.ended());
    assert!(ended.is_some(), "sleep did not end");
    let answer = probe(&platform).await;
    assert_eq!(answer.unreachable, Some(Unreachable::PracticeHeadGone));
    // And it stays gone, however often asked.
    let again = probe(&platform).await;
    assert_eq!(again.unreachable, Some(Unreachable::PracticeHeadGone));
    assert_eq!(
        accepted(&port_holder),
        0,
        "a probe knocked on the port its head had left"
    );
}
