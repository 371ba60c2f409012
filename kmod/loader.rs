// SPDX-License-Identifier: GPL-2.0
//! `load_binary`: decide whether an executed file is a checkpoint image and
//! whether it may be restored. No `unsafe` here: the kernel is reached
//! through glue.rs.
//!
//! The order is binfmt_elf's: the cheap magic check first ("not ours" is
//! `ENOEXEC`, so every other executable keeps working), then every check on
//! the file. Each refusal returns an errno to a caller that is left exactly
//! as it was, and writes one rate-limited log line naming the reason.
//!
//! Restore itself (the point of no return, mapping the image, entering the
//! restorer stub) is not implemented yet: a valid image is refused with
//! `EOPNOTSUPP` and the reason "restore-not-implemented".

use kernel::error::Error;
use kernel::prelude::*;

use crate::glue::{self, Exec};
use crate::image_format::{FormatError, Header, Image, HEADER_SIZE, MAGIC};

/// Why an image is not restored: the errno for the caller and a stable name
/// for the log line.
struct Refusal {
    errno: Error,
    reason: &'static str,
}

impl From<FormatError> for Refusal {
    fn from(err: FormatError) -> Self {
        Refusal { errno: EINVAL, reason: err.name() }
    }
}

fn refuse(errno: Error, reason: &'static str) -> Refusal {
    Refusal { errno, reason }
}

pub(crate) fn load_binary(exec: &Exec<'_>) -> Result {
    if !glue::restore_enabled() || !exec.head().starts_with(&MAGIC) {
        return Err(ENOEXEC);
    }
    let refusal = match validate(exec) {
        // The kernel crate of 6.12 names no EOPNOTSUPP constant.
        Ok(()) => refuse(Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32)), "restore-not-implemented"),
        Err(refusal) => refusal,
    };
    exec.log_refusal(refusal.reason, refusal.errno);
    Err(refusal.errno)
}

/// A zero-filled buffer of `len` bytes read from the image at `pos`.
fn read_range(exec: &Exec<'_>, pos: u64, len: u64) -> core::result::Result<KVVec<u8>, Refusal> {
    let len = usize::try_from(len).map_err(|_| refuse(ENOMEM, "too-large"))?;
    let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(|_| refuse(ENOMEM, "out-of-memory"))?;
    exec.read_exact_at(pos, &mut buf).map_err(|e| refuse(e, "read-error"))?;
    Ok(buf)
}

/// Every check the shared validator makes, on the bytes the kernel reads.
/// Bounded: the header's lengths are checked against the format's limits
/// (64 MiB of metadata at most) before anything is allocated.
fn validate(exec: &Exec<'_>) -> core::result::Result<(), Refusal> {
    let file_len = exec.file_size();
    let mut head = [0u8; HEADER_SIZE];
    if file_len < HEADER_SIZE as u64 {
        return Err(FormatError::Truncated.into());
    }
    exec.read_exact_at(0, &mut head).map_err(|e| refuse(e, "read-error"))?;
    let header = Header::parse(&head)?;
    if file_len < header.file_len {
        return Err(FormatError::Truncated.into());
    }
    let metadata = read_range(exec, header.metadata_offset, header.metadata_len)?;
    let tail = read_range(exec, header.tail_offset, header.tail_len)?;
    let _image = Image::parse(&head, &metadata, &tail, file_len)?;
    if !exec.grants_no_privilege() {
        return Err(refuse(EPERM, "setuid-setgid-or-file-capabilities"));
    }
    Ok(())
}
