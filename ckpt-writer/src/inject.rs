//! Syscall injection: state that only the process itself can report is
//! obtained by making a stopped thread execute one system call.
//!
//! # What we inject and why
//!
//! | call | where | why |
//! | --- | --- | --- |
//! | `rt_sigaction(sig, NULL, &old, 8)` for 1..=64 except SIGKILL/SIGSTOP | first thread (`--cow`: the snapshot child, after the target resumed) | signal actions are not in /proc in full (no restorer, no mask) |
//! | `sigaltstack(NULL, &old)` | every thread | the alternate stack is per thread and not in /proc |
//! | `prctl(PR_GET_TID_ADDRESS, &addr)` | every thread | clear_child_tid (set_tid_address) is not in /proc |
//! | `brk(0)` | first thread (`--cow`: the snapshot child) | the exact mm->brk; the [heap] end is page rounded |
//! | `clone(0, 0, 0, 0, 0)` | first thread, `--cow` only | the copy-on-write snapshot child (cow.rs) |
//! | `wait4(child, NULL, __WALL\|WNOHANG, NULL)` | first thread, `--cow` only, a second short freeze | the target reaps that child |
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
//! logic of an interrupted syscall to our registers), then PTRACE_SYSCALL
//! to the syscall-entry stop and again to the syscall-exit stop, and read
//! rax. Syscall stops raise no signal, unlike single-stepping, whose
//! forced SIGTRAP would reset an ignored or blocked SIGTRAP's action.
//!
//! Afterwards the thread is brought back into the kernel's signal handling
//! (PTRACE_INTERRUPT, PTRACE_CONT, wait for the interrupt stop: no user
//! instruction runs in between) and its original registers and stack bytes
//! are set back exactly, on success and on error alike. Being stopped
//! there again matters: on detach the kernel then still restarts a syscall
//! that the freeze interrupted (see regs.rs).
//!
//! Signals: while a thread is borrowed all signals are blocked with
//! PTRACE_SETSIGMASK, so a signal sent meanwhile stays pending with its
//! siginfo and is delivered after detach; the original mask is set back
//! last.

use std::fs::File;
use std::os::unix::fs::FileExt;

use nix::sys::ptrace;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::freeze::Frozen;
use crate::regs::{get_regs, get_sigmask, ptrace_err, set_regs, set_sigmask};
use crate::wait::{resume, wait_thread, Event};

/// Where a syscall instruction was written over the code, and the two
/// original bytes.
pub type PatchedCode = (u64, [u8; 2]);

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
    saved_mask: u64,
    /// Original bytes at rip, when we had to write a syscall there.
    patched: Option<[u8; 2]>,
    insn: u64,
    /// A syscall ran, so the thread left its original stop.
    ran: bool,
    /// Address of the borrowed stack bytes.
    pub scratch: u64,
}

impl<'a> Injection<'a> {
    /// Prepares `tid` (stopped) for injection; `insn` is the vdso syscall
    /// instruction, if any.
    pub fn begin(frozen: &'a mut Frozen, mem: &'a File, tid: i32, insn: Option<u64>) -> Result<Injection<'a>> {
        let pid = frozen.pid();
        let saved_regs = get_regs(pid, tid)?;
        let saved_mask = get_sigmask(pid, tid)?;
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
        let inj = Injection { frozen, mem, tid, saved_regs, saved_stack, saved_mask, patched, insn, ran: false, scratch };
        set_sigmask(pid, tid, !0)?;
        Ok(inj)
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
        self.ran = true;
        self.until(libc::PTRACE_SYSCALL, SYSCALL_STOP, "syscall entry")?;
        self.until(libc::PTRACE_SYSCALL, SYSCALL_STOP, "syscall exit")?;
        let after = get_regs(pid, tid)?;
        if after.rip != self.insn + 2 {
            return Err(Error::sys(
                format!("injected syscall {nr} in thread {tid}"),
                std::io::Error::other(format!("stopped at {:#x}, not after the syscall instruction", after.rip)),
            ));
        }
        Ok(after.rax as i64)
    }

    /// Makes the thread fork (`clone` without CLONE_VM, exit signal 0);
    /// the child is attached to us (PTRACE_O_TRACECLONE for this one call)
    /// and held in its first stop, with PTRACE_O_EXITKILL and TRACESYSGOOD. Returns its pid
    /// and, when the syscall instruction had to be written at rip, that
    /// address and the original bytes (the child's copy still has ours).
    pub fn fork_held(&mut self) -> Result<(i32, Option<PatchedCode>)> {
        let pid = self.frozen.pid();
        let tid = self.tid;
        let base = ptrace::Options::PTRACE_O_TRACESYSGOOD;
        let set = |o| ptrace::setoptions(Pid::from_raw(tid), o).map_err(|e| ptrace_err(pid, tid, "PTRACE_SETOPTIONS", e));
        set(base | ptrace::Options::PTRACE_O_TRACECLONE)?;
        let rc = self.syscall(libc::SYS_clone, [0; 6]);
        set(base)?;
        let rc = rc?;
        if rc <= 0 {
            let e = std::io::Error::from_raw_os_error(if rc < 0 && rc > -4096 { -rc as i32 } else { libc::EINVAL });
            return Err(Error::sys(format!("--cow: making pid {pid} fork its snapshot (clone)"), e));
        }
        let child = rc as i32;
        let held = match wait_thread(child) {
            Ok(Event::EventStop { event: libc::PTRACE_EVENT_STOP, .. }) | Ok(Event::SignalStop(libc::SIGSTOP)) => Ok(()),
            Ok(ev) => Err(Error::sys(
                format!("--cow: the snapshot child {child}"),
                std::io::Error::other(format!("reported {ev:?} instead of its first stop")),
            )),
            Err(e) => Err(Error::sys(format!("--cow: waiting for the snapshot child {child}"), e)),
        };
        let exitkill = held.and_then(|()| {
            // TRACESYSGOOD: syscalls are injected into the child too (cow.rs).
            ptrace::setoptions(Pid::from_raw(child), ptrace::Options::PTRACE_O_EXITKILL | base)
                .map_err(|e| ptrace_err(child, child, "PTRACE_SETOPTIONS", e))
        });
        if let Err(e) = exitkill {
            let _ = nix::sys::signal::kill(Pid::from_raw(child), nix::sys::signal::Signal::SIGKILL);
            while !matches!(wait_thread(child), Ok(Event::Gone) | Err(_)) {}
            return Err(e);
        }
        Ok((child, self.patched.map(|b| (self.saved_regs.rip, b))))
    }

    /// Resumes with `request` and waits for the stop `want` reports. A
    /// group stop reported on the way (the target was stopped, or got
    /// SIGSTOP) is stepped over: the kernel re-enters it after detach.
    fn until(&self, request: libc::c_uint, want: fn(&Event) -> bool, what: &str) -> Result<()> {
        let pid = self.frozen.pid();
        let tid = self.tid;
        for _ in 0..64 {
            resume(request, tid, 0).map_err(|e| ptrace_err(pid, tid, what, e))?;
            match wait_thread(tid) {
                Ok(ev) if want(&ev) => return Ok(()),
                Ok(Event::Gone) => {
                    return Err(Error::TargetGone { pid, during: format!("an injected syscall in thread {tid}") })
                }
                Ok(Event::EventStop { event: libc::PTRACE_EVENT_STOP, sig }) if sig != libc::SIGTRAP => continue,
                // The fork event of `fork_held`, between entry and exit.
                Ok(Event::EventStop { event: libc::PTRACE_EVENT_CLONE, .. }) => continue,
                Ok(ev) => {
                    return Err(Error::sys(
                        format!("thread {tid}: waiting for the {what} stop"),
                        std::io::Error::other(format!("unexpected {ev:?}")),
                    ))
                }
                Err(e) => return Err(Error::sys(format!("thread {tid}: waiting for the {what} stop"), e)),
            }
        }
        Err(Error::sys(format!("thread {tid}: waiting for the {what} stop"), std::io::Error::other("it keeps stopping")))
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
        let pid = self.frozen.pid();
        let stack = self.mem.write_all_at(&self.saved_stack, self.scratch);
        let code = match self.patched.take() {
            Some(orig) => self.mem.write_all_at(&orig, self.saved_regs.rip),
            None => Ok(()),
        };
        if std::mem::take(&mut self.ran) {
            // From the syscall-exit stop back into a stop inside signal
            // handling, like the one the freeze left the thread in.
            ptrace::interrupt(Pid::from_raw(tid)).map_err(|e| ptrace_err(pid, tid, "PTRACE_INTERRUPT", e))?;
            self.until(libc::PTRACE_CONT, INTERRUPT_STOP, "interrupt")?;
        }
        let regs = set_regs(pid, tid, &self.saved_regs);
        let mask = set_sigmask(pid, tid, self.saved_mask);
        stack.map_err(|e| Error::sys(format!("thread {tid}: restoring borrowed stack bytes"), e))?;
        code.map_err(|e| Error::sys(format!("thread {tid}: restoring code bytes at rip"), e))?;
        regs?;
        mask
    }
}

/// Syscall entry or exit stop (PTRACE_O_TRACESYSGOOD sets bit 7).
fn syscall_stop(ev: &Event) -> bool {
    *ev == Event::SignalStop(libc::SIGTRAP | 0x80)
}
const SYSCALL_STOP: fn(&Event) -> bool = syscall_stop;

/// PTRACE_EVENT_STOP after PTRACE_INTERRUPT.
fn interrupt_stop(ev: &Event) -> bool {
    matches!(ev, Event::EventStop { event: libc::PTRACE_EVENT_STOP, .. })
}
const INTERRUPT_STOP: fn(&Event) -> bool = interrupt_stop;

impl Drop for Injection<'_> {
    fn drop(&mut self) {
        // Error paths: restore what we can (end() already did on success,
        // and restoring twice writes the same values).
        let _ = self.restore();
    }
}
