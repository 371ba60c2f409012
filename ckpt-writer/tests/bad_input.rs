//! Every kind of bad input gets a clear message and its exit status, and
//! leaves the target running and untouched.

mod common;
mod held;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use held::{held, Gate};
use nix::sys::ptrace;
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

const TARGET: i32 = 3;
const OUTPUT: i32 = 5;
const TARGET_GONE: i32 = 6;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_fails(o: &std::process::Output, code: i32, needle: &str) {
    assert_eq!(o.status.code(), Some(code), "exit status; stderr: {}", stderr(o));
    assert!(stderr(o).contains(needle), "expected {needle:?} in: {}", stderr(o));
    assert!(stderr(o).starts_with("ckpt-writer: "), "one error line: {}", stderr(o));
}

/// A counter whose run must end exactly like an uninterrupted one (it
/// waited before its last step until now).
fn finishes_untouched((t, mut gate): (Target, Gate), want: &[String]) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", t.pid())).unwrap();
    assert!(status.contains("TracerPid:\t0"), "no tracer left: {status}");
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}

#[test]
fn pid_that_does_not_exist() {
    let max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap().trim().parse().unwrap();
    let pid = (2..max).rev().find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()).unwrap();
    let o = run_ckpt(&["dump", &pid.to_string(), "-o", "/tmp/never.ckpt"]);
    assert_fails(&o, TARGET, &format!("no such process: pid {pid} does not exist"));
    assert!(!std::path::Path::new("/tmp/never.ckpt").exists());
}

#[test]
fn bad_pid_syntax() {
    let o = run_ckpt(&["dump", "-5"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run_ckpt(&["dump", "abc"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("invalid value 'abc'"));
}

#[test]
fn zombie() {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_state(pid) != Some('Z') {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let o = run_ckpt(&["dump", &pid.to_string(), "-o", "/tmp/zombie.ckpt"]);
    assert_fails(&o, TARGET, &format!("pid {pid} is a zombie"));
    child.wait().unwrap();
}

#[test]
fn kernel_thread() {
    let kthread = procfs::process::all_processes()
        .unwrap()
        .filter_map(|p| p.ok())
        .find(|p| p.stat().map(|s| s.flags & 0x0020_0000 != 0).unwrap_or(false))
        .expect("a kernel thread");
    let o = run_ckpt(&["dump", &kthread.pid.to_string(), "-o", "/tmp/kthread.ckpt"]);
    assert_fails(&o, TARGET, "is a kernel thread");
}

#[test]
fn process_of_another_user() {
    let want = baseline("counter", &["300", "0"]);
    let t = held("counter", "299", &["300", "1000"]);
    let out = format!("/tmp/ckpt-perm-{}.ckpt", std::process::id());
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_ckpt-writer"))
        .args(["dump", &t.0.pid().to_string(), "-o", &out])
        .stdin(Stdio::null())
        .output()
        .expect("setpriv");
    assert_fails(&o, TARGET, &format!("not permitted to trace pid {}", t.0.pid()));
    assert!(!std::path::Path::new(&out).exists(), "no output file");
    finishes_untouched(t, &want);
}

#[test]
fn process_already_traced() {
    let want = baseline("counter", &["300", "0"]);
    let t = held("counter", "299", &["300", "1000"]);
    let p = Pid::from_raw(t.0.pid());
    // This test thread becomes the tracer (TracerPid shows its tid).
    ptrace::seize(p, ptrace::Options::empty()).unwrap();
    let tracer = nix::unistd::gettid();
    let o = run_ckpt(&["dump", &t.0.pid().to_string(), "-o", "/tmp/traced.ckpt"]);
    assert_fails(&o, TARGET, &format!("already being traced by pid {tracer}"));
    ptrace::interrupt(p).unwrap();
    waitpid(p, Some(WaitPidFlag::__WALL)).unwrap();
    ptrace::detach(p, None).unwrap();
    finishes_untouched(t, &want);
}

#[test]
fn unwritable_output_path() {
    let want = baseline("counter", &["300", "0"]);
    let t = held("counter", "299", &["300", "1000"]);
    let o = run_ckpt(&["dump", &t.0.pid().to_string(), "-o", "/nonexistent-dir/x.ckpt"]);
    assert_fails(&o, OUTPUT, "cannot write /nonexistent-dir/x.ckpt: No such file or directory");
    let dir = scratch("outdir");
    let o = run_ckpt(&["dump", &t.0.pid().to_string(), "-o", dir.to_str().unwrap()]);
    assert_fails(&o, OUTPUT, "is a directory");
    finishes_untouched(t, &want);
}

/// A tmpfs too small for the image: the dump fails with ENOSPC and leaves
/// no file behind.
#[test]
fn full_disk_leaves_no_partial_file() {
    let want = baseline("counter", &["300", "0"]);
    let dir = scratch("tinyfs");
    let st = Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"]).arg(&dir).status().unwrap();
    assert!(st.success(), "mounting a tiny tmpfs (needs root)");
    let t = held("counter", "299", &["300", "1000"]);
    let file = dir.join("saved.ckpt");
    let o = run_ckpt(&["dump", &t.0.pid().to_string(), "-o", file.to_str().unwrap()]);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    let _ = Command::new("umount").arg(&dir).status();
    assert_fails(&o, OUTPUT, "No space left on device");
    assert!(left.is_empty(), "partial files left: {left:?}");
    finishes_untouched(t, &want);
}

#[test]
fn full_stdout() {
    let want = baseline("counter", &["300", "0"]);
    let t = held("counter", "299", &["300", "1000"]);
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let o = ckpt().args(["dump", &t.0.pid().to_string(), "-o", "-"]).stdout(full).output().unwrap();
    assert_fails(&o, OUTPUT, "cannot write standard output: No space left on device");
    finishes_untouched(t, &want);
}

#[test]
fn stdout_streams_a_valid_image() {
    let (t, _gate) = held("counter", "299", &["300", "1000"]);
    let dir = scratch("stream");
    let file = dir.join("s.ckpt");
    let o = ckpt().args(["dump", &t.pid().to_string(), "-o", "-", "-q"]).stdout(std::fs::File::create(&file).unwrap()).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v = run_ckpt(&["verify", file.to_str().unwrap()]);
    assert!(v.status.success(), "{}", stderr(&v));
}

/// The target is killed while its pages are being written.
#[test]
fn target_exits_during_dump() {
    let t = Target::ready("bigmem", &["1024", "1000", "100000"]);
    let pid = t.pid();
    let dir = scratch("exits");
    let file = dir.join("big.ckpt");
    let dumper = ckpt().args(["dump", &pid.to_string(), "-o", file.to_str().unwrap()]).stderr(Stdio::piped()).spawn().unwrap();
    // Wait until the temporary file is being filled, then kill the target.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let growing = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains(".tmp-") && e.metadata().map(|m| m.len() > (8 << 20)).unwrap_or(false));
        if growing {
            break;
        }
        assert!(Instant::now() < deadline, "the dump never started writing pages");
        std::thread::sleep(Duration::from_millis(1));
    }
    nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    let o = dumper.wait_with_output().unwrap();
    assert_fails(&o, TARGET_GONE, &format!("pid {pid} exited during the dump"));
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "partial files left: {left:?}");
    let (_, _) = t.finish();
}

/// A python3 program that sets something up (`setup`), says "ready",
/// waits for a line and says "done": dumped with --kill, it is refused with
/// `why` and runs on, and no image is left.
fn refused_and_runs_on(name: &str, setup: &str, why: &str) {
    let python = std::path::Path::new("/usr/bin/python3");
    skip_unless!(python.exists(), "no {}", python.display());
    let dir = scratch(name);
    let script = format!("import ctypes, sys\n{setup}\nprint('ready', flush=True)\nsys.stdin.readline()\nprint('done', flush=True)\n");
    let mut child = Command::new(python).args(["-c", &script]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "ready\n", "{name}: the setup failed");
    let file = dir.join("x.ckpt");
    let o = run_ckpt(&["dump", &child.id().to_string(), "-o", file.to_str().unwrap(), "--kill"]);
    assert_fails(&o, 4, why);
    assert!(!file.exists());
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"go\n").unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "done\n", "the process runs on");
    assert!(child.wait().unwrap().success());
}

/// System V shared memory is refused at dump, by name (no restorer
/// restores it), so `--kill` never loses a process to an image nothing
/// can restore.
#[test]
fn system_v_shared_memory_is_refused_at_dump() {
    let setup = "libc = ctypes.CDLL(None, use_errno=True)\n\
        libc.shmat.restype = ctypes.c_void_p\n\
        i = libc.shmget(0, 4096, 0o1600)\n\
        assert i >= 0 and libc.shmat(i, None, 0) not in (None, 2**64 - 1), ctypes.get_errno()\n\
        libc.shmctl(i, 0, None)";
    refused_and_runs_on("sysv-shm", setup, "System V shared memory");
}

/// A process in a chroot is refused by name (restored in the caller's
/// root it would see the whole file system).
#[test]
fn a_chrooted_process_is_refused_at_dump() {
    skip_unless!(nix::unistd::geteuid().is_root(), "chroot needs root");
    refused_and_runs_on("chroot", "import os\nos.chroot('/tmp')", "runs in a chroot (/tmp)");
}

/// A POSIX message queue (its fd names a path in the mqueue file system,
/// which a reopen by path would look for on /) is refused by name.
#[test]
fn a_posix_message_queue_is_refused_at_dump() {
    let name = format!("/ckpt-test-{}", std::process::id());
    let setup = format!(
        "rt = ctypes.CDLL('librt.so.1', use_errno=True)\n\
        q = rt.mq_open(b'{name}', 0o102, 0o600, None)\n\
        assert q >= 0, ctypes.get_errno()\n\
        rt.mq_unlink(b'{name}')"
    );
    refused_and_runs_on("mqueue", &setup, "is a POSIX message queue");
}

#[test]
fn unsupported_fd_is_named() {
    // sleep holding a named FIFO on fd 6 whose path was removed (named
    // FIFOs are opened again by path: one without a path cannot be).
    let dir = scratch("unsupported");
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut child = Command::new("sh")
        .args(["-c", &format!("exec 6<>{0}; rm {0}; exec sleep 30", fifo.display())])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    // Wait for the exec of sleep.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|c| c.trim() != "sleep").unwrap_or(true) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let file = dir.join("u.ckpt");
    let o = run_ckpt(&["dump", &pid.to_string(), "-o", file.to_str().unwrap()]);
    assert_fails(&o, 4, "fd 6 is a FIFO");
    assert!(stderr(&o).contains("whose path was removed"), "{}", stderr(&o));
    assert!(!file.exists());
    let o = run_ckpt(&["dump", &pid.to_string(), "-o", file.to_str().unwrap(), "--allow-unsupported", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let img = inspect(&file);
    let fd6 = img["fds"].as_array().unwrap().iter().find(|f| f["fd"] == 6).unwrap().clone();
    assert_eq!(fd6["disposition"], "Closed");
    assert_runs_on(pid);
    child.kill().unwrap();
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(9));
}

/// An output that exists and is not a regular file is written to as a
/// stream, never replaced: a named pipe gets the whole image, and a device
/// node (a copy of /dev/full, made here) gets the writes, whose ENOSPC is
/// the error, and stays the device it was.
#[test]
fn fifo_and_device_outputs_are_streamed_into_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch("special-out");
    let fifo = dir.join("pipe");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let (t, _gate) = held("counter", "299", &["300", "1000"]);
    let o = run_ckpt(&["dump", &t.pid().to_string(), "-q", "-o", fifo.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let image = reader.join().unwrap();
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
    let file = dir.join("from-fifo.ckpt");
    std::fs::write(&file, &image).unwrap();
    let v = run_ckpt(&["verify", file.to_str().unwrap()]);
    assert!(v.status.success(), "the image read from the FIFO: {}", stderr(&v));

    let full = dir.join("full");
    let st = Command::new("mknod").arg(&full).args(["c", "1", "7"]).status().unwrap();
    assert!(st.success(), "mknod (needs root)");
    let o = run_ckpt(&["dump", &t.pid().to_string(), "-o", full.to_str().unwrap()]);
    assert_fails(&o, OUTPUT, "No space left on device");
    let ft = std::fs::metadata(&full).unwrap().file_type();
    assert!(ft.is_char_device(), "the device node was replaced");
}
