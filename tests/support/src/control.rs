//! Abuse of the daemon's control socket, shared by tests/control_socket.rs (fake `ray`) and the
//! lab's fault matrix (real Ray): a thousand silent connections, one 100 MB line.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::secs;

/// The resident memory, in KiB, from a `/proc/PID/status` text (Linux).
pub fn rss_kib_of(proc_status: &str) -> Option<u64> {
    proc_status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Raises this process's open-file limit so that it can hold a thousand connections.
pub fn allow_many_open_files() {
    // SAFETY: plain syscalls on a struct we own.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < 2048 {
            limit.rlim_cur = limit.rlim_max.min(4096);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// `n` connections to `socket`, opened at once and held, none sending a word.
pub fn hold_silent_connections(socket: &Path, n: usize) -> Vec<UnixStream> {
    allow_many_open_files();
    (0..n)
        .filter_map(|_| UnixStream::connect(socket).ok())
        .collect()
}

/// What became of a long line sent to the socket.
pub struct LongLine {
    /// Bytes the daemon took before it stopped reading.
    pub sent: usize,
    /// Its reply, if it gave one before closing.
    pub reply: String,
}

/// Streams one line of `total` bytes (never held in memory) to `socket`.
pub fn send_long_line(socket: &Path, total: usize) -> LongLine {
    let mut stream = UnixStream::connect(socket).expect("connect to the control socket");
    stream
        .set_write_timeout(Some(secs(10)))
        .expect("write timeout");
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0usize;
    while sent < total {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let mut reply = String::new();
    let _ = BufReader::new(&stream).read_line(&mut reply);
    LongLine { sent, reply }
}
