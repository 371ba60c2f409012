//! A real writer-produced image: every single-byte change inside the
//! checksummed ranges and every truncation point is refused, each with the
//! error the check order predicts.
mod common;

use common::*;
use image_format::*;

/// The error a change at `pos` must produce, given the file layout.
fn expected(pos: usize, h: &Header) -> &'static str {
    let meta = h.metadata_offset as usize..(h.metadata_offset + h.metadata_len) as usize;
    let trailer = (h.file_len - 64) as usize;
    match pos {
        0..=7 => "bad-magic",
        8..=9 => "unknown-major-version",
        10..=255 => "header-checksum",
        p if meta.contains(&p) => "metadata-checksum",
        p if p >= trailer && p < trailer + 8 => "bad-trailer-magic",
        p if p >= trailer => "trailer-checksum",
        p if p >= h.tail_offset as usize => "tail-checksum",
        _ => unreachable!("not a checksummed byte"),
    }
}

#[test]
fn every_byte_change_in_checksummed_ranges_is_refused() {
    let good = build(&sample());
    let h = Image::parse_bytes(&good).unwrap().header;
    let ranges = [
        0..(h.metadata_offset + h.metadata_len) as usize,
        h.tail_offset as usize..good.len(),
    ];
    let mut checked = 0;
    for pos in ranges.into_iter().flatten() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut b = good.clone();
            b[pos] ^= flip;
            assert_eq!(
                parse_result(&b),
                expected(pos, &h),
                "byte {pos} ^ {flip:#x}"
            );
            checked += 1;
        }
    }
    assert!(checked > 3 * 4000, "{checked}");
}

#[test]
fn page_byte_changes_are_found_by_verify_pages() {
    let good = build(&sample());
    let h = Image::parse_bytes(&good).unwrap().header;
    // Every 509th byte of the page data (a prime stride hits every run).
    for pos in (h.pages_offset as usize..h.tail_offset as usize).step_by(509) {
        let mut b = good.clone();
        b[pos] ^= 0x04;
        let image = Image::parse_bytes(&b).expect("metadata unaffected");
        let r = verify_pages(&image, |o, buf| {
            buf.copy_from_slice(&b[o as usize..o as usize + buf.len()]);
            Ok(())
        });
        assert!(
            matches!(r, Err(VerifyError::Format(FormatError::PageChecksum))),
            "byte {pos}"
        );
    }
}

#[test]
fn every_truncation_point_is_refused() {
    let good = build(&sample());
    for len in 0..good.len() {
        assert_eq!(parse_result(&good[..len]), "truncated", "length {len}");
    }
    // Also through the piecewise API a restorer uses: the header claims
    // more than the file has.
    let h = Header::parse(&good).unwrap();
    let meta = &good[256..256 + h.metadata_len as usize];
    let tail = &good[h.tail_offset as usize..];
    for short in [1u64, 4096, h.file_len - 300] {
        let r = Image::parse(&good, meta, tail, h.file_len - short);
        assert_eq!(r.unwrap_err().name(), "truncated");
    }
}
