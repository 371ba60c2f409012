//! Section framing: a 32-byte section header, then the payload.
//!
//! Sections let a later minor version add data that older readers can skip
//! (optional flag) or must refuse (required), like PNG chunks.

use super::bytes::{get_u32, get_u64, put_u32, put_u64};
use super::crc::Crc32c;
use super::error::{FormatError, Result};

/// Size of a section header.
pub const SECTION_HEADER_SIZE: usize = 32;
/// Section flag: a reader that does not know the kind may skip it.
pub const SECTION_OPTIONAL: u32 = 1;

/// Section kinds. Kinds must appear in strictly increasing order.
pub mod kind {
    /// One process record.
    pub const PROCESS: u32 = 1;
    /// String table: NUL-terminated byte strings referenced by StrRef.
    pub const STRINGS: u32 = 2;
    /// Auxiliary vector entries.
    pub const AUXV: u32 = 3;
    /// Thread records (fixed part + XSAVE area).
    pub const THREADS: u32 = 4;
    /// 64 signal actions.
    pub const SIGACTIONS: u32 = 5;
    /// Memory regions.
    pub const REGIONS: u32 = 6;
    /// Page runs of all regions.
    pub const PAGE_RUNS: u32 = 7;
    /// Open file descriptors.
    pub const FDS: u32 = 8;
    /// Reserved: pending signals (later version).
    pub const PENDING_SIGNALS: u32 = 16;
    /// Reserved: POSIX and interval timers (later version).
    pub const TIMERS: u32 = 17;
    /// Reserved: process tree (later version).
    pub const PROCESS_TREE: u32 = 18;
    /// Reserved: incremental dump parent reference (later version).
    pub const INCREMENTAL_PARENT: u32 = 19;
    /// Page-CRC table; only valid in the tail, after the page data.
    pub const PAGE_CRCS: u32 = 0x100;
}

/// One framed section; `payload` borrows from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section<'a> {
    /// Section kind.
    pub kind: u32,
    /// Section flags.
    pub flags: u32,
    /// Number of records (bytes, for STRINGS).
    pub count: u32,
    /// Bytes per record.
    pub record_size: u32,
    /// Payload, padded to a multiple of 8 bytes.
    pub payload: &'a [u8],
}

impl<'a> Section<'a> {
    /// Reads the section at the start of `b`; returns it and the rest.
    pub fn read(b: &'a [u8]) -> Result<(Section<'a>, &'a [u8])> {
        let head = b
            .get(..SECTION_HEADER_SIZE)
            .ok_or(FormatError::SectionOverrun)?;
        let payload_len = get_u64(head, 8);
        if payload_len % 8 != 0 {
            return Err(FormatError::Misaligned);
        }
        let end = usize::try_from(payload_len)
            .ok()
            .and_then(|l| l.checked_add(SECTION_HEADER_SIZE))
            .ok_or(FormatError::SectionOverrun)?;
        let whole = b.get(..end).ok_or(FormatError::SectionOverrun)?;
        let payload = whole.get(SECTION_HEADER_SIZE..).unwrap_or(&[]);
        let mut crc = Crc32c::new();
        crc.update(head.get(..28).unwrap_or(&[]));
        crc.update(payload);
        if crc.finish() != get_u32(head, 28) {
            return Err(FormatError::SectionChecksum);
        }
        let s = Section {
            kind: get_u32(head, 0),
            flags: get_u32(head, 4),
            count: get_u32(head, 16),
            record_size: get_u32(head, 20),
            payload,
        };
        if s.flags & !SECTION_OPTIONAL != 0 {
            return Err(FormatError::UnknownSectionFlags);
        }
        if get_u32(head, 24) != 0 {
            return Err(FormatError::ReservedNotZero);
        }
        let used = (s.count as u64) * (s.record_size as u64);
        if (used + 7) & !7 != payload_len {
            return Err(FormatError::SectionSizeMismatch);
        }
        // Padding must be zero so that every byte has exactly one meaning.
        if !payload
            .get(used as usize..)
            .is_some_and(|pad| pad.iter().all(|&b| b == 0))
        {
            return Err(FormatError::ReservedNotZero);
        }
        Ok((s, b.get(end..).unwrap_or(&[])))
    }

    /// The records area without the padding.
    pub fn records(&self) -> &'a [u8] {
        let used = (self.count as usize).saturating_mul(self.record_size as usize);
        self.payload.get(..used).unwrap_or(&[])
    }
}

/// Encodes a section header for `payload` (already padded to 8 bytes).
pub fn encode_section_header(
    kind: u32,
    flags: u32,
    count: u32,
    record_size: u32,
    payload: &[u8],
) -> [u8; SECTION_HEADER_SIZE] {
    let mut h = [0u8; SECTION_HEADER_SIZE];
    put_u32(&mut h, 0, kind);
    put_u32(&mut h, 4, flags);
    put_u64(&mut h, 8, payload.len() as u64);
    put_u32(&mut h, 16, count);
    put_u32(&mut h, 20, record_size);
    let mut crc = Crc32c::new();
    crc.update(h.get(..28).unwrap_or(&[]));
    crc.update(payload);
    put_u32(&mut h, 28, crc.finish());
    h
}
