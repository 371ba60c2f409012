//! MAP_SHARED mappings of a memfd or deleted file that the process also
//! holds as an fd (FORMAT.md, MAPS_FILE): the region names the FILES
//! description of such an fd, found by matching the mapping's device and
//! inode (/proc/PID/maps) with the fd's (fstat of /proc/PID/fd/N), and
//! stores no pages: the contents are stored once, in the description's
//! FILE_DATA. The restorer maps the region from the description it
//! creates, so writes through the mapping and the fd meet again.
//!
//! Refused at dump, naming the fd: a private mapping of such a file (its
//! copy-on-write pages would part from the file), and a shared one the
//! fd's access mode could not map again (a writable mapping needs an fd
//! open read-write, any mapping a readable one; a memfd sealed
//! F_SEAL_FUTURE_WRITE cannot be mapped writable again).

use std::os::unix::fs::MetadataExt;

use image_format::{FileDesc, FileKind};
use procfs::process::{MMPermissions, Process};

use crate::error::{Error, Result};
use crate::memory::Mapping;
use crate::snapshot::{FdDisposition, FdState};

/// Links the mappings of `pid` to the memfd and deleted-file descriptions
/// among `fds`/`files`.
pub fn link(pid: i32, mappings: &mut [Mapping], fds: &[FdState], files: &[FileDesc]) -> Result<()> {
    // (dev, ino) -> (fd, FILES index, access mode) of each such fd.
    let mut held: Vec<((u64, u64), i32, u32, u32)> = Vec::new();
    for f in fds.iter().filter(|f| f.disposition == FdDisposition::Shared) {
        let Some(desc) = files.get(f.file as usize) else { continue };
        if !matches!(desc.kind, FileKind::Memfd | FileKind::DeletedFile) {
            continue;
        }
        let md = std::fs::metadata(format!("/proc/{pid}/fd/{}", f.fd))
            .map_err(|e| Error::sys(format!("fstat of fd {} of pid {pid}", f.fd), e))?;
        held.push(((md.dev(), md.ino()), f.fd, f.file, desc.status_flags & 3));
    }
    if held.is_empty() {
        return Ok(());
    }
    let maps = Process::new(pid)
        .and_then(|p| p.maps())
        .map_err(|_| Error::TargetGone { pid, during: "reading /proc/PID/maps".into() })?;
    for m in maps.iter() {
        let dev = libc::makedev(m.dev.0 as u32, m.dev.1 as u32);
        let same: Vec<_> = held.iter().filter(|h| h.0 == (dev, m.inode)).collect();
        let Some(first) = same.first() else { continue };
        let (start, end) = m.address;
        let what = if files[first.2 as usize].kind == FileKind::Memfd { "a memfd" } else { "a deleted file" };
        if !m.perms.contains(MMPermissions::SHARED) {
            return Err(Error::Unsupported(format!(
                "fd {} is {what} that the process also maps privately at {start:#x}-{end:#x} (not supported: only MAP_SHARED mappings of it are restored)",
                first.1
            )));
        }
        let write = m.perms.contains(MMPermissions::WRITE);
        let Some(h) = same.iter().find(|h| h.3 == 2 || (h.3 == 0 && !write)) else {
            return Err(Error::Unsupported(format!(
                "fd {} is {what} mapped {} at {start:#x}-{end:#x}, but no fd of it is open {} (not supported)",
                first.1,
                if write { "writable" } else { "readable" },
                if write { "read-write" } else { "for reading" }
            )));
        };
        // F_SEAL_FUTURE_WRITE: no writable mapping of it can be made again.
        if write && files[h.2 as usize].kind == FileKind::Memfd && files[h.2 as usize].values[1] & 0x10 != 0 {
            return Err(Error::Unsupported(format!(
                "fd {} is a memfd sealed F_SEAL_FUTURE_WRITE that the process maps writable at {start:#x}-{end:#x} (cannot be mapped so again)",
                h.1
            )));
        }
        let Some(mapping) = mappings.iter_mut().find(|x| x.region.start == start) else { continue };
        mapping.maps_file(h.2, m.offset);
    }
    Ok(())
}
