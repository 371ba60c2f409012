//! A structure-aware mutator of checkpoint images, for fuzzing the kernel
//! module in the guest (`make fuzz-kmod`).
//!
//! Starting from a real image, each mutation changes something that
//! matters, usually one field of one record (any integer or reserved field
//! the format declares: a count, offset, address, length, flag, register,
//! XSAVE header word, page-run boundary) to a value chosen to sit on a
//! boundary a check cares about, and then recomputes the
//! checksums so the change reaches the check it is aimed at. A few
//! mutations are plain byte flips (resealed or not) and truncations. Pure:
//! bytes in, bytes out; the guest scenario does the executing.

use std::sync::OnceLock;

use image_format::fields::{all_fields, metadata_sections, FlatField, Place, SectionSpan, Shape};
use image_format::{reseal_checksums, TRAILER_SIZE};

/// A small deterministic generator (xorshift64*): same seed, same images.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; 0 is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A value below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The fields worth changing: every integer and reserved field of every
/// record the format declares (image_format::fields), except the CRCs,
/// which the reseal rewrites anyway.
fn fields() -> &'static [FlatField] {
    static FIELDS: OnceLock<Vec<FlatField>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        all_fields()
            .into_iter()
            .filter(|f| matches!(f.shape, Shape::Int | Shape::Reserved) && !f.name.ends_with("crc"))
            .collect()
    })
}

/// Values that sit on the boundaries the module's checks care about.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    3,
    7,
    0x2b,
    0x33,
    0xfff,
    0x1000,
    0x1001,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x0000_7fff_ffff_e000,
    0x0000_7fff_ffff_f000,
    0x0000_8000_0000_0000,
    0xffff_8000_0000_0000,
    0xffff_ffff_ffff_f000,
    u64::MAX - 1,
    u64::MAX,
    1 << 21,
    1 << 31,
    1 << 63,
];

fn rd(b: &[u8], off: usize, size: usize) -> Option<u64> {
    let s = b.get(off..off.checked_add(size)?)?;
    let mut w = [0u8; 8];
    w[..size].copy_from_slice(s);
    Some(u64::from_le_bytes(w))
}

fn wr(b: &mut [u8], off: usize, size: usize, v: u64) {
    if let Some(d) = off.checked_add(size).and_then(|e| b.get_mut(off..e)) {
        d.copy_from_slice(&v.to_le_bytes()[..size]);
    }
}

fn new_value(rng: &mut Rng, old: u64, size: usize) -> u64 {
    let v = match rng.below(6) {
        0 | 1 => INTERESTING[rng.below(INTERESTING.len())],
        2 => old ^ (1 << rng.below(size * 8)),
        3 => old.wrapping_add(rng.below(9) as u64).wrapping_sub(4),
        4 => old.wrapping_add(0x1000u64.wrapping_mul(rng.below(5) as u64)).wrapping_sub(0x2000),
        _ => rng.next(),
    };
    if size == 4 {
        v & 0xffff_ffff
    } else {
        v
    }
}

/// Where `field` is in `b` (a random section's header, a random record of
/// its section), or None if the image has no such record.
fn locate(b: &[u8], secs: &[SectionSpan], field: &FlatField, rng: &mut Rng) -> Option<(usize, String)> {
    match field.place {
        Place::Header => Some((field.offset, field.name.clone())),
        Place::Trailer => Some((b.len().checked_sub(TRAILER_SIZE)? + field.offset, field.name.clone())),
        Place::SectionHeader => {
            let s = secs.get(rng.below(secs.len()))?;
            Some((s.header + field.offset, format!("{} of section {}", field.name, s.kind)))
        }
        Place::Section(kind) => {
            let s = secs.iter().find(|s| s.kind == kind && s.count > 0)?;
            let index = rng.below(s.count);
            let at = s.records + index * s.record_size + field.offset;
            Some((at, format!("{}[{index}]", field.name)))
        }
    }
}

/// Changes one field (at most its first 8 bytes) and reseals.
fn change_field(b: &mut [u8], secs: &[SectionSpan], field: &FlatField, rng: &mut Rng) -> String {
    let Some((off, name)) = locate(b, secs, field, rng) else {
        return format!("{}: no such record, unchanged", field.name);
    };
    let size = field.size.min(8);
    let old = rd(b, off, size).unwrap_or(0);
    let v = new_value(rng, old, size);
    wr(b, off, size, v);
    reseal_checksums(b, true);
    format!("{name}: {old:#x} -> {v:#x}")
}

/// One mutation of `image`: the new bytes and a line saying what changed.
pub fn mutate(image: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let mut b = image.to_vec();
    let secs = metadata_sections(&b);
    let (headers, records): (Vec<&FlatField>, Vec<&FlatField>) =
        fields().iter().partition(|f| f.place == Place::SectionHeader);
    let what = match rng.below(20) {
        // Section headers: counts, record sizes, lengths, kinds, flags.
        0 | 1 => {
            let field = headers[rng.below(headers.len())];
            change_field(&mut b, &secs, field, rng)
        }
        // Plain byte flips, resealed or not.
        2 | 3 => {
            let n = 1 + rng.below(8);
            for _ in 0..n {
                let at = rng.below(b.len());
                b[at] ^= 1 << rng.below(8);
            }
            let sealed = rng.below(2) == 0;
            if sealed {
                reseal_checksums(&mut b, true);
            }
            format!("{n} bit flips{}", if sealed { ", resealed" } else { "" })
        }
        // Truncation anywhere.
        4 => {
            let len = rng.below(b.len());
            b.truncate(len);
            format!("truncated to {len} bytes")
        }
        // One field of one record.
        _ => {
            let field = records[rng.below(records.len())];
            change_field(&mut b, &secs, field, rng)
        }
    };
    (b, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image_format::{Image, ImageDesc};

    /// A real image: the writer's own test sample is not reachable from
    /// here, so build one from a description of a small process.
    fn image() -> Vec<u8> {
        // The golden sample with open file descriptions of every kind.
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../image-format/tests/golden/files.img"))
            .expect("golden sample image");
        let img = Image::parse_bytes(&bytes).expect("valid golden image");
        let desc = ImageDesc::from_image(&img);
        let prepared = image_format::prepare(&desc).unwrap();
        let mut out = Vec::new();
        image_format::write_prepared(&prepared, &mut out, |_, buf| {
            buf.fill(0x5a);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_mutations() {
        let img = image();
        let a: Vec<_> = (0..50).scan(Rng::new(7), |r, _| Some(mutate(&img, r))).collect();
        let b: Vec<_> = (0..50).scan(Rng::new(7), |r, _| Some(mutate(&img, r))).collect();
        assert_eq!(a, b);
    }

    /// Resealed field mutations must get past the checksums most of the
    /// time, or they would only ever test the CRC check.
    #[test]
    fn most_mutations_reach_past_the_checksums() {
        let img = image();
        let mut rng = Rng::new(1);
        let (mut past_crc, mut valid, n) = (0, 0, 2000);
        for _ in 0..n {
            let (m, _) = mutate(&img, &mut rng);
            match Image::parse_bytes(&m) {
                Ok(_) => valid += 1,
                Err(e) if !e.name().contains("checksum") => past_crc += 1,
                Err(_) => {}
            }
        }
        assert!(past_crc + valid > n * 7 / 10, "only {past_crc} + {valid} of {n} got past the checksums");
        // Some are still valid images (they reach the module's own checks
        // and the restore itself), and many are not.
        assert!(valid > n / 20 && valid < n * 9 / 10, "{valid} of {n} still valid");
    }

    /// The golden images with pending signals, timers, locks, attributes,
    /// credentials, socket options and scheduling and seccomp filters,
    /// whose sections the sample lacks.
    fn golden_sections(name: &str) -> Vec<image_format::fields::SectionSpan> {
        let path = format!("{}/../image-format/tests/golden/{name}.img", env!("CARGO_MANIFEST_DIR"));
        metadata_sections(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    #[test]
    fn every_field_lies_inside_its_record() {
        let img = image();
        let mut secs = metadata_sections(&img);
        secs.extend(golden_sections("pending-signals"));
        secs.extend(golden_sections("timers"));
        secs.extend(golden_sections("locks"));
        secs.extend(golden_sections("attrs"));
        secs.extend(golden_sections("creds"));
        secs.extend(golden_sections("sockopts"));
        secs.extend(golden_sections("sched"));
        secs.extend(golden_sections("seccomp"));
        // The root of a tree: TREE, TREE_FILES, TREE_REGIONS.
        secs.extend(golden_sections("tree"));
        let mut seen = std::collections::BTreeSet::new();
        for field in fields() {
            let size = match field.place {
                Place::Header => image_format::HEADER_SIZE,
                Place::Trailer => TRAILER_SIZE,
                Place::SectionHeader => image_format::v1::section::SECTION_HEADER_SIZE,
                Place::Section(kind) => {
                    seen.insert(kind);
                    secs.iter().find(|s| s.kind == kind).unwrap_or_else(|| panic!("{}", field.name)).record_size
                }
            };
            assert!(field.offset + field.size <= size, "{} outside its record", field.name);
        }
        // Every record section of the sample (and of the goldens) has
        // fields to change.
        let parsed = Image::parse_bytes(&img).unwrap();
        assert_eq!(seen.len(), 22, "{seen:?}");
        assert_eq!(secs.iter().find(|s| s.kind == image_format::section_kind::THREADS).unwrap().count, parsed.thread_count() as usize);
    }
}
