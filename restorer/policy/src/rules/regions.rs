// SPDX-License-Identifier: GPL-2.0
//! How each region is restored, and which regions are refused.
//!
//! Three ways: the vdso and its data pages are the kernel's, mapped by the
//! stub at the image's address; the stack and shared anonymous memory get
//! their stored pages copied in (a piece backed by the image would stop
//! the stack growing down, and would not be shared); every other region is
//! mapped (anonymous or from its file), then its stored pages are mapped
//! over it from the image, private, copy-on-write and loaded on demand.

use super::fmt::records::{prot, region_flags};
use super::fmt::{Region, RegionKind};
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

/// The mmap flags for a run of stored pages mapped from the image over its
/// region, or `None` where the pages are copied in instead.
pub fn run_flags(r: &Region) -> Option<u32> {
    if copies_pages(r) || kernel_provided(r) {
        None
    } else {
        Some(map::PRIVATE | map::NORESERVE | map::FIXED)
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
    // Copying needs a writable mapping; the original could not have
    // written these pages either, but a read-only shared mapping with data
    // is not restored yet.
    if copies_pages(r) && r.run_count != 0 && r.prot & prot::WRITE == 0 {
        return Err(Refusal::new(Reason::UnwritableCopiedRegion, at));
    }
    // A shared file mapping's data is the file's; the writer never stores it.
    if r.kind == RegionKind::File && r.flags & region_flags::SHARED != 0 && r.run_count != 0 {
        return Err(Refusal::new(Reason::SharedFileWithStoredPages, at));
    }
    Ok(())
}
