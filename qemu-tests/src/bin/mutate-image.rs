//! `mutate-image KIND IN OUT`: writes a damaged copy of a valid image with
//! its checksums recomputed, so that the damage gets past the first checks
//! and reaches the one it is meant for. Guest scenarios use it to check
//! that the module refuses each kind with the right errno and reason.
//!
//! Kinds: `overlap` (two regions overlap), `kernel-address` (a region in
//! kernel space), `missing-file` (a mapped file's path that does not
//! exist), `changed-file` (a mapped file's recorded size differs); register
//! state the kernel's sigreturn would refuse: `noncanonical-rip`, `bad-cs`,
//! `bad-ss`, `reserved-eflags`, `xsave-feature` (an XSAVE component outside
//! XCR0), `cpu-feature` (XCR0 with a feature no CPU has); resources:
//! `huge-region` (16 TiB more of sparse memory), `many-threads` (16384);
//! `vdso-changed` (the stored vdso is not this kernel's); `many-maps`
//! (one-page anonymous regions added until there are 60,000, protections
//! alternating so that none can merge: a restore that maps for minutes in
//! the debug guest, where dumping a process with that many takes hours);
//! `maximal` (as
//! much metadata as the format allows: 65,536 regions and fds, threads up
//! to the 64 MiB metadata limit, and `cpu-feature`'s XCR0, so that the
//! module refuses it right after validating it: the worst case to time).

use std::fs::File;
use std::mem::offset_of;
use std::os::unix::fs::FileExt;
use std::process::ExitCode;

use image_format::v1::thread::XsaveStartWire;
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
        "noncanonical-rip" => thread0(desc)?.state.regs.rip = 0x0000_8000_0000_0000,
        "bad-cs" => thread0(desc)?.state.regs.cs = 0x23,
        "bad-ss" => thread0(desc)?.state.regs.ss = 0x33,
        "reserved-eflags" => thread0(desc)?.state.regs.eflags |= 3 << 12,
        "xsave-feature" => {
            let t = thread0(desc)?;
            t.state.xstate_bv |= 1 << 62;
            let at = offset_of!(XsaveStartWire, xstate_bv);
            let bv = t.xsave.0.get_mut(at..at + 8).ok_or("XSAVE area too short")?;
            bv.copy_from_slice(&t.state.xstate_bv.to_le_bytes());
        }
        "cpu-feature" => desc.process.xcr0 |= 1 << 62,
        "huge-region" => {
            let start = 0x1000_0000_0000u64;
            let end = start + (16u64 << 40);
            if desc.regions.iter().any(|r| r.start < end && start < r.end) {
                return Err("the image already uses the range of the huge region".into());
            }
            let mut r = desc.regions.iter().find(|r| r.kind == RegionKind::Anon).ok_or("no anonymous region")?.clone();
            r.start = start;
            r.end = end;
            r.runs.clear();
            let at = desc.regions.partition_point(|x| x.start < start);
            desc.regions.insert(at, r);
        }
        "many-threads" => {
            let first = desc.threads.first().ok_or("the image has no thread")?.clone();
            let base = desc.threads.iter().map(|t| t.state.tid).max().unwrap_or(1);
            while desc.threads.len() < 16_384 {
                let mut t = first.clone();
                t.state.tid = base + desc.threads.len() as u32;
                desc.threads.push(t);
            }
        }
        "many-maps" => {
            let base = 0x2000_0000_0000u64;
            let want = 60_000usize.saturating_sub(desc.regions.len());
            let added = added_regions(desc, base, want, |i| if i % 2 == 0 { 3 } else { 1 })?;
            let at = desc.regions.partition_point(|x| x.start < base);
            desc.regions.splice(at..at, added);
        }
        "maximal" => maximal(desc)?,
        // Page data is changed after writing (see run).
        "vdso-changed" => {}
        _ => return Err(format!("unknown kind {kind}")),
    }
    Ok(())
}

/// `vdso-changed`: one byte of the stored vdso differs from any kernel's.
/// Page CRCs are left stale: the module does not read them (lazy pages),
/// so only its vdso comparison can notice.
fn change_vdso(output: &str) -> Result<(), String> {
    let mut bytes = std::fs::read(output).map_err(|e| e.to_string())?;
    let image = Image::parse_bytes(&bytes).map_err(|e| e.name().to_string())?;
    let vdso = image.regions().find(|r| r.kind == RegionKind::Vdso).ok_or("the image has no vdso")?;
    let run = image.page_runs(&vdso).next().ok_or("the vdso has no stored pages")?;
    let at = usize::try_from(run.file_offset).map_err(|e| e.to_string())? + 0x100;
    bytes[at] ^= 0xff;
    std::fs::write(output, &bytes).map_err(|e| e.to_string())
}

/// `count` one-page anonymous regions without stored pages, side by side
/// from `base` (a range the image must not use), the i-th with `prot(i)`.
fn added_regions(desc: &ImageDesc, base: u64, count: usize, prot: impl Fn(u64) -> u32) -> Result<Vec<image_format::RegionDesc>, String> {
    let end = base + 4096 * count as u64;
    if desc.regions.iter().any(|r| r.start < end && base < r.end) {
        return Err("the image already uses the range of the added regions".into());
    }
    let mut r = desc.regions.iter().find(|r| r.kind == RegionKind::Anon).ok_or("no anonymous region")?.clone();
    r.runs.clear();
    Ok((0..count as u64)
        .map(|i| {
            let mut n = r.clone();
            n.start = base + 4096 * i;
            n.end = n.start + 4096;
            n.prot = prot(i);
            n
        })
        .collect())
}

/// `maximal`: every count at the format's limit that the 64 MiB of
/// metadata leaves room for (the validator's time is linear in it).
fn maximal(desc: &mut ImageDesc) -> Result<(), String> {
    use image_format::{limits, FdDesc, FdDisposition, FdKind};
    desc.process.xcr0 |= 1 << 62;
    let base = 0x2000_0000_0000u64;
    let want = limits::MAX_REGIONS as usize - desc.regions.len();
    let first = desc.regions.iter().find(|r| r.kind == RegionKind::Anon).ok_or("no anonymous region")?.prot;
    let added = added_regions(desc, base, want, |_| first)?;
    let at = desc.regions.partition_point(|x| x.start < base);
    desc.regions.splice(at..at, added);
    let size = |d: &ImageDesc| {
        prepare_with(d, &Options { validate: false, ..Options::default() })
            .map(|p| p.metadata.len() as u64)
            .map_err(|e| e.name().to_string())
    };
    // Threads up to the limit, or until a quarter of the metadata is left.
    let first = desc.threads.first().ok_or("the image has no thread")?.clone();
    let per_thread = (image_format::thread::THREAD_FIXED_SIZE + first.xsave.0.len()) as u64;
    let room = (limits::MAX_METADATA_LEN * 3 / 4).saturating_sub(size(desc)?);
    let more = (room / per_thread).min(u64::from(limits::MAX_THREADS) - desc.threads.len() as u64);
    let tid = desc.threads.iter().map(|t| t.state.tid).max().unwrap_or(1);
    for i in 0..more as u32 {
        let mut t = first.clone();
        t.state.tid = tid + 1 + i;
        desc.threads.push(t);
    }
    // Fds to reopen, each with its own path, long enough to fill the rest.
    let count = limits::MAX_FDS as usize - desc.fds.len();
    let room = limits::MAX_METADATA_LEN.saturating_sub(size(desc)? + 65_536);
    let per_fd = (room / count as u64).saturating_sub(image_format::records::FD_SIZE as u64 + 8);
    let pad = "p".repeat((per_fd as usize).clamp(16, limits::MAX_PATH_LEN as usize) - 16);
    let first_fd = desc.fds.iter().map(|f| f.fd).max().unwrap_or(2) + 1;
    for fd in (first_fd..).take(count) {
        let path = format!("/tmp/{pad}{fd:07}").into_bytes();
        desc.fds.push(FdDesc {
            fd,
            kind: FdKind::Regular,
            disposition: FdDisposition::Reopen,
            open_flags: 0,
            offset: 0,
            path: image_format::ByteString(path),
            cloexec: false,
            file: 0,
        });
    }
    let len = size(desc)?;
    if len > limits::MAX_METADATA_LEN {
        return Err(format!("{len} bytes of metadata, over the format's limit"));
    }
    eprintln!(
        "maximal: {} regions, {} threads, {} fds, {len} bytes of metadata",
        desc.regions.len(),
        desc.threads.len(),
        desc.fds.len()
    );
    Ok(())
}

fn thread0(desc: &mut ImageDesc) -> Result<&mut image_format::ThreadDesc, String> {
    desc.threads.first_mut().ok_or_else(|| "the image has no thread".to_string())
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
    let before: Vec<_> = desc.regions.iter().map(|r| (r.start, r.end)).collect();
    mutate(kind, &mut desc)?;
    // Regions whose start moved (same index, same length): their pages are
    // looked up at the original address. Inserted regions have no pages.
    let moved: Vec<(u64, u64)> = if desc.regions.len() == before.len() {
        desc.regions
            .iter()
            .zip(&before)
            .filter(|(r, b)| r.start != b.0)
            .map(|(r, b)| (r.start, b.0))
            .collect()
    } else {
        Vec::new()
    };
    let prepared = prepare_with(&desc, &Options { validate: false, ..Options::default() }).map_err(|e| e.name().to_string())?;
    let input_file = File::open(input).map_err(|e| e.to_string())?;
    let mut out = File::create(output).map_err(|e| format!("{output}: {e}"))?;
    write_prepared(&prepared, &mut out, |addr, buf| {
        // Page by page: a moved region's pages come from its old address.
        for (i, page) in buf.chunks_mut(4096).enumerate() {
            let at = addr + 4096 * i as u64;
            let at = moved
                .iter()
                .filter(|(new, _)| *new <= at)
                .max_by_key(|(new, _)| *new)
                .map_or(at, |(new, old)| at - new + old);
            match stored.iter().find(|(a, len, _)| *a <= at && at < a + len) {
                Some((a, _, off)) => input_file.read_exact_at(page, off + (at - a))?,
                None => page.fill(0),
            }
        }
        Ok(())
    })
    .map_err(|e| format!("{output}: {e:?}"))?;
    if kind == "vdso-changed" {
        change_vdso(output)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: mutate-image KIND IN OUT (kinds: see the source's header)");
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
