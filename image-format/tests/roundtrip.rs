//! Writing a description and reading it back gives the same description,
//! the same page bytes, and passing page verification.
mod common;

use common::*;
use image_format::*;

#[test]
fn sample_round_trips() {
    let desc = sample();
    let bytes = build(&desc);
    let img = Image::parse_bytes(&bytes).expect("parse");
    assert_eq!(ImageDesc::from_image(&img), desc);
    assert_eq!(img.header.file_len, bytes.len() as u64);
    assert_eq!(&bytes[..8], &MAGIC);
    assert_eq!(&bytes[bytes.len() - 64..][..8], &TRAILER_MAGIC);
}

#[test]
fn pending_signals_round_trip_and_are_left_out_when_none() {
    let desc = with_signals();
    let bytes = build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    assert_eq!(ImageDesc::from_image(&img), desc);
    assert_eq!(img.pending_signal_count(), 5);
    let none = build(&sample());
    assert!(image_format::fields::metadata_sections(&none).iter().all(|s| s.kind != section_kind::PENDING_SIGNALS));
}

#[test]
fn timers_round_trip() {
    let desc = with_timers();
    let img_bytes = build(&desc);
    let img = Image::parse_bytes(&img_bytes).unwrap();
    assert_eq!(ImageDesc::from_image(&img), desc);
    assert_eq!(img.timer_count(), 5);
}

#[test]
fn locks_round_trip() {
    let desc = with_locks();
    let img_bytes = build(&desc);
    let img = Image::parse_bytes(&img_bytes).unwrap();
    assert_eq!(ImageDesc::from_image(&img), desc);
    assert_eq!(img.lock_count(), 4);
    let none = build(&sample());
    assert!(image_format::fields::metadata_sections(&none).iter().all(|s| s.kind != section_kind::LOCKS));
}

#[test]
fn pages_are_at_aligned_offsets_with_the_right_bytes() {
    let desc = sample();
    let bytes = build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let mut seen = 0;
    for r in img.regions() {
        for run in img.page_runs(&r) {
            assert_eq!(run.file_offset % 4096, 0);
            for i in 0..run.page_count * 4096 {
                let addr = r.start + run.page_index * 4096 + i;
                assert_eq!(bytes[(run.file_offset + i) as usize], page_byte(addr));
            }
            seen += run.page_count;
        }
    }
    assert_eq!(seen * 4096, img.header.pages_len);
    assert_eq!(seen, 38);
}

#[test]
fn verify_pages_accepts_good_and_rejects_flipped_page_byte() {
    let desc = sample();
    let mut bytes = build(&desc);
    let read = |b: &Vec<u8>| {
        let img = Image::parse_bytes(b).unwrap();
        verify_pages(&img, |off, buf| {
            buf.copy_from_slice(&b[off as usize..off as usize + buf.len()]);
            Ok(())
        })
    };
    read(&bytes).expect("good pages");
    let off = Image::parse_bytes(&bytes).unwrap().header.pages_offset as usize + 5000;
    bytes[off] ^= 0x40;
    assert!(matches!(
        read(&bytes),
        Err(VerifyError::Format(FormatError::PageChecksum))
    ));
}

#[test]
fn large_run_is_streamed_in_bounded_chunks() {
    let mut desc = sample();
    // 3 MiB + 1 page run: the callback must see chunks <= WRITE_CHUNK.
    let pages = 769;
    desc.regions[3].end = desc.regions[3].start + pages * 4096;
    desc.regions[3].runs = vec![RunDesc {
        page_index: 0,
        page_count: pages,
    }];
    let mut out = Vec::new();
    let mut max_chunk = 0;
    let mut calls = 0;
    write_image(&desc, &mut out, |a, b| {
        max_chunk = max_chunk.max(b.len());
        calls += 1;
        fill(a, b)
    })
    .unwrap();
    assert!(max_chunk <= v1::limits::WRITE_CHUNK);
    assert!(calls >= 4);
    let img = Image::parse_bytes(&out).unwrap();
    verify_pages(&img, |off, buf| {
        buf.copy_from_slice(&out[off as usize..off as usize + buf.len()]);
        Ok(())
    })
    .unwrap();
}

#[test]
fn writer_refuses_invalid_description_before_writing() {
    let mut desc = sample();
    desc.regions.swap(0, 1);
    let mut out = Vec::new();
    match write_image(&desc, &mut out, fill) {
        Err(WriteError::Invalid(e)) => assert_eq!(e.name(), "regions-overlap-or-unsorted"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(out.is_empty());
}

#[test]
fn check_cpu_distinguishes_missing_features_and_small_area() {
    let bytes = build(&sample());
    let img = Image::parse_bytes(&bytes).unwrap();
    assert_eq!(check_cpu(&img.process, 0x7, 832), Ok(()));
    assert_eq!(check_cpu(&img.process, 0xe7, 2696), Ok(()));
    assert_eq!(
        check_cpu(&img.process, 0x3, 832).unwrap_err().name(),
        "cpu-missing-features"
    );
    assert_eq!(
        check_cpu(&img.process, 0x7, 576).unwrap_err().name(),
        "cpu-xsave-too-small"
    );
}

#[test]
fn crc32c_matches_known_vectors() {
    // RFC 3720 B.4 and the classic "123456789" check value.
    assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
    assert_eq!(crc32c(&[0xffu8; 32]), 0x62a8_ab43);
    let inc: Vec<u8> = (0..32).collect();
    assert_eq!(crc32c(&inc), 0x46dd_794e);
    // Incremental feeding at every split point equals one-shot.
    let data: Vec<u8> = (0..100u32).map(|i| (i * 7 + 3) as u8).collect();
    for split in 0..data.len() {
        let mut c = Crc32c::new();
        c.update(&data[..split]);
        c.update(&data[split..]);
        assert_eq!(c.finish(), crc32c(&data));
    }
}
