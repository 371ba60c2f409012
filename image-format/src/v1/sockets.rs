//! Checks of the socket records (FILES kinds Socket and TcpReset): their
//! family, type, options and the struct sockaddr bytes in FILE_DATA.

use super::error::{FormatError, Result};
use super::limits::{MAX_SOCKADDR, MAX_SOCKET_BACKLOG};
use super::records::{socket_family, socket_flags, socket_type, File, StrRef, NETLINK_PROTOCOLS, UNIX_PAIR_STATUS};

/// sizeof(struct sockaddr_in), sizeof(struct sockaddr_in6),
/// sizeof(struct sockaddr_nl).
const SOCKADDR_IN: usize = 16;
const SOCKADDR_IN6: usize = 28;
const SOCKADDR_NL: usize = 12;

/// Whether `addr` is one well-formed sockaddr of `family`: its family
/// field (little-endian on x86-64), its size, a port for inet families,
/// for unix a name: an abstract one (a 0 byte, then at least one byte) or
/// a path without 0 bytes; for netlink its padding zero and a port id or
/// multicast groups (both 0 is no address: never bound).
pub fn sockaddr_ok(family: u64, addr: &[u8]) -> bool {
    let Some(head) = addr.get(..2) else { return false };
    if u64::from(u16::from_le_bytes([head[0], head[1]])) != family {
        return false;
    }
    let port = addr.get(2..4).is_some_and(|p| p != [0, 0]);
    let name = addr.get(2..).unwrap_or_default();
    match family {
        socket_family::INET => addr.len() == SOCKADDR_IN && port,
        socket_family::INET6 => addr.len() == SOCKADDR_IN6 && port,
        socket_family::NETLINK => addr.len() == SOCKADDR_NL && !port && addr[4..] != [0; 8],
        socket_family::UNIX => {
            addr.len() as u64 <= MAX_SOCKADDR
                && match name.split_first() {
                    Some((0, rest)) => !rest.is_empty(),
                    Some(_) => !name.contains(&0),
                    None => false,
                }
        }
        _ => false,
    }
}

/// A connected socket's (CONNECTED) local and peer addresses, as FILE_DATA
/// holds them one after the other: for inet both of one size (value3 0),
/// for unix the local's length in value3 (0: never bound; the peer is a
/// named socket outside the image). `family` and `value3` are the
/// record's. None where value3 does not fit.
pub fn connected_addrs(family: u64, value3: u64, data: &[u8]) -> Option<(&[u8], &[u8])> {
    let local = if family == socket_family::UNIX { usize::try_from(value3).ok()? } else { data.len() / 2 };
    (local <= data.len()).then(|| data.split_at(local))
}

/// A socket: family, type and options of its family, a backlog only when
/// listening, and its address; no address (FILE_DATA empty) for one that
/// was never bound, which can neither listen nor be connected.
pub fn check_socket(f: &File, addr: &[u8]) -> Result<()> {
    if f.offset != 0 || f.path != StrRef::default() {
        return Err(FormatError::BadFileValues);
    }
    if f.status_flags & 3 != 2 || f.status_flags & !UNIX_PAIR_STATUS != 0 {
        return Err(FormatError::BadFileFlags);
    }
    let (family, ty) = (f.value0, f.value1);
    let types_ok = match family {
        socket_family::UNIX => [socket_type::STREAM, socket_type::DGRAM, socket_type::SEQPACKET].contains(&ty),
        socket_family::INET | socket_family::INET6 => [socket_type::STREAM, socket_type::DGRAM].contains(&ty),
        socket_family::NETLINK => [socket_type::RAW, socket_type::DGRAM].contains(&ty),
        _ => false,
    };
    // The protocol: netlink's only (TCP and UDP follow from the type).
    let protocol_ok = if family == socket_family::NETLINK { f.value4 < NETLINK_PROTOCOLS } else { f.value4 == 0 };
    let listening = f.kind_flags & socket_flags::LISTENING != 0;
    let netlink_flags = socket_flags::REUSEADDR | socket_flags::REUSEPORT;
    let flags_ok = f.kind_flags & !socket_flags::KNOWN == 0
        && (family == socket_family::INET6 || f.kind_flags & socket_flags::V6ONLY == 0)
        && (family != socket_family::NETLINK || f.kind_flags & !netlink_flags == 0);
    let connected = f.kind_flags & socket_flags::CONNECTED != 0;
    let unix_connected = connected && family == socket_family::UNIX;
    let listen_ok = if listening {
        ty != socket_type::DGRAM && f.value2 <= MAX_SOCKET_BACKLOG && f.value3 <= u64::from(u32::MAX)
    } else {
        f.value2 == 0 && (f.value3 == 0 || unix_connected)
    };
    // A connected datagram socket: its local, then its peer address. A
    // unix one may never have been bound (no local address).
    let addr_ok = if connected {
        let inet = matches!(family, socket_family::INET | socket_family::INET6);
        let addrs_ok = match connected_addrs(family, f.value3, addr) {
            Some((local, peer)) if inet => {
                local.len() == peer.len() && sockaddr_ok(family, local) && sockaddr_ok(family, peer)
            }
            Some((local, peer)) => (local.is_empty() || sockaddr_ok(family, local)) && sockaddr_ok(family, peer),
            None => false,
        };
        addrs_ok && ty == socket_type::DGRAM && !listening
    } else {
        sockaddr_ok(family, addr) || (addr.is_empty() && !listening)
    };
    if !types_ok || !flags_ok || !listen_ok || !addr_ok || !protocol_ok {
        return Err(FormatError::BadSocket);
    }
    Ok(())
}

/// A reset TCP connection: an inet family and two addresses of it.
pub fn check_tcp_reset(f: &File, addrs: &[u8]) -> Result<()> {
    if f.offset != 0 || f.path != StrRef::default() || f.kind_flags != 0 || [f.value1, f.value2, f.value3, f.value4] != [0; 4] {
        return Err(FormatError::BadFileValues);
    }
    if f.status_flags & 3 != 2 || f.status_flags & !UNIX_PAIR_STATUS != 0 {
        return Err(FormatError::BadFileFlags);
    }
    let (local, peer) = addrs.split_at(addrs.len() / 2);
    let inet = matches!(f.value0, socket_family::INET | socket_family::INET6);
    if !inet || addrs.len() % 2 != 0 || !sockaddr_ok(f.value0, local) || !sockaddr_ok(f.value0, peer) {
        return Err(FormatError::BadSocket);
    }
    Ok(())
}
