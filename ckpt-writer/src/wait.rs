//! waitpid and resuming requests that work for every signal number. nix's
//! `Signal` enum has no real-time signals, so its `waitpid` fails with
//! EINVAL on a stop for SIGRTMIN and its `cont`/`detach` cannot pass one
//! on; a dump must neither fail nor drop such a signal.

use nix::errno::Errno;

/// What a traced thread reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// PTRACE_EVENT_* stop (interrupt or group stop: PTRACE_EVENT_STOP).
    EventStop { sig: i32, event: i32 },
    /// Signal-delivery-stop for `sig` (SIGTRAP after a single-step).
    SignalStop(i32),
    /// The thread exited or was killed.
    Gone,
}

/// Waits for the next report of thread `tid`.
pub fn wait_thread(tid: i32) -> Result<Event, Errno> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes one int to `status`, a valid local.
        let rc = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        if rc < 0 {
            match Errno::last() {
                Errno::EINTR => continue,
                Errno::ECHILD => return Ok(Event::Gone),
                e => return Err(e),
            }
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            return Ok(Event::Gone);
        }
        if libc::WIFSTOPPED(status) {
            let sig = libc::WSTOPSIG(status);
            let event = status >> 16;
            return Ok(if event != 0 { Event::EventStop { sig, event } } else { Event::SignalStop(sig) });
        }
    }
}

/// PTRACE_CONT, PTRACE_SINGLESTEP or PTRACE_DETACH with signal `sig`
/// (0 for none).
pub fn resume(request: libc::c_uint, tid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: these requests take no pointers: addr is ignored and data is
    // a signal number passed by value.
    let rc = unsafe { libc::ptrace(request, tid, 0usize, sig as usize) };
    if rc < 0 {
        return Err(Errno::last());
    }
    Ok(())
}
