//! Socket options of a socket the image recreates (FORMAT.md SOCKOPTS):
//! each option of image_format's list that belongs to the socket is read
//! from the dump's pidfd_getfd copy and recorded where it differs from a
//! socket of the same family, type and protocol made here just now, so a
//! restore sets what the program set and leaves the kernel's own choices
//! (buffer sizes it tunes, the host's default TTL) to the kernel.
//!
//! Options that need a privilege to set again are not in the list; a
//! socket with one of them set is refused, naming the fd and the option,
//! rather than restored without it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use image_format::v1::sockopts::{applies, level, value_ok, Encoding, OptionDef, OPTIONS};
use image_format::v1::SockOpt;

/// getsockopt of `len` bytes at most into `buf`; the bytes it gave.
fn raw(s: &OwnedFd, level: u32, name: u32, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut len = buf.len() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes to `buf` and sets `len`.
    let rc = unsafe { libc::getsockopt(s.as_raw_fd(), level as i32, name as i32, buf.as_mut_ptr().cast(), &mut len) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(len as usize)
}

fn int_of(b: &[u8]) -> i32 {
    i32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

/// The option's value as SOCKOPTS encodes it; Err(text) when it has one
/// the encoding cannot hold (a negative number).
fn read_value(s: &OwnedFd, d: &OptionDef) -> std::io::Result<Result<u64, String>> {
    let mut buf = [0u8; 16];
    let n = raw(s, d.level, d.name, &mut buf)?;
    let short = || std::io::Error::other(format!("{} gave {n} bytes", d.text));
    Ok(match d.encoding {
        Encoding::Bool => Ok(u64::from(int_of(buf.get(..4).filter(|_| n >= 4).ok_or_else(short)?) != 0)),
        Encoding::Int(..) | Encoding::Buffer => {
            let v = int_of(buf.get(..4).filter(|_| n >= 4).ok_or_else(short)?);
            u64::try_from(v).map_err(|_| v.to_string())
        }
        Encoding::Timeout => {
            if n < 16 {
                return Err(short());
            }
            let sec = i64::from_ne_bytes(buf[..8].try_into().unwrap_or_default());
            let usec = i64::from_ne_bytes(buf[8..16].try_into().unwrap_or_default());
            sec.checked_mul(1_000_000)
                .and_then(|us| us.checked_add(usec))
                .and_then(|us| u64::try_from(us).ok())
                .ok_or_else(|| format!("{sec} s {usec} us"))
        }
        Encoding::Linger => {
            if n < 8 {
                return Err(short());
            }
            let (on, secs) = (int_of(&buf[..4]), int_of(&buf[4..8]));
            u64::try_from(secs).map(|secs| u64::from(on != 0) << 32 | secs).map_err(|_| format!("on {on}, {secs} s"))
        }
    })
}

/// A socket of `family`, `ty`, `proto` as the kernel makes it.
fn fresh(family: i32, ty: i32, proto: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: socket(2) has no memory arguments.
    let fd = unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket(2) and is owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Options of the kind the list leaves out because setting them needs a
/// privilege (level, name, C name), refused when set.
const PRIVILEGED: &[(u32, u32, &str)] = &[
    (level::SOCKET, 36, "SO_MARK"),
    (level::IP, 19, "IP_TRANSPARENT"),
    (level::IPV6, 75, "IPV6_TRANSPARENT"),
];

/// The options of the socket `s` (the dump's copy; `family`, `ty`,
/// `proto` as it reports them; `established`: a TCP connection carried
/// with TCP_REPAIR) that differ from a fresh socket's, sorted as SOCKOPTS
/// wants them (`file` 0, the writer's to fill in); or why the socket
/// cannot be recorded.
pub fn read(s: &OwnedFd, family: i32, ty: i32, proto: i32, established: bool) -> Result<Vec<SockOpt>, String> {
    let base = fresh(family, ty, proto).map_err(|e| format!("making a socket of family {family}, type {ty} to compare its options with ({e})"))?;
    let inet = family == libc::AF_INET || family == libc::AF_INET6;
    for &(lvl, name, text) in PRIVILEGED {
        let mine = match (lvl, family) {
            (level::SOCKET, _) => true,
            (level::IP, f) => f == libc::AF_INET,
            (_, f) => f == libc::AF_INET6,
        };
        let mut buf = [0u8; 4];
        if mine && raw(s, lvl, name, &mut buf).is_ok_and(|n| n >= 4 && int_of(&buf) != 0) {
            return Err(format!("{text} is set ({}), which needs a privilege to set again and is not recorded", int_of(&buf)));
        }
    }
    if inet {
        // SO_BINDTODEVICE: the interface name, empty when not bound.
        let mut dev = [0u8; libc::IFNAMSIZ];
        if let Ok(n) = raw(s, level::SOCKET, libc::SO_BINDTODEVICE as u32, &mut dev) {
            let name = &dev[..n.min(dev.len())];
            let name = name.split(|&b| b == 0).next().unwrap_or_default();
            if !name.is_empty() {
                return Err(format!("SO_BINDTODEVICE ties it to {} (not recorded)", String::from_utf8_lossy(name)));
            }
        }
    }
    let (fam, t) = (family as u64, ty as u64);
    let mut out = Vec::new();
    for d in OPTIONS.iter().filter(|d| applies(d, fam, t, established)) {
        let ctx = |e: std::io::Error| format!("reading {} ({e})", d.text);
        let theirs = read_value(s, d).map_err(ctx)?;
        // An option the kernel here does not know on a fresh socket of the
        // kind is at no value a restore could set: compare with nothing.
        let default = read_value(&base, d).ok();
        if default.as_ref() == Some(&theirs) {
            continue;
        }
        let value = theirs.map_err(|v| format!("{} is {v}, which an image cannot hold", d.text))?;
        if !value_ok(d.encoding, value) {
            return Err(format!("{} is {value}, outside what a restore may set without a privilege", d.text));
        }
        out.push(SockOpt { file: 0, level: d.level, name: d.name, value });
    }
    Ok(out)
}

/// `inspect`'s words for a socket's options: "TCP_NODELAY, SO_RCVBUF 425984".
pub fn describe(opts: &[SockOpt]) -> String {
    let one = |o: &SockOpt| {
        let Some(d) = image_format::v1::sockopts::find(o.level, o.name) else {
            return format!("option {}/{} = {}", o.level, o.name, o.value);
        };
        match d.encoding {
            Encoding::Bool if o.value == 1 => d.text.to_string(),
            Encoding::Bool => format!("{} off", d.text),
            Encoding::Int(..) | Encoding::Buffer => format!("{} {}", d.text, o.value),
            Encoding::Timeout => format!("{} {}.{:06} s", d.text, o.value / 1_000_000, o.value % 1_000_000),
            Encoding::Linger if o.value >> 32 == 1 => format!("{} {} s", d.text, o.value & 0xffff_ffff),
            Encoding::Linger => format!("{} off", d.text),
        }
    };
    opts.iter().map(one).collect::<Vec<_>>().join(", ")
}
