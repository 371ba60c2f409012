//! Reads an image's header, metadata and tail (never its page data: pages
//! are mapped lazily from the file) and validates them with the shared
//! validator, as the kernel module does.

use std::fs::File;
use std::os::unix::fs::FileExt;

use image_format::{Header, Image, FormatError, HEADER_SIZE, TRAILER_SIZE};
use image_format::limits::MAX_PAGE_RUNS;

use restore_policy::Reason;

use crate::error::{open_failure, refuse, Checked};

/// Largest tail a valid image has: section header, one CRC per run, trailer.
const MAX_TAIL: u64 = 32 + 4 * MAX_PAGE_RUNS as u64 + TRAILER_SIZE as u64 + 8;

/// An open image with the parts the validator reads.
pub struct Loaded {
    pub file: File,
    header: Vec<u8>,
    meta: Vec<u8>,
    tail: Vec<u8>,
    len: u64,
}

impl Loaded {
    /// Opens `path` with the caller's credentials and reads what validation needs.
    pub fn open(path: &str) -> Checked<Loaded> {
        let file = File::open(path).map_err(|e| {
            open_failure(e, path)
        })?;
        let read_err = |e: std::io::Error| refuse(Reason::ImageReadError, format!("{path}: {e}"));
        let meta_data = file.metadata().map_err(read_err)?;
        if !meta_data.is_file() {
            return Err(refuse(Reason::NotARegularFile, path));
        }
        let len = meta_data.len();
        let mut header = vec![0u8; HEADER_SIZE.min(len as usize)];
        file.read_exact_at(&mut header, 0).map_err(read_err)?;
        // Only the fields needed to find the other ranges; Image::parse checks all.
        let h = Header::parse(&header)?;
        let end = |off: u64, n: u64| off.checked_add(n).filter(|&e| e <= len);
        if end(h.metadata_offset, h.metadata_len).is_none() || end(h.tail_offset, h.tail_len).is_none() {
            return Err(FormatError::Truncated.into());
        }
        if h.tail_len > MAX_TAIL {
            return Err(FormatError::BadPageCrcTable.into());
        }
        let mut meta = vec![0u8; h.metadata_len as usize];
        file.read_exact_at(&mut meta, h.metadata_offset).map_err(read_err)?;
        let mut tail = vec![0u8; h.tail_len as usize];
        file.read_exact_at(&mut tail, h.tail_offset).map_err(read_err)?;
        Ok(Loaded { file, header, meta, tail, len })
    }

    /// Validates and returns the image (call once: validation reads all of
    /// the metadata).
    pub fn image(&self) -> Result<Image<'_>, FormatError> {
        Image::parse(&self.header, &self.meta, &self.tail, self.len)
    }
}
