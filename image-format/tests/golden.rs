//! Golden images checked into tests/golden/: each .img must still parse to
//! the contents in its .txt, and the writer must still produce it byte for
//! byte. A format change that breaks old images fails here.
//! Regenerate (only for a deliberate, versioned change) with
//! `UPDATE_GOLDEN=1 cargo test -p image-format --test golden`.
mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use common::*;
use image_format::*;

fn minimal() -> ImageDesc {
    let mut d = sample();
    d.threads.truncate(1);
    d.regions = vec![d.regions[2].clone(), d.regions[9].clone()];
    d.regions[0].runs = vec![RunDesc {
        page_index: 1,
        page_count: 1,
    }];
    d.regions[1].runs.clear();
    d.fds.truncate(3);
    d.auxv.truncate(1);
    d
}

/// A future minor version (1.1) that adds an optional section kind 200
/// (kind 20, which it used first, is now LOCKS): this reader must skip it
/// and read everything else.
fn minor1() -> (ImageDesc, Options) {
    let extra = RawSection {
        kind: 200,
        flags: SECTION_OPTIONAL,
        count: 3,
        record_size: 4,
        payload: vec![7; 12],
    };
    (
        minimal(),
        Options {
            minor: 1,
            extra: vec![extra],
            validate: true,
            ..Options::default()
        },
    )
}

fn fixtures() -> Vec<(&'static str, ImageDesc, Options)> {
    let (m1, o1) = minor1();
    vec![
        ("sample", sample(), Options::default()),
        ("minimal", minimal(), Options::default()),
        ("minor1-optional", m1, o1),
        // Open file descriptions of every kind (FILES, FILE_DATA, EPOLL).
        ("files", sample_files(), Options::default()),
        ("pending-signals", with_signals(), Options::default()),
        ("timers", with_timers(), Options::default()),
        ("locks", with_locks(), Options::default()),
        // PROCESS_ATTRS and a thread's name.
        ("attrs", with_attrs(), Options::default()),
        ("creds", with_creds(), Options::default()),
        // A TCP connection carried with TCP_REPAIR (FILES kind 15).
        ("tcp-repair", sample_tcp_repair(), Options::default()),
        // Socket options (SOCKOPTS) on three kinds of socket.
        ("sockopts", with_sockopts(), Options::default()),
        // Each thread's scheduling (SCHED) and oom_score_adj.
        ("sched", with_sched(), Options::default()),
        // Two seccomp filters (SECCOMP_FILTERS, SECCOMP_CODE).
        ("seccomp", with_seccomp(), Options::default()),
    ]
}

/// Text form: layout numbers and the decoded contents.
fn describe(img: &Image<'_>) -> String {
    let h = &img.header;
    let mut s = String::new();
    writeln!(s, "version {}.{}", h.major, h.minor).unwrap();
    writeln!(
        s,
        "metadata {:#x}+{:#x} crc {:#010x}",
        h.metadata_offset, h.metadata_len, h.metadata_crc
    )
    .unwrap();
    writeln!(s, "pages {:#x}+{:#x}", h.pages_offset, h.pages_len).unwrap();
    writeln!(
        s,
        "tail {:#x}+{:#x} file_len {:#x}",
        h.tail_offset, h.tail_len, h.file_len
    )
    .unwrap();
    writeln!(
        s,
        "header crc {:#010x} page-table crc {:#010x}",
        h.crc, img.trailer.page_table_crc
    )
    .unwrap();
    let crcs: Vec<String> = (0..img.run_count())
        .map(|i| format!("{:08x}", img.page_crc(i).unwrap()))
        .collect();
    writeln!(s, "run crcs {}", crcs.join(" ")).unwrap();
    writeln!(s, "{:#?}", ImageDesc::from_image(img)).unwrap();
    s
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

#[test]
fn golden_images_still_decode_and_are_still_written_identically() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (name, desc, opts) in fixtures() {
        let fresh = build_with(&desc, &opts);
        let img_path = dir().join(format!("{name}.img"));
        let txt_path = dir().join(format!("{name}.txt"));
        if update {
            std::fs::write(&img_path, &fresh).unwrap();
            std::fs::write(&txt_path, describe(&Image::parse_bytes(&fresh).unwrap())).unwrap();
        }
        let stored =
            std::fs::read(&img_path).unwrap_or_else(|e| panic!("{}: {e}", img_path.display()));
        let want = std::fs::read_to_string(&txt_path).unwrap();
        let img = Image::parse_bytes(&stored).unwrap_or_else(|e| panic!("{name}: {}", e.name()));
        assert_eq!(describe(&img), want, "{name}: decoded contents changed");
        assert_eq!(
            ImageDesc::from_image(&img),
            desc,
            "{name}: fixture and golden differ"
        );
        assert!(fresh == stored, "{name}: writer output changed");
        verify_pages(&img, |o, buf| {
            buf.copy_from_slice(&stored[o as usize..o as usize + buf.len()]);
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn a_required_unknown_section_from_a_newer_minor_is_refused() {
    let (desc, mut opts) = minor1();
    opts.extra[0].flags = 0;
    opts.validate = false;
    assert_eq!(
        parse_result(&build_with(&desc, &opts)),
        "unknown-required-section"
    );
}

/// The sample tree (tests/common sample_tree): a root with a child, a
/// zombie and a stopped grandchild, shared objects of both kinds. Its bytes
/// must not change either (and the mutator edits its tree records).
#[test]
fn the_golden_tree_still_reads_and_is_still_written_identically() {
    let fresh = build_tree(&sample_tree());
    let path = dir().join("tree.img");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let stored = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let t = parse_tree_bytes(&stored).unwrap_or_else(|e| panic!("tree: {}", e.name()));
    assert_eq!((t.processes.len(), t.objects), (4, 3));
    assert!(fresh == stored, "tree: writer output changed");
}
