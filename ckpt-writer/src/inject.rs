//! Syscall injection: state that only the process itself can report is
//! obtained by making a stopped thread execute one system call.
//!
//! # What we inject and why
//!
//! | call | where | why |
//! | --- | --- | --- |
//! | `rt_sigaction(sig, NULL, &old, 8)` for 1..=64 except SIGKILL/SIGSTOP | first thread | signal actions are not in /proc in full (no restorer, no mask) |
//! | `sigaltstack(NULL, &old)` | every thread | the alternate stack is per thread and not in /proc |
//! | `prctl(PR_GET_TID_ADDRESS, &addr)` | every thread | clear_child_tid (set_tid_address) is not in /proc |
//! | `brk(0)` | first thread | the exact mm->brk; the [heap] end is page rounded |
//!
//! # How
//!
//! The `syscall` instruction used is a `0f 05` byte pair found in the
//! [vdso] (executing from any such pair decodes as `syscall`), so no code
//! is written. Only if the process has no vdso do we write `0f 05` at the
//! thread's rip through /proc/PID/mem and put the original bytes back.
//! Results land in 64 bytes of the thread's own stack at the 16-aligned
//! address at or above rsp (mapped and present, unlike memory below rsp);
//! those bytes are saved before and written back after.
//!
//! Per call: set rax = nr, the argument registers, rip = the syscall
//! instruction and orig_rax = -1 (so the kernel does not apply the restart
//! logic of an interrupted syscall to our registers), PTRACE_SINGLESTEP,
//! wait for the SIGTRAP stop, read rax. Afterwards the thread's original
//! registers are set back exactly, on success and on error alike.

use std::fs::File;
use std::os::unix::fs::FileExt;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::freeze::Frozen;
use crate::regs::{get_regs, ptrace_err, set_regs};

/// Bytes of the target's stack borrowed for results.
pub const SCRATCH_LEN: usize = 64;

/// Finds a `syscall` instruction in the [vdso] bytes at `start..end`.
pub fn find_syscall_insn(mem: &File, start: u64, end: u64) -> Option<u64> {
    let mut buf = vec![0u8; (end - start) as usize];
    mem.read_exact_at(&mut buf, start).ok()?;
    buf.windows(2).position(|w| w == [0x0f, 0x05]).map(|i| start + i as u64)
}

/// One thread borrowed for injected syscalls.
pub struct Injection<'a> {
    frozen: &'a mut Frozen,
    mem: &'a File,
    tid: i32,
    saved_regs: libc::user_regs_struct,
    saved_stack: [u8; SCRATCH_LEN],
    /// Original bytes at rip, when we had to write a syscall there.
    patched: Option<[u8; 2]>,
    insn: u64,
    /// Address of the borrowed stack bytes.
    pub scratch: u64,
}

impl<'a> Injection<'a> {
    /// Prepares `tid` (stopped) for injection; `insn` is the vdso syscall
    /// instruction, if any.
    pub fn begin(frozen: &'a mut Frozen, mem: &'a File, tid: i32, insn: Option<u64>) -> Result<Injection<'a>> {
        let pid = frozen.pid();
        let saved_regs = get_regs(pid, tid)?;
        let scratch = (saved_regs.rsp + 15) & !15;
        let mut saved_stack = [0u8; SCRATCH_LEN];
        mem.read_exact_at(&mut saved_stack, scratch).map_err(|e| {
            Error::sys(format!("thread {tid}: reading its stack at {scratch:#x} to borrow it for injection"), e)
        })?;
        let (insn, patched) = match insn {
            Some(a) => (a, None),
            None => {
                let mut orig = [0u8; 2];
                mem.read_exact_at(&mut orig, saved_regs.rip)
                    .and_then(|_| mem.write_all_at(&[0x0f, 0x05], saved_regs.rip))
                    .map_err(|e| Error::sys(format!("thread {tid}: writing a syscall instruction at rip"), e))?;
                (saved_regs.rip, Some(orig))
            }
        };
        Ok(Injection { frozen, mem, tid, saved_regs, saved_stack, patched, insn, scratch })
    }

    /// Runs syscall `nr` with `args` in the thread; returns the raw result
    /// (negative errno on failure).
    pub fn syscall(&mut self, nr: i64, args: [u64; 6]) -> Result<i64> {
        let pid = self.frozen.pid();
        let tid = self.tid;
        let mut r = self.saved_regs;
        r.rax = nr as u64;
        r.orig_rax = u64::MAX;
        (r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9) = (args[0], args[1], args[2], args[3], args[4], args[5]);
        r.rip = self.insn;
        set_regs(pid, tid, &r)?;
        let p = Pid::from_raw(tid);
        loop {
            ptrace::step(p, None).map_err(|e| ptrace_err(pid, tid, "PTRACE_SINGLESTEP", e))?;
            match waitpid(p, Some(WaitPidFlag::__WALL)) {
                Ok(WaitStatus::Stopped(_, Signal::SIGTRAP)) => {
                    let after = get_regs(pid, tid)?;
                    if after.rip == self.insn + 2 {
                        return Ok(after.rax as i64);
                    }
                    // Not executed yet (a trap of another origin): step again.
                }
                Ok(WaitStatus::Stopped(_, _)) => {
                    // A signal arrived before the instruction ran; keep it
                    // for detach and run our instruction.
                    let info = ptrace::getsiginfo(p).map_err(|e| ptrace_err(pid, tid, "PTRACE_GETSIGINFO", e))?;
                    self.frozen.defer_signal(tid, info);
                }
                Ok(WaitStatus::Exited(..)) | Ok(WaitStatus::Signaled(..)) | Err(Errno::ECHILD) => {
                    return Err(Error::TargetGone { pid, during: format!("an injected syscall in thread {tid}") })
                }
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(Error::sys(format!("waiting for thread {tid} after single-step"), e)),
            }
        }
    }

    /// Reads `buf.len()` bytes of the borrowed stack (results).
    pub fn read_scratch(&self, buf: &mut [u8]) -> Result<()> {
        self.mem
            .read_exact_at(buf, self.scratch)
            .map_err(|e| Error::sys(format!("thread {}: reading an injected syscall's result", self.tid), e))
    }

    /// Puts back stack bytes, code bytes and registers.
    pub fn end(mut self) -> Result<()> {
        self.restore()
    }

    fn restore(&mut self) -> Result<()> {
        let tid = self.tid;
        let stack = self.mem.write_all_at(&self.saved_stack, self.scratch);
        let code = match self.patched.take() {
            Some(orig) => self.mem.write_all_at(&orig, self.saved_regs.rip),
            None => Ok(()),
        };
        let regs = set_regs(self.frozen.pid(), tid, &self.saved_regs);
        stack.map_err(|e| Error::sys(format!("thread {tid}: restoring borrowed stack bytes"), e))?;
        code.map_err(|e| Error::sys(format!("thread {tid}: restoring code bytes at rip"), e))?;
        regs
    }
}

impl Drop for Injection<'_> {
    fn drop(&mut self) {
        // Error paths: restore what we can (end() already did on success,
        // and restoring twice writes the same values).
        let _ = self.restore();
    }
}

/// Reads a little-endian u64 at `off` of `b`.
pub fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}
