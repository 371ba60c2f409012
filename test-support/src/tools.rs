//! The tools as they are installed: release builds of ckpt-writer and of
//! ckpt-restore linked statically (as `make restorer` links it, so that it
//! runs as binfmt_misc's interpreter in any root file system).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::paths::{tmp, workspace};

/// (ckpt-writer, ckpt-restore), built once per test binary in a target
/// directory of their own: the outer `cargo test` holds the lock on its own.
fn tools() -> &'static (PathBuf, PathBuf) {
    static T: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tmp().join("tools");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let run = |args: &[&str]| {
            let st = Command::new(&cargo)
                .args(args)
                .current_dir(workspace())
                .env("CARGO_TARGET_DIR", &dir)
                .env_remove("RUSTFLAGS")
                .status()
                .expect("running cargo");
            assert!(st.success(), "cargo {args:?} failed");
        };
        run(&["build", "-q", "--release", "-p", "ckpt-writer"]);
        run(&["rustc", "-q", "--release", "-p", "ckpt-restore", "--bin", "ckpt-restore", "--", "-C", "target-feature=+crt-static"]);
        let restorer = dir.join("release/ckpt-restore");
        let file = Command::new("file").arg(&restorer).output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        if let Ok(f) = file {
            assert!(f.contains("static"), "ckpt-restore is not statically linked: {f}");
        }
        (dir.join("release/ckpt-writer"), restorer)
    })
}

/// The release ckpt-writer.
pub fn writer() -> &'static Path {
    &tools().0
}

/// The statically linked release ckpt-restore.
pub fn restorer() -> &'static Path {
    &tools().1
}
