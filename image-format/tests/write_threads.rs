//! The two-thread writer (`write_prepared_threaded`) writes the very bytes
//! of the one-thread one, for page runs that end inside a write, span
//! writes, or fill one exactly, and stops at a failed read with its error.
mod common;

use common::*;
use image_format::*;

/// `sample` with its 0x7f00_0000_0000 anonymous region grown to hold
/// runs of `run_pages` pages, one page apart.
fn with_runs(run_pages: &[u64]) -> Prepared {
    let mut d = sample();
    let r = d.regions.iter_mut().find(|r| r.start == 0x7f00_0000_0000).expect("the anonymous region");
    let mut at = 0;
    r.runs = run_pages
        .iter()
        .map(|&n| {
            let run = RunDesc { page_index: at, page_count: n };
            at += n + 1;
            run
        })
        .collect();
    r.end = r.start + at * 4096;
    prepare(&d).expect("a valid image")
}

#[test]
fn the_same_bytes_as_the_one_thread_writer() {
    // 256 pages: one write of WRITE_CHUNK (1 MiB).
    for runs in [&[1u64][..], &[3, 1, 7], &[256 - 32, 256], &[255, 2, 600, 1], &[1000, 24, 1, 700]] {
        let p = with_runs(runs);
        let mut want = Vec::new();
        write_prepared_with(&p, &mut want, fill, Crc32c::update).unwrap();
        let mut got = Vec::new();
        let n = write_prepared_threaded(&p, &mut got, fill, Crc32c::update).unwrap();
        assert_eq!(n as usize, want.len());
        assert!(got == want, "runs {runs:?}: the images differ");
        let img = Image::parse_bytes(&got).expect("an image that parses");
        let read_at = |off: u64, buf: &mut [u8]| {
            buf.copy_from_slice(&got[off as usize..off as usize + buf.len()]);
            Ok(())
        };
        verify_pages(&img, read_at).expect("pages that verify");
    }
}

#[test]
fn a_failed_read_is_the_error_and_the_pages_stop() {
    let p = with_runs(&[300, 300, 300, 300]);
    let mut out = Vec::new();
    let mut calls = 0;
    let err = write_prepared_threaded(
        &p,
        &mut out,
        |addr, buf| {
            calls += 1;
            if calls == 4 {
                return Err(std::io::Error::other("the target is gone"));
            }
            fill(addr, buf)
        },
        Crc32c::update,
    );
    assert!(matches!(err, Err(WriteError::Io(ref e)) if e.to_string() == "the target is gone"), "{err:?}");
    let head = head_bytes(&p).len();
    // At most the chunks read before the failure; no tail.
    assert!(out.len() <= head + 2 * (1 << 20), "{} bytes written after the failure", out.len());
    assert_ne!(&out[out.len() - 64..][..8], &TRAILER_MAGIC);
}

#[test]
fn a_tree_is_the_same_bytes_too() {
    let members = sample_tree();
    let want = build_tree(&members);
    let t = prepare_tree(&members, &Options::default()).unwrap();
    let mut got = Vec::new();
    let n = write_tree_prepared_threaded(&t, &mut got, |_, addr, buf| fill(addr, buf), Crc32c::update).unwrap();
    assert_eq!(n as usize, got.len());
    assert!(got == want, "the tree images differ");
}
