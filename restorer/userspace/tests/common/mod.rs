//! Helpers of the restorer's host tests: the tools (ckpt-writer and the
//! statically linked ckpt-restore, built once), the test programs, a
//! binfmt_misc entry that is always removed, and running real processes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (ckpt-writer, ckpt-restore): release builds in a target directory of
/// their own (the outer `cargo test` holds the lock on its own), the
/// restorer linked statically as `make restorer` links it.
pub fn tools() -> &'static (PathBuf, PathBuf) {
    static T: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tmp().join("tools");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let run = |args: &[&str]| {
            let st = Command::new(&cargo)
                .args(args)
                .current_dir(workspace())
                .env("CARGO_TARGET_DIR", &dir)
                .env_remove("RUSTFLAGS")
                .status()
                .expect("running cargo");
            assert!(st.success(), "cargo {args:?} failed");
        };
        run(&["build", "-q", "--release", "-p", "ckpt-writer"]);
        run(&["rustc", "-q", "--release", "-p", "ckpt-restore", "--bin", "ckpt-restore", "--", "-C", "target-feature=+crt-static"]);
        let restorer = dir.join("release/ckpt-restore");
        let file = Command::new("file").arg(&restorer).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        if let Ok(f) = file {
            assert!(f.contains("static"), "ckpt-restore is not statically linked: {f}");
        }
        (dir.join("release/ckpt-writer"), restorer)
    })
}

pub fn writer() -> &'static Path {
    &tools().0
}

pub fn restorer() -> &'static Path {
    &tools().1
}

/// The test programs (test-programs/ and tests/progs/), built once.
pub fn programs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = tmp().join("test-programs");
        let st = Command::new("make")
            .args(["-s", "-C"])
            .arg(workspace().join("test-programs"))
            .arg(format!("OUT={}", out.display()))
            .status()
            .expect("running make for test-programs");
        assert!(st.success(), "building test-programs failed");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/progs/heapgrow.c");
        for (name, extra) in [("heapgrow", &["-static"][..]), ("heapgrow-dynamic", &[][..])] {
            let st = Command::new("cc").args(["-O2", "-Wall"]).args(extra).arg("-o").arg(out.join(name)).arg(&src).status().unwrap();
            assert!(st.success(), "building {name} failed");
        }
        out
    })
}

/// Whether we may register with binfmt_misc; prints why not.
pub fn can_register() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: binfmt_misc registration needs root");
        return false;
    }
    let dir = Path::new("/proc/sys/fs/binfmt_misc");
    if !dir.join("register").exists() {
        let st = Command::new("mount").args(["-t", "binfmt_misc", "binfmt_misc"]).arg(dir).status();
        if !dir.join("register").exists() {
            eprintln!("skipped: binfmt_misc is not mounted and mounting it failed ({st:?})");
            return false;
        }
    }
    true
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

/// A fresh scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    let d = tmp().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running process whose stdout lines are collected.
pub struct Target {
    pub child: Child,
    lines: Receiver<String>,
    pub seen: Vec<String>,
}

impl Target {
    pub fn spawn(mut cmd: Command) -> Target {
        // stderr: the caller's choice (inherited unless it set one).
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn().expect("spawn");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Target { child, lines: rx, seen: Vec::new() }
    }

    /// A test program with arguments.
    pub fn program(name: &str, args: &[&str]) -> Target {
        let mut cmd = Command::new(programs().join(name));
        cmd.args(args);
        Target::spawn(cmd)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for a line starting with `prefix`; panics after 60 s.
    pub fn wait_prefix(&mut self, prefix: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.seen.iter().any(|l| l.starts_with(prefix)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!("no line {prefix:?}; got {:?}", self.seen),
            }
        }
    }

    /// Waits for exit; returns (exit status, every stdout line).
    pub fn finish(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.child.wait().unwrap();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The deterministic lines of a program's output.
pub fn deterministic(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| ["step ", "progress ", "round ", "result ", "rt_count ", "FAIL"].iter().any(|p| l.starts_with(p)))
        .cloned()
        .collect()
}

/// Output of an uninterrupted run (no sleeps).
pub fn baseline(name: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new(programs().join(name)).args(args).output().unwrap();
    assert!(out.status.success(), "{name} failed on its own: {}", String::from_utf8_lossy(&out.stdout));
    deterministic(&String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect::<Vec<_>>())
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
