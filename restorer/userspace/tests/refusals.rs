//! Images the restorer refuses, each before it touches its own process:
//! the caller's shell goes on and sees the exit status (README.md), and
//! stderr names the reason. Needs root (ptrace, binfmt_misc, setpriv).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Runs `./IMAGE` from a shell that reports afterwards, optionally as
/// uid/gid 1000 (setpriv). Returns (the status the shell saw, stderr).
fn run_in_shell(image: &Path, as_user: bool) -> (i32, String) {
    let script = format!("'./{}'; echo \"after $?\"", image.file_name().unwrap().to_str().unwrap());
    let mut cmd = if as_user {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", "1000", "--regid", "1000", "--clear-groups", "sh", "-c", &script]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", &script]);
        c
    };
    let out = cmd.current_dir(image.parent().unwrap()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let after = stdout.lines().find_map(|l| l.strip_prefix("after ")).unwrap_or_else(|| panic!("the shell did not go on: {stdout:?}"));
    (after.parse().unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn expect(image: &Path, as_user: bool, status: i32, reason: &str) {
    let (got, stderr) = run_in_shell(image, as_user);
    eprintln!("{}: status {got}: {}", image.display(), stderr.trim());
    assert_eq!(got, status, "exit status; stderr: {stderr}");
    assert!(stderr.contains(reason) && stderr.starts_with("ckpt-restore: "), "want {reason:?} in {stderr:?}");
}

/// A counter's image (dumped at step 100, then killed) in `dir`.
fn counter_image(dir: &Path, prog: &Path) -> PathBuf {
    let mut cmd = Command::new(prog);
    cmd.args(["100000", "2000"]).current_dir(dir);
    let mut t = Target::spawn(cmd);
    t.wait_prefix("step 100 ");
    let image = dir.join("saved.ckpt");
    dump_kill(t, &image);
    image
}

fn copy_with(src: &Path, dst: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(src).unwrap();
    edit(&mut bytes);
    std::fs::write(dst, bytes).unwrap();
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn corrupt_and_truncated_images() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("corrupt");
    let image = counter_image(&dir, &programs().join("counter"));
    let corrupt = dir.join("corrupt.ckpt");
    copy_with(&image, &corrupt, |b| b[300] ^= 0x40); // inside the metadata
    expect(&corrupt, false, 4, "checksum");
    let truncated = dir.join("truncated.ckpt");
    copy_with(&image, &truncated, |b| b.truncate(b.len() - 100));
    expect(&truncated, false, 4, "truncated");
    // Still only the magic: binfmt_misc runs the restorer, which refuses.
    let stub = dir.join("magic.ckpt");
    copy_with(&image, &stub, |b| b.truncate(8));
    expect(&stub, false, 4, "truncated");
}

#[test]
fn missing_and_changed_mapped_file() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("mapped");
    let prog = dir.join("counter-copy");
    copy_program(&programs().join("counter-dynamic"), &prog);
    let image = counter_image(&dir, &prog);
    let saved = std::fs::read(&prog).unwrap();
    // Changed: same path, other contents (size and mtime differ).
    std::fs::remove_file(&prog).unwrap();
    let mut changed = saved.clone();
    changed.extend_from_slice(b"changed");
    std::fs::write(&prog, &changed).unwrap();
    expect(&image, false, 6, "mapped-file-changed");
    std::fs::remove_file(&prog).unwrap();
    expect(&image, false, 6, "mapped-file-missing");
}

#[test]
fn root_only_file_restored_by_a_user() {
    let _b = skip_unless!(binfmt_entry());
    // Under /tmp so that uid 1000 can reach the image and the cwd.
    let dir = std::env::temp_dir().join(format!("ckpt-restore-rootonly-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let secret = dir.join("secret");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o700)).unwrap();
    // `files` keeps files in `secret` open; its binary must be readable too.
    let prog = dir.join("files");
    copy_program(&programs().join("files"), &prog);
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(&prog);
    cmd.args([secret.to_str().unwrap(), "100000", "2000"]).current_dir(&dir);
    let mut t = Target::spawn(cmd);
    t.wait_prefix("step 100");
    let image = dir.join("saved.ckpt");
    dump_kill(t, &image);
    expect(&image, true, 7, "permission denied");
    let (_, stderr) = run_in_shell(&image, true);
    assert!(stderr.contains("fd-file-permission"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn no_image_argument_and_missing_image() {
    let out = Command::new(restorer()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(restorer()).arg("/nonexistent/saved.ckpt").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("image-missing"));
}

#[test]
fn vdso_that_differs_from_this_kernels() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("vdso");
    let image = counter_image(&dir, &programs().join("counter"));
    let bytes = std::fs::read(&image).unwrap();
    let parsed = image_format::Image::parse_bytes(&bytes).unwrap();
    let vdso = parsed.regions().find(|r| r.kind == image_format::RegionKind::Vdso).expect("the image has a vdso");
    let run = parsed.page_runs(&vdso).next().expect("its pages are stored");
    let at = run.file_offset as usize + 100;
    // Page data is not covered by what a restorer validates (pages are
    // mapped lazily), so only the comparison with the live vdso sees it.
    let other = dir.join("other-vdso.ckpt");
    copy_with(&image, &other, |b| b[at] ^= 0xff);
    expect(&other, false, 5, "vdso-differs-from-this-kernel");
}

#[test]
fn memory_beyond_the_callers_rlimit_as() {
    let dir = scratch("rlimit-as");
    let mut cmd = Command::new(programs().join("bigmem"));
    cmd.args(["64", "100000", "50000"]).current_dir(&dir);
    let mut t = Target::spawn(cmd);
    t.wait_prefix("step 1");
    let image = dir.join("saved.ckpt");
    dump_kill(t, &image);
    let script = format!("ulimit -v 40000; '{}' '{}'; echo \"after $?\"", restorer().display(), image.display());
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("after 5"), "{stdout} {stderr}");
    assert!(stderr.contains("exceeds-rlimit-as"), "{stderr}");
}
