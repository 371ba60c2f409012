//! Pending signals through ckpt-restore: pendsig queues standard and
//! real-time signals (several instances with distinct values), to the
//! process and to each of its two threads, all blocked; it is dumped with
//! them pending, killed, restored, and must get each one after restore
//! with its siginfo, in order, in the thread it was sent to, as an
//! uninterrupted run does (pendsig checks this itself and exits 1 if not).
//! A dump that fails must leave them pending. Needs root (ptrace).

mod common;

use std::io::BufReader;
use std::process::{Child, ChildStdout, Command, Stdio};

use common::*;

/// pendsig, started with a pipe on stdin, once it waits at wait point 1.
fn waiting() -> (Child, BufReader<ChildStdout>) {
    let (child, out, head) = held_at("pendsig", 1, &[]);
    assert_eq!(head, "ready\nwaiting at 1\n", "pendsig did not get to its wait point");
    (child, out)
}

#[test]
fn pending_signals_are_delivered_after_restore_with_their_siginfo() {
    let (child, out) = waiting();
    let (reference, status) = go(child, out);
    assert!(status.success(), "uninterrupted run: {reference}");
    assert!(reference.contains("got worker 39 code -1 value 202"), "{reference}");

    let dir = scratch("pendsig");
    let image = dir.join("saved.ckpt");
    let (mut child, _out) = waiting();
    dump_child_kill(&mut child, &image);

    let inspect = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains("pending signals (10):"), "{text}");

    // Under a RLIMIT_SIGPENDING below what the image queues (8 of its
    // signals have a negative si_code), refused before the point of no
    // return, with the reason named.
    let low = Command::new("prlimit")
        .arg("--sigpending=7")
        .arg(restorer())
        .arg(&image)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&low.stderr);
    assert!(!low.status.success() && stderr.contains("(exceeds-rlimit-sigpending)"), "{:?}: {stderr}", low.status);

    let restored = run_restorer(&image).stdin(Stdio::null()).stderr(Stdio::inherit()).output().unwrap();
    let stdout = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "restored: {:?}: {stdout}", restored.status);
    assert_eq!(stdout, reference);
}

/// A dump that fails after the writer peeked at the queues (here: its
/// standard output is /dev/full) leaves every signal pending in the
/// original.
#[test]
fn a_failed_dump_leaves_the_signals_pending() {
    let (child, out) = waiting();
    let dump = Command::new(writer())
        .args(["dump", &child.id().to_string(), "-q", "-o", "-"])
        .stdout(std::fs::File::options().write(true).open("/dev/full").unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&dump.stderr);
    assert!(!dump.status.success(), "the dump should have failed");
    assert!(stderr.contains("No space left on device"), "the dump failed for another reason: {stderr}");
    let (after, status) = go(child, out);
    assert!(status.success(), "after a failed dump: {after}");
    assert!(after.ends_with("result OK\n"), "{after}");
}

/// A process stopped at dump (SIGSTOP: a group stop) is restored stopped,
/// every thread ready: its parent sees it stop (waitpid WUNTRACED), and
/// after SIGCONT it goes on as an uninterrupted run does. `inspect` says
/// "stopped".
#[test]
fn a_stopped_process_is_restored_stopped() {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    use nix::unistd::Pid;
    use std::io::Read;
    let (child, out) = waiting();
    let (reference, status) = go(child, out);
    assert!(status.success(), "uninterrupted run: {reference}");

    let dir = scratch("stopped");
    let image = dir.join("saved.ckpt");
    let (mut child, _out) = waiting();
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGSTOP).unwrap();
    assert_eq!(waitpid(pid, Some(WaitPidFlag::WUNTRACED)).unwrap(), WaitStatus::Stopped(pid, Signal::SIGSTOP));
    dump_child_kill(&mut child, &image);
    let inspect = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains("prctl: stopped"), "{text}");

    let mut restored = run_restorer(&image).stdin(Stdio::null()).stdout(Stdio::piped()).spawn().unwrap();
    let rpid = Pid::from_raw(restored.id() as i32);
    match waitpid(rpid, Some(WaitPidFlag::WUNTRACED)).unwrap() {
        WaitStatus::Stopped(_, Signal::SIGSTOP) => {}
        other => panic!("the restored process did not stop: {other:?}"),
    }
    kill(rpid, Signal::SIGCONT).unwrap();
    let mut stdout = String::new();
    restored.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let status = restored.wait().unwrap();
    assert!(status.success(), "restored: {status:?}: {stdout}");
    assert_eq!(stdout, reference);
}
