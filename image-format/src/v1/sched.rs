//! SCHED and SECCOMP section checks. SCHED: one record per thread, in THREADS order, each a
//! policy, nice value, real-time priority and I/O priority the kernel
//! accepts, and an affinity mask only where flagged. Kept beside
//! metadata.rs, which calls [`check_sched`] with its records and the
//! threads' tids.

use super::error::{FormatError, Result};
use super::records::{sched_flags, seccomp, Sched, SchedWire, SeccompFilterWire};

/// Whether `s` holds values a restorer can hand to sched_setattr,
/// ioprio_set and sched_setaffinity.
pub fn sched_ok(s: &Sched) -> bool {
    let nice = s.nice as i32;
    let rt = s.policy == sched_flags::FIFO || s.policy == sched_flags::RR;
    let priority_ok = if rt { (1..=99).contains(&s.priority) } else { s.priority == 0 };
    let (class, level) = (s.ioprio >> 13, s.ioprio & 0x1fff);
    let ioprio_ok = class <= 3 && level <= 7 && (class != 0 || level == 0);
    let masked = s.affinity.iter().any(|&b| b != 0);
    let affinity_ok = masked == (s.flags & sched_flags::AFFINITY != 0);
    sched_flags::POLICIES.contains(&s.policy)
        && s.flags & !sched_flags::KNOWN == 0
        && (-20..=19).contains(&nice)
        && priority_ok
        && ioprio_ok
        && affinity_ok
}

/// Checks the SCHED records against the threads' tids (`tids`, THREADS
/// order, `threads` of them): none, or one each in that order, every one
/// valid.
pub(super) fn check_sched(
    records: &[SchedWire],
    threads: usize,
    mut tids: impl Iterator<Item = u32>,
    pace: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    if records.len() != threads {
        return Err(FormatError::BadSched);
    }
    for w in records {
        pace()?;
        if !w.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        let s = w.decode().ok_or(FormatError::BadSched)?;
        if Some(s.tid) != tids.next() || !sched_ok(&s) {
            return Err(FormatError::BadSched);
        }
    }
    Ok(())
}

/// Checks the SECCOMP_FILTERS records and their SECCOMP_CODE: each filter
/// 1..=4096 instructions with known flags, all of them within the
/// kernel's per-process bound, the code exactly their instructions. The
/// instructions themselves are the kernel's to check when the stub
/// installs them (seccomp(2) refuses a bad program).
pub(super) fn check_seccomp(filters: &[SeccompFilterWire], code: usize) -> Result<()> {
    let mut total = 0u64;
    let mut path = 0u64;
    for w in filters {
        if !w.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        let f = w.decode().ok_or(FormatError::BadSeccomp)?;
        if f.len == 0 || f.len > seccomp::MAX_INSNS || f.flags & !seccomp::KNOWN != 0 {
            return Err(FormatError::BadSeccomp);
        }
        total += u64::from(f.len);
        path += u64::from(f.len) + 4;
    }
    if path > u64::from(seccomp::MAX_PATH) || total != code as u64 {
        return Err(FormatError::BadSeccomp);
    }
    Ok(())
}
