// SPDX-License-Identifier: GPL-2.0
//! Process trees in the module (issue 15): the selector argv, the member
//! images read at their place in the file, and the facts and vectors for
//! each process's part of the plan's tree block. The block is decided and
//! assembled by the shared policy (restorer/policy rules/tree_plan.rs), laid
//! out by the plan builder (restorer/plan src/tree.rs), as in ckpt-restore.
//! No `unsafe` here.
//!
//! Executing a tree's image restores its root: every member is read,
//! validated and checked by the policy before the point of no return. A
//! child forked by a stub re-executes the image with `ckpt-tree-member
//! ckpt-tree-member INDEX FD_BASE` and restores member INDEX.

use kernel::prelude::*;

use crate::glue::{self, Exec};
use crate::image_format::{Image, ObjectSlot, TreeProcess, HEADER_SIZE};
use crate::plan::{self, ObjectEnd, Selector, TreeChild, TreeSelf, KEEP};
use crate::policy::{self, FileFacts, PidFacts, Proc, Reason, RootFacts, TreeHead, TreeHost, TreeOut};
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
    policy::selected(recs, sel)
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

/// The lists, as the shared builder (policy rules/tree_plan.rs) hands
/// them out.
struct Lists<'i, 'a> {
    children: KVec<TreeChild>,
    ends: KVec<ObjectEnd<'i, 'a>>,
    own: KVec<(u32, u64)>,
    regions: KVec<(u64, u64)>,
}

impl<'i, 'a> Lists<'i, 'a> {
    fn new() -> Self {
        Lists { children: KVec::new(), ends: KVec::new(), own: KVec::new(), regions: KVec::new() }
    }

    fn plan(self, head: TreeHead) -> TreePlan<'i, 'a> {
        TreePlan { me: head.me, children: self.children, nr_objects: head.nr_objects, ends: self.ends, own: self.own, regions: self.regions }
    }
}

impl<'i, 'a> TreeOut<'i, 'a> for Lists<'i, 'a> {
    fn child(&mut self, c: TreeChild) -> Checked<()> {
        push(&mut self.children, c)
    }
    fn end(&mut self, e: ObjectEnd<'i, 'a>) -> Checked<()> {
        push(&mut self.ends, e)
    }
    fn region(&mut self, slot: u64, size: u64) -> Checked<()> {
        push(&mut self.regions, (slot, size))
    }
    fn own(&mut self, file: u32, slot: u64) -> Checked<()> {
        push(&mut self.own, (file, slot))
    }
}

/// The facts, from the kernel (the caller's task). PID-namespace mode:
/// the caller's PID namespace and capability over it, pids looked up in
/// it (glue.rs, shim.c). The root keeps the caller's pid (the exec'ing
/// task is the root); its children, and theirs, get their pids at dump.
struct KernelTreeHost;

impl TreeHost for KernelTreeHost {
    fn pid_facts(&mut self) -> PidFacts {
        glue::pid_facts()
    }
    fn pid_free(&mut self, pid: u32) -> bool {
        glue::pid_free(pid)
    }
    fn own_pid(&mut self) -> u32 {
        glue::own_pid()
    }
    fn fd_facts(&mut self, fd: u64) -> Option<FileFacts> {
        glue::fd_stat(fd).ok().map(|(mode, size)| FileFacts { mode, size, ..FileFacts::default() })
    }
    fn pace(&mut self) -> Checked<()> {
        crate::loader::yield_before_commit()
    }
}

fn scratch_procs(n: usize) -> Checked<KVVec<Proc>> {
    KVVec::from_elem(Proc::default(), n, GFP_KERNEL).map_err(oom)
}

/// The root's part: `images[i]` is process i's validated image (the
/// root's for 0, None for a zombie). The module holds no fds of its own
/// (free_fd 0); `image_fd` is filled in after the point of no return.
pub(crate) fn for_root<'i, 'a>(recs: &[TreeProcess], images: &'i [Option<Image<'a>>]) -> Checked<TreePlan<'i, 'a>> {
    let mut slots = KVVec::from_elem(ObjectSlot::default(), policy::tree_object_refs(images), GFP_KERNEL).map_err(oom)?;
    let mut procs = scratch_procs(recs.len())?;
    let facts = RootFacts { nproc: glue::rlimit_nproc(), nofile: glue::rlimit_nofile(), free_fd: 0, image_fd: KEEP };
    let checked = policy::check_root_tree(recs, images, &mut slots, &mut procs, &facts, &mut KernelTreeHost)?;
    let mut lists = Lists::new();
    let head = policy::root_tree(recs, images, &checked, &mut procs, &facts, &mut KernelTreeHost, &mut lists)?;
    Ok(lists.plan(head))
}

/// A member's part (`sel` from its argv).
pub(crate) fn for_member<'i, 'a>(recs: &[TreeProcess], image: &'i Image<'a>, sel: Selector) -> Checked<TreePlan<'i, 'a>> {
    let mut procs = scratch_procs(recs.len())?;
    let mut lists = Lists::new();
    let head = policy::member_tree(recs, image, sel, &mut procs, &mut KernelTreeHost, &mut lists)?;
    Ok(lists.plan(head))
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
