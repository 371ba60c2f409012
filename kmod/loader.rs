// SPDX-License-Identifier: GPL-2.0
//! `load_binary`: the order of a restore, in one screen. No `unsafe` here:
//! the kernel is reached through glue.rs.
//!
//! The order is binfmt_elf's:
//! 1. the cheap magic check ("not ours" is `ENOEXEC`, so every other
//!    executable keeps working);
//! 2. read and validate all of the image's metadata with the validator the
//!    tools share (a candidate becomes a validated image);
//! 3. check everything that depends on the caller and this machine
//!    (prepare.rs: the shared policy's checks, then the stub's plan);
//! 4. THE POINT OF NO RETURN (`Exec::commit`, begin_new_exec);
//! 5. map the image and enter the restorer stub (restore.rs).
//!
//! Until 4, each refusal returns an errno to a caller that is left exactly
//! as it was, and writes one rate-limited log line naming the reason.
//! After it, a failure kills the task, as in binfmt_elf.

use kernel::prelude::*;

use crate::glue::{self, Exec};
use crate::image_format::{FormatError, Header, Image, HEADER_SIZE, MAGIC};
use crate::prepare;
use crate::refusal::{error_of, failed, Checked, Reason, Refusal};
use crate::restore;

pub(crate) fn load_binary(exec: Exec<'_>) -> Result {
    // 1. Ours at all?
    if !glue::restore_enabled() || !exec.head().starts_with(&MAGIC) {
        return Err(ENOEXEC);
    }

    // 2. Validated, 3. checked against the caller.
    let mut head = [0u8; HEADER_SIZE];
    let (metadata, tail) = match read_metadata(&exec, &mut head) {
        Ok(bufs) => bufs,
        Err(r) => return Err(exec.log_refusal(r.reason.name(), error_of(&r))),
    };
    // Validation checksums up to 64 MiB: it yields between pieces.
    let mut pace = || yield_before_commit().is_ok();
    let checked = Image::parse_paced(&head, &metadata, &tail, exec.file_size(), &mut pace)
        .map_err(Refusal::from)
        .and_then(|image| Ok((image, prepare::prepare(&exec, &image)?)));
    let (image, prepared) = match checked {
        Ok(v) => v,
        Err(r) => return Err(exec.log_refusal(r.reason.name(), error_of(&r))),
    };

    // ==================== 4. THE POINT OF NO RETURN ====================
    let committed = exec.commit()?;
    // ==== From here on, an error kills the task. ====

    // 5. The new process image, then the stub.
    let failure = committed.failure_logger();
    restore::restore(committed, &image, prepared).map_err(|(err, step)| failure.log(step.name(), err))
}

/// [`glue::yield_now`] for the loops before the point of no return: a
/// pending fatal signal ends the exec there (the task dies of it).
pub(crate) fn yield_before_commit() -> Checked<()> {
    glue::yield_now().map_err(|_| Refusal::from(FormatError::Interrupted))
}

/// Bytes read in one step: up to 64 MiB of metadata are read in steps, so
/// that a killed caller stops between them.
const READ_CHUNK: usize = 1 << 20;

/// A zero-filled buffer of `len` bytes read from the image at `pos`.
fn read_range(exec: &Exec<'_>, pos: u64, len: u64) -> Checked<KVVec<u8>> {
    let len = usize::try_from(len).map_err(|_| Refusal::from(Reason::TooLarge))?;
    let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(|_| Refusal::from(Reason::OutOfMemory))?;
    let mut at = pos;
    for piece in buf.chunks_mut(READ_CHUNK) {
        yield_before_commit()?;
        exec.read_exact_at(at, piece).map_err(|e| failed(Reason::ImageReadError, e))?;
        at += piece.len() as u64;
    }
    Ok(buf)
}

/// The header, metadata and tail, as the header names them. Bounded: the
/// header's lengths are checked against the format's limits (64 MiB of
/// metadata at most) before anything is allocated.
fn read_metadata(exec: &Exec<'_>, head: &mut [u8; HEADER_SIZE]) -> Checked<(KVVec<u8>, KVVec<u8>)> {
    let file_len = exec.file_size();
    if file_len < HEADER_SIZE as u64 {
        return Err(FormatError::Truncated.into());
    }
    exec.read_exact_at(0, head).map_err(|e| failed(Reason::ImageReadError, e))?;
    let header = Header::parse(head)?;
    if file_len < header.file_len {
        return Err(FormatError::Truncated.into());
    }
    let metadata = read_range(exec, header.metadata_offset, header.metadata_len)?;
    let tail = read_range(exec, header.tail_offset, header.tail_len)?;
    Ok((metadata, tail))
}
