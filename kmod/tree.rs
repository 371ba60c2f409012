// SPDX-License-Identifier: GPL-2.0
//! Process trees in the module (issue 15): the selector argv, the member
//! images read at their place in the file, and each process's part of the
//! plan's tree block. The rules are the shared policy's (restorer/policy
//! rules/tree.rs), the block's layout the plan builder's (restorer/plan
//! src/tree.rs), as in ckpt-restore. No `unsafe` here.
//!
//! Executing a tree's image restores its root: every member is read,
//! validated and checked by the policy before the point of no return. A
//! child forked by a stub re-executes the image with `ckpt-tree-member
//! ckpt-tree-member INDEX FD_BASE` and restores member INDEX.

use kernel::prelude::*;

use crate::glue::{self, Exec};
use crate::image_format::{Image, ObjectSlot, TreeCheck, TreeProcess, TreeState, HEADER_SIZE};
use crate::plan::{self, ObjectEnd, Selector, TreeChild, TreeSelf, KEEP};
use crate::policy::{self, FileFacts, Proc, Reason};
use crate::refusal::{Checked, Refusal};

/// Room for the selector argv: two markers, an index and a base.
const ARGS_MAX: usize = 64;

fn oom<T>(_: T) -> Refusal {
    Reason::OutOfMemory.into()
}

fn push<T>(v: &mut KVec<T>, x: T) -> Checked<()> {
    v.push(x, GFP_KERNEL).map_err(oom)
}

/// The selector in the exec's argv (after argv[0]), if it has one.
pub(crate) fn selector(exec: &Exec<'_>) -> Option<Result<Selector, ()>> {
    let mut buf = [0u8; ARGS_MAX];
    let (bytes, argc) = exec.args(&mut buf).ok()?;
    let mut args: [&[u8]; 4] = [&[]; 4];
    let mut n = 0;
    for s in bytes.split(|&b| b == 0).take(argc).skip(1) {
        // More than three after argv[0]: not `[marker, index, base]`.
        if n == args.len() {
            return plan::parse_selector(&[plan::TREE_MARKER, b"", b"", b""]);
        }
        args[n] = s;
        n += 1;
    }
    plan::parse_selector(args.get(..n).unwrap_or(&[]))
}

/// The TREE records of `root` (none: a single-process image).
pub(crate) fn records(root: &Image<'_>) -> Checked<KVec<TreeProcess>> {
    let mut v = KVec::new();
    for r in root.tree_processes() {
        push(&mut v, r)?;
    }
    Ok(v)
}

/// The member a selector names: a live process of the tree, not the root.
pub(crate) fn selected(recs: &[TreeProcess], sel: Selector) -> Checked<TreeProcess> {
    match recs.get(sel.index as usize) {
        Some(r) if r.state != TreeState::Zombie && sel.index != 0 => Ok(*r),
        _ => Err(Reason::MemberSelector.into()),
    }
}

/// A tree's part of one restore (plan.rs's tree block).
pub(crate) struct TreePlan<'i, 'a> {
    pub(crate) me: TreeSelf,
    pub(crate) children: KVec<TreeChild>,
    pub(crate) nr_objects: u64,
    pub(crate) ends: KVec<ObjectEnd<'i, 'a>>,
    pub(crate) own: KVec<(u32, u64)>,
    /// Root: the shared memory objects its stub creates, (slot, size).
    pub(crate) regions: KVec<(u64, u64)>,
}

fn procs(recs: &[TreeProcess], threads: &dyn Fn(usize) -> u32) -> Checked<KVec<Proc>> {
    let mut v = KVec::with_capacity(recs.len(), GFP_KERNEL).map_err(oom)?;
    for (i, r) in recs.iter().enumerate() {
        push(&mut v, policy::proc_of(r, threads(i)))?;
    }
    Ok(v)
}

fn child_list(procs: &[Proc], index: usize) -> Checked<KVec<TreeChild>> {
    let mut v = KVec::new();
    let mut full = false;
    policy::children(procs, index, &mut |c| full |= v.push(c, GFP_KERNEL).is_err())?;
    if full {
        return Err(Reason::OutOfMemory.into());
    }
    Ok(v)
}

fn own_objects(image: &Image<'_>) -> Checked<KVec<(u32, u64)>> {
    let mut v = KVec::new();
    for t in image.tree_files() {
        push(&mut v, (t.file, policy::object_slot(t.object, t.end)))?;
    }
    Ok(v)
}

/// The root's part: `images[i]` is process i's validated image (the
/// root's for 0, None for a zombie). The check across all images, the
/// tree-wide RLIMIT_NPROC, the objects the root's stub creates, the fd
/// base; `image_fd` is filled in after the point of no return.
pub(crate) fn for_root<'i, 'a>(recs: &[TreeProcess], images: &'i [Option<Image<'a>>]) -> Checked<TreePlan<'i, 'a>> {
    let refs = images.iter().flatten().fold(0u32, |n, m| n.saturating_add(m.tree_object_refs()));
    let mut slots = KVVec::from_elem(ObjectSlot::default(), refs as usize, GFP_KERNEL).map_err(oom)?;
    let mut check = TreeCheck::new(&mut slots);
    for (i, (rec, img)) in recs.iter().zip(images).enumerate() {
        glue::yield_now().map_err(|_| Refusal::from(crate::image_format::FormatError::Interrupted))?;
        if let Some(img) = img {
            check.member(i as u32, rec, img)?;
        }
    }
    let nr_objects = u64::from(check.objects());
    let procs = procs(recs, &|i| images.get(i).and_then(|m| m.as_ref()).map_or(0, |m| m.thread_count()))?;
    policy::check_tree_nproc(&procs, glue::rlimit_nproc())?;
    let mut ends = KVec::new();
    let mut full = false;
    policy::object_ends(images, &mut |e| {
        full |= ends.push(e, GFP_KERNEL).is_err();
        Ok(())
    })?;
    if full {
        return Err(Reason::OutOfMemory.into());
    }
    // Shared memory between processes: the root's stub creates each
    // object; the module maps memory before any stub runs, so every
    // process's regions of them are deferred (plan::defers), mapped by
    // its stub from the object's fd.
    let mut regions = KVec::new();
    policy::region_objects(images, true, &mut |slot, size| {
        full |= regions.push((slot, size), GFP_KERNEL).is_err();
    })?;
    if full {
        return Err(Reason::OutOfMemory.into());
    }
    let needs = images.iter().enumerate().filter_map(|(i, m)| Some(plan::fd_base_need(m.as_ref()?, if i == 0 { 2 * nr_objects } else { 0 })));
    let fd_base = policy::tree_fd_base(needs, nr_objects, glue::rlimit_nofile())?;
    let r0 = recs.first().ok_or(Refusal::from(Reason::MemberSelector))?;
    let root = images.first().and_then(|m| m.as_ref()).ok_or(Refusal::from(Reason::MemberSelector))?;
    Ok(TreePlan {
        me: TreeSelf {
            index: 0,
            nr_procs: recs.len() as u32,
            fd_base,
            image_fd: KEEP,
            pdeath_signal: r0.pdeath_signal,
            stopped: r0.state == TreeState::Stopped,
            // PID-namespace mode is ckpt-restore's only, for now.
            set_pids: false,
        },
        children: child_list(&procs, 0)?,
        nr_objects,
        ends,
        own: own_objects(root)?,
        regions,
    })
}

/// A member's part: its fd base above its own fds, every object it shares
/// open at its fd with its kind (the caller's fds), its children.
pub(crate) fn for_member<'i, 'a>(recs: &[TreeProcess], image: &'i Image<'a>, sel: Selector) -> Checked<TreePlan<'i, 'a>> {
    policy::check_member_fd_base(image, sel.fd_base)?;
    policy::check_inherited_objects(image, sel.fd_base, &mut |fd| {
        glue::fd_stat(fd).ok().map(|(mode, size)| FileFacts { mode, size, ..FileFacts::default() })
    })?;
    let rec = selected(recs, sel)?;
    let procs = procs(recs, &|_| 1)?;
    Ok(TreePlan {
        me: TreeSelf {
            index: sel.index,
            nr_procs: recs.len() as u32,
            fd_base: sel.fd_base,
            image_fd: KEEP,
            pdeath_signal: rec.pdeath_signal,
            stopped: rec.state == TreeState::Stopped,
            set_pids: false,
        },
        children: child_list(&procs, sel.index as usize)?,
        nr_objects: 0,
        ends: KVec::new(),
        own: own_objects(image)?,
        regions: KVec::new(),
    })
}

/// One member image's pieces, read at its place in the file.
pub(crate) struct Parts {
    pub(crate) head: [u8; HEADER_SIZE],
    pub(crate) meta: KVVec<u8>,
    pub(crate) tail: KVVec<u8>,
    pub(crate) rec: TreeProcess,
}

impl Parts {
    /// Validates the member (pacing like the root's validation).
    pub(crate) fn image(&self) -> Checked<Image<'_>> {
        let mut pace = || crate::loader::yield_before_commit().is_ok();
        Ok(Image::parse_member_paced(&self.head, &self.meta, &self.tail, &self.rec, &mut pace)?)
    }
}

/// Reads the members `wanted` says (process index, record).
pub(crate) fn read_members(exec: &Exec<'_>, recs: &[TreeProcess], wanted: &dyn Fn(usize, &TreeProcess) -> bool) -> Checked<KVec<Option<Parts>>> {
    let mut v = KVec::with_capacity(recs.len(), GFP_KERNEL).map_err(oom)?;
    for (i, r) in recs.iter().enumerate() {
        let parts = if wanted(i, r) {
            let mut head = [0u8; HEADER_SIZE];
            let (meta, tail) = crate::loader::read_metadata_at(exec, &mut head, r.image_offset, r.image_len)?;
            Some(Parts { head, meta, tail, rec: *r })
        } else {
            None
        };
        push(&mut v, parts)?;
    }
    Ok(v)
}
