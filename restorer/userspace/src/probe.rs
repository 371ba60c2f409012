//! The policy's socket trials (restore_policy::SocketProbe): a throwaway
//! socket with the image socket's options, bound to its address (or, for
//! a unix path, a datagram connect to it), closed again.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use restore_policy::{errno, probe_options, SocketProbe};

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(errno::EIO)
}

/// The errno of the trial's failed call.
pub fn probe_socket(p: &SocketProbe<'_>) -> Result<(), i32> {
    let ty = if p.connect { libc::SOCK_DGRAM } else { p.ty as i32 };
    // SAFETY: socket takes integers and returns a new fd or -1.
    let raw = unsafe { libc::socket(i32::from(p.family), ty | libc::SOCK_CLOEXEC, p.protocol as i32) };
    if raw < 0 {
        return Err(last_errno());
    }
    // SAFETY: raw is a new fd nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    let set = |level: i32, name: i32, on: bool| {
        let value: libc::c_int = on.into();
        // SAFETY: value is an int that outlives the call, its size given.
        let rc = unsafe { libc::setsockopt(sock.as_raw_fd(), level, name, (&raw const value).cast(), 4) };
        if rc < 0 { Err(last_errno()) } else { Ok(()) }
    };
    let addr = p.addr.as_ptr().cast::<libc::sockaddr>();
    let len = p.addr.len() as libc::socklen_t;
    if p.connect {
        // SAFETY: addr points at len bytes of a sockaddr the validator checked.
        let rc = unsafe { libc::connect(sock.as_raw_fd(), addr, len) };
        return if rc < 0 { Err(last_errno()) } else { Ok(()) };
    }
    if p.repair {
        // EPERM without CAP_NET_ADMIN over this network namespace; in
        // repair mode the bind passes over other sockets on the port.
        let on: libc::c_int = 1;
        // SAFETY: on is an int that outlives the call, its size given.
        let rc = unsafe { libc::setsockopt(sock.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_REPAIR, (&raw const on).cast(), 4) };
        if rc < 0 {
            return Err(last_errno());
        }
    }
    let (reuseaddr, reuseport, v6only) = probe_options(p.flags);
    if reuseaddr {
        set(libc::SOL_SOCKET, libc::SO_REUSEADDR, true)?;
    }
    if reuseport {
        set(libc::SOL_SOCKET, libc::SO_REUSEPORT, true)?;
    }
    if i32::from(p.family) == libc::AF_INET6 {
        set(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, v6only)?;
    }
    if p.addr.is_empty() {
        return Ok(()); // a socket never bound: created with its options
    }
    // SAFETY: as above.
    let rc = unsafe { libc::bind(sock.as_raw_fd(), addr, len) };
    if rc < 0 { Err(last_errno()) } else { Ok(()) }
}
