//! Process trees (issue 15) in ckpt-restore: the I/O for the plan's tree
//! block. What the block holds is decided and assembled once, for both
//! restorers, by the shared policy (restorer/policy rules/tree_plan.rs);
//! here are the facts it asks for (fstat of inherited fds, the PID
//! namespace, the fds this process holds) and the vectors it fills.
//!
//! The root (the tree's image executed, or `ckpt-restore TREE`) validates
//! every member and runs the policy on each before its point of no return.
//! A member is restored in a child the root's (or its parent's) stub forked,
//! which re-executes the image with the selector argv (`ckpt-tree-member
//! INDEX FD_BASE`): it takes the objects it shares from the inherited fds.

use std::os::fd::BorrowedFd;

use image_format::{Image, ObjectSlot, TreeProcess};
use restore_plan::{ObjectEnd, Selector, TreeChild, TreeSelf};
use restore_policy::{Detail, FileFacts, PidFacts, Proc, Reason, RootFacts, RootTree, TreeHost, TreeOut};

use crate::error::{refuse, Checked, Refusal};

/// The tree block's contents for one process.
pub struct TreePlan<'i, 'a> {
    pub me: TreeSelf,
    pub children: Vec<TreeChild>,
    pub nr_objects: u64,
    pub ends: Vec<ObjectEnd<'i, 'a>>,
    /// The root: shared memory objects it creates (slot, size).
    pub regions: Vec<(u64, u64)>,
    /// This image's descriptions that are tree objects: FILES index, slot.
    pub own: Vec<(u32, u64)>,
}

/// The lists, as the shared builder hands them out.
#[derive(Default)]
struct Lists<'i, 'a> {
    children: Vec<TreeChild>,
    ends: Vec<ObjectEnd<'i, 'a>>,
    regions: Vec<(u64, u64)>,
    own: Vec<(u32, u64)>,
}

impl<'i, 'a> TreeOut<'i, 'a> for Lists<'i, 'a> {
    fn child(&mut self, c: TreeChild) -> Result<(), restore_policy::Refusal> {
        self.children.push(c);
        Ok(())
    }
    fn end(&mut self, e: ObjectEnd<'i, 'a>) -> Result<(), restore_policy::Refusal> {
        self.ends.push(e);
        Ok(())
    }
    fn region(&mut self, slot: u64, size: u64) -> Result<(), restore_policy::Refusal> {
        self.regions.push((slot, size));
        Ok(())
    }
    fn own(&mut self, file: u32, slot: u64) -> Result<(), restore_policy::Refusal> {
        self.own.push((file, slot));
        Ok(())
    }
}

impl<'i, 'a> Lists<'i, 'a> {
    fn plan(self, head: restore_policy::TreeHead) -> TreePlan<'i, 'a> {
        TreePlan { me: head.me, children: self.children, nr_objects: head.nr_objects, ends: self.ends, regions: self.regions, own: self.own }
    }
}

/// The facts, from this process: /proc/self/status (NSpid), capget,
/// kill(pid, 0), fstat.
struct UserTreeHost;

impl TreeHost for UserTreeHost {
    fn pid_facts(&mut self) -> PidFacts {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or("");
        // CAP_SYS_ADMIN (21) over our own namespaces: root in the user
        // namespace that owns the PID namespace we were created in.
        let cap_eff = crate::host::effective_capabilities();
        PidFacts { child_pid_namespace: field("NSpid:").split_whitespace().count() > 1, may_set_pids: cap_eff & (1 << 21) != 0 }
    }

    /// No process has it, and no process group (as the module's
    /// find_vpid sees it: clone3 set_tid cannot have a pid a group holds).
    fn pid_free(&mut self, pid: u32) -> bool {
        let Ok(raw) = i32::try_from(pid) else { return false };
        let gone = |p: i32| nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None) == Err(nix::errno::Errno::ESRCH);
        // kill(-1) would mean every process: pid 1 is never free anyway.
        raw > 1 && gone(raw) && gone(-raw)
    }

    fn own_pid(&mut self) -> u32 {
        std::process::id()
    }

    fn fd_facts(&mut self, fd: u64) -> Option<FileFacts> {
        let raw = i32::try_from(fd).ok()?;
        // SAFETY: F_GETFD reads no memory; a number that is not open gives
        // EBADF, and only an open fd is borrowed, for this call only.
        if unsafe { libc::fcntl(raw, libc::F_GETFD) } < 0 {
            return None;
        }
        // SAFETY: `raw` is open (checked just above) and outlives the borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(raw) };
        let st = nix::sys::stat::fstat(fd).ok()?;
        Some(FileFacts { mode: st.st_mode, size: st.st_size as u64, ..FileFacts::default() })
    }

    fn pace(&mut self) -> Result<(), restore_policy::Refusal> {
        Ok(())
    }
}

/// A tree refusal as ckpt-restore says it.
fn refusal(r: restore_policy::Refusal, recs: &[TreeProcess]) -> Refusal {
    let detail = match (r.reason, r.detail) {
        (Reason::TreeObjectUnsupported, Detail::Region(_)) => "shared memory".to_string(),
        (Reason::TreeObjectUnsupported, _) => "shared between processes".to_string(),
        (Reason::MissingTreeObject, Detail::Limit { need, limit }) => format!("object {limit} at fd {need}"),
        (Reason::MemberSelector, Detail::Limit { need, .. }) if (need as usize) < recs.len() => {
            format!("process {need} of the tree is a zombie")
        }
        (Reason::MemberSelector, Detail::Limit { need, limit }) => format!("the tree has {limit} processes, not {}", need + 1),
        (reason, Detail::Limit { need, limit }) => crate::error::limit_text(reason, need, limit),
        _ => String::new(),
    };
    refuse(r.reason, detail)
}

/// The lowest fd above every fd this process holds now (the image, each
/// mapped file, whatever the caller left open): the root's stub puts the
/// tree's fds from the fd base down over whatever is there.
fn free_fd() -> Checked<u64> {
    let highest = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| crate::error::internal("/proc/self/fd", e))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap_or(2);
    Ok(highest + 1)
}

/// This process's part of a tree: the root (its block built once its own
/// checks are done) or a member (built).
pub enum Role<'r, 'i, 'a> {
    Root(&'r Root<'i, 'a>),
    Member(TreePlan<'i, 'a>),
}

/// The root's tree, checked across all members before any member's own
/// checks: `members[i]` is process i's image (the root's for 0, None for a
/// zombie).
pub struct Root<'i, 'a> {
    recs: &'i [TreeProcess],
    members: &'i [Option<Image<'a>>],
    checked: RootTree,
    facts: RootFacts,
}

pub fn check_root<'i, 'a>(recs: &'i [TreeProcess], members: &'i [Option<Image<'a>>], image_fd: u64, nproc: u64, nofile: u64) -> Checked<Root<'i, 'a>> {
    let mut slots = vec![ObjectSlot::default(); restore_policy::tree_object_refs(members)];
    let mut procs = vec![Proc::default(); recs.len()];
    let facts = RootFacts { nproc, nofile, free_fd: 0, image_fd };
    let checked = restore_policy::check_root_tree(recs, members, &mut slots, &mut procs, &facts, &mut UserTreeHost)
        .map_err(|r| refusal(r, recs))?;
    Ok(Root { recs, members, checked, facts })
}

/// The root's block, once its own checks have opened the files it maps:
/// its fd base lies above every fd it holds.
pub fn for_root<'i, 'a>(root: &Root<'i, 'a>) -> Checked<TreePlan<'i, 'a>> {
    let facts = RootFacts { free_fd: free_fd()?, ..root.facts };
    let mut procs = vec![Proc::default(); root.recs.len()];
    let mut lists = Lists::default();
    let head = restore_policy::root_tree(root.recs, root.members, &root.checked, &mut procs, &facts, &mut UserTreeHost, &mut lists)
        .map_err(|r| refusal(r, root.recs))?;
    Ok(lists.plan(head))
}

/// A member's block (`sel` from its argv).
pub fn for_member<'i, 'a>(recs: &[TreeProcess], image: &'i Image<'a>, sel: Selector) -> Checked<TreePlan<'i, 'a>> {
    let mut procs = vec![Proc::default(); recs.len()];
    let mut lists = Lists::default();
    let head = restore_policy::member_tree(recs, image, sel, &mut procs, &mut UserTreeHost, &mut lists).map_err(|r| refusal(r, recs))?;
    Ok(lists.plan(head))
}

/// The member a selector names, or why not.
pub fn selected(recs: &[TreeProcess], sel: Selector) -> Checked<TreeProcess> {
    restore_policy::selected(recs, sel).map_err(|r| refusal(r, recs))
}

/// The tree's fd of each region of `image` that maps shared memory of the
/// tree (TREE_REGIONS), by region index.
pub fn shared_region_fds(image: &Image<'_>, fd_base: u64) -> Vec<Option<u64>> {
    let mut v = vec![None; image.region_count() as usize];
    for t in image.tree_regions() {
        if let Some(slot) = v.get_mut(t.region as usize) {
            *slot = Some(fd_base + restore_policy::object_slot(t.object, 0));
        }
    }
    v
}
