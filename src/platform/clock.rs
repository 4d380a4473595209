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

#[cfg(target_os = "linux")]
mod imp {
    use std::time::Duration;

    use nix::time::{clock_gettime, ClockId};

    fn read(clock: ClockId) -> Option<Duration> {
        clock_gettime(clock).ok().map(Duration::from)
    }

    pub fn asleep_total() -> Option<Duration> {
        // Read back to back: microseconds apart, far below the whole seconds reported.
        let boot = read(ClockId::CLOCK_BOOTTIME)?;
        let mono = read(ClockId::CLOCK_MONOTONIC)?;
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
