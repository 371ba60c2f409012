// SPDX-License-Identifier: GPL-2.0
//! Files judged from what opening them with the caller's credentials gave:
//! the files the image maps (kept open for the mapping), the fds the stub
//! reopens (opened once now to prove it can be), the working directory.

use super::fmt::records::{prot, region_flags};
use super::fmt::{Fd, FdKind, File, FileId, FileKind, Region};
use super::plan::oflag;
use super::reason::{errno as e, Detail, Reason, Refusal};

/// File type bits of a mode.
mod ftype {
    pub(super) const MASK: u32 = 0o170_000;
    pub(super) const REG: u32 = 0o100_000;
    pub(super) const DIR: u32 = 0o040_000;
    pub(super) const CHR: u32 = 0o020_000;
}

/// What the restorer learnt of an open file (fstat, and its mount).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileFacts {
    /// st_dev, in user space's encoding.
    pub dev: u64,
    /// st_ino.
    pub ino: u64,
    /// st_size.
    pub size: u64,
    /// st_mtime.
    pub mtime_sec: i64,
    /// st_mtime_nsec.
    pub mtime_nsec: u32,
    /// st_mode.
    pub mode: u32,
    /// st_rdev of a device, in user space's encoding (0 otherwise, or
    /// where a restorer does not say).
    pub rdev: u64,
    /// It lies on a noexec mount.
    pub noexec: bool,
}

/// The regular file the dump recorded: same device, inode, size and mtime.
pub fn same_file(f: &FileFacts, want: &FileId) -> bool {
    f.mode & ftype::MASK == ftype::REG
        && f.dev == want.dev
        && f.ino == want.ino
        && f.size == want.size
        && f.mtime_sec == want.mtime_sec
        && f.mtime_nsec == want.mtime_nsec
}

/// What a failed open concerned, for its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenWhat {
    /// A file the image maps.
    Mapped,
    /// A file an fd had open.
    Fd,
    /// The working directory.
    Cwd,
    /// The image itself (ckpt-restore run by hand).
    Image,
}

/// The refusal for an open (or chdir-like check) that failed with `errno`:
/// missing, not permitted, or otherwise failed.
pub fn open_failure(errno: i32, what: OpenWhat, detail: Detail) -> Refusal {
    use Reason::*;
    let (missing, permission, failed) = match what {
        OpenWhat::Mapped => (MappedFileMissing, MappedFilePermission, MappedFileOpenFailed),
        OpenWhat::Fd => (FdFileMissing, FdFilePermission, FdFileOpenFailed),
        OpenWhat::Cwd => (CwdMissing, CwdPermission, CwdFailed),
        OpenWhat::Image => (ImageMissing, ImagePermission, ImageOpenFailed),
    };
    let reason = match errno {
        e::ENOENT | e::ENOTDIR => missing,
        e::EACCES | e::EPERM => permission,
        _ => failed,
    };
    Refusal::with_errno(reason, errno, detail)
}

/// Whether region `r`'s file must be opened for writing: a shared mapping
/// the process may write through, now or after an mprotect (MAY_WRITE).
pub fn writable_shared(r: &Region) -> bool {
    r.flags & region_flags::SHARED != 0 && (r.prot & prot::WRITE != 0 || r.flags & region_flags::MAY_WRITE != 0)
}

/// open(2) flags for the file region `r` maps. O_NONBLOCK: a FIFO put in
/// its place must not block the restorer (it is then refused as changed).
pub fn mapped_open_flags(r: &Region) -> u32 {
    let access = if writable_shared(r) { oflag::RDWR } else { 0 };
    access | oflag::NOCTTY | oflag::NONBLOCK | oflag::CLOEXEC
}

/// The file type an fd of `kind` must still have, or why it cannot be
/// reopened by path.
pub fn reopen_type(fd: &Fd) -> Result<u32, Refusal> {
    match fd.kind {
        FdKind::Regular => Ok(ftype::REG),
        FdKind::Directory => Ok(ftype::DIR),
        FdKind::CharDev => Ok(ftype::CHR),
        _ => Err(Refusal::new(Reason::FdNotReopenable, Detail::Fd(fd.fd))),
    }
}

/// open(2) flags for opening an fd's file once before the point of no
/// return: the stub's flags (the plan's), without O_APPEND (irrelevant to
/// a check), never blocking, not inherited.
pub fn reopen_check_flags(fd: &Fd) -> u32 {
    let stub = super::plan::open_flags(fd) as u32;
    (stub & !oflag::APPEND) | oflag::NONBLOCK | oflag::CLOEXEC
}

/// The fd's file, once opened, is still the kind of file it was.
pub fn check_reopened(fd: &Fd, facts: &FileFacts) -> Result<(), Refusal> {
    if facts.mode & ftype::MASK != reopen_type(fd)? {
        return Err(Refusal::new(Reason::FdFileChanged, Detail::Fd(fd.fd)));
    }
    Ok(())
}


/// The file type a shared description's file must still have, if it is
/// opened again by path (pipes and the caller's fds are not).
pub fn shared_reopen_type(f: &File) -> Option<u32> {
    match f.kind {
        FileKind::Regular => Some(ftype::REG),
        FileKind::Directory => Some(ftype::DIR),
        FileKind::CharDev => Some(ftype::CHR),
        FileKind::Pipe | FileKind::Stdio | FileKind::EventFd | FileKind::SignalFd | FileKind::Epoll | FileKind::TimerFd | FileKind::Memfd | FileKind::UnixPair => None,
        FileKind::Socket | FileKind::TcpReset | FileKind::DeletedFile | FileKind::Inotify | FileKind::TcpRepair | FileKind::Fifo => None,
        FileKind::Terminal | FileKind::PtyMaster | FileKind::PtySlave => None,
    }
}

/// open(2) flags for opening a shared description's file once before the
/// point of no return: the stub's, without O_APPEND, never blocking.
pub fn shared_check_flags(f: &File) -> u32 {
    let stub = super::plan::file_open_flags(f) as u32;
    (stub & !oflag::APPEND) | oflag::NONBLOCK | oflag::CLOEXEC
}
