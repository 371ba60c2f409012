// SPDX-License-Identifier: GPL-2.0
//! The one file with `unsafe`: the boundary between shim.c and the Rust logic.
//!
//! shim.c owns the kernel structures that 6.12's Rust bindings cannot see
//! (`struct linux_binfmt`, the fields of `struct linux_binprm`). Everything it
//! offers is wrapped here into safe types, so that loader.rs and the files it
//! uses hold no `unsafe` at all:
//! - [`Registration`]: the registered binfmt handler; dropping it unregisters.
//! - [`Exec`]: the file being executed, for the duration of one `load_binary`.

use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
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

impl Exec<'_> {
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
        let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
        // SAFETY: `bprm` is live as above; `buf` is a valid, writable slice of
        // exactly `buf.len()` bytes that kernel_read fills at most.
        let got = unsafe { chkpt_shim_read(self.bprm, pos, buf.as_mut_ptr(), buf.len()) };
        if got < 0 {
            return Err(Error::from_errno(got as c_int));
        }
        if got as usize != buf.len() {
            return Err(EIO);
        }
        Ok(())
    }

    /// False if the image file has setuid/setgid bits or file capabilities,
    /// which would change the caller's credentials: restoring grants nothing.
    pub(crate) fn grants_no_privilege(&self) -> bool {
        // SAFETY: `bprm` is live as above; the shim only reads its creds.
        unsafe { chkpt_shim_check_no_privilege(self.bprm) == 0 }
    }

    /// One rate-limited kernel log line naming why the image was refused.
    pub(crate) fn log_refusal(&self, reason: &str, err: Error) {
        // SAFETY: `bprm` is live as above; `reason` is valid for its length
        // and shim.c prints it with "%.*s", so no terminating NUL is needed.
        unsafe { chkpt_shim_log_refusal(self.bprm, reason.as_ptr(), reason.len(), err.to_errno()) };
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
    match loader::load_binary(&exec) {
        Ok(()) => 0,
        Err(err) => err.to_errno(),
    }
}
