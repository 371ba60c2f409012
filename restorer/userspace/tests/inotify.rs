//! inotify through ckpt-restore (test-programs/inotify.c checks its
//! watches itself after the restore: no event pending, a create and a
//! modify seen with their wds), compared with an uninterrupted run;
//! unread events are refused at dump naming the fd; a watched path gone
//! before the restore is refused before the point of no return. Needs root.

mod common;

use std::process::{Command, Stdio};

use common::*;

#[test]
fn inotify_watches_are_added_again_with_their_wds() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let work = scratch("inotify");
    let dir = work.join("watched");
    std::fs::create_dir(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let (child, out, _) = held_at("inotify", 1, &[d]);
    let want = go_ok(child, out);
    assert!(want.ends_with("result ok\n"), "{want}");

    // An event waiting to be read: refused, naming the fd; it runs on.
    let image = work.join("saved.ckpt");
    let (child, out, _) = held_at("inotify", 1, &[d]);
    std::fs::write(dir.join("file"), "x").unwrap();
    let res = Command::new(writer()).args(["dump", &child.id().to_string(), "-o"]).arg(&image).arg("--kill").output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success() && err.contains("fd 3 is an inotify instance with") && err.contains("unread events"), "{err}");
    let (rest, _) = go(child, out);
    assert!(rest.contains("no event pending WRONG"), "the event stayed queued for it: {rest}");

    let (mut child, _out, _) = held_at("inotify", 1, &[d]);
    dump_child_kill(&mut child, &image);
    let text = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let line = format!("inotify, flags 0o4000, 2 watch(es); wd 1 mask 0x100 {d}; wd 2 mask 0x2 {d}/file");
    assert!(text.contains(&line), "no {line:?} in:\n{text}");
    let mut restored = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let out = std::io::BufReader::new(restored.stdout.take().unwrap());
    let got = go_ok(restored, out);
    assert_eq!(got, want);

    // The watched file gone: refused before the point of no return.
    std::fs::remove_file(dir.join("file")).unwrap();
    let res = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(7), "{err}");
    assert!(err.contains("fd 3") && err.ends_with("(fd-file-missing)\n"), "{err}");
}
