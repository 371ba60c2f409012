//! Where the host tests find the repository, their scratch space and the
//! test programs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository's root.
pub fn workspace() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("test-support sits in the workspace").to_path_buf())
}

/// Cargo's scratch directory for tests, `<target dir>/tmp` (what
/// CARGO_TARGET_TMPDIR names in an integration test; a library does not get
/// that variable, so it is found from the running test binary,
/// `<target dir>/<profile>/deps/NAME`).
pub fn tmp() -> &'static Path {
    static TMP: OnceLock<PathBuf> = OnceLock::new();
    TMP.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        let target = exe
            .ancestors()
            .find(|d| d.file_name().is_some_and(|n| n == "deps"))
            .and_then(|deps| deps.parent()?.parent())
            .unwrap_or_else(|| panic!("{} is not a test binary in a cargo target directory", exe.display()));
        let dir = target.join("tmp");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        dir
    })
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = tmp().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("creating {}: {e}", d.display()));
    d
}

/// The directory of the built test programs: test-programs/ (also run in
/// the guest) and test-support/progs/ (host tests only), built once per
/// test binary (make: nothing to do when they are up to date).
pub fn programs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = tmp().join("test-programs");
        for src in [workspace().join("test-programs"), workspace().join("test-support/progs")] {
            let st = Command::new("make")
                .args(["-s", "-C"])
                .arg(&src)
                .arg(format!("OUT={}", out.display()))
                .status()
                .expect("running make for the test programs");
            assert!(st.success(), "building {} failed", src.display());
        }
        out
    })
}

/// Test program `name`, built.
pub fn program(name: &str) -> PathBuf {
    programs().join(name)
}

/// Copies the program `from` to `to` with cp, so that no fd of this test
/// process ever writes it: a child another test thread forks meanwhile
/// would hold such an fd until it execs, and executing the copy would then
/// fail with ETXTBSY (`std::fs::copy` has that race).
pub fn copy_program(from: &Path, to: &Path) {
    let out = std::process::Command::new("cp").arg(from).arg(to).output().unwrap_or_else(|e| panic!("running cp: {e}"));
    assert!(out.status.success(), "cp {} {}: {}", from.display(), to.display(), String::from_utf8_lossy(&out.stderr));
}
