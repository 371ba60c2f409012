//! A structure-aware mutator of checkpoint images, for fuzzing the kernel
//! module in the guest (`make fuzz-kmod`).
//!
//! Starting from a real image, each mutation changes something that
//! matters, usually one field of one record (a count, offset, address,
//! length, flag, register, XSAVE header word, page-run boundary) to a value
//! chosen to sit on a boundary a check cares about, and then recomputes the
//! checksums so the change reaches the check it is aimed at. A few
//! mutations are plain byte flips (resealed or not) and truncations. Pure:
//! bytes in, bytes out; the guest scenario does the executing.

use image_format::{reseal_checksums, section_kind as kind};

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

/// One field of a record: where it is and how wide.
struct Field {
    name: &'static str,
    section: u32,
    offset: usize,
    size: usize,
}

const fn f(name: &'static str, section: u32, offset: usize, size: usize) -> Field {
    Field { name, section, offset, size }
}

/// The fields worth changing, per FORMAT.md's record layouts.
const FIELDS: &[Field] = &[
    f("process.pid", kind::PROCESS, 0, 4),
    f("process.umask", kind::PROCESS, 4, 4),
    f("process.personality", kind::PROCESS, 8, 4),
    f("process.xsave_size", kind::PROCESS, 12, 4),
    f("process.xcr0", kind::PROCESS, 16, 8),
    f("process.exe_path.offset", kind::PROCESS, 40, 4),
    f("process.exe_path.len", kind::PROCESS, 44, 4),
    f("process.cwd.offset", kind::PROCESS, 88, 4),
    f("process.cwd.len", kind::PROCESS, 92, 4),
    f("process.start_brk", kind::PROCESS, 96 + 8 * 4, 8),
    f("process.brk", kind::PROCESS, 96 + 8 * 5, 8),
    f("process.start_stack", kind::PROCESS, 96 + 8 * 6, 8),
    f("process.arg_start", kind::PROCESS, 96 + 8 * 7, 8),
    f("process.rlimit_nofile.cur", kind::PROCESS, 184 + 16 * 7, 8),
    f("process.rlimit_stack.max", kind::PROCESS, 192 + 16 * 3, 8),
    f("auxv.key", kind::AUXV, 0, 8),
    f("auxv.value", kind::AUXV, 8, 8),
    f("thread.tid", kind::THREADS, 0, 4),
    f("thread.r15", kind::THREADS, 8, 8),
    f("thread.rbp", kind::THREADS, 8 + 8 * 4, 8),
    f("thread.rax", kind::THREADS, 8 + 8 * 10, 8),
    f("thread.orig_rax", kind::THREADS, 8 + 8 * 15, 8),
    f("thread.rip", kind::THREADS, 8 + 8 * 16, 8),
    f("thread.cs", kind::THREADS, 8 + 8 * 17, 8),
    f("thread.eflags", kind::THREADS, 8 + 8 * 18, 8),
    f("thread.rsp", kind::THREADS, 8 + 8 * 19, 8),
    f("thread.ss", kind::THREADS, 8 + 8 * 20, 8),
    f("thread.fs_base", kind::THREADS, 8 + 8 * 21, 8),
    f("thread.gs_base", kind::THREADS, 8 + 8 * 22, 8),
    f("thread.ds", kind::THREADS, 8 + 8 * 23, 8),
    f("thread.fs", kind::THREADS, 8 + 8 * 25, 8),
    f("thread.gs", kind::THREADS, 8 + 8 * 26, 8),
    f("thread.sigmask", kind::THREADS, 224, 8),
    f("thread.ss_sp", kind::THREADS, 232, 8),
    f("thread.ss_flags", kind::THREADS, 240, 4),
    f("thread.ss_size", kind::THREADS, 248, 8),
    f("thread.clear_child_tid", kind::THREADS, 256, 8),
    f("thread.robust_head", kind::THREADS, 264, 8),
    f("thread.robust_len", kind::THREADS, 272, 8),
    f("thread.rseq_addr", kind::THREADS, 280, 8),
    f("thread.rseq_len", kind::THREADS, 288, 4),
    f("thread.xsave_len", kind::THREADS, 296, 4),
    f("thread.xstate_bv", kind::THREADS, 304, 8),
    f("thread.xsave.mxcsr", kind::THREADS, 320 + 24, 4),
    f("thread.xsave.xstate_bv", kind::THREADS, 320 + 512, 8),
    f("thread.xsave.xcomp_bv", kind::THREADS, 320 + 520, 8),
    f("sigaction.handler", kind::SIGACTIONS, 0, 8),
    f("sigaction.flags", kind::SIGACTIONS, 8, 8),
    f("sigaction.restorer", kind::SIGACTIONS, 16, 8),
    f("region.start", kind::REGIONS, 0, 8),
    f("region.end", kind::REGIONS, 8, 8),
    f("region.prot", kind::REGIONS, 16, 4),
    f("region.kind", kind::REGIONS, 20, 4),
    f("region.flags", kind::REGIONS, 24, 4),
    f("region.path.offset", kind::REGIONS, 32, 4),
    f("region.path.len", kind::REGIONS, 36, 4),
    f("region.file_offset", kind::REGIONS, 40, 8),
    f("region.file_id.ino", kind::REGIONS, 56, 8),
    f("region.first_run", kind::REGIONS, 88, 4),
    f("region.run_count", kind::REGIONS, 92, 4),
    f("run.page_index", kind::PAGE_RUNS, 0, 8),
    f("run.page_count", kind::PAGE_RUNS, 8, 8),
    f("run.file_offset", kind::PAGE_RUNS, 16, 8),
    f("fd.fd", kind::FDS, 0, 4),
    f("fd.kind", kind::FDS, 4, 4),
    f("fd.disposition", kind::FDS, 8, 4),
    f("fd.open_flags", kind::FDS, 12, 4),
    f("fd.offset", kind::FDS, 16, 8),
    f("fd.path.offset", kind::FDS, 24, 4),
    f("fd.path.len", kind::FDS, 28, 4),
];

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

/// A section in the metadata: its kind and where its records are.
struct SectionAt {
    kind: u32,
    records: usize,
    count: usize,
    record_size: usize,
    header: usize,
}

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

fn sections(b: &[u8]) -> Vec<SectionAt> {
    let mut out = Vec::new();
    let Some(mlen) = rd(b, 48, 8).and_then(|v| usize::try_from(v).ok()) else {
        return out;
    };
    let end = 256usize.saturating_add(mlen).min(b.len());
    let mut pos = 256;
    while pos + 32 <= end {
        let (Some(k), Some(len), Some(count), Some(rs)) = (rd(b, pos, 4), rd(b, pos + 8, 8), rd(b, pos + 16, 4), rd(b, pos + 20, 4)) else {
            break;
        };
        out.push(SectionAt { kind: k as u32, records: pos + 32, count: count as usize, record_size: rs as usize, header: pos });
        match usize::try_from(len).ok().and_then(|l| (pos + 32).checked_add(l)) {
            Some(next) if next > pos => pos = next,
            _ => break,
        }
    }
    out
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

/// One mutation of `image`: the new bytes and a line saying what changed.
pub fn mutate(image: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let mut b = image.to_vec();
    let secs = sections(&b);
    let what = match rng.below(20) {
        // Section headers: counts and record sizes.
        0 | 1 if !secs.is_empty() => {
            let s = &secs[rng.below(secs.len())];
            let (off, name) = if rng.below(2) == 0 { (s.header + 16, "count") } else { (s.header + 20, "record_size") };
            let old = rd(&b, off, 4).unwrap_or(0);
            let v = new_value(rng, old, 4);
            wr(&mut b, off, 4, v);
            reseal_checksums(&mut b, true);
            format!("section {} {name}: {old:#x} -> {v:#x}", s.kind)
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
            let field = &FIELDS[rng.below(FIELDS.len())];
            let Some(s) = secs.iter().find(|s| s.kind == field.section && s.count > 0) else {
                return (b, format!("{}: no such section, unchanged", field.name));
            };
            let index = if s.kind == kind::STRINGS { 0 } else { rng.below(s.count) };
            let off = s.records + index * s.record_size + field.offset;
            let old = rd(&b, off, field.size).unwrap_or(0);
            let v = new_value(rng, old, field.size);
            wr(&mut b, off, field.size, v);
            reseal_checksums(&mut b, true);
            format!("{}[{index}]: {old:#x} -> {v:#x}", field.name)
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
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../image-format/tests/golden/sample.img"))
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

    #[test]
    fn every_field_lies_inside_its_record() {
        let img = image();
        let parsed = Image::parse_bytes(&img).unwrap();
        let secs = sections(&img);
        for field in FIELDS {
            let s = secs.iter().find(|s| s.kind == field.section).unwrap_or_else(|| panic!("{}", field.name));
            assert!(field.offset + field.size <= s.record_size, "{} outside its record", field.name);
        }
        assert_eq!(secs.iter().find(|s| s.kind == kind::THREADS).unwrap().count, parsed.thread_count() as usize);
    }
}
