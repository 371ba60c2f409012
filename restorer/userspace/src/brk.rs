//! The program break after a restore without CAP_SYS_RESOURCE.
//!
//! The kernel's brk fields (start_brk, brk) can only be set with
//! prctl(PR_SET_MM_MAP), which needs CAP_SYS_RESOURCE (mm.rs tries it).
//! Without it they stay the restorer's own (S = its start_brk), while the
//! restored C library caches the image's break B and asks brk(B + n) when
//! its heap grows. Made safe here:
//!
//! * Just before entering the stub the restorer shrinks its break to S
//!   (enter.rs), so the kernel's brk == start_brk == S: a later brk(x) can
//!   then never shrink anything (x < S fails, x == S is a no-op), it can
//!   only extend from S into free space.
//! * If B < S, a brk(B + n) reaching past S would map [S, B + n) while
//!   glibc believes it owns [B, B + n): a PROT_NONE guard page at S makes
//!   every extension fail instead. glibc's malloc then falls back to mmap
//!   for its arena (the restored program keeps working; tests/restore.rs
//!   checks it with `counter`, which mallocs after the restore).
//! * If B >= S, an extension from S covers the image's own heap and fails,
//!   or (the image had no heap) lands exactly where glibc expects it.

use image_format::Image;
use restore_plan::PAGE;

/// Where to put the guard page, if one is needed.
pub fn guard_at(image: &Image<'_>, start_brk_here: u64) -> Option<u64> {
    let s = start_brk_here;
    if s == 0 || s % PAGE != 0 || image.process.mm.brk >= s {
        return None;
    }
    // An image region at S already makes every extension fail.
    let covered = image.regions().any(|r| r.start <= s && s < r.end);
    (!covered).then_some(s)
}
