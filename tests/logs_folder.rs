//! The logs folder the menu opens: links to every log, and Console.app's link to it.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use bittrader_worker::config::Paths;
use bittrader_worker::service::logs;

#[test]
fn the_logs_folder_links_every_log_and_console_links_to_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = Paths {
        home: dir.path().join("data"),
    };
    let session = dir.path().join("bittrader-ray-x/ray/session_latest/logs");
    let console = dir.path().join("Library/Logs/BitTrader Worker");
    let folder = logs::link(&paths, Some(&session), Some(&console)).expect("linked");
    assert_eq!(folder, paths.home.join("logs"));
    let target = |name: &str| fs::read_link(folder.join(name)).expect(name);
    assert_eq!(target("worker.log"), paths.log_file());
    assert_eq!(target("ray-worker.out"), paths.ray_log_file());
    assert_eq!(target("ray-session"), session);
    assert_eq!(fs::read_link(&console).expect("console link"), folder);

    // The next start's private Ray folder is another: the link follows it.
    let next = dir.path().join("bittrader-ray-y/ray/session_latest/logs");
    logs::link(&paths, Some(&next), Some(&console)).expect("linked again");
    assert_eq!(target("ray-session"), next);
}

#[test]
fn a_file_or_folder_of_the_users_own_is_never_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = Paths {
        home: dir.path().join("data"),
    };
    let console = dir.path().join("Library/Logs/BitTrader Worker");
    fs::create_dir_all(&console).expect("a real folder there");
    fs::write(console.join("notes.txt"), "mine").expect("write");
    let folder = paths.home.join("logs");
    fs::create_dir_all(&folder).expect("logs");
    fs::write(folder.join("worker.log"), "a copy kept by hand").expect("write");
    symlink("/elsewhere", folder.join("ray-worker.out")).expect("a stale link");

    logs::link(&paths, None, Some(&console)).expect("linked");
    assert_eq!(
        fs::read_to_string(console.join("notes.txt")).expect("kept"),
        "mine"
    );
    assert_eq!(
        fs::read_to_string(folder.join("worker.log")).expect("kept"),
        "a copy kept by hand"
    );
    assert_eq!(
        fs::read_link(folder.join("ray-worker.out")).expect("link"),
        paths.ray_log_file()
    );
    assert!(
        !folder.join("ray-session").exists(),
        "no Ray folder, no link"
    );
}

#[test]
fn console_app_gets_a_link_only_for_the_default_folder_on_a_mac() {
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let default = Paths {
        home: home.join(".bittrader_worker"),
    };
    let expected = cfg!(target_os = "macos").then(|| home.join("Library/Logs/BitTrader Worker"));
    assert_eq!(logs::console_link(&default), expected);
    let other = Paths {
        home: PathBuf::from("/tmp/another-folder"),
    };
    assert_eq!(logs::console_link(&other), None);
}
