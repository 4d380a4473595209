//! The user's config.toml, with the real daemon and the fake `ray` (see driver_fake_ray.rs):
//! a hand edit is applied while running and kept by the next change from the CLI; an invalid
//! edit is reported and the file left as it is; a full disk never refuses a pause.

use std::fs;
use std::time::{Duration, Instant};

use bittrader_test_support::daemon::{machine_cpus, phase_of, worker_pid, Daemon, Home, Options};
use bittrader_test_support::secs;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");

/// The OS reports an edit at once and the daemon reads the file 250 ms later
/// (`CONFIG_FILE_SETTLE`); where it cannot watch the folder it looks every 2 s
/// (`CONFIG_FILE_CHECK_EVERY`). Generous, for a loaded machine: the speed itself is tested by
/// `hand_edits_one_after_another_are_each_applied_within_a_second`.
const EDIT_SEEN_WITHIN: Duration = Duration::from_secs(10);

/// How soon an edit must be applied where the OS reports changes: well under the 2 s of the
/// old look on a clock.
const EDIT_APPLIED_WITHIN: Duration = Duration::from_secs(1);

/// A daemon offering 2 CPUs to the fake head, connected; `None` on a 1-CPU machine, where a
/// CPU-count edit cannot be tested.
fn connected_with_two_cpus() -> Option<(Home, Daemon, serde_json::Value)> {
    if machine_cpus() < 2 {
        eprintln!("this machine has 1 CPU: a CPU-count edit cannot be tested");
        return None;
    }
    let home = Home::new(
        BIN,
        Options {
            cpus: 2,
            ..Options::default()
        },
    );
    let daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    Some((home, daemon, status))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_hand_edit_is_applied_while_running_and_kept_by_the_next_pause() {
    let Some((home, _daemon, status)) = connected_with_two_cpus() else {
        return;
    };
    let first = worker_pid(&status).expect("worker pid");

    // The user edits the file by hand: a comment, and one CPU instead of two.
    let edited = format!(
        "# Leave one core for me while I work.\n{}",
        home.read("config.toml")
            .replace("cpus = 2\n", "cpus = 1  # was 2\n")
    );
    fs::write(home.file("config.toml"), &edited).expect("edit config.toml");
    let status = home.wait_connected_anew(Some(first), EDIT_SEEN_WITHIN);
    assert_eq!(status["status"]["worker_cpus"], 1, "{status}");
    assert!(
        home.read("worker.log")
            .contains("config.toml edited: cpus = 1 applied"),
        "{}",
        home.diagnostics()
    );
    assert_eq!(
        home.read("config.toml"),
        edited,
        "applying an edit wrote the file"
    );

    // A pause changes `paused` and nothing else: the comments and the edit stay.
    let out = home.cli(&["pause"]);
    assert!(out.status.success(), "pause: {}", text(&out.stderr));
    let after = home.read("config.toml");
    assert!(
        after.contains("# Leave one core for me while I work.\n"),
        "{after}"
    );
    assert!(after.contains("cpus = 1  # was 2\n"), "{after}");
    assert_eq!(after.replace("paused = true\n", ""), edited, "{after}");
    home.wait_status("paused with no worker", secs(5), |s| {
        phase_of(s) == "paused" && worker_pid(s).is_none()
    });
    // Our own write is not taken for a hand edit (one would show within ~250 ms).
    std::thread::sleep(secs(1));
    let log = home.read("worker.log");
    assert!(!log.contains("paused = true applied"), "{log}");

    // A hand-written `paused = false` resumes.
    fs::write(
        home.file("config.toml"),
        after.replace("paused = true", "paused = false"),
    )
    .expect("edit config.toml");
    home.wait_phase("connected", EDIT_SEEN_WITHIN);
}

/// Each edit is written as soon as the last one shows in the log. A look on a 2 s clock would
/// see the first at any time, but every later one only ~2 s after it was written (just after
/// a look): only a report of the OS shows each within a second.
#[test]
fn hand_edits_one_after_another_are_each_applied_within_a_second() {
    let Some((home, _daemon, _)) = connected_with_two_cpus() else {
        return;
    };
    let mut took = Vec::new();
    for (n, (from, to)) in [(2, 1), (1, 2), (2, 1), (1, 2)].into_iter().enumerate() {
        let applied = format!("config.toml edited: cpus = {to} applied");
        let before = home.read("worker.log").matches(&applied).count();
        let edited = home
            .read("config.toml")
            .replace(&format!("cpus = {from}\n"), &format!("cpus = {to}\n"));
        let written = Instant::now();
        fs::write(home.file("config.toml"), edited).expect("edit config.toml");
        // Finer than `Home::wait_until`: the time itself is the point.
        while home.read("worker.log").matches(&applied).count() == before {
            assert!(
                written.elapsed() < EDIT_SEEN_WITHIN,
                "edit {n} (cpus = {to}) never applied\n{}",
                home.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        took.push(written.elapsed());
    }
    eprintln!("each edit applied after {took:?}");
    assert!(
        took.iter().all(|t| *t < EDIT_APPLIED_WITHIN),
        "each edit applied within {EDIT_APPLIED_WITHIN:?}: {took:?}"
    );
    assert!(
        !home.read("worker.log").contains("picked up every"),
        "the folder was not watched\n{}",
        home.read("worker.log")
    );
}

/// config.toml as a link to a file in another folder (a dotfiles repository): that folder's
/// changes are not watched, so the file is looked at on the clock, and the log says so once.
#[test]
fn a_linked_config_toml_is_looked_at_every_2_s_and_the_log_says_why() {
    let machine = machine_cpus();
    let home = Home::new(
        BIN,
        Options {
            cpus: machine.min(2),
            ..Options::default()
        },
    );
    let dotfiles = tempfile::tempdir().expect("a folder");
    let target = dotfiles.path().join("config.toml");
    fs::rename(home.file("config.toml"), &target).expect("move config.toml");
    std::os::unix::fs::symlink(&target, home.file("config.toml")).expect("link");
    let _daemon = home.daemon();
    home.wait_phase("connected", secs(10));
    home.wait_until(
        "the log says edits are looked for on a clock",
        secs(5),
        || {
            home.read("worker.log")
                .contains("hand edits are picked up every 2 s")
        },
    );
    let log = home.read("worker.log");
    assert!(log.contains("is a symbolic link"), "{log}");
    assert_eq!(
        log.matches("picked up every").count(),
        1,
        "said once: {log}"
    );

    // An edit of the link's target is still applied.
    let text = fs::read_to_string(&target).expect("read the target");
    fs::write(&target, format!("paused = true\n{text}")).expect("edit the target");
    home.wait_status("paused by the edit", EDIT_SEEN_WITHIN, |s| {
        phase_of(s) == "paused" && worker_pid(s).is_none()
    });
    assert!(
        home.read("worker.log")
            .contains("config.toml edited: paused = true applied"),
        "{}",
        home.diagnostics()
    );
}

#[test]
fn an_invalid_hand_edit_is_reported_and_not_applied_and_the_file_is_untouched() {
    let home = Home::new(BIN, Options::default());
    let _daemon = home.daemon();
    let status = home.wait_phase("connected", secs(10));
    let worker = worker_pid(&status).expect("worker pid");
    let cpus = status["status"]["cpus"].clone();

    let bad = format!("paused = \"yes\"\n{}", home.read("config.toml"));
    fs::write(home.file("config.toml"), &bad).expect("edit config.toml");
    home.wait_until("the invalid edit is logged", EDIT_SEEN_WITHIN, || {
        home.read("worker.log").contains("this edit is not applied")
    });
    let log = home.read("worker.log");
    assert!(
        log.contains("`paused`") && log.contains("true or false"),
        "{log}"
    );
    assert_eq!(
        log.matches("this edit is not applied").count(),
        1,
        "reported once: {log}"
    );
    let status = home.status().expect("status");
    assert_eq!(phase_of(&status), "connected");
    assert_eq!(worker_pid(&status), Some(worker), "the worker was touched");
    assert_eq!(status["status"]["cpus"], cpus);
    assert_eq!(home.read("config.toml"), bad, "the file was touched");

    // A change from the CLI to a file that is TOML but invalid: only its key is written.
    let out = home.cli(&["pause"]);
    assert!(out.status.success(), "pause: {}", text(&out.stderr));
    assert_eq!(
        home.read("config.toml"),
        bad.replace("paused = \"yes\"", "paused = true")
    );
}

#[test]
fn a_fifo_or_a_link_to_dev_zero_at_config_toml_is_refused_while_status_answers() {
    let home = Home::new(BIN, Options::default());
    let _daemon = home.daemon();
    home.wait_phase("connected", secs(10));
    let (config, kept) = (home.file("config.toml"), home.read("config.toml"));
    let refused = |count: usize| {
        home.wait_until(
            "the log says config.toml is refused",
            EDIT_SEEN_WITHIN,
            || {
                home.read("worker.log")
                    .matches("not a regular file")
                    .count()
                    == count
            },
        );
        let status = home
            .status()
            .unwrap_or_else(|| panic!("{}", home.diagnostics()));
        assert_eq!(phase_of(&status), "connected");
    };
    // A FIFO no one writes to: a blocking open would wait for a writer forever.
    fs::remove_file(&config).expect("remove config.toml");
    let fifo = std::process::Command::new("mkfifo").arg(&config).status();
    assert!(fifo.is_ok_and(|made| made.success()), "mkfifo");
    refused(1);
    fs::remove_file(&config).expect("remove the FIFO");
    fs::write(&config, &kept).expect("config.toml again");
    home.wait_until("readable again", EDIT_SEEN_WITHIN, || {
        home.read("worker.log").contains("readable again")
    });
    // A link to an endless device: a read to the end would fill the memory.
    fs::remove_file(&config).expect("remove config.toml");
    std::os::unix::fs::symlink("/dev/zero", &config).expect("link to /dev/zero");
    refused(2);
    let log = home.read("worker.log");
    assert!(log.contains("replace it with a text file"), "{log}");
}

#[test]
fn the_offline_head_command_keeps_the_users_comments() {
    let home = Home::new(BIN, Options::default());
    let original = format!("# mine\n{}", home.read("config.toml"));
    fs::write(home.file("config.toml"), &original).expect("write");
    let out = home.cli(&["head", "100.64.0.7:6380"]);
    assert!(out.status.success(), "head: {}", text(&out.stderr));
    let after = home.read("config.toml");
    let port = home.port();
    assert_eq!(
        after,
        original.replace(
            &format!("head = \"127.0.0.1:{port}\""),
            "head = \"100.64.0.7:6380\""
        )
    );
}

/// Linux: the disk is a tmpfs in a mount namespace of the test's own thread.
#[cfg(target_os = "linux")]
mod full_disk {
    use super::*;
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use bittrader_test_support::skip::skip_or_fail;
    use serde_json::json;

    /// A small tmpfs mounted over the test's data folder in a mount namespace of this thread alone
    /// (the daemon and the CLI started from this thread see it; nothing else on the machine does).
    /// On drop the folder's files are copied back to the real folder so the [`Home`]'s own
    /// clean-up finds them.
    struct SmallDisk {
        dir: PathBuf,
    }

    impl SmallDisk {
        /// `None` (with a loud skip) where mount namespaces are not allowed.
        fn mount_over(dir: &Path) -> Option<SmallDisk> {
            use std::ffi::CString;
            let files = read_all(dir);
            // SAFETY: plain syscalls on this thread; the strings outlive the calls.
            unsafe {
                if libc::unshare(libc::CLONE_NEWNS) != 0 {
                    skip_or_fail(
                        "full-disk test",
                        &format!("unshare(CLONE_NEWNS): {}", std::io::Error::last_os_error()),
                        Some("run as root (or with CAP_SYS_ADMIN)"),
                        "BITTRADER_REQUIRE_MOUNT_NS",
                    );
                    return None;
                }
                let root = CString::new("/").expect("cstring");
                // Nothing mounted here may reach the rest of the machine.
                let rc = libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                );
                assert_eq!(rc, 0, "make / private: {}", std::io::Error::last_os_error());
                let target = CString::new(dir.as_os_str().as_encoded_bytes()).expect("cstring");
                let fstype = CString::new("tmpfs").expect("cstring");
                let data = CString::new("size=256k,mode=0700").expect("cstring");
                let rc = libc::mount(
                    fstype.as_ptr(),
                    target.as_ptr(),
                    fstype.as_ptr(),
                    0,
                    data.as_ptr().cast(),
                );
                assert_eq!(rc, 0, "mount tmpfs: {}", std::io::Error::last_os_error());
            }
            for (name, bytes) in files {
                fs::write(dir.join(name), bytes).expect("copy into the tmpfs");
            }
            Some(SmallDisk {
                dir: dir.to_path_buf(),
            })
        }

        /// Fills the disk and keeps it full until the guard drops: what the daemon frees (the
        /// worker's pid file when it stops) is taken again at once. The file is opened here, in
        /// this thread's namespace; the thread that keeps writing to it needs no path.
        fn keep_full(&self) -> KeepFull {
            let mut filler = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join("filler"))
                .expect("filler");
            fill(&mut filler);
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let thread = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        fill(&mut filler);
                        std::thread::sleep(Duration::from_millis(1));
                    }
                })
            };
            KeepFull {
                stop,
                thread: Some(thread),
            }
        }
    }

    /// Writes to `filler` until the disk has no room.
    fn fill(filler: &mut fs::File) {
        let block = [0u8; 512];
        loop {
            match filler.write_all(&block) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
    }

    /// A thread keeping the disk full, stopped when dropped.
    struct KeepFull {
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Drop for KeepFull {
        fn drop(&mut self) {
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    impl Drop for SmallDisk {
        fn drop(&mut self) {
            let files = read_all(&self.dir);
            if let Ok(target) = std::ffi::CString::new(self.dir.as_os_str().as_encoded_bytes()) {
                // SAFETY: a plain syscall on a path string that outlives it.
                unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
            }
            for (name, bytes) in files {
                if name != "filler" {
                    let _ = fs::write(self.dir.join(name), bytes);
                }
            }
        }
    }

    /// The regular files of `dir`, by name.
    fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| {
                        let bytes = fs::read(e.path()).ok()?;
                        Some((e.file_name().to_string_lossy().into_owned(), bytes))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    #[ignore = "slow tier: root and a mount namespace (a small tmpfs to fill)"]
    fn with_the_disk_full_pause_and_resume_take_effect_and_the_failed_save_is_reported() {
        let home = Home::new(BIN, Options::default());
        let Some(disk) = SmallDisk::mount_over(home.path()) else {
            return;
        };
        let daemon = home.daemon();
        let status = home.wait_phase("connected", secs(10));
        let worker = worker_pid(&status).expect("worker pid");
        let before = home.read("config.toml");
        let full = disk.keep_full();

        let reply = home
            .request(&json!({"cmd": "pause"}))
            .unwrap_or_else(|| panic!("no answer to pause\n{}", home.diagnostics()));
        assert_eq!(reply["ok"], true, "pause was refused: {reply}");
        let message = reply["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("`paused` could not be saved") && message.contains("No space left"),
            "{reply}"
        );
        assert_eq!(reply["report"]["status"]["paused"], true, "{reply}");
        home.wait_status("paused with no worker", secs(5), |s| {
            phase_of(s) == "paused" && worker_pid(s).is_none()
        });
        home.assert_gone("the paused worker", worker, secs(3));
        assert_eq!(home.read("config.toml"), before, "the file changed");
        let leftovers: Vec<_> = read_all(home.path())
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| name.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

        // The CLI says so too, and succeeds.
        let out = home.cli(&["resume"]);
        assert!(out.status.success(), "resume: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("could not be saved"),
            "{}",
            text(&out.stdout)
        );
        let status = home.status().expect("status");
        assert_eq!(status["status"]["paused"], false, "{status}");
        drop(full);
        drop(daemon);
        drop(disk);
    }
}
