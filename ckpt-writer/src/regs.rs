//! Per-thread state read with ptrace from outside the thread: general
//! registers, XSAVE area, signal mask, rseq, robust futex list; and the
//! restart rule applied to the recorded registers.
//!
//! # Restart rule
//!
//! A thread frozen inside a blocking system call stops with the syscall
//! number in `orig_rax` (>= 0) and one of the kernel's internal restart
//! codes in `rax`. On a plain detach the kernel restarts the call itself;
//! the image must instead hold registers that make the *restored* thread
//! do the same, since the restorer resumes it with sigreturn:
//!
//! * `-ERESTARTSYS` (512), `-ERESTARTNOINTR` (513), `-ERESTARTNOHAND` (514):
//!   `rip -= 2` (back onto the `syscall` instruction), `rax = orig_rax`.
//!   The call runs again with its original arguments, which are still in
//!   rdi, rsi, rdx, r10, r8, r9. This is what the kernel does when no
//!   handler runs.
//! * `-ERESTART_RESTARTBLOCK` (516): the kernel would call
//!   `restart_syscall`, which needs the kernel's per-thread restart block
//!   that an image cannot carry. For nanosleep, clock_nanosleep, futex and
//!   poll (the calls that use it) we re-execute the original call as above:
//!   the wait restarts with its full timeout (an absolute clock_nanosleep
//!   ends on time; a relative one sleeps longer than asked, which these
//!   interfaces allow). Any other call gets `rax = -EINTR`, as if a signal
//!   had interrupted it.
//!
//! `orig_rax` is kept so that a restorer can tell the thread was in a
//! syscall.

use std::io;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::unistd::Pid;

use image_format::v1::thread::XsaveStartWire;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::error::{Error, Result};
use crate::snapshot::RseqConfig;

const ERESTARTSYS: i64 = 512;
const ERESTARTNOINTR: i64 = 513;
const ERESTARTNOHAND: i64 = 514;
const ERESTART_RESTARTBLOCK: i64 = 516;
/// Largest XSAVE area we accept (matches the format's limit).
const XSAVE_BUF: usize = 65536;
/// ELF note type of the x86 extended state regset (elf.h).
const NT_X86_XSTATE: usize = 0x202;

/// Maps an errno from ptrace on a stopped thread to our error.
pub fn ptrace_err(pid: i32, tid: i32, what: &str, e: Errno) -> Error {
    if e == Errno::ESRCH {
        Error::TargetGone { pid, during: format!("{what} of thread {tid}") }
    } else {
        Error::sys(format!("{what} of thread {tid}"), e)
    }
}

/// General registers of a stopped thread.
pub fn get_regs(pid: i32, tid: i32) -> Result<libc::user_regs_struct> {
    ptrace::getregs(Pid::from_raw(tid)).map_err(|e| ptrace_err(pid, tid, "PTRACE_GETREGS", e))
}

/// Sets the general registers of a stopped thread.
pub fn set_regs(pid: i32, tid: i32, regs: &libc::user_regs_struct) -> Result<()> {
    ptrace::setregs(Pid::from_raw(tid), *regs).map_err(|e| ptrace_err(pid, tid, "PTRACE_SETREGS", e))
}

/// Registers to record for a thread whose live registers are `live`.
pub fn restart_adjusted(live: &libc::user_regs_struct) -> libc::user_regs_struct {
    let mut r = *live;
    if (r.orig_rax as i64) < 0 {
        return r;
    }
    match -(r.rax as i64) {
        ERESTARTSYS | ERESTARTNOINTR | ERESTARTNOHAND => {
            r.rax = r.orig_rax;
            r.rip = r.rip.wrapping_sub(2);
        }
        ERESTART_RESTARTBLOCK => {
            let nr = r.orig_rax as i64;
            if [libc::SYS_nanosleep, libc::SYS_clock_nanosleep, libc::SYS_futex, libc::SYS_poll].contains(&nr) {
                r.rax = r.orig_rax;
                r.rip = r.rip.wrapping_sub(2);
            } else {
                r.rax = (-(libc::EINTR as i64)) as u64;
            }
        }
        _ => {}
    }
    r
}

/// The XSAVE area (standard format) of a stopped thread.
pub fn get_xsave(pid: i32, tid: i32) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; XSAVE_BUF];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: PTRACE_GETREGSET writes at most iov.iov_len bytes into the
    // buffer iov points to, which lives until after the call, and updates
    // iov_len to the size written.
    let rc = unsafe { libc::ptrace(libc::PTRACE_GETREGSET, tid, NT_X86_XSTATE, &mut iov) };
    if rc < 0 {
        return Err(ptrace_err(pid, tid, "PTRACE_GETREGSET(NT_X86_XSTATE)", Errno::last()));
    }
    buf.truncate(iov.iov_len);
    Ok(buf)
}

/// XCR0 as the kernel reports it for ptrace: word 0 of
/// `user_xstateregs.i387.xstate_fx_sw` (`sw_xcr0` of the format's
/// declaration of the XSAVE area's start; the convention gdb relies on,
/// not the signal frame's `_fpx_sw_bytes`).
pub fn xcr0_of(xsave: &[u8]) -> Result<u64> {
    let xcr0 = XsaveStartWire::ref_from_prefix(xsave).ok().map(|(x, _)| x.sw_xcr0.get());
    match xcr0 {
        Some(x) if x & 3 == 3 => Ok(x),
        _ => Err(Error::Unsupported("the kernel reported no XSAVE features (XCR0) in the thread's XSAVE area".into())),
    }
}

/// Blocked signal mask.
pub fn get_sigmask(pid: i32, tid: i32) -> Result<u64> {
    let mut mask = 0u64;
    // SAFETY: PTRACE_GETSIGMASK writes `addr` (8) bytes to the u64 `data`
    // points to.
    let rc = unsafe { libc::ptrace(libc::PTRACE_GETSIGMASK, tid, 8usize, &mut mask as *mut u64) };
    if rc < 0 {
        return Err(ptrace_err(pid, tid, "PTRACE_GETSIGMASK", Errno::last()));
    }
    Ok(mask)
}

/// Sets the blocked signal mask of a stopped thread.
pub fn set_sigmask(pid: i32, tid: i32, mask: u64) -> Result<()> {
    // SAFETY: PTRACE_SETSIGMASK reads `addr` (8) bytes from the u64 `data`
    // points to, which outlives the call.
    let rc = unsafe { libc::ptrace(libc::PTRACE_SETSIGMASK, tid, 8usize, &mask as *const u64) };
    if rc < 0 {
        return Err(ptrace_err(pid, tid, "PTRACE_SETSIGMASK", Errno::last()));
    }
    Ok(())
}

/// struct ptrace_rseq_configuration.
#[repr(C)]
#[derive(Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
struct RseqRaw {
    ptr: u64,
    size: u32,
    sig: u32,
    flags: u32,
    pad: u32,
}

/// Registered rseq area (zeros when none).
pub fn get_rseq(pid: i32, tid: i32) -> Result<RseqConfig> {
    const PTRACE_GET_RSEQ_CONFIGURATION: libc::c_uint = 0x420f;
    let mut raw = RseqRaw::default();
    let bytes = raw.as_mut_bytes();
    // SAFETY: the kernel writes at most `addr` bytes into `data`, which
    // points to exactly that many bytes (`raw`, any bit pattern valid).
    let rc = unsafe { libc::ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, bytes.len(), bytes.as_mut_ptr()) };
    if rc < 0 {
        return Err(ptrace_err(pid, tid, "PTRACE_GET_RSEQ_CONFIGURATION", Errno::last()));
    }
    Ok(RseqConfig { addr: raw.ptr, len: raw.size, sig: raw.sig })
}

/// Robust futex list (head, len), read from outside with get_robust_list.
pub fn get_robust_list(pid: i32, tid: i32) -> Result<(u64, u64)> {
    let mut head: u64 = 0;
    let mut len: usize = 0;
    // SAFETY: get_robust_list stores one pointer into `head` and one size_t
    // into `len`, both valid for writes.
    let rc = unsafe { libc::syscall(libc::SYS_get_robust_list, tid, &mut head as *mut u64, &mut len as *mut usize) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ESRCH) {
            return Err(Error::TargetGone { pid, during: format!("get_robust_list of thread {tid}") });
        }
        return Err(Error::sys(format!("get_robust_list of thread {tid}"), e));
    }
    Ok((head, len as u64))
}
