//! Dumps of a process that a restorer produced: the stub's final page is
//! left out, and memory mapped from a checkpoint image is stored whole as
//! anonymous memory (src/restored.rs).

mod common;
mod held;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use held::held;

const PAGE: u64 = 4096;

/// Builds the restorer stub; returns stub.bin and the final page's
/// signature as entry.S lays it out (offsets from stub.syms).
fn stub() -> (PathBuf, Vec<u8>) {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stub");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../restorer/stub");
    let bin = out.join("stub.bin");
    let st = Command::new("make").arg("-s").arg("-C").arg(&src).arg(format!("OUT={}", out.display())).arg(&bin).status().unwrap();
    assert!(st.success(), "building the stub failed");
    let syms = std::fs::read_to_string(out.join("stub.syms")).unwrap();
    let sym = |name: &str| {
        let v = syms.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' '))).unwrap();
        u64::from_str_radix(v.trim(), 16).unwrap() as usize
    };
    let blob = std::fs::read(&bin).unwrap();
    let (page, sig) = (sym("chkpt_final_page"), sym("chkpt_final_signature"));
    assert_eq!(page, blob.len() - PAGE as usize, "the final page is the blob's last page");
    let end = blob[sig..].iter().position(|&b| b == 0).unwrap();
    (bin, blob[sig..=sig + end].to_vec())
}

fn hex_addr(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

fn region_at(img: &serde_json::Value, addr: u64) -> Option<&serde_json::Value> {
    img["regions"].as_array().unwrap().iter().find(|r| r["start"].as_u64().unwrap() <= addr && addr < r["end"].as_u64().unwrap())
}

#[test]
fn final_page_left_out() {
    let (bin, signature) = stub();
    assert!(signature.starts_with(b"binfmt_chkpt restorer final page"), "{:?}", String::from_utf8_lossy(&signature));
    let bin = bin.to_str().unwrap();
    let want = baseline("finalpage", &[bin, "300", "0"]);
    let (t, mut gate) = held("finalpage", "300", &[bin, "300", "1000"]);
    let pid = t.pid();
    let (final_page, plain, writable) = (hex_addr(&t.value("final")), hex_addr(&t.value("plain")), hex_addr(&t.value("writable")));
    // The program really holds the stub's final page, signature included.
    let mut page = vec![0u8; PAGE as usize];
    std::os::unix::fs::FileExt::read_exact_at(&std::fs::File::open(format!("/proc/{pid}/mem")).unwrap(), &mut page, final_page).unwrap();
    assert!(page.windows(signature.len()).any(|w| w == signature));

    let file = scratch("finalpage").join("f.ckpt");
    dump(pid, &file, &["--leave-stopped"]);
    wait_stopped(pid);
    let img = inspect(&file);
    assert!(region_at(&img, final_page).is_none(), "the final page is not in the image");
    let r = region_at(&img, plain).expect("the ordinary r-x page is kept");
    assert_eq!((r["start"].as_u64(), r["end"].as_u64(), r["prot"].as_str()), (Some(plain), Some(plain + PAGE), Some("r-x")));
    assert_eq!(r["stored_pages"], 1);
    let r = region_at(&img, writable).expect("a writable page with the signature is kept");
    assert_eq!((r["prot"].as_str(), r["stored_pages"].as_u64()), (Some("rw-"), Some(1)));
    // Everything else is there as /proc shows it.
    let want_maps: Vec<(u64, u64)> = maps(pid).iter().filter(|m| m.start != final_page).map(|m| (m.start, m.end)).collect();
    let got: Vec<(u64, u64)> =
        img["regions"].as_array().unwrap().iter().map(|r| (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap())).collect();
    assert_eq!(got, want_maps);
    resume(pid);
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}

/// A file of `pages` pages of varied bytes, starting with `magic`.
fn make_file(path: &Path, pages: u64, magic: &[u8], seed: u64) -> Vec<u8> {
    let mut b: Vec<u8> = (0..pages * PAGE).map(|i| ((i * 2654435761 + seed) >> 7) as u8).collect();
    b[..magic.len()].copy_from_slice(magic);
    std::fs::write(path, &b).unwrap();
    b
}

/// What imagemap's mapping of `file` holds: the file from offset 4096,
/// with bytes 256..512 of pages 1 and 4 set to 0xa0 + page.
fn expected_mapping(file: &[u8]) -> Vec<u8> {
    let mut m = file[PAGE as usize..].to_vec();
    for p in [1usize, 4] {
        m[p * 4096 + 256..p * 4096 + 512].fill(0xa0 + p as u8);
    }
    m
}

/// The bytes an image stores for the region starting at `start`, with
/// unstored pages as None.
fn stored_bytes(image: &[u8], start: u64) -> Vec<Option<Vec<u8>>> {
    let img = image_format::Image::parse_bytes(image).unwrap();
    let r = img.regions().find(|r| r.start == start).expect("region in the image");
    let mut pages = vec![None; r.pages() as usize];
    for run in img.page_runs(&r) {
        for i in 0..run.page_count {
            let off = (run.file_offset + i * PAGE) as usize;
            pages[(run.page_index + i) as usize] = Some(image[off..off + PAGE as usize].to_vec());
        }
    }
    pages
}

#[test]
fn image_backed_mappings_stored_whole() {
    let dir = scratch("imagemap");
    let (image_path, other_path) = (dir.join("restored-from.ckpt"), dir.join("other.dat"));
    let image_file = make_file(&image_path, 9, &image_format::MAGIC, 1);
    let other_file = make_file(&other_path, 9, b"not an image", 2);
    let (ip, op) = (image_path.to_str().unwrap(), other_path.to_str().unwrap());
    let want = baseline("imagemap", &[ip, op, "300", "0"]);
    let (t, mut gate) = held("imagemap", "300", &[ip, op, "300", "1000"]);
    let pid = t.pid();
    let field = |k: &str| -> (u64, u64) {
        let v = t.seen.iter().find_map(|l| l.strip_prefix(&format!("{k} "))).unwrap().to_string();
        let (a, n) = v.split_once(' ').unwrap();
        (hex_addr(a), n.parse().unwrap())
    };
    let ((img_addr, img_pages), (other_addr, other_pages)) = (field("image"), field("other"));
    assert_eq!((img_pages, other_pages), (8, 8));
    // Only three pages were ever touched: the rest must be faulted in by
    // the dump itself.
    let present = |addr: u64| expected_pages(pid, &maps(pid).into_iter().find(|m| m.start == addr).unwrap());
    assert!(present(img_addr) < img_pages);

    let file = dir.join("second.ckpt");
    dump(pid, &file, &["--leave-stopped"]);
    wait_stopped(pid);
    std::fs::remove_file(&image_path).unwrap();
    std::fs::remove_file(&other_path).unwrap();
    let json = inspect(&file);
    let bytes = std::fs::read(&file).unwrap();

    let r = region_at(&json, img_addr).unwrap();
    assert_eq!((r["start"].as_u64(), r["end"].as_u64()), (Some(img_addr), Some(img_addr + 8 * PAGE)));
    assert_eq!((r["kind"].as_str(), r["path"].as_str(), r["prot"].as_str()), (Some("Anon"), Some(""), Some("rw-")));
    let want_bytes = expected_mapping(&image_file);
    for (i, page) in stored_bytes(&bytes, img_addr).into_iter().enumerate() {
        let page = page.unwrap_or_else(|| panic!("page {i} of the image-backed mapping is not stored"));
        assert!(page == want_bytes[i * 4096..(i + 1) * 4096], "page {i} of the image-backed mapping differs");
    }

    // An ordinary file stays a file mapping: only copied-on-write pages.
    let r = region_at(&json, other_addr).unwrap();
    assert_eq!((r["kind"].as_str(), r["path"].as_str(), r["file_offset"].as_u64()), (Some("File"), Some(op), Some(PAGE)));
    let want_other = expected_mapping(&other_file);
    let stored = stored_bytes(&bytes, other_addr);
    let cow: Vec<usize> = stored.iter().enumerate().filter(|(_, p)| p.is_some()).map(|(i, _)| i).collect();
    assert_eq!(cow, [1, 4]);
    for i in cow {
        assert!(stored[i].as_deref() == Some(&want_other[i * 4096..(i + 1) * 4096]), "page {i} of the other mapping");
    }

    let v = run_ckpt(&["verify", file.to_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    resume(pid);
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}

/// A heap partly mapped from an image ([heap], image file, [heap] in /proc)
/// is dumped as one heap region (an image holds at most one) with every
/// page of the image-backed piece.
#[test]
fn split_heap_is_one_region() {
    let dir = scratch("splitheap");
    let image_path = dir.join("restored-from.ckpt");
    let image_file = make_file(&image_path, 3, &image_format::MAGIC, 3);
    let ip = image_path.to_str().unwrap();
    let want = baseline("splitheap", &[ip, "300", "0"]);
    let (t, mut gate) = held("splitheap", "300", &[ip, "300", "1000"]);
    let pid = t.pid();
    let v = t.value("heap");
    let heap = hex_addr(v.split(' ').next().unwrap());
    let heap_pieces = maps(pid).iter().filter(|m| m.path == "[heap]").count();
    assert_eq!(heap_pieces, 2, "the program split its heap");

    let file = dir.join("h.ckpt");
    dump(pid, &file, &["--leave-stopped"]);
    wait_stopped(pid);
    std::fs::remove_file(&image_path).unwrap();
    let json = inspect(&file);
    let heaps: Vec<&serde_json::Value> = json["regions"].as_array().unwrap().iter().filter(|r| r["kind"] == "Heap").collect();
    assert_eq!(heaps.len(), 1, "one heap region");
    let r = heaps[0];
    let (start, end) = (r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap());
    assert!(start <= heap && heap + 8 * PAGE <= end, "the heap region spans all pieces: {r}");
    let bytes = std::fs::read(&file).unwrap();
    let stored = stored_bytes(&bytes, start);
    for i in 0..8u64 {
        let mut want_page = vec![0x10 + i as u8; PAGE as usize];
        if i == 3 || i == 4 {
            want_page.copy_from_slice(&image_file[((i - 2) * PAGE) as usize..((i - 1) * PAGE) as usize]);
        }
        if i == 3 {
            want_page[256..512].fill(0xb1);
        }
        let got = stored[((heap - start) / PAGE + i) as usize].as_deref();
        assert!(got == Some(&want_page[..]), "heap page {i}");
    }
    let v = run_ckpt(&["verify", file.to_str().unwrap()]);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    resume(pid);
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}
