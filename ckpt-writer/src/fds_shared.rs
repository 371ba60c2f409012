//! Open file descriptions the target's fds share, and its pipes.
//!
//! Fds that refer to one open file description (dup, dup2, F_DUPFD, fork)
//! are found with kcmp(KCMP_FILE) among fds of one inode, and recorded as
//! one FILES record that each of them refers to (disposition shared), so
//! the restore shares offset and status flags again. A pipe end is such a
//! description too; its queued bytes are copied with tee(2) from a
//! duplicate of the target's own fd (pidfd_getfd), which leaves them in the
//! pipe: a dump that fails later has taken nothing from the target.

use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;

use image_format::v1::records::pipe_flags;
use image_format::{Blob, ByteString, FileDesc, FileKind};
use nix::fcntl::{fcntl, tee, FcntlArg, OFlag, SpliceFFlags};

use crate::error::{Error, Result};

/// kcmp(2) type: the two fds refer to one open file description.
const KCMP_FILE: libc::c_int = 0;

/// (st_dev, st_ino) of what the target's fd refers to: fds of one
/// description have the same.
pub fn inode_of(pid: i32, fd: i32) -> Option<(u64, u64)> {
    let md = std::fs::metadata(format!("/proc/{pid}/fd/{fd}")).ok()?;
    Some((md.dev(), md.ino()))
}

/// Whether the target's fds `a` and `b` share one open file description.
pub fn same_description(pid: i32, a: i32, b: i32) -> Result<bool> {
    // SAFETY: kcmp only compares kernel objects of the given task; it takes
    // integers and touches no memory of ours.
    let rc = unsafe { libc::syscall(libc::SYS_kcmp, pid, pid, KCMP_FILE, a, b) };
    match rc {
        0 => Ok(true),
        1 | 2 => Ok(false),
        _ => Err(Error::sys(format!("kcmp(KCMP_FILE) of fds {a} and {b} of pid {pid}"), std::io::Error::last_os_error())),
    }
}

/// Whether fd `a` of process `pa` and fd `b` of process `pb` share one
/// open file description (fork, SCM_RIGHTS): kcmp works across processes.
pub fn same_description_across(pa: i32, a: i32, pb: i32, b: i32) -> Result<bool> {
    // SAFETY: as in `same_description`: integers in, a comparison out.
    let rc = unsafe { libc::syscall(libc::SYS_kcmp, pa, pb, KCMP_FILE, a, b) };
    match rc {
        0 => Ok(true),
        1 | 2 => Ok(false),
        _ => Err(Error::sys(format!("kcmp(KCMP_FILE) of fd {a} of pid {pa} and fd {b} of pid {pb}"), std::io::Error::last_os_error())),
    }
}

/// A duplicate of the target's fd `fd`, as pidfd_getfd gives it (the
/// same open file description; close-on-exec).
pub fn copy_of_fd(pid: i32, fd: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return Err(Error::sys(format!("pidfd_open of pid {pid}"), std::io::Error::last_os_error()));
    }
    // SAFETY: pidfd is a new fd that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
    // SAFETY: pidfd_getfd takes a pidfd, an fd number of that process and
    // flags, and returns a new fd or -1.
    let copy = unsafe { libc::syscall(libc::SYS_pidfd_getfd, std::os::fd::AsRawFd::as_raw_fd(&pidfd), fd, 0) };
    if copy < 0 {
        return Err(Error::sys(format!("pidfd_getfd of fd {fd} of pid {pid}"), std::io::Error::last_os_error()));
    }
    // SAFETY: copy is a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(copy as RawFd) })
}

/// Bytes queued in a pipe, in its read-end `copy`.
fn queued(copy: &OwnedFd) -> Result<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer we pass.
    if unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(copy), libc::FIONREAD, &mut n) } < 0 {
        return Err(Error::sys("FIONREAD on a pipe", std::io::Error::last_os_error()));
    }
    Ok(n.max(0) as usize)
}

/// The size of the pipe the target's fd `fd` is an end of, and (for a
/// read end) the bytes queued in it, copied without taking them out.
pub fn pipe_state(pid: i32, fd: i32, read_end: bool) -> Result<(u64, Vec<u8>)> {
    let copy = copy_of_fd(pid, fd)?;
    let ctx = |what: &str| format!("{what} of the pipe at fd {fd} of pid {pid}");
    let size = fcntl(copy.as_fd(), FcntlArg::F_GETPIPE_SZ).map_err(|e| Error::sys(ctx("F_GETPIPE_SZ"), e))?;
    if !read_end {
        return Ok((size as u64, Vec::new()));
    }
    let want = queued(&copy)?;
    if want == 0 {
        return Ok((size as u64, Vec::new()));
    }
    // A pipe of the same size has as many buffer slots: one tee takes all.
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(|e| Error::sys("pipe2", e))?;
    fcntl(w.as_fd(), FcntlArg::F_SETPIPE_SZ(size)).map_err(|e| Error::sys(ctx("F_SETPIPE_SZ for the copy"), e))?;
    let got = tee(copy.as_fd(), w.as_fd(), want, SpliceFFlags::SPLICE_F_NONBLOCK).map_err(|e| Error::sys(ctx("tee"), e))?;
    if got != want {
        return Err(Error::sys(ctx("tee"), std::io::Error::other(format!("copied {got} of {want} queued bytes"))));
    }
    let mut data = vec![0u8; got];
    let mut done = 0;
    while done < got {
        let n = nix::unistd::read(&r, &mut data[done..]).map_err(|e| Error::sys(ctx("reading the copy"), e))?;
        if n == 0 {
            break;
        }
        done += n;
    }
    data.truncate(done);
    Ok((size as u64, data))
}

/// One description of a pipe end, before the pipes are numbered.
pub struct PipeEnd {
    /// The pipe's inode.
    pub ino: u64,
    /// A target fd that has it.
    pub fd: i32,
    /// Its status flags (O_ACCMODE says which end).
    pub flags: u32,
}

/// Numbered pipe ends, in FILES order, with the note for each lone end.
pub struct Pipes {
    /// FILES records of the pipe ends, in order.
    pub files: Vec<FileDesc>,
    /// For each end given to `number` (same order), its index in `files`.
    pub index: Vec<usize>,
    /// What the dump summary says about ends whose peer is not in the image.
    pub notes: Vec<String>,
}

/// Numbers the pipes 1, 2, ... by first fd, the read end of each first;
/// reads their sizes and queued bytes. An end whose other end is not
/// among `ends` is marked PEER_GONE. Two descriptions of one end of one
/// pipe (a pipe reopened through /proc) are refused.
pub fn number(pid: i32, ends: &[PipeEnd]) -> Result<Pipes> {
    let mut order: Vec<u64> = Vec::new();
    for e in ends {
        if !order.contains(&e.ino) {
            order.push(e.ino);
        }
    }
    let mut out = Pipes { files: Vec::new(), index: vec![0; ends.len()], notes: Vec::new() };
    for (n, ino) in order.iter().enumerate() {
        let of_pipe: Vec<usize> = (0..ends.len()).filter(|&i| ends[i].ino == *ino).collect();
        let reads: Vec<usize> = of_pipe.iter().copied().filter(|&i| ends[i].flags & 3 == 0).collect();
        let writes: Vec<usize> = of_pipe.iter().copied().filter(|&i| ends[i].flags & 3 == 1).collect();
        if reads.len() > 1 || writes.len() > 1 || reads.len() + writes.len() != of_pipe.len() {
            return Err(Error::Unsupported(format!(
                "pipe:[{ino}] has more than one open file description of one end (reopened through /proc?)"
            )));
        }
        let lone = of_pipe.len() == 1;
        for &i in reads.iter().chain(writes.iter()) {
            let e = &ends[i];
            let read_end = e.flags & 3 == 0;
            let (size, data) = pipe_state(pid, e.fd, read_end)?;
            let mut f = FileDesc::new(FileKind::Pipe);
            f.status_flags = e.flags;
            f.pipe = n as u32 + 1;
            f.values[0] = size;
            if lone {
                f.kind_flags = pipe_flags::PEER_GONE;
                out.notes.push(if read_end {
                    format!("fd {}: pipe read end whose write end is not in the process: restored with its {} queued bytes, then end of file", e.fd, data.len())
                } else {
                    format!("fd {}: pipe write end whose read end is not in the process: restored as if the reader had gone (EPIPE)", e.fd)
                });
            }
            f.data = Blob(data);
            out.index[i] = out.files.len();
            out.files.push(f);
        }
    }
    Ok(out)
}

/// The FILES record of a regular file, directory or device that several
/// fds share: opened again by path, with its flags and offset.
pub fn reopened(kind: FileKind, path: &[u8], flags: u32, offset: u64) -> FileDesc {
    let mut f = FileDesc::new(kind);
    f.status_flags = flags;
    f.path = ByteString(path.to_vec());
    if kind == FileKind::Regular {
        f.offset = offset;
    }
    f
}

/// The FILES record of an fd that shares its description with the
/// caller's fd `stdio` (0-2), which the image inherits.
pub fn stdio(fd: i32) -> FileDesc {
    let mut f = FileDesc::new(FileKind::Stdio);
    f.values[0] = fd as u64;
    f
}

/// A memfd of the target (fd `fd`, created with `name`): its contents,
/// read from a pidfd_getfd duplicate with pread (the target's position
/// stays), size and seals. One the target also maps is refused: restored
/// apart, the mapping and the fd would no longer share one object.
pub fn memfd(pid: i32, fd: i32, name: &[u8]) -> Result<FileDesc> {
    let copy = copy_of_fd(pid, fd)?;
    let ctx = |what: &str| format!("{what} of the memfd at fd {fd} of pid {pid}");
    let st = nix::sys::stat::fstat(copy.as_fd()).map_err(|e| Error::sys(ctx("fstat"), e))?;
    // Its mappings are linked to it by mapped_files.rs.
    let size = st.st_size as u64;
    if size > u64::from(image_format::v1::limits::MAX_FILE_DATA) {
        return Err(Error::Unsupported(format!("fd {fd} is a memfd of {size} bytes, more than an image holds (16 MiB of file data)")));
    }
    let mut data = vec![0u8; size as usize];
    let mut done = 0;
    while done < data.len() {
        let n = nix::sys::uio::pread(copy.as_fd(), &mut data[done..], done as i64).map_err(|e| Error::sys(ctx("pread"), e))?;
        if n == 0 {
            return Err(Error::sys(ctx("pread"), std::io::Error::other("shorter than its size")));
        }
        done += n;
    }
    let seals = fcntl(copy.as_fd(), FcntlArg::F_GET_SEALS).map_err(|e| Error::sys(ctx("F_GET_SEALS"), e))?;
    let mut f = FileDesc::new(FileKind::Memfd);
    f.path = ByteString(name.to_vec());
    f.data = Blob(data);
    f.values[0] = size;
    f.values[1] = seals as u64;
    Ok(f)
}

