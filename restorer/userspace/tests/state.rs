//! Process state through ckpt-restore: a restored process that crashes
//! leaves a core gdb opens with all its threads; a process whose working
//! directory was removed before the dump is refused before the point of no
//! return (cwd-removed). Needs root (ptrace).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use common::*;

/// `program --wait-at 1 ARGS` in `dir`, once it waits at wait point 1.
fn held_in(dir: &std::path::Path, program: &str, args: &[&str]) -> std::process::Child {
    let mut child = Command::new(programs().join(program))
        .args(["--wait-at", "1"])
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut head = String::new();
    while !head.ends_with("waiting at 1\n") {
        assert!(out.read_line(&mut head).unwrap() > 0, "{program} ended before its wait point: {head}");
    }
    child
}

#[test]
fn a_restored_process_that_crashes_leaves_a_core_with_all_its_threads() {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    skip_unless!(pattern.trim() == "core", "kernel.core_pattern is {:?}, not \"core\" (a file in the cwd)", pattern.trim());
    skip_unless!(Command::new("gdb").arg("--version").output().is_ok(), "no gdb");
    let dir = scratch("crashcore");
    let image = dir.join("saved.ckpt");
    let mut child = held_in(&dir, "crashcore", &["3"]);
    dump_child_kill(&mut child, &image);

    // Wait points 1 (where it was dumped) and 2 (the crash) each read a byte.
    let mut restored = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    restored.stdin.take().unwrap().write_all(b"12").unwrap();
    let out = restored.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.signal(), Some(11), "restored crashcore: {:?}: {stdout}", out.status);
    assert!(out.status.core_dumped(), "no core dumped: {:?}", out.status);

    let core = dir.join("core");
    assert!(core.exists(), "no core in {}", dir.display());
    let gdb = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "info threads", "-ex", "bt 1"])
        .arg(programs().join("crashcore"))
        .arg(&core)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&gdb.stdout);
    // One "[New LWP n]" per thread gdb finds in the core (NT_PRSTATUS).
    let threads = text.lines().filter(|l| l.starts_with("[New LWP ")).count();
    assert_eq!(threads, 4, "gdb sees {threads} threads, want 4:\n{text}\n{}", String::from_utf8_lossy(&gdb.stderr));
    assert!(text.contains("main"), "the crash is not in main:\n{text}");
}

#[test]
fn shared_file_mappings_keep_their_may_write_access() {
    let dir = scratch("mapwrite");
    let file = dir.join("mapped.dat");
    let image = dir.join("saved.ckpt");
    let reference = Command::new(programs().join("mapwrite")).arg(&file).stdin(Stdio::null()).output().unwrap();
    assert!(reference.status.success(), "uninterrupted run: {}", String::from_utf8_lossy(&reference.stdout));
    let mut child = held_in(&dir, "mapwrite", &[file.to_str().unwrap()]);
    dump_child_kill(&mut child, &image);
    let inspect = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert_eq!(text.matches("shared may-write ").count(), 1, "{text}");
    let restored = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "restored: {:?}: {stdout}", restored.status);
    // The restored run goes on after "ready" and its wait point.
    let reference = String::from_utf8_lossy(&reference.stdout);
    assert_eq!(Some(&*stdout), reference.strip_prefix("ready\n"));
}

#[test]
fn a_removed_working_directory_is_refused_before_the_point_of_no_return() {
    let dir = scratch("cwd-removed");
    let gone = dir.join("gone");
    std::fs::create_dir(&gone).unwrap();
    let image = dir.join("saved.ckpt");
    let mut child = held_in(&gone, "counter", &["100", "0"]);
    std::fs::remove_dir(&gone).unwrap();
    dump_child_kill(&mut child, &image);
    let inspect = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(text.contains(&format!("cwd {} (removed before the dump)", gone.display())), "{text}");

    // Refused even once a directory of that name is back: it is another one.
    std::fs::create_dir(&gone).unwrap();
    let out = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.trim_end().ends_with("(cwd-removed)"), "{stderr}");
}
