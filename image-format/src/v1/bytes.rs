//! Little-endian field access that never panics.
//!
//! Readers only call these on slices whose length the validator has already
//! checked, but a short slice yields 0 instead of a panic so that even a
//! logic slip can never crash the kernel.

/// Reads `N` bytes at `off`, or zeros if the slice is too short.
fn get_array<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(end) = off.checked_add(N) {
        if let Some(src) = b.get(off..end) {
            out.copy_from_slice(src);
        }
    }
    out
}

pub(super) fn get_u16(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(get_array(b, off))
}

pub(super) fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(get_array(b, off))
}

pub(super) fn get_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(get_array(b, off))
}

pub(super) fn get_bytes<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    get_array(b, off)
}

/// Writes `src` at `off`; silently does nothing if it does not fit, which
/// the writer's own validation pass would then catch.
pub(super) fn put(b: &mut [u8], off: usize, src: &[u8]) {
    if let Some(end) = off.checked_add(src.len()) {
        if let Some(dst) = b.get_mut(off..end) {
            dst.copy_from_slice(src);
        }
    }
}

pub(super) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_le_bytes());
}

pub(super) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_le_bytes());
}

pub(super) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    put(b, off, &v.to_le_bytes());
}

/// True when every byte of `b[start..end]` is zero (reserved fields).
pub(super) fn is_zero(b: &[u8], start: usize, end: usize) -> bool {
    match b.get(start..end) {
        Some(s) => s.iter().all(|&x| x == 0),
        None => false,
    }
}

/// Rounds `v` up to a multiple of `align` (a power of two); None on overflow.
pub(super) fn align_up(v: u64, align: u64) -> Option<u64> {
    let mask = align.checked_sub(1)?;
    Some(v.checked_add(mask)? & !mask)
}
