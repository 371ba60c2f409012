//! eventfd, signalfd, timerfd and epoll descriptions, from what
//! /proc/PID/fdinfo shows of them (fds_fdinfo.rs parses it).

use image_format::v1::records::{eventfd_flags, timer_flags};
use image_format::{EpollEntry, FileDesc, FileKind};
use nix::time::{clock_gettime, ClockId};

use crate::error::{Error, Result};
use crate::fds_fdinfo;
use crate::snapshot::{FdDisposition, FdState};

/// The anonymous-inode kinds the image records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anon {
    EventFd,
    SignalFd,
    Epoll,
    TimerFd,
    /// A memfd, with the name memfd_create was given.
    Memfd(Vec<u8>),
}

impl Anon {
    /// The kind of an anon_inode by its name ("eventfd", "eventpoll", ...).
    pub fn of(name: &str) -> Option<Anon> {
        match name {
            "eventfd" => Some(Anon::EventFd),
            "signalfd" => Some(Anon::SignalFd),
            "eventpoll" => Some(Anon::Epoll),
            "timerfd" => Some(Anon::TimerFd),
            _ => None,
        }
    }
}

/// The FILES record of the target's fd `fd` of kind `anon`, with status
/// flags `flags`; for an epoll, also the inode each entry registered, to
/// check once every fd is known (`check_epoll_targets`).
pub fn describe(pid: i32, fd: i32, anon: Option<Anon>, flags: u32, offset: u64) -> Result<(FileDesc, Vec<u64>)> {
    let path = format!("/proc/{pid}/fdinfo/{fd}");
    let text = std::fs::read_to_string(&path).map_err(|_| Error::TargetGone { pid, during: format!("reading fdinfo of fd {fd}") })?;
    let unreadable = |what: &str| Error::Unsupported(format!("fd {fd} is {what}, but {path} does not show its state (kernel too old?)"));
    let mut f;
    let mut inos = Vec::new();
    match anon {
        Some(Anon::EventFd) => {
            let (count, sem) = fds_fdinfo::eventfd(&text).ok_or_else(|| unreadable("an eventfd"))?;
            f = FileDesc::new(FileKind::EventFd);
            f.values[0] = count;
            f.kind_flags = if sem { eventfd_flags::SEMAPHORE } else { 0 };
        }
        Some(Anon::SignalFd) => {
            f = FileDesc::new(FileKind::SignalFd);
            f.values[0] = fds_fdinfo::signalfd(&text).ok_or_else(|| unreadable("a signalfd"))?;
        }
        Some(Anon::TimerFd) => {
            let t = fds_fdinfo::timerfd(&text).ok_or_else(|| unreadable("a timerfd"))?;
            f = FileDesc::new(FileKind::TimerFd);
            f.kind_flags = t.flags & timer_flags::KNOWN;
            f.values = [t.clock, t.left_ns, t.interval_ns, t.ticks, 0];
            if t.flags & timer_flags::ABSTIME != 0 && t.left_ns != 0 {
                let now = clock_gettime(ClockId::from_raw(t.clock as libc::clockid_t))
                    .map_err(|e| Error::sys(format!("clock_gettime of clock {}", t.clock), e))?;
                let now_ns = now.tv_sec() as u64 * 1_000_000_000 + now.tv_nsec() as u64;
                f.values[4] = now_ns + t.left_ns;
            }
        }
        Some(Anon::Epoll) => {
            f = FileDesc::new(FileKind::Epoll);
            let list = fds_fdinfo::epoll(&text).ok_or_else(|| unreadable("an epoll instance"))?;
            f.epoll = list.iter().map(|i| EpollEntry { fd: i.fd as u32, events: i.events, data: i.data }).collect();
            inos = list.iter().map(|i| i.ino).collect();
        }
        Some(Anon::Memfd(name)) => {
            f = crate::fds_shared::memfd(pid, fd, &name)?;
            f.offset = offset;
        }
        None => return Err(Error::Unsupported(format!("fd {fd} is an anonymous inode the image does not record"))),
    }
    f.status_flags = flags;
    Ok((f, inos))
}

/// Each epoll entry's fd must still hold the file it was registered with
/// (an fd closed or replaced since leaves an entry epoll keeps for the old
/// file, which the image cannot name): refused. An entry for an fd that
/// --allow-unsupported recorded as closed is left out, with a note.
/// `registered`: (index in `files`, the inode of each entry).
pub fn check_epoll_targets(
    files: &mut [FileDesc],
    registered: Vec<(usize, Vec<u64>)>,
    fds: &[FdState],
    inode_of: &dyn Fn(i32) -> Option<(u64, u64)>,
    notes: &mut Vec<String>,
) -> Result<()> {
    for (index, inos) in registered {
        let f = &mut files[index];
        let mut kept = Vec::new();
        for (e, ino) in f.epoll.iter().zip(inos) {
            let fd = e.fd as i32;
            let state = fds.iter().find(|s| s.fd == fd);
            if inode_of(fd).map(|(_, i)| i) != Some(ino) || state.is_none() {
                return Err(Error::Unsupported(format!(
                    "an epoll instance watches fd {fd}, which no longer holds the file it registered"
                )));
            }
            if state.is_some_and(|s| s.disposition == FdDisposition::Closed) {
                notes.push(format!("fd {fd} is recorded as closed: left out of the epoll interest list that watches it"));
                continue;
            }
            kept.push(*e);
        }
        f.epoll = kept;
    }
    Ok(())
}
