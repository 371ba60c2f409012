//! `ckpt-restore -`: an image dumped with `ckpt-writer dump -o -` into a
//! pipe and restored from that pipe (a sealed memfd, no file, no
//! binfmt_misc), compared with an uninterrupted run; what follows the image
//! in the stream is the restored process's stdin, `--stdin FILE` replaces
//! it; a truncated, damaged or foreign stream is refused with its reason
//! and nothing run. Needs root (ptrace).

mod common;
mod held;

use std::io::{PipeReader, PipeWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;
use held::held;

/// Makes `reader` fd 0 of `cmd`'s process, after the Command's own stdin
/// set-up (Target::spawn sets /dev/null).
fn stdin_from(cmd: &mut Command, reader: &PipeReader) {
    let fd = reader.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and only
    // calls dup2, which is async-signal-safe; `reader` stays open in the
    // parent until the Command is spawned.
    unsafe {
        cmd.pre_exec(move || match libc::dup2(fd, 0) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        });
    }
}

/// Dumps `t` with `--kill` to the write end `w` of a pipe (`-o -`), then
/// writes `after` to the same pipe; returns the target's lines.
fn dump_into(t: Target, w: &PipeWriter, after: &[u8]) -> Vec<String> {
    let out = Command::new(writer())
        .args(["dump", &t.pid().to_string(), "-q", "--kill", "-o", "-"])
        .stdout(w.try_clone().unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    (&*w).write_all(after).unwrap();
    let (_, lines) = t.finish();
    lines
}

/// ckpt-restore ARGS reading the pipe `r`, its stdout collected.
fn restore_from(r: &PipeReader, args: &[&str]) -> Target {
    let mut cmd = Command::new(restorer());
    cmd.args(args);
    stdin_from(&mut cmd, r);
    Target::spawn(cmd)
}

#[test]
fn dumped_into_a_pipe_and_restored_from_it_with_the_rest_of_the_stream_as_stdin() {
    let want = baseline("counter", &["800", "0"]);
    let (t, _gate) = held("counter", "200,600,700", &["800", "2000"]);
    let (r, w) = std::io::pipe().unwrap();
    let mut restored = restore_from(&r, &["-"]);
    drop(r);
    // The two bytes after the image let the restored process past 200
    // (it was dumped inside that read, which it resumes) and 600; the test
    // still holds the pipe, so it must then wait at 700: had ckpt-restore
    // read past the image, a byte would be gone and it would wait earlier.
    let mut all = dump_into(t, &w, b"xx");
    restored.wait_prefix("waiting at 700");
    drop(w);
    let (st, after) = restored.finish();
    assert!(st.success(), "restored counter ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want, "restored output differs from an uninterrupted run");
}

#[test]
fn stdin_option_gives_the_restored_process_another_fd_0() {
    let want = baseline("counter", &["800", "0"]);
    let (t, _gate) = held("counter", "200,600,700", &["800", "2000"]);
    let (r, w) = std::io::pipe().unwrap();
    let mut restored = restore_from(&r, &["--stdin", "/dev/null", "-"]);
    drop(r);
    let mut all = dump_into(t, &w, b"");
    // Its fd 0 is /dev/null, not the stream the test still holds open: it
    // goes past every wait point to its result.
    restored.wait_prefix("result ");
    drop(w);
    let (st, after) = restored.finish();
    assert!(st.success(), "restored counter ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want);
}

#[test]
fn a_process_restored_from_a_stream_is_dumped_again_and_restored() {
    let dir = scratch("stream-again");
    let want = baseline("counter", &["800", "0"]);
    let (t, _gate) = held("counter", "200,600,700", &["800", "2000"]);
    let (r, w) = std::io::pipe().unwrap();
    let mut restored = restore_from(&r, &["-"]);
    drop(r);
    // One byte to finish the read it was dumped in: then it waits at 600.
    let mut all = dump_into(t, &w, b"x");
    restored.wait_prefix("waiting at 600");
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", restored.pid())).unwrap();
    // A small process's pages are all copied in (the copy budget): nothing
    // holds the memfd any more, so its memory is freed.
    assert!(!maps.contains("/memfd:ckpt-stream"), "its memory still maps the memfd:\n{maps}");
    let fds: Vec<_> = std::fs::read_dir(format!("/proc/{}/fd", restored.pid())).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(fds.len(), 3, "the memfd or another fd leaked into the restored process: {fds:?}");
    let image = dir.join("again.ckpt");
    all.extend(dump_kill(restored, &image));
    drop(w);
    let (st, after) = Target::spawn(run_restorer(&image)).finish();
    assert!(st.success(), "restored again, counter ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want);
}

/// Where the metadata starts (right after the 256-byte header, FORMAT.md).
const METADATA_AT: usize = 256;

/// ckpt-restore - with `stream` on its stdin.
fn restore_stream(dir: &Path, stream: &[u8]) -> Output {
    let file = dir.join("stream");
    std::fs::write(&file, stream).unwrap();
    Command::new(restorer()).arg("-").stdin(std::fs::File::open(&file).unwrap()).output().unwrap()
}

/// Exit status 4 and exactly one line naming `reason` (and `detail`),
/// nothing on stdout: refused before anything was run.
fn assert_refused(out: &Output, reason: &str, detail: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(out.stdout.is_empty(), "stdout {:?}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("ckpt-restore: -: ") && stderr.contains(&format!("({reason})")) && stderr.contains(detail), "{stderr}");
}

#[test]
fn truncated_damaged_and_foreign_streams_are_refused_with_their_reason() {
    let dir = scratch("stream-refused");
    let (t, _gate) = held("counter", "200", &["800", "2000"]);
    let image_path = dir.join("saved.ckpt");
    dump_kill(t, &image_path);
    let image = std::fs::read(&image_path).unwrap();
    let len = image.len();

    let cut = len - 4096;
    assert_refused(&restore_stream(&dir, &image[..cut]), "truncated", &format!("the stream ended after {cut} of {len} bytes"));
    assert_refused(&restore_stream(&dir, &image[..100]), "truncated", "the stream ended after 100 bytes, within the header");
    assert_refused(&restore_stream(&dir, b""), "truncated", "the stream is empty");
    assert_refused(&restore_stream(&dir, b"#!/bin/sh\necho not an image\n"), "bad-magic", "");
    // One byte of the metadata changed: the validator's reason.
    let mut damaged = image.clone();
    damaged[METADATA_AT + 40] ^= 0x55;
    assert_refused(&restore_stream(&dir, &damaged), "metadata-checksum", "");

    // The whole image restores from the same kind of stream.
    let out = restore_stream(&dir, &image);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("result "));
}

#[test]
fn a_wrong_stdin_option_is_said_before_the_stream_is_read() {
    let out = Command::new(restorer()).args(["--stdin"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("usage: ckpt-restore"), "{out:?}");
    // The stream stays unread: a pipe the test holds open would block a read.
    let (r, w) = std::io::pipe().unwrap();
    let out = Command::new(restorer()).args(["--stdin", "/nonexistent/stdin", "-"]).stdin(r).output().unwrap();
    drop(w);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("ckpt-restore: --stdin /nonexistent/stdin: No such file or directory"), "{stderr}");
}
