//! A step that fails after the point of no return is visible: the stub
//! writes one line naming the step, its fd or address, and the errno to the
//! caller's stderr, and the process dies by SIGSEGV (a core where core
//! dumps are enabled), instead of exiting with 139 in silence.
//!
//! The failure is made deterministic without any hook in the restorer: a
//! fanotify permission event, which the test answers, allows the restorer's
//! own open of an fd's file (its check, before the teardown) and refuses
//! the stub's reopen of it (after). Needs root; skips otherwise.

mod common;

use std::io::Read;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::fanotify::{EventFFlags, Fanotify, FanotifyResponse, InitFlags, MarkFlags, MaskFlags, Response};

use common::*;

/// Answers the permission events of `fan` until process `pid` has ended:
/// allows the first open, denies the second, allows any later. Returns the
/// pid of each opener, in order.
fn deny_second_open(fan: &Fanotify, pid: i32) -> Vec<i32> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    assert!(raw >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    // SAFETY: the fd was just returned to us and nothing else owns it.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    let mut openers = Vec::new();
    loop {
        let mut fds = [PollFd::new(fan.as_fd(), PollFlags::POLLIN), PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::NONE).unwrap();
        let fan_ready = fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLIN));
        let ended = fds[1].revents().is_some_and(|r| !r.is_empty());
        if fan_ready {
            for ev in fan.read_events().unwrap() {
                let fd = ev.fd().expect("a permission event carries the file");
                openers.push(ev.pid());
                let answer = if openers.len() == 2 { Response::FAN_DENY } else { Response::FAN_ALLOW };
                fan.write_response(FanotifyResponse::new(fd, answer)).unwrap();
            }
        } else if ended {
            return openers;
        }
    }
}

#[test]
fn a_reopen_refused_after_the_teardown_is_named_and_ends_in_sigsegv() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("after-teardown");
    let mut cmd = Command::new(programs().join("files"));
    cmd.args([dir.to_str().unwrap(), "100000", "2000"]).current_dir(&dir);
    let mut t = Target::spawn(cmd);
    t.wait_prefix("step 100");
    let out_fd: u32 = t.seen.iter().find_map(|l| l.strip_prefix("fd output ")).expect("fd output line").parse().unwrap();
    dump_kill(t, &dir.join("saved.ckpt"));

    let fan = Fanotify::init(
        InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC | InitFlags::FAN_NONBLOCK,
        EventFFlags::O_RDONLY | EventFFlags::O_CLOEXEC,
    )
    .expect("fanotify_init (needs CONFIG_FANOTIFY_ACCESS_PERMISSIONS)");
    fan.mark(MarkFlags::FAN_MARK_ADD, MaskFlags::FAN_OPEN_PERM, nix::fcntl::AT_FDCWD, Some(&dir.join("output.txt"))).unwrap();

    // Cores are checked where this machine writes them as files (a plain
    // core_pattern): in the image's cwd, this scratch directory.
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let cores_here = !pattern.starts_with('|') && !pattern.contains('/');
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -c unlimited && exec ./saved.ckpt"]).current_dir(&dir).stderr(Stdio::piped());
    let mut restored = Target::spawn(cmd);
    let pid = restored.pid();
    let mut stderr = restored.child.stderr.take().unwrap();
    let openers = deny_second_open(&fan, pid);
    let mut line = String::new();
    stderr.read_to_string(&mut line).unwrap();
    let (st, _) = restored.finish();

    assert_eq!(openers, [pid, pid], "the restorer's check, then the stub's reopen");
    assert_eq!(
        line,
        format!("ckpt-restore: ./saved.ckpt: restore failed after the point of no return: reopen-fd fd {out_fd}: errno 1 (EPERM)\n")
    );
    assert_eq!(st.signal(), Some(libc::SIGSEGV), "{st:?}");
    if cores_here {
        assert!(st.core_dumped(), "no core although core dumps are enabled ({st:?})");
    } else {
        eprintln!("core_pattern is {:?}: whether a core was written is not checked", pattern.trim());
    }
    let _ = std::fs::remove_dir_all(&dir);
}
