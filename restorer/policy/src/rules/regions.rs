// SPDX-License-Identifier: GPL-2.0
//! How each region is restored, and which regions are refused.
//!
//! Three ways: the vdso and its data pages are the kernel's, mapped by the
//! stub at the image's address; every other region is mapped (anonymous or
//! from its file), then its stored pages go in, copied or mapped from the
//! image ([`PageModes`]). The stack and shared anonymous memory always get
//! theirs copied (a piece backed by the image would stop the stack growing
//! down, and would not be shared). The heap, file-backed private regions
//! and small anonymous ones get theirs copied too while [`COPY_BUDGET`]
//! lasts, so that the restored /proc/PID/maps has the
//! original's entries one for one (a piece mapped from the image is an
//! entry of its own, named after the image: the heap would shrink, the
//! data segment split); beyond it, they are mapped from the image,
//! private, copy-on-write and loaded on demand, which keeps restore time
//! flat in memory size for large processes.

use super::fmt::records::{prot, region_flags};
use super::fmt::{Image, Region, RegionKind};
use super::hole::MIN_ADDR;
use super::reason::{Detail, Reason, Refusal};

/// mmap(2) flags (x86-64).
mod map {
    pub(super) const SHARED: u32 = 0x01;
    pub(super) const PRIVATE: u32 = 0x02;
    pub(super) const FIXED: u32 = 0x10;
    pub(super) const ANONYMOUS: u32 = 0x20;
    pub(super) const GROWSDOWN: u32 = 0x100;
    pub(super) const NORESERVE: u32 = 0x4000;
    pub(super) const FIXED_NOREPLACE: u32 = 0x10_0000;
}

/// Regions the stub maps itself with ARCH_MAP_VDSO_64: the kernel's.
pub fn kernel_provided(r: &Region) -> bool {
    matches!(r.kind, RegionKind::Vdso | RegionKind::Vvar | RegionKind::VvarVclock)
}

/// Regions whose stored pages are copied in rather than mapped from the
/// image: the stack and shared anonymous memory.
pub fn copies_pages(r: &Region) -> bool {
    r.kind == RegionKind::Stack || r.flags & region_flags::SHARED_ANON != 0
}

/// How a region the restorer maps is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionMap {
    /// The stub maps it (the vdso and its data pages).
    Kernel,
    /// From its file (opened by the restorer), with these mmap flags.
    File(u32),
    /// Anonymous, with these mmap flags (MAP_ANONYMOUS included).
    Anon(u32),
    /// Deferred (plan::defers): only reserved here, anonymous
    /// and private with this prot and these flags, holding its stored
    /// pages (then readable and writable) until the stub writes them into
    /// the object it creates and maps that object over it.
    Reserve(u32, u32),
}

/// The mapping of region `r`, before its stored pages go over it.
///
/// Private memory is mapped MAP_NORESERVE: a sparse region larger than RAM
/// (a reserved heap, a sanitizer's shadow) was possible in the original
/// (MAP_NORESERVE is not visible in /proc), and commit accounting could
/// only fail after the point of no return. Touching more than exists meets
/// the OOM killer, as the original would have. MAP_FIXED_NOREPLACE: a
/// region must land where the image says, over nothing.
pub fn map_flags(r: &Region) -> RegionMap {
    region_map(r, false)
}

/// The mapping of region `r` when `stub_creates_object` (it maps a tree
/// object and the stub runs after the restorer mapped memory: the
/// module); see plan::defers.
pub fn region_map(r: &Region, stub_creates_object: bool) -> RegionMap {
    if super::plan::defers(r, stub_creates_object) {
        let prot = if r.run_count != 0 { prot::READ | prot::WRITE } else { 0 };
        return RegionMap::Reserve(prot, map::PRIVATE | map::ANONYMOUS | map::NORESERVE | map::FIXED_NOREPLACE);
    }
    if kernel_provided(r) {
        return RegionMap::Kernel;
    }
    let sharing = if r.flags & region_flags::SHARED != 0 { map::SHARED } else { map::PRIVATE | map::NORESERVE };
    let flags = sharing | map::FIXED_NOREPLACE;
    if r.kind == RegionKind::File {
        return RegionMap::File(flags);
    }
    let grows = if r.kind == RegionKind::Stack { map::GROWSDOWN } else { 0 };
    RegionMap::Anon(flags | map::ANONYMOUS | grows)
}

/// Stored bytes of private regions copied in, in image order, before the
/// rest are mapped from the image (one region is copied whole or not at
/// all): the heap and file-backed regions (data, RELRO: they keep their
/// name in /proc/PID/maps), and anonymous regions of at most
/// [`SMALL_ANON`]. Copying costs about half a millisecond a MiB here; a
/// small process fits whole, a large one keeps its flat restore time.
pub const COPY_BUDGET: u64 = 4 << 20;

/// The stored bytes up to which an anonymous region (bss, a thread's
/// stack) is copied: a larger one (an arena, a buffer) is mapped from the
/// image, lazily, whatever the budget; it has no name to lose, only its
/// entry is split.
pub const SMALL_ANON: u64 = 64 << 10;

/// How one region's stored pages go in (from [`PageModes::next`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionPages {
    /// The protection the region is first mapped with: writable where its
    /// pages are copied into it.
    pub map_prot: u32,
    /// `None`: each run is copied in; else the mmap flags each run is
    /// mapped from the image with, over the region.
    pub run_flags: Option<u32>,
    /// After the copy, the region's own protection set again
    /// (mprotect), where `map_prot` added write permission.
    pub final_prot: Option<u32>,
}

/// Whether some stored pages of `r` may be mapped from the image (by
/// [`PageModes`], budget permitting): what the mapping count and the
/// image's mount are checked for, at most.
pub fn may_map_from_image(r: &Region) -> bool {
    !copies_pages(r) && !kernel_provided(r)
}

/// Decides [`RegionPages`] region by region, in image order, spending
/// [`COPY_BUDGET`]; both restorers walk the regions the same way.
pub struct PageModes {
    left: u64,
}

impl Default for PageModes {
    fn default() -> Self {
        Self::new()
    }
}

impl PageModes {
    /// The whole budget left.
    pub const fn new() -> Self {
        PageModes { left: COPY_BUDGET }
    }

    /// Region `r`, mapped as `map` (its [`region_map`]), with
    /// `stored_pages` pages in the image.
    pub fn next(&mut self, r: &Region, map: RegionMap, stored_pages: u64) -> RegionPages {
        let from_image = Some(map::PRIVATE | map::NORESERVE | map::FIXED);
        let as_is = RegionPages { map_prot: r.prot, run_flags: from_image, final_prot: None };
        let bytes = stored_pages.saturating_mul(super::plan::PAGE);
        let copy = |keep_prot: bool| {
            if keep_prot || r.prot & prot::WRITE != 0 {
                RegionPages { map_prot: r.prot, run_flags: None, final_prot: None }
            } else {
                RegionPages { map_prot: r.prot | prot::WRITE, run_flags: None, final_prot: Some(r.prot) }
            }
        };
        match map {
            RegionMap::Kernel => as_is,
            // Reserved (read-write if it holds pages); the stub maps the
            // object over it.
            RegionMap::Reserve(prot, _) if stored_pages == 0 => RegionPages { map_prot: prot, ..as_is },
            _ if stored_pages == 0 => as_is,
            RegionMap::Reserve(prot, _) if bytes <= self.left => {
                self.left -= bytes;
                RegionPages { map_prot: prot, run_flags: None, final_prot: None }
            }
            RegionMap::Reserve(prot, _) => RegionPages { map_prot: prot, ..as_is },
            _ if copies_pages(r) => copy(false),
            _ if r.flags & region_flags::SHARED != 0 => as_is,
            _ if !matches!(r.kind, RegionKind::File | RegionKind::Heap) && bytes > SMALL_ANON => as_is,
            _ if bytes <= self.left => {
                self.left -= bytes;
                copy(false)
            }
            _ => as_is,
        }
    }
}

/// Refusals that concern one region alone. `index` names it in the
/// refusal; `task_size` is the end of this kernel's user address space.
pub fn check_region(index: u32, r: &Region, task_size: u64) -> Result<(), Refusal> {
    let at = Detail::Region(index);
    if r.start < MIN_ADDR {
        return Err(Refusal::new(Reason::RegionBelowMinAddr, at));
    }
    if r.end > task_size {
        return Err(Refusal::new(Reason::RegionAboveTaskSize, at));
    }
    if r.kind == RegionKind::SysvShm {
        return Err(Refusal::new(Reason::SysvShm, at));
    }
    // A shared file mapping's data is the file's; the writer never stores it.
    if r.kind == RegionKind::File && r.flags & region_flags::SHARED != 0 && r.run_count != 0 {
        return Err(Refusal::new(Reason::SharedFileWithStoredPages, at));
    }
    Ok(())
}

/// Every region of `image` with how it is mapped and how its stored pages
/// go in, in image order, as both restorers walk them (and the module's
/// plan counts its mprotect steps). `stub_creates_object(i)`: region `i`
/// maps an object the stub creates ([`region_map`]).
pub fn region_pages<'i, 'a: 'i>(
    image: &'i Image<'a>,
    stub_creates_object: impl Fn(usize) -> bool + 'i,
) -> impl Iterator<Item = (usize, Region, RegionMap, RegionPages)> + 'i {
    let mut modes = PageModes::new();
    image.regions().enumerate().map(move |(i, r)| {
        let map = region_map(&r, stub_creates_object(i));
        let stored = image.page_runs(&r).map(|run| run.page_count).fold(0u64, u64::saturating_add);
        let pages = modes.next(&r, map, stored);
        (i, r, map, pages)
    })
}
