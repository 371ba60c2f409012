//! The restorer's own test helpers: a binfmt_misc entry that is always
//! removed, dumping with ckpt-writer, and the two ways to restore. The test
//! programs, the tools, the Target harness and the baselines are
//! test-support's.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

#[allow(unused_imports)] // each test binary uses a part
pub use test_support::{baseline, copy_program, deterministic, programs, scratch, skip_unless, tools::restorer, tools::writer, Target};

/// Whether this process may register with binfmt_misc (root, and the file
/// system mounted: mounted here if it is not); Err says why not.
pub fn binfmt_misc() -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("binfmt_misc registration needs root".into());
    }
    let dir = Path::new("/proc/sys/fs/binfmt_misc");
    if !dir.join("register").exists() {
        let out = Command::new("mount").args(["-t", "binfmt_misc", "binfmt_misc"]).arg(dir).output();
        if !dir.join("register").exists() {
            let why = match out {
                Ok(o) => format!("{}: {}", o.status, String::from_utf8_lossy(&o.stderr).trim()),
                Err(e) => format!("running mount: {e}"),
            };
            return Err(format!("binfmt_misc is not mounted on {} and mounting it failed ({why})", dir.display()));
        }
    }
    Ok(())
}

/// A fresh binfmt_misc entry for the restorer, or why this machine cannot
/// have one (for `skip_unless!`).
pub fn binfmt_entry() -> Result<Binfmt, String> {
    binfmt_misc()?;
    Ok(Binfmt::register())
}

/// A binfmt_misc entry for the restorer under a unique name, registered
/// with `ckpt-writer binfmt-misc register` and removed on drop.
pub struct Binfmt {
    pub name: String,
}

impl Binfmt {
    pub fn register() -> Binfmt {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("chkpt_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let out = Command::new(writer())
            .args(["binfmt-misc", "register", "--name", &name, "--restorer"])
            .arg(restorer())
            .output()
            .unwrap();
        assert!(out.status.success(), "register failed: {}", String::from_utf8_lossy(&out.stderr));
        Binfmt { name }
    }
}

impl Drop for Binfmt {
    fn drop(&mut self) {
        let _ = std::fs::write(format!("/proc/sys/fs/binfmt_misc/{}", self.name), "-1");
    }
}

/// `ckpt-writer dump PID -o FILE --kill`; waits for the target to die.
pub fn dump_kill(t: Target, file: &Path) -> Vec<String> {
    let out = Command::new(writer())
        .args(["dump", &t.pid().to_string(), "-q", "--kill", "-o"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    let (_, lines) = t.finish();
    lines
}

/// Runs the image as a program (execve: binfmt_misc), from its directory.
pub fn exec_image(image: &Path) -> Command {
    let mut cmd = Command::new(Path::new(".").join(image.file_name().unwrap()));
    cmd.current_dir(image.parent().unwrap());
    cmd
}

/// Runs `ckpt-restore IMAGE` directly.
pub fn run_restorer(image: &Path) -> Command {
    let mut cmd = Command::new(restorer());
    cmd.arg(image);
    cmd
}

/// `program --wait-at POINT ARGS`, with pipes on stdin and stdout, once it
/// printed "waiting at POINT"; also what it printed up to there.
pub fn held_at(
    program: &str,
    point: u32,
    args: &[&str],
) -> (std::process::Child, std::io::BufReader<std::process::ChildStdout>, String) {
    held_at_with_stderr(program, point, args, std::process::Stdio::inherit())
}

/// `held_at` with the program's stderr given: a test whose image must not
/// depend on where the test's own stderr goes (a file of root's, say, that
/// another user's restore could not reopen) gives /dev/null (the test
/// programs print their failures on stdout).
pub fn held_at_with_stderr(
    program: &str,
    point: u32,
    args: &[&str],
    stderr: std::process::Stdio,
) -> (std::process::Child, std::io::BufReader<std::process::ChildStdout>, String) {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut child = Command::new(programs().join(program))
        .arg("--wait-at")
        .arg(point.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut head = String::new();
    let want = format!("waiting at {point}\n");
    while !head.ends_with(&want) {
        let n = out.read_line(&mut head).unwrap();
        assert!(n > 0, "{program} ended before its wait point: {head}");
    }
    (child, out, head)
}

/// Sends a program held by `held_at` its go line; the rest of its stdout
/// and its exit status.
pub fn go(
    mut child: std::process::Child,
    mut out: std::io::BufReader<std::process::ChildStdout>,
) -> (String, std::process::ExitStatus) {
    use std::io::{Read, Write};
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    (rest, child.wait().unwrap())
}

/// `go` for a program that must succeed: its stdout after the wait point.
pub fn go_ok(child: std::process::Child, out: std::io::BufReader<std::process::ChildStdout>) -> String {
    let (rest, status) = go(child, out);
    assert!(status.success(), "{rest}");
    rest
}

/// `cmd` (its program, arguments and directory) run by `unshare --user
/// --pid --fork` (with `--map-root-user` when `map_root`): a restore in a
/// fresh PID namespace, ckpt-restore its init (PID-namespace mode); without
/// the mapping it has no capability there.
pub fn in_pid_namespace(cmd: &Command, map_root: bool) -> Command {
    let mut u = Command::new("unshare");
    u.arg("--user");
    if map_root {
        u.arg("--map-root-user");
    }
    u.args(["--pid", "--fork"]).arg(cmd.get_program()).args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        u.current_dir(d);
    }
    u
}

/// `ckpt-writer dump PID -o IMAGE EXTRA`: whether it succeeded, and its stderr.
pub fn dump_with(pid: u32, image: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(writer()).args(["dump", &pid.to_string(), "-o"]).arg(image).args(extra).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `ckpt-writer dump PID -q --kill -o FILE` of a child; reaps it.
pub fn dump_child_kill(child: &mut std::process::Child, file: &Path) {
    let out = Command::new(writer())
        .args(["dump", &child.id().to_string(), "-q", "--kill", "-o"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    child.wait().unwrap();
}
