//! `ckpt-writer binfmt-misc register|unregister|status`: the entry it
//! writes (image magic at offset 0, flags O and F), and its refusals.

mod common;

use std::process::Command;

use common::*;

fn writer_cmd(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(writer()).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn register_status_twice_unregister_and_non_root() {
    let b = skip_unless!(binfmt_entry());
    let name = b.name.as_str();
    let entry = std::fs::read_to_string(format!("/proc/sys/fs/binfmt_misc/{name}")).unwrap();
    assert!(entry.contains("flags: OF\n") && !entry.contains('C'), "{entry}");
    assert!(entry.contains("offset 0\nmagic 89434b500d0a1a0a"), "{entry}");
    assert!(entry.contains(&format!("interpreter {}", restorer().display())), "{entry}");

    let (code, stdout, _) = writer_cmd(&["binfmt-misc", "status", "--name", name]);
    assert_eq!(code, 0);
    assert!(stdout.contains(&format!("entry {name}: registered")) && stdout.contains("flags: OF"), "{stdout}");

    let restorer = restorer().to_str().unwrap();
    let (code, _, stderr) = writer_cmd(&["binfmt-misc", "register", "--name", name, "--restorer", restorer]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already registered"), "{stderr}");

    let (code, _, stderr) = writer_cmd(&["binfmt-misc", "register", "--name", "x", "--restorer", "relative/ckpt-restore"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("absolute"), "{stderr}");

    let out = Command::new("setpriv")
        .args(["--reuid", "1000", "--regid", "1000", "--clear-groups"])
        .arg(writer())
        .args(["binfmt-misc", "unregister", "--name", name])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs root"));

    let (code, _, _) = writer_cmd(&["binfmt-misc", "unregister", "--name", name]);
    assert_eq!(code, 0);
    let (code, stdout, _) = writer_cmd(&["binfmt-misc", "status", "--name", name]);
    assert_eq!(code, 0);
    assert!(stdout.contains("not registered"), "{stdout}");
    let (code, _, stderr) = writer_cmd(&["binfmt-misc", "unregister", "--name", name]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not registered"), "{stderr}");
}
