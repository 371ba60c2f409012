//! membarrier(2) registrations through ckpt-restore: membar registers the
//! private expedited commands, is dumped at its wait point, killed and
//! restored; it checks itself that the registrations are the same and the
//! expedited commands succeed (EPERM in a process that never registered),
//! and prints what an uninterrupted run prints. Needs root (ptrace).

mod common;

use std::io::BufReader;
use std::process::{Child, ChildStdout, Command, Stdio};

use common::*;

/// membar, started with a pipe on stdin, once it waits at wait point 1.
fn waiting() -> (Child, BufReader<ChildStdout>) {
    let (child, out, head) = held_at("membar", 1, &[]);
    assert_eq!(head, "ready\nwaiting at 1\n", "membar did not get to its wait point");
    (child, out)
}

#[test]
fn membarrier_registrations_are_restored() {
    let (child, out) = waiting();
    let (reference, status) = go(child, out);
    assert!(status.success(), "uninterrupted run: {reference}");

    let dir = scratch("membar");
    let image = dir.join("saved.ckpt");
    let (mut child, _out) = waiting();
    dump_child_kill(&mut child, &image);
    let inspect = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(!text.contains("membarrier registrations 0x0\n"), "{text}");

    let restored = run_restorer(&image).stdin(Stdio::null()).stderr(Stdio::inherit()).output().unwrap();
    let stdout = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "restored: {:?}: {stdout}", restored.status);
    assert_eq!(stdout, reference);
    assert!(stdout.ends_with("result OK\n"));
}
