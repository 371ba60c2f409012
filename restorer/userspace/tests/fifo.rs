//! Named FIFOs beyond fds 0-2 through ckpt-restore: opened again by path
//! with their access mode and O_NONBLOCK, the bytes queued in them
//! written back (test-programs/fifo.c checks each itself), compared with
//! an uninterrupted run; a FIFO path gone or replaced by another kind of
//! file is refused before the point of no return, naming the fd. Needs
//! root (ptrace).

mod common;

use std::io::BufReader;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use common::*;

fn held(dir: &Path) -> (Child, BufReader<ChildStdout>) {
    let (child, out, head) = held_at("fifo", 1, &[dir.to_str().unwrap()]);
    assert_eq!(head, "ready\nwaiting at 1\n");
    (child, out)
}

#[test]
fn named_fifos_are_opened_again_with_their_bytes() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("fifo");
    let (child, out) = held(&dir);
    let (want, status) = go(child, out);
    assert!(status.success() && want.ends_with("result ok\n"), "uninterrupted: {want}");

    let image = dir.join("saved.ckpt");
    let (mut child, _out) = held(&dir);
    dump_child_kill(&mut child, &image);
    let text = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let d = dir.display();
    for line in [
        format!("named FIFO {d}/a.fifo, read end, 8 bytes queued, nonblocking"),
        format!("named FIFO {d}/a.fifo, write end, 0 bytes queued"),
        format!("named FIFO {d}/b.fifo, read-write, 3 bytes queued"),
    ] {
        assert!(text.contains(&line), "{line} in:\n{text}");
    }
    let mut restored = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let out = BufReader::new(restored.stdout.take().unwrap());
    let (got, status) = go(restored, out);
    assert!(status.success(), "restored: {status:?}, {got}");
    assert_eq!(got, want);

    // The path replaced by a regular file, then gone: refused, fd named.
    let (mut child, _out) = held(&dir);
    dump_child_kill(&mut child, &image);
    std::fs::remove_file(dir.join("b.fifo")).unwrap();
    std::fs::write(dir.join("b.fifo"), b"not a fifo").unwrap();
    let out = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("fifo-path-not-fifo") && err.contains(&format!("fd 5: named FIFO {}/b.fifo", dir.display())), "{err}");
    std::fs::remove_file(dir.join("b.fifo")).unwrap();
    let out = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("fd-file-missing") && err.contains("fd 5"), "{err}");
}
