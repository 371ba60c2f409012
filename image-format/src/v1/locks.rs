//! LOCKS section checks: file locks the stub takes again through an fd it
//! restores. Kept beside metadata.rs, which calls [`check_locks`] with its
//! records and a lookup of the FDS records.

use super::error::{FormatError, Result};
use super::records::{FdDisposition, LockKind, LockWire};

/// The largest offset a lock may reach (off_t is signed).
const MAX_OFFSET: u64 = i64::MAX as u64;

/// Checks the LOCKS records: each a known kind, read or write, a range
/// the kernel accepts (start + len - 1 within off_t; flock has none),
/// through an fd the restore opens (reopened or shared: an inherited fd is
/// the caller's file, a closed one is not there), sorted by fd, kind and
/// start, which also rules out duplicates. `disposition` looks an fd up in
/// FDS; `pace` as for the other sections.
pub(super) fn check_locks(
    locks: &[LockWire],
    disposition: impl Fn(u32) -> Option<FdDisposition>,
    pace: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let mut prev: Option<(u32, u32, u64)> = None;
    for w in locks {
        pace()?;
        if !w.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        let l = w.decode().ok_or(FormatError::UnknownLockKind)?;
        if l.write > 1 || l.start > MAX_OFFSET || l.len > MAX_OFFSET {
            return Err(FormatError::BadLock);
        }
        if l.len != 0 && l.start.saturating_add(l.len - 1) > MAX_OFFSET {
            return Err(FormatError::BadLock);
        }
        if l.kind == LockKind::Flock && (l.start != 0 || l.len != 0) {
            return Err(FormatError::BadLock);
        }
        match disposition(l.fd) {
            Some(FdDisposition::Reopen | FdDisposition::Shared) => {}
            _ => return Err(FormatError::BadLockFd),
        }
        let key = (l.fd, l.kind as u32, l.start);
        if prev.is_some_and(|p| key <= p) {
            return Err(FormatError::LocksUnsortedOrDuplicate);
        }
        prev = Some(key);
    }
    Ok(())
}
