//! Open file descriptors from /proc/PID/fd and /proc/PID/fdinfo.
//!
//! Recorded for reopening: regular files (path, flags, offset),
//! directories, and the memory character devices (/dev/null, /dev/zero,
//! /dev/full, /dev/random, /dev/urandom). Ttys, pipes and FIFOs on fds 0-2
//! are recorded as "inherited from the restoring caller". Pipes elsewhere
//! are recorded with their queued bytes (fds_shared.rs). Fds that share
//! one open file description share one FILES record; an fd that shares
//! the description of an inherited fd 0-2 duplicates the caller's fd.
//! Both ends of a unix socket pair are recorded with the bytes queued at
//! each (fds_unix.rs). Listening and bound sockets (TCP, UDP, unix,
//! netlink) are recorded with their address, connected TCP sockets are
//! refused, recorded reset or repaired (fds_sockets.rs), each socket with
//! its options (fds_sockopts.rs). eventfd, signalfd, epoll, timerfd,
//! memfd (fds_anon.rs), deleted files, inotify and named FIFOs have files
//! of their own. Everything else (other sockets and devices, terminals
//! beyond fds 0-2) fails the dump with the fd and its kind named, or with
//! --allow-unsupported is recorded as closed.

use std::os::unix::ffi::OsStrExt;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use procfs::process::{FDTarget, Process};

use image_format::v1::records::{file_owner, pipe_flags, unix_pair_flags, ANON_STATUS, MEMFD_STATUS, UNIX_PAIR_STATUS};
use image_format::{FileDesc, FileKind};

use crate::error::{Error, Result};
use crate::fds_anon;
use crate::fds_shared::{self, inode_of, PipeEnd};
use crate::fds_deleted;
use crate::fds_fifo;
use crate::fds_inotify;
use crate::fds_pty;
use crate::fds_sockets;
use crate::fds_unix::{self, UnixSocket};
use crate::snapshot::{FdDisposition, FdKind, FdState};

/// Character device majors of ttys: 4 (tty*, ttyS*), 5 (tty, console,
/// ptmx), 136-143 (pts).
fn is_tty_major(major: u32) -> bool {
    major == 4 || major == 5 || (136..=143).contains(&major)
}

/// Memory devices (major 1) that behave the same wherever reopened.
fn is_null_like(major: u32, minor: u32) -> bool {
    major == 1 && [3, 5, 7, 8, 9].contains(&minor)
}

/// `pos` and `flags` of /proc/PID/fdinfo/FD (procfs has no parser for it).
fn fdinfo(pid: i32, fd: i32) -> Result<(u64, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}"))
        .map_err(|_| Error::TargetGone { pid, during: format!("reading fdinfo of fd {fd}") })?;
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
    let pos = field("pos:").and_then(|v| v.parse().ok());
    let flags = field("flags:").and_then(|v| u32::from_str_radix(v, 8).ok());
    match (pos, flags) {
        (Some(p), Some(f)) => Ok((p, f)),
        _ => Err(Error::sys(format!("parsing /proc/{pid}/fdinfo/{fd}"), std::io::ErrorKind::InvalidData)),
    }
}

/// What the dump records of the target's fds.
pub struct FdTable {
    /// Every fd, sorted by number.
    pub fds: Vec<FdState>,
    /// The open file descriptions that shared fds refer to.
    pub files: Vec<FileDesc>,
    /// What the dump summary says about them (pipe ends whose peer is gone).
    pub notes: Vec<String>,
}

/// What the processes of a tree being dumped hold between them
/// (tree_links.rs `tree_inodes`); empty for a process dumped alone.
#[derive(Clone, Copy, Default)]
pub struct TreeFds<'a> {
    /// Pipes both of whose ends the tree holds, sorted: recorded as pipes
    /// even on fds 0-2.
    pub pipes: &'a [u64],
    /// The tree's live processes, which may own a description's signals.
    pub members: &'a [i32],
    /// Every socket inode the tree holds, sorted: a unix socket whose peer
    /// is one of them is recorded alone and joined to it by its tree object.
    pub sockets: &'a [u64],
}

/// One fd as first read, before its description is known.
struct Seen {
    state: FdState,
    /// What the fd's kind allows: reopen, inherit, a description of its
    /// own (pipes), or why it is unsupported.
    allowed: std::result::Result<FdDisposition, String>,
    inode: Option<(u64, u64)>,
    /// eventfd, signalfd, epoll or timerfd.
    anon: Option<fds_anon::Anon>,
    /// A unix socket, as sock_diag describes it.
    unix: Option<UnixSocket>,
    /// A bound socket or TCP connection, as recorded.
    sock: Option<fds_sockets::Recorded>,
    /// A regular file deleted while open (fds_deleted.rs).
    deleted: bool,
    /// An inotify instance (fds_inotify.rs).
    inotify: bool,
    /// A named FIFO beyond fds 0-2 (fds_fifo.rs).
    fifo: bool,
    /// O_ASYNC in its status flags.
    async_io: bool,
    /// A terminal recorded as the caller's or as part of a pty pair
    /// (fds_pty.rs).
    tty: Option<fds_pty::Role>,
}

/// Reads every fd of `pid` and the open file descriptions they share.
/// A pipe among `tree_pipes` (both of its ends are held by processes of
/// the tree being dumped) on fds 0-2 is recorded with its description, as
/// elsewhere, not inherited from the restoring caller: the tree's restore
/// recreates it between its processes (`sh -c 'a | b'`).
pub fn read_fds_in(pid: i32, allow_unsupported: bool, tree: TreeFds<'_>) -> Result<FdTable> {
    let proc = Process::new(pid).map_err(|_| Error::TargetGone { pid, during: "reading fds".into() })?;
    let iter = proc.fd().map_err(|_| Error::TargetGone { pid, during: "reading /proc/PID/fd".into() })?;
    let mut seen = Vec::new();
    for info in iter {
        let Ok(info) = info else { continue };
        let fd = info.fd;
        let (offset, raw_flags) = fdinfo(pid, fd)?;
        let cloexec = raw_flags & libc::O_CLOEXEC as u32 != 0;
        // Signal-driven I/O is the description's, recorded with its owner
        // once the description is known (`record_owners`).
        let async_io = raw_flags & file_owner::O_ASYNC != 0;
        let flags = raw_flags & !(libc::O_CLOEXEC as u32 | file_owner::O_ASYNC);
        let stdio = (0..=2).contains(&fd);
        let in_tree = matches!(info.target, FDTarget::Pipe(ino) if tree.pipes.binary_search(&ino).is_ok());
        let (kind, disposition, path, why) = classify(pid, fd, &info.target, stdio && !in_tree);
        let anon = match &info.target {
            FDTarget::AnonInode(name) => fds_anon::Anon::of(name.trim_matches(['[', ']'])),
            FDTarget::MemFD(name) => Some(fds_anon::Anon::Memfd(memfd_name(name))),
            _ => None,
        };
        let mut unix = None;
        let mut sock = None;
        let fifo = matches!(info.target, FDTarget::Path(_)) && kind == FdKind::Pipe && disposition == Some(FdDisposition::Shared);
        let deleted = matches!(info.target, FDTarget::Path(_)) && disposition == Some(FdDisposition::Shared) && !fifo;
        let inotify = matches!(&info.target, FDTarget::AnonInode(n) if n.trim_matches(['[', ']']) == "inotify");
        let allowed = match (&info.target, disposition) {
            // On fds 0-2 a socket is the caller's, like a pipe or a
            // terminal there: a service's stdout to the journal, inetd's
            // connection, a CI runner's log stream.
            (FDTarget::Socket(_), _) if stdio => Ok(FdDisposition::Inherit),
            (FDTarget::Socket(ino), _) => {
                // Unix sockets connected in pairs here, bound sockets and
                // TCP connections in fds_sockets.rs.
                let copy = fds_shared::copy_of_fd(pid, fd)?;
                let diag = match fds_sockets::is_unix(&copy) {
                    Ok(true) => Some(fds_unix::query(*ino)),
                    Ok(false) => None,
                    Err(why) => Some(Err(why)),
                };
                match diag {
                    Some(Ok(s)) if !fds_sockets::unix_is_bound_kind(&s) && flags & !UNIX_PAIR_STATUS != 0 => {
                        unix = Some(s);
                        Err(format!("a unix socket (socket:[{ino}]) with status flags {flags:o}"))
                    }
                    Some(Ok(s)) if !fds_sockets::unix_is_bound_kind(&s) => {
                        unix = Some(s);
                        Ok(FdDisposition::Shared)
                    }
                    Some(Err(why)) => Err(format!("a socket (socket:[{ino}]): {why}")),
                    diag => match fds_sockets::record(fd, &copy, flags, diag.and_then(|d| d.ok()).as_ref()) {
                        Ok(r) => {
                            sock = Some(r);
                            Ok(FdDisposition::Shared)
                        }
                        Err(why) => Err(format!("{why} (socket:[{ino}])")),
                    },
                }
            }
            (_, _) if inotify => Ok(FdDisposition::Shared),
            (_, disposition) => match disposition {
            Some(FdDisposition::Shared) if deleted || fifo => Ok(FdDisposition::Shared),
            Some(FdDisposition::Shared) if matches!(anon, Some(fds_anon::Anon::Memfd(_))) && flags & !MEMFD_STATUS != 0 => {
                Err(format!("a memfd with status flags {flags:o}"))
            }
            Some(FdDisposition::Shared) if anon.is_some() && !matches!(anon, Some(fds_anon::Anon::Memfd(_))) && flags & !ANON_STATUS != 0 => {
                Err(format!("an anonymous inode with status flags {flags:o}"))
            }
            Some(FdDisposition::Shared) if anon.is_none() && flags & !pipe_flags::STATUS != 0 => {
                Err(format!("a pipe with status flags {flags:o} (packet mode, O_DIRECT, is not supported)"))
            }
            Some(d) => Ok(d),
            None => Err(why),
            },
        };
        let state = FdState { fd, kind, disposition: FdDisposition::Closed, flags, offset, path, cloexec, file: 0 };
        seen.push(Seen { state, allowed, inode: inode_of(pid, fd), anon, unix, sock, deleted, inotify, fifo, async_io, tty: None });
    }
    // A unix socket is recorded as one end of a pair the process holds;
    // connected to a socket outside the process, as a datagram socket
    // connected again by its peer's name, or (--tcp-established=reset) as
    // an end whose peer is gone.
    let held: Vec<u64> = seen.iter().filter(|s| s.unix.is_some()).filter_map(|s| s.inode.map(|(_, i)| i)).collect();
    // Sockets whose peer another process of the tree holds.
    let mut tree_peered = Vec::new();
    let mut reset_notes = Vec::new();
    for s in seen.iter_mut() {
        let (Some(u), Some((_, ino)), Ok(_)) = (&mut s.unix, s.inode, &s.allowed) else { continue };
        if u.connected && !held.contains(&u64::from(u.peer)) && tree.sockets.binary_search(&u64::from(u.peer)).is_ok() {
            // Its peer is another process's of the tree: recorded as an end
            // of its own, which the tree's object joins to that peer again
            // (tree_links.rs), as a pipe end whose other end is elsewhere.
            u.peer = 0;
            tree_peered.push(ino);
        }
        match fds_unix::outside(u, &held) {
            Some(fds_unix::Outside::Datagram) => {
                let fd = s.state.fd;
                let copy = fds_shared::copy_of_fd(pid, fd)?;
                s.allowed = match fds_sockets::record(fd, &copy, s.state.flags, Some(u)) {
                    Ok(r) => {
                        s.sock = Some(r);
                        Ok(FdDisposition::Shared)
                    }
                    Err(why) => Err(format!("{why} (socket:[{ino}])")),
                };
                s.unix = None;
                continue;
            }
            Some(fds_unix::Outside::Stream) if fds_sockets::reset_established() => {
                reset_notes.push(format!(
                    "fd {}: a unix socket connected to socket:[{}] outside the process is restored with its peer gone (end of file, then EPIPE)",
                    s.state.fd, u.peer
                ));
                u.peer = 0;
            }
            _ => {}
        }
        if let Some(why) = fds_unix::refusal(ino, u, &held) {
            s.allowed = Err(why);
        }
    }
    seen.sort_by_key(|s| s.state.fd);
    // Terminals: the caller's beyond fds 0-2, pty pairs (fds_pty.rs).
    let at: Vec<usize> = (0..seen.len()).filter(|&i| seen[i].state.kind == FdKind::Tty).collect();
    let ttys: Vec<fds_pty::TtyFd> = at
        .iter()
        .map(|&i| {
            let s = &seen[i];
            let path = String::from_utf8_lossy(&s.state.path).into_owned();
            fds_pty::TtyFd { fd: s.state.fd, inherited: s.allowed == Ok(FdDisposition::Inherit), flags: s.state.flags, path }
        })
        .collect();
    for (&i, role) in at.iter().zip(fds_pty::roles(pid, &ttys)) {
        match role {
            None => {}
            Some(Ok(r)) => {
                seen[i].allowed = Ok(FdDisposition::Shared);
                seen[i].tty = Some(r);
            }
            Some(Err(why)) => seen[i].allowed = Err(why),
        }
    }
    let groups = group_by_description(pid, &seen)?;

    let mut table = FdTable { fds: Vec::new(), files: Vec::new(), notes: Vec::new() };
    let mut ends = Vec::new();
    let mut epoll_inos = Vec::new();
    // (index in `seen`, index in `ends`) of the fds that share a pipe end.
    let mut on_pipe: Vec<(usize, usize)> = Vec::new();
    // Unix pair ends: (index in `seen` of the first fd, the group).
    let mut unix_ends: Vec<(usize, &Vec<usize>)> = Vec::new();
    let mut out: Vec<FdState> = seen.iter().map(|s| s.state.clone()).collect();
    let mut sock_notes = Vec::new();
    let mut pty_groups: Vec<&Vec<usize>> = Vec::new();
    for g in &groups {
        let first = &seen[g[0]];
        let inherited = g.iter().find(|&&i| seen[i].allowed == Ok(FdDisposition::Inherit));
        if let Some(&at) = inherited {
            // Shares the caller's fd 0-2: fds beyond it become duplicates
            // of the caller's fd there (`exec 3>&1`).
            let mut file = None;
            for &i in g {
                if seen[i].allowed == Ok(FdDisposition::Inherit) {
                    out[i].disposition = FdDisposition::Inherit;
                    continue;
                }
                let index = *file.get_or_insert_with(|| {
                    table.files.push(fds_shared::stdio(seen[at].state.fd));
                    table.files.len() - 1
                });
                out[i].disposition = FdDisposition::Shared;
                out[i].file = index as u32;
            }
            continue;
        }
        match &first.allowed {
            Ok(FdDisposition::Reopen) if g.len() == 1 => out[g[0]].disposition = FdDisposition::Reopen,
            Ok(FdDisposition::Reopen) => {
                let kind = match first.state.kind {
                    FdKind::Directory => FileKind::Directory,
                    FdKind::CharDev => FileKind::CharDev,
                    _ => FileKind::Regular,
                };
                let s = &first.state;
                table.files.push(fds_shared::reopened(kind, &s.path, s.flags, s.offset));
                for &i in g {
                    out[i].disposition = FdDisposition::Shared;
                    out[i].file = (table.files.len() - 1) as u32;
                }
            }
            Ok(FdDisposition::Shared) if first.anon.is_some() => {
                let (file, inos) = fds_anon::describe(pid, first.state.fd, first.anon.clone(), first.state.flags, first.state.offset)?;
                table.files.push(file);
                if !inos.is_empty() {
                    epoll_inos.push((table.files.len() - 1, inos));
                }
                for &i in g {
                    out[i].disposition = FdDisposition::Shared;
                    out[i].file = (table.files.len() - 1) as u32;
                }
            }
            Ok(FdDisposition::Shared) if first.unix.is_some() => unix_ends.push((g[0], g)),
            Ok(FdDisposition::Shared) if matches!(first.tty, Some(fds_pty::Role::Caller(_))) => {
                let Some(fds_pty::Role::Caller(f)) = &first.tty else { unreachable!() };
                table.files.push(f.clone());
                for &i in g {
                    out[i].disposition = FdDisposition::Shared;
                    out[i].file = (table.files.len() - 1) as u32;
                    out[i].path.clear();
                }
            }
            Ok(FdDisposition::Shared) if first.tty.is_some() => pty_groups.push(g),
            Ok(FdDisposition::Shared) if first.inotify => {
                table.files.push(fds_inotify::describe(pid, first.state.fd, first.state.flags)?);
                for &i in g {
                    out[i].disposition = FdDisposition::Shared;
                    out[i].file = (table.files.len() - 1) as u32;
                }
            }
            Ok(FdDisposition::Shared) if first.fifo => {
                let s = &first.state;
                table.files.push(fds_fifo::describe(pid, s.fd, &s.path, s.flags)?);
                for &i in g {
                    out[i].disposition = FdDisposition::Shared;
                    out[i].file = (table.files.len() - 1) as u32;
                    out[i].path.clear();
                }
            }
            Ok(FdDisposition::Shared) if first.deleted => {
                let s = &first.state;
                table.files.push(fds_deleted::describe(pid, s.fd, &s.path, s.flags, s.offset)?);
                for &i in g {
                    out[i].disposition = FdDisposition::Shared;
                    out[i].file = (table.files.len() - 1) as u32;
                    out[i].path.clear();
                }
            }
            Ok(FdDisposition::Shared) if first.sock.is_some() => {
                let r = first.sock.as_ref().expect("a socket");
                table.files.push(r.file.clone());
                sock_notes.extend(r.note.clone());
                for &i in g {
                    out[i].disposition = FdDisposition::Shared;
                    out[i].file = (table.files.len() - 1) as u32;
                }
            }
            Ok(FdDisposition::Shared) => {
                let ino = first.inode.map_or(0, |(_, ino)| ino);
                ends.push(PipeEnd { ino, fd: first.state.fd, flags: first.state.flags });
                for &i in g {
                    out[i].disposition = FdDisposition::Shared;
                    on_pipe.push((i, ends.len() - 1));
                }
            }
            Ok(_) => {}
            Err(why) if allow_unsupported => {
                let _ = why;
                for &i in g {
                    out[i].disposition = FdDisposition::Closed;
                    out[i].path.clear();
                }
            }
            Err(why) => {
                return Err(Error::Unsupported(format!(
                    "fd {} is {why}; use --allow-unsupported to record it as closed",
                    first.state.fd
                )))
            }
        }
    }
    let pipes = fds_shared::number(pid, &ends)?;
    let base = table.files.len();
    for (i, end) in on_pipe {
        out[i].file = (base + pipes.index[end]) as u32;
    }
    table.files.extend(pipes.files);
    table.notes = pipes.notes;
    table.notes.extend(sock_notes);
    table.notes.extend(reset_notes);
    number_unix_pairs(pid, &seen, &unix_ends, &tree_peered, &mut table.files, &mut table.notes, &mut out)?;
    number_ptys(&seen, &pty_groups, &mut table.files, &mut out)?;
    fds_anon::check_epoll_targets(&mut table.files, epoll_inos, &out, &|fd| seen.iter().find(|s| s.state.fd == fd).and_then(|s| s.inode), &mut table.notes)?;
    record_owners(pid, &seen, &out, &mut table.files, tree.members)?;
    table.fds = out;
    Ok(table)
}

/// F_GETOWN_EX types and the fcntl commands that read a description's
/// signal-driven I/O (not in the libc crate for glibc targets).
const F_GETSIG: i32 = 11;
const F_GETOWN_EX: i32 = 16;

/// Records O_ASYNC and the signal owner of each description that can
/// signal (pipes, FIFOs, sockets), once per description, from the first
/// fd that has it. An owner must be the process itself, its process
/// group, or (`members`) another process of the tree being dumped, which
/// restores it; else the dump is refused, naming the fd.
fn record_owners(pid: i32, seen: &[Seen], out: &[FdState], files: &mut [FileDesc], members: &[i32]) -> Result<()> {
    let mut done = vec![false; files.len()];
    for (s, o) in seen.iter().zip(out) {
        let Some(f) = files.get_mut(o.file as usize).filter(|_| o.disposition == FdDisposition::Shared) else { continue };
        if !file_owner::signals(f.kind) || std::mem::replace(&mut done[o.file as usize], true) {
            continue;
        }
        let fd = s.state.fd;
        let copy = fds_shared::copy_of_fd(pid, fd)?;
        let mut owner = [0 as libc::c_int; 2];
        // SAFETY: F_GETOWN_EX writes one struct f_owner_ex (two ints) to the pointer.
        let rc = unsafe { libc::fcntl(copy.as_raw_fd(), F_GETOWN_EX, owner.as_mut_ptr()) };
        // SAFETY: F_GETSIG takes no argument.
        let sig = unsafe { libc::fcntl(copy.as_raw_fd(), F_GETSIG) };
        if rc < 0 || sig < 0 {
            return Err(Error::sys(format!("reading the signal owner of fd {fd} of pid {pid}"), std::io::Error::last_os_error()));
        }
        let (kind, who) = (owner[0] as u64, owner[1]);
        let pgid = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid))).map_or(0, |p| p.as_raw());
        let ok = match kind {
            _ if who == 0 => true,
            file_owner::PGRP => who == pgid,
            file_owner::PID => who == pid || members.contains(&who),
            // A thread: the one the restore enters with, the leader.
            file_owner::TID => who == pid || members.contains(&who),
            _ => false,
        };
        if !ok {
            let whom = if kind == file_owner::PGRP { format!("process group {who}") } else { format!("pid {who}") };
            return Err(Error::Unsupported(format!(
                "fd {fd} sends its I/O signals (F_SETOWN) to {whom}, which is not in the dump (only the process itself, its group or a process of the tree dumped are recorded)"
            )));
        }
        let kind = if who == 0 { file_owner::TID } else { kind };
        f.owner = file_owner::encode(who.max(0) as u32, kind, sig as u64);
        if s.async_io {
            f.status_flags |= file_owner::O_ASYNC;
        }
    }
    Ok(())
}

/// Numbers the unix socket pairs 1, 2, ... by first fd and records both
/// ends of each, one after the other, with the bytes queued at each.
fn number_unix_pairs(
    pid: i32,
    seen: &[Seen],
    ends: &[(usize, &Vec<usize>)],
    tree_peered: &[u64],
    files: &mut Vec<FileDesc>,
    notes: &mut Vec<String>,
    out: &mut [FdState],
) -> Result<()> {
    let ino = |i: usize| seen[i].inode.map_or(0, |(_, ino)| ino);
    for &(first, _) in ends {
        if seen[first].unix.as_ref().is_some_and(fds_unix::accepted) {
            notes.push(format!(
                "fd {}: a connection a named unix listener accepted is restored without the listener's name (getsockname gives an unnamed address)",
                seen[first].state.fd
            ));
        }
    }
    let mut done = vec![false; ends.len()];
    let mut pair = 0;
    for a in 0..ends.len() {
        if done[a] {
            continue;
        }
        let (first, group) = ends[a];
        let unix = seen[first].unix.as_ref().expect("a unix end");
        if fds_unix::peer_gone(unix) {
            // A pair of its own, the other end closed at restore.
            done[a] = true;
            pair += 1;
            let s = &seen[first];
            let mut f = fds_unix::end(pid, s.state.fd, unix, s.state.flags, pair)?;
            f.kind_flags |= unix_pair_flags::PEER_GONE;
            let tree_peer = s.inode.is_some_and(|(_, i)| tree_peered.contains(&i));
            if !tree_peer {
                notes.push(format!(
                "fd {}: unix socket whose peer had closed: restored so, with its {} queued bytes, then end of file",
                s.state.fd,
                f.data.0.len()
                ));
            }
            files.push(f);
            for &k in group {
                out[k].disposition = FdDisposition::Shared;
                out[k].file = (files.len() - 1) as u32;
            }
            continue;
        }
        let peer_ino = u64::from(unix.peer);
        let Some(b) = (0..ends.len()).find(|&b| !done[b] && b != a && ino(ends[b].0) == peer_ino) else {
            return Err(Error::Unsupported(format!(
                "fd {} is a unix socket whose peer socket:[{peer_ino}] is not recorded",
                seen[first].state.fd
            )));
        };
        pair += 1;
        for e in [a, b] {
            done[e] = true;
            let (i, group) = ends[e];
            let s = &seen[i];
            let unix = s.unix.as_ref().expect("a unix end");
            files.push(fds_unix::end(pid, s.state.fd, unix, s.state.flags, pair)?);
            for &k in group {
                out[k].disposition = FdDisposition::Shared;
                out[k].file = (files.len() - 1) as u32;
            }
        }
    }
    Ok(())
}

/// Numbers the pty pairs 1, 2, ... by the master's first fd and records
/// each master, then each open of its slave the process holds.
fn number_ptys(seen: &[Seen], groups: &[&Vec<usize>], files: &mut Vec<FileDesc>, out: &mut [FdState]) -> Result<()> {
    let mut pty = 0;
    let mut placed = vec![false; groups.len()];
    let place = |files: &mut Vec<FileDesc>, g: &Vec<usize>, f: FileDesc, out: &mut [FdState]| {
        files.push(f);
        for &i in g {
            out[i].disposition = FdDisposition::Shared;
            out[i].file = (files.len() - 1) as u32;
            out[i].path.clear();
        }
    };
    for (n, g) in groups.iter().enumerate() {
        let Some(fds_pty::Role::Master(master)) = &seen[g[0]].tty else { continue };
        pty += 1;
        placed[n] = true;
        let mut f = master.clone();
        f.pipe = pty;
        place(files, g, f, out);
        let fds: Vec<i32> = g.iter().map(|&i| seen[i].state.fd).collect();
        for (k, sg) in groups.iter().enumerate() {
            if matches!(&seen[sg[0]].tty, Some(fds_pty::Role::Slave(m)) if fds.contains(m)) {
                placed[k] = true;
                let mut f = fds_pty::slave(seen[sg[0]].state.flags);
                f.pipe = pty;
                place(files, sg, f, out);
            }
        }
    }
    if let Some(k) = placed.iter().position(|p| !p) {
        return Err(fds_pty::unsupported(seen[groups[k][0]].state.fd, "a pty slave whose master is not recorded"));
    }
    Ok(())
}

/// The name memfd_create was given, from the link's "NAME (deleted)".
fn memfd_name(link: &str) -> Vec<u8> {
    link.strip_suffix(" (deleted)").unwrap_or(link).as_bytes().to_vec()
}

/// Groups the fds (indices into `seen`, sorted by fd) by open file
/// description: same inode, then kcmp.
fn group_by_description(pid: i32, seen: &[Seen]) -> Result<Vec<Vec<usize>>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    'fds: for (i, s) in seen.iter().enumerate() {
        if s.inode.is_some() {
            for g in groups.iter_mut() {
                let rep = &seen[g[0]];
                if rep.inode == s.inode && fds_shared::same_description(pid, rep.state.fd, s.state.fd)? {
                    g.push(i);
                    continue 'fds;
                }
            }
        }
        groups.push(vec![i]);
    }
    Ok(groups)
}

/// Whether the target's `fd` is a POSIX message queue (mq_open: a file
/// of the mqueue file system, whose path the fd link shows relative to it).
fn is_mqueue(pid: i32, fd: i32) -> bool {
    const MQUEUE_MAGIC: i64 = 0x1980_0202;
    nix::sys::statfs::statfs(format!("/proc/{pid}/fd/{fd}").as_str()).is_ok_and(|s| s.filesystem_type().0 as i64 == MQUEUE_MAGIC)
}

/// Kind, disposition (None: unsupported), path and a description.
fn classify(pid: i32, fd: i32, target: &FDTarget, stdio: bool) -> (FdKind, Option<FdDisposition>, Vec<u8>, String) {
    let inherit = |_kind: FdKind| if stdio { Some(FdDisposition::Inherit) } else { None };
    match target {
        FDTarget::Path(p) => {
            let bytes = p.as_os_str().as_bytes().to_vec();
            let shown = p.display().to_string();
            let Ok(md) = std::fs::metadata(format!("/proc/{pid}/fd/{fd}")) else {
                return (FdKind::Other, None, bytes, format!("{shown} (cannot stat it)"));
            };
            let ft = md.file_type();
            if ft.is_file() && is_mqueue(pid, fd) {
                // Its path is in the mqueue file system, which a reopen
                // by path would look for on / instead (and unlinked, it is
                // no deleted file to recreate either).
                return (FdKind::Regular, None, bytes, format!("a POSIX message queue ({shown}), which an image does not record yet"));
            }
            if md.nlink() == 0 && ft.is_file() {
                // Recorded with its contents (fds_deleted.rs).
                return (FdKind::Regular, Some(FdDisposition::Shared), bytes, format!("a deleted file ({shown})"));
            }
            if md.nlink() == 0 && !ft.is_char_device() && !ft.is_fifo() {
                return (FdKind::Regular, None, bytes, format!("a deleted file ({shown})"));
            }
            if ft.is_file() {
                (FdKind::Regular, Some(FdDisposition::Reopen), bytes, shown)
            } else if ft.is_dir() {
                (FdKind::Directory, Some(FdDisposition::Reopen), bytes, shown)
            } else if ft.is_char_device() {
                let (major, minor) = (libc::major(md.rdev()), libc::minor(md.rdev()));
                if is_tty_major(major) {
                    (FdKind::Tty, inherit(FdKind::Tty), bytes, format!("a terminal ({shown}) beyond fds 0-2"))
                } else if is_null_like(major, minor) {
                    (FdKind::CharDev, Some(FdDisposition::Reopen), bytes, shown)
                } else {
                    (FdKind::CharDev, None, bytes, format!("the character device {shown}"))
                }
            } else if ft.is_fifo() && stdio {
                (FdKind::Pipe, inherit(FdKind::Pipe), bytes, shown)
            } else if ft.is_fifo() && md.nlink() == 0 {
                (FdKind::Pipe, None, bytes, format!("a FIFO ({shown}) whose path was removed"))
            } else if ft.is_fifo() {
                // Opened again by path (fds_fifo.rs).
                (FdKind::Pipe, Some(FdDisposition::Shared), bytes, format!("a FIFO ({shown})"))
            } else {
                (FdKind::Other, None, bytes, format!("{shown} (a block device or socket file)"))
            }
        }
        // A pipe on fds 0-2 is the caller's (`./saved.ckpt | less`);
        // elsewhere it is recorded with its description.
        FDTarget::Pipe(ino) => {
            let d = if stdio { FdDisposition::Inherit } else { FdDisposition::Shared };
            (FdKind::Pipe, Some(d), Vec::new(), format!("a pipe (pipe:[{ino}])"))
        }
        FDTarget::Socket(ino) => (FdKind::Socket, None, Vec::new(), format!("a socket (socket:[{ino}])")),
        FDTarget::Net(ino) => (FdKind::Socket, None, Vec::new(), format!("a network namespace (net:[{ino}])")),
        FDTarget::AnonInode(name) => {
            let name = name.trim_matches(['[', ']']);
            let d = fds_anon::Anon::of(name).map(|_| FdDisposition::Shared);
            (FdKind::Other, d, Vec::new(), format!("an anonymous inode ({name})"))
        }
        FDTarget::MemFD(name) => (FdKind::Other, Some(FdDisposition::Shared), Vec::new(), format!("a memfd ({name})")),
        FDTarget::Other(kind, ino) => (FdKind::Other, None, Vec::new(), format!("{kind}:[{ino}]")),
    }
}
