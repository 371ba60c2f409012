// SPDX-License-Identifier: GPL-2.0
//! Where the `[plan][stub]` block goes: a range free in the image and in
//! whatever else the restorer must avoid, in the highest gap that fits it
//! with a guard page on each side and room above, at the gap's low end.

use super::fmt::Image;
use super::plan::PAGE;

/// Lowest address a restorer maps: the default vm.mmap_min_addr.
pub const MIN_ADDR: u64 = 0x1_0000;
/// Free room kept on each side of the block.
pub const GUARD: u64 = PAGE;
/// Free room above the block: the stub's final page stays mapped, and a
/// stack above it must still be able to grow down (the kernel keeps a
/// 1 MiB gap below a growing stack).
pub const ROOM_ABOVE: u64 = 8 << 20;

/// The start of a free range of `len` bytes below `top`, avoiding the
/// image's regions and `avoid` (sorted by start; may overlap each other
/// and the regions), or `None`.
pub fn find_hole(image: &Image<'_>, avoid: &[(u64, u64)], len: u64, top: u64) -> Option<u64> {
    let want = len.checked_add(2 * GUARD + ROOM_ABOVE)?;
    let mut regions = image.regions().map(|r| (r.start, r.end)).peekable();
    let mut others = avoid.iter().copied().peekable();
    let mut best = None;
    let mut prev_end = MIN_ADDR;
    let mut consider = |lo: u64, hi: u64| {
        if hi > lo && hi - lo >= want {
            best = Some(lo + GUARD);
        }
    };
    // Both sequences are sorted by start: merge them.
    loop {
        let next = match (regions.peek(), others.peek()) {
            (Some(a), Some(b)) if a.0 <= b.0 => regions.next(),
            (Some(_), Some(_)) => others.next(),
            (Some(_), None) => regions.next(),
            (None, Some(_)) => others.next(),
            (None, None) => break,
        };
        let Some((start, end)) = next else { break };
        consider(prev_end, start.min(top));
        prev_end = prev_end.max(end);
    }
    consider(prev_end, top);
    best
}
