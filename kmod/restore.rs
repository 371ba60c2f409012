// SPDX-License-Identifier: GPL-2.0
//! After the point of no return: build the new process image from a
//! validated and prepared image, then enter the restorer stub. No `unsafe`
//! here. Every error kills the task (the exec code sends SIGSEGV), so the
//! checks that can fail for a reason the caller could fix were all made in
//! prepare.rs; what can fail here is memory allocation or I/O. The loops
//! yield at every region, run and copied chunk, and stop when the task has
//! a fatal signal: it dies of that signal (the exec code sends no SIGSEGV
//! then), and the log names the step `interrupted-by-fatal-signal`.

use kernel::prelude::*;
use kernel::uaccess::UserSlice;

use crate::glue::{self, Committed, MmFields};
use crate::image_format::{Image, Region};
use crate::plan::{Step, PAGE, TEMP_STACK};
use crate::policy::{region_pages, RegionMap, RegionPages};
use crate::prepare::{Prepared, STUB};

/// A failed step: its errno and the step (plan.rs's shared step names).
pub(crate) type StepError = (Error, Step);

const MAP_PRIVATE: u32 = 0x02;
const MAP_FIXED: u32 = 0x10;
const MAP_ANONYMOUS: u32 = 0x20;
const MAP_FIXED_NOREPLACE: u32 = 0x10_0000;
const PROT_RW: u32 = 1 | 2;
const PROT_RWX: u32 = 1 | 2 | 4;

/// Bytes copied per step when a region's pages are copied, not mapped.
const COPY_CHUNK: usize = 64 * 1024;

fn step<T>(r: Result<T>, name: Step) -> core::result::Result<T, StepError> {
    r.map_err(|e| (e, name))
}

pub(crate) fn restore(c: Committed<'_>, image: &Image<'_>, p: Prepared) -> core::result::Result<(), StepError> {
    // The argument stack the exec code built is of no use: the image brings
    // its own stack.
    step(c.drop_arg_stack(), Step::DropArgStack)?;

    let mut chunk = step(KVVec::from_elem(0u8, COPY_CHUNK, GFP_KERNEL).map_err(|_| ENOMEM), Step::Allocate)?;
    // A tree's shared memory: its object is the root stub's (deferred).
    // The stub sets the protection of regions copied into through a
    // writable mapping (the plan's MPROTECT steps, prepare.rs).
    for (i, r, map, pages) in region_pages(image, |i| crate::prepare::tree_object(image, i)) {
        step(glue::yield_now(), Step::Interrupted)?;
        let file = p.file_of.get(i).and_then(|&f| p.files.get(f as usize));
        map_region(&c, image, &r, map, pages, file, p.base, &mut chunk)?;
    }
    // A tree's root: the image as an O_PATH fd for the children's execveat.
    let mut plan = p.plan;
    if let Some(at) = p.image_fd_at {
        let fd = step(c.install_image_path(), Step::TreeControl)?;
        let at = at as usize;
        if let Some(w) = plan.get_mut(at..at + 8) {
            w.copy_from_slice(&fd.to_le_bytes());
        }
    }

    // [plan][stub]: written through user copies, then the stub makes its
    // own pages r-x before it does anything else.
    let (plan_at, stub_at) = (p.place.plan, p.place.stub);
    let private_anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
    step(c.map_anon(plan_at, p.layout.len, PROT_RW, private_anon), Step::MapPlan)?;
    step(c.map_anon(stub_at, p.place.stub_len, PROT_RWX, private_anon), Step::MapStub)?;
    // The plan's last TEMP_STACK bytes are the stub's stack (plan.rs
    // layout), zeros as the new mapping already is: not copied, so its
    // pages are only faulted in as far as the stub uses them.
    let data = plan.len().saturating_sub(TEMP_STACK as usize);
    let plan_data = &plan[..data];
    step(UserSlice::new(plan_at as usize, data).writer().write_slice(plan_data), Step::CopyPlan)?;
    step(UserSlice::new(stub_at as usize, STUB.len()).writer().write_slice(STUB), Step::CopyStub)?;

    let mut fields = MmFields { layout: image.process.mm.to_array(), auxv: [0; glue::AUXV_WORDS], auxv_len: 0 };
    for (i, a) in image.auxv().take(glue::AUXV_WORDS / 2 - 1).enumerate() {
        fields.auxv[2 * i] = a.key;
        fields.auxv[2 * i + 1] = a.value;
        fields.auxv_len = 2 * i as u64 + 2;
    }
    // The terminating AT_NULL pair is already zero.
    fields.auxv_len += 2;
    c.set_mm_fields(&fields);

    c.start(stub_at, plan_at + p.layout.stack_top, plan_at);
    Ok(())
}

/// One region as the shared policy says (`map`, `pages`): its backing
/// (anonymous, or its file) and its stored pages, copied in or mapped from
/// the image (private, copy-on-write, loaded on demand). The vdso is the
/// stub's to map.
///
/// Where the stored pages are mapped from the image, the backing is
/// mapped only around them, in the gaps between the runs: mapping it whole
/// and then each run over it (MAP_FIXED: a split and an unmap each) gives
/// the same mappings for more work. Every mapping is MAP_FIXED_NOREPLACE:
/// it lands on nothing (runs are sorted and inside their region, checked
/// by the validator).
#[allow(clippy::too_many_arguments)]
fn map_region(
    c: &Committed<'_>,
    image: &Image<'_>,
    r: &Region,
    map: RegionMap,
    pages: RegionPages,
    file: Option<&glue::OpenFile>,
    base: u64,
    chunk: &mut [u8],
) -> core::result::Result<(), StepError> {
    if map == RegionMap::Kernel {
        return Ok(());
    }
    let Some(flags) = pages.run_flags else {
        // Writable where pages are copied in (pages.map_prot).
        map_backing(c, r, map, file, pages.map_prot, r.start, r.end)?;
        for run in image.page_runs(r) {
            step(glue::yield_now(), Step::Interrupted)?;
            // Validated: runs lie inside the region and the file's page data.
            let at = r.start + run.page_index * PAGE;
            copy_pages(c, at, run.page_count * PAGE, base + run.file_offset, chunk)?;
        }
        return Ok(());
    };
    let flags = (flags & !MAP_FIXED) | MAP_FIXED_NOREPLACE;
    let mut done = r.start;
    for run in image.page_runs(r) {
        step(glue::yield_now(), Step::Interrupted)?;
        let at = r.start + run.page_index * PAGE;
        let end = at + run.page_count * PAGE;
        if at > done {
            map_backing(c, r, map, file, pages.map_prot, done, at)?;
        }
        step(c.map_image(at, end - at, r.prot, flags, base + run.file_offset), Step::MapPages)?;
        done = end;
    }
    if done < r.end {
        map_backing(c, r, map, file, pages.map_prot, done, r.end)?;
    }
    Ok(())
}

/// `[from, to)` of region `r` mapped as `map` says: anonymous, or its file
/// at the matching offset.
fn map_backing(
    c: &Committed<'_>,
    r: &Region,
    map: RegionMap,
    file: Option<&glue::OpenFile>,
    prot: u32,
    from: u64,
    to: u64,
) -> core::result::Result<(), StepError> {
    let len = to - from;
    match (map, file) {
        (RegionMap::Kernel, _) => Ok(()),
        (RegionMap::File(flags), Some(f)) => {
            let off = r.file_offset.checked_add(from - r.start).ok_or((EINVAL, Step::MapRegion))?;
            step(c.map_file(f, from, len, prot, flags, off), Step::MapRegion)
        }
        (RegionMap::File(_), None) => Err((EINVAL, Step::MapRegion)),
        (RegionMap::Anon(flags), _) => step(c.map_anon(from, len, prot, flags), Step::MapRegion),
        // Reserved for the stub, which maps the object it creates over it.
        (RegionMap::Reserve(_, flags), _) => step(c.map_anon(from, len, prot, flags), Step::MapRegion),
    }
}

fn copy_pages(c: &Committed<'_>, at: u64, bytes: u64, file_offset: u64, chunk: &mut [u8]) -> core::result::Result<(), StepError> {
    let mut done = 0u64;
    while done < bytes {
        step(glue::yield_now(), Step::Interrupted)?;
        let n = (bytes - done).min(chunk.len() as u64) as usize;
        let buf = &mut chunk[..n];
        step(c.read_image(file_offset + done, buf), Step::CopyPages)?;
        step(UserSlice::new((at + done) as usize, n).writer().write_slice(buf), Step::CopyPages)?;
        done += n as u64;
    }
    Ok(())
}
