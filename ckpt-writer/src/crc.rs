//! Page checksums at memory speed: the SSE4.2 `crc32` instruction computes
//! CRC32C (the image format's checksum) 8 bytes at a time, several times
//! faster than the portable slicing-by-8 table in image-format, which the
//! kernel module also compiles and which stays the reference: `update`
//! falls back to it on a CPU without SSE4.2, and the tests below check that
//! both give the same result for every length and split.

use image_format::Crc32c;

/// Feeds `data` into `crc`, with the CPU's instruction when it has one.
pub fn update(crc: &mut Crc32c, data: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: `sse42` only needs SSE4.2, which the CPU was just found
        // to have.
        *crc = Crc32c::from_register(unsafe { sse42(crc.register(), data) });
        return;
    }
    crc.update(data);
}

/// Continues the CRC32C register `reg` over `data`.
///
/// # Safety
/// The CPU must support SSE4.2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn sse42(reg: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let mut r = u64::from(reg);
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        r = _mm_crc32_u64(r, u64::from_le_bytes(b));
    }
    let mut r = r as u32;
    for &b in words.remainder() {
        r = _mm_crc32_u8(r, b);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::update;
    use image_format::{crc32c, Crc32c};

    /// Deterministic bytes that are not all alike.
    fn bytes(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn known_vector() {
        let mut c = Crc32c::new();
        update(&mut c, b"123456789");
        assert_eq!(c.finish(), 0xe306_9283);
    }

    #[test]
    fn same_as_the_portable_reference_for_every_length_and_split() {
        let data = bytes(4096 + 17);
        for len in (0..64).chain([4095, 4096, 4096 + 17]) {
            let want = crc32c(&data[..len]);
            for split in [0, 1, 3, 7, 8, 9, len / 2, len] {
                let split = split.min(len);
                let mut c = Crc32c::new();
                update(&mut c, &data[..split]);
                update(&mut c, &data[split..len]);
                assert_eq!(c.finish(), want, "len {len} split {split}");
                // Mixed: portable first, fast after, and the other way.
                let mut m = Crc32c::new();
                m.update(&data[..split]);
                update(&mut m, &data[split..len]);
                assert_eq!(m.finish(), want, "len {len} split {split} (mixed)");
            }
        }
    }

    /// The test above proves nothing about the fast path if it never ran.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_fast_path_is_taken_on_this_host() {
        assert!(std::arch::is_x86_feature_detected!("sse4.2"), "this x86-64 host has no SSE4.2");
        let data = bytes(1000);
        // SAFETY: SSE4.2 is present (asserted above).
        let r = unsafe { super::sse42(!0, &data) };
        assert_eq!(!r, crc32c(&data));
    }
}
