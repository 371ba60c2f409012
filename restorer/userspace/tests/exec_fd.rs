//! The image by fd: binfmt_misc's `O` flag opens the executed image for
//! the restorer (`AT_EXECFD`), which restores from that fd; the path only
//! names it. Shown by what a reopen by path could not do: an execute-only
//! image (mode 0111) restored by a user who cannot read it, and an image
//! whose path is made to name another image while the execve is opening
//! it. Run by hand (`ckpt-restore IMAGE`, no `AT_EXECFD`) the path is
//! opened, with the caller's permissions. Needs root; skips otherwise.

mod common;
mod held;

use std::io::{BufRead, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::fanotify::{EventFFlags, Fanotify, FanotifyResponse, InitFlags, MarkFlags, MaskFlags, Response};

use common::*;
use held::{held, held_command};

/// A scratch directory under /tmp that uid 1000 can reach, removed on drop.
struct UserDir(PathBuf);

impl UserDir {
    fn new(name: &str) -> UserDir {
        let dir = std::env::temp_dir().join(format!("ckpt-restore-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        UserDir(dir)
    }
}

impl Drop for UserDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `setpriv` as uid 1000 without capabilities, in `dir`.
fn as_user(dir: &Path, prog: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid", "1000", "--regid", "1000", "--clear-groups", "--inh-caps=-all", prog]).current_dir(dir);
    c
}

/// A counter of uid 1000 dumped at step 200 into DIR/saved.ckpt (owned by
/// root, as ckpt-writer runs as root), then made execute-only: the user
/// may run it but not read it. Returns the output before the dump.
fn execute_only_image(dir: &Path) -> Vec<String> {
    let prog = dir.join("counter");
    copy_program(&programs().join("counter"), &prog);
    // Not the test's own stderr: it may be a root-owned file the user
    // could not reopen (see restore.rs).
    let mut cmd = as_user(dir, prog.to_str().unwrap());
    cmd.args(["--wait-at", "200", "600", "2000"]).stderr(Stdio::null());
    let (t, _gate) = held_command(cmd, "200");
    let image = dir.join("saved.ckpt");
    let before = dump_kill(t, &image);
    std::fs::set_permissions(&image, std::fs::Permissions::from_mode(0o111)).unwrap();
    assert_eq!(std::fs::metadata(&image).unwrap().uid(), 0);
    before
}

#[test]
fn execute_only_image_restored_by_a_user_through_binfmt_misc() {
    let _b = skip_unless!(binfmt_entry());
    let dir = UserDir::new("exec-only");
    let want = baseline("counter", &["600", "0"]);
    let mut all = execute_only_image(&dir.0);

    // By hand there is no AT_EXECFD: the path is opened as the user.
    let out = as_user(&dir.0, restorer().to_str().unwrap()).arg("./saved.ckpt").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.starts_with("ckpt-restore: ./saved.ckpt: ") && stderr.contains("(image-permission)"), "{stderr}");

    // Through sh: setpriv itself still holds root's capabilities when it
    // executes, and with them the image would be readable.
    let mut cmd = as_user(&dir.0, "sh");
    cmd.args(["-c", "exec ./saved.ckpt"]);
    let restored = Target::spawn(cmd);
    let (st, after) = restored.finish();
    assert!(st.success(), "restored counter ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want);
}

/// Waits until process `pid` is blocked in read(0, buf, 1): the restored
/// bench-target waiting for its byte, past every step of the restore.
fn wait_in_read_of_stdin(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sc = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        let f: Vec<&str> = sc.split_whitespace().collect();
        if f.len() > 3 && f[0] == "0" && f[1] == "0x0" && f[3] == "0x1" {
            return;
        }
        assert!(Instant::now() < deadline, "process {pid} never waited in read(0): {sc:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The kernel's would_dump: a process whose executable its runner cannot
/// read is not dumpable, for the image as for any program. So a process
/// restored from an execute-only image has root's /proc files, and its
/// user can neither ptrace it (nor dump it) nor get a core of it. Checked
/// while it waits for a byte on stdin (bench-target), restored.
#[test]
fn a_process_restored_from_an_execute_only_image_is_not_dumpable() {
    let _b = skip_unless!(binfmt_entry());
    let dir = UserDir::new("exec-only-dumpable");
    let prog = dir.0.join("bench-target");
    copy_program(&programs().join("bench-target-1m"), &prog);
    let mut cmd = as_user(&dir.0, prog.to_str().unwrap());
    cmd.arg("prepare").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut target = cmd.spawn().unwrap();
    let mut ready = String::new();
    std::io::BufReader::new(target.stderr.take().unwrap()).read_line(&mut ready).unwrap();
    assert_eq!(ready, "ready\n");
    let image = dir.0.join("saved.ckpt");
    // --allow-unsupported: bench-target does not close what the test
    // harness leaks into it (cargo's jobserver pipe); the image has it closed.
    let out = Command::new(writer())
        .args(["dump", &target.id().to_string(), "-q", "--kill", "--allow-unsupported", "-o"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    let _ = target.wait();
    std::fs::set_permissions(&image, std::fs::Permissions::from_mode(0o111)).unwrap();

    // Through sh, without setpriv's capabilities (see above).
    let mut cmd = as_user(&dir.0, "sh");
    cmd.args(["-c", "exec ./saved.ckpt"]).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut restored = cmd.spawn().unwrap();
    let pid = restored.id() as i32;
    wait_in_read_of_stdin(pid);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("\nUid:\t1000\t1000\t1000\t1000\n"), "{status}");
    assert_eq!(std::fs::metadata(format!("/proc/{pid}/status")).unwrap().uid(), 0, "/proc/{pid}/status of a non-dumpable process");
    let user_image = std::env::temp_dir().join(format!("ckpt-restore-userdump-{}.ckpt", std::process::id()));
    let dump = as_user(&dir.0, writer().to_str().unwrap()).args(["dump", &pid.to_string(), "-q", "-o"]).arg(&user_image).output().unwrap();
    let why = String::from_utf8_lossy(&dump.stderr);
    eprintln!("dump by the user: {}", why.trim());
    assert!(!dump.status.success() && !user_image.exists(), "the user dumped a process restored from an image they cannot read");
    assert!(why.contains("not permitted to trace"), "{why}");

    restored.stdin.take().unwrap().write_all(b"x").unwrap();
    let done = restored.wait_with_output().unwrap();
    assert!(done.status.success(), "{:?}", done.status);
    assert!(String::from_utf8_lossy(&done.stdout).trim().parse::<u64>().is_ok(), "{:?}", done.stdout);
}

/// With stdin closed at the execve, the kernel installs the image at fd 0
/// and AT_EXECFD is 0, which getauxval also returns for "absent".
#[test]
fn execute_only_image_restored_with_stdin_closed() {
    let _b = skip_unless!(binfmt_entry());
    let dir = UserDir::new("exec-only-fd0");
    let want = baseline("counter", &["600", "0"]);
    let mut all = execute_only_image(&dir.0);
    let mut cmd = as_user(&dir.0, "sh");
    cmd.args(["-c", "exec ./saved.ckpt <&-"]);
    let (st, after) = Target::spawn(cmd).finish();
    assert!(st.success(), "restored counter ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want);
}

/// The restorer restores the file the execve opened even when the path
/// names another image by the time the restorer runs: the test holds the
/// execve's open of image A (a fanotify permission event), renames image B
/// over A's path, then lets the open go on.
#[test]
fn the_image_executed_is_the_image_restored_though_its_path_changes() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("swapped");
    let want = baseline("counter", &["600", "0"]);
    let image = dir.join("saved.ckpt");
    let other = dir.join("other.ckpt");
    let (b, _gate) = held("counter", "100", &["300", "2000"]);
    dump_kill(b, &other);
    let (t, _gate) = held("counter", "200", &["600", "2000"]);
    let mut all = dump_kill(t, &image);

    let other_bytes = std::fs::read(&other).unwrap();
    let fan = Fanotify::init(InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC, EventFFlags::O_RDONLY | EventFFlags::O_CLOEXEC)
        .expect("fanotify_init (needs CONFIG_FANOTIFY_ACCESS_PERMISSIONS)");
    fan.mark(MarkFlags::FAN_MARK_ADD, MaskFlags::FAN_OPEN_EXEC_PERM, nix::fcntl::AT_FDCWD, Some(&image)).unwrap();
    // The answer comes from another thread: spawn() returns only once the
    // execve has got past the open it holds.
    let (tx, rx) = std::sync::mpsc::channel();
    let (from, to) = (other.clone(), image.clone());
    std::thread::spawn(move || {
        let events = fan.read_events().unwrap();
        std::fs::rename(&from, &to).unwrap();
        tx.send(events.len()).unwrap();
        for ev in &events {
            let fd = ev.fd().expect("a permission event carries the file");
            fan.write_response(FanotifyResponse::new(fd, Response::FAN_ALLOW)).unwrap();
        }
    });
    let restored = Target::spawn(exec_image(&image));
    assert!(rx.try_recv().is_ok_and(|n| n > 0), "the execve's open was not held: nothing was swapped");
    assert!(std::fs::read(&image).unwrap() == other_bytes, "the path names the other image now");
    let (st, after) = restored.finish();
    assert!(st.success(), "restored counter ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want, "the restored output is not the executed image's");
}
