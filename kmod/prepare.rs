// SPDX-License-Identifier: GPL-2.0
//! Everything checked against the caller before the point of no return.
//! No `unsafe` here.
//!
//! The image already passed the shared validator. The shared policy
//! (restorer/policy, `policy::check`) decides everything else from facts
//! this module gathers (host.rs): privileges, the CPU's XSAVE features,
//! the files the image maps (opened now, with the caller's credentials,
//! and kept open for the mapping), the fds the stub reopens, the working
//! directory, the vdso, the mapping count and RLIMIT_AS. Then a free range
//! for the restorer stub, and the stub's plan. Any failure is a
//! [`Refusal`]: the caller gets an errno and is left as it was.

use kernel::prelude::*;

use crate::glue::{self, Exec, OpenFile};
use crate::host::KernelHost;
use crate::image_format::Image;
use crate::plan::{self, Layout, Placement};
use crate::policy::{self, Reason};
use crate::refusal::{Checked, Refusal};

/// The restorer stub (restorer/stub): entry at offset 0, final page last.
pub(crate) const STUB: &[u8] = include_bytes!("../build/stub/stub.bin");

/// What the restore needs after the point of no return.
pub(crate) struct Prepared {
    /// The files the image maps, one per run of regions naming one file.
    pub(crate) files: KVec<OpenFile>,
    /// For each region, the index in `files` of its file (`u32::MAX`: none).
    pub(crate) file_of: KVVec<u32>,
    /// The stub's plan, ready to copy to `place.plan`.
    pub(crate) plan: KVVec<u8>,
    pub(crate) layout: Layout,
    pub(crate) place: Placement,
}

pub(crate) fn prepare(exec: &Exec<'_>, image: &Image<'_>) -> Checked<Prepared> {
    let mut host = KernelHost::new(exec, image.region_count() as usize)?;
    let checked = policy::check(image, &mut host)?;

    // After the point of no return the new mm holds nothing but the
    // argument stack, which goes first: only the image's regions to avoid.
    // The module's plan has no memory steps (plan_ops 0): the checks'
    // layout is the plan's.
    let layout = checked.layout;
    let stub_len = STUB.len() as u64;
    let at = policy::find_hole(image, &[], layout.len + stub_len, glue::task_size(), &mut || {
        crate::loader::yield_before_commit()
    })?;
    let place = Placement { plan: at, stub: at + layout.len, stub_len, vdso_base: checked.vdso_base };
    let len = usize::try_from(layout.len).map_err(|_| Refusal::from(Reason::Plan(plan::PlanError::TooLarge)))?;
    let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(|_| Refusal::from(Reason::OutOfMemory))?;
    plan::write(image, &layout, &place, &[], &mut buf)?;
    Ok(Prepared { files: host.files, file_of: host.file_of, plan: buf, layout, place })
}
