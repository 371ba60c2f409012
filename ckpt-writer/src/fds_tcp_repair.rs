//! Established TCP connections read with TCP_REPAIR
//! (`--tcp-established=repair`), carried by the image (FILES kind
//! TcpRepair) and restored alive.
//!
//! Repair mode belongs to the socket, not to the fd: putting the
//! pidfd_getfd copy in it puts the target's connection in it. While in
//! it, the socket sends nothing (no ACK, no window update, no probe), and
//! the queues can be read without consuming them: TCP_REPAIR_QUEUE picks
//! one, recv(MSG_PEEK) reads it, TCP_QUEUE_SEQ gives its sequence number.
//! Every copy put in repair mode is kept here until the dump ends
//! (`Guard`): a dump that fails, or leaves the target running or stopped,
//! takes them all out of repair mode without a window probe
//! (TCP_REPAIR_OFF_NO_WP) before the target runs again, so neither the
//! target nor its peer sees anything; a dump with `--kill` leaves them in
//! it, so the connection closes silently (no FIN, no reset: the kernel
//! drops a socket in repair mode) and the peer still holds its end for the
//! restored process.
//!
//! Needs CAP_NET_ADMIN over the target's network namespace (EPERM
//! otherwise, said naming the fd). Only ESTABLISHED connections: a
//! connection half-closed (a FIN sent or received) is refused.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;

use image_format::v1::records::tcp_repair_flags;
use image_format::v1::tcp_repair::{values, write_data, TcpRepair, MAX_WSCALE, WINDOW_SIZE};
use image_format::v1::limits::MAX_TCP_QUEUE;
use image_format::{Blob, FileDesc, FileKind};

/// linux/tcp.h: TCP_REPAIR_OFF_NO_WP, repair queues, TCP_REPAIR_WINDOW.
const TCP_REPAIR_OFF_NO_WP: libc::c_int = -1;
const TCP_NO_QUEUE: libc::c_int = 0;
const TCP_RECV_QUEUE: libc::c_int = 1;
const TCP_SEND_QUEUE: libc::c_int = 2;
const TCP_REPAIR_WINDOW: libc::c_int = 29;
/// TCP_INFO's tcpi_options bits.
const TCPI_OPT_TIMESTAMPS: u8 = 1;
const TCPI_OPT_SACK: u8 = 2;
const TCPI_OPT_WSCALE: u8 = 4;
/// tcpi_state of an established connection.
const TCP_ESTABLISHED: u8 = 1;
/// SIOCOUTQ (= TIOCOUTQ): bytes in the send queue.
const SIOCOUTQ: libc::c_ulong = 0x5411;

/// Copies in repair mode, until the dump ends.
static IN_REPAIR: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());

fn in_repair() -> std::sync::MutexGuard<'static, Vec<OwnedFd>> {
    IN_REPAIR.lock().unwrap_or_else(|p| p.into_inner())
}

/// Ends repair mode on every copy when dropped, unless `keep` was called
/// (the target was killed). Declared after the frozen target, so that it
/// runs before the target is released.
pub struct Guard {
    keep: bool,
}

impl Guard {
    /// A guard over this dump's copies.
    pub fn new() -> Guard {
        Guard { keep: false }
    }

    /// The target is killed: its connections close in repair mode,
    /// silently.
    pub fn keep(&mut self) {
        self.keep = true;
        in_repair().clear();
    }

    /// Takes every copy out of repair mode now (the target goes on).
    pub fn leave(&mut self) {
        for s in in_repair().drain(..) {
            // A failure leaves the socket in repair mode, where the target
            // would find it stuck: nothing else to try, but said.
            if let Err(e) = set_int(&s, libc::TCP_REPAIR, TCP_REPAIR_OFF_NO_WP) {
                eprintln!("ckpt-writer: warning: a TCP connection of the target stays in repair mode: {e}");
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.keep {
            self.leave();
        }
    }
}

fn set_int(s: &OwnedFd, name: libc::c_int, v: libc::c_int) -> Result<(), String> {
    set_raw(s, name, v).map_err(|e| format!("setsockopt TCP {name} failed ({e})"))
}

fn set_raw(s: &OwnedFd, name: libc::c_int, v: libc::c_int) -> std::io::Result<()> {
    // SAFETY: v is an int that outlives the call, its size given.
    let rc = unsafe { libc::setsockopt(s.as_raw_fd(), libc::IPPROTO_TCP, name, (&raw const v).cast(), 4) };
    if rc < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// getsockopt(IPPROTO_TCP, name) into `buf`: the bytes the kernel wrote.
fn get(s: &OwnedFd, name: libc::c_int, buf: &mut [u8]) -> Result<usize, String> {
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes to buf.
    let rc = unsafe { libc::getsockopt(s.as_raw_fd(), libc::IPPROTO_TCP, name, buf.as_mut_ptr().cast(), &mut len) };
    if rc < 0 {
        return Err(format!("getsockopt TCP {name} failed ({})", std::io::Error::last_os_error()));
    }
    Ok(len as usize)
}

fn get_u32(s: &OwnedFd, name: libc::c_int) -> Result<u32, String> {
    let mut b = [0u8; 4];
    get(s, name, &mut b)?;
    Ok(u32::from_ne_bytes(b))
}

fn ioctl_int(s: &OwnedFd, req: libc::c_ulong) -> Result<usize, String> {
    let mut n: libc::c_int = 0;
    // SAFETY: SIOCINQ/SIOCOUTQ write one int to the pointer.
    let rc = unsafe { libc::ioctl(s.as_raw_fd(), req, &mut n) };
    if rc < 0 {
        return Err(format!("ioctl {req:#x} failed ({})", std::io::Error::last_os_error()));
    }
    Ok(n.max(0) as usize)
}

/// One queue: its sequence number (of the byte after it) and its bytes,
/// peeked (repair mode: nothing is consumed).
fn queue(s: &OwnedFd, which: libc::c_int, len: usize) -> Result<(u32, Vec<u8>), String> {
    set_int(s, libc::TCP_REPAIR_QUEUE, which)?;
    let seq = get_u32(s, libc::TCP_QUEUE_SEQ)?;
    let mut buf = vec![0u8; len];
    if len > 0 {
        // SAFETY: recv writes at most len bytes to buf.
        let n = unsafe { libc::recv(s.as_raw_fd(), buf.as_mut_ptr().cast(), len, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
        if n < 0 {
            return Err(format!("peeking a queue failed ({})", std::io::Error::last_os_error()));
        }
        if n as usize != len {
            return Err(format!("a queue held {n} bytes where {len} were counted"));
        }
    }
    Ok((seq, buf))
}

/// Records the connected TCP socket `s` (family `family`, addresses
/// `local` and `peer`, status flags `flags`) with its whole state, or says
/// why not (the caller names the fd and addresses).
pub fn record(s: &OwnedFd, family: u64, local: &[u8], peer: &[u8], flags: u32) -> Result<FileDesc, String> {
    let mut info = [0u8; 104];
    get(s, libc::TCP_INFO, &mut info)?;
    let (state, options, scales) = (info[0], info[5], info[6]);
    if state != TCP_ESTABLISHED {
        return Err(format!("its state is {state} (TCP_INFO), not established: a half-closed connection is not repaired"));
    }
    let kept = s.try_clone().map_err(|e| format!("duplicating the socket failed ({e})"))?;
    match set_raw(&kept, libc::TCP_REPAIR, 1) {
        Ok(()) => in_repair().push(kept),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            return Err(format!("TCP_REPAIR needs CAP_NET_ADMIN over the target's network namespace ({e})"));
        }
        Err(e) => return Err(format!("TCP_REPAIR failed ({e})")),
    }
    let sendq = ioctl_int(s, SIOCOUTQ)?;
    let recvq = ioctl_int(s, libc::FIONREAD)?;
    if sendq as u64 > MAX_TCP_QUEUE || recvq as u64 > MAX_TCP_QUEUE {
        return Err(format!("its queues hold {sendq} and {recvq} bytes (at most {MAX_TCP_QUEUE} each)"));
    }
    let (write_seq, send_queue) = queue(s, TCP_SEND_QUEUE, sendq)?;
    let (rcv_nxt, recv_queue) = queue(s, TCP_RECV_QUEUE, recvq)?;
    set_int(s, libc::TCP_REPAIR_QUEUE, TCP_NO_QUEUE)?;
    let mut win = [0u8; WINDOW_SIZE];
    if get(s, TCP_REPAIR_WINDOW, &mut win)? != WINDOW_SIZE {
        return Err("TCP_REPAIR_WINDOW gave a short answer".into());
    }
    let mss = get_u32(s, libc::TCP_MAXSEG)?;
    let timestamp = get_u32(s, libc::TCP_TIMESTAMP)?;
    let mut kind_flags = 0;
    for (bit, flag) in [(TCPI_OPT_SACK, tcp_repair_flags::SACK), (TCPI_OPT_TIMESTAMPS, tcp_repair_flags::TIMESTAMPS), (TCPI_OPT_WSCALE, tcp_repair_flags::WSCALE)] {
        if options & bit != 0 {
            kind_flags |= flag;
        }
    }
    // tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4 share one byte.
    let (snd_wscale, rcv_wscale) = if kind_flags & tcp_repair_flags::WSCALE != 0 { (scales & 15, scales >> 4) } else { (0, 0) };
    if mss == 0 || mss > 65535 || u64::from(snd_wscale.max(rcv_wscale)) > MAX_WSCALE {
        return Err(format!("mss {mss} or window scales {snd_wscale}/{rcv_wscale} out of range"));
    }
    let mut window = [0u32; 5];
    for (w, b) in window.iter_mut().zip(win.chunks_exact(4)) {
        *w = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    }
    let c = TcpRepair {
        family,
        local,
        peer,
        window,
        send_seq: write_seq.wrapping_sub(sendq as u32),
        recv_seq: rcv_nxt.wrapping_sub(recvq as u32),
        mss: mss as u16,
        snd_wscale,
        rcv_wscale,
        timestamp,
        flags: kind_flags,
        send_queue: &send_queue,
        recv_queue: &recv_queue,
    };
    let mut f = FileDesc::new(FileKind::TcpRepair);
    f.status_flags = flags;
    f.values = values(&c);
    f.kind_flags = kind_flags;
    let mut data = Vec::new();
    write_data(&c, |b| data.extend_from_slice(b));
    f.data = Blob(data);
    Ok(f)
}

/// A repaired connection as `inspect` shows it.
pub fn describe(f: &FileDesc) -> String {
    let Some(c) = parse(f) else { return "TCP connection (carried with TCP_REPAIR, unreadable)".into() };
    let mut opts = Vec::new();
    for (bit, name) in [(tcp_repair_flags::SACK, "SACK"), (tcp_repair_flags::TIMESTAMPS, "timestamps"), (tcp_repair_flags::WSCALE, "window scaling")] {
        if c.0 & bit != 0 {
            opts.push(name);
        }
    }
    let nonblock = if f.status_flags & libc::O_NONBLOCK as u32 != 0 { ", nonblocking" } else { "" };
    format!(
        "TCP connection {} -> {}, carried with TCP_REPAIR: {} bytes to send, {} to read, mss {}{}{}{nonblock}",
        c.1,
        c.2,
        f.values[4] & 0xffff_ffff,
        f.values[4] >> 32,
        f.values[2] & 0xffff,
        if opts.is_empty() { String::new() } else { format!(", {}", opts.join(", ")) },
        if c.0 & tcp_repair_flags::WSCALE != 0 { format!(", scales {}/{}", (f.values[2] >> 16) & 0xff, (f.values[2] >> 24) & 0xff) } else { String::new() },
    )
}

/// (flags, local text, peer text) of a repaired connection's record.
fn parse(f: &FileDesc) -> Option<(u32, String, String)> {
    let alen = image_format::v1::tcp_repair::sockaddr_len(f.values[0]);
    let local = f.data.0.get(..alen)?;
    let peer = f.data.0.get(alen..2 * alen)?;
    Some((f.kind_flags, image_format::sockaddr_text(f.values[0], local), image_format::sockaddr_text(f.values[0], peer)))
}
