//! A repaired TCP connection (FILES kind TcpRepair): the state TCP_REPAIR
//! reads from an established connection and writes into a new socket.
//!
//! Packed into the File record's values (see `records::FileKind`) and
//! FILE_DATA: the local and peer address (two struct sockaddr of the
//! family), struct tcp_repair_window (5 little-endian u32: snd_wl1,
//! snd_wnd, max_window, rcv_wnd, rcv_wup), the send queue (bytes written
//! and not yet acknowledged by the peer), the receive queue (bytes
//! received and not yet read). Sequence numbers are those of the first
//! byte of each queue: writing the queue in repair mode advances them to
//! what they were at dump.

use super::error::{FormatError, Result};
use super::limits::MAX_TCP_QUEUE;
use super::records::{socket_family, tcp_repair_flags, File, StrRef, UNIX_PAIR_STATUS};
use super::sockets::sockaddr_ok;

/// Bytes of struct tcp_repair_window.
pub const WINDOW_SIZE: usize = 20;
/// Largest window scale (RFC 7323).
pub const MAX_WSCALE: u64 = 14;

/// One repaired connection, as its File record and FILE_DATA hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpRepair<'a> {
    /// AF_INET or AF_INET6.
    pub family: u64,
    /// struct sockaddr_in / sockaddr_in6 of this end.
    pub local: &'a [u8],
    /// The same of the peer.
    pub peer: &'a [u8],
    /// struct tcp_repair_window as 5 u32.
    pub window: [u32; 5],
    /// Sequence number of the first byte of the send queue.
    pub send_seq: u32,
    /// Sequence number of the first byte of the receive queue.
    pub recv_seq: u32,
    /// Maximum segment size.
    pub mss: u16,
    /// Window scales (with `tcp_repair_flags::WSCALE`).
    pub snd_wscale: u8,
    /// The receive side's.
    pub rcv_wscale: u8,
    /// TCP_TIMESTAMP at dump (the clock the peer sees).
    pub timestamp: u32,
    /// `tcp_repair_flags`.
    pub flags: u32,
    /// Bytes sent and not yet acknowledged, and not yet sent.
    pub send_queue: &'a [u8],
    /// Bytes received and not yet read.
    pub recv_queue: &'a [u8],
}

/// Size of a struct sockaddr of inet `family`.
pub fn sockaddr_len(family: u64) -> usize {
    if family == socket_family::INET6 { 28 } else { 16 }
}

/// The File values of `c`: [value0..value4].
pub fn values(c: &TcpRepair<'_>) -> [u64; 5] {
    [
        c.family,
        u64::from(c.send_seq) | u64::from(c.recv_seq) << 32,
        u64::from(c.mss) | u64::from(c.snd_wscale) << 16 | u64::from(c.rcv_wscale) << 24,
        u64::from(c.timestamp),
        c.send_queue.len() as u64 | (c.recv_queue.len() as u64) << 32,
    ]
}

/// FILE_DATA of `c`.
pub fn data_len(c: &TcpRepair<'_>) -> usize {
    2 * sockaddr_len(c.family) + WINDOW_SIZE + c.send_queue.len() + c.recv_queue.len()
}

/// Appends FILE_DATA of `c` to `out` through `push`.
pub fn write_data(c: &TcpRepair<'_>, mut push: impl FnMut(&[u8])) {
    push(c.local);
    push(c.peer);
    for w in c.window {
        push(&w.to_le_bytes());
    }
    push(c.send_queue);
    push(c.recv_queue);
}

/// Reads the connection recorded by `f` with FILE_DATA `data`, or says
/// which rule it breaks (`bad-tcp-repair`, `bad-file-values`,
/// `bad-file-flags`).
pub fn parse<'a>(f: &File, data: &'a [u8]) -> Result<TcpRepair<'a>> {
    if f.offset != 0 || f.path != StrRef::default() || f.pipe != 0 {
        return Err(FormatError::BadFileValues);
    }
    if f.status_flags & 3 != 2 || f.status_flags & !UNIX_PAIR_STATUS != 0 {
        return Err(FormatError::BadFileFlags);
    }
    let bad = FormatError::BadTcpRepair;
    let family = f.value0;
    if !matches!(family, socket_family::INET | socket_family::INET6) || f.kind_flags & !tcp_repair_flags::KNOWN != 0 {
        return Err(bad);
    }
    let mss = f.value2 & 0xffff;
    let (snd_wscale, rcv_wscale) = ((f.value2 >> 16) & 0xff, (f.value2 >> 24) & 0xff);
    let scaled = f.kind_flags & tcp_repair_flags::WSCALE != 0;
    let scales_ok = snd_wscale <= MAX_WSCALE && rcv_wscale <= MAX_WSCALE && (scaled || snd_wscale == 0 && rcv_wscale == 0);
    if mss == 0 || f.value2 >> 32 != 0 || !scales_ok || f.value3 > u64::from(u32::MAX) {
        return Err(bad);
    }
    let (sendq, recvq) = (f.value4 & 0xffff_ffff, f.value4 >> 32);
    if sendq > MAX_TCP_QUEUE || recvq > MAX_TCP_QUEUE {
        return Err(bad);
    }
    let alen = sockaddr_len(family);
    let want = (2 * alen + WINDOW_SIZE) as u64 + sendq + recvq;
    if data.len() as u64 != want {
        return Err(bad);
    }
    let (local, rest) = data.split_at(alen);
    let (peer, rest) = rest.split_at(alen);
    let (win, rest) = rest.split_at(WINDOW_SIZE);
    let (send_queue, recv_queue) = rest.split_at(sendq as usize);
    if !sockaddr_ok(family, local) || !sockaddr_ok(family, peer) {
        return Err(bad);
    }
    let mut window = [0u32; 5];
    let mut at = 0;
    while let (Some(w), Some(b)) = (window.get_mut(at / 4), win.get(at..at + 4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        at += 4;
    }
    Ok(TcpRepair {
        family,
        local,
        peer,
        window,
        send_seq: f.value1 as u32,
        recv_seq: (f.value1 >> 32) as u32,
        mss: mss as u16,
        snd_wscale: snd_wscale as u8,
        rcv_wscale: rcv_wscale as u8,
        timestamp: f.value3 as u32,
        flags: f.kind_flags,
        send_queue,
        recv_queue,
    })
}
