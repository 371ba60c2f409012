//! The program break where prctl(PR_SET_MM_MAP) is refused (mm.rs).
//!
//! The kernel's brk fields (start_brk, brk) can only be set with
//! prctl(PR_SET_MM_MAP). Without it they stay the restorer's own (S = its
//! start_brk), while the restored C library caches the image's break B and
//! asks brk(B + n) when its heap grows:
//!
//! * The restorer shrinks its break to S just before entering the stub
//!   (enter.rs), so the kernel's brk == start_brk == S and a later brk(x)
//!   can never shrink (unmap) anything: x < S fails, x == S changes nothing.
//! * B >= S (dynamically linked PIE programs: their heap lies above S):
//!   brk(B + n) extends from S only if all of [S, B + n) is free. The
//!   image's heap or program lies in it, so it fails, the kernel returns S
//!   (less than asked), and glibc's malloc grows its arena with mmap
//!   instead; with nothing in the way the extension lands where glibc
//!   expects it.
//! * B < S (statically linked non-PIE programs at 0x400000): the kernel
//!   refuses brk(B + n) but returns S, which is *more* than asked, and glibc
//!   takes that for success and uses unmapped memory. Refused (checked
//!   before the teardown, once PR_SET_MM_MAP has failed).

use image_format::Image;

use restore_policy::Reason;

use crate::error::{refuse, Checked};

/// Whether the image can run with the restorer's break (see above).
pub fn check_fallback(image: &Image<'_>, start_brk_here: u64) -> Checked<()> {
    let b = image.process.mm.brk;
    if start_brk_here != 0 && b < start_brk_here {
        return Err(refuse(
            Reason::BrkBelowRestorer,
            format!(
                "PR_SET_MM_MAP was refused (or skipped: CKPT_RESTORE_NO_MM_MAP) and the image's program break {b:#x} lies below the restorer's {start_brk_here:#x}: its malloc would use unmapped memory"
            ),
        ));
    }
    Ok(())
}
