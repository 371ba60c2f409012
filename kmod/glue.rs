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
//! - [`OpenFile`]: a file opened with the caller's credentials; dropping it
//!   closes it.

use core::ffi::{c_int, c_long, c_ulong, c_void};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::Error;
use kernel::prelude::*;

use crate::loader;

extern "C" {
    fn chkpt_shim_register();
    fn chkpt_shim_unregister();
    fn chkpt_shim_enabled() -> bool;
    fn chkpt_shim_file_size(bprm: *mut c_void) -> i64;
    fn chkpt_shim_read(bprm: *mut c_void, pos: i64, buf: *mut u8, len: usize) -> isize;
    fn chkpt_shim_log_refusal(bprm: *mut c_void, reason: *const u8, reason_len: usize, err: c_int);
    fn chkpt_shim_check_no_privilege(bprm: *mut c_void) -> c_int;
    fn chkpt_shim_log_failure(bprm: *mut c_void, step: *const u8, step_len: usize, err: c_int);
    fn chkpt_shim_open(path: *const u8, len: usize, flags: c_int, err: *mut c_long) -> *mut c_void;
    fn chkpt_shim_close(file: *mut c_void);
    fn chkpt_shim_identity(file: *mut c_void, id: *mut FileIdentity) -> c_long;
    fn chkpt_shim_exec_file(bprm: *mut c_void) -> *mut c_void;
    fn chkpt_shim_caller_vdso(vdso: *mut u64, vdso_len: *mut u64, vvar_len: *mut u64) -> c_long;
    fn chkpt_shim_cpu_xstate(xcr0: *mut u64, xsave_size: *mut u32);
    fn chkpt_shim_rlimit_as() -> u64;
    fn chkpt_shim_rlimit_nproc() -> u64;
    fn chkpt_shim_task_size() -> u64;
    fn chkpt_shim_commit(bprm: *mut c_void) -> c_int;
    fn chkpt_shim_drop_arg_stack(bprm: *mut c_void, stack_top: c_ulong) -> c_int;
    fn chkpt_shim_mmap(file: *mut c_void, addr: c_ulong, len: c_ulong, prot: c_ulong, flags: c_ulong, off: c_ulong) -> c_ulong;
    fn chkpt_shim_set_mm_layout(layout: *const MmFields);
    fn chkpt_shim_start(bprm: *mut c_void, ip: c_ulong, sp: c_ulong, plan: c_ulong);
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

/// The caller's vdso: where it is and how large it and its vvar area are.
#[derive(Clone, Copy)]
pub(crate) struct CallerVdso {
    pub(crate) vdso: u64,
    pub(crate) vdso_len: u64,
    pub(crate) vvar_len: u64,
}

/// The caller's vdso, if it has one.
pub(crate) fn caller_vdso() -> Option<CallerVdso> {
    let mut v = CallerVdso { vdso: 0, vdso_len: 0, vvar_len: 0 };
    // SAFETY: the shim reads current->mm's vdso fields; the three pointers
    // are valid, writable u64s for the duration of the call.
    let err = unsafe { chkpt_shim_caller_vdso(&mut v.vdso, &mut v.vdso_len, &mut v.vvar_len) };
    (err == 0).then_some(v)
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

/// One past the highest user address of a 64-bit task on this kernel.
pub(crate) fn task_size() -> u64 {
    // SAFETY: returns a constant of this boot; no requirement.
    unsafe { chkpt_shim_task_size() }
}

/// A file opened in the kernel with the caller's credentials.
pub(crate) struct OpenFile(NonNull<c_void>);

impl OpenFile {
    /// filp_open(path, flags): permission checks are the caller's, as if it
    /// had called open(2) itself.
    pub(crate) fn open(path: &[u8], flags: u32) -> Result<OpenFile> {
        let mut err: c_long = 0;
        // SAFETY: `path` is valid for `path.len()` bytes (the shim copies it
        // into a NUL-terminated kernel string); `err` is a valid c_long.
        let f = unsafe { chkpt_shim_open(path.as_ptr(), path.len(), flags as c_int, &mut err) };
        match NonNull::new(f) {
            Some(f) => Ok(OpenFile(f)),
            None => Err(Error::from_errno(if err < 0 { err as c_int } else { -(ENOMEM.to_errno()) })),
        }
    }

    /// stat(2)-like identity of the open file.
    pub(crate) fn identity(&self) -> Result<FileIdentity> {
        let mut id = FileIdentity::default();
        // SAFETY: self.0 is a file reference we own (from filp_open); `id`
        // is a valid, writable FileIdentity with the C layout.
        let err = unsafe { chkpt_shim_identity(self.0.as_ptr(), &mut id) };
        if err < 0 {
            return Err(Error::from_errno(err as c_int));
        }
        Ok(id)
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        // SAFETY: self.0 is a file reference we own and drop exactly once.
        unsafe { chkpt_shim_close(self.0.as_ptr()) };
    }
}

/// The binfmt handler, registered for as long as this value lives.
pub(crate) struct Registration(());

impl Registration {
    pub(crate) fn new() -> Self {
        // SAFETY: registers shim.c's static `struct linux_binfmt`; it is not
        // registered yet, because only module init creates a Registration,
        // once, and Drop unregisters it before the module text goes away.
        unsafe { chkpt_shim_register() };
        Registration(())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: the handler was registered by `new`, exactly once.
        unsafe { chkpt_shim_unregister() };
    }
}

/// Whether an admin left restore switched on (module parameter `enabled`).
pub(crate) fn restore_enabled() -> bool {
    // SAFETY: reads a module parameter with READ_ONCE; no other requirement.
    unsafe { chkpt_shim_enabled() }
}

/// The file being executed, valid during one call of `load_binary`.
pub(crate) struct Exec<'a> {
    bprm: *mut c_void,
    head: &'a [u8],
    _bprm_lifetime: PhantomData<&'a mut c_void>,
}

impl<'a> Exec<'a> {
    /// The first bytes of the file, as the exec code already read them.
    pub(crate) fn head(&self) -> &[u8] {
        self.head
    }

    /// The file's size in bytes.
    pub(crate) fn file_size(&self) -> u64 {
        // SAFETY: `bprm` is the live linux_binprm of this exec (see
        // chkpt_rust_load_binary); its file stays open for the whole call.
        let size = unsafe { chkpt_shim_file_size(self.bprm) };
        u64::try_from(size).unwrap_or(0)
    }

    /// Fills `buf` from the file at `pos`; a short read is `EIO`.
    pub(crate) fn read_exact_at(&self, pos: u64, buf: &mut [u8]) -> Result {
        read_exec_file(self.bprm, pos, buf)
    }

    /// False if the image file has setuid/setgid bits or file capabilities,
    /// which would change the caller's credentials: restoring grants nothing.
    pub(crate) fn grants_no_privilege(&self) -> bool {
        // SAFETY: `bprm` is live as above; the shim only reads its creds.
        unsafe { chkpt_shim_check_no_privilege(self.bprm) == 0 }
    }

    /// One rate-limited kernel log line naming why the image was refused;
    /// returns `err` for the caller.
    pub(crate) fn log_refusal(&self, reason: &str, err: Error) -> Error {
        // SAFETY: `bprm` is live as above; `reason` is valid for its length
        // and shim.c prints it with "%.*s", so no terminating NUL is needed.
        unsafe { chkpt_shim_log_refusal(self.bprm, reason.as_ptr(), reason.len(), err.to_errno()) };
        err
    }

    /// THE POINT OF NO RETURN: begin_new_exec() throws the caller's memory
    /// away and setup_new_exec() prepares the new image. From here on an
    /// error cannot be returned to the caller: the exec code kills the task.
    /// Consuming `self` means no pre-commit check can run after it.
    pub(crate) fn commit(self) -> Result<Committed<'a>> {
        // SAFETY: `bprm` is live as above and this is the one call of
        // begin_new_exec for it (commit consumes the Exec).
        let err = unsafe { chkpt_shim_commit(self.bprm) };
        if err < 0 {
            return Err(Error::from_errno(err));
        }
        Ok(Committed { bprm: self.bprm, _bprm_lifetime: PhantomData })
    }
}

/// kernel_read of the executed file at `pos` into all of `buf`; a short
/// read is `EIO`. `bprm` must be the live linux_binprm of an exec still in
/// load_binary (both [`Exec`] and [`Committed`] hold one).
fn read_exec_file(bprm: *mut c_void, pos: u64, buf: &mut [u8]) -> Result {
    let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
    // SAFETY: `bprm` is live per the callers (see chkpt_rust_load_binary);
    // its file stays open for the whole call. `buf` is a valid, writable
    // slice of exactly `buf.len()` bytes that kernel_read fills at most.
    let got = unsafe { chkpt_shim_read(bprm, pos, buf.as_mut_ptr(), buf.len()) };
    if got < 0 {
        return Err(Error::from_errno(got as c_int));
    }
    if got as usize != buf.len() {
        return Err(EIO);
    }
    Ok(())
}

/// The exec after the point of no return: the new, empty process image.
pub(crate) struct Committed<'a> {
    bprm: *mut c_void,
    _bprm_lifetime: PhantomData<&'a mut c_void>,
}

fn mapped_at(ret: c_ulong, addr: u64) -> Result {
    // vm_mmap returns an address or a negative errno.
    if ret as u64 > (-4096i64) as u64 {
        return Err(Error::from_errno(ret as i64 as c_int));
    }
    if ret as u64 != addr {
        return Err(EEXIST);
    }
    Ok(())
}

/// Logs a failure after the point of no return (the task is killed).
pub(crate) struct FailureLog<'a> {
    bprm: *mut c_void,
    _bprm_lifetime: PhantomData<&'a mut c_void>,
}

impl FailureLog<'_> {
    /// One rate-limited line naming the failed step; returns `err`.
    pub(crate) fn log(&self, step: &str, err: Error) -> Error {
        // SAFETY: `bprm` is live for 'a (the exec is in load_binary);
        // `step` is valid for its length, printed with "%.*s".
        unsafe { chkpt_shim_log_failure(self.bprm, step.as_ptr(), step.len(), err.to_errno()) };
        err
    }
}

impl<'a> Committed<'a> {
    /// A logger for failures of the steps that follow.
    pub(crate) fn failure_logger(&self) -> FailureLog<'a> {
        FailureLog { bprm: self.bprm, _bprm_lifetime: PhantomData }
    }

    /// Places the argument stack at `stack_top` as ELF does, then unmaps
    /// it: the image brings its own stack.
    pub(crate) fn drop_arg_stack(&self, stack_top: u64) -> Result {
        // SAFETY: `bprm` is live (the exec is still in load_binary) and
        // begin_new_exec has run, as setup_arg_pages requires.
        let err = unsafe { chkpt_shim_drop_arg_stack(self.bprm, stack_top as c_ulong) };
        if err < 0 {
            return Err(Error::from_errno(err));
        }
        Ok(())
    }

    /// Anonymous memory at exactly `addr` (`flags` include MAP_FIXED_NOREPLACE).
    pub(crate) fn map_anon(&self, addr: u64, len: u64, prot: u32, flags: u32) -> Result {
        // SAFETY: vm_mmap validates every argument itself; no file.
        let ret = unsafe { chkpt_shim_mmap(core::ptr::null_mut(), addr as c_ulong, len as c_ulong, prot.into(), flags.into(), 0) };
        mapped_at(ret, addr)
    }

    /// `file` mapped at exactly `addr`.
    pub(crate) fn map_file(&self, file: &OpenFile, addr: u64, len: u64, prot: u32, flags: u32, off: u64) -> Result {
        // SAFETY: `file` is a live file reference; vm_mmap takes its own
        // reference and validates the rest.
        let ret = unsafe { chkpt_shim_mmap(file.0.as_ptr(), addr as c_ulong, len as c_ulong, prot.into(), flags.into(), off as c_ulong) };
        mapped_at(ret, addr)
    }

    /// Pages of the image file itself, private and copy-on-write, at
    /// exactly `addr` (over what is there: MAP_FIXED).
    pub(crate) fn map_image(&self, addr: u64, len: u64, prot: u32, flags: u32, off: u64) -> Result {
        // SAFETY: `bprm` is live, so its file is open; vm_mmap takes its own
        // reference and validates the rest.
        let ret = unsafe {
            let file = chkpt_shim_exec_file(self.bprm);
            chkpt_shim_mmap(file, addr as c_ulong, len as c_ulong, prot.into(), flags.into(), off as c_ulong)
        };
        mapped_at(ret, addr)
    }

    /// Fills `buf` from the image file at `pos`.
    pub(crate) fn read_image(&self, pos: u64, buf: &mut [u8]) -> Result {
        read_exec_file(self.bprm, pos, buf)
    }

    /// Sets the mm fields /proc and brk() use (under the mmap lock).
    pub(crate) fn set_mm_fields(&self, fields: &MmFields) {
        // SAFETY: `fields` is a valid MmFields with the C layout; the shim
        // takes the locks it needs and bounds auxv_len itself.
        unsafe { chkpt_shim_set_mm_layout(fields) };
    }

    /// Enters user mode at `ip` with `%rsp = sp` and `%rdi = arg`, every
    /// signal blocked until the stub's rt_sigreturn installs each thread's
    /// own mask.
    pub(crate) fn start(self, ip: u64, sp: u64, arg: u64) {
        // SAFETY: `bprm` is live; this is the last step of the exec.
        unsafe { chkpt_shim_start(self.bprm, ip as c_ulong, sp as c_ulong, arg as c_ulong) };
    }
}

/// Called by shim.c's `load_binary` for every execve while the module is loaded.
///
/// # Safety
///
/// `bprm` must be the live `struct linux_binprm` of the exec in progress, and
/// `head` must point to `head_len` readable bytes (its `buf`) that stay valid
/// and unchanged for the duration of the call.
#[no_mangle]
pub(crate) unsafe extern "C" fn chkpt_rust_load_binary(bprm: *mut c_void, head: *const u8, head_len: usize) -> c_int {
    // SAFETY: the caller guarantees `head` points to `head_len` readable bytes
    // that outlive this call.
    let head = unsafe { core::slice::from_raw_parts(head, head_len) };
    let exec = Exec { bprm, head, _bprm_lifetime: PhantomData };
    match loader::load_binary(exec) {
        Ok(()) => 0,
        Err(err) => err.to_errno(),
    }
}
