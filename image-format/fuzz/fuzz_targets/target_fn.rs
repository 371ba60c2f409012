//! The fuzzed function, shared by the cargo-fuzz target (fuzz/parse.rs)
//! and the stable-toolchain smoke test (tests/fuzz_smoke.rs).
//!
//! Input: one mode byte, then an image. With mode bit 0 set, every CRC is
//! recomputed first, so mutations reach the semantic checks instead of
//! stopping at a checksum error.

use image_format::*;

fn get64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(off..off.checked_add(8)?)?.try_into().ok()?,
    ))
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    if let Some(d) = off.checked_add(4).and_then(|e| b.get_mut(off..e)) {
        d.copy_from_slice(&v.to_le_bytes());
    }
}

fn section_crc(b: &[u8], pos: usize, end: usize) -> Option<u32> {
    let mut c = Crc32c::new();
    c.update(b.get(pos..pos + 28)?);
    c.update(b.get(pos + 32..end)?);
    Some(c.finish())
}

/// Recomputes all CRCs of a (possibly garbage) image; never panics.
pub fn reseal(b: &mut [u8]) -> Option<()> {
    let mlen = usize::try_from(get64(b, 48)?).ok()?;
    let mend = mlen.checked_add(256)?.min(b.len());
    let mut pos = 256;
    while pos + 32 <= mend {
        let end = usize::try_from(get64(b, pos + 8)?)
            .ok()?
            .checked_add(pos + 32)?;
        if end > mend {
            break;
        }
        let c = section_crc(b, pos, end)?;
        put32(b, pos + 28, c);
        pos = end;
    }
    let mcrc = crc32c(b.get(256..mend)?);
    put32(b, 36, mcrc);
    let hcrc = crc32c(b.get(..252)?);
    put32(b, 252, hcrc);
    let n = b.len();
    let trailer = n.checked_sub(64)?;
    let t = usize::try_from(get64(b, 72)?).ok()?;
    if t.checked_add(32)? <= trailer {
        let c = section_crc(b, t, trailer)?;
        put32(b, t + 28, c);
        let tc = crc32c(b.get(t..trailer)?);
        put32(b, trailer + 32, tc);
    }
    put32(b, trailer + 24, hcrc);
    put32(b, trailer + 28, mcrc);
    let c = crc32c(b.get(trailer..n - 4)?);
    put32(b, n - 4, c);
    Some(())
}

/// Parses, walks every accessor, verifies pages, and checks that whatever
/// the reader accepts the writer accepts and reproduces.
pub fn run(data: &[u8]) {
    let Some((&mode, image)) = data.split_first() else {
        return;
    };
    let mut bytes = image.to_vec();
    if mode & 1 == 1 {
        let _ = reseal(&mut bytes);
    }
    let _ = Header::parse(&bytes);
    let Ok(img) = Image::parse_bytes(&bytes) else {
        return;
    };
    let mut n = 0u64;
    for t in img.threads() {
        n = n.wrapping_add(t.xsave.len() as u64 + t.state.regs.rip);
    }
    for r in img.regions() {
        n = n.wrapping_add(img.string(r.path).len() as u64);
        for run in img.page_runs(&r) {
            assert!(
                run.file_offset % 4096 == 0
                    && run.file_offset + run.page_count * 4096 <= bytes.len() as u64
            );
        }
    }
    for f in img.fds() {
        n = n.wrapping_add(img.string(f.path).len() as u64);
    }
    n = n.wrapping_add(img.sigactions().count() as u64 + img.auxv().count() as u64);
    let _ = check_cpu(&img.process, u64::MAX, u32::MAX);
    let _ = verify_pages(&img, |off, buf| {
        let src = usize::try_from(off)
            .ok()
            .and_then(|o| bytes.get(o..o + buf.len()));
        match src {
            Some(s) => {
                buf.copy_from_slice(s);
                Ok(())
            }
            None => Err(std::io::Error::other("read past end")),
        }
    });
    let desc = ImageDesc::from_image(&img);
    let mut again = Vec::new();
    write_image(&desc, &mut again, |_, buf| {
        buf.fill(0);
        Ok(())
    })
    .expect("writer refused what the reader accepted");
    let back = Image::parse_bytes(&again).expect("reader refused the writer's output");
    assert_eq!(ImageDesc::from_image(&back), desc);
    std::hint::black_box(n);
}
