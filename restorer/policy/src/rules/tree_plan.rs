// SPDX-License-Identifier: GPL-2.0
//! The tree part of one restore's plan (plan.h `struct chkpt_plan_tree`),
//! assembled once for both restorers: every decision (the checks across
//! the tree, the children and their groups, the objects the root creates,
//! the fd base, PID-namespace mode) is made here from the rules in tree.rs,
//! and handed to the restorer's [`TreeOut`], whose lists become the block
//! (plan::write_tree lays it out). A restorer keeps only its I/O: reading
//! the member images, the facts of [`TreeHost`] (fstat of inherited fds,
//! the PID namespace, its own pid), and its vectors.
//!
//! Order, the same in both restorers: [`check_root_tree`] where the root
//! is refused before any member's own checks (tree-wide limits and
//! objects), then [`root_tree`] once the restorer knows the lowest fd it
//! leaves free (ckpt-restore: above the image and each mapped file it
//! holds, known after the root's own checks opened them; the module holds
//! none: 0). A member: [`selected`], then [`member_tree`].

use super::fmt::{FormatError, Image, ObjectSlot, TreeCheck, TreeProcess, TreeState};
use super::plan::{fd_base_need, ObjectEnd, Selector, TreeChild, TreeSelf, KEEP, TREE_CONTROL_FDS};
use super::reason::{Detail, Reason, Refusal};
use super::tree::{
    check_inherited_objects, check_member_fd_base, check_tree_nproc, children, object_ends, object_slot, proc_of, region_objects, set_pids,
    tree_fd_base, PidFacts, Proc,
};
use super::FileFacts;

/// Where a restorer keeps the block's lists (its own vectors): the only
/// allocation, which may fail (`out-of-memory`).
pub trait TreeOut<'i, 'a> {
    /// A direct child, in tree order.
    fn child(&mut self, c: TreeChild) -> Result<(), Refusal>;
    /// An object end the root's stub creates.
    fn end(&mut self, e: ObjectEnd<'i, 'a>) -> Result<(), Refusal>;
    /// A shared memory object the root's stub creates (slot, size).
    fn region(&mut self, slot: u64, size: u64) -> Result<(), Refusal>;
    /// A description of this process's image that is a tree object
    /// (FILES index, slot).
    fn own(&mut self, file: u32, slot: u64) -> Result<(), Refusal>;
}

/// The facts a restorer gathers for the tree block.
pub trait TreeHost {
    /// Whether PID-namespace mode is possible at all (tree.rs `PidFacts`).
    fn pid_facts(&mut self) -> PidFacts;
    /// No process has `pid` in the caller's PID namespace.
    fn pid_free(&mut self, pid: u32) -> bool;
    /// The caller's pid in its PID namespace (a member: whether its parent
    /// created it with its pid at dump).
    fn own_pid(&mut self) -> u32;
    /// fstat of an inherited fd (None: not open).
    fn fd_facts(&mut self, fd: u64) -> Option<FileFacts>;
    /// Between members: a restorer may yield, or stop for a fatal signal.
    fn pace(&mut self) -> Result<(), Refusal>;
}

/// What the block's head says, beside the lists in [`TreeOut`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// This process's part.
    pub me: TreeSelf,
    /// Tree objects the root creates (a member: 0).
    pub nr_objects: u64,
}

/// The root's tree, checked: what [`root_tree`] builds on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootTree {
    /// Tree objects (TreeCheck's count).
    pub nr_objects: u64,
    /// The fd base every member's image needs.
    pub fd_base: u64,
}

/// The restorer's numbers for the root.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RootFacts {
    /// RLIMIT_NPROC.
    pub nproc: u64,
    /// RLIMIT_NOFILE.
    pub nofile: u64,
    /// The lowest fd above every fd the restorer still holds when the stub
    /// starts (ckpt-restore: the image and its mapped files; the module: 0).
    pub free_fd: u64,
    /// The restorer's fd of the image (`KEEP`: filled in later).
    pub image_fd: u64,
}

/// Slots a [`TreeCheck`] over `images` needs (the caller allocates them).
pub fn tree_object_refs(images: &[Option<Image<'_>>]) -> usize {
    images.iter().flatten().fold(0u32, |n, m| n.saturating_add(m.tree_object_refs())) as usize
}

/// The TREE records as the rules take them, in `procs` (scratch, one per
/// record). A member (`images` None) needs no thread counts (the tree-wide
/// RLIMIT_NPROC is the root's check): 1 each.
fn procs_into<'p>(recs: &[TreeProcess], images: Option<&[Option<Image<'_>>]>, procs: &'p mut [Proc]) -> Result<&'p [Proc], Refusal> {
    let procs = procs.get_mut(..recs.len()).ok_or(Reason::Internal)?;
    for (i, (p, r)) in procs.iter_mut().zip(recs).enumerate() {
        let threads = images.map_or(1, |m| m.get(i).and_then(|m| m.as_ref()).map_or(0, |m| m.thread_count()));
        *p = proc_of(r, threads);
    }
    Ok(procs)
}

/// The root's checks across the tree, before any member's own: the
/// objects (numbers, kinds; the validator's TreeCheck over all members,
/// `slots`: [`tree_object_refs`] of them), RLIMIT_NPROC for every process
/// and thread (`procs`: one per record, scratch), the objects the root
/// creates and the shared memory (kinds it can create), the fd base every
/// image needs below RLIMIT_NOFILE.
pub fn check_root_tree(
    recs: &[TreeProcess],
    images: &[Option<Image<'_>>],
    slots: &mut [ObjectSlot],
    procs: &mut [Proc],
    facts: &RootFacts,
    host: &mut dyn TreeHost,
) -> Result<RootTree, Refusal> {
    let mut check = TreeCheck::new(slots);
    for (i, (rec, img)) in recs.iter().zip(images).enumerate() {
        host.pace()?;
        if let Some(img) = img {
            check.member(i as u32, rec, img)?;
        }
    }
    let nr_objects = u64::from(check.objects());
    check_tree_nproc(procs_into(recs, Some(images), procs)?, facts.nproc)?;
    object_ends(images, &mut |_| Ok(()))?;
    region_objects(images, true, &mut |_, _| {})?;
    let needs = images.iter().enumerate().filter_map(|(i, m)| Some(fd_base_need(m.as_ref()?, if i == 0 { 2 * nr_objects } else { 0 })));
    let fd_base = tree_fd_base(needs, nr_objects, facts.nofile)?;
    Ok(RootTree { nr_objects, fd_base })
}

/// The root's block (`checked` from [`check_root_tree`] with the same
/// arguments): its children, the objects its stub creates, its own
/// descriptions that are objects, PID-namespace mode, and the fd base,
/// raised above `facts.free_fd` and the failure line's duplicate the stub
/// makes at the lowest free number (the root's stub puts the tree's fds
/// from fd_base - TREE_CONTROL_FDS up over whatever is there).
pub fn root_tree<'i, 'a>(
    recs: &[TreeProcess],
    images: &'i [Option<Image<'a>>],
    checked: &RootTree,
    procs: &mut [Proc],
    facts: &RootFacts,
    host: &mut dyn TreeHost,
    out: &mut dyn TreeOut<'i, 'a>,
) -> Result<TreeHead, Refusal> {
    let procs = procs_into(recs, Some(images), procs)?;
    let r0 = recs.first().ok_or(FormatError::BadTreeProcess)?;
    let root = images.first().and_then(|m| m.as_ref()).ok_or(FormatError::BadTreeProcess)?;
    let floor = facts.free_fd.saturating_add(1 + TREE_CONTROL_FDS);
    let fd_base = tree_fd_base([checked.fd_base, floor].into_iter(), checked.nr_objects, facts.nofile)?;
    child_list(procs, 0, out)?;
    object_ends(images, &mut |e| out.end(e))?;
    let mut region_err = Ok(());
    region_objects(images, true, &mut |slot, size| {
        if region_err.is_ok() {
            region_err = out.region(slot, size);
        }
    })?;
    region_err?;
    own_objects(root, out)?;
    let pids = host.pid_facts();
    let set_pids = set_pids(pids, procs, &mut |pid| host.pid_free(pid));
    let me = TreeSelf {
        index: 0,
        nr_procs: recs.len() as u32,
        fd_base,
        image_fd: facts.image_fd,
        pdeath_signal: r0.pdeath_signal,
        stopped: r0.state == TreeState::Stopped,
        set_pids,
    };
    Ok(TreeHead { me, nr_objects: checked.nr_objects })
}

/// The children of `parent` into `out` (the first failed push ends it).
fn child_list(procs: &[Proc], parent: usize, out: &mut dyn TreeOut<'_, '_>) -> Result<(), Refusal> {
    let mut pushed = Ok(());
    children(procs, parent, &mut |c| {
        if pushed.is_ok() {
            pushed = out.child(c);
        }
    })?;
    pushed
}

fn own_objects<'i, 'a>(image: &Image<'_>, out: &mut dyn TreeOut<'i, 'a>) -> Result<(), Refusal> {
    for t in image.tree_files() {
        out.own(t.file, object_slot(t.object, t.end))?;
    }
    Ok(())
}

/// The member a selector names: a live process of the tree, not the root.
/// Detail: the index asked for and the tree's size.
pub fn selected(recs: &[TreeProcess], sel: Selector) -> Result<TreeProcess, Refusal> {
    let detail = Detail::Limit { need: u64::from(sel.index), limit: recs.len() as u64 };
    match recs.get(sel.index as usize) {
        Some(r) if r.state != TreeState::Zombie && sel.index != 0 => Ok(*r),
        _ => Err(Refusal::new(Reason::MemberSelector, detail)),
    }
}

/// A member's block (`sel` from its argv, `image` its validated image):
/// its fd base lies above its own fds, every object it shares is open at
/// its fd with its kind (the caller's fds, `host.fd_facts`), its children.
/// Its children get their pids at dump if it got its own (its parent was in
/// PID-namespace mode) and the namespace allows it here too.
pub fn member_tree<'i, 'a>(
    recs: &[TreeProcess],
    image: &'i Image<'a>,
    sel: Selector,
    procs: &mut [Proc],
    host: &mut dyn TreeHost,
    out: &mut dyn TreeOut<'i, 'a>,
) -> Result<TreeHead, Refusal> {
    check_member_fd_base(image, sel.fd_base)?;
    check_inherited_objects(image, sel.fd_base, &mut |fd| host.fd_facts(fd))?;
    let rec = selected(recs, sel)?;
    let procs = procs_into(recs, None, procs)?;
    let index = sel.index as usize;
    child_list(procs, index, out)?;
    own_objects(image, out)?;
    // Its own pid is its pid at dump if its parent's stub chose so; then
    // its children's too where every one is free (only theirs count).
    let mine = |pid: u32| procs.iter().enumerate().any(|(i, p)| i != index && p.parent as usize == index && p.pid == pid);
    let set = host.own_pid() == rec.pid && set_pids(host.pid_facts(), procs, &mut |pid| !mine(pid) || host.pid_free(pid));
    let me = TreeSelf {
        index: sel.index,
        nr_procs: recs.len() as u32,
        fd_base: sel.fd_base,
        image_fd: KEEP,
        pdeath_signal: rec.pdeath_signal,
        stopped: rec.state == TreeState::Stopped,
        set_pids: set,
    };
    Ok(TreeHead { me, nr_objects: 0 })
}
