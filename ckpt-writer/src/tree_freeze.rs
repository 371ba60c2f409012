//! Freezing a process with all its descendants: one consistent cut.
//!
//! The root is frozen first, then each frozen process's children (from
//! /proc/PID/task/*/children, every thread's), in tree order, each frozen
//! before its own children are listed: a frozen process forks no more, so
//! a child it was forking shows up in the next listing. The listing is
//! repeated over the whole tree until it finds nobody new. Zombies cannot
//! be attached to (nor run): they are recorded with their exit status from
//! /proc/PID/stat. A process that exits while being attached is listed
//! again (as the zombie it now is). Every `Frozen` detaches when dropped,
//! so a failed dump leaves every process running.

use image_format::TreeState;
use procfs::process::Process;

use crate::error::{Error, Result};
use crate::freeze::Frozen;

/// One process of the tree.
pub struct Member {
    pub pid: i32,
    /// Index of its parent in the tree (None for the root).
    pub parent: Option<usize>,
    pub pgid: i32,
    pub sid: i32,
    pub state: TreeState,
    /// A zombie's raw wait status.
    pub exit_status: u32,
    pub comm: String,
    /// Attached and stopped (None for a zombie).
    pub frozen: Option<Frozen>,
}

/// The children of every thread of `pid`, sorted.
pub fn children_of(pid: i32) -> Result<Vec<i32>> {
    let gone = || Error::TargetGone { pid, during: "listing its children".into() };
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|_| gone())?;
    let mut out = Vec::new();
    for t in tasks {
        let Ok(t) = t else { continue };
        let path = t.path().join("children");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            // The thread exited since the directory was read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && path.parent().is_some_and(|p| !p.exists()) => continue,
            Err(e) => return Err(Error::sys(format!("reading {} (CONFIG_PROC_CHILDREN)", path.display()), e)),
        };
        out.extend(text.split_whitespace().filter_map(|w| w.parse::<i32>().ok()));
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

struct Stat {
    state: char,
    pgid: i32,
    sid: i32,
    exit_code: u32,
    comm: String,
}

fn stat_of(pid: i32) -> Option<Stat> {
    let s = Process::new(pid).and_then(|p| p.stat()).ok()?;
    Some(Stat { state: s.state, pgid: s.pgrp, sid: s.session, exit_code: s.exit_code.unwrap_or(0) as u32, comm: s.comm })
}

/// Freezes `root` (already checked by `check_target`) and all its
/// descendants. The root is first, every parent before its children.
pub fn freeze_tree(root: i32) -> Result<Vec<Member>> {
    let st = stat_of(root).ok_or(Error::NoSuchProcess(root))?;
    let state = if st.state == 'T' { TreeState::Stopped } else { TreeState::Running };
    let frozen = Frozen::freeze(root)?;
    let mut members = vec![Member {
        pid: root,
        parent: None,
        pgid: st.pgid,
        sid: st.sid,
        state,
        exit_status: 0,
        comm: st.comm,
        frozen: Some(frozen),
    }];
    loop {
        let mut found = false;
        let mut i = 0;
        while i < members.len() {
            if members[i].frozen.is_none() {
                i += 1;
                continue;
            }
            for child in children_of(members[i].pid)? {
                if members.iter().any(|m| m.pid == child) {
                    continue;
                }
                if let Some(m) = attach(child, i)? {
                    found = true;
                    members.push(m);
                }
            }
            i += 1;
        }
        if !found {
            return Ok(members);
        }
    }
}

/// Attaches to `pid`, child of member `parent`; None if it is gone (reaped
/// by a parent that ran before it was frozen).
fn attach(pid: i32, parent: usize) -> Result<Option<Member>> {
    for _ in 0..2 {
        let Some(st) = stat_of(pid) else { return Ok(None) };
        let mut m = Member {
            pid,
            parent: Some(parent),
            pgid: st.pgid,
            sid: st.sid,
            state: TreeState::Running,
            exit_status: 0,
            comm: st.comm,
            frozen: None,
        };
        if st.state == 'Z' {
            m.state = TreeState::Zombie;
            m.exit_status = st.exit_code;
            return Ok(Some(m));
        }
        if st.state == 'T' {
            m.state = TreeState::Stopped;
        }
        match Frozen::freeze(pid) {
            Ok(f) => {
                m.frozen = Some(f);
                return Ok(Some(m));
            }
            // It exited between the stat and the attach: look again.
            Err(Error::TargetGone { .. } | Error::Zombie(_) | Error::NoSuchProcess(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::TargetGone { pid, during: "attaching to it as a process of the tree".into() })
}
