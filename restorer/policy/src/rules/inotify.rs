// SPDX-License-Identifier: GPL-2.0
//! inotify watches the stub adds again: each watched path must exist for
//! the caller now (a lookup with O_PATH), else the restore is refused
//! naming the fd (`fd-file-missing`, ...), instead of failing after the
//! point of no return.

use super::files::{open_failure, OpenWhat};
use super::fmt::inotify::watches;
use super::fmt::{FdDisposition, FileKind, Image};
use super::host::Host;
use super::reason::{Detail, Refusal};

/// O_PATH.
const O_PATH: u32 = 0o10_000_000;

/// Checks every inotify instance's watched paths.
pub fn check_inotify<H: Host>(image: &Image<'_>, host: &mut H) -> Result<(), Refusal> {
    for (index, f) in image.files().enumerate() {
        if f.kind != FileKind::Inotify {
            continue;
        }
        let fd = image.fds().find(|d| d.disposition == FdDisposition::Shared && d.file as usize == index);
        let at = fd.map_or(Detail::None, |d| Detail::Fd(d.fd));
        for w in watches(image.file_data(&f)).flatten() {
            host.yield_now()?;
            host.open(w.path, O_PATH).map_err(|errno| open_failure(errno, OpenWhat::Fd, at))?;
        }
    }
    Ok(())
}
