//! The kernel module compiles `src/v1/mod.rs` as a submodule of its own
//! `no_std` crate with the standalone rustc. This test does the same so the
//! constraint (core only, no `crate::` paths, no crate attributes, no
//! warnings) cannot silently break.

use std::path::PathBuf;
use std::process::Command;

const RUSTC: &str = "/usr/bin/rustc";

#[test]
fn v1_compiles_as_a_no_std_submodule() {
    test_support::skip_unless!(std::path::Path::new(RUSTC).exists(), "{RUSTC} (the kernel's rustc, Debian's rustc-web) is not installed");
    let v1 = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/v1/mod.rs");
    let dir = std::env::temp_dir().join(format!("image-format-kcompat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = dir.join("kroot.rs");
    // Private module, as in kmod/chkpt.rs: items and re-exports the module
    // does not use are fine (FORMAT.md asks kmod to allow these two lints
    // on its `mod` item); every other warning is an error here.
    let src = format!(
        "#![no_std]\n#[allow(dead_code, unused_imports)]\n#[path = {:?}]\nmod image_format;\npub fn major() -> u16 {{ image_format::VERSION_MAJOR }}\n",
        v1.to_str().unwrap()
    );
    std::fs::write(&root, src).unwrap();
    let out = Command::new(RUSTC)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "-C",
            "panic=abort",
            "-D",
            "warnings",
            "--out-dir",
        ])
        .arg(&dir)
        .arg(&root)
        .output()
        .unwrap();
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
            assert!(
                !code.contains("crate::"),
                "{}:{}: crate:: path",
                path.display(),
                n + 1
            );
            assert!(
                !code.contains("#!["),
                "{}:{}: crate attribute",
                path.display(),
                n + 1
            );
            assert!(
                !code.contains("extern crate"),
                "{}:{}: extern crate",
                path.display(),
                n + 1
            );
            assert!(
                !code.contains("unsafe"),
                "{}:{}: unsafe",
                path.display(),
                n + 1
            );
        }
    }
}
