//! Recomputing every checksum of an edited image, so that an edit reaches
//! the check it is aimed at instead of the first CRC. For tests and the
//! structure-aware mutator (qemu-tests), never for writing real images.

use crate::v1::{crc32c, Crc32c};

fn rd64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off.checked_add(8)?)?.try_into().ok()?))
}

fn wr32(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = off.checked_add(4).and_then(|end| b.get_mut(off..end)) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

/// Recomputes the CRCs of an edited image in place: each section's (unless
/// `sections` is false, to leave a section CRC as the edit made it), the
/// metadata's, the header's, the page-CRC table's and the trailer's, with
/// the trailer's copies of the header and metadata CRCs. Page data CRCs
/// are left alone. Works on any bytes: fields that make no sense (lengths
/// past the end) are skipped, never trusted.
pub fn reseal_checksums(b: &mut [u8], sections: bool) {
    let n = b.len();
    if n < 256 + 64 {
        return;
    }
    let mlen = rd64(b, 48).and_then(|v| usize::try_from(v).ok()).unwrap_or(0);
    let mend = 256usize.saturating_add(mlen).min(n);
    if sections {
        let mut pos = 256;
        while pos + 32 <= mend {
            let plen = rd64(b, pos + 8).and_then(|v| usize::try_from(v).ok()).unwrap_or(usize::MAX);
            let Some(end) = (pos + 32).checked_add(plen).filter(|&e| e <= mend) else {
                break;
            };
            let mut c = Crc32c::new();
            c.update(&b[pos..pos + 28]);
            c.update(&b[pos + 32..end]);
            wr32(b, pos + 28, c.finish());
            pos = end;
        }
    }
    let mcrc = crc32c(&b[256..mend]);
    wr32(b, 36, mcrc);
    let hcrc = crc32c(&b[..252]);
    wr32(b, 252, hcrc);
    let trailer = n - 64;
    if let Some(t) = rd64(b, 72).and_then(|v| usize::try_from(v).ok()) {
        if t.checked_add(32).is_some_and(|e| e <= trailer) {
            let mut c = Crc32c::new();
            c.update(&b[t..t + 28]);
            c.update(&b[t + 32..trailer]);
            wr32(b, t + 28, c.finish());
            let tcrc = crc32c(&b[t..trailer]);
            wr32(b, trailer + 32, tcrc);
        }
    }
    wr32(b, trailer + 24, hcrc);
    wr32(b, trailer + 28, mcrc);
    let trc = crc32c(&b[trailer..n - 4]);
    wr32(b, n - 4, trc);
}
