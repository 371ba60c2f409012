//! Checks that need more than the metadata: page data CRCs, restoring CPU.

use super::crc::Crc32c;
use super::error::FormatError;
use super::image::Image;
use super::limits::PAGE_SIZE;
use super::records::Process;

/// Failure of `verify_pages_with`: the image is bad, or reading failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError<E> {
    /// The page data does not match (or the buffer is unusable).
    Format(FormatError),
    /// The caller's read function failed.
    Read(E),
}

/// Verifies every stored page run against its CRC32C. `read_at(offset,
/// buf)` must fill `buf` from that file offset; `buf` is scratch space of
/// a non-zero multiple of the page size, so no allocation is needed.
pub fn verify_pages_with<E>(
    image: &Image<'_>,
    buf: &mut [u8],
    mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
) -> Result<(), VerifyError<E>> {
    if buf.is_empty() || buf.len() as u64 % PAGE_SIZE != 0 {
        return Err(VerifyError::Format(FormatError::BadBuffer));
    }
    for (i, run) in image.all_page_runs().enumerate() {
        let mut crc = Crc32c::new();
        // Validated: runs lie inside the page data range, so no overflow.
        let mut off = run.file_offset;
        let mut left = run.page_count.saturating_mul(PAGE_SIZE);
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            let chunk = buf
                .get_mut(..n)
                .ok_or(VerifyError::Format(FormatError::BadBuffer))?;
            read_at(off, chunk).map_err(VerifyError::Read)?;
            crc.update(chunk);
            off = off.saturating_add(n as u64);
            left -= n as u64;
        }
        let want = u32::try_from(i).ok().and_then(|i| image.page_crc(i));
        if want != Some(crc.finish()) {
            return Err(VerifyError::Format(FormatError::PageChecksum));
        }
    }
    Ok(())
}

/// Restorer-side check that this CPU can load the image's XSAVE areas:
/// every feature enabled at dump time must be enabled here (`xcr0_here`,
/// from XGETBV(0)), and this kernel's XSAVE area (`xsave_size_here`) must
/// be at least as large as the recorded one.
pub fn check_cpu(
    process: &Process,
    xcr0_here: u64,
    xsave_size_here: u32,
) -> Result<(), FormatError> {
    if process.xcr0 & !xcr0_here != 0 {
        return Err(FormatError::CpuMissingFeatures);
    }
    if process.xsave_size > xsave_size_here {
        return Err(FormatError::CpuXsaveTooSmall);
    }
    Ok(())
}
