//! Reads an image's header, metadata and tail (never its page data: pages
//! are mapped lazily from the file) and validates them with the shared
//! validator, as the kernel module does.
//!
//! The image is the file the kernel opened for the execve when binfmt_misc
//! runs us with the `O` flag (`AT_EXECFD`), and the path only when
//! ckpt-restore is run by hand: see `exec_fd`.

use std::fs::File;
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::fs::FileExt;

use image_format::{Header, Image, FormatError, TreeProcess, HEADER_SIZE, TRAILER_SIZE};
use image_format::limits::MAX_PAGE_RUNS;

use restore_policy::Reason;

use crate::error::{open_failure, refuse, Checked};

/// Largest tail a valid image has: section header, one CRC per run, trailer.
const MAX_TAIL: u64 = 32 + 4 * MAX_PAGE_RUNS as u64 + TRAILER_SIZE as u64 + 8;

/// An open image with the parts the validator reads.
pub struct Loaded {
    pub file: File,
    header: Vec<u8>,
    meta: Vec<u8>,
    tail: Vec<u8>,
    len: u64,
}

/// The fd binfmt_misc passed in `AT_EXECFD`, if any.
///
/// With the `O` flag (ckpt-writer's registration) the kernel opens the
/// executed file itself, checking only execute permission, and installs it
/// in the new process (not close-on-exec, at the lowest free number: 0 if
/// the caller had closed stdin); binfmt_elf then names it in `AT_EXECFD`.
/// That entry is always this execve's own: the kernel builds the auxiliary
/// vector afresh for every execve and adds `AT_EXECFD` only when it opened
/// the file for the interpreter, so run by hand (`ckpt-restore IMAGE`) or
/// through an entry without `O` there is none, whatever fds were inherited.
/// The fd is the file the caller executed even if its path was renamed or
/// replaced since; the path (argv[1]) only names it in messages. Whatever
/// the file is, it is validated as an image like any other.
pub fn exec_fd() -> Option<RawFd> {
    // getauxval returns 0 both for "absent" and for fd 0; errno tells.
    nix::errno::Errno::clear();
    // SAFETY: getauxval only reads the auxiliary vector the C library saved.
    let fd = unsafe { libc::getauxval(libc::AT_EXECFD) };
    if nix::errno::Errno::last_raw() == libc::ENOENT {
        return None;
    }
    RawFd::try_from(fd).ok()
}

/// The header, metadata and tail of the image at `base` in `file`, of
/// `len` bytes (the whole file, or a tree member's length).
fn read_parts(file: &File, base: u64, len: u64, path: &str) -> Checked<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let read_err = |e: std::io::Error| refuse(Reason::ImageReadError, format!("{path}: {e}"));
    let mut header = vec![0u8; HEADER_SIZE.min(len as usize)];
    file.read_exact_at(&mut header, base).map_err(read_err)?;
    // Only the fields needed to find the other ranges; Image::parse checks all.
    let h = Header::parse(&header)?;
    let end = |off: u64, n: u64| off.checked_add(n).filter(|&e| e <= len);
    if end(h.metadata_offset, h.metadata_len).is_none() || end(h.tail_offset, h.tail_len).is_none() {
        return Err(FormatError::Truncated.into());
    }
    if h.tail_len > MAX_TAIL {
        return Err(FormatError::BadPageCrcTable.into());
    }
    let mut meta = vec![0u8; h.metadata_len as usize];
    file.read_exact_at(&mut meta, base + h.metadata_offset).map_err(read_err)?;
    let mut tail = vec![0u8; h.tail_len as usize];
    file.read_exact_at(&mut tail, base + h.tail_offset).map_err(read_err)?;
    Ok((header, meta, tail))
}

/// A tree member's parts, read at its place in the file.
pub struct Member {
    header: Vec<u8>,
    meta: Vec<u8>,
    tail: Vec<u8>,
    /// Its TREE record.
    pub rec: TreeProcess,
}

impl Member {
    /// Validates and returns the member's image.
    pub fn image(&self) -> Result<Image<'_>, FormatError> {
        Image::parse_member(&self.header, &self.meta, &self.tail, &self.rec)
    }
}

impl Loaded {
    /// Opens the image, `AT_EXECFD` (binfmt_misc) or else `path` with the
    /// caller's credentials, and reads what validation needs.
    pub fn open(path: &str) -> Checked<Loaded> {
        let file = match exec_fd() {
            Some(fd) => {
                // The kernel's, but not taken on trust: an fd that is not
                // open (closed before main) is a clear error, and only then
                // does a File own it.
                // SAFETY: F_GETFD takes a plain integer and reads no memory;
                // a number that is not open gives EBADF.
                if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                    let e = std::io::Error::last_os_error();
                    return Err(refuse(Reason::ImageFdNotOpen, format!("{path}: AT_EXECFD {fd}: {e}")));
                }
                // SAFETY: the kernel installed this fd for us and nothing
                // else in this process owns it; the File takes it over.
                unsafe { File::from_raw_fd(fd) }
            }
            None => File::open(path).map_err(|e| open_failure(e, path))?,
        };
        Loaded::read(file, path)
    }

    /// Reads what validation needs from an open image (`path` names it in
    /// messages): a file, or the sealed memfd of a stream (stream.rs).
    pub fn read(file: File, path: &str) -> Checked<Loaded> {
        let read_err = |e: std::io::Error| refuse(Reason::ImageReadError, format!("{path}: {e}"));
        let meta_data = file.metadata().map_err(read_err)?;
        if !meta_data.is_file() {
            return Err(refuse(Reason::NotARegularFile, path));
        }
        let len = meta_data.len();
        let (header, meta, tail) = read_parts(&file, 0, len, path)?;
        Ok(Loaded { file, header, meta, tail, len })
    }

    /// Reads the member image of a tree that TREE record `rec` (of this
    /// file's validated root) places in the file.
    pub fn member(&self, rec: &TreeProcess, path: &str) -> Checked<Member> {
        if rec.image_offset.checked_add(rec.image_len).is_none_or(|e| e > self.len) {
            return Err(FormatError::Truncated.into());
        }
        let (header, meta, tail) = read_parts(&self.file, rec.image_offset, rec.image_len, path)?;
        Ok(Member { header, meta, tail, rec: *rec })
    }

    /// Validates and returns the image (call once: validation reads all of
    /// the metadata).
    pub fn image(&self) -> Result<Image<'_>, FormatError> {
        Image::parse(&self.header, &self.meta, &self.tail, self.len)
    }
}
