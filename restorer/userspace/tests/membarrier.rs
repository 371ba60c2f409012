//! membarrier(2) registrations through ckpt-restore: membar registers the
//! private expedited commands, is dumped at its wait point, killed and
//! restored; it checks itself that the registrations are the same and the
//! expedited commands succeed (EPERM in a process that never registered),
//! and prints what an uninterrupted run prints. Needs root (ptrace).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};

use common::*;

fn waiting() -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(programs().join("membar"))
        .args(["--wait-at", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn membar");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for want in ["ready\n", "waiting at 1\n"] {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, want, "membar did not get to its wait point");
    }
    (child, out)
}

#[test]
fn membarrier_registrations_are_restored() {
    let (mut child, mut out) = waiting();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut reference = String::new();
    std::io::Read::read_to_string(&mut out, &mut reference).unwrap();
    assert!(child.wait().unwrap().success(), "uninterrupted run: {reference}");

    let dir = scratch("membar");
    let image = dir.join("saved.ckpt");
    let (mut child, _out) = waiting();
    let dump = Command::new(writer())
        .args(["dump", &child.id().to_string(), "-q", "--kill", "-o"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(dump.status.success(), "dump failed: {}", String::from_utf8_lossy(&dump.stderr));
    child.wait().unwrap();
    let inspect = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(!text.contains("membarrier registrations 0x0\n"), "{text}");

    let restored = run_restorer(&image).stdin(Stdio::null()).stderr(Stdio::inherit()).output().unwrap();
    let stdout = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "restored: {:?}: {stdout}", restored.status);
    assert_eq!(stdout, reference);
    assert!(stdout.ends_with("result OK\n"));
}
