//! Section framing: a 32-byte section header, then the payload.
//!
//! Sections let a later minor version add data that older readers can skip
//! (optional flag) or must refuse (required), like PNG chunks.

use core::mem::size_of;

use zerocopy::IntoBytes;

use super::crc::Crc32c;
use super::error::{FormatError, Result};
use super::layout::{record, wire_prefix};

record! {
    /// A section header as stored (`Section` is the checked view).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SectionHeader = SectionHeaderWire[32] {
        /// Section kind.
        pub kind: u32,
        /// Section flags.
        pub flags: u32,
        /// Payload length (a multiple of 8).
        pub payload_len: u64,
        /// Number of records (bytes, for STRINGS).
        pub count: u32,
        /// Bytes per record.
        pub record_size: u32,
        reserved _24: 4,
        /// CRC32C over header bytes 0..28 and the payload.
        wire crc: u32,
    }
}

/// Size of a section header.
pub const SECTION_HEADER_SIZE: usize = size_of::<SectionHeaderWire>();
/// Bytes of a section header the section CRC covers (all before `crc`).
pub const SECTION_CRC_COVERS: usize = core::mem::offset_of!(SectionHeaderWire, crc);
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
    /// Open file descriptions that FDS records share (absent: none).
    pub const FILES: u32 = 9;
    /// Bytes of the open file descriptions (queued pipe bytes); like
    /// STRINGS, one byte per record (absent: none).
    pub const FILE_DATA: u32 = 10;
    /// Interest lists of the epoll descriptions in FILES (absent: none).
    pub const EPOLL: u32 = 11;
    /// Open file descriptions that are tree objects (tree images only;
    /// absent: none).
    pub const TREE_FILES: u32 = 12;
    /// Shared regions that map tree objects (tree images only; absent: none).
    pub const TREE_REGIONS: u32 = 13;
    /// Socket options of the sockets in FILES (absent: every option at
    /// its default).
    pub const SOCKOPTS: u32 = 14;
    /// Reserved: kind 15 for more file state.
    /// Pending signals with their siginfo (absent: none).
    pub const PENDING_SIGNALS: u32 = 16;
    /// Interval timers and POSIX timers (absent: none).
    pub const TIMERS: u32 = 17;
    /// The processes of a tree (the root image of a tree only).
    pub const TREE: u32 = 18;
    /// Reserved: incremental dump parent reference (later version).
    pub const INCREMENTAL_PARENT: u32 = 19;
    /// File locks held at dump (absent: none).
    pub const LOCKS: u32 = 20;
    /// Process attributes set with prctl(2): the parent-death signal,
    /// child subreaper, no_new_privs, not dumpable (absent: all at their
    /// defaults).
    pub const PROCESS_ATTRS: u32 = 21;
    /// The process's credentials (absent: a restorer keeps the caller's).
    pub const CREDS: u32 = 22;
    /// Its supplementary groups (with CREDS only).
    pub const GROUPS: u32 = 23;
    /// Each thread's scheduling policy, nice value, I/O priority and CPU
    /// affinity (absent: every thread at the defaults).
    pub const SCHED: u32 = 24;
    /// The process's seccomp filters, oldest first (absent: none).
    pub const SECCOMP_FILTERS: u32 = 25;
    /// Their instructions, filter after filter (with SECCOMP_FILTERS).
    pub const SECCOMP_CODE: u32 = 26;
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
        Section::read_paced(b, &mut || true)
    }

    /// [`Section::read`], calling `pace` while checksumming (see
    /// [`crc32c_paced`]).
    pub fn read_paced(b: &'a [u8], pace: &mut dyn FnMut() -> bool) -> Result<(Section<'a>, &'a [u8])> {
        let head: &SectionHeaderWire = wire_prefix(b).ok_or(FormatError::SectionOverrun)?;
        let payload_len = head.payload_len.get();
        if payload_len % 8 != 0 {
            return Err(FormatError::Misaligned);
        }
        let end = usize::try_from(payload_len)
            .ok()
            .and_then(|l| l.checked_add(SECTION_HEADER_SIZE))
            .ok_or(FormatError::SectionOverrun)?;
        let whole = b.get(..end).ok_or(FormatError::SectionOverrun)?;
        let payload = whole.get(SECTION_HEADER_SIZE..).unwrap_or(&[]);
        if section_crc_paced(head, payload, pace)? != head.crc.get() {
            return Err(FormatError::SectionChecksum);
        }
        let s = Section {
            kind: head.kind.get(),
            flags: head.flags.get(),
            count: head.count.get(),
            record_size: head.record_size.get(),
            payload,
        };
        if s.flags & !SECTION_OPTIONAL != 0 {
            return Err(FormatError::UnknownSectionFlags);
        }
        if !head.reserved_zero() {
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

/// [`section_crc`], calling `pace` between pieces of the payload.
fn section_crc_paced(head: &SectionHeaderWire, payload: &[u8], pace: &mut dyn FnMut() -> bool) -> Result<u32> {
    let mut crc = Crc32c::new();
    crc.update(head.as_bytes().get(..SECTION_CRC_COVERS).unwrap_or(&[]));
    crc.update_paced(payload, pace)?;
    Ok(crc.finish())
}

/// CRC32C of a section: its header up to the CRC field, then the payload.
pub fn section_crc(head: &SectionHeaderWire, payload: &[u8]) -> u32 {
    let mut crc = Crc32c::new();
    crc.update(head.as_bytes().get(..SECTION_CRC_COVERS).unwrap_or(&[]));
    crc.update(payload);
    crc.finish()
}

/// Encodes a section header for `payload` (already padded to 8 bytes).
pub fn encode_section_header(
    kind: u32,
    flags: u32,
    count: u32,
    record_size: u32,
    payload: &[u8],
) -> [u8; SECTION_HEADER_SIZE] {
    let mut h = SectionHeader {
        kind,
        flags,
        payload_len: payload.len() as u64,
        count,
        record_size,
    }
    .to_wire();
    h.crc.set(section_crc(&h, payload));
    zerocopy::transmute!(h)
}
