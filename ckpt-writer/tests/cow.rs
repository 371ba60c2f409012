//! `dump --cow`: the image of a process read through its copy-on-write
//! fork holds what a frozen dump of the same state holds, region by region
//! and byte by byte; memory a fork does not get as it was is refused with
//! its reason, the target running on and no image left. Needs root
//! (ptrace of a child that is not ours).

mod common;
mod held;

use std::path::Path;

use common::*;
use held::held;
use image_format::Image;


/// Asserts that two images hold the same regions and the same bytes in
/// them, page by page; returns the number of pages compared.
fn same_pages(frozen: &Path, cow: &Path) -> usize {
    let (a, b) = (regions_of(frozen), regions_of(cow));
    assert_eq!(a.values().map(|r| &r.0).collect::<Vec<_>>(), b.values().map(|r| &r.0).collect::<Vec<_>>());
    let mut pages = 0;
    let zero = vec![0u8; 4096];
    for ((name, pa), (_, pb)) in a.values().zip(b.values()) {
        for i in pa.keys().chain(pb.keys().filter(|i| !pa.contains_key(i))) {
            // Stored on one side only: the shared zero page of a mapping
            // without pages of its own, which fork does not copy (README).
            let (x, y) = (pa.get(i).unwrap_or(&zero), pb.get(i).unwrap_or(&zero));
            assert!(x == y, "{name}: page {i} differs (stored in frozen: {}, in cow: {})", pa.contains_key(i), pb.contains_key(i));
            pages += 1;
        }
    }
    pages
}

/// Children of `pid` (all its threads'), from /proc.
fn children(pid: i32) -> Vec<String> {
    let mut all = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let t = t.unwrap().path();
        all.extend(std::fs::read_to_string(t.join("children")).unwrap().split_whitespace().map(String::from));
    }
    all
}

/// Waits until `pid` is blocked in read(0, ...): "waiting at K" is printed
/// just before the read, and a process dumped between the two would run
/// on into it between two dumps (stdio state, stack).
fn wait_in_read(pid: i32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let sc = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap();
        let state = proc_state(pid);
        if sc.starts_with("0 0x0 ") && state == Some('S') {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "pid {pid} never blocked in read: {sc:?} {state:?}");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Waits until the main thread of `pid` is blocked in read(0, ...) and
/// every other one in futex(2): threads8's workers wait there for the
/// main thread, but the one that made the last step may still be on its
/// way there when the main thread reaches its wait point.
fn wait_all_blocked(pid: i32) {
    wait_in_read(pid);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let t = t.unwrap().path();
        loop {
            let sc = std::fs::read_to_string(t.join("syscall")).unwrap();
            let stat = std::fs::read_to_string(t.join("stat")).unwrap();
            let state = stat.rsplit(')').next().and_then(|r| r.split_whitespace().next()).unwrap_or("").to_string();
            if (sc.starts_with("202 ") || sc.starts_with("0 0x0 ")) && state == "S" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{}: never blocked: {sc:?} {state}", t.display());
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

#[test]
fn a_cow_image_holds_what_a_frozen_one_holds() {
    let args = ["plain", "64"];
    let want = baseline("cowshape", &args);
    let dir = scratch("cow-same");
    let (mut t, mut gate) = held("cowshape", "1", &args);
    t.wait_line("waiting at 1");
    wait_in_read(t.pid());
    let (frozen, cow) = (dir.join("frozen.ckpt"), dir.join("cow.ckpt"));
    dump(t.pid(), &frozen, &[]);
    let out = ckpt().args(["dump", &t.pid().to_string(), "--cow", "-o"]).arg(&cow).output().unwrap();
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dump --cow failed: {summary}");
    assert!(summary.contains("copy-on-write"), "{summary}");
    // The snapshot fork was killed and reaped by the target.
    assert_eq!(children(t.pid()), Vec::<String>::new());

    let pages = same_pages(&frozen, &cow);
    // 64 MiB private, 1 MiB shared, 16 pages more, plus the program's own.
    assert!(pages > 64 * 256 + 256 + 16, "only {pages} pages compared");
    std::fs::remove_dir_all(&dir).unwrap();

    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "cowshape after the dumps: {lines:?}");
    assert_eq!(deterministic(&lines), want);
}

/// The signal actions, brk and process-wide state (exe, cwd, mm layout,
/// rlimits, auxv...) of a --cow image are read from the snapshot fork
/// after the target resumed (cow.rs): they equal a frozen dump's, and are
/// the ones the program set (not defaults read in error), its pid the
/// target's.
#[test]
fn signal_actions_and_process_state_of_a_cow_image_are_the_targets() {
    let args = ["3", "0"];
    let want = baseline("signals", &args);
    let dir = scratch("cow-sigactions");
    let (mut t, mut gate) = held("signals", "1", &args);
    t.wait_line("waiting at 1");
    wait_in_read(t.pid());
    let (frozen, cow) = (dir.join("frozen.ckpt"), dir.join("cow.ckpt"));
    dump(t.pid(), &frozen, &[]);
    dump(t.pid(), &cow, &["--cow"]);
    assert_eq!(children(t.pid()), Vec::<String>::new());
    let (fb, cb) = (std::fs::read(&frozen).unwrap(), std::fs::read(&cow).unwrap());
    let f = Image::parse_bytes(&fb).unwrap_or_else(|e| panic!("frozen image: {}", e.name()));
    let c = Image::parse_bytes(&cb).unwrap_or_else(|e| panic!("cow image: {}", e.name()));
    let (fa, ca): (Vec<_>, Vec<_>) = (f.sigactions().collect(), c.sigactions().collect());
    assert_eq!(fa, ca, "signal actions differ between the frozen and the --cow image");
    // signals.c: SIGUSR1 (10) SA_SIGINFO|SA_ONSTACK with SIGUSR2 in its
    // mask, SIGUSR2 (12) SA_RESTART, SIGPIPE (13) ignored.
    assert!(ca[9].handler > 1 && ca[9].flags & 0x0800_0004 == 0x0800_0004 && ca[9].mask == 1 << 11, "SIGUSR1: {:?}", ca[9]);
    assert!(ca[11].handler > 1 && ca[11].flags & 0x1000_0000 != 0, "SIGUSR2: {:?}", ca[11]);
    assert_eq!(ca[12].handler, 1, "SIGPIPE: {:?}", ca[12]);
    assert_eq!(f.process, c.process, "process records differ");
    assert_eq!(c.process.pid, t.pid() as u32);
    assert!(c.process.mm.brk >= c.process.mm.start_brk && c.process.mm.start_brk != 0, "{:?}", c.process.mm);
    assert!(c.comm() == b"signals" && c.string(c.process.exe_path).ends_with(b"/signals"), "{:?}", c.process);
    assert_eq!(f.string(f.process.cwd), c.string(c.process.cwd));
    assert!(!c.string(c.process.cwd).is_empty());
    assert_eq!(f.auxv().collect::<Vec<_>>(), c.auxv().collect::<Vec<_>>());
    assert!(c.auxv().count() > 10);
    let states = |i: &Image| i.threads().map(|t| format!("{:?}", t.state)).collect::<Vec<_>>();
    assert_eq!(states(&f), states(&c), "thread states differ");
    std::fs::remove_dir_all(&dir).unwrap();

    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "signals after the dumps: {lines:?}");
    assert_eq!(deterministic(&lines), want);
}

/// A --cow dump of nine threads: the image holds every thread as a frozen
/// dump does, and the same pages; the fork is reaped with one thread
/// stopped (cow.rs), and the program goes on to its uninterrupted result.
#[test]
fn a_cow_dump_of_many_threads_holds_them_all_and_reaps_its_fork() {
    let args = ["2000", "0"];
    let want = baseline("threads8", &args);
    let dir = scratch("cow-threads");
    let (mut t, mut gate) = held("threads8", "3", &args);
    t.wait_line("waiting at 3");
    wait_all_blocked(t.pid());
    let (frozen, cow) = (dir.join("frozen.ckpt"), dir.join("cow.ckpt"));
    dump(t.pid(), &frozen, &[]);
    dump(t.pid(), &cow, &["--cow"]);
    assert_eq!(children(t.pid()), Vec::<String>::new(), "the snapshot fork is still there");
    let (fb, cb) = (std::fs::read(&frozen).unwrap(), std::fs::read(&cow).unwrap());
    let f = Image::parse_bytes(&fb).unwrap_or_else(|e| panic!("frozen image: {}", e.name()));
    let c = Image::parse_bytes(&cb).unwrap_or_else(|e| panic!("cow image: {}", e.name()));
    assert_eq!(c.thread_count(), 9);
    let states = |i: &Image| i.threads().map(|t| format!("{:?}", t.state)).collect::<Vec<_>>();
    assert_eq!(states(&f), states(&c), "thread states differ");
    let pages = same_pages(&frozen, &cow);
    // At least a stack page per thread, and the data and heap.
    assert!(pages > 9 + 2, "only {pages} pages compared");
    std::fs::remove_dir_all(&dir).unwrap();

    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "threads8 after the dumps: {lines:?}");
    assert_eq!(deterministic(&lines), want);
}

#[test]
fn memory_a_fork_does_not_get_is_refused_and_the_target_runs_on() {
    for (mode, reason) in [("wipeonfork", "MADV_WIPEONFORK"), ("dontfork", "MADV_DONTFORK")] {
        let args = [mode, "4"];
        let want = baseline("cowshape", &args);
        let dir = scratch(&format!("cow-{mode}"));
        let (mut t, mut gate) = held("cowshape", "1", &args);
        t.wait_line("waiting at 1");
        let image = dir.join("saved.ckpt");
        let out = ckpt().args(["dump", &t.pid().to_string(), "--cow", "-o"]).arg(&image).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{mode}: {stderr}");
        assert!(stderr.contains(reason) && stderr.contains("dump without --cow"), "{mode}: {stderr}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "{mode}: something was left in {}", dir.display());
        assert_eq!(children(t.pid()), Vec::<String>::new(), "{mode}: the snapshot fork is still there");
        // A frozen dump of it works.
        dump(t.pid(), &image, &[]);
        gate.open();
        let (st, lines) = t.finish();
        assert!(st.success(), "{mode}: cowshape after the refused dump: {lines:?}");
        assert_eq!(deterministic(&lines), want, "{mode}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn cow_conflicts_with_kill_and_leave_stopped() {
    for other in ["--kill", "--leave-stopped"] {
        let out = run_ckpt(&["dump", "1", "--cow", other]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{other}: {stderr}");
        assert!(stderr.contains("cannot be used with"), "{other}: {stderr}");
    }
}
