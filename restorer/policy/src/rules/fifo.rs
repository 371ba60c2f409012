// SPDX-License-Identifier: GPL-2.0
//! Named FIFOs the stub opens again by path: the path must still name a
//! FIFO the caller may reach (a lookup with O_PATH, which neither opens
//! the FIFO nor waits for a peer), else the restore is refused naming the
//! fd (`fd-file-missing`, `fd-file-permission`, `fifo-path-not-fifo`)
//! instead of failing after the point of no return. Whether the caller
//! may open it read or write is left to the stub's open (step
//! `open-fifo`), as for files the stub reopens.

use super::files::{open_failure, OpenWhat};
use super::fmt::{FdDisposition, FileKind, Image};
use super::host::Host;
use super::reason::{Detail, Reason, Refusal};

/// O_PATH.
const O_PATH: u32 = 0o10_000_000;
/// S_IFMT, S_IFIFO.
const S_IFMT: u32 = 0o170_000;
const S_IFIFO: u32 = 0o010_000;

/// Checks every named FIFO's path.
pub fn check_fifos<H: Host>(image: &Image<'_>, host: &mut H) -> Result<(), Refusal> {
    for (index, f) in image.files().enumerate() {
        if f.kind != FileKind::Fifo {
            continue;
        }
        host.yield_now()?;
        let fd = image.fds().find(|d| d.disposition == FdDisposition::Shared && d.file as usize == index);
        let at = fd.map_or(Detail::None, |d| Detail::Fd(d.fd));
        let file = host.open(image.string(f.path), O_PATH).map_err(|errno| open_failure(errno, OpenWhat::Fd, at))?;
        let facts = host.facts(&file).map_err(|errno| open_failure(errno, OpenWhat::Fd, at))?;
        if facts.mode & S_IFMT != S_IFIFO {
            return Err(Refusal::new(Reason::FifoPathNotFifo, at));
        }
    }
    Ok(())
}
