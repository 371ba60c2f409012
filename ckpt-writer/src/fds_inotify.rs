//! inotify instances: their watches from /proc/PID/fdinfo (wd, mask, and
//! a file handle of the watched inode), each handle turned back into a
//! path with open_by_handle_at on a mount of its filesystem (needs
//! CAP_DAC_READ_SEARCH, which the dumping root has). Refused, naming the
//! fd: a watch whose path is gone (deleted, or not reachable from a
//! mount), watches not numbered 1, 2, ... (some were removed), unread
//! events.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use image_format::v1::inotify::INOTIFY_MASK_KNOWN;
use image_format::{Blob, FileDesc, FileKind};

use crate::error::{Error, Result};

/// One watch as fdinfo shows it.
struct Seen {
    wd: u32,
    sdev: u32,
    mask: u32,
    handle_type: i32,
    handle: Vec<u8>,
}

/// Whether an fdinfo watch line carries the watched inode's file handle.
fn has_handle(line: &str) -> bool {
    line.split_whitespace().any(|f| f.starts_with("f_handle:"))
}

fn parse(line: &str) -> Option<Seen> {
    let rest = line.strip_prefix("inotify ")?;
    let field = |name: &str| rest.split_whitespace().find_map(|f| f.strip_prefix(name));
    let hex = |name: &str| field(name).and_then(|v| u32::from_str_radix(v, 16).ok());
    let handle = field("f_handle:")?;
    let bytes = (0..handle.len() / 2).map(|i| u8::from_str_radix(&handle[2 * i..2 * i + 2], 16).ok()).collect::<Option<Vec<u8>>>()?;
    Some(Seen { wd: hex("wd:")?, sdev: hex("sdev:")?, mask: hex("mask:")?, handle_type: hex("fhandle-type:")? as i32, handle: bytes })
}

/// A mount point of the filesystem whose kernel device number is `sdev`
/// (major << 20 | minor), mounted at its root.
fn mount_of(sdev: u32) -> Option<String> {
    let want = format!("{}:{}", sdev >> 20, sdev & 0xfffff);
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.get(2) == Some(&want.as_str()) && f.get(3) == Some(&"/")).then(|| f.get(4).map(|m| m.replace("\\040", " ")))?
    })
}

/// The path of the watched inode, or why there is none.
fn path_of(w: &Seen) -> std::result::Result<Vec<u8>, String> {
    let mount = mount_of(w.sdev).ok_or("its filesystem is not mounted here")?;
    let dir = std::fs::File::open(&mount).map_err(|e| format!("opening {mount}: {e}"))?;
    // struct file_handle: handle_bytes (u32), handle_type (int), bytes.
    let mut fh = Vec::with_capacity(8 + w.handle.len());
    fh.extend_from_slice(&(w.handle.len() as u32).to_ne_bytes());
    fh.extend_from_slice(&w.handle_type.to_ne_bytes());
    fh.extend_from_slice(&w.handle);
    // SAFETY: fh is a struct file_handle of handle_bytes bytes, alive for
    // the call; the result is a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_open_by_handle_at, dir.as_raw_fd(), fh.as_mut_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(format!("its inode cannot be opened again ({})", std::io::Error::last_os_error()));
    }
    // SAFETY: raw is a new fd nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|e| e.to_string())?;
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(link.as_os_str()).to_vec();
    if bytes.ends_with(b" (deleted)") || bytes.first() != Some(&b'/') {
        return Err(format!("its path is gone ({})", link.display()));
    }
    Ok(bytes)
}

/// The FILES record of the inotify instance at the target's fd `fd`.
pub fn describe(pid: i32, fd: i32, flags: u32) -> Result<FileDesc> {
    let refuse = |why: String| Error::Unsupported(format!("fd {fd} is an inotify instance {why}"));
    if flags & !0o4000 != 0 {
        return Err(refuse(format!("with status flags {flags:o}")));
    }
    let text = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).map_err(|_| Error::TargetGone { pid, during: format!("reading fdinfo of fd {fd}") })?;
    let mut seen: Vec<Seen> = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("inotify ")) {
        if !has_handle(line) {
            // Kernels built without CONFIG_FHANDLE show no handle, and the
            // handle is how the writer finds the watched path.
            return Err(refuse("whose watches show no file handle in fdinfo (a kernel built without CONFIG_FHANDLE): their paths cannot be found".into()));
        }
        seen.push(parse(line).ok_or_else(|| Error::sys(format!("parsing /proc/{pid}/fdinfo/{fd}"), std::io::ErrorKind::InvalidData))?);
    }
    seen.sort_by_key(|w| w.wd);
    let copy = crate::fds_shared::copy_of_fd(pid, fd)?;
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer we pass.
    if unsafe { libc::ioctl(copy.as_raw_fd(), libc::FIONREAD, &mut unread) } < 0 {
        return Err(Error::sys(format!("FIONREAD on the inotify fd {fd} of pid {pid}"), std::io::Error::last_os_error()));
    }
    if unread > 0 {
        return Err(refuse(format!("with {unread} bytes of unread events (not supported yet)")));
    }
    let mut data = Vec::new();
    for (i, w) in seen.iter().enumerate() {
        if w.wd as usize != i + 1 {
            return Err(refuse("whose watches are not numbered 1, 2, ... (a watch was removed; not supported yet)".into()));
        }
        if w.mask & !INOTIFY_MASK_KNOWN != 0 {
            return Err(refuse(format!("with watch {} of mask {:#x}", w.wd, w.mask)));
        }
        let path = path_of(w).map_err(|why| refuse(format!("with watch {} on an inode whose path cannot be named: {why}", w.wd)))?;
        data.extend_from_slice(&w.wd.to_le_bytes());
        data.extend_from_slice(&w.mask.to_le_bytes());
        data.extend_from_slice(&(path.len() as u32).to_le_bytes());
        data.extend_from_slice(&path);
    }
    let mut f = FileDesc::new(FileKind::Inotify);
    f.status_flags = flags;
    f.values[0] = seen.len() as u64;
    f.data = Blob(data);
    Ok(f)
}

/// An inotify record as `inspect` shows it.
pub fn describe_record(f: &FileDesc) -> String {
    let mut out = format!("inotify, flags {:#o}, {} watch(es)", f.status_flags, f.values[0]);
    for w in image_format::v1::inotify::watches(&f.data.0).flatten() {
        out += &format!("; wd {} mask {:#x} {}", w.wd, w.mask, String::from_utf8_lossy(w.path));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_line_with_and_without_its_file_handle() {
        let with = "inotify wd:1 ino:2c sdev:f mask:fce ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:2c00000012345678";
        assert!(has_handle(with));
        let w = parse(with).unwrap();
        assert_eq!((w.wd, w.sdev, w.mask, w.handle_type), (1, 0xf, 0xfce, 1));
        assert_eq!(w.handle, [0x2c, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
        // CONFIG_FHANDLE off: the same line ends after ignored_mask.
        let without = "inotify wd:1 ino:2c sdev:f mask:fce ignored_mask:0";
        assert!(!has_handle(without));
        assert!(parse(without).is_none());
    }
}
