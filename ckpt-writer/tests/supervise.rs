//! `ckpt-writer run` (issue 17): the checkpointing supervisor, with real
//! processes. A counter waits at chosen steps for a line on its stdin (the
//! supervisor's stdin, a pipe the test holds), so every checkpoint is
//! taken at a known step; the output of all the starts together must be
//! the uninterrupted run's. Tests wait for lines (stdout, stderr) and for
//! the supervisor's exit, never for time to pass.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::*;

/// How long an expected line may take.
const LINE_TIMEOUT: Duration = Duration::from_secs(60);

/// The checkpoint-and-stop exit status (the default of --checkpoint-exit-code).
const CHECKPOINTED: i32 = 99;

/// A running supervisor: its stdin, and its stdout and stderr lines.
struct Job {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Receiver<String>,
    err: Receiver<String>,
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

fn lines(r: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

impl Job {
    /// `ckpt-writer run --dir DIR EXTRA... -- CMD...`, in a process group
    /// of its own (as a batch job is), restoring with the release ckpt-restore.
    fn start(dir: &Path, extra: &[&str], cmd: &[&str]) -> Job {
        use std::os::unix::process::CommandExt;
        let mut c = ckpt();
        c.arg("run").arg("--dir").arg(dir).arg("--restorer").arg(test_support::tools::restorer()).args(extra).arg("--").args(cmd);
        c.process_group(0).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("starting ckpt-writer run");
        let out = lines(child.stdout.take().unwrap());
        let err = lines(child.stderr.take().unwrap());
        let stdin = child.stdin.take();
        Job { child, stdin, out, err, stdout: Vec::new(), stderr: Vec::new() }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn wait_in(rx: &Receiver<String>, seen: &mut Vec<String>, what: &str, found: impl Fn(&str) -> bool, other: &[String]) {
        let deadline = Instant::now() + LINE_TIMEOUT;
        while !seen.iter().any(|l| found(l)) {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(l) => seen.push(l),
                Err(e) => panic!("no line {what} ({e}); got {seen:?}; the other stream: {other:?}"),
            }
        }
    }

    /// Waits for a stdout line equal to `want`.
    fn wait_out(&mut self, want: &str) {
        Self::wait_in(&self.out, &mut self.stdout, &format!("{want:?} on stdout"), |l| l == want, &self.stderr);
    }

    /// Waits for a stderr line containing `want`; returns it.
    fn wait_err(&mut self, want: &str) -> String {
        let mut err = std::mem::take(&mut self.stderr);
        Self::wait_in(&self.err, &mut err, &format!("containing {want:?} on stderr"), |l| l.contains(want), &self.stdout);
        self.stderr = err;
        self.stderr.iter().find(|l| l.contains(want)).unwrap().clone()
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin.as_mut().unwrap(), "{line}").expect("writing to the job's stdin");
    }

    /// The supervised child (CMD's root), by /proc's children of the supervisor.
    fn cmd_pid(&self) -> i32 {
        let text = std::fs::read_to_string(format!("/proc/{}/task/{}/children", self.pid(), self.pid())).unwrap();
        let kids: Vec<i32> = text.split_whitespace().map(|w| w.parse().unwrap()).collect();
        assert_eq!(kids.len(), 1, "the supervisor has children {kids:?}");
        kids[0]
    }

    /// Waits for the supervisor's end; returns its exit code (all output read).
    fn finish(mut self) -> (i32, Vec<String>, Vec<String>) {
        drop(self.stdin.take());
        let st = self.child.wait().unwrap();
        while let Ok(l) = self.out.recv_timeout(Duration::from_secs(10)) {
            self.stdout.push(l);
        }
        while let Ok(l) = self.err.recv_timeout(Duration::from_secs(10)) {
            self.stderr.push(l);
        }
        let code = st.code().unwrap_or_else(|| panic!("the supervisor was killed: {st}; stderr {:?}", self.stderr));
        (code, std::mem::take(&mut self.stdout), std::mem::take(&mut self.stderr))
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kill(pid: i32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).unwrap_or_else(|e| panic!("kill {pid} {sig}: {e}"));
}

/// The file names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn fresh_dir(name: &str) -> PathBuf {
    let d = scratch(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn verified(file: &Path) {
    let out = run_ckpt(&["verify", file.to_str().unwrap()]);
    assert!(out.status.success(), "verify {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
}

fn gone(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// A job stopped twice: first as Slurm requeues (SIGTERM to every process
/// of the job, CMD first), then by a warning signal sent to the supervisor
/// alone (Slurm's `--signal=B:USR1@N`); each start continues where the last
/// stopped, and the output of the three is the uninterrupted run's.
#[test]
fn stopped_by_term_then_by_a_warning_resumes_each_time() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    use nix::sys::signal::Signal::*;
    let counter = programs().join("counter");
    let cmd = [counter.to_str().unwrap(), "--wait-at", "300,600", "1000", "0"];
    let want = baseline("counter", &["1000", "0"]);
    let dir = fresh_dir("supervise-stops");
    let opts = ["--on-signal", "TERM,USR1"];

    let mut job = Job::start(&dir, &opts, &cmd);
    job.wait_out("waiting at 300");
    let root = job.cmd_pid();
    let tracer = std::fs::read_to_string(format!("/proc/{root}/status")).unwrap();
    assert!(tracer.contains(&format!("TracerPid:\t{}", job.pid())), "CMD is not traced by the supervisor: {tracer}");
    let fds = names(Path::new(&format!("/proc/{root}/fd")));
    assert_eq!(fds, ["0", "1", "2"], "CMD inherited more than fds 0-2");
    kill(root, SIGTERM);
    kill(-job.pid(), SIGTERM);
    let (code, out1, err1) = job.finish();
    assert_eq!(code, CHECKPOINTED, "stderr: {err1:?}");
    assert!(gone(root), "CMD (pid {root}) still runs after the checkpoint");
    assert!(err1.iter().any(|l| l.contains("checkpoint 1 (SIGTERM)") && l.contains("job stopped")), "{err1:?}");
    assert_eq!(names(&dir), ["ckpt-1.ckpt"]);
    verified(&dir.join("ckpt-1.ckpt"));
    // The stop signal is the checkpoint's, not the restored job's: it is
    // not pending in the image, whichever got it first (the supervisor or
    // CMD, whose own was still pending then).
    let img = inspect(&dir.join("ckpt-1.ckpt"));
    assert_eq!(img["pending_signals"], serde_json::json!([]), "a stop signal went into the image");

    // Second start: restored, waiting at 300 in its read; go to 600, where
    // the supervisor alone gets the warning.
    let mut job = Job::start(&dir, &opts, &cmd);
    job.wait_err("restoring");
    job.send("go");
    job.wait_out("waiting at 600");
    kill(job.pid(), SIGUSR1);
    let (code, out2, err2) = job.finish();
    assert_eq!(code, CHECKPOINTED, "stderr: {err2:?}");
    assert!(err2.iter().any(|l| l.contains("checkpoint 2 (SIGUSR1)")), "{err2:?}");
    assert_eq!(names(&dir), ["ckpt-2.ckpt"], "the older image was not removed");

    // Third start: runs to the end; a job that succeeded leaves no image.
    let mut job = Job::start(&dir, &opts, &cmd);
    job.wait_err("restoring");
    job.send("go");
    let (code, out3, err3) = job.finish();
    assert_eq!(code, 0, "stderr: {err3:?}");
    let all: Vec<String> = [out1, out2, out3].concat();
    assert_eq!(deterministic(&all), want, "the three starts' output is not the uninterrupted run's");
    assert_eq!(names(&dir), Vec::<String>::new());
}

/// `--every`: images appear while the job runs on (the older removed),
/// and the job's exit status is the supervisor's.
#[test]
fn periodic_checkpoints_let_the_job_run_on() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    let counter = programs().join("counter");
    let cmd = [counter.to_str().unwrap(), "--wait-at", "300", "1000", "0"];
    let dir = fresh_dir("supervise-every");
    let mut job = Job::start(&dir, &["--every", "200ms"], &cmd);
    job.wait_out("waiting at 300");
    job.wait_err("checkpoint 2 (interval)");
    assert!(!names(&dir).contains(&"ckpt-1.ckpt".to_string()), "ckpt-1 kept after ckpt-2: {:?}", names(&dir));
    job.send("go");
    let (code, out, err) = job.finish();
    assert_eq!(code, 0, "stderr: {err:?}");
    assert_eq!(deterministic(&out), baseline("counter", &["1000", "0"]));
}

/// A failed periodic dump (a packet socket cannot be dumped) leaves
/// the job running and the previous image in place, and says why; the
/// job's non-zero status is the supervisor's and the image is kept.
#[test]
fn a_failed_dump_leaves_the_job_running_and_the_last_image() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    let script = "import socket, sys\n\
        print('ready', flush=True)\n\
        s = None\n\
        for line in sys.stdin:\n\
        \x20   w = line.strip()\n\
        \x20   if w == 'open':\n\
        \x20       s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0); print('opened', flush=True)\n\
        \x20   elif w == 'close':\n\
        \x20       s.close(); print('closed', flush=True)\n\
        \x20   elif w == 'quit':\n\
        \x20       sys.exit(3)\n";
    let dir = fresh_dir("supervise-fail");
    let mut job = Job::start(&dir, &["--every", "100ms"], &["python3", "-c", script]);
    job.wait_out("ready");
    job.wait_err("checkpoint 1 (interval)");
    job.send("open");
    job.wait_out("opened");
    let line = job.wait_err("periodic checkpoint failed");
    assert!(line.contains("the previous image stays") && line.contains("socket"), "{line}");
    // (A later attempt may be under way: its temporary file is not an image.)
    let images: Vec<String> = names(&dir).into_iter().filter(|n| !n.starts_with('.')).collect();
    assert_eq!(images.len(), 1, "{images:?}");
    verified(&dir.join(&images[0]));
    job.send("close");
    job.wait_out("closed");
    job.send("quit");
    let (code, _, err) = job.finish();
    assert_eq!(code, 3, "stderr: {err:?}");
    assert!(err.iter().any(|l| l.contains("exited with status 3") && l.contains("is kept")), "{err:?}");
    assert_eq!(names(&dir).len(), 1);
}

/// A damaged image, or a foreign .ckpt file, in DIR is refused naming it;
/// nothing is run (CMD would create a file).
#[test]
fn a_corrupt_or_foreign_image_is_refused_and_nothing_runs() {
    let dir = fresh_dir("supervise-corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    let mark = dir.join("ran");
    let cmd = ["sh", "-c", &format!("touch {}", mark.display())];
    for (name, bytes) in [("ckpt-1.ckpt", &b"\x89CKP\r\n\x1a\nnot really an image"[..]), ("saved.ckpt", &b"#!/bin/sh\n"[..])] {
        std::fs::write(dir.join(name), bytes).unwrap();
        let job = Job::start(&dir, &[], &cmd);
        let (code, _, err) = job.finish();
        assert_ne!(code, 0, "a bad {name} was accepted: {err:?}");
        assert!(err.iter().any(|l| l.contains(&dir.join(name).display().to_string())), "{name} is not named: {err:?}");
        assert!(!mark.exists(), "CMD ran with a bad {name} in DIR");
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    // With the directory clean, CMD runs (the refusals were about the files).
    let (code, _, err) = Job::start(&dir, &[], &cmd).finish();
    assert_eq!(code, 0, "{err:?}");
    assert!(mark.exists());
}

/// A job that is a tree (a shell and the counter it waits for): SIGTERM
/// to CMD's whole process group, every process of it traced and held; the
/// image holds both; the next start resumes both.
#[test]
fn a_job_that_is_a_tree_is_checkpointed_whole() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    let counter = programs().join("counter");
    let script = format!("{} --wait-at 300 1000 0; echo shell done", counter.display());
    let cmd = ["sh", "-c", &script];
    let dir = fresh_dir("supervise-tree");
    let mut job = Job::start(&dir, &[], &cmd);
    job.wait_out("waiting at 300");
    let shell = job.cmd_pid();
    kill(-shell, nix::sys::signal::Signal::SIGTERM);
    let (code, out1, err1) = job.finish();
    assert_eq!(code, CHECKPOINTED, "stderr: {err1:?}");
    let img = inspect(&dir.join("ckpt-1.ckpt"));
    let tree = img["tree"].as_array().unwrap_or_else(|| panic!("not a tree image: {err1:?}"));
    assert_eq!(tree.len(), 2, "{tree:?}");
    let mut job = Job::start(&dir, &[], &cmd);
    job.wait_err("restoring");
    job.send("go");
    job.wait_out("shell done");
    let (code, out2, err2) = job.finish();
    assert_eq!(code, 0, "stderr: {err2:?}");
    assert_eq!(deterministic(&[out1, out2].concat()), baseline("counter", &["1000", "0"]));
}
