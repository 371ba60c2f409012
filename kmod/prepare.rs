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
use crate::tree::TreePlan;

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
    /// Where the image lies in the file: a tree member's offset, else 0.
    pub(crate) base: u64,
    /// A tree's root: where in the plan its image fd goes, once installed
    /// after the point of no return.
    pub(crate) image_fd_at: Option<u64>,
}

pub(crate) fn prepare(exec: &Exec<'_>, image: &Image<'_>, base: u64, tree: Option<&TreePlan<'_, '_>>) -> Checked<Prepared> {
    let mut host = KernelHost::new(exec, image.region_count() as usize)?;
    host.base = base;
    let checked = policy::check(image, &mut host)?;

    // After the point of no return the new mm holds nothing but the
    // argument stack, which goes first: only the image's regions to avoid.
    // The module's plan has no memory steps (plan_ops 0): the checks'
    // layout is the plan's, with a tree's block added.
    // Its only memory steps: the protection of regions whose pages
    // restore.rs copies in through a writable mapping (KernelHost::plan_ops
    // counted them for the checks' layout).
    let mut ops = KVec::new();
    for (_, r, _, pages) in policy::region_pages(image, |i| tree_object(image, i)) {
        if let Some(own) = pages.final_prot {
            let op = plan::Op { kind: plan::op_kind::MPROTECT, addr: r.start, len: r.end - r.start, prot: u64::from(own), flags: 0, fd: plan::KEEP, offset: 0 };
            ops.push(op, GFP_KERNEL).map_err(|_| Refusal::from(Reason::OutOfMemory))?;
        }
    }
    let layout = match tree {
        Some(t) => plan::layout_with_tree(image, ops.len(), plan::tree_len(t.children.len(), t.nr_objects, &t.ends, t.regions.len())?)?,
        None => checked.layout,
    };
    let stub_len = STUB.len() as u64;
    let at = policy::find_hole(image, &[], layout.len + stub_len, glue::task_size(), &mut || {
        crate::loader::yield_before_commit()
    })?;
    let place = Placement { plan: at, stub: at + layout.len, stub_len, vdso_base: checked.vdso_base };
    let len = usize::try_from(layout.len).map_err(|_| Refusal::from(Reason::Plan(plan::PlanError::TooLarge)))?;
    let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(|_| Refusal::from(Reason::OutOfMemory))?;
    plan::write(image, &layout, &place, &ops, &mut buf)?;
    plan::set_exe_link(&mut buf, image, &layout, checked.exe_link)?;
    plan::set_creds(&mut buf, image, &layout, checked.set_creds)?;
    let mut image_fd_at = None;
    if let Some(t) = tree {
        plan::write_tree(&layout, &mut buf, &t.me, &t.children, t.nr_objects, &t.ends, &t.regions, &t.own)?;
        // Its regions of the tree's shared memory: deferred (restore.rs
        // reserves them), mapped by the stub from the objects' fds.
        for r in image.tree_regions() {
            plan::add_deferred(&mut buf, &layout, image, r.region, t.me.fd_base.saturating_add(policy::object_slot(r.object, 0)))?;
        }
        if t.me.index == 0 {
            image_fd_at = Some(layout.tree + 8 * plan::tree_word::IMAGE_FD as u64);
        }
    }
    Ok(Prepared { files: host.files, file_of: host.file_of, plan: buf, layout, place, base, image_fd_at })
}

/// A tree member's own checks, made by the root before its point of no
/// return (`base`: where the member lies in the file); the files it opens
/// are closed again.
pub(crate) fn check_member(exec: &Exec<'_>, image: &Image<'_>, base: u64) -> Checked<()> {
    let mut host = KernelHost::new(exec, image.region_count() as usize)?;
    host.base = base;
    policy::check(image, &mut host)?;
    Ok(())
}

/// Whether region `i` of `image` maps a tree's shared memory object, which
/// the root's stub creates (policy::region_map).
pub(crate) fn tree_object(image: &Image<'_>, i: usize) -> bool {
    image.tree_regions().any(|t| t.region as usize == i)
}
