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
