//! Terminals beyond fds 0-2 through ckpt-restore (FORMAT.md "Terminals"),
//! each compared with an uninterrupted run of test-programs/ptys.c, which
//! checks its terminals itself: pty pairs created again with their
//! termios, window size, modes and flags, bytes carried and echoed after
//! the restore; the caller's terminal opened again (/dev/tty and a second
//! open of fd 0's terminal), under a pty this test makes the controlling
//! terminal of the target and of the restore (as `script` does); refused
//! without one. Dumps refuse a pair with bytes queued and a master whose
//! slave another process holds, naming the fd and the count or the
//! process. Needs root (ptrace).

mod common;

use std::io::{BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

use common::*;

fn held(mode: &str) -> (Child, BufReader<ChildStdout>, String) {
    let (child, out, head) = held_at("ptys", 1, &[mode]);
    assert!(head.ends_with("ready\nwaiting at 1\n"), "{head}");
    (child, out, head)
}

fn go(mut child: Child, mut out: BufReader<ChildStdout>) -> (String, ExitStatus) {
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    (rest, child.wait().unwrap())
}

fn inspect(image: &Path) -> String {
    let text = Command::new(writer()).arg("inspect").arg(image).output().unwrap();
    String::from_utf8_lossy(&text.stdout).into_owned()
}

#[test]
fn pty_pairs_are_created_again_with_their_state() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("pty-pairs");
    let (child, out, _) = held("pairs");
    let (want, status) = go(child, out);
    assert!(status.success() && want.ends_with("result ok\n"), "uninterrupted: {want}");

    let image = dir.join("saved.ckpt");
    let (mut child, _out, _) = held("pairs");
    dump_child_kill(&mut child, &image);
    let text = inspect(&image);
    for line in [
        "pty master 1 (slave /dev/pts/",
        "33x101 (7x9 pixels), raw, echo",
        "slave exclusive, read-write\n",
        "pty slave of pty master 1, read-write\n",
        "pty slave of pty master 1, read-write, nonblocking\n",
        "packet mode, slave locked, read-write, nonblocking\n",
        "slave closed, read-write\n",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    // By ckpt-restore, and through binfmt_misc.
    let _b = skip_unless!(binfmt_entry());
    for mut restore in [run_restorer(&image), exec_image(&image)] {
        let mut restored = restore.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let out = BufReader::new(restored.stdout.take().unwrap());
        let (got, status) = go(restored, out);
        assert!(status.success(), "restored: {status:?}, {got}");
        assert_eq!(got, want);
    }
}

#[test]
fn a_pair_with_bytes_queued_or_a_slave_held_outside_is_refused() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("pty-refused");
    let image = dir.join("saved.ckpt");
    let (mut child, _out, _) = held("queued");
    let (ok, err) = dump_with(child.id(), &image, &[]);
    assert!(!ok, "a dump with bytes queued succeeded");
    assert!(err.contains("fd 3 is a pty master") && err.contains("with 4 bytes queued for reading at the slave (fd 4"), "{err}");
    let (ok, err) = dump_with(child.id(), &image, &["--allow-unsupported", "--kill"]);
    assert!(ok, "{err}");
    child.wait().unwrap();
    let text = inspect(&image);
    assert!(!text.contains("pty master") && !text.contains("pty slave"), "recorded as closed:\n{text}");

    let (mut child, _out, head) = held("outside");
    let grandchild: i32 = head.lines().find_map(|l| l.strip_prefix("child ")).unwrap().parse().unwrap();
    let (ok, err) = dump_with(child.id(), &image, &["--no-children"]);
    assert!(!ok, "a dump with the slave held outside succeeded");
    assert!(err.contains("fd 3 is a pty master") && err.contains(&format!("whose slave is held open by process {grandchild}")), "{err}");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(grandchild), nix::sys::signal::Signal::SIGKILL);
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A new pty pair, its slave raw without echo (no \r\n, typed bytes not
/// shown), the master's end and the slave's.
fn pty() -> (OwnedFd, OwnedFd) {
    // Close-on-exec from the start: a process another test starts
    // meanwhile must not hold the slave (the master would never see its
    // end).
    // SAFETY: posix_openpt, unlockpt, ptsname and open take and return
    // integers and a NUL-terminated name, which is copied before use.
    let (master, slave) = unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(master >= 0 && libc::unlockpt(master) == 0, "posix_openpt: {}", std::io::Error::last_os_error());
        let master = OwnedFd::from_raw_fd(master);
        let mut name = [0 as libc::c_char; 64];
        assert_eq!(libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()), 0);
        let slave = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(slave >= 0, "open the slave: {}", std::io::Error::last_os_error());
        (master, OwnedFd::from_raw_fd(slave))
    };
    // SAFETY: a zeroed termios is filled by tcgetattr before use.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: tcgetattr, cfmakeraw and tcsetattr on the slave, with `t`.
    unsafe {
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
    }
    (master, slave)
}

/// `cmd` with `slave` as fds 0-2 and its controlling terminal (a session
/// of its own), or, with `None`, in a session of its own without one and
/// /dev/null as fds 0-2.
fn on_terminal(mut cmd: Command, slave: Option<&OwnedFd>) -> Child {
    match slave {
        Some(s) => {
            cmd.stdin(Stdio::from(s.try_clone().unwrap())).stdout(Stdio::from(s.try_clone().unwrap())).stderr(Stdio::from(s.try_clone().unwrap()));
        }
        None => {
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        }
    }
    let with_tty = slave.is_some();
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || with_tty && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().unwrap()
}

/// Reads the master until `until` was read (or, with "", to the end: EIO
/// once no process holds the slave).
fn read_master(master: &mut std::fs::File, text: &mut String, until: &str) {
    let mut buf = [0u8; 4096];
    while until.is_empty() || !text.contains(until) {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => {
                assert!(until.is_empty(), "the terminal ended before {until:?}: {text}");
                return;
            }
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
}

/// Runs `cmd` on a new terminal past its wait point (`restored`: it is
/// in it already, and prints nothing before): what it wrote after it,
/// and its status; or, with `dump_to`, dumps it at its wait point.
fn through_terminal(cmd: Command, restored: bool, dump_to: Option<&Path>) -> (String, Option<ExitStatus>) {
    let (master, slave) = pty();
    let mut child = on_terminal(cmd, Some(&slave));
    drop(slave);
    let mut master = std::fs::File::from(master);
    let mut head = String::new();
    if !restored {
        read_master(&mut master, &mut head, "waiting at 1\n");
    }
    if let Some(image) = dump_to {
        dump_child_kill(&mut child, image);
        return (head, None);
    }
    master.write_all(b"g").unwrap();
    let mut rest = String::new();
    read_master(&mut master, &mut rest, "");
    (rest, Some(child.wait().unwrap()))
}

#[test]
fn the_callers_terminal_is_opened_again() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("pty-tty");
    let program = || {
        let mut c = Command::new(programs().join("ptys"));
        c.args(["--wait-at", "1", "tty"]);
        c
    };
    let (want, status) = through_terminal(program(), false, None);
    assert!(status.unwrap().success() && want.contains("via fd 3\nvia fd 4\n") && want.ends_with("result ok\n"), "uninterrupted: {want}");

    let image = dir.join("saved.ckpt");
    through_terminal(program(), false, Some(&image));
    let text = inspect(&image);
    for line in ["the caller's terminal: /dev/tty opened again, read-write\n", "the caller's terminal: its fd 0 opened again, write, nonblocking\n"] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    let (got, status) = through_terminal(run_restorer(&image), true, None);
    assert!(status.unwrap().success(), "restored: {got}");
    assert_eq!(got, want);

    // No controlling terminal: refused before anything is torn down,
    // fd 3 named.
    let out = on_terminal(run_restorer(&image), None).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("no-caller-terminal") && err.contains("fd 3: the caller's terminal, /dev/tty"), "{err}");
    // A controlling terminal, but fd 0 is /dev/null: fd 4 named.
    let (_master, slave) = pty();
    let mut cmd = run_restorer(&image);
    cmd.stdin(Stdio::null()).stdout(Stdio::from(slave.try_clone().unwrap())).stderr(Stdio::piped());
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        let ctty = slave.as_raw_fd();
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(ctty, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.contains("no-caller-terminal") && err.contains("fd 4: the caller's terminal on its fd 0, opened again"), "{err}");
}
