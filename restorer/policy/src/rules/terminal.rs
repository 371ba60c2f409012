// SPDX-License-Identifier: GPL-2.0
//! Terminals beyond fds 0-2 (FORMAT.md "Terminals"). The caller's
//! terminal opened again (FILES kind Terminal) must exist: /dev/tty opens
//! (the caller has a controlling terminal), or the caller's fd 0-2 is a
//! terminal that opens again through /proc/self/fd; each is opened once
//! now with the stub's flags, else the image is refused naming the fd
//! (`no-caller-terminal`, `fd-file-permission`). A pty pair is created
//! from /dev/ptmx: opened once now (`pty-unavailable`).

use super::fmt::{FdDisposition, FileKind, Image};
use super::host::Host;
use super::plan::{oflag, terminal_open_flags, terminal_path};
use super::reason::{errno, Detail, Reason, Refusal};

/// S_IFMT, S_IFCHR.
const S_IFMT: u32 = 0o170_000;
const S_IFCHR: u32 = 0o020_000;

/// Whether a device number (user space's encoding) is a terminal's: the
/// tty majors (3 BSD ptys, 4 virtual consoles and serial ports, 5 /dev/tty,
/// /dev/console and /dev/ptmx, 136-143 Unix98 pty slaves, 166 ACM, 188
/// USB serial, 204 low-density serial, 229 hvc).
pub fn is_terminal_rdev(rdev: u64) -> bool {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    matches!(major, 3 | 4 | 5 | 136..=143 | 166 | 188 | 204 | 229)
}

/// Checks every terminal of `image`: the caller's opened again, pty pairs.
pub fn check_terminals<H: Host>(image: &Image<'_>, host: &mut H) -> Result<(), Refusal> {
    let mut pty_checked = false;
    for (index, f) in image.files().enumerate() {
        if !matches!(f.kind, FileKind::Terminal | FileKind::PtyMaster) {
            continue;
        }
        host.yield_now()?;
        let fd = image.fds().find(|d| d.disposition == FdDisposition::Shared && d.file as usize == index);
        let at = fd.map_or(Detail::None, |d| Detail::Fd(d.fd));
        if f.kind == FileKind::PtyMaster {
            if !pty_checked {
                let flags = oflag::RDWR | oflag::NOCTTY | oflag::NONBLOCK | oflag::CLOEXEC;
                host.open(b"/dev/ptmx", flags).map_err(|e| Refusal::with_errno(Reason::PtyUnavailable, e, at))?;
                pty_checked = true;
            }
            continue;
        }
        let mut buf = [0u8; 16];
        let len = terminal_path(&f, &mut buf);
        let path = buf.get(..len).unwrap_or(&[]);
        let flags = (terminal_open_flags(&f) as u32 & !oflag::APPEND) | oflag::NONBLOCK;
        let refuse = |e: i32| match e {
            errno::EACCES | errno::EPERM => Refusal::with_errno(Reason::FdFilePermission, e, at),
            _ => Refusal::with_errno(Reason::NoCallerTerminal, e, at),
        };
        let file = host.open(path, flags).map_err(refuse)?;
        let facts = host.facts(&file).map_err(refuse)?;
        if facts.mode & S_IFMT != S_IFCHR || !is_terminal_rdev(facts.rdev) {
            return Err(Refusal::new(Reason::NoCallerTerminal, at));
        }
    }
    Ok(())
}
