//! Regular files deleted while open: their whole contents, read with
//! pread from a new open of /proc/PID/fd/N (the target's description and
//! position are not touched),
//! their position, status flags and permission bits, and the path they
//! had, whose directory the restorer makes the unlinked file in again.
//! A MAP_SHARED mapping of it maps the recreated file (mapped_files.rs).

use std::os::unix::fs::MetadataExt;

use image_format::v1::limits::MAX_FILE_DATA;
use image_format::v1::records::DELETED_FILE_STATUS;
use image_format::{Blob, FileDesc, FileKind};

use crate::error::{Error, Result};

/// The path the file had: the link's text without " (deleted)".
pub fn former_path(link: &[u8]) -> Vec<u8> {
    link.strip_suffix(b" (deleted)").unwrap_or(link).to_vec()
}

/// The FILES record of the deleted file at the target's fd `fd`.
pub fn describe(pid: i32, fd: i32, link: &[u8], flags: u32, offset: u64) -> Result<FileDesc> {
    let shown = String::from_utf8_lossy(link).into_owned();
    if flags & !DELETED_FILE_STATUS != 0 {
        return Err(Error::Unsupported(format!("fd {fd} is a deleted file ({shown}) with status flags {flags:o}")));
    }
    // A new open of the same inode, for reading (the fd may be
    // write-only); the target's description is not touched.
    let copy = std::fs::File::open(format!("/proc/{pid}/fd/{fd}")).map_err(|e| Error::sys(format!("opening the deleted file at fd {fd} of pid {pid}"), e))?;
    let md = copy.metadata().map_err(|e| Error::sys(format!("fstat of fd {fd} of pid {pid}"), e))?;
    // Its mappings are linked to it by mapped_files.rs.
    if md.len() > u64::from(MAX_FILE_DATA) {
        return Err(Error::Unsupported(format!("fd {fd} is a deleted file ({shown}) of {} bytes, more than an image carries (16 MiB)", md.len())));
    }
    let mut data = vec![0u8; md.len() as usize];
    let mut done = 0;
    while done < data.len() {
        let n = nix::sys::uio::pread(&copy, &mut data[done..], done as i64).map_err(|e| Error::sys(format!("reading the deleted file at fd {fd} of pid {pid}"), e))?;
        if n == 0 {
            data.truncate(done);
            break;
        }
        done += n;
    }
    let mut f = FileDesc::new(FileKind::DeletedFile);
    f.status_flags = flags;
    f.offset = offset;
    f.path = image_format::ByteString(former_path(link));
    f.values[0] = data.len() as u64;
    f.values[1] = u64::from(md.mode() & 0o7777);
    f.data = Blob(data);
    Ok(f)
}
