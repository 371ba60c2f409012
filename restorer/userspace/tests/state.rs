//! Process state through ckpt-restore: a restored process that crashes
//! leaves a core gdb opens with all its threads; a process whose working
//! directory was removed before the dump is refused before the point of no
//! return (cwd-removed); mappings keep their may-write access, read-only
//! memory its bytes and protection, and /proc/PID/maps its entries one for
//! one. Needs root (ptrace).

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

/// Read-only memory with data (a shared anonymous `r--s` mapping, once
/// refused, and a private `r--p` one) keeps its bytes, one maps entry with
/// its protection, and the right to be made writable again (mapprot checks
/// all of it itself); the same output as an uninterrupted run.
#[test]
fn read_only_memory_with_data_keeps_its_bytes_and_protection() {
    restored_as_uninterrupted("mapprot", |_| {});
}

/// `program` (which prints "ready", waits at 1, then checks itself) run
/// uninterrupted and dumped at its wait point (killed), `look` given the
/// image, restored by ckpt-restore: what it prints after "ready" must be
/// the same.
fn restored_as_uninterrupted(program: &str, look: impl Fn(&std::path::Path)) {
    let dir = scratch(program);
    let image = dir.join("saved.ckpt");
    let reference = Command::new(programs().join(program)).stdin(Stdio::null()).output().unwrap();
    assert!(reference.status.success(), "uninterrupted run: {}", String::from_utf8_lossy(&reference.stdout));
    let mut child = held_in(&dir, program, &[]);
    dump_child_kill(&mut child, &image);
    look(&image);
    let restored = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "restored: {:?}: {stdout}{}", restored.status, String::from_utf8_lossy(&restored.stderr));
    let reference = String::from_utf8_lossy(&reference.stdout);
    assert_eq!(Some(&*stdout), reference.strip_prefix("ready\n"));
}

/// The restored process's /proc/PID/maps holds the original's entries one
/// for one (the stored pages of a small process are copied in, within the
/// copy budget), plus the stub's final page: one anonymous r-x page; and
/// its /proc/PID/exe names the program.
#[test]
fn the_restored_maps_are_the_originals_plus_the_final_page() {
    let dir = scratch("maps-fidelity");
    let image = dir.join("saved.ckpt");
    let mut child = Command::new(programs().join("counter"))
        .args(["--wait-at", "1,2", "100", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let wait_for = |out: &mut BufReader<std::process::ChildStdout>, point: &str| {
        let mut seen = String::new();
        while !seen.ends_with(&format!("waiting at {point}\n")) {
            assert!(out.read_line(&mut seen).unwrap() > 0, "counter ended before wait point {point}: {seen}");
        }
    };
    wait_for(&mut out, "1");
    let before = std::fs::read_to_string(format!("/proc/{}/maps", child.id())).unwrap();
    dump_child_kill(&mut child, &image);
    let mut restored = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(restored.stdout.take().unwrap());
    let mut stdin = restored.stdin.take().unwrap();
    stdin.write_all(b"\n").unwrap();
    wait_for(&mut out, "2");
    let after = std::fs::read_to_string(format!("/proc/{}/maps", restored.id())).unwrap();
    // Root here holds CAP_CHECKPOINT_RESTORE: /proc/PID/exe names the
    // program again, not ckpt-restore (policy exe_link).
    let exe = std::fs::read_link(format!("/proc/{}/exe", restored.id())).unwrap();
    assert_eq!(exe, programs().join("counter").canonicalize().unwrap());
    stdin.write_all(b"\n").unwrap();
    drop(stdin);
    assert!(restored.wait().unwrap().success());
    let lost: Vec<&str> = before.lines().filter(|l| !after.lines().any(|a| a == *l)).collect();
    assert!(lost.is_empty(), "original entries missing after restore: {lost:#?}\nafter:\n{after}");
    let extra: Vec<&str> = after.lines().filter(|l| !before.lines().any(|b| b == *l)).collect();
    assert_eq!(extra.len(), 1, "entries beyond the final page: {extra:#?}");
    let fields: Vec<&str> = extra[0].split_whitespace().collect();
    assert_eq!(fields[1..], ["r-xp", "00000000", "00:00", "0"], "the final page: {}", extra[0]);
}

/// What prctl(2) set comes back: the parent-death signal, the child
/// subreaper mark (an orphaned grandchild is reaped by the restored
/// process), no_new_privs and "not dumpable" (prctls checks each itself);
/// the same output as an uninterrupted run. `inspect` names them.
#[test]
fn prctl_attributes_come_back() {
    restored_as_uninterrupted("prctls", |image| {
        let shown = Command::new(writer()).arg("inspect").arg(image).output().unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.contains("prctl: parent-death signal 12, child subreaper, no_new_privs, not dumpable"), "{shown}");
    });
}

/// A process in seccomp strict mode is refused by name (only filters are
/// recorded: restored without it, it would run unconfined), no image is
/// left, and it runs on.
#[test]
fn a_process_in_seccomp_strict_mode_is_refused_and_runs_on() {
    let dir = scratch("prctls-seccomp");
    let image = dir.join("saved.ckpt");
    let (child, out, _) = held_at("prctls", 1, &["--strict"]);
    let (ok, err) = dump_with(child.id(), &image, &["--kill"]);
    assert!(!ok && err.contains("runs in seccomp strict mode"), "{err}");
    assert!(!image.exists(), "a refused dump leaves no image");
    let rest = go_ok(child, out);
    assert!(rest.ends_with("result OK\n"), "{rest}");
}

/// What mlock(2), madvise(2) and PR_SET_THP_DISABLE set comes back: each
/// region's VmFlags exactly as set (mlock, MADV_DONTFORK, WIPEONFORK,
/// DONTDUMP, HUGEPAGE, NOHUGEPAGE, SEQUENTIAL, RANDOM), VmLck, the THP
/// switch, and what they do in a fork (test-programs/mapflags.c checks
/// each); the same output as an uninterrupted run. `inspect` names them.
#[test]
fn per_mapping_state_comes_back() {
    restored_as_uninterrupted("mapflags", |image| {
        let shown = Command::new(writer()).arg("inspect").arg(image).output().unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout);
        for state in ["mlock", "MADV_DONTFORK", "MADV_WIPEONFORK", "MADV_DONTDUMP", "MADV_SEQUENTIAL", "MADV_RANDOM", "prctl: THP disabled"] {
            assert!(shown.lines().any(|l| l.trim() == state || l.trim_start().starts_with(state)), "inspect lacks {state}: {shown}");
        }
    });
}

/// A `--cow` dump takes the madvise state from its fork and the lock from
/// the target (a fork has none): the image restores with the state the
/// target had, and prints what the target printed after the dump.
#[test]
fn per_mapping_state_comes_back_from_a_cow_dump() {
    let dir = scratch("mapflags-cow");
    let image = dir.join("saved.ckpt");
    let (child, out, _) = held_at("mapflags", 1, &["--for-cow"]);
    let (ok, err) = dump_with(child.id(), &image, &["--cow", "-q"]);
    assert!(ok, "dump --cow: {err}");
    let want = go_ok(child, out);
    assert!(want.ends_with("result OK\n") && want.contains("mlock: bytes intact, VmFlags has exactly it"), "{want}");
    let restored = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let got = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "restored: {:?}: {got}{}", restored.status, String::from_utf8_lossy(&restored.stderr));
    assert_eq!(got, want);
}

/// mlock'ed memory is locked again under the caller's RLIMIT_MEMLOCK: a
/// caller without CAP_IPC_LOCK (here: in a user namespace, where the
/// capability is not the initial namespace's) whose limit is below the
/// image's locked bytes is refused before the point of no return, naming
/// the limit; with the capability the same limit does not apply.
#[test]
fn locked_memory_beyond_the_callers_rlimit_memlock_is_refused() {
    let dir = scratch("mapflags-memlock");
    let image = dir.join("saved.ckpt");
    let mut child = held_in(&dir, "mapflags", &[]);
    dump_child_kill(&mut child, &image);
    let limited = |args: &[&std::ffi::OsStr]| Command::new("prlimit").arg("--memlock=4096").args(args).stdin(Stdio::null()).output().unwrap();
    let refused = limited(&["unshare".as_ref(), "--user".as_ref(), "--map-root-user".as_ref(), restorer().as_os_str(), image.as_os_str()]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("(exceeds-rlimit-memlock)"), "{:?}: {stderr}", refused.status);
    assert!(stderr.contains("4096"), "the limit is named: {stderr}");
    assert!(refused.stdout.is_empty(), "nothing of the image ran: {}", String::from_utf8_lossy(&refused.stdout));
    let privileged = limited(&[restorer().as_os_str(), image.as_os_str()]);
    let stdout = String::from_utf8_lossy(&privileged.stdout);
    assert!(privileged.status.success() && stdout.ends_with("result OK\n"), "{:?}: {stdout}{}", privileged.status, String::from_utf8_lossy(&privileged.stderr));
}

/// A process that dropped root (groups, gids, uids, capabilities kept to
/// CAP_NET_BIND_SERVICE, ambient too, a smaller bounding set) comes back
/// with exactly those credentials when root restores it
/// (test-programs/creds.c checks each); the same output as an
/// uninterrupted run. `inspect` shows them.
#[test]
fn credentials_come_back_for_root() {
    restored_as_uninterrupted("creds", |image| {
        let shown = Command::new(writer()).arg("inspect").arg(image).output().unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.contains("credentials: uid 1004/1005/1006/1005 gid 1001/1002/1003/1002 (real/effective/saved/fs), groups [1000, 1001]"), "{shown}");
        assert!(shown.contains("capabilities: effective 0x400 permitted 0x400 inheritable 0x400"), "{shown}");
    });
}

/// A caller that may not set any credentials (here: root of a user
/// namespace, not of the initial one) restores the process with its own:
/// nothing is refused and nothing is granted; creds itself then finds the
/// caller's ids (0 inside the namespace) and says so.
#[test]
fn other_callers_restore_with_their_own_credentials() {
    let dir = scratch("creds-userns");
    let image = dir.join("saved.ckpt");
    let mut child = held_in(&dir, "creds", &[]);
    dump_child_kill(&mut child, &image);
    let out = Command::new("unshare").args(["--user", "--map-root-user"]).arg(restorer()).arg(&image).stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout, "FAIL: uids 0/0/0 fs 0\n");
}

/// Each thread's scheduling comes back (test-programs/schedattrs.c): the
/// main thread's SCHED_BATCH at nice 3 with reset-on-fork and its I/O
/// priority, a worker's SCHED_IDLE, idle I/O class and single-CPU
/// affinity, root's SCHED_FIFO worker, and the process's oom_score_adj;
/// each as the kernel reports it, the same as an uninterrupted run.
#[test]
fn scheduling_comes_back() {
    restored_as_uninterrupted("schedattrs", |image| {
        let shown = Command::new(writer()).arg("inspect").arg(image).output().unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout);
        for state in ["SCHED_BATCH, nice 3, reset on fork, I/O best-effort 2", "SCHED_IDLE, nice 3, I/O idle 0", "prctl: oom_score_adj 500"] {
            assert!(shown.contains(state), "inspect lacks {state}: {shown}");
        }
    });
}

/// Restoring grants no priority: in a user namespace, without
/// CAP_SYS_NICE over the machine, the FIFO worker of root's image keeps
/// the caller's policy (not SCHED_FIFO, priority 0), while what needs no
/// privilege (SCHED_BATCH at nice 3, SCHED_IDLE, I/O priorities, the
/// affinity, a higher oom_score_adj) comes back as before.
#[test]
fn a_caller_without_the_privilege_gets_no_real_time_policy() {
    skip_unless!(nix::unistd::geteuid().is_root(), "the FIFO worker runs only as root");
    let dir = scratch("sched-userns");
    let image = dir.join("saved.ckpt");
    let reference = Command::new(programs().join("schedattrs")).stdin(Stdio::null()).output().unwrap();
    let want = String::from_utf8_lossy(&reference.stdout).into_owned();
    let mut child = held_in(&dir, "schedattrs", &[]);
    dump_child_kill(&mut child, &image);
    let out = Command::new("unshare").args(["--user", "--map-root-user"]).arg(restorer()).arg(&image).stdin(Stdio::null()).output().unwrap();
    let got = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{got}{}", String::from_utf8_lossy(&out.stderr));
    for line in want.lines().filter(|l| !l.starts_with("fifo worker") && *l != "ready") {
        assert!(got.lines().any(|g| g == line), "{line:?} missing from {got}");
    }
    let fifo = got.lines().find(|l| l.starts_with("fifo worker:")).unwrap_or_default();
    assert!(!fifo.contains("policy 1 ") && fifo.contains(" priority 0 "), "{got}");
}

/// Seccomp filters come back on both threads (test-programs/filtered.c):
/// uname still fails with EPERM and getpid works, /proc/self/status shows
/// mode 2 with three filters (one kills on the prctl and sigaltstack the
/// dump injects, which it suspends), with no_new_privs and (root, who has
/// CAP_SYS_ADMIN) without it; output as uninterrupted.
#[test]
fn seccomp_filters_come_back() {
    restored_as_uninterrupted("filtered", |image| {
        let shown = Command::new(writer()).arg("inspect").arg(image).output().unwrap();
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.contains("seccomp filters, oldest first: 1 instructions (log), 4 instructions, 5 instructions"), "{shown}");
    });
    skip_unless!(nix::unistd::geteuid().is_root(), "a filter without no_new_privs needs CAP_SYS_ADMIN");
    let dir = scratch("filtered-no-nnp");
    let image = dir.join("saved.ckpt");
    let want = Command::new(programs().join("filtered")).arg("--no-nnp").stdin(Stdio::null()).output().unwrap();
    let want = String::from_utf8_lossy(&want.stdout).into_owned();
    assert!(want.contains("NoNewPrivs:\t0"), "{want}");
    let mut child = held_in(&dir, "filtered", &["--no-nnp"]);
    dump_child_kill(&mut child, &image);
    let got = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    assert_eq!(Some(&*String::from_utf8_lossy(&got.stdout)), want.strip_prefix("ready\n"));
}
