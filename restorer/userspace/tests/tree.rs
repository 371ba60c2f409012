//! Process trees (issue 15) through ckpt-restore: real trees dumped by
//! `ckpt-writer dump` (the process and its descendants) and restored, by
//! binfmt_misc (`./tree.ckpt`) and by `ckpt-restore IMAGE`; every child
//! re-executes the image through binfmt_misc, so each test registers an
//! entry. Compared with uninterrupted runs; the programs check their own
//! relations (test-programs/treework.c). Needs root (ptrace, binfmt_misc).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::*;
use restore_policy::Reason;

/// A tree dumped while its wait point holds it: `cmd`'s stdin and stdout
/// (and stderr) are pipes; `marker` is the line announcing the wait point
/// on `stream` (stdout or stderr). Returns the image and what stdout held.
fn dump_tree(mut cmd: Command, from_stderr: bool, marker: &str, dir: &Path) -> (PathBuf, String) {
    let mut child: Child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut head = String::new();
    {
        let mut lines: Box<dyn BufRead> = if from_stderr {
            Box::new(BufReader::new(child.stderr.as_mut().unwrap()))
        } else {
            Box::new(BufReader::new(child.stdout.as_mut().unwrap()))
        };
        let mut seen = String::new();
        while !seen.ends_with(&format!("{marker}\n")) {
            let n = lines.read_line(&mut seen).unwrap();
            assert!(n > 0, "ended before its wait point: {seen}");
        }
        if !from_stderr {
            head = seen;
        }
    }
    let image = dir.join("tree.ckpt");
    let out = Command::new(writer()).args(["dump", &child.id().to_string(), "-q", "--kill", "-o"]).arg(&image).output().unwrap();
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    child.wait().unwrap();
    (image, head)
}

fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn pipeline() -> String {
    let p = programs().join("treework");
    let p = p.display();
    format!("{p} --wait-at 5 produce 200 | {p} filter | {p} consume 200")
}

#[test]
fn a_shell_pipeline_restores_like_an_uninterrupted_run() {
    let _entry = skip_unless!(binfmt_entry());
    let want = run({
        let mut c = Command::new("sh");
        c.args(["-c", &pipeline()]);
        c
    });
    assert!(want.status.success(), "{}", text(&want.stdout));
    assert_eq!(text(&want.stdout), "result 2686700\n");
    let dir = scratch("tree-pipeline");
    let mut sh = Command::new("sh");
    sh.args(["-c", &pipeline()]);
    let (image, _) = dump_tree(sh, true, "waiting at 5", &dir);
    // New pids: the stages restore and finish, but the shell knows its
    // jobs by their old pids: its exit status is not reliable (README).
    for cmd in [exec_image(&image), run_restorer(&image)] {
        let got = run(cmd);
        assert_eq!(text(&got.stdout), text(&want.stdout), "stderr: {}", text(&got.stderr));
    }
    // PID-namespace mode: the shell's children have their pids: all of it
    // as uninterrupted, exit status included.
    for cmd in [exec_image(&image), run_restorer(&image)] {
        let got = run(in_pid_namespace(&cmd, true));
        assert_eq!(text(&got.stdout), text(&want.stdout), "stderr: {}", text(&got.stderr));
        assert!(got.status.success(), "{}: {}", got.status, text(&got.stderr));
    }
}

fn workers_args() -> [&'static str; 5] {
    ["--wait-at", "1", "workers", "3", "100"]
}

fn workers_image(dir: &Path) -> (PathBuf, String) {
    let mut c = Command::new(programs().join("treework"));
    c.args(workers_args());
    dump_tree(c, false, "waiting at 1", dir)
}

#[test]
fn workers_with_shared_memory_a_zombie_a_stopped_child_and_a_signalled_group_restore() {
    let _entry = skip_unless!(binfmt_entry());
    let mut reference = Command::new(programs().join("treework"));
    reference.args(workers_args());
    let want = run(reference);
    assert!(want.status.success(), "{}", text(&want.stdout));
    let dir = scratch("tree-workers");
    let (image, head) = workers_image(&dir);
    assert_eq!(head, "ready\nwaiting at 1\n");
    // The parent waits for its children and signals its workers' group
    // by pid: PID-namespace mode.
    for cmd in [exec_image(&image), run_restorer(&image)] {
        let got = run(in_pid_namespace(&cmd, true));
        assert_eq!(head.clone() + &text(&got.stdout), text(&want.stdout), "stderr: {}", text(&got.stderr));
        assert!(got.status.success(), "{}: {}", got.status, text(&got.stderr));
        for line in ["zombie exited 7", "child stopped by SIGSTOP", "workers got one SIGUSR1 each", "shared memory total 15150"] {
            assert!(text(&got.stdout).lines().any(|l| l == line), "{line}");
        }
    }
}

/// `cmd` run by bash (dash takes one-digit fds only) that first opens
/// /dev/null on fds 3..=`upto` (not close-on-exec), as a caller may leave
/// fds open.
fn holding_fds(cmd: &Command, upto: u32) -> Command {
    let script = format!("i=3; while [ $i -le {upto} ]; do eval \"exec $i</dev/null\"; i=$((i+1)); done; exec \"$@\"");
    let mut c = Command::new("bash");
    c.arg("-c").arg(script).arg("bash").arg(cmd.get_program()).args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        c.current_dir(d);
    }
    c
}

/// The root's restorer holds fds of its own (the image, one per mapped
/// file) at the lowest free numbers, which depend on what the caller left
/// open: wherever they land, the tree's fds are put above them and none
/// is overwritten (CI's stdout, a socket, once moved them onto the tree's).
#[test]
fn a_tree_restores_whatever_fds_the_caller_left_open() {
    let _entry = skip_unless!(binfmt_entry());
    let mut reference = Command::new(programs().join("treework"));
    reference.args(workers_args());
    let want = run(reference);
    assert!(want.status.success(), "{}", text(&want.stdout));
    let dir = scratch("tree-held-fds");
    let (image, head) = workers_image(&dir);
    for upto in [2, 6, 9, 11, 13, 20] {
        for cmd in [exec_image(&image), run_restorer(&image)] {
            let got = run(in_pid_namespace(&holding_fds(&cmd, upto), true));
            assert_eq!(head.clone() + &text(&got.stdout), text(&want.stdout), "fds 3..={upto} held: {}", text(&got.stderr));
            assert!(got.status.success(), "fds 3..={upto} held: {}: {}", got.status, text(&got.stderr));
        }
    }
}

#[test]
fn a_tree_over_rlimit_nproc_is_refused_and_nothing_runs() {
    let _entry = skip_unless!(binfmt_entry());
    let dir = scratch("tree-nproc");
    let (image, _) = workers_image(&dir);
    // The parent, 3 workers, a zombie and a stopped child: 6 tasks.
    let mut c = Command::new("prlimit");
    c.arg("--nproc=5").arg(restorer()).arg(&image);
    let got = run(c);
    assert_eq!(got.status.code(), Some(5), "{}", text(&got.stderr));
    assert!(got.stdout.is_empty(), "nothing of the image ran: {}", text(&got.stdout));
    let err = text(&got.stderr);
    assert!(err.contains("6 processes and threads, RLIMIT_NPROC is 5 (tree-exceeds-rlimit-nproc)"), "{err}");
    // One more allowed: it restores.
    let mut c = Command::new("prlimit");
    c.arg("--nproc=6").arg(restorer()).arg(&image);
    let got = run(in_pid_namespace(&c, true));
    assert!(got.status.success(), "{}: {}", got.status, text(&got.stderr));
}

#[test]
fn a_member_selected_by_hand_needs_its_objects() {
    let _entry = skip_unless!(binfmt_entry());
    let dir = scratch("tree-selector");
    let (image, _) = workers_image(&dir);
    let by_hand = |args: &[&str]| {
        let mut c = run_restorer(&image);
        c.args(args);
        run(c)
    };
    // Worker 1 shares the task and answer pipes: not at fd 64 here.
    let got = by_hand(&["ckpt-tree-member", "1", "64"]);
    let err = text(&got.stderr);
    assert_eq!(got.status.code(), Some(7), "{err}");
    assert!(err.contains("(missing-tree-object)"), "{err}");
    for bad in [&["ckpt-tree-member", "9", "64"][..], &["ckpt-tree-member", "x", "64"], &["ckpt-tree-member", "1"]] {
        let got = by_hand(bad);
        let err = text(&got.stderr);
        assert_eq!(got.status.code(), Some(8), "{bad:?}: {err}");
        assert!(err.contains("(member-selector)"), "{bad:?}: {err}");
    }
    // Any other arguments are the caller's, ignored as always: the tree restores.
    let mut c = run_restorer(&image);
    c.args(["ckpt-tree-memberx", "1", "64"]);
    let got = run(in_pid_namespace(&c, true));
    assert!(got.status.success(), "{}: {}", got.status, text(&got.stderr));
    let mut out = String::new();
    got.stdout.as_slice().read_to_string(&mut out).unwrap();
    assert!(out.ends_with("result 15150\n"), "{out}");
}

/// A Python program driving `cat` through pipes (subprocess.Popen),
/// dumped between two exchanges with its cat: after restore the
/// conversation goes on, each echo checked by the program
/// (test-programs/py_cat.py). With new pids the program cannot wait for
/// its cat by the pid it saved (CPython then reports 0); in PID-namespace
/// mode all of it is as uninterrupted.
#[test]
fn a_python_program_driving_cat_through_pipes_goes_on() {
    let _entry = skip_unless!(binfmt_entry());
    let python = skip_unless!(which("python3"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-programs/py_cat.py");
    let mut reference = Command::new(&python);
    reference.arg(&script);
    let want = run(reference);
    assert!(want.status.success(), "{}", text(&want.stderr));
    assert_eq!(text(&want.stdout), "ready\nwaiting at 1\nten lines echoed\ncat exited 0 after b''\nresult ok\n");

    let dir = scratch("tree-python-cat");
    let mut c = Command::new(&python);
    c.arg(&script);
    let (image, head) = dump_tree(c, false, "waiting at 1", &dir);
    assert_eq!(head, "ready\nwaiting at 1\n");
    for cmd in [exec_image(&image), run_restorer(&image)] {
        let got = run(cmd);
        let out = head.clone() + &text(&got.stdout);
        assert!(out.contains("ten lines echoed\n") && out.ends_with("result ok\n"), "{out}\nstderr: {}", text(&got.stderr));
    }
    for cmd in [exec_image(&image), run_restorer(&image)] {
        let got = run(in_pid_namespace(&cmd, true));
        assert_eq!(head.clone() + &text(&got.stdout), text(&want.stdout), "stderr: {}", text(&got.stderr));
        assert!(got.status.success(), "{}: {}", got.status, text(&got.stderr));
    }
}

/// The full path of `program` on PATH, or why not (for `skip_unless!`).
fn which(program: &str) -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{program} is not installed"))
}

/// `cmd` as uid/gid 65534 (nobody), no groups, no capabilities (setpriv).
fn as_nobody(cmd: &Command) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups", "--inh-caps=-all"]).arg(cmd.get_program()).args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        c.current_dir(dir);
    }
    c
}

/// treework's family (pipes between a parent and two children, a zombie,
/// a stopped child) held at its wait point 5, in `dir`.
fn family(dir: &Path) -> Command {
    let mut c = Command::new(programs().join("treework"));
    c.args(["--wait-at", "5", "family", "200"]).current_dir(dir);
    c
}

/// A directory and an image file a user other than root may reach.
fn open_to_all(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

#[test]
fn an_unprivileged_user_restores_their_own_tree() {
    let _entry = skip_unless!(binfmt_entry());
    let dir = scratch("tree-nobody");
    open_to_all(&dir, 0o755);
    let reference = {
        let mut c = Command::new(programs().join("treework"));
        c.args(["family", "200"]).current_dir(&dir);
        run(as_nobody(&c))
    };
    assert!(reference.status.success(), "{}", text(&reference.stderr));
    // The tree runs as nobody; it is dumped by root (ckpt-writer ptraces
    // it), the image made readable and executable for everybody.
    let (image, head) = dump_tree(as_nobody(&family(&dir)), false, "waiting at 5", &dir);
    open_to_all(&image, 0o755);
    for (how, cmd) in [("binfmt_misc", exec_image(&image)), ("ckpt-restore", run_restorer(&image))] {
        // Through sh: setpriv's own capabilities are dropped by then.
        let mut sh = Command::new("sh");
        sh.arg("-c").arg("exec \"$@\"").arg("sh").arg(cmd.get_program()).args(cmd.get_args()).current_dir(&dir);
        let got = run(as_nobody(&sh));
        // The uninterrupted run has no wait point.
        let out = head.replace("waiting at 5\n", "") + &text(&got.stdout);
        assert_eq!(out, text(&reference.stdout), "{how}: stderr: {}", text(&got.stderr));
        assert!(got.status.success(), "{how}: {}: {}", got.status, text(&got.stderr));
        assert!(out.lines().any(|l| l == "exits 0 0 0 7") && out.ends_with("result done\n"), "{how}: {out}");
    }
}

#[test]
fn another_users_tree_the_caller_cannot_reach_is_refused_and_nothing_runs() {
    let _entry = skip_unless!(binfmt_entry());
    let dir = scratch("tree-others");
    open_to_all(&dir, 0o755);
    // Root's tree, working in a directory only root may enter.
    let private = dir.join("root-only");
    std::fs::create_dir(&private).unwrap();
    open_to_all(&private, 0o700);
    let (image, _) = dump_tree(family(&private), false, "waiting at 5", &dir);
    open_to_all(&image, 0o755);
    for (how, cmd) in [("binfmt_misc", exec_image(&image)), ("ckpt-restore", run_restorer(&image))] {
        let mut sh = Command::new("sh");
        sh.arg("-c").arg("\"$@\"; echo \"after $?\"").arg("sh").arg(cmd.get_program()).args(cmd.get_args()).current_dir(&dir);
        let got = run(as_nobody(&sh));
        let (out, err) = (text(&got.stdout), text(&got.stderr));
        // Restored with the caller's credentials, the tree's working
        // directory is out of reach: refused before anything ran, the
        // caller (the shell) goes on.
        assert_eq!(out, format!("after {}\n", Reason::CwdPermission.exit_status()), "{how}: nothing of the tree ran; stderr: {err}");
        assert!(err.starts_with("ckpt-restore: ") && err.trim_end().ends_with("(cwd-permission)") && err.lines().count() == 1, "{how}: {err}");
        assert!(err.contains("root-only"), "{how}: names the directory: {err}");
    }
}

/// A socket pair whose ends a parent and its child hold, and signal-driven
/// I/O in both (test-programs/sigio.c): the parent's pipe with O_ASYNC and
/// F_SETSIG owned by the parent (the signal names the pipe's fd again),
/// the child's end of the pair with O_ASYNC owned by the child, each owner
/// the restored process itself; output as uninterrupted.
#[test]
fn signal_driven_io_and_a_socket_pair_across_a_tree_come_back() {
    let _entry = skip_unless!(binfmt_entry());
    let want = run(Command::new(programs().join("sigio")));
    assert!(want.status.success() && text(&want.stdout).ends_with("result OK\n"), "{}", text(&want.stdout));
    let dir = scratch("tree-sigio");
    let mut c = Command::new(programs().join("sigio"));
    c.args(["--wait-at", "1"]);
    let (image, head) = dump_tree(c, false, "waiting at 1", &dir);
    assert_eq!(head, "ready\nwaiting at 1\n");
    let shown = text(&Command::new(writer()).arg("inspect").arg(&image).output().unwrap().stdout);
    assert!(shown.contains("pipe 1 read end, flags 0o24000") && shown.contains("flags 0o24002"), "{shown}");
    // The parent waits for any child (wait), which new pids allow.
    for cmd in [exec_image(&image), run_restorer(&image)] {
        let got = run(cmd);
        assert_eq!(Some(text(&got.stdout).as_str()), text(&want.stdout).strip_prefix("ready\n"), "stderr: {}", text(&got.stderr));
        assert!(got.status.success(), "{}: {}", got.status, text(&got.stderr));
    }
}

/// Connections a named unix listener accepted (test-programs/unixconn.c):
/// one to itself, both ends in the process, with bytes queued each way,
/// and one from its child, whose end is in the child. Each comes back as
/// a pair end (without the listener's name), carries its queued bytes and
/// new ones both ways, and the listener accepts a later connection;
/// output as uninterrupted, through binfmt_misc and ckpt-restore.
#[test]
fn connections_a_unix_listener_accepted_come_back() {
    let _entry = skip_unless!(binfmt_entry());
    let refdir = scratch("unixconn-ref");
    let want = run({
        let mut c = Command::new(programs().join("unixconn"));
        c.arg(&refdir);
        c
    });
    assert!(want.status.success() && text(&want.stdout).ends_with("result OK\n"), "{}", text(&want.stdout));
    let dir = scratch("unixconn");
    let mut c = Command::new(programs().join("unixconn"));
    c.args(["--wait-at", "1"]).arg(&dir);
    let (image, head) = dump_tree(c, false, "waiting at 1", &dir);
    assert_eq!(head, "ready\nwaiting at 1\n");
    for cmd in [exec_image(&image), run_restorer(&image)] {
        let got = run(cmd);
        assert_eq!(Some(text(&got.stdout).as_str()), text(&want.stdout).strip_prefix("ready\n"), "stderr: {}", text(&got.stderr));
        assert!(got.status.success(), "{}: {}", got.status, text(&got.stderr));
    }
}

/// A child in a session of its own (setsid, as a daemon's or a terminal
/// emulator's child makes): restored with setsid and no setpgid after it
/// (a session leader may not change its group: EPERM, step tree-group);
/// the child checks it leads its session and group, the parent reaps it.
#[test]
fn a_child_in_a_session_of_its_own_is_restored() {
    let _entry = skip_unless!(binfmt_entry());
    let python = skip_unless!(which("python3"));
    let program = r#"
import os, sys
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.setsid()
    os.read(r, 1)
    os._exit(0 if os.getsid(0) == os.getpid() == os.getpgid(0) else 1)
os.close(r)
print("ready", flush=True)
while os.getsid(pid) != pid:
    pass
print("waiting at 1", flush=True)
sys.stdin.buffer.read(1)
os.write(w, b"x")
_, status = os.wait()
print("child in its own session:", "ok" if status == 0 else status, flush=True)
"#;
    let mut reference = Command::new(&python);
    reference.args(["-c", program]);
    let want = run(reference);
    assert_eq!(text(&want.stdout), "ready\nwaiting at 1\nchild in its own session: ok\n", "{}", text(&want.stderr));
    let dir = scratch("tree-setsid");
    let mut c = Command::new(&python);
    c.args(["-c", program]);
    let (image, head) = dump_tree(c, false, "waiting at 1", &dir);
    for cmd in [exec_image(&image), run_restorer(&image)] {
        let got = run(cmd);
        assert_eq!(head.clone() + &text(&got.stdout), text(&want.stdout), "stderr: {}", text(&got.stderr));
        assert!(got.status.success(), "{}: {}", got.status, text(&got.stderr));
    }
}
