//! An image written by `ckpt-writer dump --cow` (the target read through
//! its copy-on-write fork while it runs on), restored by ckpt-restore,
//! finishes like an uninterrupted run. The target is held at its wait
//! point during the dump, then killed; the restored process passes it.
//! Needs root (ptrace).

mod common;
mod held;

use std::process::Command;

use common::*;
use held::held;

#[test]
fn a_cow_dump_restores_like_an_uninterrupted_run() {
    let args = ["plain", "32"];
    let want = baseline("cowshape", &args);
    let dir = scratch("cow-restore");
    let (t, _gate) = held("cowshape", "1", &args);
    let image = dir.join("saved.ckpt");
    let out = Command::new(writer()).args(["dump", &t.pid().to_string(), "--cow", "-q", "-o"]).arg(&image).output().unwrap();
    assert!(out.status.success(), "dump --cow failed: {}", String::from_utf8_lossy(&out.stderr));
    // It runs on after the fork (back in its wait point's read, or on its
    // way there): neither stopped nor traced nor gone.
    let state = std::fs::read_to_string(format!("/proc/{}/stat", t.pid())).unwrap().rsplit_once(") ").unwrap().1.as_bytes()[0];
    assert!(matches!(state, b'S' | b'R'), "state {}", state as char);
    let mut all = t.seen.clone();
    drop(t);
    let (st, after) = Target::spawn(run_restorer(&image)).finish();
    assert!(st.success(), "restored cowshape ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want, "restored output differs from an uninterrupted run");
    std::fs::remove_dir_all(&dir).unwrap();
}
