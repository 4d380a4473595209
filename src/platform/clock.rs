//! How long the machine has been suspended since boot: the one clock fact that tells a sleep from a
//! wall-clock step (NTP, a VM's time sync, the user). Linux: `CLOCK_BOOTTIME − CLOCK_MONOTONIC`;
//! macOS: `mach_continuous_time − mach_absolute_time`. A system call, no process.

use std::time::Duration;

/// The time spent suspended since boot, growing by each sleep's length.
pub trait SleepClock: Send + Sync {
    fn asleep_total(&self) -> Option<Duration>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemSleepClock;

impl SleepClock for SystemSleepClock {
    fn asleep_total(&self) -> Option<Duration> {
        imp::asleep_total()
    }
}

/// Linux's CLOCK_MONOTONIC now (logind stamps its idle hints on it).
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

    pub fn monotonic_now() -> Option<Duration> {
        read(libc::CLOCK_MONOTONIC)
    }

    pub fn asleep_total() -> Option<Duration> {
        // Read back to back: microseconds apart, far below the whole seconds reported.
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

    // libSystem's, declared here (`libc` deprecates its Mach bindings).
    extern "C" {
        fn mach_timebase_info(info: *mut MachTimebaseInfo) -> i32;
        fn mach_absolute_time() -> u64;
        // Like mach_absolute_time, but counting while the machine sleeps.
        fn mach_continuous_time() -> u64;
    }

    /// Mach time units as durations: nanoseconds on Intel, 125/3 ns on Apple silicon. Also the unit
    /// of `proc_pid_rusage`'s CPU times.
    pub struct MachTimebase(MachTimebaseInfo);

    impl MachTimebase {
        pub fn read() -> Option<MachTimebase> {
            let mut timebase = MachTimebaseInfo { numer: 0, denom: 0 };
            // SAFETY: `timebase` is a valid, writable struct for the duration of the call.
            if unsafe { mach_timebase_info(&mut timebase) } != 0 || timebase.denom == 0 {
                return None;
            }
            Some(MachTimebase(timebase))
        }

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
