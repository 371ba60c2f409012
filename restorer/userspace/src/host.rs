//! The facts the shared policy asks for, gathered with system calls and the
//! caller's credentials, and the files kept open for the memory steps.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::sync::OnceLock;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};

use image_format::Image;
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;
use nix::sys::statvfs::{fstatvfs, FsFlags};
use nix::unistd::{access, AccessFlags};
use restore_policy::{errno, FileFacts, Host, MappedFile, Reason, Refusal, VdsoHere};

use crate::addr::Own;
use crate::ops;

/// ckpt-restore as the policy's host.
pub struct UserHost<'a> {
    pub image_file: &'a File,
    /// Where the image lies in the file: a tree member's offset, else 0.
    pub image_base: u64,
    pub own: &'a Own,
    pub stub_len: u64,
    /// The files the image maps, in order of first use.
    pub files: Vec<File>,
    /// For each region, the index in `files` of its file.
    pub file_of: Vec<Option<usize>>,
}

fn noexec(fd: impl AsFd) -> bool {
    fstatvfs(fd).is_ok_and(|s| s.flags().contains(FsFlags::ST_NOEXEC))
}

/// Whether the file carries a `security.capability` attribute.
fn file_capabilities(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: the name is a NUL-terminated literal; a null buffer of size 0
    // asks only for the value's length, so nothing is written.
    let len = unsafe { libc::fgetxattr(file.as_raw_fd(), c"security.capability".as_ptr(), std::ptr::null_mut(), 0) };
    len > 0
}

/// Whether this process is in the initial user namespace, whose uid_map
/// alone maps every uid to itself ("0 0 4294967295"), or on a kernel
/// without user namespaces (no uid_map); a namespace made with such a map
/// anyway is taken for the initial one, which only widens what the kernel
/// then still refuses after the point of no return.
/// Read once: the policy asks more than once, and nothing before the point
/// of no return changes it.
fn in_initial_user_namespace() -> bool {
    static INITIAL: OnceLock<bool> = OnceLock::new();
    *INITIAL.get_or_init(|| {
        // One line is some 34 bytes; a map that fills the buffer has
        // several and is no initial namespace's.
        let mut buf = [0u8; 256];
        let room = buf.len();
        let map = match read_small("/proc/self/uid_map", &mut buf) {
            Ok(map) if map.len() < room => map,
            Ok(_) => return false,
            Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
        };
        let mut lines = map.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        let first: Option<Vec<&[u8]>> = lines.next().map(|l| l.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()).collect());
        lines.next().is_none() && first.is_some_and(|f| f == [&b"0"[..], b"0", b"4294967295"])
    })
}

/// A small /proc file (a sysctl, a uid_map) read into `buf` with one
/// read(2): such files give all they hold to the first read. No allocation
/// and no statx, which std::fs::read spends on a size that /proc reports as 0.
fn read_small<'b>(path: &str, buf: &'b mut [u8]) -> std::io::Result<&'b [u8]> {
    let n = File::open(path)?.read(buf)?;
    Ok(&buf[..n])
}

/// A sysctl holding one number, or None.
fn sysctl_number(path: &str) -> Option<u64> {
    let mut buf = [0u8; 32];
    let text = read_small(path, &mut buf).ok()?;
    std::str::from_utf8(text).ok()?.trim().parse().ok()
}

/// This process's effective capability set (capget(2), version 3: two
/// 32-bit words); 0 if the call fails. One system call instead of reading
/// /proc/self/status, made once: the policy asks several times, and the
/// set does not change before the point of no return.
pub(crate) fn effective_capabilities() -> u64 {
    static EFFECTIVE: OnceLock<u64> = OnceLock::new();
    *EFFECTIVE.get_or_init(capget_effective)
}

fn capget_effective() -> u64 {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header { version: VERSION_3, pid: 0 };
    let mut data = [Data::default(); 2];
    // SAFETY: capget writes two `Data` records (version 3) into `data`,
    // which has room for them, and may write the version into `header`.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header as *mut Header, data.as_mut_ptr()) };
    if r != 0 {
        return 0;
    }
    u64::from(data[0].effective) | u64::from(data[1].effective) << 32
}

fn os_errno(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(errno::EIO)
}

impl Host for UserHost<'_> {
    type File = File;

    /// The module's rule, on the image file's own bits: setuid, setgid
    /// with group execute (mandatory locking's setgid without it grants
    /// nothing), or file capabilities. binfmt_misc runs ckpt-restore with
    /// the caller's credentials (the entry never has the `C` flag), so such
    /// an image would not gain its privilege here either; it is refused so
    /// that both restorers give the same answer and restoring never looks
    /// like it could grant anything.
    fn grants_privilege(&mut self) -> bool {
        let Ok(meta) = self.image_file.metadata() else { return true };
        let mode = meta.mode();
        if mode & libc::S_ISUID != 0 || mode & (libc::S_ISGID | libc::S_IXGRP) == libc::S_ISGID | libc::S_IXGRP {
            return true;
        }
        file_capabilities(self.image_file)
    }

    fn cpu_xstate(&mut self) -> (u64, u32) {
        crate::cpu::xstate()
    }

    fn rlimit_nproc(&mut self) -> u64 {
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NPROC).map_or(u64::MAX, |(soft, _)| soft)
    }

    fn rlimit_sigpending(&mut self) -> u64 {
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_SIGPENDING).map_or(u64::MAX, |(soft, _)| soft)
    }

    fn may_set_creds(&mut self) -> bool {
        // linux/capability.h: CAP_SETGID 6, CAP_SETUID 7, CAP_SETPCAP 8.
        effective_capabilities() & (1 << 6 | 1 << 7 | 1 << 8) == (1 << 6 | 1 << 7 | 1 << 8) && in_initial_user_namespace()
    }

    fn memlock_allowance(&mut self) -> u64 {
        // linux/capability.h: CAP_IPC_LOCK 14, which mlock wants in the
        // initial user namespace (capable(), not ns_capable()).
        if effective_capabilities() & (1 << 14) != 0 && in_initial_user_namespace() {
            return u64::MAX;
        }
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK).map_or(u64::MAX, |(soft, _)| soft)
    }

    fn rlimit_as(&mut self) -> u64 {
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_AS).map_or(u64::MAX, |(soft, _)| soft)
    }

    fn max_map_count(&mut self) -> u64 {
        sysctl_number("/proc/sys/vm/max_map_count").unwrap_or(65_530)
    }

    fn task_size(&mut self) -> u64 {
        image_format::limits::USER_SPACE_END
    }

    fn stub_len(&self) -> u64 {
        self.stub_len
    }

    fn plan_ops(&self, image: &Image<'_>) -> usize {
        ops::max_ops(image)
    }

    fn image_mappable(&mut self, exec: bool) -> bool {
        !(exec && noexec(self.image_file))
    }

    fn open(&mut self, path: &[u8], flags: u32) -> Result<File, i32> {
        let path = std::ffi::OsStr::from_bytes(path);
        let fd = open(path, OFlag::from_bits_retain(flags as i32), Mode::empty()).map_err(|e| e as i32)?;
        Ok(File::from(fd))
    }

    fn facts(&mut self, file: &File) -> Result<FileFacts, i32> {
        let m = file.metadata().map_err(os_errno)?;
        Ok(FileFacts {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_sec: m.mtime(),
            mtime_nsec: m.mtime_nsec() as u32,
            mode: m.mode(),
            rdev: m.rdev(),
            noexec: noexec(file),
        })
    }

    fn keep_mapped(&mut self, region: u32, file: MappedFile<File>) -> Result<(), Refusal> {
        let index = match file {
            MappedFile::New(f) => {
                self.files.push(f);
                self.files.len() - 1
            }
            MappedFile::SameAsPrevious => self.files.len().checked_sub(1).ok_or(Refusal::from(Reason::Internal))?,
        };
        let slot = region as usize;
        if self.file_of.len() <= slot {
            self.file_of.resize(slot + 1, None);
        }
        self.file_of[slot] = Some(index);
        Ok(())
    }

    /// chdir's conditions, without changing ours: a directory the caller
    /// may search.
    fn cwd(&mut self, path: &[u8]) -> Result<(), i32> {
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
        let m = std::fs::metadata(path).map_err(os_errno)?;
        if !m.is_dir() {
            return Err(errno::ENOTDIR);
        }
        access(path, AccessFlags::X_OK).map_err(|e| e as i32)
    }

    fn vdso_here(&mut self) -> Option<VdsoHere> {
        let v = &self.own.vdso;
        let len = |r: (u64, u64)| r.1 - r.0;
        Some(VdsoHere { vvar_len: len(v.vvar?), vvar_vclock_len: v.vvar_vclock.map(len), vdso_len: len(v.vdso?) })
    }

    fn vdso_matches(&mut self, stored_offset: u64, len: u64) -> Result<bool, Refusal> {
        let internal = |e: std::io::Error| Refusal::with_errno(Reason::Internal, os_errno(e), restore_policy::Detail::None);
        let (at, end) = self.own.vdso.vdso.ok_or(Refusal::from(Reason::CallerHasNoVdso))?;
        // The policy asks for this kernel's vdso length; more than is
        // mapped would read past it.
        if len > end - at {
            return Err(Refusal::with_errno(Reason::CallerVdsoUnreadable, errno::EIO, restore_policy::Detail::None));
        }
        // SAFETY: [at, at + len) lies in this process's [vdso] mapping (read
        // from /proc/self/maps; checked just above), which is readable (r-x),
        // never written, and stays mapped until the stub's teardown, long
        // after this borrow ends; this process is single-threaded until then.
        let live = unsafe { std::slice::from_raw_parts(at as *const u8, len as usize) };
        // The stored copy a page at a time on the stack: no allocation.
        let mut stored = [0u8; 4096];
        for (i, live) in live.chunks(stored.len()).enumerate() {
            let part = &mut stored[..live.len()];
            self.image_file.read_exact_at(part, self.image_base + stored_offset + (i * 4096) as u64).map_err(internal)?;
            if part != live {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn probe_socket(&mut self, probe: &restore_policy::SocketProbe<'_>) -> Result<(), i32> {
        crate::probe::probe_socket(probe)
    }

    fn rlimit_nofile(&mut self) -> u64 {
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(u64::MAX, |(soft, _)| soft)
    }

    fn may_install_seccomp(&mut self) -> bool {
        // linux/capability.h: CAP_SYS_ADMIN 21 (seccomp(2) asks it of the
        // caller's own user namespace, where its effective set counts).
        effective_capabilities() & (1 << 21) != 0
    }

    fn may_replace_exe(&mut self) -> bool {
        // linux/capability.h: CAP_SYS_ADMIN 21, CAP_CHECKPOINT_RESTORE 40.
        effective_capabilities() & (1 << 21 | 1 << 40) != 0
    }

    fn fd_limits(&mut self) -> restore_policy::FdLimits {
        // ckpt-restore runs with the caller's credentials (no `C` flag):
        // its effective capabilities are the caller's.
        let cap_eff = effective_capabilities();
        let has = |cap: u32| cap_eff & (1u64 << cap) != 0;
        // linux/capability.h (the libc crate has no CAP_* numbers).
        const CAP_SYS_RESOURCE: u32 = 24;
        const CAP_WAKE_ALARM: u32 = 35;
        let pipe_max_size = sysctl_number("/proc/sys/fs/pipe-max-size").unwrap_or(1 << 20);
        restore_policy::FdLimits {
            pipe_max_size,
            exceed_pipe_max: has(CAP_SYS_RESOURCE),
            wake_alarm: has(CAP_WAKE_ALARM),
        }
    }
}

