// SPDX-License-Identifier: GPL-2.0
//! Everything checked against the caller before the point of no return.
//! No `unsafe` here.
//!
//! The image already passed the shared validator. What is left depends on
//! the caller and this machine: the CPU's XSAVE features, the files the
//! image maps (opened now, with the caller's credentials, and kept open for
//! the mapping), the files it reopens, the vdso, the address-space limits,
//! a free range for the restorer stub, and the stub's plan. Any failure is a
//! [`Refusal`]: the caller gets an errno and is left as it was.

use kernel::prelude::*;
use kernel::uaccess::UserSlice;

use crate::glue::{self, Exec, OpenFile};
use crate::image_format::records::{prot, region_flags};
use crate::image_format::{check_cpu, FdDisposition, FdKind, FileId, Image, Region, RegionKind};
use crate::loader::yield_before_commit;
use crate::plan::{self, Layout, Placement, PAGE};
use crate::refusal::{eopnotsupp, estale, open_failure, refuse, Checked, Refusal};

/// The restorer stub (restorer/stub): entry at offset 0, final page last.
pub(crate) const STUB: &[u8] = include_bytes!("../build/stub/stub.bin");

/// Lowest address the module maps: the default vm.mmap_min_addr (the
/// sysctl itself is not exported to modules).
pub(crate) const MIN_ADDR: u64 = 0x1_0000;

/// Room kept free on each side of the stub's range.
const GUARD: u64 = PAGE;

/// Free room kept above the stub's final page, which stays mapped: a stack
/// above it must still be able to grow down (the kernel keeps a 1 MiB gap
/// below a growing stack).
const ROOM_ABOVE: u64 = 8 << 20;

/// The kernel's default vm.max_map_count, less room for the stub, the vdso
/// and the stack: an image needing more mappings would fail half-restored.
const MAX_MAPPINGS: u64 = 65_530 - 64;

/// open(2) flags (x86-64).
pub(crate) const O_RDWR: u32 = 2;
const O_NONBLOCK: u32 = 0o4000;

const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFCHR: u32 = 0o020_000;

/// Reasons for open failures of mapped files and of fds to reopen.
const MAPPED_FILE: (&str, &str, &str) = ("mapped-file-missing", "mapped-file-permission", "mapped-file-open-failed");
const FD_FILE: (&str, &str, &str) = ("fd-file-missing", "fd-file-permission", "fd-file-open-failed");
const CWD: (&str, &str, &str) = ("cwd-missing", "cwd-permission", "cwd-failed");

/// What the restore needs after the point of no return.
pub(crate) struct Prepared {
    /// The files the image maps, in region order, one per run of regions
    /// naming the same path.
    pub(crate) files: KVec<OpenFile>,
    /// For each region, the index in `files` of its file (`u32::MAX`: none).
    pub(crate) file_of: KVVec<u32>,
    /// The stub's plan, ready to copy to `place.plan`.
    pub(crate) plan: KVVec<u8>,
    pub(crate) layout: Layout,
    pub(crate) place: Placement,
}

/// Whether the module maps this region itself (the stub maps the vdso).
pub(crate) fn mapped_by_module(r: &Region) -> bool {
    !matches!(r.kind, RegionKind::Vdso | RegionKind::Vvar | RegionKind::VvarVclock)
}

/// Regions whose stored pages are copied in rather than mapped from the
/// image: the stack (a file-backed piece would stop it growing down) and
/// shared anonymous memory (image pages would not be shared).
pub(crate) fn copies_pages(r: &Region) -> bool {
    r.kind == RegionKind::Stack || r.flags & region_flags::SHARED_ANON != 0
}

pub(crate) fn prepare(exec: &Exec<'_>, image: &Image<'_>) -> Checked<Prepared> {
    // Stored pages are mapped from the image after the point of no return.
    if !exec.image_mappable() {
        return Err(refuse(ENOEXEC, "image-not-mappable"));
    }
    let (xcr0, xsave_size) = glue::cpu_xstate();
    check_cpu(&image.process, xcr0, xsave_size)?;
    // The stub clones every thread after the point of no return: a clone
    // the caller's RLIMIT_NPROC forbids must be refused here instead.
    if u64::from(image.thread_count()) > glue::rlimit_nproc() {
        return Err(refuse(EAGAIN, "exceeds-rlimit-nproc"));
    }
    let (files, file_of) = check_regions(image)?;
    let vdso_base = check_vdso(exec, image)?;
    check_fds(image)?;
    // The stub's chdir comes after the point of no return.
    let cwd = image.string(image.process.cwd);
    if !cwd.is_empty() {
        glue::cwd_check(cwd).map_err(|e| open_failure(e, CWD))?;
    }

    let layout = plan::layout(image, 0)?;
    let stub_len = STUB.len() as u64;
    let need = layout.len + stub_len;
    let at = find_hole(image, need)?.ok_or(refuse(ENOMEM, "no-room-for-the-restorer"))?;
    let place = Placement { plan: at, stub: at + layout.len, stub_len, vdso_base };
    let len = usize::try_from(layout.len).map_err(|_| refuse(ENOMEM, "plan-too-large"))?;
    let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(|_| refuse(ENOMEM, "out-of-memory"))?;
    plan::write(image, &layout, &place, &[], &mut buf)?;
    Ok(Prepared { files, file_of, plan: buf, layout, place })
}

fn same_file(id: &glue::FileIdentity, want: &FileId) -> bool {
    id.dev == want.dev
        && id.ino == want.ino
        && id.size == want.size
        && id.mtime_sec == want.mtime_sec
        && id.mtime_nsec == u64::from(want.mtime_nsec)
}

/// Bounds that only the caller and this kernel define, and the files the
/// image maps, opened and compared with what the dump recorded.
fn check_regions(image: &Image<'_>) -> Checked<(KVec<OpenFile>, KVVec<u32>)> {
    let task_size = glue::task_size();
    let mut files = KVec::new();
    let count = image.region_count() as usize;
    let mut file_of = KVVec::from_elem(u32::MAX, count, GFP_KERNEL).map_err(|_| refuse(ENOMEM, "out-of-memory"))?;
    let mut total: u64 = STUB.len() as u64;
    let mut mappings: u64 = 0;
    let mut last_path: &[u8] = &[];
    for (i, r) in image.regions().enumerate() {
        yield_before_commit()?;
        if r.start < MIN_ADDR {
            return Err(refuse(EPERM, "region-below-mmap-min-addr"));
        }
        if r.end > task_size {
            return Err(refuse(EINVAL, "region-above-task-size"));
        }
        if r.kind == RegionKind::SysvShm {
            return Err(refuse(eopnotsupp(), "sysv-shm-unsupported"));
        }
        if copies_pages(&r) && r.run_count != 0 && r.prot & prot::WRITE == 0 {
            return Err(refuse(eopnotsupp(), "unwritable-copied-region"));
        }
        let shared = r.flags & region_flags::SHARED != 0;
        if r.kind == RegionKind::File && shared && r.run_count != 0 {
            return Err(refuse(EINVAL, "shared-file-with-stored-pages"));
        }
        total = total.saturating_add(r.end - r.start);
        // A run inside a region splits it into up to three mappings.
        mappings = mappings.saturating_add(1 + 2 * u64::from(r.run_count));
        if r.kind != RegionKind::File {
            continue;
        }
        let path = image.string(r.path);
        let writable_shared = shared && r.prot & prot::WRITE != 0;
        // Consecutive regions of one file (text, data, bss) share one open,
        // unless one of them needs it writable.
        if path != last_path || writable_shared {
            let flags = if writable_shared { O_RDWR } else { 0 };
            let f = OpenFile::open(path, flags).map_err(|e| open_failure(e, MAPPED_FILE))?;
            let id = f.identity().map_err(|e| refuse(e, "mapped-file-stat-failed"))?;
            if !same_file(&id, &r.file_id) {
                return Err(refuse(estale(), "mapped-file-changed"));
            }
            if id.noexec != 0 && r.prot & prot::EXEC != 0 {
                return Err(refuse(EACCES, "mapped-file-noexec"));
            }
            files.push(f, GFP_KERNEL).map_err(|_| refuse(ENOMEM, "out-of-memory"))?;
            last_path = if writable_shared { &[] } else { path };
        }
        if let Some(slot) = file_of.get_mut(i) {
            *slot = (files.len() - 1) as u32;
        }
    }
    if total > glue::rlimit_as() {
        return Err(refuse(ENOMEM, "exceeds-rlimit-as"));
    }
    if mappings > MAX_MAPPINGS {
        return Err(refuse(ENOMEM, "too-many-mappings"));
    }
    Ok((files, file_of))
}

/// The vdso must be this kernel's, byte for byte, with the same [vvar]
/// below it: restored code may hold pointers into it. Returns where the
/// stub maps it (the start of [vvar]), or 0 if the image has none.
fn check_vdso(exec: &Exec<'_>, image: &Image<'_>) -> Checked<u64> {
    // The first region of each kind, in one pass (the image sets its length).
    let (mut vdso, mut vvar, mut vclock) = (None, None, None);
    for r in image.regions() {
        yield_before_commit()?;
        let slot = match r.kind {
            RegionKind::Vdso => &mut vdso,
            RegionKind::Vvar => &mut vvar,
            RegionKind::VvarVclock => &mut vclock,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(r);
        }
    }
    let Some(vdso) = vdso else {
        return Ok(0);
    };
    let here = glue::caller_vdso().ok_or(refuse(eopnotsupp(), "caller-has-no-vdso"))?;
    let vvar = vvar.ok_or(refuse(eopnotsupp(), "vdso-layout-differs"))?;
    let layout_same = vclock.is_none()
        && vdso.end - vdso.start == here.vdso_len
        && vvar.end - vvar.start == here.vvar_len
        && vvar.end == vdso.start;
    if !layout_same {
        return Err(refuse(eopnotsupp(), "vdso-layout-differs"));
    }
    let mut runs = image.page_runs(&vdso);
    let whole = match (runs.next(), runs.next()) {
        (Some(run), None) if run.page_index == 0 && run.page_count == vdso.pages() => run,
        _ => return Err(refuse(eopnotsupp(), "vdso-not-stored")),
    };
    let len = usize::try_from(here.vdso_len).map_err(|_| vdso_differs())?;
    let mut stored = KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(|_| refuse(ENOMEM, "out-of-memory"))?;
    let mut live = KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(|_| refuse(ENOMEM, "out-of-memory"))?;
    exec.read_exact_at(whole.file_offset, &mut stored).map_err(|e| refuse(e, "read-error"))?;
    UserSlice::new(here.vdso as usize, len)
        .reader()
        .read_slice(&mut live)
        .map_err(|e| refuse(e, "caller-vdso-unreadable"))?;
    if stored[..] != live[..] {
        return Err(vdso_differs());
    }
    Ok(vvar.start)
}

fn vdso_differs() -> Refusal {
    refuse(eopnotsupp(), "vdso-differs-from-this-kernel")
}

/// Every fd the stub will reopen can be opened now, by the caller, and is
/// still the kind of file it was. O_NONBLOCK: a FIFO put in a regular
/// file's place must not block the exec.
fn check_fds(image: &Image<'_>) -> Checked<()> {
    for fd in image.fds() {
        yield_before_commit()?;
        if fd.disposition != FdDisposition::Reopen {
            continue;
        }
        let want = match fd.kind {
            FdKind::Regular => S_IFREG,
            FdKind::Directory => S_IFDIR,
            FdKind::CharDev => S_IFCHR,
            _ => return Err(refuse(eopnotsupp(), "fd-not-reopenable")),
        };
        let flags = (plan::open_flags(&fd) as u32) | O_NONBLOCK;
        let f = OpenFile::open(image.string(fd.path), flags).map_err(|e| open_failure(e, FD_FILE))?;
        let id = f.identity().map_err(|e| refuse(e, "fd-file-stat-failed"))?;
        if id.mode & S_IFMT != want {
            return Err(refuse(estale(), "fd-file-changed"));
        }
    }
    Ok(())
}

/// A free range for `len` bytes in the highest gap between the image's
/// regions that fits it with guard pages and `ROOM_ABOVE`, placed at the
/// gap's low end.
fn find_hole(image: &Image<'_>, len: u64) -> Checked<Option<u64>> {
    let Some(want) = len.checked_add(2 * GUARD + ROOM_ABOVE) else {
        return Ok(None);
    };
    let mut best = None;
    let mut prev_end = MIN_ADDR;
    let top = glue::task_size();
    let mut consider = |lo: u64, hi: u64| {
        if hi > lo && hi - lo >= want {
            best = Some(lo + GUARD);
        }
    };
    for r in image.regions() {
        yield_before_commit()?;
        consider(prev_end, r.start.min(top));
        prev_end = prev_end.max(r.end);
    }
    consider(prev_end, top);
    Ok(best)
}
