//! The fuzzed function, shared by the cargo-fuzz target (fuzz/parse.rs)
//! and the stable-toolchain smoke test (tests/fuzz_smoke.rs).
//!
//! Input: one mode byte, then an image. With mode bit 0 set, every CRC is
//! recomputed first, so mutations reach the semantic checks instead of
//! stopping at a checksum error.

use image_format::*;

/// Recomputes all CRCs of a (possibly garbage) image; never panics.
pub fn reseal(b: &mut [u8]) -> Option<()> {
    reseal_checksums(b, true);
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
    run_tree(&bytes);
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

/// A tree file: every member read at its place and the tree-wide check;
/// whatever is accepted is written again as a tree and read back equal.
fn run_tree(bytes: &[u8]) {
    let Ok(t) = parse_tree_bytes(bytes) else {
        return;
    };
    if t.processes.is_empty() {
        return;
    }
    let members: Vec<TreeMemberDesc> = t
        .processes
        .iter()
        .map(|(rec, img)| {
            let links = img.as_ref().map(TreeLinks::from_image).unwrap_or_default();
            TreeMemberDesc { desc: img.as_ref().map(ImageDesc::from_image), process: *rec, files: links.files, regions: links.regions }
        })
        .collect();
    let mut again = Vec::new();
    write_tree(&members, &mut again, |_, _, buf| {
        buf.fill(0);
        Ok(())
    })
    .expect("writer refused the tree the reader accepted");
    let back = parse_tree_bytes(&again).expect("reader refused the writer's tree");
    assert_eq!(back.processes.len(), members.len());
    for ((rec, img), want) in back.processes.iter().zip(&members) {
        assert_eq!((rec.pid, rec.parent, rec.state), (want.process.pid, want.process.parent, want.process.state));
        assert_eq!(img.as_ref().map(ImageDesc::from_image), want.desc);
    }
}
