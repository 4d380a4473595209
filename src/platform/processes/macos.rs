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

/// The creation timestamp the kernel stored for the process, in microseconds. Stored once at
/// fork: a later step of the wall clock does not change it.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let info = bsd_info(pid)?;
    Some(info.pbi_start_tvsec * 1_000_000 + info.pbi_start_tvusec)
}

/// Its process group.
pub fn group_of(pid: u32) -> Option<u32> {
    Some(bsd_info(pid)?.pbi_pgid)
}

/// `kern.bootsessionuuid`: a UUID made at each boot.
pub fn boot_id() -> Option<String> {
    let name = c"kern.bootsessionuuid";
    let mut buffer = [0u8; 64];
    let mut size = buffer.len();
    // SAFETY: the name is NUL-terminated; the kernel writes at most `size` bytes and updates it.
    let status = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buffer.as_mut_ptr().cast(),
            &mut size,
            std::ptr::null_mut(),
            0,
        )
    };
    if status != 0 {
        return None;
    }
    let text = std::str::from_utf8(&buffer[..size.min(buffer.len())]).ok()?;
    let id = text.trim_end_matches('\0').trim();
    (!id.is_empty()).then(|| id.to_string())
}
