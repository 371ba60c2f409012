//! Unix socket pairs (socketpair(2)) whose two ends the process holds.
//!
//! /proc does not say which socket a unix socket is connected to; the
//! kernel's socket monitoring interface does (sock_diag, UNIX_DIAG, the
//! one `ss -x` reads): one netlink request per socket gives its type,
//! state, bound name, peer inode and shutdown state. The bytes queued at
//! an end are peeked (MSG_PEEK) from a pidfd_getfd duplicate of the
//! target's fd, so nothing is taken out of the target's socket.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use image_format::v1::records::unix_pair_type;
use image_format::{Blob, FileDesc, FileKind};

use crate::error::{Error, Result};

/// linux/sock_diag.h, linux/unix_diag.h.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const UDIAG_SHOW_NAME: u32 = 1;
const UDIAG_SHOW_PEER: u32 = 4;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_SHUTDOWN: u16 = 6;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
const UNIX_DIAG_RQLEN: u16 = 4;
/// TCP_LISTEN, as unix sockets use it.
const LISTEN: u8 = 10;
/// TCP_ESTABLISHED, as unix sockets use it: connected.
const ESTABLISHED: u8 = 1;

/// What sock_diag says of one unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixSocket {
    /// SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET.
    pub ty: u8,
    /// Connected (TCP_ESTABLISHED).
    pub connected: bool,
    /// Bound to a name (a path or an abstract name).
    pub bound: bool,
    /// The peer's inode, 0 for none.
    pub peer: u32,
    /// SHUT_RD 1 | SHUT_WR 2 bits.
    pub shutdown: u8,
    /// Listening (fds_sockets.rs records it).
    pub listening: bool,
    /// A listener's backlog and the connections waiting in its queue.
    pub backlog: u32,
    pub waiting: u32,
}

/// Asks the kernel about the unix socket of inode `ino` (in the writer's
/// network namespace, which must be the target's).
pub fn query(ino: u64) -> std::result::Result<UnixSocket, String> {
    let ino32 = u32::try_from(ino).map_err(|_| format!("socket:[{ino}] has an inode above 2^32"))?;
    // SAFETY: socket takes integers and returns a new fd or -1.
    let raw = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, libc::NETLINK_SOCK_DIAG) };
    if raw < 0 {
        return Err(format!("cannot open a sock_diag netlink socket ({})", std::io::Error::last_os_error()));
    }
    // SAFETY: raw is a new fd that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // nlmsghdr (16) + unix_diag_req (24).
    let mut req = [0u8; 40];
    req[0..4].copy_from_slice(&40u32.to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    req[16] = libc::AF_UNIX as u8;
    req[24..28].copy_from_slice(&ino32.to_ne_bytes());
    req[28..32].copy_from_slice(&(UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN).to_ne_bytes());
    // No cookie: look the socket up by its inode alone.
    req[32..40].fill(0xff);
    let sent = nix::sys::socket::send(sock.as_raw_fd(), &req, nix::sys::socket::MsgFlags::empty());
    if sent != Ok(req.len()) {
        return Err(format!("cannot ask sock_diag about socket:[{ino}] ({sent:?})"));
    }
    let mut buf = [0u8; 8192];
    let n = nix::sys::socket::recv(sock.as_raw_fd(), &mut buf, nix::sys::socket::MsgFlags::empty())
        .map_err(|e| format!("no answer from sock_diag about socket:[{ino}] ({e})"))?;
    parse(&buf[..n], ino)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses the answer: an NLMSG_ERROR, or a unix_diag_msg and attributes.
fn parse(b: &[u8], ino: u64) -> std::result::Result<UnixSocket, String> {
    if b.len() < 16 || (u32_at(b, 0) as usize) > b.len() {
        return Err(format!("a short sock_diag answer about socket:[{ino}]"));
    }
    let len = u32_at(b, 0) as usize;
    if u16_at(b, 4) == libc::NLMSG_ERROR as u16 {
        let errno = if len >= 20 { -(u32_at(b, 16) as i32) } else { 0 };
        return Err(match errno {
            libc::ENOENT => format!("socket:[{ino}] is not a unix socket of this network namespace"),
            libc::EINVAL | libc::EOPNOTSUPP => {
                "the kernel has no unix socket monitoring (CONFIG_UNIX_DIAG), which names a socket's peer".to_string()
            }
            e => format!("sock_diag about socket:[{ino}] failed ({})", std::io::Error::from_raw_os_error(e)),
        });
    }
    // unix_diag_msg: family, type, state, pad, ino, cookie[2].
    if len < 32 || b[16] != libc::AF_UNIX as u8 || u64::from(u32_at(b, 20)) != ino {
        return Err(format!("an unexpected sock_diag answer about socket:[{ino}]"));
    }
    let mut s = UnixSocket { ty: b[17], connected: b[18] == ESTABLISHED, bound: false, peer: 0, shutdown: 0, listening: b[18] == LISTEN, backlog: 0, waiting: 0 };
    let mut at = 32;
    while at + 4 <= len {
        let alen = u16_at(b, at) as usize;
        if alen < 4 || at + alen > len {
            break;
        }
        let payload = &b[at + 4..at + alen];
        match u16_at(b, at + 2) {
            UNIX_DIAG_NAME => s.bound = true,
            UNIX_DIAG_PEER if payload.len() >= 4 => s.peer = u32_at(payload, 0),
            UNIX_DIAG_SHUTDOWN if !payload.is_empty() => s.shutdown = payload[0],
            // For a listener: the connections waiting, the backlog.
            UNIX_DIAG_RQLEN if payload.len() >= 8 && s.listening => {
                s.waiting = u32_at(payload, 0);
                s.backlog = u32_at(payload, 4);
            }
            _ => {}
        }
        at += (alen + 3) & !3;
    }
    Ok(s)
}

/// Whether `s` is one end of a connection (a socketpair, an accepted
/// connection) whose other end had closed: connected, with a peer the
/// kernel no longer names (sock_diag gives 0 for a released socket).
/// Such an end is recorded as a pair of its own (PEER_GONE).
pub fn peer_gone(s: &UnixSocket) -> bool {
    s.connected && s.peer == 0 && (!s.bound || accepted(s)) && !s.listening
}

/// Whether `s` is a stream or seqpacket connection that carries a name
/// only because a listener of that name accepted it: one end of a
/// connection like any other (nobody can connect to it, or send to its
/// name), restored as a pair end without the name.
pub fn accepted(s: &UnixSocket) -> bool {
    s.bound && s.connected && !s.listening && matches!(i32::from(s.ty), libc::SOCK_STREAM | libc::SOCK_SEQPACKET)
}

/// A unix socket connected to a socket the process does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outside {
    /// A datagram socket (not bound itself, or bound: either way its
    /// peer is named by getpeername and connected to again).
    Datagram,
    /// A stream or seqpacket socket, not bound (a client's end).
    Stream,
}

/// Whether `s` is connected to a socket outside the process (`held`: the
/// unix socket inodes the process holds), and of which kind.
pub fn outside(s: &UnixSocket, held: &[u64]) -> Option<Outside> {
    if !s.connected || s.peer == 0 || s.listening || held.contains(&u64::from(s.peer)) {
        return None;
    }
    match i32::from(s.ty) {
        libc::SOCK_DGRAM => Some(Outside::Datagram),
        libc::SOCK_STREAM | libc::SOCK_SEQPACKET if (!s.bound || accepted(s)) && s.shutdown == 0 => Some(Outside::Stream),
        _ => None,
    }
}

/// Why the socket `s` (inode `ino`) cannot be one end of a pair in the
/// image, given the socket inodes the process holds (`held`); None when
/// it can.
pub fn refusal(ino: u64, s: &UnixSocket, held: &[u64]) -> Option<String> {
    let kind = match i32::from(s.ty) {
        libc::SOCK_STREAM => "stream",
        libc::SOCK_DGRAM => "datagram",
        libc::SOCK_SEQPACKET => "seqpacket",
        _ => return Some(format!("a unix socket of type {} (socket:[{ino}])", s.ty)),
    };
    if peer_gone(s) {
        return None;
    }
    let why = if s.bound && !accepted(s) {
        "bound to a name and connected (only pairs, listeners and unconnected datagram sockets are supported)"
    } else if !s.connected || s.peer == 0 {
        "not connected"
    } else if !held.contains(&u64::from(s.peer)) {
        return Some(format!(
            "a unix {kind} socket (socket:[{ino}]) connected to socket:[{}] outside the process (a connection the image cannot carry; --tcp-established=reset restores it with its peer gone: end of file, EPIPE)",
            s.peer
        ));
    } else {
        return None;
    };
    Some(format!("a unix {kind} socket (socket:[{ino}]) {why}"))
}

/// The FILES record of one end (the target's fd `fd`, status flags
/// `flags`), numbered `pair`, with the bytes queued for reading there.
pub fn end(pid: i32, fd: i32, s: &UnixSocket, flags: u32, pair: u32) -> Result<FileDesc> {
    let copy = crate::fds_shared::copy_of_fd(pid, fd)?;
    let ctx = |what: &str| format!("{what} of the unix socket at fd {fd} of pid {pid}");
    // A peek would move an SO_PEEK_OFF offset the program relies on.
    let mut peek_off: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes to `peek_off`, an int.
    let rc = unsafe { libc::getsockopt(copy.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEEK_OFF, (&raw mut peek_off).cast(), &mut len) };
    if rc < 0 {
        return Err(Error::sys(ctx("SO_PEEK_OFF"), std::io::Error::last_os_error()));
    }
    if peek_off >= 0 {
        return Err(Error::Unsupported(format!("fd {fd} is a unix socket that uses SO_PEEK_OFF (not supported yet)")));
    }
    let mut f = FileDesc::new(FileKind::UnixPair);
    f.status_flags = flags;
    f.pipe = pair;
    f.values[0] = u64::from(s.ty);
    // SEND_SHUTDOWN (its own shutdown(SHUT_WR), or its peer's SHUT_RD):
    // done again at restore, which also gives the peer its RCV_SHUTDOWN.
    if s.shutdown & 2 != 0 {
        f.kind_flags |= image_format::v1::records::unix_pair_flags::SHUT_WR;
    }
    f.sockopts = crate::fds_sockopts::read(&copy, libc::AF_UNIX, i32::from(s.ty), 0, false)
        .map_err(|why| Error::Unsupported(format!("fd {fd} is a unix socket pair end: {why}")))?;
    if u64::from(s.ty) != unix_pair_type::STREAM {
        // Messages keep their boundaries, which the image does not
        // record yet: only an empty queue is recorded.
        let mut one = [0u8; 1];
        match nix::sys::socket::recv(copy.as_raw_fd(), &mut one, nix::sys::socket::MsgFlags::MSG_PEEK | nix::sys::socket::MsgFlags::MSG_DONTWAIT) {
            Err(nix::errno::Errno::EAGAIN) => return Ok(f),
            Err(e) => return Err(Error::sys(ctx("peeking"), e)),
            Ok(_) => {
                return Err(Error::Unsupported(format!(
                    "fd {fd} is a unix datagram or seqpacket socket with messages queued (not supported yet)"
                )))
            }
        }
    }
    let mut want: libc::c_int = 0;
    // SAFETY: SIOCINQ (FIONREAD) writes one int to the pointer we pass.
    if unsafe { libc::ioctl(copy.as_fd().as_raw_fd(), libc::FIONREAD, &mut want) } < 0 {
        return Err(Error::sys(ctx("SIOCINQ"), std::io::Error::last_os_error()));
    }
    let want = want.max(0) as usize;
    if want as u64 > image_format::v1::limits::MAX_UNIX_PAIR_QUEUE {
        return Err(Error::Unsupported(format!("fd {fd} is a unix socket with {want} bytes queued, more than an image records (4 MiB)")));
    }
    let mut data = vec![0u8; want];
    if want > 0 {
        // One peek of a stream socket walks every queued buffer.
        let got = nix::sys::socket::recv(copy.as_raw_fd(), &mut data, nix::sys::socket::MsgFlags::MSG_PEEK | nix::sys::socket::MsgFlags::MSG_DONTWAIT)
            .map_err(|e| Error::sys(ctx("peeking the queued bytes"), e))?;
        if got != want {
            return Err(Error::sys(ctx("peeking"), std::io::Error::other(format!("peeked {got} of {want} queued bytes"))));
        }
    }
    f.data = Blob(data);
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_of_a_socketpair_name_each_other() {
        use std::os::unix::fs::MetadataExt;
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let ino = |s: &std::os::unix::net::UnixStream| std::fs::metadata(format!("/proc/self/fd/{}", s.as_raw_fd())).unwrap().ino();
        let (ia, ib) = (ino(&a), ino(&b));
        let sa = query(ia).unwrap();
        assert_eq!(sa, UnixSocket { ty: libc::SOCK_STREAM as u8, connected: true, bound: false, peer: ib as u32, shutdown: 0, listening: false, backlog: 0, waiting: 0 });
        assert_eq!(query(ib).unwrap().peer, ia as u32);
        assert_eq!(refusal(ia, &sa, &[ia, ib]), None);
        assert!(refusal(ia, &sa, &[ia]).unwrap().contains("outside the process"));
        // b's sending side shut: b SEND_SHUTDOWN (2), a RCV_SHUTDOWN (1);
        // recorded (SHUT_WR on b), not refused.
        b.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!((query(ia).unwrap().shutdown, query(ib).unwrap().shutdown), (1, 2));
        assert_eq!(refusal(ia, &query(ia).unwrap(), &[ia, ib]), None);
        // Once b is closed, a is connected to nothing the kernel names.
        // (Another test thread's fork may hold a copy of b until its child
        // executes: wait for the release itself.)
        drop(b);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let gone = loop {
            let s = query(ia).unwrap();
            if s.peer == 0 || std::time::Instant::now() > deadline {
                break s;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert!(peer_gone(&gone), "{gone:?}");
        assert_eq!(refusal(ia, &gone, &[ia]), None);
        // A socket never connected is not one whose peer is gone.
        let lone = std::os::unix::net::UnixDatagram::unbound().unwrap();
        let never = query(ino_of(lone.as_raw_fd())).unwrap();
        assert!(!peer_gone(&never), "{never:?}");
        assert!(refusal(ino_of(lone.as_raw_fd()), &never, &[]).unwrap().contains("not connected"));
    }

    fn ino_of(fd: i32) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/self/fd/{fd}")).unwrap().ino()
    }
}
