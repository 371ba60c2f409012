//! The fixed header at offset 0 and the fixed trailer at the end of file.

use super::bytes::{
    align_up, get_bytes, get_u16, get_u32, get_u64, is_zero, put, put_u16, put_u32, put_u64,
};
use super::crc::crc32c;
use super::error::{FormatError, Result};
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
/// Header size; metadata starts right after it.
pub const HEADER_SIZE: usize = 256;
/// Trailer size; it ends the file.
pub const TRAILER_SIZE: usize = 64;
/// Header flag bits known to v1 (none yet).
pub const HEADER_FLAGS_KNOWN: u32 = 0;
/// Size of the kernel release field (utsname release, NUL padded).
pub const KERNEL_RELEASE_LEN: usize = 65;

/// Decoded header. Every field is validated by `parse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
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
    /// CRC32C of header bytes 0..252.
    pub crc: u32,
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
        let b = b.get(..HEADER_SIZE).ok_or(FormatError::Truncated)?;
        if get_bytes::<8>(b, 0) != MAGIC {
            return Err(FormatError::BadMagic);
        }
        // The major version is checked before the CRC: a future major may
        // lay out (and checksum) its header differently.
        if get_u16(b, 8) != VERSION_MAJOR {
            return Err(FormatError::UnknownMajorVersion);
        }
        let crc = get_u32(b, 252);
        if crc32c(b.get(..252).unwrap_or(&[])) != crc {
            return Err(FormatError::HeaderChecksum);
        }
        let h = Header {
            major: VERSION_MAJOR,
            minor: get_u16(b, 10),
            arch: get_u32(b, 12),
            page_size: get_u32(b, 16),
            flags: get_u32(b, 20),
            dump_time_sec: get_u64(b, 24),
            dump_time_nsec: get_u32(b, 32),
            metadata_crc: get_u32(b, 36),
            metadata_offset: get_u64(b, 40),
            metadata_len: get_u64(b, 48),
            pages_offset: get_u64(b, 56),
            pages_len: get_u64(b, 64),
            tail_offset: get_u64(b, 72),
            tail_len: get_u64(b, 80),
            file_len: get_u64(b, 88),
            kernel_release: get_bytes(b, 96),
            crc,
        };
        if h.arch != ARCH_X86_64 {
            return Err(FormatError::UnsupportedArch);
        }
        if h.page_size as u64 != PAGE_SIZE {
            return Err(FormatError::UnsupportedPageSize);
        }
        if h.flags & !HEADER_FLAGS_KNOWN != 0 {
            return Err(FormatError::UnknownHeaderFlags);
        }
        if !is_zero(b, 96 + KERNEL_RELEASE_LEN, 252) {
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
        let mut b = [0u8; HEADER_SIZE];
        put(&mut b, 0, &MAGIC);
        put_u16(&mut b, 8, self.major);
        put_u16(&mut b, 10, self.minor);
        put_u32(&mut b, 12, self.arch);
        put_u32(&mut b, 16, self.page_size);
        put_u32(&mut b, 20, self.flags);
        put_u64(&mut b, 24, self.dump_time_sec);
        put_u32(&mut b, 32, self.dump_time_nsec);
        put_u32(&mut b, 36, self.metadata_crc);
        put_u64(&mut b, 40, self.metadata_offset);
        put_u64(&mut b, 48, self.metadata_len);
        put_u64(&mut b, 56, self.pages_offset);
        put_u64(&mut b, 64, self.pages_len);
        put_u64(&mut b, 72, self.tail_offset);
        put_u64(&mut b, 80, self.tail_len);
        put_u64(&mut b, 88, self.file_len);
        put(&mut b, 96, &self.kernel_release);
        let crc = crc32c(b.get(..252).unwrap_or(&[]));
        put_u32(&mut b, 252, crc);
        b
    }
}

/// Decoded trailer: the last TRAILER_SIZE bytes of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trailer {
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
}

impl Trailer {
    /// Parses the trailer bytes (exactly TRAILER_SIZE).
    pub fn parse(b: &[u8]) -> Result<Trailer> {
        if b.len() != TRAILER_SIZE {
            return Err(FormatError::Truncated);
        }
        if get_bytes::<8>(b, 0) != TRAILER_MAGIC {
            return Err(FormatError::BadTrailerMagic);
        }
        if crc32c(b.get(..60).unwrap_or(&[])) != get_u32(b, 60) {
            return Err(FormatError::TrailerChecksum);
        }
        if !is_zero(b, 36, 60) {
            return Err(FormatError::ReservedNotZero);
        }
        Ok(Trailer {
            file_len: get_u64(b, 8),
            run_count: get_u64(b, 16),
            header_crc: get_u32(b, 24),
            metadata_crc: get_u32(b, 28),
            page_table_crc: get_u32(b, 32),
        })
    }

    /// Encodes the trailer with its CRC.
    pub fn encode(&self) -> [u8; TRAILER_SIZE] {
        let mut b = [0u8; TRAILER_SIZE];
        put(&mut b, 0, &TRAILER_MAGIC);
        put_u64(&mut b, 8, self.file_len);
        put_u64(&mut b, 16, self.run_count);
        put_u32(&mut b, 24, self.header_crc);
        put_u32(&mut b, 28, self.metadata_crc);
        put_u32(&mut b, 32, self.page_table_crc);
        let crc = crc32c(b.get(..60).unwrap_or(&[]));
        put_u32(&mut b, 60, crc);
        b
    }
}
