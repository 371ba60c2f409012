//! Keeping the PID and TIDs (restorer/userspace/src/pidns.rs): restored in
//! place, a process gets the caller's PID; restored by ckpt-restore as the
//! init of a PID namespace it owns (`unshare --user --map-root-user --pid
//! --fork`), it gets its PID and its threads' TIDs at dump, and init passes
//! its exit status and the signals sent to it on. Where the namespace does
//! not let ckpt-restore choose (no capability in it), stderr says so and the
//! process gets a new PID. Needs root (ptrace) and unshare(1).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

use common::*;

fn unshare_works() -> Result<(), String> {
    match Command::new("unshare").args(["--user", "--map-root-user", "--pid", "--fork", "true"]).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("unshare --user --pid: {}: {}", o.status, String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Err(format!("unshare: {e}")),
    }
}

/// pidkeep dumped at its wait point (and killed); the image's path.
fn pidkeep_image(name: &str) -> PathBuf {
    let (mut child, _out, head) = held_at("pidkeep", 1, &[]);
    assert_eq!(head, "ready\nwaiting at 1\n");
    let image = scratch(name).join("saved.ckpt");
    dump_child_kill(&mut child, &image);
    image
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn in_place_the_pid_and_tids_are_new() {
    let image = pidkeep_image("pidkeep-in-place");
    let o = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{:?}: {out}{err}", o.status);
    assert_eq!(out, "pid changed\ntids changed\nresult ok\n", "stderr: {err}");
}

#[test]
fn as_init_of_a_new_pid_namespace_the_pid_and_tids_are_kept() {
    skip_unless!(unshare_works());
    // The reference: an uninterrupted run keeps them, of course.
    let (mut child, mut out, _) = held_at("pidkeep", 1, &[]);
    drop(child.stdin.take());
    let mut reference = String::new();
    out.read_to_string(&mut reference).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(reference, "pid kept\ntids kept\nresult ok\n");

    let image = pidkeep_image("pidkeep-pidns");
    let o = in_pid_namespace(&run_restorer(&image), true).stdin(Stdio::null()).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{:?}: {out}{err}", o.status);
    assert_eq!(out, reference, "stderr: {err}");
    assert_eq!(err, "", "nothing to say when the PID is kept");
}

#[test]
fn without_the_capability_in_the_namespace_the_pid_is_new_and_stderr_says_why() {
    skip_unless!(unshare_works());
    let image = pidkeep_image("pidkeep-pidns-unmapped");
    // No uid mapping: ckpt-restore runs as the overflow uid, without
    // CAP_SYS_ADMIN in the namespace, so set_tid is refused.
    let o = in_pid_namespace(&run_restorer(&image), false).stdin(Stdio::null()).output().unwrap();
    let (out, err) = text(&o);
    assert!(o.status.success(), "{:?}: {out}{err}", o.status);
    assert_eq!(out, "pid changed\ntids changed\nresult ok\n", "stderr: {err}");
    assert!(err.contains("cannot be kept in this PID namespace"), "{err}");
}

fn python() -> Result<PathBuf, String> {
    let out = Command::new("python3").args(["-c", "import asyncio, sys; print(sys.executable)"]).output();
    match out {
        Ok(o) if o.status.success() => Ok(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())),
        _ => Err("python3 with asyncio is not installed".into()),
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-programs/asyncio_loop.py")
}

/// Reads lines until one equals `want`; what was read.
fn read_until(out: &mut BufReader<ChildStdout>, want: &str) -> String {
    let mut seen = String::new();
    while !seen.lines().any(|l| l == want) {
        let n = out.read_line(&mut seen).unwrap();
        assert!(n > 0, "ended before '{want}': {seen}");
    }
    seen
}

/// The asyncio program, started with pipes, once its loop waits at 1.
fn asyncio_held(python: &Path) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(python)
        .arg(script())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    assert_eq!(read_until(&mut out, "waiting at 1"), "ready\nwaiting at 1\n");
    (child, out)
}

#[test]
fn an_asyncio_program_dumped_while_its_loop_runs_goes_on_in_a_new_pid_namespace() {
    let python = skip_unless!(python());
    skip_unless!(unshare_works());
    let (mut child, mut out) = asyncio_held(&python);
    drop(child.stdin.take());
    let mut reference = String::new();
    out.read_to_string(&mut reference).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(7), "{reference}");

    let image = scratch("asyncio-pidns").join("saved.ckpt");
    let (mut child, _out) = asyncio_held(&python);
    dump_child_kill(&mut child, &image);
    // stdin a pipe at end of file: the loop watches fd 0 with epoll, which
    // /dev/null does not support.
    let mut restored = in_pid_namespace(&run_restorer(&image), true).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(restored.stdin.take());
    let o = restored.wait_with_output().unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(7), "init passes the exit status on: {out}{err}");
    // Both from wait point 1 on (asyncio_held read what came before).
    assert_eq!(out, reference, "stderr: {err}");
}

#[test]
fn init_forwards_a_signal_sent_to_it_and_reports_the_death() {
    let python = skip_unless!(python());
    skip_unless!(unshare_works());
    let image = scratch("asyncio-pidns-signal").join("saved.ckpt");
    let (mut child, _out) = asyncio_held(&python);
    dump_child_kill(&mut child, &image);

    let mut restored = in_pid_namespace(&run_restorer(&image), true).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut input = restored.stdin.take().unwrap();
    let mut out = BufReader::new(restored.stdout.take().unwrap());
    input.write_all(b"x").unwrap();
    read_until(&mut out, "waiting at 2");
    // unshare's child is the namespace's init (ckpt-restore); SIGTERM sent
    // to it reaches the restored process, which has no handler for it.
    let unshare = restored.id();
    let children = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children")).unwrap();
    let init: i32 = children.split_whitespace().next().expect("unshare has its child").parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(init), nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = restored.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15), "init reports the restored process's death by SIGTERM as 143");
}
