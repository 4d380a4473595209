//! One blocking wait on a few file descriptors (the power change watch).

use std::io;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// Blocks until one of `fds` is readable or `timeout` passes (`None`: none), saying which are (all
/// `false`: the timeout). An error or hang-up counts as readable, so its reader meets it instead of
/// the wait spinning; a signal does not end the wait.
pub fn wait_readable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    loop {
        let mut polled: Vec<PollFd<'_>> = fds
            .iter()
            .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
            .collect();
        let wait = match deadline {
            None => PollTimeout::NONE,
            Some(deadline) => poll_millis(deadline.saturating_duration_since(Instant::now())),
        };
        match poll(&mut polled, wait) {
            Err(Errno::EINTR) => continue,
            Err(error) => return Err(error.into()),
            Ok(_) => {}
        }
        let ready: Vec<bool> = polled
            .iter()
            // Besides POLLIN, only POLLERR, POLLHUP and POLLNVAL come back: each counts.
            .map(|fd| fd.revents().is_some_and(|events| !events.is_empty()))
            .collect();
        let timed_out = deadline.is_some_and(|deadline| Instant::now() >= deadline);
        if ready.iter().any(|ready| *ready) || timed_out {
            return Ok(ready);
        }
    }
}

/// Rounded up (a wait rounded down to 0 ms would spin until the deadline), at most `i32::MAX` ms.
fn poll_millis(left: Duration) -> PollTimeout {
    let millis = left.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(i32::try_from(millis).unwrap_or(i32::MAX)).unwrap_or(PollTimeout::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_timeout_without_news_says_nothing_is_readable() {
        let (quiet, _other) = UnixStream::pair().expect("a socket pair");
        let since = Instant::now();
        let ready = wait_readable(&[quiet.as_fd()], Some(Duration::from_millis(30))).expect("wait");
        assert_eq!(ready, vec![false]);
        assert!(since.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn the_readable_one_is_named() {
        let (quiet, _quiet_other) = UnixStream::pair().expect("a socket pair");
        let (news, mut sender) = UnixStream::pair().expect("a socket pair");
        sender.write_all(b"x").expect("write");
        let ready = wait_readable(&[quiet.as_fd(), news.as_fd()], Some(Duration::from_secs(5)))
            .expect("wait");
        assert_eq!(ready, vec![false, true]);
        // A peer gone is news too: the reader sees the end.
        drop(sender);
        let ready = wait_readable(&[news.as_fd()], None).expect("wait");
        assert_eq!(ready, vec![true]);
    }

    #[test]
    fn milliseconds_round_up_and_saturate() {
        assert_eq!(
            i32::from(poll_millis(Duration::from_micros(1))),
            1,
            "never 0 before the deadline"
        );
        assert_eq!(i32::from(poll_millis(Duration::ZERO)), 0);
        assert_eq!(i32::from(poll_millis(Duration::from_secs(15))), 15_000);
        assert_eq!(
            i32::from(poll_millis(Duration::from_secs(u64::MAX))),
            i32::MAX
        );
    }
}
