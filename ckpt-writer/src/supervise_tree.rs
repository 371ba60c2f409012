//! CMD's tree under the supervisor's ptrace (`ckpt-writer run`).
//!
//! The child is forked, puts itself in a process group of its own, gets
//! an empty signal mask and default SIGPIPE, and waits on a pipe until
//! the supervisor has PTRACE_SEIZEd it; then it closes every fd above 2
//! and executes CMD (or the image). The seize options auto-attach every
//! thread and child it ever makes (TRACECLONE, TRACEFORK, TRACEVFORK), so
//! the whole tree is traced from its first instruction, and EXITKILL
//! kills the tree if the supervisor itself dies (a job nobody can
//! checkpoint any more is not left running unseen). TRACESYSGOOD is the
//! option freeze.rs seizes with: the dump's syscall injection (inject.rs)
//! tells its syscall stops by it.
//!
//! Tracing costs nothing while nothing happens: the tree only stops at
//! forks, clones and signals. A signal that is about to be delivered to
//! any process of the tree stops it first (signal-delivery-stop): the
//! stop signals (`--on-signal`) are held there, so a scheduler that
//! signals every process of the job at once cannot make CMD act on the
//! signal before the checkpoint; every other signal is passed on at once.
//! Group stops (SIGSTOP, SIGTSTP, ...) are kept with PTRACE_LISTEN.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::sys::ptrace::{self, Options};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::wait::resume;

/// What the tree reported.
pub enum Report {
    /// The root exited: its status as a shell gives it (128+signal if killed).
    RootExited(i32),
    /// A stop signal was held for a process of the tree.
    Held(Signal),
}

/// The supervised tree.
pub struct Tree {
    pub root: i32,
    /// Threads held in a signal-delivery-stop, with the signal.
    held: Vec<(i32, i32)>,
    /// Stop signals are passed on, not held (after a failed checkpoint).
    pass_stop: bool,
}

/// The seize options (see the module's comment).
fn options() -> Options {
    Options::PTRACE_O_TRACECLONE | Options::PTRACE_O_TRACEFORK | Options::PTRACE_O_TRACEVFORK | Options::PTRACE_O_EXITKILL | Options::PTRACE_O_TRACESYSGOOD
}

/// Writes `msg` and errno to stderr and exits 127: the child's exec failed.
fn exec_failed(msg: &[u8]) -> ! {
    let errno = Errno::last_raw();
    let mut digits = [0u8; 12];
    let mut n = errno.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // SAFETY: write and _exit are async-signal-safe; the buffers are valid.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::write(2, digits[i..].as_ptr().cast(), digits.len() - i);
        libc::write(2, b")\n".as_ptr().cast(), 2);
        libc::_exit(127)
    }
}

impl Tree {
    /// Starts `argv` as the supervised child (see the module's comment).
    pub fn spawn(argv: &[OsString]) -> Result<Tree> {
        let args: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()).map_err(|_| Error::Usage(format!("{a:?} contains a NUL byte"))))
            .collect::<Result<_>>()?;
        let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let msg = format!("ckpt-writer run: cannot execute {} (errno ", argv[0].to_string_lossy()).into_bytes();
        let (go_r, go_w): (OwnedFd, OwnedFd) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::sys("pipe", e))?;
        // SAFETY: the child only makes async-signal-safe calls (setpgid,
        // sigprocmask, signal, read, close_range, execvp, write, _exit) on
        // memory prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Error::sys("fork", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: see above; `ptrs` is a NULL-terminated array of valid C strings.
            unsafe {
                libc::setpgid(0, 0);
                let mut empty: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut empty);
                libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                let mut byte = 0u8;
                if libc::read(go_r.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) != 1 {
                    libc::_exit(127);
                }
                libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
                libc::execvp(ptrs[0], ptrs.as_ptr());
            }
            exec_failed(&msg);
        }
        drop(go_r);
        let tree = Tree { root: pid, held: Vec::new(), pass_stop: false };
        if let Err(e) = ptrace::seize(Pid::from_raw(pid), options()) {
            // Dropping the pipe's write end makes the child exit 127.
            drop(go_w);
            let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
            return Err(Error::sys("PTRACE_SEIZE of the child", e));
        }
        nix::unistd::write(&go_w, b"g").map_err(|e| Error::sys("starting the child", e))?;
        Ok(tree)
    }

    /// Handles every report waiting (never blocks).
    pub fn drain(&mut self, stop_mask: u64) -> Result<Vec<Report>> {
        let mut out = Vec::new();
        loop {
            let mut status = 0;
            // SAFETY: waitpid writes one int to `status`, a valid local.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::WNOHANG) };
            if pid == 0 {
                return Ok(out);
            }
            if pid < 0 {
                match Errno::last() {
                    Errno::EINTR => continue,
                    // The root was reaped by a failed dump's wait (it exited
                    // while being frozen): its status is lost.
                    Errno::ECHILD if out.iter().any(|r| matches!(r, Report::RootExited(_))) => return Ok(out),
                    Errno::ECHILD => {
                        eprintln!("ckpt-writer run: the job (pid {}) ended during a checkpoint; its exit status is lost", self.root);
                        out.push(Report::RootExited(1));
                        return Ok(out);
                    }
                    e => return Err(Error::sys("waitpid", e)),
                }
            }
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                self.held.retain(|&(t, _)| t != pid);
                if pid == self.root {
                    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { 128 + libc::WTERMSIG(status) };
                    out.push(Report::RootExited(code));
                }
                continue;
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            let sig = libc::WSTOPSIG(status);
            let event = status >> 16;
            let group_stop = [libc::SIGSTOP, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU].contains(&sig);
            let r = if event == libc::PTRACE_EVENT_STOP && group_stop {
                resume(libc::PTRACE_LISTEN as libc::c_uint, pid, 0)
            } else if event != 0 {
                resume(libc::PTRACE_CONT, pid, 0)
            } else if (1..=64).contains(&sig) && stop_mask & (1 << (sig - 1)) != 0 && !self.pass_stop {
                self.held.push((pid, sig));
                if let Ok(s) = Signal::try_from(sig) {
                    out.push(Report::Held(s));
                }
                Ok(())
            } else {
                resume(libc::PTRACE_CONT, pid, sig)
            };
            match r {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(e) => return Err(Error::sys(format!("resuming pid {pid}"), e)),
            }
        }
    }

    /// Lets the held threads run on without their signals (the checkpoint
    /// that follows freezes them again). Returns what was held.
    pub fn drop_held(&mut self) -> Vec<(i32, i32)> {
        let held = std::mem::take(&mut self.held);
        for &(tid, _) in &held {
            let _ = resume(libc::PTRACE_CONT, tid, 0);
        }
        held
    }

    /// After a failed checkpoint-and-stop: the stop signals sent to the
    /// tree are delivered, and from now on passed on as they come.
    pub fn deliver(&mut self, held: &[(i32, i32)]) {
        self.pass_stop = true;
        for &(tid, sig) in held {
            // SAFETY: plain syscall with integer arguments.
            unsafe { libc::syscall(libc::SYS_tgkill, tid_group(tid), tid, sig) };
        }
    }

    /// Sends `sig` to the root's process group (a signal the supervisor
    /// received and passes on).
    pub fn forward(&self, sig: Signal) {
        let pgid = nix::unistd::getpgid(Some(Pid::from_raw(self.root))).unwrap_or(Pid::from_raw(self.root));
        let _ = nix::sys::signal::kill(Pid::from_raw(-pgid.as_raw()), sig);
    }

    /// Waits for the root to end (after the checkpoint killed it).
    pub fn reap(&mut self) -> i32 {
        loop {
            let mut status = 0;
            // SAFETY: waitpid writes one int to `status`, a valid local.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
            if pid < 0 && Errno::last() != Errno::EINTR {
                return 0;
            }
            if pid == self.root && (libc::WIFEXITED(status) || libc::WIFSIGNALED(status)) {
                return status;
            }
            if pid > 0 && libc::WIFSTOPPED(status) {
                // Stops of processes that are being killed: let them die.
                let _ = resume(libc::PTRACE_CONT, pid, 0);
            }
        }
    }
}

/// The thread group of thread `tid` (for tgkill).
fn tid_group(tid: i32) -> i32 {
    procfs::process::Process::new(tid).and_then(|p| p.status()).map(|s| s.tgid).unwrap_or(tid)
}
