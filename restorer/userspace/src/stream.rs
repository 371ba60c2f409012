//! `ckpt-restore -`: an image read from standard input (a pipe, a socket,
//! `ssh host ckpt-restore -`) is copied into a sealed memfd and restored
//! from there like an image file, by this process itself: no binfmt_misc
//! entry, no module and no disk is involved.
//!
//! Exactly the image's bytes are read (its header gives its length), so
//! whatever follows it in the stream stays on fd 0, which the restored
//! process inherits (the image marks its stdio inherited): `(ckpt-writer
//! dump PID -o -; cat) | ckpt-restore -` hands the rest of the stream to
//! it; with `--stdin FILE` fd 0 becomes FILE instead (main.rs).

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

use image_format::{FormatError, Header, HEADER_SIZE, MAGIC};
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use restore_policy::Reason;

use crate::error::{internal, refuse, Checked};

/// The memfd's name, as /proc/PID/maps shows the restored memory mapped
/// from it (`/memfd:ckpt-stream (deleted)`).
const NAME: &std::ffi::CStr = c"ckpt-stream";

/// The pipe buffer asked for (fs.pipe-max-size's default).
const PIPE_SIZE: i32 = 1 << 20;

/// A new memfd for the image: close-on-exec, sealable, and never
/// executable itself (`MFD_NOEXEC_SEAL`, Linux 6.3; its pages may still
/// be mapped executable, which is all a restore does with them). Older
/// kernels reject the flag with EINVAL: then without it.
fn new_memfd() -> Checked<File> {
    let base = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let noexec = MFdFlags::from_bits_retain(libc::MFD_NOEXEC_SEAL);
    let fd = match memfd_create(NAME, base | noexec) {
        Err(nix::errno::Errno::EINVAL) => memfd_create(NAME, base),
        r => r,
    }
    .map_err(|e| internal("memfd_create", e))?;
    Ok(File::from(fd))
}

/// Reads into `buf` until it is full or the stream ends; returns the bytes read.
fn read_full(from: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match from.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Copies the image on standard input into a sealed memfd and returns it.
/// A stream that ends early is refused as `truncated`, one that does not
/// start with an image header with the header's reason (`bad-magic`, ...).
pub fn image_from_stdin() -> Checked<File> {
    // SAFETY: fd 0 stays open for the whole program; ManuallyDrop keeps
    // this File from closing it, and reads through it are unbuffered, so
    // nothing past the image is taken from the stream.
    let stdin = ManuallyDrop::new(unsafe { File::from_raw_fd(0) });
    if nix::unistd::isatty(&*stdin).unwrap_or(false) {
        return Err(refuse(Reason::ImageReadError, "standard input is a terminal, not an image stream"));
    }
    // A larger pipe buffer means fewer wake-ups of the writer and of us
    // (measured: 8x fewer splices, ~10% faster at 256 MiB). Not a pipe, or above
    // fs.pipe-max-size for a user: the default buffer does too.
    let _ = fcntl(&*stdin, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    let read_err = |e: std::io::Error| refuse(Reason::ImageReadError, format!("standard input: {e}"));
    let truncated = |got: u64, want: u64| refuse(Reason::Format(FormatError::Truncated), format!("the stream ended after {got} of {want} bytes"));

    let mut header = [0u8; HEADER_SIZE];
    let got = read_full(&mut &*stdin, &mut header).map_err(read_err)?;
    if got == 0 {
        return Err(refuse(Reason::Format(FormatError::Truncated), "the stream is empty"));
    }
    if got < HEADER_SIZE {
        // A start of an image cut short, or something else (named by the
        // header's checks on the bytes there are, zero-padded).
        if header[..got.min(MAGIC.len())] == MAGIC[..got.min(MAGIC.len())] {
            return Err(refuse(Reason::Format(FormatError::Truncated), format!("the stream ended after {got} bytes, within the header")));
        }
    }
    let h = Header::parse(&header)?;
    let mut memfd = new_memfd()?;
    let write_err = |e: std::io::Error| internal("copying the stream into a memfd", e);
    memfd.write_all(&header).map_err(write_err)?;
    let rest = h.file_len - HEADER_SIZE as u64;
    // std's copy splices pipe to memfd where it can (no user-space copy).
    let copied = std::io::copy(&mut (&*stdin).take(rest), &mut memfd).map_err(read_err)?;
    if copied < rest {
        return Err(truncated(HEADER_SIZE as u64 + copied, h.file_len));
    }
    let seals = SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_SEAL;
    fcntl(&memfd, FcntlArg::F_ADD_SEALS(seals)).map_err(|e| internal("sealing the memfd", e))?;
    Ok(memfd)
}
