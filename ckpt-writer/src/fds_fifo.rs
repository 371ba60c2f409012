//! Named FIFOs beyond fds 0-2 (FILES kind Fifo): the path, the access
//! mode and O_NONBLOCK, and for an end that can read them the bytes
//! queued in the FIFO, copied with tee from a pidfd_getfd copy without
//! taking them out (fds_shared::pipe_state). The restore opens the path
//! again and writes the bytes back into the FIFO if it is empty then.

use image_format::v1::limits::MAX_FIFO_QUEUE;
use image_format::v1::records::FIFO_STATUS;
use image_format::{Blob, ByteString, FileDesc, FileKind};

use crate::error::{Error, Result};
use crate::fds_shared::pipe_state;

/// The FILES record of the named FIFO at the target's fd `fd` (its path
/// `path`, status flags `flags`).
pub fn describe(pid: i32, fd: i32, path: &[u8], flags: u32) -> Result<FileDesc> {
    let shown = String::from_utf8_lossy(path).into_owned();
    if flags & !FIFO_STATUS != 0 || flags & 3 == 3 {
        return Err(Error::Unsupported(format!("fd {fd} is a FIFO ({shown}) with status flags {flags:o}")));
    }
    let reads = flags & 3 != libc::O_WRONLY as u32;
    let (_, queued) = pipe_state(pid, fd, reads)?;
    if queued.len() as u64 > MAX_FIFO_QUEUE {
        return Err(Error::Unsupported(format!(
            "fd {fd} is a FIFO ({shown}) with {} bytes queued, more than a FIFO opened anew takes ({MAX_FIFO_QUEUE})",
            queued.len()
        )));
    }
    let mut f = FileDesc::new(FileKind::Fifo);
    f.status_flags = flags;
    f.path = ByteString(path.to_vec());
    f.data = Blob(queued);
    Ok(f)
}

/// A FIFO record as `inspect` shows it.
pub fn show(f: &FileDesc) -> String {
    let mode = match f.status_flags & 3 {
        0 => "read end",
        1 => "write end",
        _ => "read-write",
    };
    let nonblock = if f.status_flags & libc::O_NONBLOCK as u32 != 0 { ", nonblocking" } else { "" };
    format!("named FIFO {}, {mode}, {} bytes queued{nonblock}", String::from_utf8_lossy(&f.path.0), f.data.0.len())
}
