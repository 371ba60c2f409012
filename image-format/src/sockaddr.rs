//! A recorded struct sockaddr as people write it: `127.0.0.1:8080`,
//! `[::1]:8080`, a unix path, `@name` for an abstract unix name,
//! `netlink port 42 groups 0x1`.

use std::format;
use std::string::String;

use crate::v1::records::socket_family;

/// `addr` (one sockaddr of `family`, as the validator accepts it) as text.
pub fn sockaddr_text(family: u64, addr: &[u8]) -> String {
    let port = |b: &[u8]| b.get(2..4).map_or(0, |p| u16::from_be_bytes([p[0], p[1]]));
    match family {
        socket_family::INET if addr.len() >= 8 => format!("{}.{}.{}.{}:{}", addr[4], addr[5], addr[6], addr[7], port(addr)),
        socket_family::INET6 if addr.len() >= 24 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&addr[8..24]);
            format!("[{}]:{}", core::net::Ipv6Addr::from(ip), port(addr))
        }
        socket_family::UNIX if addr.len() > 2 => match addr[2] {
            0 => format!("@{}", String::from_utf8_lossy(&addr[3..])),
            _ => String::from_utf8_lossy(&addr[2..]).into_owned(),
        },
        socket_family::NETLINK if addr.len() == 12 => {
            let word = |at: usize| u32::from_le_bytes([addr[at], addr[at + 1], addr[at + 2], addr[at + 3]]);
            format!("netlink port {} groups {:#x}", word(4), word(8))
        }
        _ => format!("{addr:02x?}"),
    }
}
