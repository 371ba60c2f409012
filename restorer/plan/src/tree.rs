// SPDX-License-Identifier: GPL-2.0
//! Process trees (issue 15): the plan's tree block (plan.h, `struct
//! chkpt_plan_tree`), which restorer/stub/tree.c reads, and the selector
//! argv a child re-executes the image with. A child of plan.rs: same rules
//! (`core` only, no allocation, no panic), compiled by the module too.
//!
//! What the block holds is decided by the restore policy (rules/tree.rs:
//! sessions, groups, the fd base); this file only lays it out.

use super::{add, file, file_kind, files_size, mul, report_min, sockopts_len, write_file, File, Image, Layout, Out, PlanError, FILE_WORDS, KEEP};

/// argv[0] and argv[1] of a child that re-executes a tree image (twice:
/// binfmt_misc drops argv[0], and the module sees it).
pub const TREE_MARKER: &[u8] = b"ckpt-tree-member";
/// The control fds just below the fd base (plan.h CHKPT_TREE_*_FD).
pub const TREE_CONTROL_FDS: u64 = 5;
/// A child that stays in its parent's process group.
pub const PGID_INHERIT: u64 = !0;
/// A child in a group of its own.
pub const PGID_OWN: u64 = !1;
/// Highest fd base a selector may name: fds are ints, and the kernel's
/// fs.nr_open is at most 2^30.
pub const MAX_FD_BASE: u64 = 1 << 30;

/// Word indices in `struct chkpt_plan_tree`.
pub mod tree_word {
    #![allow(missing_docs)]
    pub const INDEX: usize = 0;
    pub const NR_PROCS: usize = 1;
    pub const FD_BASE: usize = 2;
    pub const IMAGE_FD: usize = 3;
    pub const NR_OBJECTS: usize = 4;
    pub const FILES_OFFSET: usize = 5;
    pub const CHILDREN_OFFSET: usize = 6;
    pub const NR_CHILDREN: usize = 7;
    pub const PDEATH_SIGNAL: usize = 8;
    pub const STOPPED: usize = 9;
    pub const SET_PIDS: usize = 10;
    /// The restorer children execute (`set_tree_restorer`), 0: the image.
    pub const RESTORER_OFFSET: usize = 11;
    /// Words in the block's head.
    pub const WORDS: usize = 12;
}

/// Word indices in `struct chkpt_plan_tree_child`.
pub mod tree_child {
    #![allow(missing_docs)]
    pub const INDEX: usize = 0;
    pub const STATE: usize = 1;
    pub const EXIT_STATUS: usize = 2;
    pub const SETSID: usize = 3;
    pub const PGID: usize = 4;
    pub const PID: usize = 5;
    pub const WANT_PID: usize = 6;
    /// Words per child.
    pub const WORDS: usize = 7;
}

/// `struct chkpt_plan_tree_child.state` (CHKPT_TREE_*).
pub mod tree_state {
    #![allow(missing_docs)]
    pub const RUNNING: u64 = 0;
    pub const STOPPED: u64 = 1;
    pub const ZOMBIE: u64 = 2;
}

/// What a selector names: restore member `index` of the tree image, whose
/// objects the caller holds from fd `fd_base` up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selector {
    /// Index in the root's TREE (never 0: the root is the image itself).
    pub index: u32,
    /// The tree's fd base.
    pub fd_base: u64,
}

/// A decimal number without sign, leading zero (but "0") or overflow.
fn number(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 10 || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    s.iter().try_fold(0u64, |v, &c| if c.is_ascii_digit() { Some(v * 10 + u64::from(c - b'0')) } else { None })
}

/// The selector in `args`, the arguments after the program (the module:
/// argv[1..]; ckpt-restore: after the image's path): `None` if `args`
/// does not start with [`TREE_MARKER`] (an ordinary restore: the caller's
/// arguments are ignored as always), `Some(Err)` if it does but is not
/// exactly `[marker, index, fd_base]` with an index >= 1 and a base in
/// range (refused: `member-selector`).
pub fn parse_selector(args: &[&[u8]]) -> Option<Result<Selector, ()>> {
    if args.first() != Some(&TREE_MARKER) {
        return None;
    }
    let [_, index, base] = args else { return Some(Err(())) };
    let sel = match (number(index), number(base)) {
        (Some(i), Some(b)) if (1..=u64::from(u32::MAX)).contains(&i) && (TREE_CONTROL_FDS..=MAX_FD_BASE).contains(&b) => {
            Selector { index: i as u32, fd_base: b }
        }
        _ => return Some(Err(())),
    };
    Some(Ok(sel))
}

/// The lowest fd base a restore of `image` leaves room for: above its fds,
/// the stub's temporaries (one per description, one per tree object end
/// it creates: `object_ends`) and the failure line's fd, plus the control
/// fds.
pub fn fd_base_need(image: &Image<'_>, object_ends: u64) -> u64 {
    let (nr_files, _, _) = files_size(image).unwrap_or((u64::from(u32::MAX), 0, 0));
    report_min(image)
        .saturating_add(nr_files.max(object_ends))
        .saturating_add(1 + TREE_CONTROL_FDS)
}

/// One process's part of the tree, as the stub uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeSelf {
    /// Its index in TREE (0: the root).
    pub index: u32,
    /// Processes in the tree (the root's barrier counts them).
    pub nr_procs: u32,
    /// The tree's fd base.
    pub fd_base: u64,
    /// The root: the restorer's fd of the image (the stub moves it for
    /// execveat); `KEEP` in a member.
    pub image_fd: u64,
    /// PR_SET_PDEATHSIG once all are ready.
    pub pdeath_signal: u32,
    /// Stops itself once all are ready.
    pub stopped: bool,
    /// PID-namespace mode: children are created with their pids at dump.
    pub set_pids: bool,
}

/// A direct child, in tree order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeChild {
    /// Its index in TREE.
    pub index: u32,
    /// `tree_state`.
    pub state: u64,
    /// A zombie's raw wait status.
    pub exit_status: u32,
    /// A session of its own.
    pub setsid: bool,
    /// `PGID_INHERIT`, `PGID_OWN`, or the position in the children (an
    /// earlier one) whose group it joins.
    pub pgid: u64,
    /// Its pid at dump (created with it in PID-namespace mode).
    pub want_pid: u32,
}

/// One end of a tree object the root creates: `slot` is 2*object +
/// (end == 2), `file` the description's record in `image`, the first
/// process in tree order that holds it.
#[derive(Clone, Copy)]
pub struct ObjectEnd<'i, 'a> {
    /// 2*object + (end == 2).
    pub slot: u64,
    /// The image holding the record.
    pub image: &'i Image<'a>,
    /// The record.
    pub file: File,
    /// Its index in the image's FILES (for its socket options).
    pub index: u32,
}

/// Name of the memfd a shared anonymous memory object becomes.
pub const SHARED_MEMORY_NAME: &[u8] = b"ckpt-tree-shared";

/// Bytes of the tree block: head, children, the object records (2 per
/// object: `nr_objects`), their paths and bytes (`ends`), and a name per
/// shared memory object (`nr_regions`).
pub fn tree_len(nr_children: usize, nr_objects: u64, ends: &[ObjectEnd<'_, '_>], nr_regions: usize) -> Result<u64, PlanError> {
    let mut bytes = mul(add(tree_word::WORDS as u64, mul(nr_children as u64, tree_child::WORDS as u64)?)?, 8)?;
    bytes = add(bytes, mul(mul(nr_objects, 2)?, FILE_WORDS as u64 * 8)?)?;
    for e in ends {
        bytes = add(bytes, add(u64::from(e.file.path.len), 1)?)?;
        bytes = add(bytes, add(e.image.file_data(&e.file).len() as u64, 8)?)?;
        bytes = add(bytes, sockopts_len(e.image, e.index))?;
    }
    add(bytes, mul(nr_regions as u64, SHARED_MEMORY_NAME.len() as u64 + 8)?)
}

/// Writes the tree block into a plan `super::write` made with
/// `layout_with_tree(.., tree_len(..))`: this process's part, its
/// children, the objects it creates (the root; `ends` by slot, a slot
/// absent is an end no process holds; `regions`: shared memory objects,
/// slot and size, each a memfd), and turns the descriptions of `image`
/// that are tree objects (`own`: FILES index and slot) into duplicates of
/// the tree's fds.
pub fn write_tree(
    layout: &Layout,
    out: &mut [u8],
    me: &TreeSelf,
    children: &[TreeChild],
    nr_objects: u64,
    ends: &[ObjectEnd<'_, '_>],
    regions: &[(u64, u64)],
    own: &[(u32, u64)],
) -> Result<(), PlanError> {
    if out.len() as u64 != layout.len || layout.tree == 0 || layout.tree_len != tree_len(children.len(), nr_objects, ends, regions.len())? {
        return Err(PlanError::WrongBufferLength);
    }
    let mut o = Out { buf: out, oob: false };
    let t = layout.tree;
    let w = |k: usize| t + 8 * k as u64;
    let children_at = w(tree_word::WORDS);
    let files_at = children_at + (children.len() * tree_child::WORDS * 8) as u64;
    let mut s = files_at + nr_objects * 2 * FILE_WORDS as u64 * 8;
    o.word((super::head::TREE_OFFSET * 8) as u64, t);
    o.word(w(tree_word::INDEX), u64::from(me.index));
    o.word(w(tree_word::NR_PROCS), u64::from(me.nr_procs));
    o.word(w(tree_word::FD_BASE), me.fd_base);
    o.word(w(tree_word::IMAGE_FD), me.image_fd);
    o.word(w(tree_word::NR_OBJECTS), nr_objects);
    o.word(w(tree_word::FILES_OFFSET), files_at);
    o.word(w(tree_word::CHILDREN_OFFSET), children_at);
    o.word(w(tree_word::NR_CHILDREN), children.len() as u64);
    o.word(w(tree_word::PDEATH_SIGNAL), u64::from(me.pdeath_signal));
    o.word(w(tree_word::STOPPED), u64::from(me.stopped));
    o.word(w(tree_word::SET_PIDS), u64::from(me.set_pids));
    for (i, c) in children.iter().enumerate() {
        let rec = children_at + (i * tree_child::WORDS * 8) as u64;
        let words = [u64::from(c.index), c.state, u64::from(c.exit_status), u64::from(c.setsid), c.pgid, 0, u64::from(c.want_pid)];
        for (k, v) in words.into_iter().enumerate() {
            o.word(rec + 8 * k as u64, v);
        }
    }
    for e in ends {
        if e.slot >= nr_objects * 2 {
            return Err(PlanError::WrongBufferLength);
        }
        // The two ends of a pipe or socket pair are one pipe2/socketpair.
        let other = e.slot ^ 1;
        let paired = matches!(e.file.kind, super::FileKind::Pipe | super::FileKind::UnixPair) && ends.iter().any(|x| x.slot == other);
        let rec = files_at + e.slot * FILE_WORDS as u64 * 8;
        s = write_file(e.image, &e.file, e.index, rec, if paired { other } else { KEEP }, &mut o, s);
        s = (s + 7) & !7;
    }
    for &(slot, size) in regions {
        if slot >= nr_objects * 2 {
            return Err(PlanError::WrongBufferLength);
        }
        let rec = files_at + slot * FILE_WORDS as u64 * 8;
        let w = |k: usize| rec + 8 * k as u64;
        o.word(w(file::KIND), file_kind::MEMFD);
        o.word(w(file::FLAGS), u64::from(super::oflag::RDWR));
        o.word(w(file::PATH_OFFSET), s);
        o.bytes(s, SHARED_MEMORY_NAME);
        s = (s + SHARED_MEMORY_NAME.len() as u64 + 8) & !7;
        o.word(w(file::PEER), KEEP);
        o.word(w(file::VALUE), size);
        o.word(w(file::TEMP), KEEP);
    }
    let files = layout.files;
    let rec_of = |i: u64| files + i * FILE_WORDS as u64 * 8;
    for &(index, slot) in own {
        if u64::from(index) >= layout.nr_files {
            return Err(PlanError::WrongBufferLength);
        }
        let rec = rec_of(u64::from(index));
        // An end whose peer is in this image too: the peer is its own
        // tree end (the writer names both), or now gone.
        if let Some(peer) = o.get(rec + 8 * file::PEER as u64).filter(|&p| p < layout.nr_files) {
            o.word(rec_of(peer) + 8 * file::PEER as u64, KEEP);
        }
        o.word(rec + 8 * file::KIND as u64, file_kind::DUP);
        // Only O_ASYNC stays: the stub sets it (with the owner this process
        // may be) through the fd the duplicate is placed at.
        let async_io = o.get(rec + 8 * file::FLAGS as u64).unwrap_or(0) & u64::from(super::super::fmt::records::file_owner::O_ASYNC);
        o.word(rec + 8 * file::FLAGS as u64, async_io);
        o.word(rec + 8 * file::PEER as u64, KEEP);
        o.word(rec + 8 * file::VALUE as u64, me.fd_base.saturating_add(slot));
    }
    if o.oob {
        return Err(PlanError::WrongBufferLength);
    }
    Ok(())
}

/// Has a tree process's stub start its children with `restorer` (ckpt-restore's
/// own path: `RESTORER /proc/self/fd/IMAGE_FD ckpt-tree-member INDEX FD_BASE`)
/// instead of executing the image, which needs the module or a binfmt_misc
/// entry. `restorer` must fit `layout.restorer_path_room` with its NUL.
pub fn set_tree_restorer(out: &mut [u8], layout: &Layout, restorer: &[u8]) -> Result<(), PlanError> {
    if out.len() as u64 != layout.len || layout.tree == 0 {
        return Err(PlanError::WrongBufferLength);
    }
    if restorer.is_empty() || restorer.contains(&0) || restorer.len() as u64 >= layout.restorer_path_room {
        return Err(PlanError::TooLarge);
    }
    let mut o = Out { buf: out, oob: false };
    o.bytes(layout.restorer_path, restorer);
    o.bytes(layout.restorer_path + restorer.len() as u64, &[0]);
    o.word(layout.tree + 8 * tree_word::RESTORER_OFFSET as u64, layout.restorer_path);
    if o.oob {
        return Err(PlanError::WrongBufferLength);
    }
    Ok(())
}
