//! The shared policy's cases that once differed between the restorers,
//! through ckpt-restore: a process whose working directory was removed is
//! refused before teardown; private memory larger than this machine's is
//! restored (MAP_NORESERVE); a process with tens of thousands of mappings
//! is counted as the kernel counts them and restored. Needs root (ptrace).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use common::*;

/// Starts `cmd` with pipes on stdin and stdout.
fn spawn_piped(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn")
}

/// Sends the go line to `child` and returns the rest of its stdout (after
/// what `out` already consumed) and its status.
/// mapshape ARGS in `dir`, once it printed "ready" and waits for its go line.
fn ready(dir: &Path, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = spawn_piped(Command::new(programs().join("mapshape")).args(args).current_dir(dir));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n", "the program did not get ready");
    (child, out)
}

/// mapshape ARGS in `workdir`, dumped while it waits and killed, into
/// `dir`/saved.ckpt.
fn image_of(dir: &Path, workdir: &Path, args: &[&str]) -> PathBuf {
    let (mut child, _out) = ready(workdir, args);
    let image = dir.join("saved.ckpt");
    let out = Command::new(writer())
        .args(["dump", &child.id().to_string(), "-q", "--kill", "-o"])
        .arg(&image)
        .output()
        .unwrap();
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
    child.wait().unwrap();
    image
}

/// What an uninterrupted run prints after its go line.
fn uninterrupted(args: &[&str]) -> String {
    let (child, out) = ready(Path::new("."), args);
    let (rest, status) = go(child, out);
    assert!(status.success(), "{rest}");
    rest
}

/// The image restored by ckpt-restore, given its go line.
fn restored(image: &Path) -> (String, std::process::ExitStatus) {
    let mut child = spawn_piped(run_restorer(image).stderr(Stdio::inherit()));
    let out = BufReader::new(child.stdout.take().unwrap());
    go(child, out)
}

#[test]
fn forty_thousand_mappings_are_restored_not_refused() {
    let dir = scratch("maps");
    let args = ["maps", "40000"];
    let image = image_of(&dir, &dir, &args);
    let (out, status) = restored(&image);
    assert!(status.success(), "status {status:?}, stdout {out:?}");
    assert_eq!(out, uninterrupted(&args));
}

#[test]
fn private_memory_larger_than_this_machine_is_restored() {
    let dir = scratch("sparse");
    // 256 GiB: more than RAM and swap here, so only MAP_NORESERVE maps it.
    let args = ["sparse", "256"];
    let image = image_of(&dir, &dir, &args);
    let (out, status) = restored(&image);
    assert!(status.success(), "status {status:?}, stdout {out:?}");
    assert_eq!(out, uninterrupted(&args));
}

#[test]
fn a_removed_working_directory_is_refused_before_teardown() {
    let dir = scratch("cwd");
    let work = dir.join("work");
    std::fs::create_dir(&work).unwrap();
    let image = image_of(&dir, &work, &["maps", "4"]);
    std::fs::remove_dir(&work).unwrap();
    let out = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("(cwd-missing)") && stderr.contains(work.to_str().unwrap()), "{stderr}");
}

#[test]
fn a_setuid_or_setgid_image_is_refused_like_the_module_refuses_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("setuid");
    let image = image_of(&dir, &dir, &["maps", "4"]);
    // Setgid without group execute grants nothing (it marks mandatory
    // locking), so that image restores.
    for (mode, refused) in [(0o4755, true), (0o2755, true), (0o2745, false)] {
        std::fs::set_permissions(&image, std::fs::Permissions::from_mode(mode)).unwrap();
        if refused {
            let out = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(5), "mode {mode:o}: {stderr}");
            assert!(stderr.contains("(setuid-setgid-or-file-capabilities)"), "mode {mode:o}: {stderr}");
        } else {
            let (out, status) = restored(&image);
            assert!(status.success(), "mode {mode:o}: status {status:?}, stdout {out:?}");
            assert_eq!(out, uninterrupted(&["maps", "4"]));
        }
    }
}
