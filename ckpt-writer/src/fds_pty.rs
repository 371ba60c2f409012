//! Terminals beyond fds 0-2 (FORMAT.md "Terminals"): which terminal fds
//! are the restoring caller's (FILES kind Terminal: /dev/tty, or a second
//! open of the terminal on an inherited fd 0-2), which are pty pairs the
//! process holds (PtyMaster with the slave's termios, window size, packet
//! mode, lock and exclusive mode; PtySlave for each open of its slave),
//! and which are refused (a slave whose master is elsewhere, a pair with
//! bytes queued, a master whose slave a process outside the image holds).
//! Everything is read from pidfd_getfd copies with ioctls that change
//! nothing (TCGETS2, TIOCGWINSZ, TIOCGPKT, TIOCGPTLCK, TIOCGEXCL,
//! FIONREAD, poll).

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use image_format::v1::records::{pty_flags, pty_winsize, terminal_flags, TERMINAL_STATUS, TERMIOS2_LEN, TERMIOS2_LINE};
use image_format::{Blob, FileDesc, FileKind};

use crate::error::Error;
use crate::fds_shared::copy_of_fd;

/// A terminal fd of the target as `fds.rs` saw it.
pub struct TtyFd {
    pub fd: i32,
    /// An fd 0-2 inherited from the restoring caller.
    pub inherited: bool,
    /// Its status flags.
    pub flags: u32,
    /// The path /proc/PID/fd shows.
    pub path: String,
}

/// What a terminal fd is recorded as.
#[derive(Clone, Debug)]
pub enum Role {
    /// The caller's terminal opened again (a FILES record of its own).
    Caller(FileDesc),
    /// A pty master: its record (pipe number still 0).
    Master(FileDesc),
    /// An open of the slave of the master at this fd.
    Slave(i32),
}

/// (st_dev, st_rdev) of the target's fd.
fn device_of(pid: i32, fd: i32) -> Option<(u64, u64)> {
    let md = std::fs::metadata(format!("/proc/{pid}/fd/{fd}")).ok()?;
    md.file_type().is_char_device().then(|| (md.dev(), md.rdev()))
}

fn dev_is(rdev: u64, major: u32, minor: u32) -> bool {
    libc::major(rdev) == major && libc::minor(rdev) == minor
}

/// fdinfo's `tty-index:` of a pty master.
fn tty_index(pid: i32, fd: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    text.lines().find_map(|l| l.strip_prefix("tty-index:")).and_then(|v| v.trim().parse().ok())
}

/// The devpts directory a master at `path` (as the target sees it) makes
/// its slave in: the directory of /dev/pts/ptmx, or `pts` next to
/// /dev/ptmx (what the kernel's ptmx_open looks up).
fn devpts_dir(path: &str) -> String {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    if dir.ends_with("/pts") || dir == "pts" {
        dir.to_string()
    } else {
        format!("{dir}/pts")
    }
}

fn ioctl_int(fd: &OwnedFd, request: libc::c_ulong) -> std::io::Result<i32> {
    let mut v: libc::c_int = 0;
    // SAFETY: the request writes one int into `v`, which lives across it.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request, &mut v) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(v)
}

const TCGETS2: libc::c_ulong = 0x802C_542A;
const TIOCGPKT: libc::c_ulong = 0x8004_5438;
const TIOCGPTLCK: libc::c_ulong = 0x8004_5439;
const TIOCGEXCL: libc::c_ulong = 0x8004_5440;

/// Whether a process other than `pid` (and this dump) holds the device
/// (st_dev, st_rdev) open: the first such pid.
fn outside_holder(pid: i32, dev: (u64, u64)) -> Option<i32> {
    let me = std::process::id() as i32;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(other) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        if other == pid || other == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{other}/fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else { continue };
            let link = link.to_string_lossy();
            if link.starts_with("socket:") || link.starts_with("pipe:") || link.starts_with("anon_inode:") {
                continue;
            }
            let Ok(md) = std::fs::metadata(fd.path()) else { continue };
            if md.file_type().is_char_device() && (md.dev(), md.rdev()) == dev {
                return Some(other);
            }
        }
    }
    None
}

/// Whether process `other` is a descendant of `pid` (its parents, from
/// /proc/PID/status, lead there).
fn descends_from(mut other: i32, pid: i32) -> bool {
    for _ in 0..4096 {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{other}/status")) else { return false };
        let Some(parent) = status.lines().find_map(|l| l.strip_prefix("PPid:")).and_then(|v| v.trim().parse::<i32>().ok()) else { return false };
        if parent == pid {
            return true;
        }
        if parent <= 1 {
            return false;
        }
        other = parent;
    }
    false
}

/// Decides every terminal fd of `pid`: `None` leaves it as `fds.rs`
/// classified it (an inherited fd 0-2), `Some(Err(why))` refuses it.
pub fn roles(pid: i32, ttys: &[TtyFd]) -> Vec<Option<std::result::Result<Role, String>>> {
    let dev: Vec<Option<(u64, u64)>> = ttys.iter().map(|t| device_of(pid, t.fd)).collect();
    let mut out: Vec<Option<std::result::Result<Role, String>>> = ttys.iter().map(|_| None).collect();
    // Masters first, with their slaves in the process.
    let mut slave_of: Vec<Option<i32>> = vec![None; ttys.len()];
    for (i, t) in ttys.iter().enumerate() {
        let Some((_, rdev)) = dev[i] else { continue };
        if t.inherited || !dev_is(rdev, 5, 2) {
            continue;
        }
        let Some(index) = tty_index(pid, t.fd) else {
            out[i] = Some(Err(format!("a pty master ({}) whose fdinfo shows no tty-index", t.path)));
            continue;
        };
        let slave_path = format!("{}/{index}", devpts_dir(&t.path));
        let Ok(md) = std::fs::metadata(format!("/proc/{pid}/root{slave_path}")) else {
            out[i] = Some(Err(format!("a pty master ({}) whose slave {slave_path} is not found", t.path)));
            continue;
        };
        let slave = (md.dev(), md.rdev());
        let slaves: Vec<usize> = (0..ttys.len()).filter(|&k| k != i && dev[k] == Some(slave)).collect();
        for &k in &slaves {
            slave_of[k] = Some(t.fd);
        }
        let slave_fds: Vec<i32> = slaves.iter().map(|&k| ttys[k].fd).collect();
        let role = describe_master(pid, t, index, &slave_path, slave, &slave_fds).map(Role::Master);
        out[i] = Some(role);
    }
    for (i, t) in ttys.iter().enumerate() {
        if let Some(master) = slave_of[i] {
            out[i] = Some(match out.iter().zip(ttys).find(|(_, m)| m.fd == master) {
                Some((Some(Err(_)), _)) => Err(format!("the slave ({}) of the pty master at fd {master}, which is not recorded", t.path)),
                _ if t.flags & !TERMINAL_STATUS != 0 => Err(format!("a pty slave ({}) with status flags {:o}", t.path, t.flags)),
                _ => Ok(Role::Slave(master)),
            });
            continue;
        }
        if t.inherited || out[i].is_some() {
            continue;
        }
        let Some((d, rdev)) = dev[i] else { continue };
        // The caller's terminal: /dev/tty, or the terminal of an
        // inherited fd 0-2.
        let controlling = dev_is(rdev, 5, 0);
        let stdio = (0..ttys.len()).filter(|&k| ttys[k].inherited && dev[k] == Some((d, rdev))).map(|k| ttys[k].fd).min();
        out[i] = Some(if t.flags & !TERMINAL_STATUS != 0 {
            Err(format!("a terminal ({}) with status flags {:o}", t.path, t.flags))
        } else if controlling || stdio.is_some() {
            let mut f = FileDesc::new(FileKind::Terminal);
            f.status_flags = t.flags;
            if controlling {
                f.kind_flags = terminal_flags::CONTROLLING;
            } else {
                f.values[0] = stdio.unwrap_or(0) as u64;
            }
            Ok(Role::Caller(f))
        } else {
            Err(format!(
                "a terminal ({}) beyond fds 0-2 that is neither the caller's (/dev/tty, or the terminal of fds 0-2) nor the slave of a pty master the process holds",
                t.path
            ))
        });
    }
    out
}

/// The FILES record of the pty master `t` (its slave `slave_path`, device
/// `slave`, held by the target at `slave_fds`), or why it is refused.
fn describe_master(pid: i32, t: &TtyFd, index: u64, slave_path: &str, slave: (u64, u64), slave_fds: &[i32]) -> std::result::Result<FileDesc, String> {
    let what = format!("a pty master ({}, slave {slave_path})", t.path);
    if t.flags & !TERMINAL_STATUS != 0 {
        return Err(format!("{what} with status flags {:o}", t.flags));
    }
    let failed = |call: &str, e: std::io::Error| format!("{what}: {call}: {e}");
    let master = copy_of_fd(pid, t.fd).map_err(|e| format!("{what}: {e}"))?;
    let mut termios = [0u8; TERMIOS2_LEN as usize];
    // SAFETY: TCGETS2 writes one struct termios2 (44 bytes) into `termios`.
    if unsafe { libc::ioctl(master.as_raw_fd(), TCGETS2, termios.as_mut_ptr()) } < 0 {
        return Err(failed("TCGETS2", std::io::Error::last_os_error()));
    }
    if termios[TERMIOS2_LINE] != 0 {
        return Err(format!("{what} whose slave has line discipline {} (only N_TTY is recorded)", termios[TERMIOS2_LINE]));
    }
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes one struct winsize into `ws`.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } < 0 {
        return Err(failed("TIOCGWINSZ", std::io::Error::last_os_error()));
    }
    let packet = ioctl_int(&master, TIOCGPKT).map_err(|e| failed("TIOCGPKT", e))?;
    let locked = ioctl_int(&master, TIOCGPTLCK).map_err(|e| failed("TIOCGPTLCK", e))?;
    let at_master = ioctl_int(&master, libc::FIONREAD).map_err(|e| failed("FIONREAD", e))?;
    if at_master > 0 {
        return Err(format!(
            "{what} with {at_master} bytes queued for reading at the master (written on the slave side, not read yet); reading them would take them away"
        ));
    }
    let mut flags = 0;
    if packet != 0 {
        flags |= pty_flags::PACKET;
    }
    if locked != 0 {
        flags |= pty_flags::LOCKED;
    }
    if let Some(&fd) = slave_fds.first() {
        let s = copy_of_fd(pid, fd).map_err(|e| format!("{what}: {e}"))?;
        let at_slave = ioctl_int(&s, libc::FIONREAD).map_err(|e| failed("FIONREAD of the slave", e))?;
        if at_slave > 0 {
            return Err(format!(
                "{what} with {at_slave} bytes queued for reading at the slave (fd {fd}: written on the master side, not read yet); reading them would take them away"
            ));
        }
        if ioctl_int(&s, TIOCGEXCL).map_err(|e| failed("TIOCGEXCL", e))? != 0 {
            flags |= pty_flags::EXCLUSIVE;
        }
    } else {
        let mut p = libc::pollfd { fd: master.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd, no wait.
        if unsafe { libc::poll(&mut p, 1, 0) } < 0 {
            return Err(failed("poll", std::io::Error::last_os_error()));
        }
        if p.revents & libc::POLLHUP != 0 {
            flags |= pty_flags::SLAVE_CLOSED;
        }
    }
    drop(master);
    if let Some(other) = outside_holder(pid, slave) {
        if descends_from(other, pid) {
            return Err(format!(
                "{what} whose slave is held open by process {other}, a descendant (a pty shared between processes of a tree is not restored yet: tmux, script, expect; dump with --no-children)"
            ));
        }
        return Err(format!(
            "{what} whose slave is held open by process {other}, which is not dumped with it (after a restore it would hold the old pair's slave)"
        ));
    }
    let mut f = FileDesc::new(FileKind::PtyMaster);
    f.status_flags = t.flags;
    f.kind_flags = flags;
    f.data = Blob(termios.to_vec());
    f.values[0] = pty_winsize::pack([ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel]);
    f.values[1] = index;
    Ok(f)
}

/// The FILES record of one open of a pty slave.
pub fn slave(flags: u32) -> FileDesc {
    let mut f = FileDesc::new(FileKind::PtySlave);
    f.status_flags = flags;
    f
}

/// Whether the error of a master's records is worth an `Error`.
pub fn unsupported(fd: i32, why: &str) -> Error {
    Error::Unsupported(format!("fd {fd} is {why}; use --allow-unsupported to record it as closed"))
}

/// A terminal record as `inspect` shows it.
pub fn show(f: &FileDesc) -> String {
    let access = match f.status_flags & 3 {
        0 => "read",
        1 => "write",
        _ => "read-write",
    };
    let nonblock = if f.status_flags & libc::O_NONBLOCK as u32 != 0 { ", nonblocking" } else { "" };
    match f.kind {
        FileKind::Terminal if f.kind_flags & terminal_flags::CONTROLLING != 0 => {
            format!("the caller's terminal: /dev/tty opened again, {access}{nonblock}")
        }
        FileKind::Terminal => format!("the caller's terminal: its fd {} opened again, {access}{nonblock}", f.values[0]),
        FileKind::PtyMaster => {
            let [rows, cols, x, y] = pty_winsize::unpack(f.values[0]);
            let t = &f.data.0;
            let word = |k: usize| t.get(4 * k..4 * k + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            let lflag = word(3);
            let mode = if lflag & libc::ICANON != 0 { "canonical" } else { "raw" };
            let echo = if lflag & libc::ECHO != 0 { ", echo" } else { "" };
            let mut extra = String::new();
            for (bit, name) in [
                (pty_flags::PACKET, ", packet mode"),
                (pty_flags::LOCKED, ", slave locked"),
                (pty_flags::EXCLUSIVE, ", slave exclusive"),
                (pty_flags::SLAVE_CLOSED, ", slave closed"),
            ] {
                if f.kind_flags & bit != 0 {
                    extra.push_str(name);
                }
            }
            format!(
                "pty master {} (slave /dev/pts/{} at dump), {rows}x{cols} ({x}x{y} pixels), {mode}{echo}, iflag {:o} oflag {:o} cflag {:o} lflag {:o}{extra}, {access}{nonblock}",
                f.pipe,
                f.values[1],
                word(0),
                word(1),
                word(2),
                lflag
            )
        }
        _ => format!("pty slave of pty master {}, {access}{nonblock}", f.pipe),
    }
}
