//! What bittrader-worker's integration tests (`tests/*.rs`) share. The one simulated world
//! ([`world`]) with the pure supervisor in it on a virtual clock ([`sim`]) and the driver in it
//! under paused tokio time ([`fake_platform`], [`driver`]). The IO harness: a data folder for the
//! real `bittrader-worker` binary with a fake head and the fake `ray` ([`daemon`]), abuse of its
//! control socket ([`control`]), a private D-Bus bus ([`bus`]), the head itself ([`head`]), child processes and process groups
//! ([`process`]), a virtual display ([`display`]), the two-host real-Ray lab ([`lab`]) and the
//! loud skip ([`skip`]).
//!
//! It depends on bittrader-worker, whose integration tests link the same build of it, so the
//! types here are theirs; the IO harness takes the binary's path from the test
//! (`env!("CARGO_BIN_EXE_bittrader-worker")`).

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

pub mod bus;
pub mod control;
pub mod daemon;
pub mod display;
pub mod driver;
pub mod fake_platform;
pub mod head;
pub mod lab;
pub mod process;
pub mod sim;
pub mod skip;
pub mod world;

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The repository's `tests/` folder (this crate lives in `tests/support/`).
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/support has a parent")
        .to_path_buf()
}

/// Calls `probe` every `every` until it gives something; `None` once `timeout` has passed
/// without (it is always called at least once, and once more at the deadline).
pub fn poll<T>(
    timeout: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(every);
    }
}
