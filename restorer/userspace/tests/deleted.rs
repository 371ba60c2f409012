//! Files deleted while open through ckpt-restore (test-programs/deleted.c
//! checks them itself: contents, shared offset, access modes, O_APPEND,
//! still unlinked), compared with an uninterrupted run; a dump that
//! leaves the program running leaves its files as they were; a memfd and
//! a deleted file also mapped MAP_SHARED come back as one object with
//! their mappings (test-programs/fdmaps.c); a deleted file mapped
//! privately is refused, naming the fd. Needs root.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

#[test]
fn deleted_files_come_back_unlinked_with_contents_offset_and_flags() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("deleted");
    let d = dir.to_str().unwrap();
    let (child, out, _) = held_at("deleted", 1, &[d]);
    let want = go_ok(child, out);
    assert!(want.ends_with("result ok\n"), "{want}");

    // A dump that leaves it running changes nothing.
    let (child, out, _) = held_at("deleted", 1, &[d]);
    let image = dir.join("saved.ckpt");
    let res = Command::new(writer()).args(["dump", &child.id().to_string(), "-q", "-o"]).arg(&image).output().unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    assert_eq!(go_ok(child, out), want);

    let (mut child, _out, _) = held_at("deleted", 1, &[d]);
    dump_child_kill(&mut child, &image);
    let text = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for line in [format!("deleted file {d}/data (20000 bytes, mode 640), flags 0o100002, offset 1234"), format!("deleted file {d}/log (6 bytes, mode 600), flags 0o102001, offset 6")] {
        assert!(text.contains(&line), "no {line:?} in:\n{text}");
    }
    let mut restored = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let out = std::io::BufReader::new(restored.stdout.take().unwrap());
    let got = go_ok(restored, out);
    assert_eq!(got, want);
    // Nothing was left in the directory: the files stay unlinked.
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).filter(|n| n != "saved.ckpt").collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_deleted_file_that_is_also_mapped_privately_is_refused() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let python = std::path::Path::new("/usr/bin/python3");
    skip_unless!(python.exists(), "no {}", python.display());
    let dir = scratch("deleted-mapped");
    let script = "import mmap, os, sys\nf = open(sys.argv[1], 'w+b')\nf.write(b'x' * 4096)\nf.flush()\nm = mmap.mmap(f.fileno(), 4096, flags=mmap.MAP_PRIVATE)\nos.unlink(sys.argv[1])\nprint(f.fileno(), flush=True)\nsys.stdin.readline()\n";
    let mut child = Command::new(python).args(["-c", script]).arg(dir.join("f")).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut fd = String::new();
    std::io::BufRead::read_line(&mut out, &mut fd).unwrap();
    let res = Command::new(writer()).args(["dump", &child.id().to_string(), "-o"]).arg(dir.join("saved.ckpt")).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success(), "{err}");
    assert!(err.contains(&format!("fd {} is a deleted file", fd.trim())) && err.contains("also maps privately"), "{err}");
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_mapped_memfd_and_deleted_file_stay_one_object_with_their_mappings() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("fdmaps");
    let d = dir.to_str().unwrap();
    let (child, out, _) = held_at("fdmaps", 1, &[d]);
    let want = go_ok(child, out);
    assert!(want.ends_with("result ok\n"), "{want}");

    let image = dir.join("saved.ckpt");
    let (mut child, _out, _) = held_at("fdmaps", 1, &[d]);
    dump_child_kill(&mut child, &image);
    // The mappings name their descriptions and store no pages of their own.
    let js = Command::new(writer()).args(["inspect", "--json"]).arg(&image).output().unwrap();
    let js = String::from_utf8_lossy(&js.stdout);
    assert_eq!(js.matches("\"maps_file\": ").count() - js.matches("\"maps_file\": null").count(), 2, "{js}");
    let mut restored = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let out = std::io::BufReader::new(restored.stdout.take().unwrap());
    let got = go_ok(restored, out);
    assert_eq!(got, want);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).filter(|n| n != "saved.ckpt").collect();
    assert!(left.is_empty(), "{left:?}");
}
