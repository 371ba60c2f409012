//! Pending signals: the process's shared queue and each thread's own,
//! read with PTRACE_PEEKSIGINFO while the writer holds every thread
//! stopped. Peeking does not dequeue: a dump that fails later leaves every
//! signal pending, as it was.
//!
//! SIGKILL and SIGSTOP are not recorded: a pending SIGKILL means the
//! process is already dying (the dump fails when it goes), and a pending
//! SIGSTOP would stop the restored process, which its user did not ask
//! for (FORMAT.md, PENDING_SIGNALS).

use image_format::v1::records::{PendingSignal, SignalScope, SIGINFO_LEN};

use crate::error::{Error, Result};

/// PTRACE_PEEKSIGINFO_SHARED: peek the process-wide queue.
const PEEKSIGINFO_SHARED: u32 = 1;
/// Entries read per call.
const BATCH: usize = 64;
/// Size of the user-space siginfo_t the kernel writes per entry.
const SIGINFO_USER_LEN: usize = 128;

/// struct ptrace_peeksiginfo_args.
#[repr(C)]
struct PeekArgs {
    off: u64,
    flags: u32,
    nr: i32,
}

/// One queued signal as read from the target.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    pub signo: u32,
    /// The thread whose own queue holds it; None: the process's queue.
    pub tid: Option<i32>,
    pub siginfo: [u8; SIGINFO_LEN],
}

/// Every siginfo in one queue of stopped thread `tid`, in queue order.
fn peek_queue(tid: i32, shared: bool) -> Result<Vec<[u8; SIGINFO_USER_LEN]>> {
    let mut out = Vec::new();
    loop {
        let mut buf = vec![[0u8; SIGINFO_USER_LEN]; BATCH];
        let args = PeekArgs {
            off: out.len() as u64,
            flags: if shared { PEEKSIGINFO_SHARED } else { 0 },
            nr: BATCH as i32,
        };
        // SAFETY: `args` is a valid ptrace_peeksiginfo_args and `buf` has
        // room for `nr` siginfo_t, which is all the kernel writes.
        let rc = unsafe { libc::ptrace(libc::PTRACE_PEEKSIGINFO as _, tid, &args as *const PeekArgs, buf.as_mut_ptr()) };
        if rc < 0 {
            let queue = if shared { "the process's" } else { "its own" };
            return Err(Error::sys(format!("PTRACE_PEEKSIGINFO of {queue} queue in thread {tid}"), std::io::Error::last_os_error()));
        }
        let n = rc as usize;
        out.extend_from_slice(&buf[..n.min(BATCH)]);
        if n < BATCH {
            return Ok(out);
        }
    }
}

fn pending(info: &[u8; SIGINFO_USER_LEN], tid: Option<i32>) -> Option<Pending> {
    let signo = u32::from_le_bytes(info[..4].try_into().ok()?);
    if signo == libc::SIGKILL as u32 || signo == libc::SIGSTOP as u32 {
        return None;
    }
    let mut siginfo = [0u8; SIGINFO_LEN];
    siginfo.copy_from_slice(&info[..SIGINFO_LEN]);
    Some(Pending { signo, tid, siginfo })
}

/// The process queue (read through the first thread), then each thread's
/// own queue in `tids` order (sorted).
pub fn read_pending(tids: &[i32]) -> Result<Vec<Pending>> {
    let mut out = Vec::new();
    if let Some(&first) = tids.first() {
        out.extend(peek_queue(first, true)?.iter().filter_map(|i| pending(i, None)));
    }
    for &tid in tids {
        out.extend(peek_queue(tid, false)?.iter().filter_map(|i| pending(i, Some(tid))));
    }
    Ok(out)
}

/// The image's records, in the same order.
pub fn describe(pending: &[Pending]) -> Vec<PendingSignal> {
    pending
        .iter()
        .map(|p| PendingSignal {
            signo: p.signo,
            scope: if p.tid.is_some() { SignalScope::Thread } else { SignalScope::Process },
            tid: p.tid.unwrap_or(0) as u32,
            siginfo: p.siginfo,
        })
        .collect()
}

/// si_errno, si_code, and the first union words as the rt/kill layout
/// reads them (sender pid, sender uid, sigval), for `inspect`. For other
/// layouts (timers, faults, SIGCHLD) the words mean other things; `inspect
/// --json` gives the raw bytes too.
pub fn siginfo_fields(info: &[u8; SIGINFO_LEN]) -> (i32, i32, u32, u32, u64) {
    let w32 = |o: usize| u32::from_le_bytes(info[o..o + 4].try_into().unwrap_or([0; 4]));
    let w64 = u64::from_le_bytes(info[24..32].try_into().unwrap_or([0; 8]));
    (w32(4) as i32, w32(8) as i32, w32(16), w32(20), w64)
}
