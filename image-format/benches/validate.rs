//! Validation speed of a large image: 10,000 regions (every 10th with one
//! stored page), 1,000 threads with 832-byte XSAVE areas, 200 fds.
//! `cargo bench -p image-format --bench validate` prints ns per image.
#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use image_format::*;

fn big() -> ImageDesc {
    let mut d = common::sample();
    let t0 = d.threads[0].clone();
    d.threads = (0..1000)
        .map(|i| {
            let mut t = t0.clone();
            t.state.tid = 1000 + i;
            t
        })
        .collect();
    let proto = d.regions[1].clone();
    d.regions = (0..10_000u64)
        .map(|i| {
            let mut r = proto.clone();
            r.start = 0x1000_0000 + i * 2 * 4096;
            r.end = r.start + 4096;
            r.path =
                ByteString(format!("/usr/lib/x86_64-linux-gnu/lib{}.so.6", i % 500).into_bytes());
            r.runs = if i % 10 == 0 {
                vec![RunDesc {
                    page_index: 0,
                    page_count: 1,
                }]
            } else {
                vec![]
            };
            r
        })
        .collect();
    let fd3 = d.fds[3].clone();
    d.fds.truncate(3);
    for i in 0..200 {
        let mut f = fd3.clone();
        f.fd = 3 + i;
        d.fds.push(f);
    }
    d
}

fn time(label: &str, bytes: u64, mut f: impl FnMut()) {
    f();
    let start = Instant::now();
    let mut iters = 0u32;
    while start.elapsed() < Duration::from_secs(2) {
        f();
        iters += 1;
    }
    let per = start.elapsed() / iters;
    let mbps = bytes as f64 / per.as_secs_f64() / 1e6;
    println!(
        "{label}: {} ns per image ({iters} iterations, {mbps:.0} MB/s)",
        per.as_nanos()
    );
}

fn main() {
    let desc = big();
    let bytes = common::build(&desc);
    let h = Header::parse(&bytes).unwrap();
    let meta = &bytes[256..256 + h.metadata_len as usize];
    let tail = &bytes[h.tail_offset as usize..];
    println!(
        "image: {} regions, {} threads, {} fds, {} page runs; metadata {} KiB, file {} KiB",
        desc.regions.len(),
        desc.threads.len(),
        desc.fds.len(),
        Image::parse_bytes(&bytes).unwrap().run_count(),
        h.metadata_len / 1024,
        bytes.len() / 1024
    );
    time(
        "validate (Image::parse: header + metadata + tail)",
        h.metadata_len,
        || {
            black_box(
                Image::parse(
                    black_box(&bytes[..4096]),
                    black_box(meta),
                    black_box(tail),
                    bytes.len() as u64,
                )
                .unwrap(),
            );
        },
    );
    time("validate + walk all records", h.metadata_len, || {
        let img = Image::parse(&bytes[..4096], meta, tail, bytes.len() as u64).unwrap();
        let mut n = 0u64;
        for r in img.regions() {
            n += img.string(r.path).len() as u64 + img.page_runs(&r).count() as u64;
        }
        n += img
            .threads()
            .map(|t| t.state.regs.rip)
            .fold(0, u64::wrapping_add);
        black_box(n);
    });
    time("crc32c alone over the metadata", h.metadata_len, || {
        black_box(crc32c(black_box(meta)));
    });
    time("write (prepare + stream)", bytes.len() as u64, || {
        let mut out = Vec::with_capacity(bytes.len());
        black_box(write_image(&desc, &mut out, common::fill).unwrap());
    });
}
