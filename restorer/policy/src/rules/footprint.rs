// SPDX-License-Identifier: GPL-2.0
//! The mappings and bytes the restored process will have, counted the way
//! the kernel counts them, so that vm.max_map_count and RLIMIT_AS refuse
//! an image before the point of no return instead of failing half-way.
//!
//! Mappings: a region that is copied into or left to the stub is one
//! mapping; a region with stored pages mapped over it from the image is
//! one mapping per run plus one per stretch of the region's own backing
//! left between, before and after them. Two runs that touch are counted
//! as two even where the kernel merges them, and neighbouring regions that
//! the kernel merges are counted apart: the count is never below the
//! kernel's. The restorer's own `[plan][stub]` block adds
//! [`BLOCK_MAPPINGS`]. The order of the steps (a region, then its runs in
//! address order) never has more mappings at once than at the end.
//!
//! Bytes: every region (the vdso's included, as the kernel accounts it)
//! plus the block.

use super::fmt::{Image, Region};
use super::reason::{Detail, Reason, Refusal};
use super::regions::may_map_from_image;

/// Mappings of the `[plan][stub]` block at most: the plan, the stub's body
/// once it made itself read-only, and its final page.
pub const BLOCK_MAPPINGS: u64 = 3;

/// What the restored process holds at most during and after the restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Mappings (VMAs).
    pub mappings: u64,
    /// Bytes of address space.
    pub bytes: u64,
}

impl Footprint {
    /// The `[plan][stub]` block of `block_len` bytes alone.
    pub fn block(block_len: u64) -> Footprint {
        Footprint { mappings: BLOCK_MAPPINGS, bytes: block_len }
    }

    /// Adds region `r` of `image`.
    pub fn add(&mut self, image: &Image<'_>, r: &Region) {
        self.bytes = self.bytes.saturating_add(r.end - r.start);
        if !may_map_from_image(r) || r.run_count == 0 {
            self.mappings = self.mappings.saturating_add(1);
            return;
        }
        let mut cursor = 0u64;
        for run in image.page_runs(r) {
            if run.page_index > cursor {
                self.mappings = self.mappings.saturating_add(1);
            }
            self.mappings = self.mappings.saturating_add(1);
            cursor = run.page_index.saturating_add(run.page_count);
        }
        if cursor < r.pages() {
            self.mappings = self.mappings.saturating_add(1);
        }
    }
}

/// The footprint of `image` restored with a block of `block_len` bytes.
pub fn footprint(image: &Image<'_>, block_len: u64) -> Footprint {
    let mut fp = Footprint::block(block_len);
    for r in image.regions() {
        fp.add(image, &r);
    }
    fp
}

/// Refuses a footprint above `max_map_count` (vm.max_map_count: the kernel
/// refuses a new mapping once a process has that many) or `rlimit_as`.
pub fn check_footprint(fp: Footprint, max_map_count: u64, rlimit_as: u64) -> Result<(), Refusal> {
    if fp.mappings > max_map_count {
        return Err(Refusal::new(Reason::TooManyMappings, Detail::Limit { need: fp.mappings, limit: max_map_count }));
    }
    if fp.bytes > rlimit_as {
        return Err(Refusal::new(Reason::ExceedsRlimitAs, Detail::Limit { need: fp.bytes, limit: rlimit_as }));
    }
    Ok(())
}
