//! The memory steps the stub runs first (plan.h CHKPT_OP_*): unmap all of
//! the restorer except the `[plan][stub]` block, map the image's regions
//! as the shared policy says, close the fds the steps used. The restorer
//! cannot do this itself: its own code is among what goes away.

use image_format::{Image, Region};
use restore_plan::{op_kind, Op, KEEP, PAGE};
use restore_policy::{region_pages, RegionMap};

use crate::error::{internal, Checked};

/// mmap(2)'s MAP_ANONYMOUS (x86-64).
const MAP_ANONYMOUS: u32 = 0x20;

fn mmap(addr: u64, len: u64, prot: u32, flags: u32, fd: u64, offset: u64) -> Op {
    Op { kind: op_kind::MMAP, addr, len, prot: u64::from(prot), flags: u64::from(flags), fd, offset }
}

/// The most memory steps [`teardown`] and [`region_ops`] make for `image`:
/// two unmaps, a map and an mprotect per region, a map or copy per run
/// and a map per hole between runs (see `anon_around_runs`), and a close
/// per fd (the image's and one per file region at most).
pub fn max_ops(image: &Image<'_>) -> usize {
    let regions = image.region_count() as usize;
    2 + 2 * regions + 2 * image.run_count() as usize + 1 + regions
}

/// Steps mapping every region of `image`, then closing the fds they used.
/// `file_of` gives each region's index in `file_fds`; `base` is where the
/// image lies in the file (a tree member's offset, else 0).
/// `shared[i]`: the tree's fd of the shared memory region i maps (a tree
/// member's TREE_REGIONS), mapped MAP_SHARED from it.
pub fn region_ops(image: &Image<'_>, image_fd: u64, base: u64, file_of: &[Option<usize>], file_fds: &[u64], shared: &[Option<u64>]) -> Checked<Vec<Op>> {
    let mut ops = Vec::new();
    for (i, r, map, pages) in region_pages(image, |_| false) {
        let len = r.end - r.start;
        let prot = pages.map_prot;
        match map {
            RegionMap::Anon(flags) if shared.get(i).copied().flatten().is_some() => {
                let fd = shared.get(i).copied().flatten().unwrap_or(KEEP);
                ops.push(mmap(r.start, len, prot, flags & !MAP_ANONYMOUS, fd, r.file_offset));
            }
            RegionMap::Kernel => continue,
            RegionMap::File(flags) => {
                let f = file_of.get(i).copied().flatten().and_then(|f| file_fds.get(f));
                let fd = *f.ok_or_else(|| internal("file-region-without-file", format!("{:#x}", r.start)))?;
                ops.push(mmap(r.start, len, prot, flags, fd, r.file_offset));
            }
            RegionMap::Anon(flags) if r.run_count != 0 && pages.run_flags.is_some() => {
                let run_flags = pages.run_flags.unwrap_or_default();
                anon_around_runs(&mut ops, image, &r, (prot, flags, run_flags), image_fd, base);
                continue;
            }
            RegionMap::Anon(flags) => ops.push(mmap(r.start, len, prot, flags, KEEP, 0)),
            // The stub maps it once its object exists (plan.h deferred).
            RegionMap::Reserve(_, flags) => ops.push(mmap(r.start, len, prot, flags, KEEP, 0)),
        }
        for run in image.page_runs(&r) {
            // Validated: runs lie inside the region and the image's page data.
            let at = r.start + run.page_index * PAGE;
            let bytes = run.page_count * PAGE;
            match pages.run_flags {
                // Lazy and copy-on-write: nothing is read until touched.
                Some(flags) => ops.push(mmap(at, bytes, r.prot, flags, image_fd, base + run.file_offset)),
                None => ops.push(Op { kind: op_kind::PREAD, addr: at, len: bytes, prot: 0, flags: 0, fd: image_fd, offset: base + run.file_offset }),
            }
        }
        if let Some(own) = pages.final_prot {
            ops.push(Op { kind: op_kind::MPROTECT, addr: r.start, len, prot: u64::from(own), flags: 0, fd: KEEP, offset: 0 });
        }
    }
    for &fd in std::iter::once(&image_fd).chain(file_fds) {
        ops.push(Op { kind: op_kind::CLOSE, addr: 0, len: 0, prot: 0, flags: 0, fd, offset: 0 });
    }
    Ok(ops)
}

/// An anonymous region whose stored pages are mapped from the image:
/// each run mapped from the image and each stretch around them anonymous,
/// in address order, rather than the whole region anonymous first and the
/// runs over it. The same mappings result (an entry per run and per
/// stretch; the stretches keep the region's flags, as the pieces of one
/// split mapping do), but replacing part of a mapping costs the kernel
/// some three times as much as mapping an empty range. The runs keep their
/// MAP_FIXED (and their failure's step, map-pages): the range is empty.
/// `how`: the region's protection and flags, and its runs' flags.
fn anon_around_runs(ops: &mut Vec<Op>, image: &Image<'_>, r: &Region, how: (u32, u32, u32), image_fd: u64, base: u64) {
    let (prot, flags, run_flags) = how;
    let mut at = r.start;
    for run in image.page_runs(r) {
        // Validated: runs lie inside the region, sorted, apart.
        let start = r.start + run.page_index * PAGE;
        let bytes = run.page_count * PAGE;
        if start > at {
            ops.push(mmap(at, start - at, prot, flags, KEEP, 0));
        }
        ops.push(mmap(start, bytes, r.prot, run_flags, image_fd, base + run.file_offset));
        at = start + bytes;
    }
    if r.end > at {
        ops.push(mmap(at, r.end - at, prot, flags, KEEP, 0));
    }
}

/// The two steps that unmap everything outside `[keep_start, keep_end)`
/// (the `[plan][stub]` block): whole ranges rather than one step per
/// mapping, so that a mapping made after /proc/self/maps was read (a
/// buffer, the vdso) goes too. [vsyscall] lies above user space.
pub fn teardown(keep_start: u64, keep_end: u64, user_end: u64) -> [Op; 2] {
    let unmap = |addr: u64, end: u64| Op { kind: op_kind::MUNMAP, addr, len: end - addr, prot: 0, flags: 0, fd: KEEP, offset: 0 };
    [unmap(0, keep_start), unmap(keep_end, user_end)]
}
