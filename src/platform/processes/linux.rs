//! Linux's process facts: `/proc/PID/stat` and the kernel's boot id.

/// The fields of `/proc/PID/stat` after the command name (which is in parentheses and may hold
/// spaces or parentheses itself, so the split is at the last `)`): index 0 is field 3.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Field 22, `starttime`: clock ticks after boot at which the process started.
pub fn start_ticks(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(22 - 3)?.parse().ok()
}

/// Field 5, `pgrp`.
pub fn group_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(5 - 3)?.parse().ok()
}

/// A random UUID the kernel makes at each boot.
pub fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_string())
}
