//! File descriptors through ckpt-restore: fds that share open file
//! descriptions, pipes with queued bytes, pipe ends whose peer is gone and
//! a duplicate of the caller's stdout (test-programs/fdshare.c checks each
//! itself after its wait point). Each restored run is compared with an
//! uninterrupted one. Needs root (ptrace).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

use common::*;

/// fdshare in `dir`, started with pipes on stdin and stdout, once it waits
/// at its wait point.
fn waiting(dir: &Path) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(programs().join("fdshare"))
        .args(["--wait-at", "1"])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn fdshare");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for want in ["ready\n", "waiting at 1\n"] {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, want, "fdshare did not get to its wait point");
    }
    (child, out)
}

/// Sends the go line; returns the rest of stdout and the exit status.
fn go(mut child: Child, mut out: BufReader<ChildStdout>) -> (String, ExitStatus) {
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    (rest, child.wait().unwrap())
}

/// What an uninterrupted run prints after its wait point.
fn uninterrupted() -> String {
    let dir = scratch("fds-ref");
    let (child, out) = waiting(&dir);
    let (rest, status) = go(child, out);
    assert!(status.success(), "{rest}");
    assert!(rest.ends_with("result ok\n"), "{rest}");
    rest
}

/// `ckpt-writer dump` of `pid` into `image` with `extra` arguments; its
/// stderr (the summary) if it succeeded.
fn dump(pid: u32, image: &Path, extra: &[&str]) -> String {
    let out = Command::new(writer()).args(["dump", &pid.to_string(), "-o"]).arg(image).args(extra).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "dump failed: {err}");
    err
}

/// fdshare dumped at its wait point and killed: the image.
fn image() -> (PathBuf, String) {
    let dir = scratch("fds");
    let (mut child, _out) = waiting(&dir);
    let image = dir.join("saved.ckpt");
    let summary = dump(child.id(), &image, &["--kill"]);
    child.wait().unwrap();
    (image, summary)
}

#[test]
fn shared_descriptions_and_pipes_are_restored_as_they_were() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let (image, summary) = image();
    // The dump says what became of the pipe ends whose peer is gone.
    assert!(summary.contains("fd 7: pipe read end whose write end is not in the process: restored with its 6 queued bytes, then end of file"), "{summary}");
    assert!(summary.contains("fd 8: pipe write end whose read end is not in the process"), "{summary}");
    let mut child = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (rest, status) = go(child, out);
    assert!(status.success(), "status {status:?}, stdout {rest:?}");
    assert_eq!(rest, uninterrupted());
}

/// A dump that leaves the target running takes none of its queued bytes:
/// the target then finds each of its pipes as it left it.
#[test]
fn a_dump_leaves_every_queued_byte_in_place() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("fds-keep");
    let (child, out) = waiting(&dir);
    dump(child.id(), &dir.join("saved.ckpt"), &[]);
    let (rest, status) = go(child, out);
    assert!(status.success(), "status {status:?}, stdout {rest:?}");
    assert_eq!(rest, uninterrupted());
}

/// Inspect lists the descriptions with their state.
#[test]
fn inspect_shows_each_description() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let (image, _) = image();
    let out = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for want in [
        "pipe 1 read end, flags 0o4000, size 131072, 12 bytes queued",
        "pipe 1 write end, flags 0o1, size 131072, 0 bytes queued",
        "pipe 2 read end, flags 0o0, size 65536, 6 bytes queued, other end not in the image",
        "pipe 3 write end, flags 0o1, size 65536, 0 bytes queued, other end not in the image",
        "the restoring caller's fd 1",
        "   4 Regular   shares file",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
}
