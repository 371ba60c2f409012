// SPDX-License-Identifier: GPL-2.0
//! Sockets the stub binds again (FILES kind Socket): each address must be
//! free for the caller now, tried on a throwaway socket with the same
//! options, so that a taken address is refused here, naming the fd,
//! instead of failing the restore after the point of no return.
//!
//! A TCP connection restored reset (kind TcpReset) needs loopback of its
//! family, where the stub resets a connection of its own: a trial bind
//! to port 0 there.
//!
//! A unix socket path is never bound as a trial (that would create the
//! file). If nothing is there, its directory must be enterable. A socket
//! file nobody is bound to (the dumped server's, left behind when it was
//! killed) is accepted: the stub removes it and binds again, which the
//! server could not have done itself. A socket file someone is bound to,
//! or a file of another type, is refused.
//!
//! A unix datagram socket connected to a named socket outside the image
//! (a syslog client's /dev/log) is connected to that name again: a
//! throwaway datagram socket connects there first, and the restore is
//! refused when nobody is bound there or the caller may not connect.

use super::files::FileFacts;
use super::fmt::records::{socket_family, socket_flags};
use super::fmt::sockets::connected_addrs;
use super::fmt::{FdDisposition, FileKind, Image};
use super::host::Host;
use super::reason::{errno as e, Detail, Reason, Refusal};

/// O_PATH: look at a path without opening what it names.
const O_PATH: u32 = 0o10_000_000;
/// S_IFMT, S_IFSOCK.
const S_IFMT: u32 = 0o170_000;
const S_IFSOCK: u32 = 0o140_000;

/// 127.0.0.1 and ::1, port 0 (struct sockaddr_in, sockaddr_in6).
const LOOPBACK4: [u8; 16] = [2, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
const LOOPBACK6: [u8; 28] = [10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];

/// A trial of what the stub will do with a socket, on a throwaway socket
/// in the caller's network namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketProbe<'a> {
    /// AF_UNIX, AF_INET, AF_INET6, AF_NETLINK.
    pub family: u16,
    /// SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW.
    pub ty: u32,
    /// The protocol: a netlink socket's (NETLINK_ROUTE, ...), else 0.
    pub protocol: u32,
    /// The image's socket_flags (SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY
    /// are set before the bind).
    pub flags: u32,
    /// The struct sockaddr; empty for a socket never bound, which is only
    /// created with its options.
    pub addr: &'a [u8],
    /// false: bind to `addr`; true (unix paths): a SOCK_DGRAM connect to
    /// it, which ECONNREFUSED answers when no socket is bound there.
    pub connect: bool,
    /// A TCP socket put in repair mode (TCP_REPAIR) before the bind, as
    /// the stub does for a repaired connection: EPERM without
    /// CAP_NET_ADMIN over the caller's network namespace.
    pub repair: bool,
}

/// Checks every bound socket of `image`. A member of a tree does not
/// check the sockets it shares with its tree (tree objects): the root made
/// them and checked them, and a member's probe would find their addresses
/// taken by them.
pub fn check_sockets<H: Host>(image: &Image<'_>, host: &mut H) -> Result<(), Refusal> {
    let member = image.header.flags & super::fmt::header_flags::MEMBER != 0;
    for (index, f) in image.files().enumerate() {
        host.yield_now()?;
        if !matches!(f.kind, FileKind::Socket | FileKind::TcpReset | FileKind::TcpRepair) {
            continue;
        }
        if member && image.tree_files().any(|t| t.file as usize == index) {
            continue;
        }
        let fd = image.fds().find(|d| d.disposition == FdDisposition::Shared && d.file as usize == index);
        let at = fd.map_or(Detail::None, |d| Detail::Fd(d.fd));
        if f.kind == FileKind::TcpRepair {
            check_repair(image, &f, host, at)?;
            continue;
        }
        if f.kind == FileKind::TcpReset {
            // The stub makes the reset connection over loopback: its
            // listener must bind there (::1 is missing where IPv6 is off).
            let addr = if f.value0 == socket_family::INET6 { &LOOPBACK6[..] } else { &LOOPBACK4[..] };
            let probe = SocketProbe { family: f.value0 as u16, ty: 1, protocol: 0, flags: 0, addr, connect: false, repair: false };
            host.probe_socket(&probe).map_err(|errno| bind_refusal(errno, at))?;
            continue;
        }
        let data = image.file_data(&f);
        // A connected datagram socket: the bind to its local address is
        // tried (a UDP connect sends nothing, and fails only without a
        // route); a unix one's peer is connected to as a trial.
        let (addr, peer) = if f.kind_flags & socket_flags::CONNECTED != 0 {
            connected_addrs(f.value0, f.value3, data).unwrap_or_default()
        } else {
            (data, &[][..])
        };
        if f.value0 == socket_family::UNIX && !peer.is_empty() {
            let probe = SocketProbe { family: f.value0 as u16, ty: f.value1 as u32, protocol: 0, flags: 0, addr: peer, connect: true, repair: false };
            host.probe_socket(&probe).map_err(|errno| match errno {
                e::EACCES | e::EPERM => Refusal::new(Reason::SocketPermission, at),
                _ => Refusal::new(Reason::SocketPeerUnavailable, at),
            })?;
        }
        let flags = f.kind_flags & !socket_flags::CONNECTED;
        let probe = SocketProbe { family: f.value0 as u16, ty: f.value1 as u32, protocol: f.value4 as u32, flags, addr, connect: false, repair: false };
        let path = addr.get(2..).filter(|p| f.value0 == socket_family::UNIX && p.first().is_some_and(|&b| b != 0));
        match path {
            Some(path) => check_unix_path(host, path, probe, at)?,
            None => host.probe_socket(&probe).map_err(|errno| bind_refusal(errno, at))?,
        }
    }
    Ok(())
}

/// A repaired TCP connection: the caller may put a TCP socket of its
/// family in repair mode (CAP_NET_ADMIN over its network namespace), and
/// its local address binds in repair mode (which passes over sockets on
/// the same port, but not over an address this machine has not).
fn check_repair<H: Host>(image: &Image<'_>, f: &super::fmt::File, host: &mut H, at: Detail) -> Result<(), Refusal> {
    let c = super::fmt::tcp_repair::parse(f, image.file_data(f)).map_err(Refusal::from)?;
    let probe = SocketProbe { family: c.family as u16, ty: 1, protocol: 0, flags: 0, addr: c.local, connect: false, repair: true };
    host.probe_socket(&probe).map_err(|errno| match errno {
        e::EPERM => Refusal::with_errno(Reason::TcpRepairNotPermitted, errno, at),
        _ => bind_refusal(errno, at),
    })
}

/// The refusal for a trial bind that failed with `errno`.
pub fn bind_refusal(errno: i32, at: Detail) -> Refusal {
    let reason = match errno {
        e::EADDRINUSE => Reason::SocketAddressInUse,
        e::EADDRNOTAVAIL | e::EAFNOSUPPORT => Reason::SocketAddressUnavailable,
        e::EACCES | e::EPERM => Reason::SocketPermission,
        _ => Reason::SocketBindFailed,
    };
    Refusal::with_errno(reason, errno, at)
}

/// A unix path: free (its directory enterable), or a stale socket file.
fn check_unix_path<H: Host>(host: &mut H, path: &[u8], probe: SocketProbe<'_>, at: Detail) -> Result<(), Refusal> {
    let facts: Result<FileFacts, i32> = host.open(path, O_PATH).and_then(|file| host.facts(&file));
    match facts {
        Err(e::ENOENT) => {
            // The directory: "/" for "/s", "." for a relative "s".
            let slash = path.iter().rposition(|&b| b == b'/');
            let dir = slash.and_then(|at| path.get(..at.max(1))).unwrap_or(b".");
            host.cwd(dir).map_err(|errno| bind_refusal(errno, at))
        }
        Err(errno) => Err(bind_refusal(errno, at)),
        Ok(facts) if facts.mode & S_IFMT != S_IFSOCK => Err(Refusal::new(Reason::SocketPathNotSocket, at)),
        Ok(_) => match host.probe_socket(&SocketProbe { connect: true, ..probe }) {
            Err(e::ECONNREFUSED) => Ok(()),
            Err(e::EACCES | e::EPERM) => Err(Refusal::new(Reason::SocketPermission, at)),
            _ => Err(Refusal::new(Reason::SocketAddressInUse, at)),
        },
    }
}

/// Whether `flags` asks for SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY (for
/// a host's trial socket).
pub fn probe_options(flags: u32) -> (bool, bool, bool) {
    (flags & socket_flags::REUSEADDR != 0, flags & socket_flags::REUSEPORT != 0, flags & socket_flags::V6ONLY != 0)
}
