//! The memory steps the stub runs first (plan.h CHKPT_OP_*): unmap all of
//! the restorer except the `[plan][stub]` block, map the image's regions,
//! close the fds the steps used. The restorer cannot do this itself: its
//! own code is among what goes away.

use image_format::records::{prot, region_flags};
use image_format::{Image, Region, RegionKind};
use restore_plan::{op_kind, Op, KEEP, PAGE};

use crate::addr::MIN_ADDR;
use crate::error::{exit, refuse, Checked};
use crate::files::MappedFiles;

const MAP_SHARED: u64 = libc::MAP_SHARED as u64;
const MAP_PRIVATE: u64 = libc::MAP_PRIVATE as u64;
const MAP_FIXED: u64 = libc::MAP_FIXED as u64;
const MAP_ANONYMOUS: u64 = libc::MAP_ANONYMOUS as u64;
const MAP_GROWSDOWN: u64 = libc::MAP_GROWSDOWN as u64;
const MAP_FIXED_NOREPLACE: u64 = libc::MAP_FIXED_NOREPLACE as u64;

/// Regions the stub maps itself with ARCH_MAP_VDSO_64.
fn kernel_provided(r: &Region) -> bool {
    matches!(r.kind, RegionKind::Vdso | RegionKind::Vvar | RegionKind::VvarVclock)
}

/// Regions whose stored pages are copied in rather than mapped from the
/// image: the stack (an image-backed piece would stop it growing down) and
/// shared anonymous memory (image pages would not be shared).
fn copies_pages(r: &Region) -> bool {
    r.kind == RegionKind::Stack || r.flags & region_flags::SHARED_ANON != 0
}

/// Whether some stored page is mapped from the image with PROT_EXEC
/// (refused when the image sits on a noexec mount).
pub fn maps_image_exec(image: &Image<'_>) -> bool {
    image.regions().any(|r| !kernel_provided(&r) && !copies_pages(&r) && r.run_count != 0 && r.prot & prot::EXEC != 0)
}

fn mmap(addr: u64, len: u64, prot: u32, flags: u64, fd: u64, offset: u64) -> Op {
    Op { kind: op_kind::MMAP, addr, len, prot: u64::from(prot), flags, fd, offset }
}

/// Room kept below vm.max_map_count for the stub, the vdso and the stack.
const MAP_COUNT_SLACK: u64 = 64;

/// Limits a half-done restore would hit after the teardown, where nothing
/// can be reported any more: the number of mappings (vm.max_map_count; a
/// run inside a region splits it into up to three) and RLIMIT_AS.
pub fn check_limits(image: &Image<'_>) -> Checked<()> {
    let mut mappings: u64 = 0;
    let mut total: u64 = 0;
    for r in image.regions() {
        mappings = mappings.saturating_add(1 + 2 * u64::from(r.run_count));
        total = total.saturating_add(r.end - r.start);
    }
    let max_maps = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(65_530);
    if mappings > max_maps.saturating_sub(MAP_COUNT_SLACK) {
        return Err(refuse(exit::INCOMPATIBLE, "too-many-mappings", format!("up to {mappings} mappings, vm.max_map_count is {max_maps}")));
    }
    let (soft, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_AS)
        .map_err(|e| refuse(exit::INTERNAL, "getrlimit", e.to_string()))?;
    if total > soft {
        return Err(refuse(exit::INCOMPATIBLE, "exceeds-rlimit-as", format!("{total} bytes of memory, RLIMIT_AS is {soft}")));
    }
    Ok(())
}

/// Steps mapping every region of `image`, then closing the fds they used.
pub fn region_ops(image: &Image<'_>, image_fd: u64, files: &MappedFiles, file_fds: &[u64]) -> Checked<Vec<Op>> {
    let mut ops = Vec::new();
    for (i, r) in image.regions().enumerate() {
        if kernel_provided(&r) {
            continue;
        }
        if r.start < MIN_ADDR {
            return Err(refuse(exit::INCOMPATIBLE, "region-below-mmap-min-addr", format!("{:#x}", r.start)));
        }
        if r.kind == RegionKind::SysvShm {
            return Err(refuse(exit::UNSUPPORTED, "sysv-shm-unsupported", image_path(image, &r)));
        }
        let shared = r.flags & region_flags::SHARED != 0;
        if copies_pages(&r) && r.run_count != 0 && r.prot & prot::WRITE == 0 {
            return Err(refuse(exit::UNSUPPORTED, "unwritable-copied-region", format!("{:#x}", r.start)));
        }
        if r.kind == RegionKind::File && shared && r.run_count != 0 {
            return Err(refuse(exit::IMAGE_INVALID, "shared-file-with-stored-pages", image_path(image, &r)));
        }
        let len = r.end - r.start;
        let sharing = if shared { MAP_SHARED } else { MAP_PRIVATE };
        if r.kind == RegionKind::File {
            let f = files.file_of.get(i).copied().flatten().and_then(|f| file_fds.get(f));
            let fd = *f.ok_or_else(|| refuse(exit::INTERNAL, "file-region-without-file", image_path(image, &r)))?;
            ops.push(mmap(r.start, len, r.prot, sharing | MAP_FIXED_NOREPLACE, fd, r.file_offset));
        } else {
            let grows = if r.kind == RegionKind::Stack { MAP_GROWSDOWN } else { 0 };
            ops.push(mmap(r.start, len, r.prot, sharing | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | grows, KEEP, 0));
        }
        for run in image.page_runs(&r) {
            // Validated: runs lie inside the region and the image's page data.
            let at = r.start + run.page_index * PAGE;
            let bytes = run.page_count * PAGE;
            if copies_pages(&r) {
                ops.push(Op { kind: op_kind::PREAD, addr: at, len: bytes, prot: 0, flags: 0, fd: image_fd, offset: run.file_offset });
            } else {
                // Lazy and copy-on-write: nothing is read until touched.
                ops.push(mmap(at, bytes, r.prot, MAP_PRIVATE | MAP_FIXED, image_fd, run.file_offset));
            }
        }
    }
    for &fd in std::iter::once(&image_fd).chain(file_fds) {
        ops.push(Op { kind: op_kind::CLOSE, addr: 0, len: 0, prot: 0, flags: 0, fd, offset: 0 });
    }
    Ok(ops)
}

fn image_path(image: &Image<'_>, r: &Region) -> String {
    String::from_utf8_lossy(image.string(r.path)).into_owned()
}

/// The two steps that unmap everything outside `[keep_start, keep_end)`
/// (the `[plan][stub]` block): whole ranges rather than one step per
/// mapping, so that a mapping made after /proc/self/maps was read (a
/// buffer, the vdso) goes too. [vsyscall] lies above user space.
pub fn teardown(keep_start: u64, keep_end: u64, user_end: u64) -> [Op; 2] {
    let unmap = |addr: u64, end: u64| Op { kind: op_kind::MUNMAP, addr, len: end - addr, prot: 0, flags: 0, fd: KEEP, offset: 0 };
    [unmap(0, keep_start), unmap(keep_end, user_end)]
}
