//! Keeping the PID and the TIDs where this process may choose them.
//!
//! An unprivileged restore cannot pick PIDs: the restored process is the
//! caller's task, with the caller's PID. In a PID namespace of its own
//! (`unshare --user --pid --fork --map-root-user ckpt-restore IMAGE`, or the
//! image run through binfmt_misc there), ckpt-restore is the namespace's
//! init (PID 1) and holds CAP_SYS_ADMIN over it. Then it creates the process
//! to restore with `clone3` and `set_tid` = the PID at dump, stays behind as
//! a small init (it reaps, forwards the signals sent to it, and exits with
//! the restored process's status), and the restored threads are cloned with
//! their own TIDs too. Programs that compare `getpid()` with a PID they
//! saved (CPython's asyncio, lock files, PID-keyed caches) then run on.
//!
//! What is decided here happens before the point of no return: a PID that
//! cannot be had leaves the restore as it was without this (a new PID, said
//! on stderr), never a failure after it.

use nix::errno::Errno;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{getpid, Pid};

/// clone3(2)'s arguments up to `set_tid_size` (CLONE_ARGS_SIZE_VER1).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
}

/// A fork (no shared memory, SIGCHLD to the parent) whose child gets `pid`
/// in this PID namespace, or any PID with `None`. Ok(0) in the child.
fn fork_with(pid: Option<u32>) -> Result<i32, Errno> {
    let want = pid.map(|p| p as i32);
    let mut args = CloneArgs { exit_signal: libc::SIGCHLD as u64, ..Default::default() };
    if let Some(p) = &want {
        args.set_tid = p as *const i32 as u64;
        args.set_tid_size = 1;
    }
    // SAFETY: clone3 reads `args` (and the one-element set_tid array it
    // points to, alive for the call) and creates a child with a copy of
    // this single-threaded process, like fork; the child returns 0 here and
    // only goes on with the restore, which enters the stub.
    let r = unsafe { libc::syscall(libc::SYS_clone3, &args as *const CloneArgs, std::mem::size_of::<CloneArgs>()) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r as i32)
    }
}

/// Whether this process may give its threads the TIDs `tids`: each free in
/// its PID namespace (kill(2) finds no such task) and, for the first, a
/// child created with it (exiting at once) shows the namespace lets this
/// process choose.
fn may_choose(tids: &[u32]) -> bool {
    let Some(&first) = tids.first() else { return false };
    let free = |t: u32| i32::try_from(t).is_ok_and(|t| t > 1 && kill(Pid::from_raw(t), None) == Err(Errno::ESRCH));
    if !tids.iter().all(|&t| free(t)) {
        return false;
    }
    match fork_with(Some(first)) {
        // SAFETY: in the child of a fork: _exit ends it without running
        // anything of this process's (no atexit handler, no flush).
        Ok(0) => unsafe { libc::_exit(0) },
        Ok(child) => {
            let _ = waitpid(Pid::from_raw(child), None);
            true
        }
        Err(_) => false,
    }
}

/// Arranges the PID for restoring a process that had `pid` and whose other
/// threads had `tids`; returns whether the stub should clone the threads
/// with their TIDs. Returns in the process that goes on with the restore:
/// the caller itself, or, when the caller is its PID namespace's init, the
/// child that got `pid` (the caller then stays init and never returns).
pub fn arrange(pid: u32, tids: &[u32]) -> bool {
    let me = getpid().as_raw();
    if me as u32 == pid {
        return may_choose(tids);
    }
    if me != 1 || pid == 1 {
        return false;
    }
    // The namespace's init: the restored process must not be PID 1 (init
    // ignores every signal it has no handler for), so it is a child, with
    // its PID at dump where the namespace allows.
    let child = match fork_with(Some(pid)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ckpt-restore: PID {pid} cannot be kept in this PID namespace ({e}); the process gets a new one");
            match fork_with(None) {
                Ok(c) => c,
                // Not even a plain child: restore in place, as PID 1.
                Err(_) => return false,
            }
        }
    };
    if child == 0 {
        return getpid().as_raw() as u32 == pid && may_choose(tids);
    }
    be_init(Pid::from_raw(child))
}

/// What init does for the restored process: reaps every child (orphans of
/// the namespace come here), forwards the signals other processes send it
/// (not those the kernel or a terminal sent, which reached the restored
/// process itself), and exits with its status once it has ended: its exit
/// code, or 128 + the signal that killed it (as a shell reports it: init
/// cannot die of a signal it sends itself).
fn be_init(child: Pid) -> ! {
    let all = SigSet::all();
    let _ = all.thread_block();
    // Nothing of the caller's stays open here: the restored process's
    // readers see end of file when it closes its ends, not when init ends.
    // SAFETY: close_range takes plain integers; every fd of this process
    // is closed, none is used again (the signalfd below is new).
    unsafe { libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32) };
    let Ok(sfd) = SignalFd::with_flags(&all, SfdFlags::SFD_CLOEXEC) else {
        // No signalfd: still reap and pass the status on (no forwarding).
        loop {
            match waitpid(None, Some(WaitPidFlag::__WALL)) {
                Ok(WaitStatus::Exited(p, c)) if p == child => std::process::exit(c),
                Ok(WaitStatus::Signaled(p, s, _)) if p == child => std::process::exit(128 + s as i32),
                Err(Errno::ECHILD) => std::process::exit(1),
                _ => {}
            }
        }
    };
    loop {
        let Ok(Some(info)) = sfd.read_signal() else { continue };
        let sig = info.ssi_signo as i32;
        if sig == libc::SIGCHLD {
            if let Some(code) = reap(child) {
                std::process::exit(code);
            }
        } else if info.ssi_code == libc::SI_USER || info.ssi_code == libc::SI_QUEUE {
            if let Ok(s) = Signal::try_from(sig) {
                let _ = kill(child, s);
            }
        }
    }
}

/// Reaps every child that has ended; the restored process's status as an
/// exit code once it has.
fn reap(child: Pid) -> Option<i32> {
    let mut code = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
            Ok(WaitStatus::Exited(p, c)) if p == child => code = Some(c),
            Ok(WaitStatus::Signaled(p, s, _)) if p == child => code = Some(128 + s as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return code,
            Ok(_) => {}
        }
    }
}
