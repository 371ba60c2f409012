//! CRC32C (Castagnoli), table-driven, slicing-by-8.
//!
//! Written here rather than pulled from a crate because the kernel module
//! compiles this file with `core` only. The tables are built at compile time
//! by `const fn`, so there is no init step and no mutable global.

use super::error::FormatError;

/// Reflected form of the Castagnoli polynomial 0x1EDC6F41.
const POLY: u32 = 0x82F6_3B78;

const fn make_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    // t[j][i] is the CRC of byte i followed by j zero bytes: it lets the
    // main loop fold 8 input bytes with 8 independent look-ups.
    let mut j = 1;
    while j < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[j - 1][i];
            t[j][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        j += 1;
    }
    t
}

static TABLES: [[u32; 256]; 8] = make_tables();

/// Incremental CRC32C, for data that arrives in pieces (page runs).
#[derive(Clone, Copy, Debug)]
pub struct Crc32c {
    state: u32,
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32c {
    /// A fresh checksum (CRC of the empty input is 0).
    pub const fn new() -> Self {
        Crc32c { state: !0 }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        let t = &TABLES;
        let mut c = self.state;
        let mut chunks = data.chunks_exact(8);
        for ch in &mut chunks {
            let mut lo = [0u8; 4];
            let mut hi = [0u8; 4];
            lo.copy_from_slice(ch.get(..4).unwrap_or(&[0; 4]));
            hi.copy_from_slice(ch.get(4..).unwrap_or(&[0; 4]));
            let a = u32::from_le_bytes(lo) ^ c;
            let b = u32::from_le_bytes(hi);
            c = t[7][(a & 0xff) as usize]
                ^ t[6][((a >> 8) & 0xff) as usize]
                ^ t[5][((a >> 16) & 0xff) as usize]
                ^ t[4][(a >> 24) as usize]
                ^ t[3][(b & 0xff) as usize]
                ^ t[2][((b >> 8) & 0xff) as usize]
                ^ t[1][((b >> 16) & 0xff) as usize]
                ^ t[0][(b >> 24) as usize];
        }
        for &byte in chunks.remainder() {
            c = (c >> 8) ^ t[0][((c ^ byte as u32) & 0xff) as usize];
        }
        self.state = c;
    }

    /// Feeds more bytes, calling `pace` between pieces (see [`crc32c_paced`]).
    pub fn update_paced(&mut self, data: &[u8], pace: &mut dyn FnMut() -> bool) -> Result<(), FormatError> {
        for (i, piece) in data.chunks(PACE_CHUNK).enumerate() {
            if i != 0 && !pace() {
                return Err(FormatError::Interrupted);
            }
            self.update(piece);
        }
        Ok(())
    }

    /// The checksum of everything fed so far.
    pub const fn finish(&self) -> u32 {
        !self.state
    }

    /// The running register (the checksum before its final inversion), so
    /// that another implementation of the same CRC, such as the SSE4.2
    /// `crc32` instruction a host writer may use, can continue it.
    pub const fn register(&self) -> u32 {
        self.state
    }

    /// A checksum continued from a `register` value.
    pub const fn from_register(register: u32) -> Self {
        Crc32c { state: register }
    }
}

/// Bytes checksummed between two calls of a pace function.
const PACE_CHUNK: usize = 64 * 1024;

/// CRC32C of one buffer, calling `pace` between pieces of 64 KiB: a caller
/// in the kernel yields the CPU there, and stops (`pace` returns false,
/// [`FormatError::Interrupted`]) when its task got a fatal signal. Images
/// carry up to 64 MiB of metadata, which a slow machine checksums for
/// seconds.
pub fn crc32c_paced(data: &[u8], pace: &mut dyn FnMut() -> bool) -> Result<u32, FormatError> {
    let mut c = Crc32c::new();
    c.update_paced(data, pace)?;
    Ok(c.finish())
}

/// CRC32C of one buffer.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(data);
    c.finish()
}

// CRC combination (migrate's receiver): the CRC of A‖B from the CRCs of A
// and B and the length of B, without the bytes. CRC32C is linear over
// GF(2): with R(s, M) the register after feeding M from state s,
// R(s, M) = Z(s) ^ R(0, M), Z shifting s through |M| zero bytes. The
// initial and final inversions cancel, which leaves
// crc(A‖B) = Z_|B|(crc(A)) ^ crc(B), and Z_n is a multiplication by
// x^(8n) modulo the polynomial. Registers are reflected: bit 31 is x^0.

/// `a * b` modulo the Castagnoli polynomial (reflected operands).
const fn mul_mod(a: u32, b: u32) -> u32 {
    let mut product = 0u32;
    let mut b = b;
    let mut i = 0;
    while i < 32 {
        if a & (1u32 << (31 - i)) != 0 {
            product ^= b;
        }
        // b *= x: the reflected shift, reduced when x^31 overflows.
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        i += 1;
    }
    product
}

/// x^(8 * bytes) modulo the polynomial: the operator shifting a register
/// through `bytes` zero bytes (square and multiply).
const fn zeros_operator(bytes: u64) -> u32 {
    let mut result = 1u32 << 31; // x^0
    let mut base = 1u32 << (31 - 8); // x^8: one zero byte
    let mut n = bytes;
    while n != 0 {
        if n & 1 != 0 {
            result = mul_mod(result, base);
        }
        base = mul_mod(base, base);
        n >>= 1;
    }
    result
}

/// CRC32C of `A‖B` given `crc_a` = CRC32C(A), `crc_b` = CRC32C(B) and
/// `len_b` = |B| in bytes.
pub const fn crc32c_combine(crc_a: u32, crc_b: u32, len_b: u64) -> u32 {
    mul_mod(zeros_operator(len_b), crc_a) ^ crc_b
}

/// Bytes of the page whose checksums `crc32c_append_page` appends.
const COMBINE_PAGE: u64 = 4096;

/// The 4096-zero-byte operator as four byte tables: the shift is linear,
/// so shifting a register is the XOR of the shifts of its four bytes.
const fn make_page_tables() -> [[u32; 256]; 4] {
    let op = zeros_operator(COMBINE_PAGE);
    let mut t = [[0u32; 256]; 4];
    let mut j = 0;
    while j < 4 {
        let mut i = 0;
        while i < 256 {
            t[j][i] = mul_mod(op, (i as u32) << (8 * j));
            i += 1;
        }
        j += 1;
    }
    t
}

static PAGE_TABLES: [[u32; 256]; 4] = make_page_tables();

/// `crc32c_combine(crc_a, crc_page, 4096)` with four table look-ups: the
/// checksum of a page run grown by one page, from the page's own checksum.
pub fn crc32c_append_page(crc_a: u32, crc_page: u32) -> u32 {
    let t = &PAGE_TABLES;
    t[0][(crc_a & 0xff) as usize]
        ^ t[1][((crc_a >> 8) & 0xff) as usize]
        ^ t[2][((crc_a >> 16) & 0xff) as usize]
        ^ t[3][(crc_a >> 24) as usize]
        ^ crc_page
}

#[cfg(test)]
mod combine_tests {
    use super::*;

    /// Deterministic bytes that are not all alike.
    fn bytes(n: usize, seed: u64) -> [u8; 9000] {
        let mut out = [0u8; 9000];
        let mut x = seed | 1;
        for b in out.iter_mut().take(n) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        out
    }

    #[test]
    fn combining_equals_the_direct_checksum_at_every_split() {
        let data = bytes(9000, 7);
        for len in [0usize, 1, 2, 7, 8, 9, 63, 100, 4095, 4096, 4097, 8192, 9000] {
            let want = crc32c(&data[..len]);
            for split in [0, 1, len / 3, len / 2, len.saturating_sub(1), len] {
                let split = split.min(len);
                let (a, b) = data[..len].split_at(split);
                assert_eq!(crc32c_combine(crc32c(a), crc32c(b), b.len() as u64), want, "len {len} split {split}");
            }
        }
    }

    #[test]
    fn an_empty_second_part_changes_nothing() {
        for c in [0, 1, 0xdead_beef, u32::MAX] {
            assert_eq!(crc32c_combine(c, crc32c(&[]), 0), c);
        }
    }

    #[test]
    fn a_run_of_pages_from_page_checksums() {
        let mut run = [0u8; 4 * 4096];
        for (i, chunk) in run.chunks_mut(9000).enumerate() {
            let n = chunk.len();
            chunk.copy_from_slice(&bytes(n, i as u64 + 3)[..n]);
        }
        let mut crc = crc32c(&[]);
        for (i, page) in run.chunks(4096).enumerate() {
            let p = crc32c(page);
            let step = crc32c_append_page(crc, p);
            assert_eq!(step, crc32c_combine(crc, p, 4096), "page {i}");
            crc = step;
            assert_eq!(crc, crc32c(&run[..(i + 1) * 4096]), "after page {i}");
        }
    }

    #[test]
    fn long_lengths_match_repeated_shifts() {
        // A 1 MiB zero tail combined at once and page by page agree.
        let z = crc32c(&[0u8; 4096]);
        let mut tail = crc32c(&[]);
        for _ in 0..256 {
            tail = crc32c_append_page(tail, z);
        }
        let a = crc32c(b"head");
        let mut step = a;
        for _ in 0..256 {
            step = crc32c_append_page(step, z);
        }
        assert_eq!(crc32c_combine(a, tail, 1 << 20), step);
    }
}
