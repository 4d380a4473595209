//! The IO harness shared by bittrader-worker's integration tests (`tests/*.rs`): a data folder
//! for the real `bittrader-worker` binary with a fake head and the fake `ray`
//! ([`daemon`]), abuse of its control socket ([`control`]), the head itself ([`head`]), child processes and process groups
//! ([`process`]), the two-host real-Ray lab ([`lab`]) and the loud skip ([`skip`]).
//!
//! What needs the library's types (the simulated world around the supervisor) is in
//! `tests/common/` instead: this crate does not depend on bittrader-worker, so the tests pass it
//! the binary's path (`env!("CARGO_BIN_EXE_bittrader-worker")`).

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

pub mod control;
pub mod daemon;
pub mod display;
pub mod head;
pub mod lab;
pub mod process;
pub mod skip;

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
