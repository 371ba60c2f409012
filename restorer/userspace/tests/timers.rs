//! Timers through ckpt-restore: ptimers arms the three itimers and POSIX
//! timers of each notification (one aimed at its second thread, ids with a
//! gap), is dumped at its wait point, killed and restored; it checks
//! itself that every timer is armed with its interval and no more time
//! left than before, that the ids are kept (the gap's is still free), and
//! that the timers fire with their values in the right thread; its output
//! must be the uninterrupted run's. Needs root (ptrace).

mod common;

use std::process::{Command, Stdio};

use common::*;

#[test]
fn timers_are_restored_with_their_ids_intervals_and_targets() {
    let (child, out, head) = held_at("ptimers", 1, &[]);
    let (reference, status) = go(child, out);
    assert!(status.success(), "uninterrupted run: {head}{reference}");

    let dir = scratch("ptimers");
    let image = dir.join("saved.ckpt");
    let (mut child, _out, _) = held_at("ptimers", 1, &[]);
    dump_child_kill(&mut child, &image);
    let inspect = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains("timers (5):") && text.contains("posix 3 "), "{text}");

    let restored = run_restorer(&image).stdin(Stdio::null()).stderr(Stdio::inherit()).output().unwrap();
    let stdout = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "restored: {:?}: {stdout}", restored.status);
    assert_eq!(stdout, reference);
    assert!(stdout.ends_with("result OK\n"));
}
