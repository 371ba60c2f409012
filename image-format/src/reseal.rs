//! Recomputing every checksum of an edited image, so that an edit reaches
//! the check it is aimed at instead of the first CRC. For tests and the
//! structure-aware mutator (qemu-tests), never for writing real images.

use zerocopy::{FromBytes, IntoBytes};

use crate::fields::metadata_sections;
use crate::v1::header::{HeaderWire, TrailerWire, HEADER_CRC_COVERS, TRAILER_CRC_COVERS};
use crate::v1::section::{section_crc, SectionHeaderWire, SECTION_HEADER_SIZE};
use crate::v1::{crc32c, HEADER_SIZE, TRAILER_SIZE};

/// The section header at `pos` and the bytes after it up to `limit`, or
/// None if it does not fit.
fn section_at(b: &mut [u8], pos: usize, limit: usize) -> Option<(&mut SectionHeaderWire, &[u8])> {
    let region = b.get_mut(pos..limit).filter(|r| r.len() >= SECTION_HEADER_SIZE)?;
    let (head, rest) = region.split_at_mut(SECTION_HEADER_SIZE);
    let head = SectionHeaderWire::mut_from_bytes(head).ok()?;
    Some((head, rest))
}

/// Recomputes the CRCs of an edited image in place: each section's (unless
/// `sections` is false, to leave a section CRC as the edit made it), the
/// metadata's, the header's, the page-CRC table's and the trailer's, with
/// the trailer's copies of the header and metadata CRCs. Page data CRCs
/// are left alone. Works on any bytes: fields that make no sense (lengths
/// past the end) are skipped, never trusted.
pub fn reseal_checksums(b: &mut [u8], sections: bool) {
    let Ok((header, _)) = HeaderWire::ref_from_prefix(b) else {
        return;
    };
    // The root image of a tree ends where its header says; its members
    // follow (each a complete image of its own).
    let tree = header.flags.get() & crate::v1::header_flags::TREE != 0;
    let n = match usize::try_from(header.file_len.get()) {
        Ok(len) if tree && len <= b.len() => len,
        _ => b.len(),
    };
    if n < HEADER_SIZE + TRAILER_SIZE {
        return;
    }
    let trailer_at = n - TRAILER_SIZE;
    let mlen = usize::try_from(header.metadata_len.get()).unwrap_or(usize::MAX);
    let tail_offset = usize::try_from(header.tail_offset.get()).ok();
    let mend = HEADER_SIZE.saturating_add(mlen).min(n);
    if sections {
        for s in metadata_sections(b) {
            if let Some((head, rest)) = section_at(b, s.header, s.records + s.payload_len) {
                let crc = section_crc(head, rest);
                head.crc.set(crc);
            }
        }
    }
    let mcrc = crc32c(&b[HEADER_SIZE..mend]);
    let hcrc = match HeaderWire::mut_from_prefix(b) {
        Ok((h, _)) => {
            h.metadata_crc.set(mcrc);
            h.crc.set(crc32c(&h.as_bytes()[..HEADER_CRC_COVERS]));
            h.crc.get()
        }
        Err(_) => return,
    };
    // The page-CRC table: a section from tail_offset up to the trailer.
    let mut table_crc = None;
    if let Some(t) = tail_offset.filter(|&t| t <= trailer_at) {
        if let Some((head, rest)) = section_at(b, t, trailer_at) {
            let crc = section_crc(head, rest);
            head.crc.set(crc);
            table_crc = Some(crc32c(&b[t..trailer_at]));
        }
    }
    let Ok(trailer) = TrailerWire::mut_from_bytes(&mut b[trailer_at..]) else {
        return;
    };
    if let Some(c) = table_crc {
        trailer.page_table_crc.set(c);
    }
    trailer.header_crc.set(hcrc);
    trailer.metadata_crc.set(mcrc);
    trailer.crc.set(crc32c(&trailer.as_bytes()[..TRAILER_CRC_COVERS]));
}
