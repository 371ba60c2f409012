//! The files an image needs, checked with the caller's credentials before
//! anything is torn down: every mapped file opened (and kept open for the
//! mapping) and compared with the identity the dump recorded, every fd the
//! stub reopens opened once now to prove it can be.

use std::fs::{File, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

use image_format::records::{prot, region_flags};
use image_format::{FdDisposition, FdKind, FileId, Image, RegionKind};
use nix::sys::statvfs::{fstatvfs, FsFlags};

use crate::error::{exit, open_failure, refuse, Checked};

const MAPPED: (&str, &str, &str) = ("mapped-file-missing", "mapped-file-permission", "mapped-file-open-failed");
const FD: (&str, &str, &str) = ("fd-file-missing", "fd-file-permission", "fd-file-open-failed");

/// The files the image maps, and for each region the index of its file.
pub struct MappedFiles {
    pub files: Vec<File>,
    pub file_of: Vec<Option<usize>>,
}

fn same_file(m: &std::fs::Metadata, want: &FileId) -> bool {
    m.dev() == want.dev
        && m.ino() == want.ino
        && m.size() == want.size
        && m.mtime() == want.mtime_sec
        && m.mtime_nsec() == i64::from(want.mtime_nsec)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn noexec(f: &File) -> bool {
    fstatvfs(f).map(|s| s.flags().contains(FsFlags::ST_NOEXEC)).unwrap_or(false)
}

/// Opens every mapped file; refuses a missing, changed or forbidden one.
pub fn open_mapped(image: &Image<'_>) -> Checked<MappedFiles> {
    let mut files: Vec<File> = Vec::new();
    let mut file_of = Vec::with_capacity(image.region_count() as usize);
    let mut last_path: &[u8] = &[];
    for r in image.regions() {
        if r.kind != RegionKind::File {
            file_of.push(None);
            continue;
        }
        let path = image.string(r.path);
        let writable_shared = r.flags & region_flags::SHARED != 0 && r.prot & prot::WRITE != 0;
        // Consecutive regions of one file (text, data, bss) share one open,
        // unless one of them needs it writable.
        if path != last_path || writable_shared || files.is_empty() {
            let name = lossy(path);
            let f = OpenOptions::new()
                .read(true)
                .write(writable_shared)
                .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK)
                .open(std::ffi::OsStr::from_bytes(path))
                .map_err(|e| open_failure(e, exit::MAPPED_FILE, MAPPED, &name))?;
            let m = f.metadata().map_err(|e| refuse(exit::MAPPED_FILE, "mapped-file-stat-failed", format!("{name}: {e}")))?;
            if !m.is_file() || !same_file(&m, &r.file_id) {
                return Err(refuse(exit::MAPPED_FILE, "mapped-file-changed", name));
            }
            if r.prot & prot::EXEC != 0 && noexec(&f) {
                return Err(refuse(exit::MAPPED_FILE, "mapped-file-noexec", name));
            }
            files.push(f);
            last_path = if writable_shared { &[] } else { path };
        }
        file_of.push(Some(files.len() - 1));
    }
    Ok(MappedFiles { files, file_of })
}

/// Every fd the stub will reopen can be opened now by the caller and is
/// still the kind of file it was. O_NONBLOCK: a FIFO put in a regular
/// file's place must not block us.
pub fn check_fds(image: &Image<'_>) -> Checked<()> {
    for fd in image.fds().filter(|f| f.disposition == FdDisposition::Reopen) {
        let path = image.string(fd.path);
        let name = lossy(path);
        let want_dir = match fd.kind {
            FdKind::Regular | FdKind::CharDev => false,
            FdKind::Directory => true,
            _ => return Err(refuse(exit::UNSUPPORTED, "fd-not-reopenable", format!("fd {}: {name}", fd.fd))),
        };
        let flags = restore_plan::open_flags(&fd) as i32;
        let access = flags & libc::O_ACCMODE;
        let f = OpenOptions::new()
            .read(access != libc::O_WRONLY)
            .write(access != libc::O_RDONLY)
            .custom_flags((flags & !libc::O_ACCMODE & !libc::O_APPEND) | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(std::ffi::OsStr::from_bytes(path))
            .map_err(|e| open_failure(e, exit::FD_FILE, FD, &format!("fd {}: {name}", fd.fd)))?;
        let m = f.metadata().map_err(|e| refuse(exit::FD_FILE, "fd-file-stat-failed", format!("{name}: {e}")))?;
        let ty = m.file_type();
        let same = match fd.kind {
            FdKind::Regular => ty.is_file(),
            FdKind::CharDev => std::os::unix::fs::FileTypeExt::is_char_device(&ty),
            _ => want_dir && ty.is_dir(),
        };
        if !same {
            return Err(refuse(exit::FD_FILE, "fd-file-changed", format!("fd {}: {name}", fd.fd)));
        }
    }
    Ok(())
}

/// The stub changes into the image's working directory: it must exist and
/// be searchable by the caller, or the restore would die after teardown.
pub fn check_cwd(image: &Image<'_>) -> Checked<()> {
    let cwd = image.string(image.process.cwd);
    if cwd.is_empty() {
        return Ok(());
    }
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(cwd));
    let name = lossy(cwd);
    let is_dir = std::fs::metadata(path).map(|m| m.is_dir());
    match is_dir {
        Ok(true) => {}
        Ok(false) => return Err(refuse(exit::FD_FILE, "cwd-missing", format!("{name}: not a directory"))),
        Err(e) => return Err(open_failure(e, exit::FD_FILE, ("cwd-missing", "cwd-permission", "cwd-failed"), &name)),
    }
    nix::unistd::access(path, nix::unistd::AccessFlags::X_OK)
        .map_err(|e| refuse(exit::FD_FILE, "cwd-permission", format!("{name}: {e}")))
}
