//! The shared policy's cases that once differed between the restorers,
//! through ckpt-restore: a process whose working directory was removed is
//! refused before teardown; private memory larger than this machine's is
//! restored (MAP_NORESERVE); a process with tens of thousands of mappings
//! is counted as the kernel counts them and restored. Needs root (ptrace).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use common::*;

/// A program started with a pipe on stdin, stopped in its read of one line.
struct Waiting {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Waiting {
    fn start(mut cmd: Command) -> Waiting {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n", "the program did not get ready");
        Waiting { child, out }
    }

    /// Sends the go line and returns the rest of stdout and the status.
    fn go(mut self) -> (String, std::process::ExitStatus) {
        self.child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.out, &mut rest).unwrap();
        (rest, self.child.wait().unwrap())
    }
}

/// Dumps `prog args` while it waits, kills it; returns the image.
fn image_of(dir: &Path, args: &[&str]) -> PathBuf {
    let mut cmd = Command::new(programs().join("mapshape"));
    cmd.args(args).current_dir(dir);
    let w = Waiting::start(cmd);
    let image = dir.join("saved.ckpt");
    let out = Command::new(writer())
        .args(["dump", &w.child.id().to_string(), "-q", "--kill", "-o"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut child = w.child;
    child.wait().unwrap();
    image
}

/// What an uninterrupted run prints after its go line.
fn uninterrupted(args: &[&str]) -> String {
    let mut cmd = Command::new(programs().join("mapshape"));
    cmd.args(args);
    let (rest, status) = Waiting::start(cmd).go();
    assert!(status.success(), "{rest}");
    rest
}

fn restored(image: &Path) -> (String, std::process::ExitStatus) {
    let mut cmd = run_restorer(image);
    cmd.stderr(Stdio::inherit());
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let out = child.wait_with_output().unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status)
}

#[test]
fn forty_thousand_mappings_are_restored_not_refused() {
    let dir = scratch("maps");
    let args = ["maps", "40000"];
    let image = image_of(&dir, &args);
    let (out, status) = restored(&image);
    assert!(status.success(), "status {status:?}, stdout {out:?}");
    assert_eq!(out, uninterrupted(&args));
}

#[test]
fn private_memory_larger_than_this_machine_is_restored() {
    let dir = scratch("sparse");
    // 256 GiB: more than RAM and swap here, so only MAP_NORESERVE maps it.
    let args = ["sparse", "256"];
    let image = image_of(&dir, &args);
    let (out, status) = restored(&image);
    assert!(status.success(), "status {status:?}, stdout {out:?}");
    assert_eq!(out, uninterrupted(&args));
}

#[test]
fn a_removed_working_directory_is_refused_before_teardown() {
    let dir = scratch("cwd");
    let work = dir.join("work");
    std::fs::create_dir(&work).unwrap();
    let mut cmd = Command::new(programs().join("mapshape"));
    cmd.args(["maps", "4"]).current_dir(&work);
    let w = Waiting::start(cmd);
    let image = dir.join("saved.ckpt");
    let out = Command::new(writer()).args(["dump", &w.child.id().to_string(), "-q", "--kill", "-o"]).arg(&image).output().unwrap();
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut child = w.child;
    child.wait().unwrap();
    std::fs::remove_dir(&work).unwrap();
    let out = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("(cwd-missing)") && stderr.contains(work.to_str().unwrap()), "{stderr}");
}
