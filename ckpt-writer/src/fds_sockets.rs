//! Sockets bound to an address (TCP, UDP and unix listeners, bound
//! datagram sockets, netlink sockets with their port and groups), sockets
//! never bound, connected datagram sockets, and connected TCP sockets.
//!
//! Everything is read from a pidfd_getfd copy of the target's fd, without
//! disturbing it: the family, type and protocol (SO_DOMAIN, SO_TYPE,
//! SO_PROTOCOL), the address (getsockname), whether it listens
//! (SO_ACCEPTCONN) or is connected (getpeername), the options bound again
//! with it (SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY) and the others a
//! restore sets again (fds_sockopts.rs). A TCP listener's
//! backlog and the connections waiting in its accept queue come from
//! TCP_INFO (for a listener the kernel reports them as tcpi_sacked and
//! tcpi_unacked), a unix listener's from sock_diag (fds_unix.rs).
//!
//! Connections waiting in an accept queue, and connected TCP sockets, are
//! established connections the image cannot carry (repairing them needs
//! CAP_NET_ADMIN): the dump refuses them, naming the fd and the addresses,
//! unless `--tcp-established=reset`; then a connected socket is recorded
//! as reset (the restored program's next read or write fails with
//! ECONNRESET) and waiting connections are dropped (their clients see the
//! listener go away), each said in the dump summary. With
//! `--tcp-established=repair` a connected socket is carried alive
//! (fds_tcp_repair.rs) and waiting connections are refused.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};

use image_format::v1::records::{socket_family, socket_flags, socket_type, UNIX_PAIR_STATUS};
use image_format::{sockaddr_text, Blob, FileDesc, FileKind};

use crate::fds_unix::UnixSocket;

/// `--tcp-established` (set once by `dump`): TcpEstablished as u8.
static ESTABLISHED: AtomicU8 = AtomicU8::new(TcpEstablished::Refuse as u8);

/// What the dump does with established TCP connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TcpEstablished {
    /// Fail the dump, naming the fd and the addresses.
    Refuse,
    /// Record them so the restored program sees them reset (ECONNRESET);
    /// connections waiting in an accept queue are dropped.
    Reset,
    /// Carry them alive with TCP_REPAIR (needs CAP_NET_ADMIN here and
    /// where it is restored; fds_tcp_repair.rs); a connection that cannot
    /// be repaired, or one waiting in an accept queue, is refused.
    Repair,
}

/// Sets what this dump does with established TCP connections.
pub fn set_tcp_established(mode: TcpEstablished) {
    ESTABLISHED.store(mode as u8, Ordering::Relaxed);
}

pub fn reset_established() -> bool {
    ESTABLISHED.load(Ordering::Relaxed) == TcpEstablished::Reset as u8
}

/// Whether `--tcp-established=repair` was given.
pub fn repair_established() -> bool {
    ESTABLISHED.load(Ordering::Relaxed) == TcpEstablished::Repair as u8
}

/// A socket as recorded: its description, and what the summary says.
pub struct Recorded {
    pub file: FileDesc,
    pub note: Option<String>,
}

fn int_opt(s: &OwnedFd, level: i32, name: i32) -> std::result::Result<i32, String> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes to `v`, an int.
    let rc = unsafe { libc::getsockopt(s.as_raw_fd(), level, name, (&raw mut v).cast(), &mut len) };
    if rc < 0 {
        return Err(format!("getsockopt {level}/{name} failed ({})", std::io::Error::last_os_error()));
    }
    Ok(v)
}

/// getsockname (peer false) or getpeername (peer true): the sockaddr's
/// bytes, or None when not connected.
fn name(s: &OwnedFd, peer: bool) -> std::result::Result<Option<Vec<u8>>, String> {
    // SAFETY: sockaddr_storage is plain bytes; all zeros is a valid value.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let p = (&raw mut st).cast::<libc::sockaddr>();
    // SAFETY: the calls write at most `len` bytes to `st` and set `len`.
    let rc = unsafe { if peer { libc::getpeername(s.as_raw_fd(), p, &mut len) } else { libc::getsockname(s.as_raw_fd(), p, &mut len) } };
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        if peer && e.raw_os_error() == Some(libc::ENOTCONN) {
            return Ok(None);
        }
        return Err(format!("get{}name failed ({e})", if peer { "peer" } else { "sock" }));
    }
    // SAFETY: st is initialised, of at least `len` bytes (the kernel caps it).
    let bytes = unsafe { std::slice::from_raw_parts((&raw const st).cast::<u8>(), (len as usize).min(std::mem::size_of_val(&st))) };
    Ok(Some(bytes.to_vec()))
}

/// Bytes queued for reading (SIOCINQ).
fn queued(s: &OwnedFd) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer we pass.
    let rc = unsafe { libc::ioctl(s.as_raw_fd(), libc::FIONREAD, &mut n) };
    if rc < 0 { 0 } else { n.max(0) as usize }
}

/// TCP_INFO of a listener: (backlog, connections waiting to be accepted).
fn tcp_listen_info(s: &OwnedFd) -> std::result::Result<(u64, u64), String> {
    // SAFETY: tcp_info is plain integers; all zeros is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes to `info`.
    let rc = unsafe { libc::getsockopt(s.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_INFO, (&raw mut info).cast(), &mut len) };
    if rc < 0 {
        return Err(format!("TCP_INFO failed ({})", std::io::Error::last_os_error()));
    }
    Ok((u64::from(info.tcpi_sacked), u64::from(info.tcpi_unacked)))
}

/// Whether the fd's socket (the copy `s`) is a unix socket.
pub fn is_unix(s: &OwnedFd) -> std::result::Result<bool, String> {
    Ok(int_opt(s, libc::SOL_SOCKET, libc::SO_DOMAIN)? == libc::AF_UNIX)
}

/// Whether a unix socket that sock_diag describes as `u` is recorded
/// here (bound, and listening or an unconnected datagram socket; or never
/// bound nor connected) rather than as one end of a pair.
pub fn unix_is_bound_kind(u: &UnixSocket) -> bool {
    let never_used = !u.bound && !u.connected && !u.listening;
    never_used || (u.bound && (u.listening || (u.ty == libc::SOCK_DGRAM as u8 && !u.connected)))
}

/// Records the socket at the target's fd `fd` (its copy `s`, status
/// flags `flags`; `unix` what sock_diag says of a unix socket), or says
/// why it is not recorded.
pub fn record(fd: i32, s: &OwnedFd, flags: u32, unix: Option<&UnixSocket>) -> std::result::Result<Recorded, String> {
    let family = int_opt(s, libc::SOL_SOCKET, libc::SO_DOMAIN)?;
    let ty = int_opt(s, libc::SOL_SOCKET, libc::SO_TYPE)?;
    let proto = int_opt(s, libc::SOL_SOCKET, libc::SO_PROTOCOL)?;
    let mut local = name(s, false)?.unwrap_or_default();
    // A unix path comes with its terminating 0 byte (and the kernel
    // counts it again when it is bound anew): recorded without it.
    let trim_path = |a: &mut Vec<u8>| {
        if family == libc::AF_UNIX && a.get(2).is_some_and(|&b| b != 0) {
            let end = a.iter().skip(2).position(|&b| b == 0).map_or(a.len(), |at| at + 2);
            a.truncate(end);
        }
    };
    trim_path(&mut local);
    let mut peer = name(s, true)?;
    if let Some(p) = peer.as_mut() {
        trim_path(p);
    }
    let listening = int_opt(s, libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? != 0;
    let fam = match family {
        libc::AF_UNIX => socket_family::UNIX,
        libc::AF_INET => socket_family::INET,
        libc::AF_INET6 => socket_family::INET6,
        libc::AF_NETLINK => socket_family::NETLINK,
        f => return Err(format!("a socket of address family {f} (only unix, IPv4, IPv6 and netlink are supported)")),
    };
    let netlink = fam == socket_family::NETLINK;
    if netlink {
        // Not connected: the destination getpeername gives is the kernel
        // (port 0, no groups), as for every netlink socket never connected.
        if peer.as_ref().is_some_and(|p| p.get(4..).is_some_and(|a| a.iter().any(|&b| b != 0))) {
            return Err(format!("a netlink socket of protocol {proto} connected to {}", sockaddr_text(fam, peer.as_deref().unwrap_or_default())));
        }
        peer = None;
    }
    let shown = sockaddr_text(fam, &local);
    let inet = matches!(fam, socket_family::INET | socket_family::INET6);
    let kind = match (inet, ty, proto) {
        _ if netlink => "netlink",
        (true, libc::SOCK_STREAM, libc::IPPROTO_TCP) => "TCP",
        (true, libc::SOCK_DGRAM, libc::IPPROTO_UDP) => "UDP",
        (true, _, _) => return Err(format!("an IP socket of type {ty}, protocol {proto} on {shown} (only TCP and UDP are supported)")),
        (false, libc::SOCK_STREAM, _) => "unix stream",
        (false, libc::SOCK_DGRAM, _) => "unix datagram",
        (false, libc::SOCK_SEQPACKET, _) => "unix seqpacket",
        (false, _, _) => return Err(format!("a unix socket of type {ty}")),
    };
    if flags & !UNIX_PAIR_STATUS != 0 {
        return Err(format!("a {kind} socket on {shown} with status flags {flags:o}"));
    }
    let mut f = FileDesc::new(FileKind::Socket);
    f.status_flags = flags;
    f.values[0] = fam;
    let mut note = None;
    // A connected TCP socket: refused, or recorded reset.
    if let (Some(peer), "TCP", false) = (&peer, kind, listening) {
        let what = format!("a TCP connection from {shown} to {}", sockaddr_text(fam, peer));
        if repair_established() {
            let mut file = crate::fds_tcp_repair::record(s, fam, &local, peer, flags).map_err(|why| format!("{what}: {why}"))?;
            file.sockopts = crate::fds_sockopts::read(s, family, ty, proto, true).map_err(|why| format!("{what}: {why}"))?;
            return Ok(Recorded { file, note: Some(format!("fd {fd}: {what} is carried with TCP_REPAIR")) });
        }
        if !reset_established() {
            return Err(format!("{what} (an established connection; --tcp-established=repair carries it with TCP_REPAIR, --tcp-established=reset restores it reset: ECONNRESET)"));
        }
        f.kind = FileKind::TcpReset;
        let mut both = local.clone();
        both.extend_from_slice(peer);
        f.data = Blob(both);
        return Ok(Recorded { file: f, note: Some(format!("fd {fd}: {what} is restored reset (ECONNRESET)")) });
    }
    // A connected UDP socket is bound again and connected to its peer; so
    // is a unix datagram socket connected to a named socket outside the
    // process (a syslog client's /dev/log), by that name.
    let connected_dgram = match (&peer, kind) {
        (Some(_), "UDP") => true,
        (Some(p), "unix datagram") if p.len() > 2 => true,
        (Some(_), "unix datagram") => {
            return Err(format!("a unix datagram socket on {shown} connected to an unnamed socket outside the process"))
        }
        (Some(_), _) => {
            return Err(format!("a connected {kind} socket on {shown} (only listening, unconnected bound and connected datagram sockets are supported)"))
        }
        (None, _) => false,
    };
    // Never bound (and so neither listening nor connected): recorded
    // without an address, created again with its options.
    let unbound = local.len() <= 2
        || (inet && local.get(2..4) == Some(&[0, 0]))
        || (netlink && local.get(4..).is_none_or(|a| a.iter().all(|&b| b == 0)));
    if unbound && (listening || (peer.is_some() && inet)) {
        return Err(format!("a {kind} socket without an address that listens or is connected"));
    }
    if unbound {
        local.clear();
    }
    f.values[1] = ty as u64;
    if netlink {
        f.values[4] = proto as u64;
    }
    if listening {
        let (backlog, waiting) = match unix {
            Some(u) => (u64::from(u.backlog), u64::from(u.waiting)),
            None => tcp_listen_info(s)?,
        };
        if waiting > 0 {
            let what = format!("a {kind} listener on {shown} with {waiting} connection(s) waiting to be accepted");
            if !reset_established() {
                return Err(format!("{what} (established connections, not repaired there; --tcp-established=reset drops them)"));
            }
            note = Some(format!("fd {fd}: {what}: they are dropped"));
        }
        f.kind_flags |= socket_flags::LISTENING;
        f.values[2] = backlog;
        f.values[3] = waiting;
    } else if !unbound && (ty == libc::SOCK_STREAM || ty == libc::SOCK_SEQPACKET) {
        return Err(format!("a {kind} socket bound to {shown} that neither listens nor is connected"));
    } else if queued(s) > 0 {
        note = Some(format!("fd {fd}: the datagrams queued at the {kind} socket on {shown} are dropped"));
    }
    if int_opt(s, libc::SOL_SOCKET, libc::SO_REUSEADDR)? != 0 {
        f.kind_flags |= socket_flags::REUSEADDR;
    }
    if int_opt(s, libc::SOL_SOCKET, libc::SO_REUSEPORT)? != 0 {
        f.kind_flags |= socket_flags::REUSEPORT;
    }
    if fam == socket_family::INET6 && int_opt(s, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY)? != 0 {
        f.kind_flags |= socket_flags::V6ONLY;
    }
    if let (Some(_), false) = (&peer, inet) {
        // A unix datagram socket: the length of its local address.
        f.values[3] = local.len() as u64;
    }
    f.data = Blob(local);
    if let (Some(peer), true) = (&peer, connected_dgram) {
        // FILE_DATA: the local, then the peer address.
        f.kind_flags |= socket_flags::CONNECTED;
        f.data.0.extend_from_slice(peer);
    }
    f.sockopts = crate::fds_sockopts::read(s, family, ty, proto, false).map_err(|why| format!("a {kind} socket on {shown}: {why}"))?;
    Ok(Recorded { file: f, note })
}

/// A socket record as `inspect` shows it, with its options.
pub fn describe(f: &FileDesc) -> String {
    match crate::fds_sockopts::describe(&f.sockopts) {
        opts if opts.is_empty() => describe_socket(f),
        opts => format!("{}; options: {opts}", describe_socket(f)),
    }
}

fn describe_socket(f: &FileDesc) -> String {
    let fam = f.values[0];
    let netlink = format!("netlink (protocol {})", f.values[4]);
    let kind = match (fam, f.values[1]) {
        (socket_family::NETLINK, _) => netlink.as_str(),
        (socket_family::UNIX, socket_type::STREAM) => "unix stream",
        (socket_family::UNIX, socket_type::DGRAM) => "unix datagram",
        (socket_family::UNIX, _) => "unix seqpacket",
        (_, socket_type::DGRAM) => "UDP",
        _ => "TCP",
    };
    let nonblock = if f.status_flags & libc::O_NONBLOCK as u32 != 0 { ", nonblocking" } else { "" };
    if f.kind == FileKind::TcpRepair {
        return crate::fds_tcp_repair::describe(f);
    }
    if f.kind == FileKind::TcpReset {
        let (local, peer) = f.data.0.split_at(f.data.0.len() / 2);
        return format!("TCP connection {} -> {}, restored reset (ECONNRESET){nonblock}", sockaddr_text(fam, local), sockaddr_text(fam, peer));
    }
    if f.kind_flags & socket_flags::CONNECTED != 0 {
        let (local, peer) = image_format::v1::sockets::connected_addrs(fam, f.values[3], &f.data.0).unwrap_or_default();
        let bound = if local.is_empty() { "never bound".to_string() } else { format!("bound to {}", sockaddr_text(fam, local)) };
        return format!("{kind} socket {bound}, connected to {}{nonblock}", sockaddr_text(fam, peer));
    }
    let mut out = if f.data.0.is_empty() {
        format!("{kind} socket, never bound")
    } else {
        format!("{kind} socket bound to {}", sockaddr_text(fam, &f.data.0))
    };
    if f.kind_flags & socket_flags::LISTENING != 0 {
        out += &format!(", listening, backlog {}", f.values[2]);
        if f.values[3] > 0 {
            out += &format!(", {} waiting connection(s) dropped", f.values[3]);
        }
    }
    for (bit, name) in [(socket_flags::REUSEADDR, "SO_REUSEADDR"), (socket_flags::REUSEPORT, "SO_REUSEPORT"), (socket_flags::V6ONLY, "IPV6_V6ONLY")] {
        if f.kind_flags & bit != 0 {
            out += &format!(", {name}");
        }
    }
    out + nonblock
}
