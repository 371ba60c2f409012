//! Process trees (issue 15) in ckpt-restore: what the root's restore and a
//! member's restore need for the plan's tree block. The decisions are the
//! shared policy's (restorer/policy rules/tree.rs); here is the I/O: the
//! member images read and validated, the inherited fds examined.
//!
//! The root (the tree's image executed, or `ckpt-restore TREE`) validates
//! every member and runs the policy on each before its point of no return.
//! A member is restored in a child the root's (or its parent's) stub forked,
//! which re-executes the image with the selector argv (`ckpt-tree-member
//! INDEX FD_BASE`): it takes the objects it shares from the inherited fds.

use std::os::fd::BorrowedFd;

use image_format::{Image, ObjectSlot, TreeCheck, TreeProcess, TreeState};
use restore_plan::{fd_base_need, ObjectEnd, Selector, TreeChild, TreeSelf, KEEP, TREE_CONTROL_FDS};
use restore_policy::{check_tree_nproc, children, object_ends, object_slot, proc_of, tree_fd_base, FileFacts, Proc, Reason};

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

fn procs(recs: &[TreeProcess], threads: impl Fn(usize) -> u32) -> Vec<Proc> {
    recs.iter().enumerate().map(|(i, r)| proc_of(r, threads(i))).collect()
}

/// PID-namespace mode (policy `set_pids`): the facts, from /proc/self/status
/// (NSpid) and capget.
fn set_pids(procs: &[Proc]) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or("");
    // CAP_SYS_ADMIN (21) over our own namespaces: root in the user
    // namespace that owns the PID namespace we were created in.
    let cap_eff = crate::host::effective_capabilities();
    let facts = restore_policy::PidFacts {
        child_pid_namespace: field("NSpid:").split_whitespace().count() > 1,
        may_set_pids: cap_eff & (1 << 21) != 0,
    };
    let free = |pid: u32| {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        nix::sys::signal::kill(pid, None) == Err(nix::errno::Errno::ESRCH)
    };
    restore_policy::set_pids(facts, procs, &mut { free })
}

/// Process `index` then its children: whose pids a member's stub sets.
fn own_and_children(procs: &[Proc], index: usize) -> Vec<Proc> {
    let kids = procs.iter().filter(|p| p.parent as usize == index).copied();
    procs.get(index).copied().into_iter().chain(kids).collect()
}

fn own_objects(image: &Image<'_>) -> Vec<(u32, u64)> {
    image.tree_files().map(|t| (t.file, object_slot(t.object, t.end))).collect()
}

fn child_list(procs: &[Proc], index: usize) -> Checked<Vec<TreeChild>> {
    let mut v = Vec::new();
    children(procs, index, &mut |c| v.push(c)).map_err(|r| refuse(r.reason, limit_detail(&r)))?;
    Ok(v)
}

fn limit_detail(r: &restore_policy::Refusal) -> String {
    match r.detail {
        restore_policy::Detail::Limit { need, limit } => crate::error::limit_text(r.reason, need, limit),
        _ => String::new(),
    }
}

/// The root's part: `members[i]` is process i's image (the root's for 0,
/// None for a zombie). Checks the tree across all images (object numbers,
/// kinds), RLIMIT_NPROC for all, the fd base, and builds the root's block.
pub fn for_root<'i, 'a>(
    root: &'i Image<'a>,
    recs: &[TreeProcess],
    members: &'i [Option<Image<'a>>],
    image_fd: u64,
    nproc: u64,
    nofile: u64,
) -> Checked<TreePlan<'i, 'a>> {
    let refs: u32 = members.iter().flatten().map(|m| m.tree_object_refs()).sum();
    let mut slots = vec![ObjectSlot::default(); refs as usize];
    let mut check = TreeCheck::new(&mut slots);
    for (i, (rec, img)) in recs.iter().zip(members).enumerate() {
        if let Some(img) = img {
            check.member(i as u32, rec, img)?;
        }
    }
    let nr_objects = u64::from(check.objects());
    let procs = procs(recs, |i| members.get(i).and_then(|m| m.as_ref()).map_or(0, |m| m.thread_count()));
    check_tree_nproc(&procs, nproc).map_err(|r| refuse(r.reason, limit_detail(&r)))?;
    // Each object end from the first process that holds it.
    let mut ends: Vec<ObjectEnd<'i, 'a>> = Vec::new();
    object_ends(members, &mut |e| {
        ends.push(e);
        Ok(())
    })
    .map_err(|r| refuse(r.reason, "shared between processes"))?;
    let mut regions = Vec::new();
    restore_policy::region_objects(members, true, &mut |slot, size| regions.push((slot, size)))
        .map_err(|r| refuse(r.reason, "shared memory"))?;
    let needs = members.iter().enumerate().filter_map(|(i, m)| Some(fd_base_need(m.as_ref()?, if i == 0 { 2 * nr_objects } else { 0 })));
    let fd_base = tree_fd_base(needs, nr_objects, nofile).map_err(|r| refuse(r.reason, limit_detail(&r)))?;
    let r0 = recs.first().ok_or(image_format::FormatError::BadTreeProcess)?;
    Ok(TreePlan {
        me: TreeSelf {
            index: 0,
            nr_procs: recs.len() as u32,
            fd_base,
            image_fd,
            pdeath_signal: r0.pdeath_signal,
            stopped: r0.state == TreeState::Stopped,
            set_pids: set_pids(&procs),
        },
        children: child_list(&procs, 0)?,
        nr_objects,
        ends,
        regions,
        own: own_objects(root),
    })
}

/// The root's fd base, raised above every fd this process holds now (the
/// image, each mapped file, whatever the caller left open) and the failure
/// line's duplicate the stub makes at the lowest free number: the root's
/// stub puts the tree's fds from fd_base - TREE_CONTROL_FDS up over
/// whatever is there. Called once the mapped files are open.
pub fn above_held_fds(plan: &mut TreePlan<'_, '_>, nofile: u64) -> Checked<()> {
    if plan.me.index != 0 {
        return Ok(());
    }
    let highest = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| crate::error::internal("/proc/self/fd", e))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap_or(2);
    let floor = highest.saturating_add(2 + TREE_CONTROL_FDS);
    plan.me.fd_base =
        tree_fd_base([plan.me.fd_base, floor].into_iter(), plan.nr_objects, nofile).map_err(|r| refuse(r.reason, limit_detail(&r)))?;
    Ok(())
}

/// fstat of an inherited fd, `None` if it is not open.
fn fd_facts(fd: u64) -> Option<FileFacts> {
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

/// A member's part (`sel` from its argv): the fd base lies above its own
/// fds, every object it shares is at its fd with its kind.
pub fn for_member<'i, 'a>(recs: &[TreeProcess], image: &'i Image<'a>, sel: Selector) -> Checked<TreePlan<'i, 'a>> {
    let index = sel.index as usize;
    restore_policy::check_member_fd_base(image, sel.fd_base).map_err(|r| refuse(r.reason, limit_detail(&r)))?;
    restore_policy::check_inherited_objects(image, sel.fd_base, &mut fd_facts).map_err(|r| match r.detail {
        restore_policy::Detail::Limit { need, limit } => refuse(r.reason, format!("object {limit} at fd {need}")),
        _ => refuse(r.reason, ""),
    })?;
    let procs = procs(recs, |_| 1);
    let rec = recs.get(index).ok_or_else(|| refuse(Reason::MemberSelector, format!("no process {index} in the tree")))?;
    Ok(TreePlan {
        me: TreeSelf {
            index: sel.index,
            nr_procs: recs.len() as u32,
            fd_base: sel.fd_base,
            image_fd: KEEP,
            pdeath_signal: rec.pdeath_signal,
            stopped: rec.state == TreeState::Stopped,
            // Its own pid is its pid at dump if the tree's root chose so.
            set_pids: std::process::id() == rec.pid && set_pids(&own_and_children(&procs, index)),
        },
        children: child_list(&procs, index)?,
        nr_objects: 0,
        ends: Vec::new(),
        regions: Vec::new(),
        own: own_objects(image),
    })
}

/// The member a selector names, or why not.
pub fn selected(recs: &[TreeProcess], sel: Selector) -> Result<&TreeProcess, Refusal> {
    match recs.get(sel.index as usize) {
        Some(r) if r.state != TreeState::Zombie => Ok(r),
        Some(_) => Err(refuse(Reason::MemberSelector, format!("process {} of the tree is a zombie", sel.index))),
        None => Err(refuse(Reason::MemberSelector, format!("the tree has {} processes, not {}", recs.len(), sel.index + 1))),
    }
}

/// The tree's fd of each region of `image` that maps shared memory of the
/// tree (TREE_REGIONS), by region index.
pub fn shared_region_fds(image: &Image<'_>, fd_base: u64) -> Vec<Option<u64>> {
    let mut v = vec![None; image.region_count() as usize];
    for t in image.tree_regions() {
        if let Some(slot) = v.get_mut(t.region as usize) {
            *slot = Some(fd_base + object_slot(t.object, 0));
        }
    }
    v
}
