//! A whole image minus its page data: header, metadata and tail.

use core::ops::Deref;

use zerocopy::little_endian::U32;

use super::crc::crc32c_paced;
use super::error::{FormatError, Result};
use super::header::{header_flags, Header, Trailer, TRAILER_SIZE};
use super::layout::wire_slice;
use super::metadata::Metadata;
use super::section::{kind, Section};

/// A validated image. Derefs to its `Metadata` for the record accessors.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    /// The header.
    pub header: Header,
    /// The metadata.
    pub meta: Metadata<'a>,
    /// The trailer.
    pub trailer: Trailer,
    page_crcs: &'a [U32],
}

impl<'a> Deref for Image<'a> {
    type Target = Metadata<'a>;
    fn deref(&self) -> &Metadata<'a> {
        &self.meta
    }
}

/// Returns `b[off..off+len]` for u64 offsets, or Truncated.
fn range(b: &[u8], off: u64, len: u64) -> Result<&[u8]> {
    let start = usize::try_from(off).map_err(|_| FormatError::Truncated)?;
    let len = usize::try_from(len).map_err(|_| FormatError::Truncated)?;
    let end = start.checked_add(len).ok_or(FormatError::Truncated)?;
    b.get(start..end).ok_or(FormatError::Truncated)
}

impl<'a> Image<'a> {
    /// Validates an image from its pieces: the first bytes of the file
    /// (at least HEADER_SIZE), the metadata range and the tail range the
    /// header names, and the real file length (from fstat).
    pub fn parse(
        header: &[u8],
        metadata: &'a [u8],
        tail: &'a [u8],
        file_len: u64,
    ) -> Result<Image<'a>> {
        Image::parse_paced(header, metadata, tail, file_len, &mut || true)
    }

    /// [`Image::parse`], calling `pace` between pieces of its long work: a
    /// caller in the kernel yields there and stops on a fatal signal
    /// ([`FormatError::Interrupted`] when `pace` returns false).
    pub fn parse_paced(
        header: &[u8],
        metadata: &'a [u8],
        tail: &'a [u8],
        file_len: u64,
        pace: &mut dyn FnMut() -> bool,
    ) -> Result<Image<'a>> {
        Image::parse_as(header, metadata, tail, file_len, false, pace)
    }

    /// The parse of a whole file (`member` false: a member image is
    /// refused, a tree root ends where its last member does) or of one
    /// member image of a tree (`member` true: `file_len` is its length).
    pub(super) fn parse_as(
        header: &[u8],
        metadata: &'a [u8],
        tail: &'a [u8],
        file_len: u64,
        member: bool,
        pace: &mut dyn FnMut() -> bool,
    ) -> Result<Image<'a>> {
        let h = Header::parse(header)?;
        if (h.flags & header_flags::MEMBER != 0) != member {
            return Err(if member { FormatError::TreeMemberMismatch } else { FormatError::MemberImage });
        }
        // A tree root is followed by its members: the file's length is
        // checked against the last one's end, which its metadata gives.
        let root = h.flags & header_flags::TREE != 0;
        if file_len < h.file_len {
            return Err(FormatError::Truncated);
        }
        if file_len > h.file_len && !root {
            return Err(FormatError::TrailingData);
        }
        let meta = Metadata::parse_paced(&h, metadata, pace)?;
        if file_len < meta.tree_end() {
            return Err(FormatError::Truncated);
        }
        if file_len > meta.tree_end() {
            return Err(FormatError::TrailingData);
        }
        if tail.len() as u64 != h.tail_len {
            return Err(FormatError::Truncated);
        }
        let split = tail
            .len()
            .checked_sub(TRAILER_SIZE)
            .ok_or(FormatError::Truncated)?;
        let (table, trailer) = tail.split_at(split);
        let trailer = Trailer::parse(trailer)?;
        if trailer.file_len != h.file_len
            || trailer.header_crc != h.crc
            || trailer.metadata_crc != h.metadata_crc
            || trailer.run_count != meta.run_count() as u64
        {
            return Err(FormatError::TrailerMismatch);
        }
        if crc32c_paced(table, pace)? != trailer.page_table_crc {
            return Err(FormatError::TailChecksum);
        }
        let (s, rest) = Section::read(table)?;
        if s.kind != kind::PAGE_CRCS
            || s.flags != 0
            || s.count != meta.run_count()
            || s.record_size != 4
            || !rest.is_empty()
        {
            return Err(FormatError::BadPageCrcTable);
        }
        Ok(Image {
            header: h,
            meta,
            trailer,
            // count * 4 bytes, checked above.
            page_crcs: wire_slice(s.records()).ok_or(FormatError::BadPageCrcTable)?,
        })
    }

    /// Validates an image held entirely in memory (tests, `verify`).
    pub fn parse_bytes(file: &'a [u8]) -> Result<Image<'a>> {
        let h = Header::parse(file)?;
        let len = file.len() as u64;
        if len < h.file_len {
            return Err(FormatError::Truncated);
        }
        let meta = range(file, h.metadata_offset, h.metadata_len)?;
        let tail = range(file, h.tail_offset, h.tail_len)?;
        Image::parse(file, meta, tail, len)
    }

    /// Stored CRC32C of page run `index` (in `all_page_runs` order).
    pub fn page_crc(&self, index: u32) -> Option<u32> {
        self.page_crcs.get(index as usize).map(|c| c.get())
    }
}
