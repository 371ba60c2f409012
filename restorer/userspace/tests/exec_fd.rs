//! The image by fd: binfmt_misc's `O` flag opens the executed image for
//! the restorer (`AT_EXECFD`), which restores from that fd; the path only
//! names it. Shown by what a reopen by path could not do: an execute-only
//! image (mode 0111) restored by a user who cannot read it, and an image
//! whose path is made to name another image while the execve is opening
//! it. Run by hand (`ckpt-restore IMAGE`, no `AT_EXECFD`) the path is
//! opened, with the caller's permissions. Needs root; skips otherwise.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::sys::fanotify::{EventFFlags, Fanotify, FanotifyResponse, InitFlags, MarkFlags, MaskFlags, Response};

use common::*;

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
    std::fs::copy(programs().join("counter"), &prog).unwrap();
    // Not the test's own stderr: it may be a root-owned file the user
    // could not reopen (see restore.rs).
    let mut cmd = as_user(dir, prog.to_str().unwrap());
    cmd.args(["600", "2000"]).stderr(Stdio::null());
    let mut t = Target::spawn(cmd);
    t.wait_prefix("step 200 ");
    let image = dir.join("saved.ckpt");
    let before = dump_kill(t, &image);
    std::fs::set_permissions(&image, std::fs::Permissions::from_mode(0o111)).unwrap();
    assert_eq!(std::fs::metadata(&image).unwrap().uid(), 0);
    before
}

#[test]
fn execute_only_image_restored_by_a_user_through_binfmt_misc() {
    if !can_register() {
        return;
    }
    let _b = Binfmt::register();
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
    let mut restored = Target::spawn(cmd);
    restored.wait_prefix("step 400 ");
    // The kernel's would_dump: an image its runner cannot read makes a
    // process that is not dumpable, so its /proc files belong to root and
    // the user can neither ptrace (dump) it nor get a core of it.
    let pid = restored.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("\nUid:\t1000\t1000\t1000\t1000\n"), "{status}");
    assert_eq!(std::fs::metadata(format!("/proc/{pid}/status")).unwrap().uid(), 0, "/proc/{pid}/status of a non-dumpable process");
    let dump = as_user(&dir.0, writer().to_str().unwrap())
        .args(["dump", &pid.to_string(), "-q", "-o", "/dev/null"])
        .output()
        .unwrap();
    assert!(!dump.status.success(), "the user dumped a process restored from an image they cannot read");
    eprintln!("dump by the user: {}", String::from_utf8_lossy(&dump.stderr).trim());

    let (st, after) = restored.finish();
    assert!(st.success(), "restored counter ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want);
}

/// With stdin closed at the execve, the kernel installs the image at fd 0
/// and AT_EXECFD is 0, which getauxval also returns for "absent".
#[test]
fn execute_only_image_restored_with_stdin_closed() {
    if !can_register() {
        return;
    }
    let _b = Binfmt::register();
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
    let Some(_b) = can_register().then(Binfmt::register) else { return };
    let dir = scratch("swapped");
    let want = baseline("counter", &["600", "0"]);
    let image = dir.join("saved.ckpt");
    let other = dir.join("other.ckpt");
    let mut b = Target::program("counter", &["300", "2000"]);
    b.wait_prefix("step 100 ");
    dump_kill(b, &other);
    let mut t = Target::program("counter", &["600", "2000"]);
    t.wait_prefix("step 200 ");
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
