// SPDX-License-Identifier: GPL-2.0
//! The one file with `unsafe`: the boundary between shim.c and the Rust logic.
//!
//! shim.c owns the kernel structures that 6.12's Rust bindings cannot see
//! (`struct linux_binfmt`, the fields of `struct linux_binprm`). Everything it
//! offers is wrapped here into safe types, so that loader.rs and the files it
//! uses hold no `unsafe` at all:
//! - [`Registration`]: the registered binfmt handler; dropping it unregisters.
//! - [`Exec`]: the file being executed, for the duration of one `load_binary`,
//!   before the point of no return: it can only read and check.
//! - [`Committed`]: the same exec after [`Exec::commit`], the point of no
//!   return: the caller's old process image is gone, and only this type can
//!   map memory into the new one and start it.
//! - [`FailureLog`]: names a failed step after the point of no return.
//! - [`OpenFile`]: a file opened with the caller's credentials; dropping it
//!   closes it.
//!
//! The two kinds of kernel object that cross the boundary are the bindings'
//! own opaque types, `bindings::linux_binprm` and `bindings::file`, so the
//! compiler keeps them apart. Liveness is stated once, as the invariant of
//! [`Bprm`]; each wrapper adds only what its phase of the exec guarantees.

use core::ffi::{c_int, c_long, c_ulong};
use core::marker::PhantomData;
use core::mem::{offset_of, size_of};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::error::Error;
use kernel::prelude::*;

use crate::loader;

extern "C" {
    fn chkpt_shim_register();
    fn chkpt_shim_unregister();
    fn chkpt_shim_enabled() -> bool;
    fn chkpt_shim_yield() -> bool;
    fn chkpt_shim_file_size(bprm: *mut bindings::linux_binprm) -> i64;
    fn chkpt_shim_read(bprm: *mut bindings::linux_binprm, pos: i64, buf: *mut u8, len: usize) -> isize;
    fn chkpt_shim_log_refusal(bprm: *mut bindings::linux_binprm, reason: *const u8, reason_len: usize, err: c_int);
    fn chkpt_shim_log_failure(bprm: *mut bindings::linux_binprm, step: *const u8, step_len: usize, err: c_int);
    fn chkpt_shim_check_no_privilege(bprm: *mut bindings::linux_binprm) -> c_int;
    fn chkpt_shim_exec_mappable(bprm: *mut bindings::linux_binprm) -> bool;
    fn chkpt_shim_cwd_check(path: *const u8, len: usize) -> c_int;
    fn chkpt_shim_caller_vdso(data: *mut *const u8, vdso_len: *mut u64, vvar_len: *mut u64) -> c_long;
    fn chkpt_shim_cpu_xstate(xcr0: *mut u64, xsave_size: *mut u32);
    fn chkpt_shim_rlimit_as() -> u64;
    fn chkpt_shim_rlimit_nproc() -> u64;
    fn chkpt_shim_rlimit_sigpending() -> u64;
    fn chkpt_shim_memlock_allowance() -> u64;
    fn chkpt_shim_may_set_creds() -> bool;
    fn chkpt_shim_max_map_count() -> u64;
    fn chkpt_shim_task_size() -> u64;
    fn chkpt_shim_pipe_max_size() -> u64;
    fn chkpt_shim_capable(cap: c_int) -> bool;
    fn chkpt_shim_socket_probe(family: c_int, ty: c_int, protocol: c_int, flags: u32, addr: *const u8, len: usize, connect: bool, repair: bool) -> c_int;
    fn chkpt_shim_commit(bprm: *mut bindings::linux_binprm) -> c_int;
    fn chkpt_shim_drop_arg_stack(bprm: *mut bindings::linux_binprm) -> c_int;
    fn chkpt_shim_set_mm_layout(layout: *const MmFields);
    fn chkpt_shim_start(bprm: *mut bindings::linux_binprm, ip: c_ulong, sp: c_ulong, plan: c_ulong);
}

// `bindings::file` is bindgen's full `struct file`, and somewhere inside it
// (through `struct module`) is a field-less placeholder struct that the
// improper_ctypes lint rejects. Only pointers to it cross here, never
// dereferenced in Rust; the kernel's bindings crate allows the lint for the
// same reason.
#[allow(improper_ctypes)]
// Process trees (issue 15).
extern "C" {
    fn chkpt_shim_argc(bprm: *mut bindings::linux_binprm) -> c_int;
    fn chkpt_shim_read_args(bprm: *mut bindings::linux_binprm, buf: *mut u8, len: usize) -> c_long;
    fn chkpt_shim_rlimit_nofile() -> u64;
    fn chkpt_shim_fd_mode(fd: core::ffi::c_uint, mode: *mut u32) -> c_long;
    fn chkpt_shim_fd_stat(fd: core::ffi::c_uint, mode: *mut u32, size: *mut u64) -> c_long;
    fn chkpt_shim_install_image_path(bprm: *mut bindings::linux_binprm) -> c_int;
    fn chkpt_shim_pid_facts(child_namespace: *mut bool, may_set_pids: *mut bool);
    fn chkpt_shim_pid_free(nr: u32) -> bool;
    fn chkpt_shim_own_pid() -> u32;
}

/// PID-namespace mode's facts (policy `PidFacts`) of the caller.
pub(crate) fn pid_facts() -> crate::policy::PidFacts {
    let (mut child_pid_namespace, mut may_set_pids) = (false, false);
    // SAFETY: both are valid bools the shim writes; it reads the current
    // task's PID namespace, which lives as long as the task.
    unsafe { chkpt_shim_pid_facts(&mut child_pid_namespace, &mut may_set_pids) };
    crate::policy::PidFacts { child_pid_namespace, may_set_pids }
}

/// No pid `nr` exists in the caller's PID namespace.
pub(crate) fn pid_free(nr: u32) -> bool {
    // SAFETY: a plain number; the shim looks it up under rcu_read_lock.
    unsafe { chkpt_shim_pid_free(nr) }
}

/// The caller's pid in its PID namespace.
pub(crate) fn own_pid() -> u32 {
    // SAFETY: no argument; reads the current task's tgid.
    unsafe { chkpt_shim_own_pid() }
}

/// The caller's RLIMIT_NOFILE (soft).
pub(crate) fn rlimit_nofile() -> u64 {
    // SAFETY: reads the current task's rlimit; no argument.
    unsafe { chkpt_shim_rlimit_nofile() }
}

/// The mode of the caller's fd `fd`, EBADF if it is not open.
/// The mode and size of the current task's fd `fd`.
pub(crate) fn fd_stat(fd: u64) -> Result<(u32, u64)> {
    let fd = core::ffi::c_uint::try_from(fd).map_err(|_| EBADF)?;
    let (mut mode, mut size) = (0u32, 0u64);
    // SAFETY: `mode` and `size` are valid for the shim's writes; fget/fput
    // on the current task's table hold the file only for the call.
    let err = unsafe { chkpt_shim_fd_stat(fd, &mut mode, &mut size) };
    if err < 0 {
        return Err(Error::from_errno(err as c_int));
    }
    Ok((mode, size))
}

pub(crate) fn fd_mode(fd: u64) -> Result<u32> {
    let fd = core::ffi::c_uint::try_from(fd).map_err(|_| EBADF)?;
    let mut mode = 0u32;
    // SAFETY: `mode` is a valid u32 the shim writes; fget/fput on the
    // current task's table hold the file only for the call.
    let err = unsafe { chkpt_shim_fd_mode(fd, &mut mode) };
    if err < 0 {
        return Err(Error::from_errno(err as c_int));
    }
    Ok(mode)
}

extern "C" {
    fn chkpt_shim_open(path: *const u8, len: usize, flags: c_int, err: *mut c_long) -> *mut bindings::file;
    fn chkpt_shim_close(file: *mut bindings::file);
    fn chkpt_shim_identity(file: *mut bindings::file, id: *mut FileIdentity) -> c_long;
    fn chkpt_shim_exec_file(bprm: *mut bindings::linux_binprm) -> *mut bindings::file;
    fn chkpt_shim_mmap(file: *mut bindings::file, addr: c_ulong, len: c_ulong, prot: c_ulong, flags: c_ulong, off: c_ulong) -> c_ulong;
}

/// `struct chkpt_file_identity` (shim.h).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FileIdentity {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) size: u64,
    pub(crate) mtime_sec: i64,
    pub(crate) mtime_nsec: u64,
    pub(crate) mode: u32,
    /// Non-zero on a noexec mount.
    pub(crate) noexec: u32,
    /// A device's st_rdev, as stat(2) reports it.
    pub(crate) rdev: u64,
}

/// Words of auxv the kernel keeps (`CHKPT_AUXV_WORDS`).
pub(crate) const AUXV_WORDS: usize = 64;

/// `struct chkpt_mm_layout` (shim.h): the mm fields /proc and brk() use.
#[repr(C)]
pub(crate) struct MmFields {
    /// start_code .. env_end, in MmLayout::to_array order.
    pub(crate) layout: [u64; 11],
    pub(crate) auxv: [u64; AUXV_WORDS],
    pub(crate) auxv_len: u64,
}

// The layouts shim.h declares, checked here and, with the same numbers, by
// `_Static_assert`s in shim.c: a field added or moved on one side only
// fails the build on the other.
static_assert!(size_of::<FileIdentity>() == 56);
static_assert!(offset_of!(FileIdentity, dev) == 0);
static_assert!(offset_of!(FileIdentity, ino) == 8);
static_assert!(offset_of!(FileIdentity, size) == 16);
static_assert!(offset_of!(FileIdentity, mtime_sec) == 24);
static_assert!(offset_of!(FileIdentity, mtime_nsec) == 32);
static_assert!(offset_of!(FileIdentity, mode) == 40);
static_assert!(offset_of!(FileIdentity, noexec) == 44);
static_assert!(offset_of!(FileIdentity, rdev) == 48);
static_assert!(AUXV_WORDS == 64);
static_assert!(size_of::<MmFields>() == 608);
static_assert!(offset_of!(MmFields, layout) == 0);
static_assert!(offset_of!(MmFields, auxv) == 88);
static_assert!(offset_of!(MmFields, auxv_len) == 600);

/// Lets the scheduler run something else (`cond_resched()`), then reports a
/// pending fatal signal as `ERESTARTNOHAND`, as the exec code's own loops
/// do (copy_strings). Every loop whose length the image decides calls it
/// once per step.
///
/// Before the point of no return the error ends the exec like a refusal;
/// after it the exec code sees the pending SIGKILL and lets it kill the
/// task instead of sending SIGSEGV. Either way the task never returns to
/// user mode.
pub(crate) fn yield_now() -> Result {
    // SAFETY: cond_resched() and fatal_signal_pending(current) need only a
    // sleepable process context, which every caller (load_binary) is in.
    if unsafe { chkpt_shim_yield() } {
        return Err(ERESTARTNOHAND);
    }
    Ok(())
}

/// What `chdir(path)` would check, with the caller's credentials: the path
/// resolves (following symlinks, relative to the caller's cwd and root) to
/// a directory the caller may search (`MAY_EXEC | MAY_CHDIR`). The error is
/// chdir's: `ENOENT`, `ENOTDIR`, `EACCES`, or another lookup error.
pub(crate) fn cwd_check(path: &[u8]) -> Result {
    // SAFETY: `path` is valid for `path.len()` bytes; the shim copies it
    // into a NUL-terminated kernel string before the lookup.
    let err = unsafe { chkpt_shim_cwd_check(path.as_ptr(), path.len()) };
    if err < 0 {
        return Err(Error::from_errno(err));
    }
    Ok(())
}

/// The caller's vdso: its bytes as this kernel built them, and how large
/// its vvar area is.
#[derive(Clone, Copy)]
pub(crate) struct CallerVdso {
    /// The vdso image's bytes (what the caller's vdso mapping shows, and
    /// what the stub's ARCH_MAP_VDSO_64 maps), its length the vdso's.
    pub(crate) bytes: &'static [u8],
    pub(crate) vvar_len: u64,
}

/// The caller's vdso, if it has one.
pub(crate) fn caller_vdso() -> Option<CallerVdso> {
    let (mut data, mut vdso_len, mut vvar_len) = (core::ptr::null::<u8>(), 0u64, 0u64);
    // SAFETY: the shim reads current->mm's vdso fields; the three pointers
    // are valid and writable for the duration of the call.
    let err = unsafe { chkpt_shim_caller_vdso(&mut data, &mut vdso_len, &mut vvar_len) };
    if err != 0 || data.is_null() {
        return None;
    }
    let len = usize::try_from(vdso_len).ok()?;
    // SAFETY: `data` is a vdso_image's data, `size` (`vdso_len`) bytes of
    // a static array built into the kernel image (arch/x86/entry/vdso),
    // read-only after boot and never freed: valid for reads for 'static.
    let bytes = unsafe { core::slice::from_raw_parts(data, len) };
    Some(CallerVdso { bytes, vvar_len })
}

/// This CPU's XCR0 and the size of a standard-format XSAVE area for it.
pub(crate) fn cpu_xstate() -> (u64, u32) {
    let (mut xcr0, mut size) = (0u64, 0u32);
    // SAFETY: both pointers are valid and writable for the call; xgetbv and
    // cpuid have no other requirement (the shim checks OSXSAVE first).
    unsafe { chkpt_shim_cpu_xstate(&mut xcr0, &mut size) };
    (xcr0, size)
}

/// The caller's RLIMIT_AS soft limit (`u64::MAX` for none).
pub(crate) fn rlimit_as() -> u64 {
    // SAFETY: reads current's signal->rlim; no requirement.
    unsafe { chkpt_shim_rlimit_as() }
}

/// The caller's RLIMIT_NPROC soft limit (`u64::MAX` for none).
pub(crate) fn rlimit_nproc() -> u64 {
    // SAFETY: reads current's signal->rlim; no requirement.
    unsafe { chkpt_shim_rlimit_nproc() }
}

/// The caller's RLIMIT_SIGPENDING (soft).
pub(crate) fn rlimit_sigpending() -> u64 {
    // SAFETY: reads current's signal->rlim; no requirement.
    unsafe { chkpt_shim_rlimit_sigpending() }
}

/// Whether the caller may set any credentials (CAP_SETUID, CAP_SETGID and
/// CAP_SETPCAP in the initial user namespace).
pub(crate) fn may_set_creds() -> bool {
    // SAFETY: reads the current task's credentials; no requirement.
    unsafe { chkpt_shim_may_set_creds() }
}

/// Bytes the caller may mlock: RLIMIT_MEMLOCK (soft), unlimited with
/// CAP_IPC_LOCK.
pub(crate) fn memlock_allowance() -> u64 {
    // SAFETY: reads current's signal->rlim and credentials; no requirement.
    unsafe { chkpt_shim_memlock_allowance() }
}

/// The most mappings a process may have: vm.max_map_count. 6.12 does not
/// export `sysctl_max_map_count` to modules, so the shim reads the sysctl
/// through /proc/sys as the caller; where that fails (a chroot without
/// /proc), the kernel's default (65530).
pub(crate) fn max_map_count() -> u64 {
    // SAFETY: the shim opens and reads a procfs file with the caller's
    // credentials and drops it; no requirement on our side.
    unsafe { chkpt_shim_max_map_count() }
}

/// What the caller may create of open file descriptions: fs.pipe-max-size
/// (read as max_map_count is), CAP_SYS_RESOURCE, CAP_WAKE_ALARM.
/// The policy's socket trial (sockets.rs), on a throwaway socket of the
/// caller's: the failed call's positive errno.
pub(crate) fn socket_probe(p: &crate::policy::SocketProbe<'_>) -> core::result::Result<(), i32> {
    // SAFETY: `p.addr` is valid for `p.addr.len()` bytes; the shim copies
    // at most a sockaddr_storage of them and keeps nothing after the call.
    let err = unsafe { chkpt_shim_socket_probe(c_int::from(p.family), p.ty as c_int, p.protocol as c_int, p.flags, p.addr.as_ptr(), p.addr.len(), p.connect, p.repair) };
    if err < 0 { Err(-err) } else { Ok(()) }
}

/// PR_SET_MM_MAP's exe_fd check for the caller: CAP_CHECKPOINT_RESTORE or
/// CAP_SYS_ADMIN (asked without auditing, as the stub's prctl will ask).
pub(crate) fn may_replace_exe() -> bool {
    // SAFETY: chkpt_shim_capable only reads the current task's credentials.
    unsafe { chkpt_shim_capable(bindings::CAP_CHECKPOINT_RESTORE as c_int) || chkpt_shim_capable(bindings::CAP_SYS_ADMIN as c_int) }
}

pub(crate) fn may_install_seccomp() -> bool {
    // SAFETY: chkpt_shim_capable only reads the current task's credentials.
    unsafe { chkpt_shim_capable(bindings::CAP_SYS_ADMIN as c_int) }
}

pub(crate) fn fd_limits() -> crate::policy::FdLimits {
    // SAFETY: the shim reads a procfs file with the caller's credentials
    // and drops it, and asks capable_noaudit about the caller; no
    // requirement on our side.
    unsafe {
        crate::policy::FdLimits {
            pipe_max_size: chkpt_shim_pipe_max_size(),
            exceed_pipe_max: chkpt_shim_capable(bindings::CAP_SYS_RESOURCE as c_int),
            wake_alarm: chkpt_shim_capable(bindings::CAP_WAKE_ALARM as c_int),
        }
    }
}

/// One past the highest user address of a 64-bit task on this kernel.
pub(crate) fn task_size() -> u64 {
    // SAFETY: returns a constant of this boot; no requirement.
    unsafe { chkpt_shim_task_size() }
}

/// A file opened in the kernel with the caller's credentials.
///
/// # Invariants
///
/// `self.0` is a reference to a `struct file`, taken by `filp_open` and
/// owned by this value: it is released exactly once, by `Drop`.
pub(crate) struct OpenFile(NonNull<bindings::file>);

impl OpenFile {
    /// filp_open(path, flags): permission checks are the caller's, as if it
    /// had called open(2) itself.
    pub(crate) fn open(path: &[u8], flags: u32) -> Result<OpenFile> {
        let mut err: c_long = 0;
        // SAFETY: `path` is valid for `path.len()` bytes (the shim copies it
        // into a NUL-terminated kernel string); `err` is a valid c_long.
        let f = unsafe { chkpt_shim_open(path.as_ptr(), path.len(), flags as c_int, &mut err) };
        match NonNull::new(f) {
            // INVARIANT: a non-NULL result of chkpt_shim_open is a new
            // reference from filp_open, handed to us.
            Some(f) => Ok(OpenFile(f)),
            None => Err(Error::from_errno(if err < 0 { err as c_int } else { -(ENOMEM.to_errno()) })),
        }
    }

    /// stat(2)-like identity of the open file.
    pub(crate) fn identity(&self) -> Result<FileIdentity> {
        let mut id = FileIdentity::default();
        // SAFETY: by the type invariant, self.0 is a file reference we hold;
        // `id` is a valid, writable FileIdentity with the C layout (checked
        // at build time above).
        let err = unsafe { chkpt_shim_identity(self.0.as_ptr(), &mut id) };
        if err < 0 {
            return Err(Error::from_errno(err as c_int));
        }
        Ok(id)
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        // SAFETY: by the type invariant, self.0 is a reference we own, and
        // Drop runs once.
        unsafe { chkpt_shim_close(self.0.as_ptr()) };
    }
}

/// The binfmt handler, registered for as long as this value lives.
///
/// # Invariants
///
/// shim.c's `struct linux_binfmt` is registered exactly while a
/// `Registration` exists, and at most one exists.
pub(crate) struct Registration(());

impl Registration {
    /// Registers the handler. Called once, by module init; the module owns
    /// the value, so Drop unregisters before the module text goes away.
    pub(crate) fn new() -> Self {
        // SAFETY: registers shim.c's static `struct linux_binfmt`, which is
        // not registered yet: only module init creates a Registration, once.
        unsafe { chkpt_shim_register() };
        // INVARIANT: registered just above, and this is the only value.
        Registration(())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the handler is registered.
        unsafe { chkpt_shim_unregister() };
    }
}

/// Whether an admin left restore switched on (module parameter `enabled`).
pub(crate) fn restore_enabled() -> bool {
    // SAFETY: reads a module parameter with READ_ONCE; no other requirement.
    unsafe { chkpt_shim_enabled() }
}

/// The `struct linux_binprm` of the exec in progress.
///
/// # Invariants
///
/// `self.0` points to the `linux_binprm` of an exec whose `load_binary`
/// call (`chkpt_rust_load_binary`) is running and outlives `'a`. For all of
/// `'a` the binprm is not freed, its `file` is open and its `filename` is a
/// valid string: the exec code holds both until load_binary returns.
#[derive(Clone, Copy)]
struct Bprm<'a>(NonNull<bindings::linux_binprm>, PhantomData<&'a mut bindings::linux_binprm>);

impl Bprm<'_> {
    fn ptr(self) -> *mut bindings::linux_binprm {
        self.0.as_ptr()
    }

    /// kernel_read of the executed file at `pos` into all of `buf`; a short
    /// read is `EIO`.
    fn read_exact_at(self, pos: u64, buf: &mut [u8]) -> Result {
        let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
        // SAFETY: by the type invariant the binprm is live and its file
        // open. `buf` is a valid, writable slice of exactly `buf.len()`
        // bytes, which kernel_read fills at most.
        let got = unsafe { chkpt_shim_read(self.ptr(), pos, buf.as_mut_ptr(), buf.len()) };
        if got < 0 {
            return Err(Error::from_errno(got as c_int));
        }
        if got as usize != buf.len() {
            return Err(EIO);
        }
        Ok(())
    }
}

/// The file being executed, before the point of no return: it can only read
/// and check, and leaves the caller as it was.
///
/// # Invariants
///
/// `bprm` is live for `'a` (see [`Bprm`]) and `begin_new_exec` has not run
/// for it: the caller's process image is intact. `head` is the binprm's
/// `buf`, unchanged for `'a`.
pub(crate) struct Exec<'a> {
    bprm: Bprm<'a>,
    head: &'a [u8],
}

impl<'a> Exec<'a> {
    /// The first bytes of the file, as the exec code already read them.
    pub(crate) fn head(&self) -> &[u8] {
        self.head
    }

    /// The file's size in bytes.
    pub(crate) fn file_size(&self) -> u64 {
        // SAFETY: by the type invariant the binprm is live and its file open.
        let size = unsafe { chkpt_shim_file_size(self.bprm.ptr()) };
        u64::try_from(size).unwrap_or(0)
    }

    /// Fills `buf` from the file at `pos`; a short read is `EIO`.
    pub(crate) fn read_exact_at(&self, pos: u64, buf: &mut [u8]) -> Result {
        self.bprm.read_exact_at(pos, buf)
    }

    /// False if the image file has setuid/setgid bits or file capabilities,
    /// which would change the caller's credentials: restoring grants nothing.
    pub(crate) fn grants_no_privilege(&self) -> bool {
        // SAFETY: by the type invariant the binprm is live and its file
        // open; the shim only reads the file's mode and xattr.
        unsafe { chkpt_shim_check_no_privilege(self.bprm.ptr()) == 0 }
    }

    /// binfmt_elf's check that the executed file can be mapped (its
    /// `f_op->mmap`): stored pages are mapped from it after the point of no
    /// return, where a failure could only kill the task.
    pub(crate) fn image_mappable(&self) -> bool {
        // SAFETY: by the type invariant the binprm is live and its file open.
        unsafe { chkpt_shim_exec_mappable(self.bprm.ptr()) }
    }

    /// The exec's argv strings as far as they fit in `buf`, argv[0] first:
    /// the bytes up to the last NUL read (a string cut by the buffer's end
    /// is left out) and argc. Nothing else is trusted: the caller splits
    /// at NULs and takes at most argc strings.
    pub(crate) fn args<'b>(&self, buf: &'b mut [u8]) -> Result<(&'b [u8], usize)> {
        // SAFETY: by the type invariant the binprm is live and its argument
        // pages are in bprm->mm; `buf` is valid and writable for its
        // length, which the shim never exceeds.
        let got = unsafe { chkpt_shim_read_args(self.bprm.ptr(), buf.as_mut_ptr(), buf.len()) };
        if got < 0 {
            return Err(Error::from_errno(got as c_int));
        }
        // SAFETY: by the type invariant the binprm is live.
        let argc = usize::try_from(unsafe { chkpt_shim_argc(self.bprm.ptr()) }).unwrap_or(0);
        let bytes: &'b [u8] = buf.get(..got as usize).unwrap_or(&[]);
        let end = bytes.iter().rposition(|&b| b == 0).unwrap_or(0);
        // Without any NUL there is no complete string: argc 0.
        let argc = if bytes.get(end) == Some(&0) { argc } else { 0 };
        Ok((bytes.get(..end).unwrap_or(&[]), argc))
    }

    /// One rate-limited kernel log line naming why the image was refused;
    /// returns `err` for the caller.
    pub(crate) fn log_refusal(&self, reason: &str, err: Error) -> Error {
        // SAFETY: by the type invariant the binprm and its filename are
        // valid; `reason` is valid for its length and shim.c prints it with
        // "%.*s", so no terminating NUL is needed.
        unsafe { chkpt_shim_log_refusal(self.bprm.ptr(), reason.as_ptr(), reason.len(), err.to_errno()) };
        err
    }

    /// THE POINT OF NO RETURN: begin_new_exec() throws the caller's memory
    /// away and setup_new_exec() prepares the new image. From here on an
    /// error cannot be returned to the caller: the exec code kills the task.
    /// Consuming `self` means no pre-commit check can run after it.
    pub(crate) fn commit(self) -> Result<Committed<'a>> {
        // SAFETY: by the type invariant the binprm is live and
        // begin_new_exec has not run for it; `self` is consumed, so this is
        // the one call.
        let err = unsafe { chkpt_shim_commit(self.bprm.ptr()) };
        if err < 0 {
            return Err(Error::from_errno(err));
        }
        // INVARIANT: chkpt_shim_commit succeeded: begin_new_exec,
        // setup_new_exec and set_binfmt ran, once, for this live binprm.
        Ok(Committed { bprm: self.bprm })
    }
}

/// The exec after the point of no return: the new, empty process image.
///
/// # Invariants
///
/// `bprm` is live for `'a` (see [`Bprm`]); `begin_new_exec`,
/// `setup_new_exec` and `set_binfmt` have run for it exactly once, so
/// `current->mm` is the new mm this exec builds; `start` has not run yet.
pub(crate) struct Committed<'a> {
    bprm: Bprm<'a>,
}

fn mapped_at(ret: c_ulong, addr: u64) -> Result {
    // vm_mmap returns an address or a negative errno (c_ulong is u64 here).
    let ret: u64 = ret;
    if ret > (-4096i64) as u64 {
        return Err(Error::from_errno(ret as i64 as c_int));
    }
    if ret != addr {
        return Err(EEXIST);
    }
    Ok(())
}

/// Logs a failure after the point of no return (the task is killed).
///
/// # Invariants
///
/// `bprm` is live for `'a` (see [`Bprm`]), and the exec has passed the
/// point of no return: only its filename is read.
pub(crate) struct FailureLog<'a> {
    bprm: Bprm<'a>,
}

impl FailureLog<'_> {
    /// One rate-limited line naming the failed step; returns `err`.
    pub(crate) fn log(&self, step: &str, err: Error) -> Error {
        // SAFETY: by the type invariant the binprm and its filename are
        // valid; `step` is valid for its length, printed with "%.*s".
        unsafe { chkpt_shim_log_failure(self.bprm.ptr(), step.as_ptr(), step.len(), err.to_errno()) };
        err
    }
}

impl<'a> Committed<'a> {
    /// A logger for failures of the steps that follow.
    pub(crate) fn failure_logger(&self) -> FailureLog<'a> {
        // INVARIANT: the same live binprm, past the point of no return.
        FailureLog { bprm: self.bprm }
    }

    /// Unmaps the argument stack the exec code built: the image brings its
    /// own stack. A second call does nothing.
    pub(crate) fn drop_arg_stack(&self) -> Result {
        // SAFETY: by the type invariant the binprm is live and
        // begin_new_exec has run, so bprm->vma, unless the shim cleared it
        // in an earlier call, is the argument stack's vma in current->mm.
        let err = unsafe { chkpt_shim_drop_arg_stack(self.bprm.ptr()) };
        if err < 0 {
            return Err(Error::from_errno(err));
        }
        Ok(())
    }

    /// Anonymous memory at exactly `addr` (`flags` include MAP_FIXED_NOREPLACE).
    pub(crate) fn map_anon(&self, addr: u64, len: u64, prot: u32, flags: u32) -> Result {
        // SAFETY: no file; vm_mmap validates every other argument itself and
        // maps into current->mm, the new mm by the type invariant.
        let ret = unsafe { chkpt_shim_mmap(core::ptr::null_mut(), addr as c_ulong, len as c_ulong, prot.into(), flags.into(), 0) };
        mapped_at(ret, addr)
    }

    /// `file` mapped at exactly `addr`.
    pub(crate) fn map_file(&self, file: &OpenFile, addr: u64, len: u64, prot: u32, flags: u32, off: u64) -> Result {
        // SAFETY: by OpenFile's invariant `file.0` is a file reference held
        // for the call; vm_mmap takes its own reference and validates the
        // rest.
        let ret = unsafe { chkpt_shim_mmap(file.0.as_ptr(), addr as c_ulong, len as c_ulong, prot.into(), flags.into(), off as c_ulong) };
        mapped_at(ret, addr)
    }

    /// Pages of the image file itself, private and copy-on-write, at
    /// exactly `addr` (over what is there: MAP_FIXED).
    pub(crate) fn map_image(&self, addr: u64, len: u64, prot: u32, flags: u32, off: u64) -> Result {
        // SAFETY: by the type invariant the binprm is live, so its file is
        // open for the call; vm_mmap takes its own reference and validates
        // the rest.
        let ret = unsafe {
            let file = chkpt_shim_exec_file(self.bprm.ptr());
            chkpt_shim_mmap(file, addr as c_ulong, len as c_ulong, prot.into(), flags.into(), off as c_ulong)
        };
        mapped_at(ret, addr)
    }

    /// A tree's root: an O_PATH fd of the image, for the stub's execveat
    /// of the children; returns its number.
    pub(crate) fn install_image_path(&self) -> Result<u64> {
        // SAFETY: by the type invariant the binprm is live (its file open)
        // and begin_new_exec has run: the fd goes into the new process's
        // table (unshared by the exec).
        let fd = unsafe { chkpt_shim_install_image_path(self.bprm.ptr()) };
        if fd < 0 {
            return Err(Error::from_errno(fd));
        }
        Ok(fd as u64)
    }

    /// Fills `buf` from the image file at `pos`.
    pub(crate) fn read_image(&self, pos: u64, buf: &mut [u8]) -> Result {
        self.bprm.read_exact_at(pos, buf)
    }

    /// Sets the mm fields /proc and brk() use (under the mmap lock).
    pub(crate) fn set_mm_fields(&self, fields: &MmFields) {
        // SAFETY: `fields` is a valid MmFields with the C layout (checked at
        // build time above); the shim takes the locks it needs and bounds
        // auxv_len itself.
        unsafe { chkpt_shim_set_mm_layout(fields) };
    }

    /// Enters user mode at `ip` with `%rsp = sp` and `%rdi = arg`, every
    /// signal but SIGKILL and SIGSTOP blocked until the stub's rt_sigreturn
    /// installs each thread's own mask.
    pub(crate) fn start(self, ip: u64, sp: u64, arg: u64) {
        // SAFETY: by the type invariant the binprm is live and
        // setup_new_exec has run, as finalize_exec and start_thread need;
        // `self` is consumed, so this is the last step, once.
        unsafe { chkpt_shim_start(self.bprm.ptr(), ip as c_ulong, sp as c_ulong, arg as c_ulong) };
    }
}

/// Called by shim.c's `load_binary` for every execve while the module is loaded.
///
/// # Safety
///
/// `bprm` must be the `struct linux_binprm` of the exec in progress, which
/// the exec code keeps (with its file open) until this call returns, and
/// before its point of no return; `head` must point to `head_len` readable
/// bytes (its `buf`) that stay valid and unchanged for the duration of the
/// call.
#[no_mangle]
pub(crate) unsafe extern "C" fn chkpt_rust_load_binary(bprm: *mut bindings::linux_binprm, head: *const u8, head_len: usize) -> c_int {
    let Some(bprm) = NonNull::new(bprm) else {
        return ENOEXEC.to_errno();
    };
    // SAFETY: the caller guarantees `head` points to `head_len` readable bytes
    // that outlive this call.
    let head = unsafe { core::slice::from_raw_parts(head, head_len) };
    // INVARIANT: per this function's safety contract, the binprm outlives
    // the call (and so the `Exec`, which does not escape it), its file is
    // open, and begin_new_exec has not run for it.
    let exec = Exec { bprm: Bprm(bprm, PhantomData), head };
    match loader::load_binary(exec) {
        Ok(()) => 0,
        Err(err) => err.to_errno(),
    }
}
