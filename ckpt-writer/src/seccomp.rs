//! The process's seccomp filters (FORMAT.md SECCOMP_FILTERS, SECCOMP_CODE),
//! read from each frozen thread with PTRACE_SECCOMP_GET_FILTER (which
//! needs CAP_SYS_ADMIN) and PTRACE_SECCOMP_GET_METADATA, oldest first.
//! Restored without them the process would run unconfined, so what cannot
//! be recorded is refused: strict mode, threads whose filters differ, a
//! filter that hands system calls to a user-space supervisor
//! (SECCOMP_RET_USER_NOTIF, whose listener the image cannot carry).

use image_format::v1::records::seccomp;
use image_format::SeccompDesc;

use crate::error::{Error, Result};

const PTRACE_SECCOMP_GET_FILTER: libc::c_uint = 0x420c;
const PTRACE_SECCOMP_GET_METADATA: libc::c_uint = 0x420d;
/// SECCOMP_RET_USER_NOTIF in a `ret #k` (BPF_RET | BPF_K).
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const BPF_RET_K: u16 = 0x06;

/// struct seccomp_metadata.
#[repr(C)]
struct Metadata {
    filter_off: u64,
    flags: u64,
}

/// Whether this process may read (and suspend) a tracee's filters:
/// CAP_SYS_ADMIN in its effective set (/proc/self/status CapEff, bit 21).
pub fn may_read_filters() -> bool {
    procfs::process::Process::myself()
        .and_then(|p| p.status())
        .map(|s| s.capeff & (1 << 21) != 0)
        .unwrap_or(false)
}

/// The filters of thread `tid` (ptrace-stopped), oldest first (the
/// kernel's index 0 is the oldest).
fn filters_of(pid: i32, tid: i32) -> Result<Vec<SeccompDesc>> {
    let mut filters = Vec::new();
    for index in 0u64.. {
        // SAFETY: with a null buffer the call only returns the count.
        let n = unsafe { libc::ptrace(PTRACE_SECCOMP_GET_FILTER, tid, index as *mut libc::c_void, std::ptr::null_mut::<libc::c_void>()) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOENT) => break,
                Some(libc::EACCES) | Some(libc::EPERM) => {
                    return Err(Error::Unsupported(format!(
                        "pid {pid} runs under seccomp filters, which only a dump with CAP_SYS_ADMIN can read"
                    )))
                }
                _ => return Err(Error::sys(format!("reading seccomp filter {index} of thread {tid}"), e)),
            }
        }
        let mut code = vec![[0u8; 8]; n as usize];
        // SAFETY: the kernel writes `n` struct sock_filter (8 bytes each)
        // to the buffer, which holds that many.
        let got = unsafe { libc::ptrace(PTRACE_SECCOMP_GET_FILTER, tid, index as *mut libc::c_void, code.as_mut_ptr().cast::<libc::c_void>()) };
        let mut md = Metadata { filter_off: index, flags: 0 };
        // SAFETY: the kernel reads filter_off and writes the struct, whose
        // size we pass.
        let rc = unsafe { libc::ptrace(PTRACE_SECCOMP_GET_METADATA, tid, std::mem::size_of::<Metadata>() as *mut libc::c_void, (&raw mut md).cast::<libc::c_void>()) };
        if got != n || rc < 0 {
            return Err(Error::sys(format!("reading seccomp filter {index} of thread {tid}"), std::io::Error::last_os_error()));
        }
        let notifies = code.iter().any(|i| u16::from_le_bytes([i[0], i[1]]) == BPF_RET_K && u32::from_le_bytes([i[4], i[5], i[6], i[7]]) & 0xffff_0000 == RET_USER_NOTIF);
        if notifies {
            return Err(Error::Unsupported(format!(
                "pid {pid} runs under a seccomp filter that hands system calls to a supervisor (SECCOMP_RET_USER_NOTIF), which an image cannot carry"
            )));
        }
        filters.push(SeccompDesc { flags: md.flags as u32 & seccomp::KNOWN, code });
    }
    Ok(filters)
}

/// The seccomp filters of process `pid` (its threads `tids`, frozen), or
/// none when it has none.
pub fn read(pid: i32, tids: &[i32]) -> Result<Vec<SeccompDesc>> {
    let status = procfs::process::Process::new(pid)
        .and_then(|p| p.status())
        .map_err(|_| Error::TargetGone { pid, during: "reading /proc/PID/status".into() })?;
    match status.seccomp.unwrap_or(0) {
        0 => return Ok(Vec::new()),
        2 => {}
        _ => return Err(Error::Unsupported(format!("pid {pid} runs in seccomp strict mode, which an image does not record"))),
    }
    let mut filters = None;
    for &tid in tids {
        let mine = filters_of(pid, tid)?;
        match &filters {
            None => filters = Some(mine),
            Some(first) if *first != mine => {
                return Err(Error::Unsupported(format!(
                    "the threads of pid {pid} run under different seccomp filters (thread {tid}), which an image does not record"
                )))
            }
            Some(_) => {}
        }
    }
    Ok(filters.unwrap_or_default())
}
