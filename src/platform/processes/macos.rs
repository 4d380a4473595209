//! macOS's process facts: `proc_pidinfo(PROC_PIDTBSDINFO)` and the boot session's UUID.

fn bsd_info(pid: u32) -> Option<libc::proc_bsdinfo> {
    let pid = libc::c_int::try_from(pid).ok()?;
    // SAFETY: `proc_bsdinfo` is plain data (all-zero is a valid value), and the kernel writes at
    // most `size` bytes into it.
    unsafe {
        let mut info: libc::proc_bsdinfo = std::mem::zeroed();
        let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
        let written = libc::proc_pidinfo(
            pid,
            libc::PROC_PIDTBSDINFO,
            0,
            (&mut info as *mut libc::proc_bsdinfo).cast(),
            size,
        );
        (written == size).then_some(info)
    }
}

/// The creation timestamp the kernel stored at fork, in microseconds (a wall-clock step does not
/// move it).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let info = bsd_info(pid)?;
    Some(info.pbi_start_tvsec * 1_000_000 + info.pbi_start_tvusec)
}

pub fn group_of(pid: u32) -> Option<u32> {
    Some(bsd_info(pid)?.pbi_pgid)
}

pub fn boot_id() -> Option<String> {
    crate::platform::machine::sysctl_text(c"kern.bootsessionuuid").filter(|id| !id.is_empty())
}

/// `PROC_PPID_ONLY` (<sys/proc_info.h>): list the children of one process.
const PROC_PPID_ONLY: u32 = 6;

fn children_of(pid: u32) -> Vec<u32> {
    let mut buffer = vec![0 as libc::c_int; 1024];
    let size = libc::c_int::try_from(buffer.len() * std::mem::size_of::<libc::c_int>())
        .unwrap_or(libc::c_int::MAX);
    // SAFETY: the kernel writes at most `size` bytes into `buffer` and returns how many.
    let written =
        unsafe { libc::proc_listpids(PROC_PPID_ONLY, pid, buffer.as_mut_ptr().cast(), size) };
    let Ok(written) = usize::try_from(written) else {
        return Vec::new();
    };
    buffer.truncate(written / std::mem::size_of::<libc::c_int>());
    buffer
        .into_iter()
        .filter_map(|child| u32::try_from(child).ok())
        .filter(|child| *child != 0)
        .collect()
}

/// The CPU counters of `root` and the processes below it, walked from `root` with
/// `proc_listpids(PROC_PPID_ONLY)`.
pub fn cpu_table(root: u32) -> Option<Vec<crate::model::ProcessUsage>> {
    let timebase = crate::platform::clock::MachTimebase::read()?;
    let time = |ticks: u64| timebase.duration(ticks);
    let mut table = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        if table.len() > 4096 {
            break;
        }
        let (Some(info), Ok(c_pid)) = (bsd_info(pid), libc::c_int::try_from(pid)) else {
            continue;
        };
        // SAFETY: `rusage_info_v2` is plain data; the kernel fills it for RUSAGE_INFO_V2.
        let usage = unsafe {
            let mut usage: libc::rusage_info_v2 = std::mem::zeroed();
            let status = libc::proc_pid_rusage(
                c_pid,
                libc::RUSAGE_INFO_V2,
                (&mut usage as *mut libc::rusage_info_v2).cast(),
            );
            (status == 0).then_some(usage)
        };
        let Some(usage) = usage else {
            continue;
        };
        table.push(crate::model::ProcessUsage {
            pid,
            start: info.pbi_start_tvsec * 1_000_000 + info.pbi_start_tvusec,
            parent: Some(info.pbi_ppid).filter(|p| *p != 0),
            own: time(usage.ri_user_time.saturating_add(usage.ri_system_time)),
            children: time(
                usage
                    .ri_child_user_time
                    .saturating_add(usage.ri_child_system_time),
            ),
        });
        stack.extend(children_of(pid));
    }
    Some(table)
}
