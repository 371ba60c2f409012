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
use crate::image_format::{FormatError, Header, Image, TreeProcess, TreeState, HEADER_SIZE, MAGIC};
use crate::prepare;
use crate::refusal::{error_of, failed, Checked, Reason, Refusal};
use crate::restore;
use crate::tree;

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
    let root = match Image::parse_paced(&head, &metadata, &tail, exec.file_size(), &mut pace) {
        Ok(image) => image,
        Err(e) => return Err(exec.log_refusal(e.name(), error_of(&Refusal::from(e)))),
    };
    // A process tree (tree.rs): its root, or the member a selector names;
    // every member it needs read and validated here.
    let sel = tree::selector(&exec);
    let recs = match tree::records(&root) {
        Ok(r) => r,
        Err(r) => return Err(exec.log_refusal(r.reason.name(), error_of(&r))),
    };
    let wanted = |i: usize, r: &TreeProcess| match sel {
        None => i != 0 && r.state != TreeState::Zombie,
        Some(Ok(s)) => i == s.index as usize && i != 0 && r.state != TreeState::Zombie,
        Some(Err(())) => false,
    };
    let parts = match tree::read_members(&exec, &recs, &wanted) {
        Ok(p) => p,
        Err(r) => return Err(exec.log_refusal(r.reason.name(), error_of(&r))),
    };
    let mut images: KVec<Option<Image<'_>>> = KVec::new();
    let checked = (|| -> Checked<_> {
        for (i, p) in parts.iter().enumerate() {
            let img = match p {
                Some(p) => Some(p.image()?),
                None if i == 0 => Some(root),
                None => None,
            };
            images.push(img, GFP_KERNEL).map_err(|_| Refusal::from(Reason::OutOfMemory))?;
        }
        let (image, base, plan) = match sel {
            None if recs.is_empty() => (root, 0, None),
            None => {
                let plan = tree::for_root(&recs, &images)?;
                // Each member's own checks, as its restore will make them.
                for (rec, img) in recs.iter().zip(images.iter()).skip(1) {
                    if let Some(img) = img {
                        prepare::check_member(&exec, img, rec.image_offset)?;
                    }
                }
                (root, 0, Some(plan))
            }
            Some(Err(())) => return Err(Reason::MemberSelector.into()),
            Some(Ok(_)) if recs.is_empty() => return Err(Reason::MemberSelector.into()),
            Some(Ok(s)) => {
                let rec = tree::selected(&recs, s)?;
                let img = images.get(s.index as usize).and_then(|m| m.as_ref()).ok_or(Refusal::from(Reason::MemberSelector))?;
                let plan = tree::for_member(&recs, img, s)?;
                (*img, rec.image_offset, Some(plan))
            }
        };
        let prepared = prepare::prepare(&exec, &image, base, plan.as_ref())?;
        Ok((image, prepared))
    })();
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
    read_metadata_at(exec, head, 0, exec.file_size())
}

/// [`read_metadata`] of the image at `base` in the file, `len` bytes long
/// (a tree member: its offsets are relative to its start).
pub(crate) fn read_metadata_at(exec: &Exec<'_>, head: &mut [u8; HEADER_SIZE], base: u64, len: u64) -> Checked<(KVVec<u8>, KVVec<u8>)> {
    let end = base.checked_add(len).ok_or(Refusal::from(FormatError::Truncated))?;
    if len < HEADER_SIZE as u64 || end > exec.file_size() {
        return Err(FormatError::Truncated.into());
    }
    exec.read_exact_at(base, head).map_err(|e| failed(Reason::ImageReadError, e))?;
    let header = Header::parse(head)?;
    if len < header.file_len {
        return Err(FormatError::Truncated.into());
    }
    let within = |off: u64, n: u64| off.checked_add(n).is_some_and(|e| e <= len);
    if !within(header.metadata_offset, header.metadata_len) || !within(header.tail_offset, header.tail_len) {
        return Err(FormatError::Truncated.into());
    }
    let metadata = read_range(exec, base + header.metadata_offset, header.metadata_len)?;
    let tail = read_range(exec, base + header.tail_offset, header.tail_len)?;
    Ok((metadata, tail))
}
