//! Process trees (issue 15, FORMAT.md 11.): `dump PID` of a process with
//! children writes one tree image with every descendant, what they share
//! as tree objects; the processes run on unchanged (or are all killed with
//! --kill); a refused dump leaves them all running and no file.

mod common;
mod held;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use held::held;
use serde_json::Value;

/// `cmd` started with fds 0-2 only, as the test programs make themselves
/// (the test harness leaves others open, such as cargo's jobserver pipe).
fn clean(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: runs in the forked child before exec; close_range is a
    // plain syscall, async-signal-safe, touching no memory.
    unsafe {
        cmd.pre_exec(|| match libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        })
    }
}

/// The children of `pid` (all its threads'), sorted.
fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(text.split_whitespace().map(|w| w.parse::<i32>().unwrap()));
    }
    out.sort_unstable();
    out
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string()
}

/// Waits until `pid` has children whose comms, sorted, are `want`, each
/// asleep (blocked in a read): the shell has started them all.
fn wait_children(pid: i32, want: &[&str]) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let kids = children(pid);
        let mut comms: Vec<String> = kids.iter().map(|&k| comm(k)).collect();
        comms.sort();
        if comms == want && kids.iter().all(|&k| proc_state(k) == Some('S')) {
            return kids;
        }
        assert!(Instant::now() < deadline, "pid {pid} has children {comms:?}, want {want:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn tracer_of(pid: i32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find(|l| l.starts_with("TracerPid:")).unwrap().to_string()
}

fn verify_line(file: &Path) -> String {
    let out = run_ckpt(&["verify", file.to_str().unwrap()]);
    assert!(out.status.success(), "verify: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn member(img: &Value, pid: i32) -> &Value {
    img["tree"].as_array().unwrap().iter().find(|m| m["pid"] == pid).unwrap_or_else(|| panic!("no process {pid} in {}", summary(img)))
}

/// The tree objects that are pipes or memory (the others depend on how
/// the test runs: a regular file or /dev/null as stderr, shared by every
/// process, is one more).
fn pipe_and_memory_objects(img: &Value) -> usize {
    let mut objects = std::collections::BTreeSet::new();
    for m in img["tree"].as_array().unwrap().iter().filter(|m| m["state"] != "Zombie") {
        let files = image_of(img, m)["files"].as_array().unwrap();
        for f in m["tree_files"].as_array().unwrap() {
            if files[f["file"].as_u64().unwrap() as usize]["kind"] == "Pipe" {
                objects.insert(f["object"].as_u64().unwrap());
            }
        }
        objects.extend(m["tree_regions"].as_array().unwrap().iter().map(|r| r["object"].as_u64().unwrap()));
    }
    objects.len()
}

/// The tree records without the members' images, for messages.
fn summary(img: &Value) -> String {
    let tree = img["tree"].as_array().unwrap().iter().map(|m| {
        let mut m = m.clone();
        m.as_object_mut().unwrap().remove("image");
        m
    });
    serde_json::to_string(&tree.collect::<Vec<_>>()).unwrap()
}

/// The image of a tree member (the root's is the top level).
fn image_of<'a>(img: &'a Value, m: &'a Value) -> &'a Value {
    if m["parent"].is_null() { img } else { &m["image"] }
}

/// forktree's tree: the parent, two workers, a zombie and a stopped
/// child, dumped while the parent waits at step 1; then it finishes as an
/// uninterrupted run does (every process ran on as it was).
#[test]
fn a_parent_with_workers_a_zombie_and_a_stopped_child_is_dumped_as_one_tree() {
    let want = baseline("forktree", &[]);
    let dir = scratch("tree-forktree");
    let (mut t, mut gate) = held("forktree", "1", &[]);
    t.wait_line("waiting at 1");
    let pid = t.pid();
    let kids = children(pid);
    assert_eq!(kids.len(), 4, "{kids:?}");
    let file = dir.join("tree.ckpt");
    dump(pid, &file, &[]);
    assert!(verify_line(&file).contains("valid tree image of pid"), "a tree verifies as one");
    let img = inspect(&file);
    let tree = img["tree"].as_array().unwrap();
    assert_eq!(tree.len(), 5);
    assert_eq!(tree[0]["pid"], pid);
    assert!(tree[0]["parent"].is_null());
    for m in &tree[1..] {
        assert_eq!(m["parent"], 0, "every child's parent is the root: {}", summary(&img));
        assert!(kids.contains(&(m["pid"].as_i64().unwrap() as i32)));
    }
    // Recorded as /proc shows them (the stopped child is still stopped).
    let zombies: Vec<&Value> = tree.iter().filter(|m| m["state"] == "Zombie").collect();
    assert_eq!(zombies.len(), 1);
    assert_eq!(zombies[0]["exit_status"], 7 << 8);
    assert!(zombies[0]["image_len"] == 0 && zombies[0]["image"].is_null());
    let stopped: Vec<&Value> = tree.iter().filter(|m| m["state"] == "Stopped").collect();
    assert_eq!(stopped.len(), 1);
    let stopped_pid = stopped[0]["pid"].as_i64().unwrap() as i32;
    assert_eq!(proc_state(stopped_pid), Some('T'), "a stopped child stays stopped after the dump");
    // Worker 1 leads its own group; worker 2 has SIGTERM as pdeath signal.
    assert_eq!(tree.iter().filter(|m| m["pgid"] == m["pid"] && m["parent"] == 0).count(), 1);
    assert_eq!(tree.iter().filter(|m| m["pdeath_signal"] == 15).count(), 1);
    for m in tree {
        let p = m["pid"].as_i64().unwrap() as i32;
        if m["state"] != "Zombie" {
            assert_eq!(m["pgid"].as_i64().unwrap() as i32, nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(p))).unwrap().as_raw());
            assert_eq!(tracer_of(p), "TracerPid:\t0", "pid {p} detached");
        }
        // Members start page aligned, after the one before.
        assert_eq!(m["image_offset"].as_u64().unwrap() % 4096, 0);
    }
    // Shared: the data, go and ready pipes and the shared memory, one
    // object each; the memory's pages stored once, by the root.
    assert_eq!(pipe_and_memory_objects(&img), 4, "{}", summary(&img));
    for m in tree.iter().filter(|m| m["state"] != "Zombie") {
        let regions = m["tree_regions"].as_array().unwrap();
        assert_eq!(regions.len(), 1, "{}", summary(&img));
        let r = &image_of(&img, m)["regions"][regions[0]["region"].as_u64().unwrap() as usize];
        assert_eq!(r["shared_anon"], true);
        let stored = r["stored_pages"].as_u64().unwrap();
        assert_eq!(stored, if m["parent"].is_null() { 2 } else { 0 }, "{r}");
        // Every live process holds ends of the three pipes.
        let ends: Vec<u64> = m["tree_files"].as_array().unwrap().iter().map(|f| f["end"].as_u64().unwrap()).collect();
        assert!(ends.contains(&1) && ends.contains(&2), "{}", summary(&img));
    }
    // The root's data pipe read end holds worker 1's queued "w1".
    let files = img["files"].as_array().unwrap();
    assert!(files.iter().any(|f| f["kind"] == "Pipe" && f["queued_bytes"] == 2), "{files:?}");
    let text = run_ckpt(&["inspect", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("tree of 5 processes, "), "{text}");
    assert!(text.contains(&format!("└─ {stopped_pid} (forktree)")) && text.contains("zombie, exited 7"), "{text}");
    // to-core of one member, and of the root by default.
    let core = dir.join("worker.core");
    let out = run_ckpt(&["to-core", file.to_str().unwrap(), "-o", core.to_str().unwrap(), "--pid", &stopped_pid.to_string()]);
    assert!(out.status.success(), "to-core --pid: {}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::metadata(&core).unwrap().len() > 4096);
    let out = run_ckpt(&["to-core", file.to_str().unwrap(), "-o", core.to_str().unwrap(), "--pid", &zombies[0]["pid"].to_string()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("is a zombie"));

    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "forktree failed after the dump: {lines:?}");
    assert_eq!(deterministic(&lines), want, "output differs from an uninterrupted run");
}

/// `dump -o -` streams a tree; --no-children dumps the process alone, as
/// before trees existed.
#[test]
fn a_tree_streams_and_no_children_dumps_one_process() {
    let dir = scratch("tree-stream");
    let (mut t, mut gate) = held("forktree", "1", &[]);
    t.wait_line("waiting at 1");
    let pid = t.pid();
    let file = dir.join("streamed.ckpt");
    let out = ckpt()
        .args(["dump", &pid.to_string(), "-o", "-", "-q"])
        .stdout(std::fs::File::create(&file).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "dump -o -: {}", String::from_utf8_lossy(&out.stderr));
    assert!(verify_line(&file).contains("5 processes (1 zombies)"));
    let alone = dir.join("alone.ckpt");
    dump(pid, &alone, &["--no-children"]);
    assert!(verify_line(&alone).starts_with(&format!("{}: valid image of pid {pid}:", alone.display())));
    let img = inspect(&alone);
    assert!(img.get("tree").is_none(), "a single-process image has no tree");
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
}

/// A process without children gets exactly a single-process image (the
/// header has no tree flag: image-format's goldens pin the bytes).
#[test]
fn a_process_without_children_gets_a_single_image() {
    let dir = scratch("tree-single");
    let (mut t, mut gate) = held("counter", "5", &["10", "0"]);
    t.wait_line("waiting at 5");
    let file = dir.join("c.ckpt");
    dump(t.pid(), &file, &[]);
    let bytes = std::fs::read(&file).unwrap();
    let flags = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
    let minor = u16::from_le_bytes(bytes[10..12].try_into().unwrap());
    assert_eq!((flags, minor), (0, 0));
    assert!(inspect(&file).get("tree").is_none());
    gate.open();
    assert!(t.finish().0.success());
}

/// `sh -c 'cat | tr a-z A-Z | cat'`: the shell and its three children,
/// the two pipes between them tree objects (recorded on fds 0 and 1), the
/// outer stdin and stdout the restoring caller's; after the dump the
/// pipeline goes on and transforms its input.
#[test]
fn a_shell_pipeline_is_dumped_as_a_tree() {
    let dir = scratch("tree-pipeline");
    let mut sh = clean(Command::new("sh").args(["-c", "cat | tr a-z A-Z | cat"]))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = sh.id() as i32;
    let kids = wait_children(pid, &["cat", "cat", "tr"]);
    let file = dir.join("pipeline.ckpt");
    dump(pid, &file, &[]);
    let img = inspect(&file);
    let tree = img["tree"].as_array().unwrap();
    assert_eq!(tree.len(), 4);
    assert_eq!(tree[0]["comm"], "sh");
    assert_eq!(pipe_and_memory_objects(&img), 2, "the two pipes between the three: {}", summary(&img));
    for &k in &kids {
        let m = member(&img, k);
        let fds = m["image"]["fds"].as_array().unwrap();
        let fd = |n: u64| fds.iter().find(|f| f["fd"] == n).unwrap();
        let files = m["image"]["files"].as_array().unwrap();
        let links: Vec<&Value> = m["tree_files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| files[f["file"].as_u64().unwrap() as usize]["kind"] == "Pipe")
            .collect();
        match (fd(0)["disposition"].as_str().unwrap(), fd(1)["disposition"].as_str().unwrap()) {
            // The first cat reads the test's pipe, the last writes to it.
            ("Inherit", "Shared") | ("Shared", "Inherit") => assert_eq!(links.len(), 1, "{}", summary(&img)),
            ("Shared", "Shared") => {
                assert_eq!(m["comm"], "tr");
                assert_eq!(links.len(), 2, "{}", summary(&img));
            }
            other => panic!("pid {k}: fds 0 and 1 are {other:?}"),
        }
    }
    let text = String::from_utf8_lossy(&run_ckpt(&["inspect", file.to_str().unwrap()]).stdout).into_owned();
    for &k in &kids {
        assert!(text.contains(&format!("└─ {k} (")), "inspect draws {k}: {text}");
    }
    // Still a working pipeline.
    let mut stdin = sh.stdin.take().unwrap();
    stdin.write_all(b"hello tree\n").unwrap();
    drop(stdin);
    let mut out = String::new();
    sh.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(sh.wait().unwrap().success());
    assert_eq!(out, "HELLO TREE\n");
}

/// A child with an fd the writer cannot record: the dump is refused
/// naming it, no file is left, and every process runs on untraced.
#[test]
fn a_refused_tree_dump_leaves_every_process_running_and_no_file() {
    let dir = scratch("tree-refused");
    let mut sh = clean(Command::new("sh").args(["-c", "sleep 1000 3</dev/kmsg & sleep 1000 & wait"]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = sh.id() as i32;
    let kids = wait_children(pid, &["sleep", "sleep"]);
    let file = dir.join("refused.ckpt");
    let out = run_ckpt(&["dump", &pid.to_string(), "-o", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("fd 3") && err.contains("/dev/kmsg"), "{err}");
    assert!(!file.exists());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no temporary file left");
    for p in std::iter::once(pid).chain(kids.iter().copied()) {
        assert_eq!(tracer_of(p), "TracerPid:\t0");
        assert_runs_on(p);
    }
    for &k in &kids {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(k), nix::sys::signal::Signal::SIGTERM).unwrap();
    }
    sh.wait().unwrap();
}

/// --kill kills every process of the tree once the image is complete.
#[test]
fn kill_kills_the_whole_tree_after_the_image_is_written() {
    let dir = scratch("tree-kill");
    let (mut t, _gate) = held("forktree", "1", &[]);
    t.wait_line("waiting at 1");
    let pid = t.pid();
    let kids = children(pid);
    let file = dir.join("killed.ckpt");
    dump(pid, &file, &["--kill"]);
    assert!(verify_line(&file).contains("5 processes"));
    let (st, _) = t.finish();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(9), "the root was killed");
    // Its children were killed too, then reaped by init once orphaned.
    let deadline = Instant::now() + Duration::from_secs(20);
    for k in kids {
        while matches!(proc_state(k), Some(s) if s != 'Z' && s != 'X') {
            assert!(Instant::now() < deadline, "child {k} still alive: {:?}", proc_state(k));
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A worker that forks and reaps children without a pause: every dump
/// catches it with whatever child it has at the cut (running, or exited
/// and not yet reaped: a zombie), each image is valid, and the program
/// runs on to its end unharmed (every grandchild's status as it set it).
#[test]
fn a_tree_that_forks_while_it_is_frozen_is_one_consistent_cut() {
    let dir = scratch("tree-storm");
    let (mut t, mut gate) = held("forkstorm", "1", &[]);
    t.wait_line("waiting at 1");
    let pid = t.pid();
    let worker = children(pid);
    assert_eq!(worker.len(), 1);
    let mut grandchildren = 0;
    for i in 0..8 {
        let file = dir.join(format!("storm{i}.ckpt"));
        dump(pid, &file, &[]);
        assert!(verify_line(&file).contains("valid tree image"));
        let img = inspect(&file);
        let tree = img["tree"].as_array().unwrap();
        assert_eq!(tree[1]["pid"], worker[0], "{}", summary(&img));
        assert!(tree.len() <= 3, "the worker has one child at a time: {}", summary(&img));
        if let Some(g) = tree.get(2) {
            assert_eq!(g["parent"], 1);
            grandchildren += 1;
        }
    }
    eprintln!("{grandchildren} of 8 dumps caught a grandchild");
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("result ok"));
}

/// A session a restore cannot rebuild: a child that called setsid after
/// forking its own child leaves that grandchild in the old session, which
/// is neither its parent's nor its own. The dump is refused naming the
/// grandchild; nothing is left traced or stopped, and no file.
#[test]
fn a_session_no_restore_can_rebuild_is_refused_naming_the_process() {
    let dir = scratch("tree-session");
    let mut sh = clean(Command::new("sh").args(["-c", "(sleep 1000 & exec setsid -w sleep 1000); wait"]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let root = sh.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(20);
    // Wait until the subshell has become its own session's leader (and
    // sleep), and its child sleeps.
    let (child, grandchild) = loop {
        let kids = children(root);
        if let [c] = kids[..] {
            let st = procfs::process::Process::new(c).and_then(|p| p.stat()).ok();
            let grand = children(c);
            if let (Some(st), [g]) = (st, &grand[..]) {
                if st.session == c && comm(c) == "sleep" && comm(*g) == "sleep" && proc_state(*g) == Some('S') {
                    break (c, *g);
                }
            }
        }
        assert!(Instant::now() < deadline, "the subshell did not become a session leader");
        std::thread::sleep(Duration::from_millis(10));
    };
    let file = dir.join("session.ckpt");
    let out = run_ckpt(&["dump", &root.to_string(), "-o", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("pid {grandchild} (sleep)")) && err.contains("session"), "{err}");
    assert!(!file.exists());
    for p in [root, child, grandchild] {
        assert_eq!(tracer_of(p), "TracerPid:\t0");
        assert_runs_on(p);
    }
    for p in [grandchild, child] {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGTERM).unwrap();
    }
    sh.wait().unwrap();
}

/// A unix socket pair both of whose ends a child inherited is one tree
/// object with its two ends, which both processes share (not two separate
/// pairs); the dump leaves every process running and untraced.
#[test]
fn a_socket_pair_shared_by_two_processes_is_one_object() {
    let dir = scratch("tree-sockpair");
    let py = "import socket, os, sys\na, b = socket.socketpair()\npid = os.fork()\nif pid == 0:\n    sys.stdin.read(); os._exit(0)\nprint('ready', flush=True)\nsys.stdin.read()\nos.waitpid(pid, 0)\n";
    let Ok(mut p) = clean(Command::new("python3").args(["-c", py])).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn() else {
        panic!("python3 is needed for this test");
    };
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(p.stdout.as_mut().unwrap()), &mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = p.id() as i32;
    let kids = children(pid);
    let out = run_ckpt(&["dump", &pid.to_string(), "-o", dir.join("pair.ckpt").to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("(2 processes, 0 zombies"), "{err}");
    let shown = run_ckpt(&["inspect", dir.join("pair.ckpt").to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    // The pair's two ends are ends r and w of one object, in both.
    assert_eq!(shown.matches("shares 0r 0w").count(), 2, "{shown}");
    for q in std::iter::once(pid).chain(kids) {
        assert_eq!(tracer_of(q), "TracerPid:\t0");
    }
    drop(p.stdin.take());
    assert!(p.wait().unwrap().success());
}
