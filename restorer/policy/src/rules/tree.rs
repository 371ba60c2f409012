// SPDX-License-Identifier: GPL-2.0
//! Process trees (issue 15): what both restorers decide about a tree
//! before the root's point of no return, and about a member before its
//! own. The plan builder's tree block (restorer/plan/src/tree.rs) carries
//! the outcome to the stub (restorer/stub/tree.c).
//!
//! The format's validator has checked the TREE records (parents first,
//! sessions and groups the format allows); here is what this restore can
//! recreate: a child forked by its parent inherits the parent's session
//! and group, makes its own (setsid, setpgid(0, 0)), or joins the group
//! of an earlier sibling (as a shell's pipeline does). Other layouts are
//! refused (`tree-process-group`).

use super::files::FileFacts;
use super::fmt::FileKind;
use super::plan::{fd_base_need, tree_state, TreeChild, PGID_INHERIT, PGID_OWN, TREE_CONTROL_FDS};
use super::reason::{Detail, Reason, Refusal};

/// One TREE record, as the rules need it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Proc {
    /// PID at dump.
    pub pid: u32,
    /// Index of its parent (the root: u32::MAX).
    pub parent: u32,
    /// Process group at dump.
    pub pgid: u32,
    /// Session at dump.
    pub sid: u32,
    /// `tree_state`.
    pub state: u64,
    /// A zombie's raw wait status.
    pub exit_status: u32,
    /// Its threads (a zombie: 0).
    pub threads: u32,
}

/// The direct children of `parent`, in tree order, as its stub forks them;
/// `each` gets them one by one.
pub fn children(procs: &[Proc], parent: usize, each: &mut dyn FnMut(TreeChild)) -> Result<(), Refusal> {
    let p = procs.get(parent).ok_or(Reason::MemberSelector)?;
    let mine = |i: &usize| procs.get(*i).is_some_and(|q| q.parent as usize == parent) && *i != parent;
    for ci in (0..procs.len()).filter(mine) {
        let c = &procs[ci];
        let refuse = Refusal::new(Reason::TreeProcessGroup, Detail::Limit { need: u64::from(c.pid), limit: u64::from(c.pgid) });
        let setsid = c.sid == c.pid && c.sid != p.sid;
        if !setsid && c.sid != p.sid {
            return Err(refuse);
        }
        let pgid = if setsid || (c.pgid == c.pid && c.pgid != p.pgid) {
            PGID_OWN
        } else if c.pgid == p.pgid {
            PGID_INHERIT
        } else {
            // An earlier sibling that leads the group: its slot.
            let is_leader = |&(_, s): &(usize, usize)| procs[s].pid == c.pgid && procs[s].pgid == procs[s].pid && procs[s].sid == c.sid;
            match (0..ci).filter(mine).enumerate().find(is_leader) {
                Some((k, _)) => k as u64,
                None => return Err(refuse),
            }
        };
        each(TreeChild { index: ci as u32, state: c.state, exit_status: c.exit_status, setsid, pgid, want_pid: c.pid });
    }
    Ok(())
}

/// RLIMIT_NPROC for the whole tree: every thread of every process and
/// every zombie is a task of the caller's user.
pub fn check_tree_nproc(procs: &[Proc], nproc: u64) -> Result<(), Refusal> {
    let need = procs.iter().map(|p| u64::from(if p.state == tree_state::ZOMBIE { 1 } else { p.threads.max(1) })).sum::<u64>();
    if need > nproc {
        return Err(Refusal::new(Reason::TreeExceedsRlimitNproc, Detail::Limit { need, limit: nproc }));
    }
    Ok(())
}

/// The tree's fd base, from each member's need (`fd_base_need`; the root's
/// with its 2 * `nr_objects` object ends; ckpt-restore's root adds one
/// above every fd it holds): above all, rounded up to 16. The objects'
/// fds, and the root stub's temporaries above them (one per object end,
/// at least the 4 control pipe ends), must lie below the caller's
/// RLIMIT_NOFILE.
pub fn tree_fd_base(needs: impl Iterator<Item = u64>, nr_objects: u64, nofile: u64) -> Result<u64, Refusal> {
    let base = needs.fold(TREE_CONTROL_FDS, u64::max).next_multiple_of(16);
    let ends = nr_objects.saturating_mul(2);
    let top = base.saturating_add(ends).saturating_add(ends.max(4));
    if top > nofile || top > super::plan::MAX_FD_BASE {
        return Err(Refusal::new(Reason::TreeFdBase, Detail::Limit { need: top, limit: nofile }));
    }
    Ok(base)
}

/// A member restored by a selector: its fd base must lie above all it
/// uses itself.
pub fn check_member_fd_base(image: &super::fmt::Image<'_>, fd_base: u64) -> Result<(), Refusal> {
    let need = fd_base_need(image, 0);
    if fd_base < need {
        return Err(Refusal::new(Reason::TreeFdBase, Detail::Limit { need, limit: fd_base }));
    }
    Ok(())
}

/// File type bits of a mode.
const S_IFMT: u32 = 0o170_000;

/// Whether an inherited fd with `facts` is what a tree object of `kind`
/// needs: a FIFO for a pipe, a socket for a socket pair, the same type of
/// file otherwise; eventfd, signalfd, timerfd (anonymous inodes) have no
/// type bits.
pub fn tree_object_fits(kind: FileKind, facts: &FileFacts) -> bool {
    let t = facts.mode & S_IFMT;
    match kind {
        FileKind::Pipe | FileKind::Fifo => t == 0o010_000,
        FileKind::UnixPair | FileKind::Socket | FileKind::TcpReset | FileKind::TcpRepair => t == 0o140_000,
        FileKind::Regular | FileKind::Memfd | FileKind::DeletedFile => t == 0o100_000,
        FileKind::Directory => t == 0o040_000,
        FileKind::CharDev => t == 0o020_000,
        FileKind::EventFd | FileKind::SignalFd | FileKind::TimerFd | FileKind::Inotify => t == 0,
        _ => false,
    }
}

/// Kinds of description the root creates once for the tree (an epoll
/// instance's interest list names fds of one process: refused).
pub fn tree_object_supported(kind: FileKind) -> Result<(), Refusal> {
    match kind {
        FileKind::Epoll | FileKind::Stdio => Err(Reason::TreeObjectUnsupported.into()),
        _ => Ok(()),
    }
}

/// The plan's state code of a TREE record's state.
pub fn state_code(s: super::fmt::TreeState) -> u64 {
    match s {
        super::fmt::TreeState::Running => tree_state::RUNNING,
        super::fmt::TreeState::Stopped => tree_state::STOPPED,
        super::fmt::TreeState::Zombie => tree_state::ZOMBIE,
    }
}

/// A TREE record as the rules need it; `threads` from its image.
pub fn proc_of(rec: &super::fmt::TreeProcess, threads: u32) -> Proc {
    Proc { pid: rec.pid, parent: rec.parent, pgid: rec.pgid, sid: rec.sid, state: state_code(rec.state), exit_status: rec.exit_status, threads }
}

/// fd slot of a tree object end: 2*object + (end == 2).
pub fn object_slot(object: u32, end: u32) -> u64 {
    2 * u64::from(object) + u64::from(end == 2)
}

/// Each end of each tree object that is an open file description once,
/// from the first process (tree order) that holds it: what the root's stub
/// creates. `images[i]` is process i's image (None: a zombie). A shared
/// epoll instance is refused.
pub fn object_ends<'i, 'a>(
    images: &'i [Option<super::fmt::Image<'a>>],
    each: &mut dyn FnMut(super::plan::ObjectEnd<'i, 'a>) -> Result<(), Refusal>,
) -> Result<(), Refusal> {
    let held_before = |k: usize, upto: usize, slot: u64| {
        images.iter().take(k + 1).enumerate().any(|(j, img)| {
            img.as_ref().is_some_and(|img| {
                let n = if j == k { upto } else { usize::MAX };
                img.tree_files().take(n).any(|t| object_slot(t.object, t.end) == slot)
            })
        })
    };
    for (k, img) in images.iter().enumerate() {
        let Some(img) = img else { continue };
        for (n, t) in img.tree_files().enumerate() {
            let slot = object_slot(t.object, t.end);
            if held_before(k, n, slot) {
                continue;
            }
            let file = img.file(t.file).ok_or(super::fmt::FormatError::BadTreeFile)?;
            tree_object_supported(file.kind)?;
            each(super::plan::ObjectEnd { slot, image: img, file, index: t.file })?;
        }
    }
    Ok(())
}

/// A member restored by a selector takes the objects it shares from the
/// inherited fds: each must be open with its kind (`facts` of an fd; None:
/// not open). Else `missing-tree-object`, detail the fd and object.
pub fn check_inherited_objects(
    image: &super::fmt::Image<'_>,
    fd_base: u64,
    facts: &mut dyn FnMut(u64) -> Option<FileFacts>,
) -> Result<(), Refusal> {
    for t in image.tree_files() {
        let fd = fd_base.saturating_add(object_slot(t.object, t.end));
        let fits = match (image.file(t.file), facts(fd)) {
            (Some(f), Some(got)) => tree_object_fits(f.kind, &got),
            _ => false,
        };
        if !fits {
            return Err(Refusal::new(Reason::MissingTreeObject, Detail::Limit { need: fd, limit: u64::from(t.object) }));
        }
    }
    // Shared memory: a memfd (regular) that holds the whole mapping.
    for t in image.tree_regions() {
        let fd = fd_base.saturating_add(object_slot(t.object, 0));
        let need = image.region(t.region).map(|r| r.file_offset.saturating_add(r.end.saturating_sub(r.start)));
        let fits = match (need, facts(fd)) {
            (Some(need), Some(got)) => got.mode & S_IFMT == 0o100_000 && got.size >= need,
            _ => false,
        };
        if !fits {
            return Err(Refusal::new(Reason::MissingTreeObject, Detail::Limit { need: fd, limit: u64::from(t.object) }));
        }
    }
    Ok(())
}

/// What decides PID-namespace mode (the contract's last point): the
/// caller is in a PID namespace other than the initial one, may choose
/// pids in it (CAP_SYS_ADMIN in the user namespace that owns it), and
/// every pid the tree's other processes had is free there. Then children
/// are created with their pids at dump (clone3 set_tid); else new pids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PidFacts {
    /// The caller's PID namespace is not the initial one.
    pub child_pid_namespace: bool,
    /// It has CAP_SYS_ADMIN over that namespace.
    pub may_set_pids: bool,
}

/// Whether the tree is restored with its pids (`pid_free`: no process has
/// that pid in the caller's namespace). Only when every pid is free: a
/// tree is never restored with some pids kept and others not.
pub fn set_pids(facts: PidFacts, procs: &[Proc], pid_free: &mut dyn FnMut(u32) -> bool) -> bool {
    facts.child_pid_namespace && facts.may_set_pids && procs.iter().skip(1).all(|p| pid_free(p.pid))
}

/// The shared anonymous memory objects (TREE_REGIONS) the root's stub
/// creates, each once, as a memfd as large as the furthest mapping of it:
/// `each(slot, size)`. Every process maps its regions of it from the
/// tree's fd (MAP_SHARED); the first one's stored pages are copied in
/// (ckpt-restore in its memory steps; the module defers those regions,
/// plan::defers, and the stub maps them after creating the objects). A
/// restorer that cannot (`share` false) and a shared file mapping are
/// refused.
pub fn region_objects(
    images: &[Option<super::fmt::Image<'_>>],
    share: bool,
    each: &mut dyn FnMut(u64, u64),
) -> Result<(), Refusal> {
    let end_of = |r: &super::fmt::Region| r.file_offset.saturating_add(r.end.saturating_sub(r.start));
    for (k, img) in images.iter().enumerate() {
        let Some(img) = img else { continue };
        for (n, t) in img.tree_regions().enumerate() {
            let r = img.region(t.region).ok_or(super::fmt::FormatError::BadTreeRegion)?;
            if !share || r.kind != super::fmt::RegionKind::Anon {
                return Err(Refusal::new(Reason::TreeObjectUnsupported, Detail::Region(t.region)));
            }
            let seen = images.iter().take(k + 1).enumerate().any(|(j, m)| {
                m.as_ref().is_some_and(|m| m.tree_regions().take(if j == k { n } else { usize::MAX }).any(|u| u.object == t.object))
            });
            if seen {
                continue;
            }
            let mut size = 0u64;
            for m in images.iter().flatten() {
                for u in m.tree_regions().filter(|u| u.object == t.object) {
                    if let Some(r) = m.region(u.region) {
                        size = size.max(end_of(&r));
                    }
                }
            }
            each(object_slot(t.object, 0), size);
        }
    }
    Ok(())
}
