//! The kernel module compiles `src/v1/mod.rs` as a submodule of its own
//! `no_std` crate with the kernel's rustc, against a zerocopy it builds the
//! same way (kbuild/zerocopy.mk). This test does the same so the constraint
//! (core only, no `crate::` paths, no crate attributes, no warnings) cannot
//! silently break.

use std::path::{Path, PathBuf};
use std::process::Command;

const RUSTC: &str = "/usr/bin/rustc";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rustc flags that give a crate zerocopy built by the kernel's rustc
/// for the host, with its derive (kbuild/zerocopy-host.sh).
fn zerocopy_flags() -> Vec<String> {
    let dir = root().join("build/zerocopy");
    let mut host = Command::new("bash");
    host.arg(root().join("image-format/kbuild/zerocopy-host.sh"))
        .arg(&dir)
        .arg("--host-lib")
        .env("RUSTC", RUSTC);
    if let Some(cargo) = option_env!("CARGO") {
        host.env("CARGO", cargo);
    }
    run(&mut host);
    let flags = std::fs::read_to_string(dir.join("host.flags")).unwrap();
    flags.split_whitespace().map(String::from).collect()
}

#[test]
fn v1_compiles_as_a_no_std_submodule() {
    test_support::skip_unless!(Path::new(RUSTC).exists(), "{RUSTC} (the kernel's rustc, Debian's rustc-web) is not installed");
    let zerocopy = zerocopy_flags();
    let v1 = root().join("image-format/src/v1/mod.rs");
    let dir = std::env::temp_dir().join(format!("image-format-kcompat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let krate = dir.join("kroot.rs");
    // Private module, as in kmod/chkpt.rs: items and re-exports the module
    // does not use are fine (FORMAT.md asks kmod to allow these two lints
    // on its `mod` item); every other warning is an error here.
    let src = format!(
        "#![no_std]\n#[allow(dead_code, unused_imports)]\n#[path = {:?}]\nmod image_format;\npub fn major() -> u16 {{ image_format::VERSION_MAJOR }}\n",
        v1.to_str().unwrap()
    );
    std::fs::write(&krate, src).unwrap();
    let mut rustc = Command::new(RUSTC);
    rustc
        .args(["--edition", "2021", "--crate-type", "lib", "-C", "panic=abort", "-D", "warnings"])
        .args(&zerocopy)
        .arg("--out-dir")
        .arg(&dir)
        .arg(&krate);
    let out = rustc.output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "kernel-style build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn v1_has_no_crate_paths_or_crate_attributes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/v1");
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            for bad in ["crate::", "#![", "extern crate", "unsafe"] {
                assert!(!code.contains(bad), "{}:{}: {bad}", path.display(), n + 1);
            }
        }
    }
}

/// The module allows `non_ascii_idents` for its whole crate, because
/// zerocopy-derive generates such identifiers (kbuild/zerocopy.mk); this
/// keeps the rule the kernel's lint enforces for the sources themselves.
#[test]
fn module_sources_are_ascii() {
    let dirs = [root().join("image-format/src/v1"), root().join("kmod"), root().join("restorer/plan/src")];
    let mut checked = 0;
    for dir in dirs {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap();
                    assert!(code.is_ascii(), "{}:{}: non-ASCII outside a comment", path.display(), n + 1);
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "only {checked} source files found");
}
