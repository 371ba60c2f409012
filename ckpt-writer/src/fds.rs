//! Open file descriptors from /proc/PID/fd and /proc/PID/fdinfo.
//!
//! Recorded for reopening: regular files (path, flags, offset),
//! directories, and the memory character devices (/dev/null, /dev/zero,
//! /dev/full, /dev/random, /dev/urandom). Ttys, pipes and FIFOs on fds 0-2
//! are recorded as "inherited from the restoring caller". Everything else
//! (sockets, pipes beyond stdio, eventfd, epoll, inotify, memfd, deleted
//! files, other devices) fails the dump with the fd and its kind named,
//! or with --allow-unsupported is recorded as closed.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use procfs::process::{FDTarget, Process};

use crate::error::{Error, Result};
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

/// Reads every fd of `pid`.
pub fn read_fds(pid: i32, allow_unsupported: bool) -> Result<Vec<FdState>> {
    let proc = Process::new(pid).map_err(|_| Error::TargetGone { pid, during: "reading fds".into() })?;
    let iter = proc.fd().map_err(|_| Error::TargetGone { pid, during: "reading /proc/PID/fd".into() })?;
    let mut fds = Vec::new();
    for info in iter {
        let Ok(info) = info else { continue };
        let fd = info.fd;
        let (offset, raw_flags) = fdinfo(pid, fd)?;
        let cloexec = raw_flags & libc::O_CLOEXEC as u32 != 0;
        let flags = raw_flags & !(libc::O_CLOEXEC as u32);
        let stdio = (0..=2).contains(&fd);
        let (kind, disposition, path, why) = classify(pid, fd, &info.target, stdio);
        let disposition = match (disposition, why) {
            (Some(d), _) => d,
            (None, why) if allow_unsupported => {
                let _ = why;
                FdDisposition::Closed
            }
            (None, why) => {
                return Err(Error::Unsupported(format!(
                    "fd {fd} is {why}; use --allow-unsupported to record it as closed"
                )))
            }
        };
        let path = if disposition == FdDisposition::Closed { Vec::new() } else { path };
        fds.push(FdState { fd, kind, disposition, flags, offset, path, cloexec });
    }
    fds.sort_by_key(|f| f.fd);
    Ok(fds)
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
            } else if ft.is_fifo() {
                (FdKind::Pipe, inherit(FdKind::Pipe), bytes, format!("a FIFO ({shown}) beyond fds 0-2"))
            } else {
                (FdKind::Other, None, bytes, format!("{shown} (a block device or socket file)"))
            }
        }
        FDTarget::Pipe(ino) => (FdKind::Pipe, inherit(FdKind::Pipe), Vec::new(), format!("a pipe (pipe:[{ino}]) beyond fds 0-2")),
        FDTarget::Socket(ino) => (FdKind::Socket, None, Vec::new(), format!("a socket (socket:[{ino}])")),
        FDTarget::Net(ino) => (FdKind::Socket, None, Vec::new(), format!("a network namespace (net:[{ino}])")),
        FDTarget::AnonInode(name) => (FdKind::Other, None, Vec::new(), format!("an anonymous inode ({})", name.trim_matches(['[', ']']))),
        FDTarget::MemFD(name) => (FdKind::Other, None, Vec::new(), format!("a memfd ({name})")),
        FDTarget::Other(kind, ino) => (FdKind::Other, None, Vec::new(), format!("{kind}:[{ino}]")),
    }
}
