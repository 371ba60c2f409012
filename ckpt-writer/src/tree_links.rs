//! What the processes of a tree share: tree objects (FORMAT.md 11.).
//!
//! * Open file descriptions: fds of one inode in two processes are one
//!   description when kcmp(KCMP_FILE) says so (fork, SCM_RIGHTS); a
//!   description shared so becomes one object, recorded in each process
//!   (an fd that was to be reopened alone gets a FILES record for it).
//! * Pipes: every description of one pipe inode (its read and write ends)
//!   held by two or more processes is one object, ends 1 and 2.
//! * Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, a mapped memfd):
//!   regions of one shmem inode in two or more processes are one object;
//!   its pages are stored only by the first process (tree order).
//!
//! * Unix socket pairs: the two sockets of a pair held by two or more
//!   processes (an end each, or one end shared) are one object, ends 1
//!   (the lower inode) and 2; an end whose peer another process holds is
//!   recorded alone in its own image (fds.rs) and joined again here.
//! * Refused: an epoll instance two processes share.
//!
//! Objects are numbered in order of first appearance: tree order, then
//! FILES order, then REGIONS order, as the format requires.

use std::collections::HashMap;

use image_format::{FileKind, TreeFile, TreeRegion};
use procfs::process::{FDTarget, Process};

use crate::error::{Error, Result};
use crate::fds_shared::{inode_of, reopened, same_description_across};
use crate::snapshot::{FdDisposition, FdKind, Snapshot};

/// What the processes of a tree (`pids`) hold between them, from one
/// scan of their fds: the pipes whose read and write ends are both held
/// (recorded as pipes even on fds 0-2) and every socket inode (a unix
/// socket whose peer is one of them is joined to it again), both sorted.
pub fn tree_inodes(pids: &[i32]) -> Result<(Vec<u64>, Vec<u64>)> {
    // inode -> (a read end seen, a write end seen)
    let mut ends: HashMap<u64, (bool, bool)> = HashMap::new();
    let mut sockets = Vec::new();
    for &pid in pids {
        let fds = Process::new(pid)
            .and_then(|p| p.fd())
            .map_err(|_| Error::TargetGone { pid, during: "reading /proc/PID/fd".into() })?;
        for info in fds.flatten() {
            if let FDTarget::Socket(ino) = info.target {
                sockets.push(ino);
            }
            let FDTarget::Pipe(ino) = info.target else { continue };
            let flags = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", info.fd))
                .ok()
                .and_then(|t| t.lines().find_map(|l| l.strip_prefix("flags:")).and_then(|v| u32::from_str_radix(v.trim(), 8).ok()));
            let e = ends.entry(ino).or_default();
            match flags.map(|f| f & 3) {
                Some(0) => e.0 = true,
                Some(1) => e.1 = true,
                _ => {}
            }
        }
    }
    let mut pipes: Vec<u64> = ends.into_iter().filter(|(_, (r, w))| *r && *w).map(|(i, _)| i).collect();
    pipes.sort_unstable();
    sockets.sort_unstable();
    sockets.dedup();
    Ok((pipes, sockets))
}

/// The pair a unix socket (inode `ino`) belongs to, as sock_diag tells
/// its peer: the lower of the two inodes, and 1 if `ino` is it, else 2. A
/// socket whose peer had closed is a pair by itself (end 1).
fn pair_of(ino: u64) -> Option<(u64, u32)> {
    let peer = crate::fds_unix::query(ino).ok().map_or(0, |u| u64::from(u.peer));
    Some(match peer {
        0 => (ino, 1),
        p if ino < p => (ino, 1),
        p => (p, 2),
    })
}

/// A description one process holds: its FILES index (None: an fd to be
/// reopened alone), an fd that has it, its inode.
struct Held {
    member: usize,
    file: Option<u32>,
    fd: i32,
    ino: (u64, u64),
    pipe: bool,
    /// A unix socket pair end: the pair (its lower socket inode) and which
    /// end this is (1 the lower inode, 2 the higher).
    pair: Option<(u64, u32)>,
}

/// Tree links of each process (same order as `snaps`; None for a zombie).
pub struct Links {
    pub files: Vec<Vec<TreeFile>>,
    pub regions: Vec<Vec<TreeRegion>>,
    pub objects: u32,
}

/// Finds the tree objects of `snaps` (pids `pids`), turns reopened fds
/// that share a description with another process into FILES records and
/// drops the pages of shared regions after their first process.
pub fn link(pids: &[i32], snaps: &mut [Option<Snapshot>]) -> Result<Links> {
    let mut held = Vec::new();
    for (k, snap) in snaps.iter().enumerate() {
        let Some(snap) = snap else { continue };
        let pid = pids[k];
        let mut seen_files = Vec::new();
        for f in &snap.fds {
            let reopen = f.disposition == FdDisposition::Reopen;
            let shared = f.disposition == FdDisposition::Shared && !seen_files.contains(&f.file);
            if !reopen && !shared {
                continue;
            }
            let kind = if shared { snap.files[f.file as usize].kind } else { FileKind::Regular };
            // The caller's fds, and its terminal each process opens again.
            if kind == FileKind::Stdio || kind == FileKind::Terminal {
                continue;
            }
            if shared {
                seen_files.push(f.file);
            }
            let Some(ino) = inode_of(pid, f.fd) else { continue };
            let pair = if kind == FileKind::UnixPair { pair_of(ino.1) } else { None };
            held.push(Held { member: k, file: shared.then_some(f.file), fd: f.fd, ino, pipe: kind == FileKind::Pipe, pair });
        }
    }
    // Group: a pipe by inode, a unix pair by its two sockets; anything
    // else by description (kcmp).
    let mut group = vec![usize::MAX; held.len()];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..held.len() {
        let mut g = None;
        for (n, members) in groups.iter().enumerate() {
            let r = &held[members[0]];
            let h = &held[i];
            if let (Some(a), Some(b)) = (r.pair, h.pair) {
                if a.0 == b.0 {
                    g = Some(n);
                    break;
                }
                continue;
            }
            if r.ino != h.ino || r.pipe != h.pipe || r.pair.is_some() != h.pair.is_some() {
                continue;
            }
            if h.pipe || same_description_across(pids[r.member], r.fd, pids[h.member], h.fd)? {
                g = Some(n);
                break;
            }
        }
        let n = g.unwrap_or_else(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[n].push(i);
        group[i] = n;
    }
    // Groups held by two processes or more: the tree objects.
    let spanning: Vec<bool> = groups
        .iter()
        .map(|g| g.iter().any(|&i| held[i].member != held[g[0]].member))
        .collect();
    let spans = |n: usize| spanning[n];
    // Reopened fds shared with another process get a FILES record.
    for i in 0..held.len() {
        if held[i].file.is_some() || !spans(group[i]) {
            continue;
        }
        let snap = snaps[held[i].member].as_mut().expect("a live member");
        let f = snap.fds.iter_mut().find(|f| f.fd == held[i].fd).expect("its fd");
        let kind = match f.kind {
            FdKind::Directory => FileKind::Directory,
            FdKind::CharDev => FileKind::CharDev,
            _ => FileKind::Regular,
        };
        snap.files.push(reopened(kind, &f.path, f.flags, f.offset));
        f.disposition = FdDisposition::Shared;
        f.file = (snap.files.len() - 1) as u32;
        held[i].file = Some(f.file);
    }
    let mut links = Links { files: vec![Vec::new(); snaps.len()], regions: vec![Vec::new(); snaps.len()], objects: 0 };
    let mut object_of: HashMap<usize, u32> = HashMap::new();
    let mut regions_by_ino: HashMap<(u64, u64), (u32, usize, u64)> = HashMap::new();
    let shm = shared_regions(pids, snaps)?;
    for k in 0..snaps.len() {
        let Some(snap) = snaps[k].as_ref() else { continue };
        let mut mine: Vec<usize> = (0..held.len()).filter(|&i| held[i].member == k && spans(group[i])).collect();
        mine.sort_by_key(|&i| held[i].file);
        for i in mine {
            let file = held[i].file.expect("a FILES record");
            let f = &snap.files[file as usize];
            let what = match f.kind {
                FileKind::Epoll => Some("an epoll instance"),
                FileKind::PtyMaster | FileKind::PtySlave => Some("a pty master or slave"),
                _ => None,
            };
            if let Some(what) = what {
                return Err(Error::Unsupported(format!(
                    "fd {} of pid {} is {what} shared with another process of the tree (not supported yet; dump with --no-children)",
                    held[i].fd, pids[k]
                )));
            }
            let object = *object_of.entry(group[i]).or_insert_with(|| {
                links.objects += 1;
                links.objects - 1
            });
            let end = match (f.kind, held[i].pair) {
                (FileKind::Pipe, _) => 1 + (f.status_flags & 3),
                (FileKind::UnixPair, Some((_, end))) => end,
                _ => 0,
            };
            links.files[k].push(TreeFile { file, object, end });
        }
        for &(region, ino, len, held_by) in shm.iter().filter(|s| s.0 .0 == k).map(|s| &s.1) {
            if held_by < 2 {
                continue;
            }
            let first = regions_by_ino.entry(ino).or_insert_with(|| {
                links.objects += 1;
                (links.objects - 1, k, len)
            });
            if first.1 != k && first.2 != len {
                return Err(Error::Unsupported(format!(
                    "pid {} maps {} bytes of a shared memory object that pid {} maps {} bytes of (a partial mapping is not supported in a tree yet)",
                    pids[k], len, pids[first.1], first.2
                )));
            }
            links.regions[k].push(TreeRegion { region, object: first.0, end: 0 });
        }
    }
    // Pages of a shared object are stored once, by its first process.
    for (k, regs) in links.regions.iter().enumerate() {
        let Some(snap) = snaps[k].as_mut() else { continue };
        for r in regs {
            if regions_by_ino.values().any(|&(o, first, _)| o == r.object && first != k) {
                snap.regions[r.region as usize].runs.clear();
            }
        }
    }
    links.files.iter_mut().for_each(|v| v.sort_by_key(|t| t.file));
    Ok(links)
}

/// ((member, _), (region index, shmem inode, length, processes mapping it))
/// of every shared anonymous region of the tree.
type ShmRegion = ((usize, ()), (u32, (u64, u64), u64, usize));

fn shared_regions(pids: &[i32], snaps: &[Option<Snapshot>]) -> Result<Vec<ShmRegion>> {
    let mut out = Vec::new();
    // Memfds and deleted files mapped from an fd (MAPS_FILE): a process
    // that maps one without an fd would get a copy of its own.
    let mut mapped_fds: Vec<((u64, u64), i32)> = Vec::new();
    for (k, snap) in snaps.iter().enumerate() {
        let Some(snap) = snap else { continue };
        let pid = pids[k];
        let maps = Process::new(pid)
            .and_then(|p| p.maps())
            .map_err(|_| Error::TargetGone { pid, during: "reading /proc/PID/maps".into() })?;
        for (i, r) in snap.regions.iter().enumerate() {
            if r.maps_file.is_some() {
                if let Some(m) = maps.iter().find(|m| m.address.0 == r.start) {
                    mapped_fds.push(((((m.dev.0 as u64) << 32) | m.dev.1 as u64, m.inode), pid));
                }
            }
            if !r.shared_anon {
                continue;
            }
            let Some(m) = maps.iter().find(|m| m.address.0 == r.start) else { continue };
            if m.offset != 0 {
                return Err(Error::Unsupported(format!(
                    "pid {pid} maps shared memory at {:#x} from offset {:#x} of its object (not supported in a tree yet)",
                    r.start, m.offset
                )));
            }
            let ino = (((m.dev.0 as u64) << 32) | m.dev.1 as u64, m.inode);
            out.push(((k, ()), (i as u32, ino, r.end - r.start, 0)));
        }
    }
    let counts: Vec<usize> = out
        .iter()
        .map(|a| {
            let mut who: Vec<usize> = out.iter().filter(|b| b.1 .1 == a.1 .1).map(|b| b.0 .0).collect();
            who.dedup();
            who.len()
        })
        .collect();
    for (o, c) in out.iter_mut().zip(counts) {
        o.1 .3 = c;
    }
    for ((k, ()), (_, ino, _, _)) in &out {
        if let Some((_, holder)) = mapped_fds.iter().find(|m| m.0 == *ino) {
            return Err(Error::Unsupported(format!(
                "pid {} maps a memfd or deleted file without an fd of it that pid {holder} holds and maps (not supported in a tree yet)",
                pids[*k]
            )));
        }
    }
    Ok(out)
}
