//! Freezing: every thread of the target is PTRACE_SEIZEd and
//! PTRACE_INTERRUPTed; `/proc/PID/task` is re-read until no new thread
//! appears (a thread that was inside clone() finishes it before it stops,
//! so its child shows up in the next scan). `Frozen` detaches in `Drop`,
//! on every path.
//!
//! Signals: a thread may report a signal-delivery-stop instead of the
//! interrupt stop. We let it take the signal at once (PTRACE_CONT with the
//! signal, as if no tracer were there) and wait again for the pending
//! interrupt stop, so no signal is lost or delayed past the dump. Signals
//! sent while a thread runs an injected syscall stay pending (inject.rs).
//!
//! Syscalls interrupted by the freeze report -ERESTART* in rax; we restore
//! the registers we changed before detaching, and the kernel's own
//! restart logic then runs on resume, exactly as after a signal without a
//! handler.
//!
//! Under `ckpt-writer run` (supervise.rs) the supervisor already traces
//! the tree: a thread it traces is adopted (interrupted, not seized) and
//! continued, not detached, when `Frozen` drops, so it stays supervised;
//! and signals the supervisor marks as stop signals (`swallow_signals`)
//! are discarded at their signal-delivery-stop instead of delivered, and
//! remembered (`swallowed`), so a job's stop signal cannot kill the
//! process halfway through its checkpoint; one still pending at the
//! interrupt stop is taken (and discarded) before the capture, so the
//! image does not hold it (the restored job would stop again at once).

use std::sync::atomic::{AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use procfs::process::Process;

use crate::error::{Error, Result};
use crate::wait::{resume, wait_thread, Event};

/// Signals (bit n-1 for signal n) discarded at a signal-delivery-stop
/// while freezing, and those seen so far (supervise.rs).
static SWALLOW: AtomicU64 = AtomicU64::new(0);
static SWALLOWED: AtomicU64 = AtomicU64::new(0);

/// Discards the signals of `mask` (bit n-1 for signal n) met while freezing.
pub fn swallow_signals(mask: u64) {
    SWALLOW.store(mask, Ordering::Relaxed);
}

/// The swallowed signals met since the last call (and forgets them).
pub fn swallowed() -> u64 {
    SWALLOWED.swap(0, Ordering::Relaxed)
}

/// Whether this process traces `pid` already (a supervisor, supervise.rs).
fn traced_by_us(pid: i32) -> bool {
    Process::new(pid).and_then(|p| p.status()).is_ok_and(|s| s.tracerpid == std::process::id() as i32)
}

/// PF_KTHREAD from include/linux/sched.h.
const PF_KTHREAD: u32 = 0x0020_0000;

/// Whether the process `pid` has exited: gone from /proc, or a zombie
/// (state Z, or X while it is being reaped).
fn exited(pid: i32) -> Option<Error> {
    match Process::new(pid).and_then(|p| p.stat()) {
        Ok(stat) if stat.state == 'Z' || stat.state == 'X' => Some(Error::Zombie(pid)),
        Ok(_) => None,
        Err(_) if !std::path::Path::new(&format!("/proc/{pid}")).exists() => Some(Error::NoSuchProcess(pid)),
        Err(_) => None,
    }
}

/// A failed read of /proc/PID/`file`: the process is gone or a zombie
/// (a zombie's /proc files are not all readable), or the failure itself.
fn proc_error(pid: i32, file: &str, e: procfs::ProcError) -> Error {
    exited(pid).unwrap_or_else(|| Error::sys(format!("reading /proc/{pid}/{file}"), std::io::Error::other(e.to_string())))
}

/// Refuses targets that cannot be dumped, before touching them.
pub fn check_target(pid: i32) -> Result<()> {
    let proc = Process::new(pid).map_err(|e| proc_error(pid, "", e))?;
    let stat = proc.stat().map_err(|e| proc_error(pid, "stat", e))?;
    if stat.pid != pid {
        // A thread id that is not a thread group leader.
        return Err(Error::Usage(format!("{pid} is a thread of process {}; dump the process", stat.pid)));
    }
    if stat.state == 'Z' || stat.state == 'X' {
        return Err(Error::Zombie(pid));
    }
    if stat.flags & PF_KTHREAD != 0 {
        return Err(Error::KernelThread(pid));
    }
    let status = proc.status().map_err(|e| proc_error(pid, "status", e))?;
    if status.tracerpid != 0 && status.tracerpid != std::process::id() as i32 {
        return Err(Error::AlreadyTraced { pid, tracer: status.tracerpid });
    }
    Ok(())
}

/// A frozen process; detaches from every thread when dropped.
pub struct Frozen {
    pid: i32,
    /// Attached threads, sorted.
    tids: Vec<i32>,
    /// Send SIGSTOP before detaching so the process stays stopped.
    leave_stopped: bool,
    /// Threads traced before the freeze (by a supervisor): continued, not
    /// detached, at the end.
    adopted: Vec<i32>,
    /// Already held stopped by us (`Frozen::held`): left as it is at the end.
    held: bool,
}

fn task_ids(pid: i32) -> Result<Vec<i32>> {
    let proc = Process::new(pid).map_err(|_| Error::TargetGone { pid, during: "listing threads".into() })?;
    let tasks = proc.tasks().map_err(|_| Error::TargetGone { pid, during: "listing threads".into() })?;
    let mut tids: Vec<i32> = tasks.filter_map(|t| t.ok()).map(|t| t.tid).collect();
    tids.sort_unstable();
    Ok(tids)
}

/// PTRACE_SEIZE's options for `pid`'s threads: a process under seccomp
/// filters has them suspended while it is traced (PTRACE_O_SUSPEND_SECCOMP,
/// which needs CAP_SYS_ADMIN, as reading the filters does), so that the
/// system calls the dump injects are not filtered, killed even; seccomp
/// strict mode is refused before anything is injected.
fn seize_options(pid: i32) -> Result<ptrace::Options> {
    let mode = Process::new(pid).and_then(|p| p.status()).map(|s| s.seccomp.unwrap_or(0)).unwrap_or(0);
    match mode {
        0 => Ok(ptrace::Options::PTRACE_O_TRACESYSGOOD),
        // PTRACE_O_SUSPEND_SECCOMP (1 << 21; not in nix).
        2 if crate::seccomp::may_read_filters() => Ok(ptrace::Options::from_bits_retain(ptrace::Options::PTRACE_O_TRACESYSGOOD.bits() | 1 << 21)),
        2 => Err(Error::Unsupported(format!(
            "pid {pid} runs under seccomp filters, which only a dump with CAP_SYS_ADMIN can read (and suspend while it injects system calls)"
        ))),
        _ => Err(Error::Unsupported(format!("pid {pid} runs in seccomp strict mode, which an image does not record"))),
    }
}

impl Frozen {
    /// Seizes and stops every thread of `pid`.
    pub fn freeze(pid: i32) -> Result<Frozen> {
        let options = seize_options(pid)?;
        let mut frozen = Frozen { pid, tids: Vec::new(), leave_stopped: false, adopted: Vec::new(), held: false };
        loop {
            let all = task_ids(pid)?;
            let new: Vec<i32> = all.iter().copied().filter(|t| frozen.tids.binary_search(t).is_err()).collect();
            if new.is_empty() {
                break;
            }
            let mut seized = Vec::new();
            for tid in new {
                match ptrace::seize(Pid::from_raw(tid), options) {
                    Ok(()) => {
                        frozen.insert(tid);
                        seized.push(tid);
                    }
                    // The thread exited between the scan and the seize.
                    Err(Errno::ESRCH) if tid != pid => continue,
                    Err(Errno::ESRCH) => return Err(Error::TargetGone { pid, during: "attaching".into() }),
                    // The kernel refuses to attach to a zombie.
                    Err(Errno::EPERM) if tid == pid && exited(pid).is_some() => {
                        return Err(Error::TargetGone { pid, during: "attaching: it is a zombie now".into() })
                    }
                    // Ours already (a supervisor's tree): interrupt it all the same.
                    Err(Errno::EPERM) if traced_by_us(tid) => {
                        frozen.insert(tid);
                        frozen.adopted.push(tid);
                        seized.push(tid);
                    }
                    Err(Errno::EPERM) => {
                        if let Ok(s) = Process::new(pid).and_then(|p| p.status()) {
                            if s.tracerpid != 0 && s.tracerpid != std::process::id() as i32 {
                                return Err(Error::AlreadyTraced { pid, tracer: s.tracerpid });
                            }
                        }
                        return Err(Error::NotPermitted { pid, detail: "PTRACE_SEIZE: operation not permitted".into() });
                    }
                    Err(e) => return Err(Error::sys(format!("PTRACE_SEIZE of thread {tid}"), e)),
                }
                if let Err(e) = ptrace::interrupt(Pid::from_raw(tid)) {
                    if e != Errno::ESRCH {
                        return Err(Error::sys(format!("PTRACE_INTERRUPT of thread {tid}"), e));
                    }
                }
            }
            for tid in seized {
                if !frozen.wait_interrupt_stop(tid)? {
                    frozen.tids.retain(|&t| t != tid);
                }
            }
        }
        if frozen.tids.binary_search(&pid).is_err() {
            return Err(Error::TargetGone { pid, during: "attaching".into() });
        }
        Ok(frozen)
    }

    /// Seizes and stops one thread of `pid`, the first listed that can be
    /// stopped, and leaves the others running: enough for an injected
    /// syscall that concerns the whole process (cow.rs reaps its fork so).
    /// A thread that cannot be seized (EPERM: a zombie leader, one traced
    /// already) makes it a full `freeze`, which tells those cases apart.
    pub fn freeze_one(pid: i32) -> Result<Frozen> {
        let options = seize_options(pid)?;
        let mut frozen = Frozen { pid, tids: Vec::new(), leave_stopped: false, adopted: Vec::new(), held: false };
        for tid in task_ids(pid)? {
            match ptrace::seize(Pid::from_raw(tid), options) {
                Ok(()) => frozen.insert(tid),
                // The thread exited between the scan and the seize.
                Err(Errno::ESRCH) => continue,
                Err(Errno::EPERM) => {
                    drop(frozen);
                    return Frozen::freeze(pid);
                }
                Err(e) => return Err(Error::sys(format!("PTRACE_SEIZE of thread {tid}"), e)),
            }
            if let Err(e) = ptrace::interrupt(Pid::from_raw(tid)) {
                if e != Errno::ESRCH {
                    return Err(Error::sys(format!("PTRACE_INTERRUPT of thread {tid}"), e));
                }
            }
            if frozen.wait_interrupt_stop(tid)? {
                return Ok(frozen);
            }
            frozen.tids.retain(|&t| t != tid);
        }
        Err(Error::TargetGone { pid, during: "attaching".into() })
    }

    /// A process of one thread that we trace and hold in a ptrace stop
    /// already (the `--cow` snapshot child, cow.rs), to inject syscalls
    /// into; dropping it leaves the thread stopped and traced.
    pub fn held(pid: i32) -> Frozen {
        Frozen { pid, tids: vec![pid], leave_stopped: false, adopted: Vec::new(), held: true }
    }

    fn insert(&mut self, tid: i32) {
        if let Err(i) = self.tids.binary_search(&tid) {
            self.tids.insert(i, tid);
        }
    }

    /// Waits until `tid` is in a ptrace stop we can work in. Returns false
    /// if the thread exited instead.
    fn wait_interrupt_stop(&mut self, tid: i32) -> Result<bool> {
        loop {
            match wait_thread(tid) {
                // Interrupt stop (SIGTRAP) or a group stop (SIGSTOP etc.).
                Ok(Event::EventStop { event: libc::PTRACE_EVENT_STOP, .. }) => {
                    // A swallowed signal still pending would be recorded in
                    // the image and stop the restored job again at once:
                    // let the thread take it (and discard it, below).
                    if !self.swallow_pending(tid) {
                        return Ok(true);
                    }
                    match resume(libc::PTRACE_CONT, tid, 0) {
                        Ok(()) | Err(Errno::ESRCH) => continue,
                        Err(e) => return Err(Error::sys(format!("resuming thread {tid}"), e)),
                    }
                }
                // Signal-delivery-stop: let the thread take the signal now
                // (or discard a supervisor's stop signal, remembered).
                Ok(Event::SignalStop(sig)) if (1..=64).contains(&sig) && SWALLOW.load(Ordering::Relaxed) & (1 << (sig - 1)) != 0 => {
                    SWALLOWED.fetch_or(1 << (sig - 1), Ordering::Relaxed);
                    // Stop again (at the interrupt) once the signal is discarded.
                    if let Err(e) = ptrace::interrupt(Pid::from_raw(tid)) {
                        if e != Errno::ESRCH {
                            return Err(Error::sys(format!("PTRACE_INTERRUPT of thread {tid}"), e));
                        }
                    }
                    match resume(libc::PTRACE_CONT, tid, 0) {
                        Ok(()) | Err(Errno::ESRCH) => continue,
                        Err(e) => return Err(Error::sys(format!("resuming thread {tid}"), e)),
                    }
                }
                Ok(Event::SignalStop(sig)) => match resume(libc::PTRACE_CONT, tid, sig) {
                    Ok(()) | Err(Errno::ESRCH) => continue,
                    Err(e) => return Err(Error::sys(format!("re-delivering signal {sig} to thread {tid}"), e)),
                },
                // Some other event stop: resume and keep waiting for the interrupt.
                Ok(Event::EventStop { .. }) => {
                    let _ = resume(libc::PTRACE_CONT, tid, 0);
                }
                Ok(Event::Gone) => {
                    if tid == self.pid {
                        return Err(Error::TargetGone { pid: self.pid, during: "attaching".into() });
                    }
                    return Ok(false);
                }
                Err(e) => return Err(Error::sys(format!("waiting for thread {tid} to stop"), e)),
            }
        }
    }

    /// Whether thread `tid` has a swallowed signal pending (its own or its
    /// process's) that it does not block, so that it would take it on.
    fn swallow_pending(&self, tid: i32) -> bool {
        let mask = SWALLOW.load(Ordering::Relaxed);
        if mask == 0 {
            return false;
        }
        let Ok(st) = Process::new(self.pid).and_then(|p| p.task_from_tid(tid)).and_then(|t| t.status()) else { return false };
        (st.sigpnd | st.shdpnd) & !st.sigblk & mask != 0
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The stopped threads, sorted by tid.
    pub fn tids(&self) -> &[i32] {
        &self.tids
    }

    /// Leave the process stopped (group stop) after detaching.
    pub fn set_leave_stopped(&mut self) {
        self.leave_stopped = true;
    }

    /// Kills the process (still frozen, so it runs no further).
    pub fn kill(&self) -> Result<()> {
        kill(Pid::from_raw(self.pid), Signal::SIGKILL).map_err(|e| Error::sys(format!("killing pid {}", self.pid), e))
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        if self.held {
            return;
        }
        if self.leave_stopped {
            // Queued now, taken by the first thread that runs after detach:
            // the whole group stops before executing user code.
            let _ = kill(Pid::from_raw(self.pid), Signal::SIGSTOP);
        }
        for &tid in &self.tids {
            let request = if self.adopted.contains(&tid) { libc::PTRACE_CONT } else { libc::PTRACE_DETACH };
            let _ = resume(request, tid, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A child that has exited and is not reaped yet.
    fn zombie() -> std::process::Child {
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Process::new(pid).and_then(|p| p.stat()).map(|s| s.state).ok() != Some('Z') {
            assert!(Instant::now() < deadline, "pid {pid} never became a zombie");
            std::thread::sleep(Duration::from_millis(5));
        }
        child
    }

    #[test]
    fn a_zombie_is_named_a_zombie_and_a_reaped_process_gone() {
        let mut child = zombie();
        let pid = child.id() as i32;
        assert!(matches!(check_target(pid), Err(Error::Zombie(p)) if p == pid));
        child.wait().unwrap();
        assert!(matches!(check_target(pid), Err(Error::NoSuchProcess(p)) if p == pid));
    }

    /// A target that passed the checks and then exited is attached to as a
    /// zombie: that is "exited during the dump", not "not permitted".
    #[test]
    fn a_target_that_turned_zombie_exited_during_the_dump() {
        let mut child = zombie();
        let pid = child.id() as i32;
        match Frozen::freeze(pid) {
            Err(e @ Error::TargetGone { .. }) => assert!(e.to_string().contains("zombie"), "{e}"),
            other => panic!("want TargetGone, got {:?}", other.map(|_| "frozen")),
        }
        child.wait().unwrap();
    }
}
