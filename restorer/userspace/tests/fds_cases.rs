//! File descriptors through ckpt-restore: fds that share open file
//! descriptions, pipes with queued bytes, pipe ends whose peer is gone and
//! a duplicate of the caller's stdout (test-programs/fdshare.c); eventfd,
//! signalfd, timerfd and epoll (test-programs/fdevents.c); each program
//! checks its fds itself after its wait point, and each restored run is
//! compared with an uninterrupted one. Also Python's selectors (epoll) and
//! os.pipe/os.eventfd, as a user would try them. Needs root (ptrace).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use common::*;

/// fdshare in `dir`, started with pipes on stdin and stdout, once it waits
/// at its wait point.
fn waiting(dir: &Path) -> (Child, BufReader<ChildStdout>) {
    let mut cmd = Command::new(programs().join("fdshare"));
    cmd.args(["--wait-at", "1"]).arg(dir);
    waiting_cmd(cmd, &["ready", "waiting at 1"])
}

/// `cmd` with pipes on stdin and stdout, once it printed `lines`.
fn waiting_cmd(mut cmd: Command, lines: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    for want in lines {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim_end(), *want, "{cmd:?} did not get to its wait point");
    }
    (child, out)
}

/// `cmd` (which prints `lines`, then waits for a line on stdin) run
/// uninterrupted, and dumped there, killed and restored by ckpt-restore:
/// the output of both after the wait, which must be the same.
fn compare(cmd: impl Fn() -> Command, lines: &[&str], dir: &Path) -> String {
    let (child, out) = waiting_cmd(cmd(), lines);
    let (want, status) = go(child, out);
    assert!(status.success(), "uninterrupted run: {status:?}, {want}");
    let (mut child, _out) = waiting_cmd(cmd(), lines);
    let image = dir.join("saved.ckpt");
    dump(child.id(), &image, &["--kill"]);
    child.wait().unwrap();
    let mut child = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (got, status) = go(child, out);
    assert!(status.success(), "restored: {status:?}, stdout {got:?}");
    assert_eq!(got, want);
    got
}

/// Sends the go line; returns the rest of stdout and the exit status.
/// What an uninterrupted run prints after its wait point, run in a scratch
/// directory of its own (`name`: tests run in parallel).
fn uninterrupted(name: &str) -> String {
    let dir = scratch(name);
    let (child, out) = waiting(&dir);
    let (rest, status) = go(child, out);
    assert!(status.success(), "{rest}");
    assert!(rest.ends_with("result ok\n"), "{rest}");
    rest
}

/// `ckpt-writer dump` of `pid` into `image` with `extra` arguments; its
/// stderr (the summary) if it succeeded.
fn dump(pid: u32, image: &Path, extra: &[&str]) -> String {
    let (ok, err) = dump_with(pid, image, extra);
    assert!(ok, "dump failed: {err}");
    err
}

/// fdshare dumped at its wait point and killed, in a scratch directory of
/// its own (`name`: tests run in parallel): the image.
fn image(name: &str) -> (PathBuf, String) {
    let dir = scratch(name);
    let (mut child, _out) = waiting(&dir);
    let image = dir.join("saved.ckpt");
    let summary = dump(child.id(), &image, &["--kill"]);
    child.wait().unwrap();
    (image, summary)
}

#[test]
fn shared_descriptions_and_pipes_are_restored_as_they_were() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let (image, summary) = image("fds-shared");
    // The dump says what became of the pipe ends whose peer is gone.
    assert!(summary.contains("fd 7: pipe read end whose write end is not in the process: restored with its 6 queued bytes, then end of file"), "{summary}");
    assert!(summary.contains("fd 8: pipe write end whose read end is not in the process"), "{summary}");
    let mut child = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (rest, status) = go(child, out);
    assert!(status.success(), "status {status:?}, stdout {rest:?}");
    assert_eq!(rest, uninterrupted("fds-shared-ref"));
}

/// A dump that leaves the target running takes none of its queued bytes:
/// the target then finds each of its pipes as it left it.
#[test]
fn a_dump_leaves_every_queued_byte_in_place() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("fds-keep");
    let (child, out) = waiting(&dir);
    dump(child.id(), &dir.join("saved.ckpt"), &[]);
    let (rest, status) = go(child, out);
    assert!(status.success(), "status {status:?}, stdout {rest:?}");
    assert_eq!(rest, uninterrupted("fds-keep-ref"));
}

/// Inspect lists the descriptions with their state.
#[test]
fn inspect_shows_each_description() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let (image, _) = image("fds-inspect");
    let out = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for want in [
        "pipe 1 read end, flags 0o4000, size 131072, 12 bytes queued",
        "pipe 1 write end, flags 0o1, size 131072, 0 bytes queued",
        "pipe 2 read end, flags 0o0, size 65536, 6 bytes queued, other end not in the image",
        "pipe 3 write end, flags 0o1, size 65536, 0 bytes queued, other end not in the image",
        "the restoring caller's fd 1",
        "   4 Regular   shares file",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
}

/// eventfd (count, semaphore, O_NONBLOCK), signalfd, timerfd (armed, and
/// with an expiration unread), epoll (edge-triggered, one-shot and
/// level-triggered entries) restored as they were.
#[test]
fn eventfd_signalfd_timerfd_and_epoll_are_restored_as_they_were() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("fdevents");
    let cmd = || {
        let mut c = Command::new(programs().join("fdevents"));
        c.args(["--wait-at", "1"]);
        c
    };
    let out = compare(cmd, &["ready", "waiting at 1"], &dir);
    assert!(out.ends_with("result ok\n"), "{out}");
}

/// A Python program as a user writes one: a selectors loop (epoll) over a
/// pipe with bytes queued and an eventfd, and a blocking read of stdin
/// where it is dumped.
#[test]
fn a_python_selectors_program_keeps_its_epoll_pipe_and_eventfd() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let python = Path::new("/usr/bin/python3");
    skip_unless!(python.exists(), "no {}", python.display());
    let dir = scratch("fds-python");
    let script = r#"
import os, selectors, sys
sel = selectors.DefaultSelector()
r, w = os.pipe()
os.write(w, b"queued")
ev = os.eventfd(3)
sel.register(r, selectors.EVENT_READ, "pipe")
sel.register(ev, selectors.EVENT_READ, "eventfd")
print(type(sel).__name__, flush=True)
sys.stdin.readline()
ready = sorted(key.data for key, _ in sel.select(timeout=0))
print("ready", ready)
print("pipe", os.read(r, 100))
print("eventfd", os.eventfd_read(ev))
os.write(w, b"more")
print("again", [key.data for key, _ in sel.select(timeout=0)], os.read(r, 100))
"#;
    let cmd = || {
        let mut c = Command::new(python);
        c.args(["-c", script]);
        c
    };
    let out = compare(cmd, &["EpollSelector"], &dir);
    assert_eq!(out, "ready ['eventfd', 'pipe']\npipe b'queued'\neventfd 3\nagain ['pipe'] b'more'\n");
}

/// An event loop watching its stdin, restored with /dev/null there (which
/// epoll cannot watch): the entry is left out, the restore goes on, and
/// the loop still sees its pipe.
#[test]
fn an_epoll_entry_for_a_stdin_that_cannot_be_watched_is_left_out() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let python = Path::new("/usr/bin/python3");
    skip_unless!(python.exists(), "no {}", python.display());
    let dir = scratch("fds-stdin");
    let script = r#"
import os, selectors, sys
sel = selectors.DefaultSelector()
r, w = os.pipe()
os.write(w, b"x")
sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
sel.register(r, selectors.EVENT_READ, "pipe")
print("registered", flush=True)
line = sys.stdin.readline()
print("line", repr(line), "ready", sorted(key.data for key, _ in sel.select(timeout=0)))
"#;
    let mut cmd = Command::new(python);
    cmd.args(["-c", script]);
    let (mut child, _out) = waiting_cmd(cmd, &["registered"]);
    let image = dir.join("saved.ckpt");
    dump(child.id(), &image, &["--kill"]);
    child.wait().unwrap();
    let out = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?}: {stdout} {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout, "line '' ready ['pipe']\n");
}

/// sockpair (test-programs/sockpair.c) run with `--wait-at 1`.
fn sockpair_cmd() -> Command {
    let mut c = Command::new(programs().join("sockpair"));
    c.args(["--wait-at", "1"]);
    c
}

/// Unix socket pairs: a stream pair with bytes queued both ways, one end
/// nonblocking and duplicated, and an empty seqpacket pair, restored as
/// they were (sockpair checks each itself).
#[test]
fn unix_socket_pairs_are_restored_with_their_queued_bytes() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("sockpair");
    let out = compare(sockpair_cmd, &["ready", "waiting at 1"], &dir);
    assert!(out.ends_with("result ok\n"), "{out}");
    let image = dir.join("saved.ckpt");
    let text = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [
        "unix socket pair 1 end (stream), flags 0o2, 8 bytes queued for reading: \"to end 3\"",
        "unix socket pair 1 end (stream), flags 0o4002, 8 bytes queued for reading: \"to end 4\"",
        "unix socket pair 2 end (seqpacket), flags 0o4002, 0 bytes queued for reading",
        "unix socket pair 3 end (stream), its peer had closed, flags 0o2, 10 bytes queued for reading: \"last words\"",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
}

/// A dump that leaves sockpair running takes none of the bytes queued in
/// its socket pair: it then reads them as if nothing happened.
#[test]
fn a_dump_leaves_the_bytes_queued_in_a_socket_pair() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("sockpair-keep");
    let (child, out) = waiting_cmd(sockpair_cmd(), &["ready", "waiting at 1"]);
    let (want, status) = go(child, out);
    assert!(status.success() && want.ends_with("result ok\n"), "{want}");
    let (child, out) = waiting_cmd(sockpair_cmd(), &["ready", "waiting at 1"]);
    dump(child.id(), &dir.join("saved.ckpt"), &[]);
    let (rest, status) = go(child, out);
    assert!(status.success(), "status {status:?}, stdout {rest:?}");
    assert_eq!(rest, want);
}

/// A socket connected outside the process beyond fds 0-2 (there it is the
/// caller's: a_socket_on_stdout_and_stderr_is_the_callers) is refused,
/// naming the fd, and the target keeps running.
#[test]
fn a_socket_whose_peer_is_outside_the_process_is_refused() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("sockpair-outside");
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let python = Path::new("/usr/bin/python3");
    skip_unless!(python.exists(), "no {}", python.display());
    // The socket moves from stdin to fd 5, where the program reads its
    // line (a shell's `read <&5` would put it back on fd 0 meanwhile).
    let mut cmd = Command::new(python);
    cmd.args(["-c", "import os; os.dup2(0, 5); os.dup2(os.open('/dev/null', os.O_RDONLY), 0); print('waiting at 1', flush=True); print('got', os.read(5, 10).decode().strip())"]);
    cmd.stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)));
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    drop(cmd);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("waiting at 1") {
        line.clear();
        assert_ne!(out.read_line(&mut line).unwrap(), 0, "counter ended before its wait point");
    }
    let res = Command::new(writer()).args(["dump", &child.id().to_string(), "-o"]).arg(dir.join("saved.ckpt")).arg("--kill").output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success(), "{err}");
    assert!(err.contains("fd 5 is a unix stream socket (socket:[") && err.contains("outside the process"), "{err}");
    // Still running: it goes on once it gets its line.
    (&ours).write_all(b"go\n").unwrap();
    drop(ours);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert_eq!(rest, "got go\n");
}

/// Python's asyncio as a user writes it: its event loop's self-pipe is a
/// socket pair, here with a wake-up byte queued (call_soon_threadsafe),
/// a reader on a pipe with bytes queued, a queue, and an executor thread
/// after the restore. Dumped in a blocking read of stdin.
#[test]
fn a_python_asyncio_program_keeps_its_loop() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let python = Path::new("/usr/bin/python3");
    skip_unless!(python.exists(), "no {}", python.display());
    let dir = scratch("fds-asyncio");
    let script = r#"
import asyncio, os, sys
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
r, w = os.pipe()
os.write(w, b"queued")
q = asyncio.Queue()
loop.add_reader(r, lambda: q.put_nowait(os.read(r, 100)))
loop.call_soon_threadsafe(lambda: q.put_nowait(b"soon"))
print(type(loop).__name__, type(loop._selector).__name__, flush=True)
sys.stdin.readline()
async def main():
    print("got", sorted([await q.get(), await q.get()]))
    os.write(w, b"more")
    print("again", await q.get())
    print("executor", await loop.run_in_executor(None, lambda: 6 * 7))
loop.run_until_complete(main())
loop.close()
"#;
    let cmd = || {
        let mut c = Command::new(python);
        c.args(["-c", script]);
        c
    };
    let out = compare(cmd, &["_UnixSelectorEventLoop EpollSelector"], &dir);
    assert_eq!(out, "got [b'queued', b'soon']\nagain b'more'\nexecutor 42\n");
}

/// A pipe end opened again through /dev/fd (bash's `< <(cmd)`: bash opens
/// /dev/fd/63, which gives the description O_LARGEFILE, unlike pipe(2)):
/// recorded and restored with the bytes left in it, then end of file. The
/// writer once took O_LARGEFILE for an unsupported pipe flag.
#[test]
fn a_pipe_opened_through_dev_fd_is_restored() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("fds-procsub");
    let script = r#"exec 5< <(printf 'one\ntwo\n'); read a <&5; echo "got $a"; read go; read b <&5; echo "then $b"; read c <&5 || echo "end of file""#;
    let cmd = || {
        let mut c = Command::new("bash");
        c.args(["-c", script]);
        c
    };
    let out = compare(cmd, &["got one"], &dir);
    assert_eq!(out, "then two\nend of file\n");
}

/// `bash -c script` with a unix socket as stdout and stderr (as under a
/// service manager's journal or a CI runner), a pipe as stdin; returns it
/// and the test's end of the socket once `first` was read from it. Takes
/// `cmd`: a Command keeps its stdio fds open until dropped.
fn on_socket(mut cmd: Command, first: &str) -> (Child, BufReader<std::os::unix::net::UnixStream>) {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let err = theirs.try_clone().unwrap();
    let child = cmd.stdin(Stdio::piped()).stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs))).stderr(Stdio::from(std::os::fd::OwnedFd::from(err))).spawn().unwrap();
    drop(cmd);
    let mut out = BufReader::new(ours);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, first);
    (child, out)
}

/// A socket on fds 0-2 is the caller's, like a pipe there: the dump
/// records it as inherited and the restored process writes to the
/// restoring caller's stdout and stderr, here another socket.
#[test]
fn a_socket_on_stdout_and_stderr_is_the_callers() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("fds-stdio-socket");
    let script = "echo ready; read go; echo after; echo to-stderr >&2";
    let mut cmd = Command::new("bash");
    cmd.args(["-c", script]);
    let (mut child, _out) = on_socket(cmd, "ready\n");
    let image = dir.join("saved.ckpt");
    dump(child.id(), &image, &["--kill"]);
    child.wait().unwrap();
    let shown = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    for fd in ["1", "2"] {
        assert!(shown.lines().any(|l| l.split_whitespace().take(3).eq([fd, "Socket", "Inherit"])), "fd {fd}: {shown}");
    }
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg("echo ready; exec \"$0\" \"$1\"").arg(restorer()).arg(&image);
    let (mut child, mut out) = on_socket(cmd, "ready\n");
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert_eq!(rest, "after\nto-stderr\n");
}

/// A Node.js program as a user writes one: timers (libuv's timerfd-less
/// loop on epoll), a file appended to on each tick, and stdin read through
/// the event loop; dumped while the loop waits for stdin, restored, it
/// goes on ticking and reads its file back as an uninterrupted run does.
#[test]
fn a_node_timer_and_file_loop_goes_on() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let node = Path::new("/usr/bin/node");
    skip_unless!(node.exists(), "no {}", node.display());
    let dir = scratch("fds-node-loop");
    let file = dir.join("ticks.txt");
    let script = r#"
const fs = require('fs');
const f = process.argv[1];
fs.writeFileSync(f, '');
let i = 0;
const t = setInterval(() => {
  i++;
  fs.appendFileSync(f, `tick ${i}\n`);
  console.log(`tick ${i}`);
  if (i < 3) return;
  clearInterval(t);
  console.log('waiting at 1');
  process.stdin.once('data', () => {
    let j = 0;
    const t2 = setInterval(() => {
      j++;
      fs.appendFileSync(f, `after ${j}\n`);
      console.log(`after ${j}`);
      if (j < 3) return;
      clearInterval(t2);
      console.log('file: ' + fs.readFileSync(f, 'utf8').trim().split('\n').join(', '));
      process.exit(0);
    }, 5);
  });
}, 5);
"#;
    let cmd = || {
        let mut c = Command::new(node);
        c.args(["-e", script]).arg(&file);
        c
    };
    let out = compare(cmd, &["tick 1", "tick 2", "tick 3", "waiting at 1"], &dir);
    assert_eq!(out, "after 1\nafter 2\nafter 3\nfile: tick 1, tick 2, tick 3, after 1, after 2, after 3\n");
}
