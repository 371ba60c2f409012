//! `mutate-image KIND IN OUT`: writes a damaged copy of a valid image with
//! its checksums recomputed, so that the damage gets past the first checks
//! and reaches the one it is meant for. Guest scenarios use it to check
//! that the module refuses each kind with the right errno and reason.
//!
//! Kinds: `overlap` (two regions overlap), `kernel-address` (a region in
//! kernel space), `missing-file` (a mapped file's path that does not
//! exist), `changed-file` (a mapped file's recorded size differs).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::process::ExitCode;

use image_format::{prepare_with, write_prepared, Image, ImageDesc, Options, RegionKind};

fn mutate(kind: &str, desc: &mut ImageDesc) -> Result<(), String> {
    let regions = &mut desc.regions;
    match kind {
        "overlap" => {
            let r = regions.get_mut(1).ok_or("the image has fewer than two regions")?;
            r.start -= 4096;
        }
        "kernel-address" => {
            let r = regions.last_mut().ok_or("the image has no region")?;
            r.start = 0xffff_8000_0000_0000;
            r.end = r.start + 4096 * r.runs.iter().map(|x| x.page_index + x.page_count).max().unwrap_or(1);
        }
        "missing-file" | "changed-file" => {
            let r = regions
                .iter_mut()
                .find(|r| r.kind == RegionKind::File)
                .ok_or("the image maps no file")?;
            if kind == "missing-file" {
                r.path = "/nonexistent/library.so".into();
            } else {
                r.file_id.size += 1;
            }
        }
        _ => return Err(format!("unknown kind {kind}")),
    }
    Ok(())
}

fn run(kind: &str, input: &str, output: &str) -> Result<(), String> {
    let bytes = std::fs::read(input).map_err(|e| format!("{input}: {e}"))?;
    let image = Image::parse_bytes(&bytes).map_err(|e| format!("{input}: {}", e.name()))?;
    // Where each stored page of the original lives, by virtual address.
    let mut stored = Vec::new();
    for r in image.regions() {
        for run in image.page_runs(&r) {
            stored.push((r.start + run.page_index * 4096, run.page_count * 4096, run.file_offset));
        }
    }
    let mut desc = ImageDesc::from_image(&image);
    let before: Vec<_> = desc.regions.iter().map(|r| r.start).collect();
    mutate(kind, &mut desc)?;
    let moved: Vec<_> = desc.regions.iter().map(|r| r.start).collect();
    let prepared = prepare_with(&desc, &Options { validate: false, ..Options::default() }).map_err(|e| e.name().to_string())?;
    let input_file = File::open(input).map_err(|e| e.to_string())?;
    let mut out = File::create(output).map_err(|e| format!("{output}: {e}"))?;
    write_prepared(&prepared, &mut out, |addr, buf| {
        // A moved region's pages are looked up at its original address.
        let addr = before
            .iter()
            .zip(&moved)
            .filter(|(_, m)| **m <= addr)
            .last()
            .map_or(addr, |(b, m)| addr - m + b);
        match stored.iter().find(|(a, len, _)| *a <= addr && addr < a + len) {
            Some((a, _, off)) => input_file.read_exact_at(buf, off + (addr - a)),
            None => {
                buf.fill(0);
                Ok(())
            }
        }
    })
    .map_err(|e| format!("{output}: {e:?}"))?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: mutate-image overlap|kernel-address|missing-file|changed-file IN OUT");
        return ExitCode::from(2);
    }
    match run(&args[1], &args[2], &args[3]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mutate-image: {e}");
            ExitCode::FAILURE
        }
    }
}
