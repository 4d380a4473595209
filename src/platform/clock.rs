//! How long the machine has been suspended since it booted: the one clock fact that tells a
//! sleep from a wall-clock step (NTP, a VM's time sync, the user setting the time).
//!
//! Linux: `CLOCK_BOOTTIME − CLOCK_MONOTONIC` (both count from boot; only BOOTTIME counts
//! suspension). macOS: `mach_continuous_time − mach_absolute_time` (the same pair, in Mach
//! ticks). Neither moves when the wall clock is set. Reading them costs a system call, no
//! process.

use std::time::Duration;

/// The time spent suspended since boot, growing by the length of each sleep.
pub trait SleepClock: Send + Sync {
    /// `None` where the OS does not say.
    fn asleep_total(&self) -> Option<Duration>;
}

/// The OS's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemSleepClock;

impl SleepClock for SystemSleepClock {
    fn asleep_total(&self) -> Option<Duration> {
        imp::asleep_total()
    }
}

/// Linux's CLOCK_MONOTONIC now (logind stamps its idle hints on it); `None` if it cannot be
/// read.
#[cfg(target_os = "linux")]
pub fn monotonic_now() -> Option<Duration> {
    imp::monotonic_now()
}

#[cfg(target_os = "linux")]
mod imp {
    use std::time::Duration;

    fn read(clock: libc::clockid_t) -> Option<Duration> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
        if rc != 0 {
            return None;
        }
        Some(Duration::new(
            u64::try_from(ts.tv_sec).ok()?,
            u32::try_from(ts.tv_nsec).ok()?,
        ))
    }

    /// CLOCK_MONOTONIC now (logind stamps its idle hints on it).
    pub fn monotonic_now() -> Option<Duration> {
        read(libc::CLOCK_MONOTONIC)
    }

    pub fn asleep_total() -> Option<Duration> {
        // Read back to back: the microseconds between the reads are far below the whole
        // seconds the watcher reports, and a difference that comes out negative is zero.
        let boot = read(libc::CLOCK_BOOTTIME)?;
        let mono = read(libc::CLOCK_MONOTONIC)?;
        Some(boot.saturating_sub(mono))
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use std::time::Duration;

    /// `struct mach_timebase_info` (<mach/mach_time.h>): ticks × numer / denom = nanoseconds.
    #[repr(C)]
    struct MachTimebaseInfo {
        numer: u32,
        denom: u32,
    }

    // libSystem (<mach/mach_time.h>). Declared here rather than taken from `libc`, which
    // deprecates its Mach bindings, or `mach2`, for three functions.
    extern "C" {
        fn mach_timebase_info(info: *mut MachTimebaseInfo) -> i32;
        fn mach_absolute_time() -> u64;
        // macOS 10.12+: like mach_absolute_time, but it keeps counting while the machine
        // sleeps.
        fn mach_continuous_time() -> u64;
    }

    /// Mach time units as durations: nanoseconds on Intel, not on Apple silicon (where a tick
    /// is 125/3 ns). Used by the clocks here and by the CPU times of `proc_pid_rusage`.
    pub struct MachTimebase(MachTimebaseInfo);

    impl MachTimebase {
        /// The kernel's timebase, or `None` if it cannot be read.
        pub fn read() -> Option<MachTimebase> {
            let mut timebase = MachTimebaseInfo { numer: 0, denom: 0 };
            // SAFETY: `timebase` is a valid, writable struct for the duration of the call.
            if unsafe { mach_timebase_info(&mut timebase) } != 0 || timebase.denom == 0 {
                return None;
            }
            Some(MachTimebase(timebase))
        }

        /// `ticks` Mach time units as a duration (saturating).
        pub fn duration(&self, ticks: u64) -> Duration {
            let nanos = u128::from(ticks) * u128::from(self.0.numer) / u128::from(self.0.denom);
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        }
    }

    pub fn asleep_total() -> Option<Duration> {
        let timebase = MachTimebase::read()?;
        // SAFETY: both are plain reads of the kernel's clocks, with no arguments. Read back to
        // back, as on Linux.
        let continuous = unsafe { mach_continuous_time() };
        let absolute = unsafe { mach_absolute_time() };
        Some(timebase.duration(continuous.saturating_sub(absolute)))
    }
}

#[cfg(target_os = "macos")]
pub use imp::MachTimebase;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suspended_time_is_read_and_never_runs_backwards() {
        let clock = SystemSleepClock;
        let first = clock.asleep_total().expect("linux and macOS say");
        let second = clock.asleep_total().expect("linux and macOS say");
        // A machine that does not sleep between the two reads: the same figure, give or take
        // the read order.
        assert!(
            second + Duration::from_millis(5) >= first,
            "{first:?} {second:?}"
        );
    }
}
