//! Linux's process facts: `/proc/PID/stat` and the kernel's boot id.

/// Field `n` of a `/proc/PID/stat`, counted after the command name (in parentheses, which may
/// hold spaces or parentheses too: split at the last `)`).
fn stat_field<T: std::str::FromStr>(stat: &str, n: usize) -> Option<T> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(n - 3)?.parse().ok()
}

fn read_stat(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()
}

/// Field 22, `starttime`: clock ticks after boot.
pub fn start_ticks(pid: u32) -> Option<u64> {
    stat_field(&read_stat(pid)?, 22)
}

pub fn group_of(pid: u32) -> Option<u32> {
    stat_field(&read_stat(pid)?, 5)
}

pub fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// Every process's CPU counters, one `/proc/PID/stat` read each; the caller picks `root`'s tree.
pub fn cpu_table(_root: u32) -> Option<Vec<crate::model::ProcessUsage>> {
    // SAFETY: sysconf only reads a constant of the system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0)?;
    let processes = std::fs::read_dir("/proc").ok()?.flatten();
    let table = processes.filter_map(|entry| {
        let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
        parse_cpu(pid, &read_stat(pid)?, ticks)
    });
    Some(table.collect())
}

/// Fields 4 (ppid), 14–17 (utime, stime, cutime, cstime, in clock ticks) and 22 (starttime).
fn parse_cpu(pid: u32, stat: &str, ticks_per_sec: u64) -> Option<crate::model::ProcessUsage> {
    let field = |n: usize| stat_field::<u64>(stat, n);
    let ticks = |t: u64| {
        std::time::Duration::from_secs(t / ticks_per_sec)
            + std::time::Duration::from_nanos((t % ticks_per_sec) * 1_000_000_000 / ticks_per_sec)
    };
    let parent = field(4)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p != 0);
    Some(crate::model::ProcessUsage {
        pid,
        start: field(22)?,
        parent,
        own: ticks(field(14)? + field(15)?),
        children: ticks(field(16)? + field(17)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_counters_from_a_stat_line_with_spaces_in_the_name() {
        // A raylet's line (recorded on the lab's laptop host), its name changed to hold ") (".
        let stat = "4242 (ray let) (x) S 4240 4240 4240 0 -1 4194560 51224 0 0 0 \
                    1250 375 40 10 20 0 37 0 987654 2345678848 12345 18446744073709551615";
        let usage = parse_cpu(4242, stat, 100).expect("parsed");
        assert_eq!(usage.parent, Some(4240));
        assert_eq!(usage.own, std::time::Duration::from_millis(16_250));
        assert_eq!(usage.children, std::time::Duration::from_millis(500));
        assert_eq!(usage.start, 987_654);
    }
}
