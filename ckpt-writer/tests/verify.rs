//! `verify` accepts good images and names what is wrong with bad ones.

mod common;
mod held;

use common::*;
use held::held;

const BAD_IMAGE: i32 = 7;

fn flip(file: &std::path::Path, offset: u64) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[offset as usize] ^= 0x40;
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn verify_good_and_corrupted_images() {
    let (t, _gate) = held("counter", "299", &["300", "1000"]);
    let dir = scratch("verify");
    let good = dir.join("good.ckpt");
    dump(t.pid(), &good, &[]);
    let o = run_ckpt(&["verify", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("checksums match"));

    let bytes = std::fs::read(&good).unwrap();
    let header = image_format::Header::parse(&bytes).unwrap();
    assert!(header.pages_len > 0);

    // A flipped byte in page data: metadata is fine (inspect works), the
    // page checksum is not.
    let page = dir.join("page.ckpt");
    std::fs::copy(&good, &page).unwrap();
    flip(&page, header.pages_offset + header.pages_len / 2);
    let o = run_ckpt(&["inspect", page.to_str().unwrap()]);
    assert!(o.status.success(), "inspect reads metadata only");
    let o = run_ckpt(&["verify", page.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(BAD_IMAGE));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("invalid image: page-checksum"), "{err}");

    // A flipped metadata byte fails already in inspect.
    let meta = dir.join("meta.ckpt");
    std::fs::copy(&good, &meta).unwrap();
    flip(&meta, header.metadata_offset + 20);
    for cmd in ["inspect", "verify"] {
        let o = run_ckpt(&[cmd, meta.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(BAD_IMAGE), "{cmd}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("checksum"), "{cmd}: {}", String::from_utf8_lossy(&o.stderr));
    }

    // A truncated image.
    let short = dir.join("short.ckpt");
    std::fs::write(&short, &bytes[..bytes.len() - 100]).unwrap();
    let o = run_ckpt(&["verify", short.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(BAD_IMAGE));

    // Not an image at all.
    let o = run_ckpt(&["verify", "/etc/hostname"]);
    assert_eq!(o.status.code(), Some(BAD_IMAGE), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn image_is_executable_and_atomic() {
    use std::os::unix::fs::PermissionsExt;
    let (t, _gate) = held("counter", "299", &["300", "1000"]);
    let dir = scratch("mode");
    let file = dir.join("saved.ckpt");
    dump(t.pid(), &file, &[]);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
}

#[test]
fn kill_after_dump() {
    let t = Target::ready("counter", &["100000", "1000"]);
    let dir = scratch("kill");
    let file = dir.join("k.ckpt");
    dump(t.pid(), &file, &["--kill"]);
    let (st, _) = t.finish();
    assert!(!st.success(), "the target was killed");
    let o = run_ckpt(&["verify", file.to_str().unwrap()]);
    assert!(o.status.success(), "the image was complete before the kill");
}
