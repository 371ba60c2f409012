//! SOCKOPTS: the socket options a restorer sets again on the sockets it
//! creates (FILES kinds Socket, UnixPair, TcpRepair). The list below is
//! the one place that says which options an image may carry, on which
//! sockets, and how each value is encoded; the writer reads them by it,
//! the validator checks by it and the plan builder turns values into
//! setsockopt arguments by it.
//!
//! Options are recorded only where they differ from what a socket of the
//! same family, type and protocol has when it is created (so a restore
//! never locks a buffer size the kernel would tune by itself). Options a
//! process needs a privilege to set (SO_PRIORITY above 6, SO_MARK,
//! IP_TRANSPARENT, SO_BINDTODEVICE, ...) are not in the list: the writer
//! refuses a socket that has one set, so a restore never needs one.

use super::error::{FormatError, Result};
use super::records::{socket_family, socket_type, File, FileKind, SockOpt, SockOptWire};

/// setsockopt levels.
pub mod level {
    /// SOL_SOCKET.
    pub const SOCKET: u32 = 1;
    /// IPPROTO_IP.
    pub const IP: u32 = 0;
    /// IPPROTO_TCP.
    pub const TCP: u32 = 6;
    /// IPPROTO_IPV6.
    pub const IPV6: u32 = 41;
}

/// How an option's value is held in a SOCKOPTS record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// An int flag: 0 or 1.
    Bool,
    /// An int within `lo..=hi`.
    Int(u32, u32),
    /// SO_SNDBUF, SO_RCVBUF: the size getsockopt reports, which is twice
    /// what setsockopt was given (the kernel doubles it for its own
    /// bookkeeping); 2..=i32::MAX, even. A restorer sets half of it.
    Buffer,
    /// SO_RCVTIMEO, SO_SNDTIMEO: a struct timeval, as microseconds,
    /// 1..=i64::MAX (0, no timeout, is the default and not recorded).
    Timeout,
    /// SO_LINGER: a struct linger, l_onoff in bit 32 and l_linger
    /// (seconds, <= i32::MAX) in bits 0-31; no other bit.
    Linger,
}

/// Which sockets an option belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum On {
    /// Every socket.
    Any,
    /// TCP (inet or inet6, stream).
    Tcp,
    /// UDP (inet or inet6, datagram).
    Udp,
    /// Every IPv4 socket (TCP, UDP).
    Ip4,
    /// IPv4 UDP.
    Udp4,
    /// Every IPv6 socket.
    Ip6,
    /// IPv6 UDP.
    Udp6,
    /// Unix and netlink sockets (credentials passing).
    Local,
}

/// One option an image may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionDef {
    /// setsockopt level.
    pub level: u32,
    /// setsockopt name.
    pub name: u32,
    /// Its name in C, for messages and `inspect`.
    pub text: &'static str,
    /// The sockets it belongs to.
    pub on: On,
    /// Its encoding.
    pub encoding: Encoding,
    /// Whether it is recorded on an established TCP connection (TcpRepair)
    /// too: not for what the kernel tunes by itself on a connection
    /// (buffer sizes, the mss), which a restore would otherwise pin.
    pub established: bool,
}

const fn opt(level: u32, name: u32, text: &'static str, on: On, encoding: Encoding, established: bool) -> OptionDef {
    OptionDef { level, name, text, on, encoding, established }
}

const MAX_INT: u32 = i32::MAX as u32;

use self::level::{IP, IPV6, SOCKET, TCP};
use self::Encoding::{Bool, Buffer, Int, Linger, Timeout};

/// The options, sorted by level and name (the order SOCKOPTS records of
/// one socket follow).
pub const OPTIONS: &[OptionDef] = &[
    opt(IP, 1, "IP_TOS", On::Ip4, Int(0, 255), true),
    opt(IP, 2, "IP_TTL", On::Ip4, Int(1, 255), true),
    opt(IP, 8, "IP_PKTINFO", On::Ip4, Bool, true),
    opt(IP, 10, "IP_MTU_DISCOVER", On::Ip4, Int(0, 5), true),
    opt(IP, 11, "IP_RECVERR", On::Ip4, Bool, true),
    opt(IP, 12, "IP_RECVTTL", On::Ip4, Bool, true),
    opt(IP, 13, "IP_RECVTOS", On::Ip4, Bool, true),
    opt(IP, 15, "IP_FREEBIND", On::Ip4, Bool, true),
    opt(IP, 24, "IP_BIND_ADDRESS_NO_PORT", On::Ip4, Bool, true),
    opt(IP, 33, "IP_MULTICAST_TTL", On::Udp4, Int(0, 255), true),
    opt(IP, 34, "IP_MULTICAST_LOOP", On::Udp4, Bool, true),
    opt(SOCKET, 5, "SO_DONTROUTE", On::Any, Bool, true),
    opt(SOCKET, 6, "SO_BROADCAST", On::Udp, Bool, true),
    opt(SOCKET, 7, "SO_SNDBUF", On::Any, Buffer, false),
    opt(SOCKET, 8, "SO_RCVBUF", On::Any, Buffer, false),
    opt(SOCKET, 9, "SO_KEEPALIVE", On::Tcp, Bool, true),
    opt(SOCKET, 10, "SO_OOBINLINE", On::Tcp, Bool, true),
    opt(SOCKET, 11, "SO_NO_CHECK", On::Udp, Bool, true),
    opt(SOCKET, 12, "SO_PRIORITY", On::Any, Int(0, 6), true),
    opt(SOCKET, 13, "SO_LINGER", On::Any, Linger, true),
    opt(SOCKET, 16, "SO_PASSCRED", On::Local, Bool, true),
    opt(SOCKET, 18, "SO_RCVLOWAT", On::Any, Int(1, MAX_INT), true),
    opt(SOCKET, 20, "SO_RCVTIMEO", On::Any, Timeout, true),
    opt(SOCKET, 21, "SO_SNDTIMEO", On::Any, Timeout, true),
    opt(SOCKET, 34, "SO_PASSSEC", On::Local, Bool, true),
    opt(SOCKET, 40, "SO_RXQ_OVFL", On::Any, Bool, true),
    opt(TCP, 1, "TCP_NODELAY", On::Tcp, Bool, true),
    opt(TCP, 2, "TCP_MAXSEG", On::Tcp, Int(88, 32767), false),
    opt(TCP, 3, "TCP_CORK", On::Tcp, Bool, true),
    opt(TCP, 4, "TCP_KEEPIDLE", On::Tcp, Int(1, 32767), true),
    opt(TCP, 5, "TCP_KEEPINTVL", On::Tcp, Int(1, 32767), true),
    opt(TCP, 6, "TCP_KEEPCNT", On::Tcp, Int(1, 127), true),
    opt(TCP, 7, "TCP_SYNCNT", On::Tcp, Int(1, 127), true),
    opt(TCP, 9, "TCP_DEFER_ACCEPT", On::Tcp, Int(0, MAX_INT), true),
    opt(TCP, 18, "TCP_USER_TIMEOUT", On::Tcp, Int(0, MAX_INT), true),
    opt(TCP, 23, "TCP_FASTOPEN", On::Tcp, Int(0, MAX_INT), true),
    opt(TCP, 25, "TCP_NOTSENT_LOWAT", On::Tcp, Int(0, MAX_INT), true),
    opt(IPV6, 16, "IPV6_UNICAST_HOPS", On::Ip6, Int(1, 255), true),
    opt(IPV6, 18, "IPV6_MULTICAST_HOPS", On::Udp6, Int(0, 255), true),
    opt(IPV6, 19, "IPV6_MULTICAST_LOOP", On::Udp6, Bool, true),
    opt(IPV6, 23, "IPV6_MTU_DISCOVER", On::Ip6, Int(0, 5), true),
    opt(IPV6, 25, "IPV6_RECVERR", On::Ip6, Bool, true),
    opt(IPV6, 49, "IPV6_RECVPKTINFO", On::Ip6, Bool, true),
    opt(IPV6, 67, "IPV6_TCLASS", On::Ip6, Int(0, 255), true),
];

/// The list's entry for `level` and `name`.
pub fn find(level: u32, name: u32) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|d| d.level == level && d.name == name)
}

/// Family, type and whether it is an established connection, of a
/// description that is a socket the restore creates again; None for
/// other kinds.
pub fn socket_of(f: &File) -> Option<(u64, u64, bool)> {
    match f.kind {
        FileKind::Socket => Some((f.value0, f.value1, false)),
        FileKind::UnixPair => Some((socket_family::UNIX, f.value0, false)),
        FileKind::TcpRepair => Some((f.value0, socket_type::STREAM, true)),
        _ => None,
    }
}

/// Whether option `d` belongs to a socket of `family` and `ty`
/// (`established`: a repaired TCP connection).
pub fn applies(d: &OptionDef, family: u64, ty: u64, established: bool) -> bool {
    let inet = matches!(family, socket_family::INET | socket_family::INET6);
    let tcp = inet && ty == socket_type::STREAM;
    let udp = inet && ty == socket_type::DGRAM;
    let on = match d.on {
        On::Any => true,
        On::Tcp => tcp,
        On::Udp => udp,
        On::Ip4 => family == socket_family::INET,
        On::Udp4 => udp && family == socket_family::INET,
        On::Ip6 => family == socket_family::INET6,
        On::Udp6 => udp && family == socket_family::INET6,
        On::Local => matches!(family, socket_family::UNIX | socket_family::NETLINK),
    };
    on && (d.established || !established)
}

/// Whether `value` is one `encoding` allows.
pub fn value_ok(encoding: Encoding, value: u64) -> bool {
    match encoding {
        Bool => value <= 1,
        Int(lo, hi) => (u64::from(lo)..=u64::from(hi)).contains(&value),
        Buffer => (2..=i32::MAX as u64).contains(&value) && value % 2 == 0,
        Timeout => (1..=i64::MAX as u64).contains(&value),
        Linger => value >> 33 == 0 && value & 0xffff_ffff <= i32::MAX as u64,
    }
}

/// What setsockopt is given for `value` (validated): the option value as
/// two little-endian words, of which its length in bytes is used (an int,
/// 4; a struct linger, 8; a struct timeval, 16).
pub fn setsockopt_value(encoding: Encoding, value: u64) -> ([u64; 2], u64) {
    match encoding {
        Bool | Int(..) => ([value & 0xffff_ffff, 0], 4),
        Buffer => ([(value / 2) & 0xffff_ffff, 0], 4),
        Timeout => ([value / 1_000_000, value % 1_000_000], 16),
        // struct linger { int l_onoff; int l_linger; }
        Linger => ([(value >> 32) | (value & 0xffff_ffff) << 32, 0], 8),
    }
}

/// Checks the SOCKOPTS records: each names a FILES record that is a
/// socket the restore creates (`file` looks one up), an option of the
/// list that belongs to that socket, a value its encoding allows, no
/// reserved byte set; sorted by file, level and name, which also rules
/// out an option twice. `pace` as for the other sections.
pub(super) fn check_sockopts(
    records: &[SockOptWire],
    file: impl Fn(u32) -> Option<File>,
    pace: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let mut prev: Option<(u32, u32, u32)> = None;
    for w in records {
        pace()?;
        if !w.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        let o: SockOpt = w.decode().ok_or(FormatError::BadSockopt)?;
        let (family, ty, established) = file(o.file).as_ref().and_then(socket_of).ok_or(FormatError::BadSockopt)?;
        let d = find(o.level, o.name).ok_or(FormatError::BadSockopt)?;
        if !applies(d, family, ty, established) || !value_ok(d.encoding, o.value) {
            return Err(FormatError::BadSockopt);
        }
        let key = (o.file, o.level, o.name);
        if prev.is_some_and(|p| key <= p) {
            return Err(FormatError::SockoptsUnsortedOrDuplicate);
        }
        prev = Some(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_each_option_once() {
        for pair in OPTIONS.windows(2) {
            assert!((pair[0].level, pair[0].name) < (pair[1].level, pair[1].name), "{} before {}", pair[0].text, pair[1].text);
        }
    }

    #[test]
    fn values_become_setsockopt_arguments() {
        assert_eq!(setsockopt_value(Bool, 1), ([1, 0], 4));
        // The kernel doubles what it is given: half of what it reported.
        assert_eq!(setsockopt_value(Buffer, 425_984), ([212_992, 0], 4));
        assert_eq!(setsockopt_value(Timeout, 2_500_000), ([2, 500_000], 16));
        assert_eq!(setsockopt_value(Linger, 1 << 32 | 7), ([1 | 7 << 32, 0], 8));
    }

    #[test]
    fn ranges() {
        assert!(value_ok(Int(0, 6), 6) && !value_ok(Int(0, 6), 7));
        assert!(!value_ok(Buffer, 3) && !value_ok(Buffer, 0) && value_ok(Buffer, 4608));
        assert!(!value_ok(Timeout, 0) && !value_ok(Linger, 1 << 33) && !value_ok(Linger, 1 << 31));
        assert!(!value_ok(Bool, 2));
    }

    #[test]
    fn options_belong_to_their_sockets() {
        let nodelay = find(TCP, 1).unwrap();
        assert!(applies(nodelay, socket_family::INET6, socket_type::STREAM, true));
        assert!(!applies(nodelay, socket_family::INET, socket_type::DGRAM, false));
        assert!(!applies(nodelay, socket_family::UNIX, socket_type::STREAM, false));
        let rcvbuf = find(SOCKET, 8).unwrap();
        assert!(applies(rcvbuf, socket_family::UNIX, socket_type::DGRAM, false));
        assert!(!applies(rcvbuf, socket_family::INET, socket_type::STREAM, true));
        assert!(!applies(find(IP, 2).unwrap(), socket_family::INET6, socket_type::STREAM, false));
        assert!(applies(find(SOCKET, 16).unwrap(), socket_family::NETLINK, socket_type::RAW, false));
    }
}
