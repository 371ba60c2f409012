//! Builds the restorer stub (restorer/stub) into OUT_DIR so that main.rs
//! can embed it with include_bytes!: the same blob the kernel module embeds.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let stub = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR")).join("../stub");
    for f in ["Makefile", "stub.c", "fds.c", "signals.c", "signals.h", "locks.c", "locks.h", "sockets.c", "deleted.c", "inotify.c", "tree.c", "tcp_repair.c", "fifo.c", "pty.c", "deferred.c", "advice.c", "creds.c", "sched.c", "seccomp.c", "syscall.h", "entry.S", "plan.h", "stub.ld"] {
        println!("cargo:rerun-if-changed={}", stub.join(f).display());
    }
    let status = Command::new("make")
        .args(["-s", "-C"])
        .arg(&stub)
        .arg(format!("OUT={}", out.display()))
        .arg(out.join("stub.bin"))
        .status()
        .expect("running make for the restorer stub");
    assert!(status.success(), "building the restorer stub failed");
}
