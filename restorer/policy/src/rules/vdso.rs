// SPDX-License-Identifier: GPL-2.0
//! Whether the image's vdso can be this kernel's. Restored code may hold
//! pointers into the vdso, and the stub maps this kernel's at the image's
//! address (ARCH_MAP_VDSO_64, which lays out [vvar], [vvar_vclock] on
//! 6.13 and later, then [vdso], as at exec): so the layout must be this
//! kernel's, and the stored vdso must be this kernel's byte for byte (the
//! restorer compares the bytes this returns the place of).

use super::fmt::{Image, Region, RegionKind};
use super::reason::{Detail, Reason, Refusal};

/// The caller's vdso as this kernel lays it out: lengths in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VdsoHere {
    /// [vvar].
    pub vvar_len: u64,
    /// [vvar_vclock], on kernels that have it.
    pub vvar_vclock_len: Option<u64>,
    /// [vdso].
    pub vdso_len: u64,
}

/// Where the stub maps the vdso, and the stored bytes to compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VdsoPlan {
    /// The start of the image's [vvar]: ARCH_MAP_VDSO_64's address.
    pub base: u64,
    /// File offset of the stored [vdso] pages in the image.
    pub stored_offset: u64,
    /// Their length, which is this kernel's vdso length.
    pub len: u64,
}

fn len(r: &Region) -> u64 {
    r.end - r.start
}

/// The image's kernel-provided regions (the validator allows one of each).
#[derive(Clone, Copy, Debug, Default)]
pub struct Special {
    /// [vvar].
    pub vvar: Option<Region>,
    /// [vvar_vclock].
    pub clock: Option<Region>,
    /// [vdso].
    pub vdso: Option<Region>,
}

impl Special {
    /// Notes `r` if it is one of them.
    pub fn note(&mut self, r: &Region) {
        let slot = match r.kind {
            RegionKind::Vvar => &mut self.vvar,
            RegionKind::VvarVclock => &mut self.clock,
            RegionKind::Vdso => &mut self.vdso,
            _ => return,
        };
        slot.get_or_insert(*r);
    }
}

/// From the image's special regions (found in the policy's one pass over
/// the regions): `None` when the image has no vdso; else the plan, or why
/// not.
pub fn vdso_plan(image: &Image<'_>, found: &Special, here: Option<VdsoHere>) -> Result<Option<VdsoPlan>, Refusal> {
    let Some(vdso) = found.vdso else {
        return Ok(None);
    };
    let here = here.ok_or(Refusal::from(Reason::CallerHasNoVdso))?;
    let differs = Refusal::from(Reason::VdsoLayoutDiffers);
    let vvar = found.vvar.ok_or(differs)?;
    let clock = found.clock;
    let same_sizes =
        len(&vdso) == here.vdso_len && len(&vvar) == here.vvar_len && clock.map(|c| len(&c)) == here.vvar_vclock_len;
    let adjacent = match clock {
        Some(c) => vvar.end == c.start && c.end == vdso.start,
        None => vvar.end == vdso.start,
    };
    if !same_sizes || !adjacent {
        return Err(differs);
    }
    let mut runs = image.page_runs(&vdso);
    match (runs.next(), runs.next()) {
        (Some(run), None) if run.page_index == 0 && run.page_count == vdso.pages() => {
            Ok(Some(VdsoPlan { base: vvar.start, stored_offset: run.file_offset, len: here.vdso_len }))
        }
        _ => Err(Refusal::new(Reason::VdsoNotStored, Detail::None)),
    }
}
