//! Mappings a restorer leaves in a restored process, and how a later dump
//! treats them (restorer/README.md):
//!
//! * the restorer stub's **final page**: one private anonymous r-x page
//!   holding the signature below. The original process never had it, so it
//!   is left out of the image;
//! * **image-backed memory**: a restorer maps stored pages straight from
//!   the .ckpt file (MAP_PRIVATE at page-run offsets). That file may be
//!   deleted or replaced once the process is dumped again, so such a
//!   mapping is stored as anonymous memory with all its pages, never
//!   referenced by path;
//! * a **split heap**: the pieces of a heap a restorer mapped partly from
//!   the image are joined into one heap region again;
//! * the **executable** /proc shows is the image that was executed; the
//!   program it recorded is recorded again.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::snapshot::{FileIdent, Region, RegionKind};

/// The NUL-terminated signature in the stub's final page
/// (`chkpt_final_signature` in restorer/stub/entry.S).
pub const FINAL_PAGE_SIGNATURE: &[u8] = b"binfmt_chkpt restorer final page v1\0";

const PAGE: u64 = 4096;

/// True when the page at `addr` (the whole of a one-page private anonymous
/// r-x mapping) contains the final-page signature. `mem` is the target's
/// /proc/PID/mem. The caller only asks for pages that are present or
/// swapped: reading a never-touched page would fault a zero page into the
/// target, and such a page cannot hold the signature anyway.
pub fn is_final_page(mem: &File, addr: u64) -> bool {
    let mut page = vec![0u8; PAGE as usize];
    if mem.read_exact_at(&mut page, addr).is_err() {
        return false;
    }
    page.windows(FINAL_PAGE_SIGNATURE.len()).any(|w| w == FINAL_PAGE_SIGNATURE)
}

/// True when the file mapped at `start..end` of `pid` is a binfmt_chkpt
/// image: its first bytes are the image magic. The file is opened through
/// /proc/PID/map_files (the very inode that is mapped, even if renamed or
/// replaced), falling back to `path`. A file that cannot be read is not
/// taken for an image.
pub fn is_image_file(pid: i32, start: u64, end: u64, path: &Path) -> bool {
    let file = File::open(format!("/proc/{pid}/map_files/{start:x}-{end:x}")).or_else(|_| File::open(path));
    let mut magic = [0u8; 8];
    file.and_then(|f| f.read_exact_at(&mut magic, 0)).is_ok() && magic == image_format::MAGIC
}

/// The executable a restored process really runs. Restoring is an execve
/// of the image, so /proc/PID/exe names the image (even once deleted); the
/// program is the one that image recorded. `exe` is /proc/PID/exe; None
/// when it is not a valid image.
pub fn original_exe(exe: &Path) -> Option<(Vec<u8>, FileIdent)> {
    let file = File::open(exe).ok()?;
    let mut head = vec![0u8; image_format::HEADER_SIZE];
    file.read_exact_at(&mut head, 0).ok()?;
    if head[..8] != image_format::MAGIC {
        return None;
    }
    let h = image_format::Header::parse(&head).ok()?;
    let mut meta = vec![0u8; usize::try_from(h.metadata_len).ok()?];
    file.read_exact_at(&mut meta, h.metadata_offset).ok()?;
    let m = image_format::Metadata::parse(&h, &meta).ok()?;
    let id = m.process.exe_id;
    let ident =
        FileIdent { dev: id.dev, ino: id.ino, size: id.size, mtime_sec: id.mtime_sec, mtime_nsec: id.mtime_nsec };
    Some((m.string(m.process.exe_path).to_vec(), ident))
}

/// A restored heap is several mappings: a restorer maps the heap's stored
/// runs from the image over anonymous memory, and /proc names each
/// anonymous piece inside the brk range [heap]. An image holds at most one
/// heap region, so the adjacent private anonymous pieces inside
/// `start_brk..brk` with the same protection (the [heap] ones and the
/// image-backed ones between them, by now anonymous memory too) become one
/// heap region again. Any other region /proc called [heap] is recorded as
/// plain anonymous memory, which restores the same way.
pub fn join_heap(regions: Vec<Region>, start_brk: u64, brk: u64) -> Vec<Region> {
    let brk_end = brk.next_multiple_of(PAGE);
    let in_heap = |r: &Region| {
        matches!(r.kind, RegionKind::Heap | RegionKind::Anon) && !r.shared && r.start >= start_brk && r.end <= brk_end
    };
    let mut out: Vec<Region> = Vec::with_capacity(regions.len());
    let mut have_heap = false;
    for mut r in regions {
        let joins = match out.last() {
            Some(h) => h.kind == RegionKind::Heap && in_heap(h) && in_heap(&r) && h.end == r.start && same_prot(h, &r),
            None => false,
        };
        if joins {
            let h = out.last_mut().expect("checked above");
            let shift = (h.end - h.start) / PAGE;
            h.runs.extend(r.runs.iter().map(|&(i, n)| (i + shift, n)));
            merge_touching(&mut h.runs);
            h.end = r.end;
            continue;
        }
        if r.kind == RegionKind::Heap || (!have_heap && in_heap(&r) && r.start == start_brk) {
            if have_heap {
                r.kind = RegionKind::Anon;
            } else {
                r.kind = RegionKind::Heap;
                have_heap = true;
            }
        }
        out.push(r);
    }
    out
}

fn same_prot(a: &Region, b: &Region) -> bool {
    (a.read, a.write, a.exec) == (b.read, b.write, b.exec)
}

/// Joins runs that touch after a concatenation.
fn merge_touching(runs: &mut Vec<(u64, u64)>) {
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(runs.len());
    for &(i, n) in runs.iter() {
        match merged.last_mut() {
            Some((s, c)) if *s + *c == i => *c += n,
            _ => merged.push((i, n)),
        }
    }
    *runs = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(start_page: u64, end_page: u64, kind: RegionKind, runs: &[(u64, u64)]) -> Region {
        Region {
            start: start_page * PAGE,
            end: end_page * PAGE,
            read: true,
            write: true,
            exec: false,
            shared: false,
            shared_anon: false,
            may_write: false,
            advice: 0,
            kind,
            path: Vec::new(),
            file_offset: 0,
            file_id: Default::default(),
            runs: runs.to_vec(),
            maps_file: None,
        }
    }

    /// A valid image of one thread whose executable is `exe`.
    fn image_of(exe: &str) -> Vec<u8> {
        use image_format::*;
        let mut xsave = vec![0u8; 576];
        xsave[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        let mut regs = Regs::from_array([0; 27]);
        (regs.cs, regs.ss, regs.eflags) = (0x33, 0x2b, 0x202);
        let desc = ImageDesc {
            kernel_release: ByteString(b"6.12".to_vec()),
            dump_time_sec: 1,
            dump_time_nsec: 0,
            process: ProcessDesc {
                pid: 7,
                comm: ByteString(b"prog".to_vec()),
                exe_path: ByteString(exe.as_bytes().to_vec()),
                exe_id: FileId { dev: 1, ino: 2, size: 3, mtime_sec: 4, mtime_nsec: 5 },
                cwd: ByteString(b"/".to_vec()),
                umask: 0o22,
                personality: 0,
                xcr0: 3,
                xsave_size: 576,
                mm: MmLayout::default(),
                rlimits: [Rlimit { cur: 1, max: 1 }; 16],
                membarrier: 0,
                cwd_removed: false,
            },
            auxv: Vec::new(),
            threads: vec![ThreadDesc {
                state: ThreadState {
                    tid: 7,
                    regs,
                    sigmask: 0,
                    altstack: AltStack::default(),
                    clear_child_tid: 0,
                    robust_list_head: 0,
                    robust_list_len: 0,
                    rseq: Rseq::default(),
                    xstate_bv: 0,
                    name: Default::default(),
                },
                xsave: Blob(xsave),
                name: Default::default(),
            }],
            sigactions: vec![SigAction::default(); 64],
            regions: Vec::new(),
            fds: Vec::new(),
            files: Vec::new(),
            pending_signals: Vec::new(),
            timers: Vec::new(),
            locks: Vec::new(),
            attrs: Default::default(),
            creds: None,
            groups: Vec::new(),
            sched: Vec::new(),
            seccomp: Vec::new(),
        };
        let mut out = Vec::new();
        write_image(&desc, &mut out, |_, _| Ok(())).unwrap();
        out
    }

    #[test]
    fn exe_of_a_restored_process_is_the_recorded_one() {
        let dir = std::env::temp_dir().join(format!("ckpt-exe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (image, other) = (dir.join("a.ckpt"), dir.join("prog"));
        std::fs::write(&image, image_of("/usr/bin/prog")).unwrap();
        std::fs::write(&other, b"\x7fELF not an image").unwrap();
        let (path, id) = original_exe(&image).expect("an image");
        assert_eq!(path, b"/usr/bin/prog");
        assert_eq!((id.dev, id.ino, id.size, id.mtime_sec, id.mtime_nsec), (1, 2, 3, 4, 5));
        assert!(original_exe(&other).is_none());
        let mut bad = std::fs::read(&image).unwrap();
        bad[300] ^= 1;
        std::fs::write(&image, bad).unwrap();
        assert!(original_exe(&image).is_none(), "a damaged image names no executable");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn split_heap_becomes_one_region() {
        use RegionKind::{Anon, Heap};
        let regions = vec![
            region(10, 12, Anon, &[(0, 2)]),           // below the heap: untouched
            region(20, 24, Heap, &[(1, 3)]),           // [heap]
            region(24, 26, Anon, &[(0, 2)]),           // image-backed piece
            region(26, 30, Heap, &[(0, 1), (3, 1)]),   // [heap]
            region(40, 41, Heap, &[]),                 // a stray [heap] piece
        ];
        let out = join_heap(regions, 20 * PAGE, 30 * PAGE - 100);
        type Summary = (u64, u64, RegionKind, Vec<(u64, u64)>);
        let got: Vec<Summary> = out.iter().map(|r| (r.start / PAGE, r.end / PAGE, r.kind, r.runs.clone())).collect();
        assert_eq!(
            got,
            vec![(10, 12, Anon, vec![(0, 2)]), (20, 30, Heap, vec![(1, 6), (9, 1)]), (40, 41, Anon, vec![])]
        );
    }

    #[test]
    fn heap_starting_with_an_image_piece() {
        let regions = vec![region(20, 22, RegionKind::Anon, &[(0, 2)]), region(22, 25, RegionKind::Heap, &[(2, 1)])];
        let out = join_heap(regions, 20 * PAGE, 25 * PAGE);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].kind, out[0].end, out[0].runs.clone()), (RegionKind::Heap, 25 * PAGE, vec![(0, 2), (4, 1)]));
    }
}
