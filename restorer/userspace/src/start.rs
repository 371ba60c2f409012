//! Start-up without std's runtime (`#![no_main]` in main.rs).
//!
//! std's `lang_start` does, before `main`: make fds 0-2 open (a closed one
//! gets /dev/null), set SIGPIPE to ignored, and install a stack-overflow
//! handler (SIGSEGV and SIGBUS handlers, an alternate signal stack mapped
//! for the main thread, and the main thread's guard page, which glibc finds
//! by reading /proc/self/maps and asking for the CPU affinity); after it,
//! a panic becomes exit status 101. A restore needs the first two and the
//! last, which `run` keeps as they were; the stack-overflow handler only
//! turns an overflow's SIGSEGV into a message first, and costs a read of
//! /proc/self/maps and six system calls more at every restore. Arguments
//! still come from std (`std::env::args`: glibc hands them to std's
//! initialiser in .init_array, with or without `lang_start`).

/// Does std's start-up that ckpt-restore needs, runs `body`, and returns
/// the exit status (0, or 101 after a panic, as std's `main` would).
pub fn run(body: fn()) -> std::ffi::c_int {
    sanitize_standard_fds();
    // SAFETY: setting SIGPIPE's disposition to SIG_IGN installs no handler
    // and touches no memory of ours; std does the same before its main.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    match std::panic::catch_unwind(body) {
        Ok(()) => 0,
        Err(_) => 101, // the panic hook has printed the message
    }
}

/// As std: a closed fd 0, 1 or 2 is opened on /dev/null, so that files the
/// restorer opens never take a standard number (and a restored process
/// that inherits its stdio finds them as it would after std's start-up).
/// Aborts where /dev/null cannot be opened, as std does.
fn sanitize_standard_fds() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd { fd, events: 0, revents: 0 });
    loop {
        // SAFETY: poll reads and writes the three pollfd records of `fds`,
        // which lives across the call; timeout 0 never blocks.
        if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } != -1 {
            break;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            // std falls back to fcntl(F_GETFD) one fd at a time.
            Some(libc::EINVAL | libc::EAGAIN | libc::ENOMEM) => {
                for p in &mut fds {
                    // SAFETY: F_GETFD takes a plain integer and reads no memory.
                    let closed = unsafe { libc::fcntl(p.fd, libc::F_GETFD) } == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
                    p.revents = if closed { libc::POLLNVAL } else { 0 };
                }
                break;
            }
            _ => std::process::abort(),
        }
    }
    for p in fds {
        // SAFETY: open of a NUL-terminated literal path; the new fd (the
        // lowest free: the closed one) is kept for the process's life.
        if p.revents & libc::POLLNVAL != 0 && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR, 0) } == -1 {
            std::process::abort();
        }
    }
}
