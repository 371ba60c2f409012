//! The fixed header at offset 0 and the fixed trailer at the end of file.

use core::mem::{offset_of, size_of};

use zerocopy::IntoBytes;

use super::crc::crc32c;
use super::error::{FormatError, Result};
use super::layout::{record, wire_prefix};
use super::limits::{MAX_METADATA_LEN, MAX_PAGE_RUNS, PAGE_SIZE};
use super::section::SECTION_HEADER_SIZE;

/// Magic at offset 0, PNG style: a high-bit byte (catches 7-bit
/// stripping), "CKP", CR LF (catches CR/LF conversion), ^Z (stops DOS
/// `type`), LF (catches LF->CRLF).
pub const MAGIC: [u8; 8] = [0x89, b'C', b'K', b'P', b'\r', b'\n', 0x1a, b'\n'];
/// Magic at the start of the trailer; same construction, "CKE" for "end".
pub const TRAILER_MAGIC: [u8; 8] = [0x89, b'C', b'K', b'E', b'\r', b'\n', 0x1a, b'\n'];
/// Major version this reader understands; any other is refused.
pub const VERSION_MAJOR: u16 = 1;
/// Minor version this writer produces; readers accept any minor.
pub const VERSION_MINOR: u16 = 0;
/// Architecture code for x86-64.
pub const ARCH_X86_64: u32 = 1;
/// Header flag bits known to v1 (`header_flags`).
pub const HEADER_FLAGS_KNOWN: u32 = header_flags::TREE | header_flags::MEMBER;
/// Minor version of tree images (root and members): 1.1 added them.
pub const TREE_MINOR: u16 = 1;

/// Header flag bits.
pub mod header_flags {
    /// The root image of a process tree: its metadata has a TREE section
    /// and the other processes' images follow it in the file.
    pub const TREE: u32 = 1;
    /// A member image of a process tree (not the root): only restored
    /// through its tree (refused as `member-image`).
    pub const MEMBER: u32 = 2;
}
/// Size of the kernel release field (utsname release, NUL padded).
pub const KERNEL_RELEASE_LEN: usize = 65;

record! {
    /// Decoded header. Every field is validated by `parse`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Header = HeaderWire[256] {
        /// MAGIC.
        wire magic: [u8; 8],
        /// Major version (always VERSION_MAJOR once parsed).
        pub major: u16,
        /// Minor version of the writer.
        pub minor: u16,
        /// Architecture (ARCH_X86_64).
        pub arch: u32,
        /// Page size (4096).
        pub page_size: u32,
        /// Flag bits (none defined in v1).
        pub flags: u32,
        /// Dump time, seconds since the epoch (information only).
        pub dump_time_sec: u64,
        /// Dump time, nanoseconds part.
        pub dump_time_nsec: u32,
        /// CRC32C of the whole metadata range.
        pub metadata_crc: u32,
        /// File offset of the metadata (HEADER_SIZE).
        pub metadata_offset: u64,
        /// Length of the metadata.
        pub metadata_len: u64,
        /// File offset of the first stored page (page aligned).
        pub pages_offset: u64,
        /// Length of all stored pages.
        pub pages_len: u64,
        /// File offset of the tail (page-CRC table + trailer).
        pub tail_offset: u64,
        /// Length of the tail.
        pub tail_len: u64,
        /// Total file length.
        pub file_len: u64,
        /// Kernel release of the dumping machine, NUL padded (information only).
        pub kernel_release: [u8; KERNEL_RELEASE_LEN],
        reserved _161: 91,
        /// CRC32C of header bytes 0..252.
        pub crc: u32,
    }
}

/// Header size; metadata starts right after it.
pub const HEADER_SIZE: usize = size_of::<HeaderWire>();
/// Bytes of the header its CRC covers (all before `crc`).
pub const HEADER_CRC_COVERS: usize = offset_of!(HeaderWire, crc);

/// Rounds `v` up to a multiple of `align` (a power of two); None on overflow.
fn align_up(v: u64, align: u64) -> Option<u64> {
    let mask = align.checked_sub(1)?;
    Some(v.checked_add(mask)? & !mask)
}

/// Length of the tail for an image with `runs` page runs.
pub const fn tail_len_for(runs: u32) -> u64 {
    // Page-CRC section: header + 4 bytes per run padded to 8, then trailer.
    // u32 * 4 fits easily in u64, so this cannot overflow.
    SECTION_HEADER_SIZE as u64 + ((runs as u64 * 4 + 7) & !7) + TRAILER_SIZE as u64
}

/// File layout derived from the metadata length and stored page count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Offset of the first page.
    pub pages_offset: u64,
    /// Bytes of page data.
    pub pages_len: u64,
    /// Offset of the tail.
    pub tail_offset: u64,
    /// Length of the tail.
    pub tail_len: u64,
    /// Total file length.
    pub file_len: u64,
}

impl Layout {
    /// Computes the layout; None if the numbers overflow.
    pub fn compute(metadata_len: u64, pages: u64, runs: u32) -> Option<Layout> {
        let pages_offset = align_up((HEADER_SIZE as u64).checked_add(metadata_len)?, PAGE_SIZE)?;
        let pages_len = pages.checked_mul(PAGE_SIZE)?;
        let tail_offset = pages_offset.checked_add(pages_len)?;
        let tail_len = tail_len_for(runs);
        let file_len = tail_offset.checked_add(tail_len)?;
        Some(Layout {
            pages_offset,
            pages_len,
            tail_offset,
            tail_len,
            file_len,
        })
    }
}

impl Header {
    /// Parses and validates the header from the first bytes of the file
    /// (at least HEADER_SIZE; the first page is plenty).
    pub fn parse(b: &[u8]) -> Result<Header> {
        let w: &HeaderWire = wire_prefix(b).ok_or(FormatError::Truncated)?;
        if w.magic != MAGIC {
            return Err(FormatError::BadMagic);
        }
        // The major version is checked before the CRC: a future major may
        // lay out (and checksum) its header differently.
        if w.major.get() != VERSION_MAJOR {
            return Err(FormatError::UnknownMajorVersion);
        }
        let covered = w.as_bytes().get(..HEADER_CRC_COVERS).unwrap_or(&[]);
        if crc32c(covered) != w.crc.get() {
            return Err(FormatError::HeaderChecksum);
        }
        // Every field is an integer or bytes: decoding cannot fail.
        let h = w.decode().ok_or(FormatError::Truncated)?;
        if h.arch != ARCH_X86_64 {
            return Err(FormatError::UnsupportedArch);
        }
        if h.page_size as u64 != PAGE_SIZE {
            return Err(FormatError::UnsupportedPageSize);
        }
        if h.flags & !HEADER_FLAGS_KNOWN != 0 {
            return Err(FormatError::UnknownHeaderFlags);
        }
        if !w.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        if h.dump_time_nsec >= 1_000_000_000 {
            return Err(FormatError::BadTimestamp);
        }
        if !h.kernel_release.contains(&0) {
            return Err(FormatError::StringNotTerminated);
        }
        h.check_layout()?;
        Ok(h)
    }

    fn check_layout(&self) -> Result<()> {
        if self.metadata_len > MAX_METADATA_LEN {
            return Err(FormatError::MetadataOverLimit);
        }
        if self.metadata_len % 8 != 0 || self.pages_len % PAGE_SIZE != 0 {
            return Err(FormatError::Misaligned);
        }
        // The exact tail length depends on the run count, which only the
        // metadata knows; here it must merely be a possible tail length.
        let fixed = (SECTION_HEADER_SIZE + TRAILER_SIZE) as u64;
        let tail_ok = self.tail_len >= fixed
            && self.tail_len <= tail_len_for(MAX_PAGE_RUNS)
            && (self.tail_len - fixed) % 8 == 0;
        let pages_offset = align_up(HEADER_SIZE as u64 + self.metadata_len, PAGE_SIZE);
        let tail_offset = pages_offset.and_then(|p| p.checked_add(self.pages_len));
        let file_len = tail_offset.and_then(|t| t.checked_add(self.tail_len));
        if !tail_ok
            || self.metadata_offset != HEADER_SIZE as u64
            || Some(self.pages_offset) != pages_offset
            || Some(self.tail_offset) != tail_offset
            || Some(self.file_len) != file_len
        {
            return Err(FormatError::LayoutInconsistent);
        }
        Ok(())
    }

    /// The kernel release as bytes, up to its NUL.
    pub fn kernel_release(&self) -> &[u8] {
        let end = self
            .kernel_release
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(0);
        self.kernel_release.get(..end).unwrap_or(&[])
    }

    /// Encodes the header, computing its CRC (the `crc` field is ignored).
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut w = self.to_wire();
        w.magic = MAGIC;
        let crc = crc32c(w.as_bytes().get(..HEADER_CRC_COVERS).unwrap_or(&[]));
        w.crc.set(crc);
        zerocopy::transmute!(w)
    }
}

record! {
    /// Decoded trailer: the last TRAILER_SIZE bytes of the file.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Trailer = TrailerWire[64] {
        /// TRAILER_MAGIC.
        wire magic: [u8; 8],
        /// Total file length; must equal the header's.
        pub file_len: u64,
        /// Number of page runs; must equal the metadata's.
        pub run_count: u64,
        /// Copy of the header CRC.
        pub header_crc: u32,
        /// Copy of the metadata CRC.
        pub metadata_crc: u32,
        /// CRC32C of the whole page-CRC section (header and payload).
        pub page_table_crc: u32,
        reserved _36: 24,
        /// CRC32C of trailer bytes 0..60.
        wire crc: u32,
    }
}

/// Trailer size; it ends the file.
pub const TRAILER_SIZE: usize = size_of::<TrailerWire>();
/// Bytes of the trailer its CRC covers (all before `crc`).
pub const TRAILER_CRC_COVERS: usize = offset_of!(TrailerWire, crc);

impl Trailer {
    /// Parses the trailer bytes (exactly TRAILER_SIZE).
    pub fn parse(b: &[u8]) -> Result<Trailer> {
        let w: &TrailerWire = match b.len() {
            TRAILER_SIZE => wire_prefix(b).ok_or(FormatError::Truncated)?,
            _ => return Err(FormatError::Truncated),
        };
        if w.magic != TRAILER_MAGIC {
            return Err(FormatError::BadTrailerMagic);
        }
        let covered = w.as_bytes().get(..TRAILER_CRC_COVERS).unwrap_or(&[]);
        if crc32c(covered) != w.crc.get() {
            return Err(FormatError::TrailerChecksum);
        }
        if !w.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        w.decode().ok_or(FormatError::Truncated)
    }

    /// Encodes the trailer with its CRC.
    pub fn encode(&self) -> [u8; TRAILER_SIZE] {
        let mut w = self.to_wire();
        w.magic = TRAILER_MAGIC;
        let crc = crc32c(w.as_bytes().get(..TRAILER_CRC_COVERS).unwrap_or(&[]));
        w.crc.set(crc);
        zerocopy::transmute!(w)
    }
}
