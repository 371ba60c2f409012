//! std convenience over `v1::verify_pages_with`: allocates the scratch
//! buffer so callers (ckpt-writer verify) only supply a read function.

use std::io;
use std::vec;

use crate::v1::limits::WRITE_CHUNK;
use crate::v1::{verify_pages_with, Image, VerifyError};

/// Verifies every stored page run of `image` against its CRC32C, reading
/// page data through `read_at(file_offset, buf)`.
pub fn verify_pages(
    image: &Image<'_>,
    read_at: impl FnMut(u64, &mut [u8]) -> io::Result<()>,
) -> Result<(), VerifyError<io::Error>> {
    let mut buf = vec![0u8; WRITE_CHUNK];
    verify_pages_with(image, &mut buf, read_at)
}
