//! File locks through ckpt-restore: filelocks takes POSIX record locks, an
//! OFD lock and a flock on a file, is dumped at its wait point, killed and
//! restored; a child it forks checks from outside that each lock is held
//! by the restored process, and it prints what an uninterrupted run
//! prints. A lock that someone else holds at restore (the original, dumped
//! without --kill) fails the restore at step take-lock, naming the fd.
//! Needs root (ptrace).

mod common;

use std::io::BufReader;
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};

use common::*;

/// filelocks on `file`, started with a pipe on stdin, once it waits at
/// wait point 1 holding its locks.
fn waiting(file: &Path) -> (Child, BufReader<ChildStdout>) {
    let (child, out, head) = held_at("filelocks", 1, &[file.to_str().unwrap()]);
    assert_eq!(head, "ready\nwaiting at 1\n", "filelocks did not get to its wait point");
    (child, out)
}

#[test]
fn file_locks_are_taken_again() {
    let dir = scratch("filelocks");
    let file = dir.join("locked.dat");
    let (child, out) = waiting(&file);
    let (reference, status) = go(child, out);
    assert!(status.success(), "uninterrupted run: {reference}");
    assert!(reference.ends_with("result OK\n"), "{reference}");

    let image = dir.join("saved.ckpt");
    let (mut child, _out) = waiting(&file);
    dump_child_kill(&mut child, &image);
    let inspect = std::process::Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains("file locks (4):\n"), "{text}");

    let restored = run_restorer(&image).stdin(Stdio::null()).stderr(Stdio::inherit()).output().unwrap();
    let stdout = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "restored: {:?}: {stdout}", restored.status);
    assert_eq!(stdout, reference);
}

#[test]
fn a_lock_held_by_someone_else_fails_at_take_lock() {
    let dir = scratch("filelocks-held");
    let file = dir.join("locked.dat");
    let image = dir.join("saved.ckpt");
    let (child, out) = waiting(&file);
    let dump = std::process::Command::new(writer())
        .args(["dump", &child.id().to_string(), "-q", "-o"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(dump.status.success(), "dump failed: {}", String::from_utf8_lossy(&dump.stderr));

    // The original still holds every lock: the first one the stub takes
    // (fd 3's POSIX write lock) fails without waiting.
    let restored = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&restored.stderr);
    assert!(!restored.status.success(), "restored while the locks were held: {stderr}");
    assert!(
        stderr.contains("restore failed after the point of no return: take-lock fd 3: errno 11 (EAGAIN)"),
        "{stderr}"
    );

    // The original is untouched and still holds them.
    let (rest, status) = go(child, out);
    assert!(status.success(), "original after the failed restore: {rest}");
    assert!(rest.ends_with("result OK\n"), "{rest}");
}
