//! The tree block (tree.rs) and the selector argv.

#[path = "../../../image-format/tests/common/mod.rs"]
mod common;

use image_format::Image;
use restore_plan::*;

fn word(plan: &[u8], byte_off: u64) -> u64 {
    let o = byte_off as usize;
    u64::from_le_bytes(plan[o..o + 8].try_into().unwrap())
}

#[test]
fn selector_is_exactly_marker_index_base() {
    let sel = |a: &[&str]| parse_selector(&a.iter().map(|s| s.as_bytes()).collect::<Vec<_>>());
    assert_eq!(sel(&["ckpt-tree-member", "3", "64"]), Some(Ok(Selector { index: 3, fd_base: 64 })));
    // Not a selector: an ordinary restore whose arguments are ignored.
    assert_eq!(sel(&[]), None);
    assert_eq!(sel(&["3", "64"]), None);
    assert_eq!(sel(&["ckpt-tree-memberx", "3", "64"]), None);
    // A selector, malformed: refused.
    for bad in [
        &["ckpt-tree-member"][..],
        &["ckpt-tree-member", "3"],
        &["ckpt-tree-member", "3", "64", "x"],
        &["ckpt-tree-member", "0", "64"],
        &["ckpt-tree-member", "03", "64"],
        &["ckpt-tree-member", "-3", "64"],
        &["ckpt-tree-member", "3", "4"],
        &["ckpt-tree-member", "3", "1073741825"],
        &["ckpt-tree-member", "4294967296", "64"],
        &["ckpt-tree-member", "99999999999", "64"],
        &["ckpt-tree-member", "", "64"],
        &["ckpt-tree-member", "3", "6 4"],
    ] {
        assert_eq!(sel(bad), Some(Err(())), "{bad:?}");
    }
}

#[test]
fn tree_block_holds_children_objects_and_duplicates() {
    let bytes = common::build(&common::sample_files());
    let img = Image::parse_bytes(&bytes).unwrap();
    let files: Vec<_> = img.files().collect();
    assert!(!files.is_empty());
    let children = [
        TreeChild { index: 1, state: tree_state::RUNNING, exit_status: 0, setsid: false, pgid: PGID_OWN, want_pid: 101 },
        TreeChild { index: 2, state: tree_state::ZOMBIE, exit_status: 3 << 8, setsid: false, pgid: 0, want_pid: 102 },
    ];
    // Object 0: the sample's pipe 1 (read end 1, write end 2): slots 0, 1.
    let ends = [ObjectEnd { slot: 0, image: &img, file: files[1], index: 1 }, ObjectEnd { slot: 1, image: &img, file: files[2], index: 2 }];
    let tlen = tree_len(children.len(), 2, &ends, 1).unwrap();
    let lay = layout_with_tree(&img, 0, tlen).unwrap();
    let plain = layout(&img, 0).unwrap();
    assert!(lay.tree >= plain.xsave && lay.tree + tlen <= lay.stack_top && plain.tree == 0);
    let base = 0x7e00_0000_0000u64;
    let place = Placement { plan: base, stub: base + lay.len, stub_len: 2 * PAGE, vdso_base: 0 };
    let mut plan = vec![0u8; lay.len as usize];
    write(&img, &lay, &place, &[], &mut plan).unwrap();
    let fd_base = fd_base_need(&img, 2);
    assert!(fd_base >= word(&plan, (head::REPORT_MIN * 8) as u64) + files.len() as u64 + 1 + TREE_CONTROL_FDS);
    let me = TreeSelf { index: 0, nr_procs: 3, fd_base, image_fd: 3, pdeath_signal: 0, stopped: false, set_pids: true };
    write_tree(&lay, &mut plan, &me, &children, 2, &ends, &[(2, 8192)], &[(1, 0), (2, 1)]).unwrap();

    let t = word(&plan, (head::TREE_OFFSET * 8) as u64);
    assert_eq!(t, lay.tree);
    let tw = |k: usize| word(&plan, t + 8 * k as u64);
    assert_eq!((tw(tree_word::INDEX), tw(tree_word::NR_PROCS), tw(tree_word::FD_BASE)), (0, 3, fd_base));
    assert_eq!((tw(tree_word::IMAGE_FD), tw(tree_word::NR_OBJECTS), tw(tree_word::NR_CHILDREN)), (3, 2, 2));
    let c = tw(tree_word::CHILDREN_OFFSET);
    let cw = |i: usize, k: usize| word(&plan, c + ((i * tree_child::WORDS + k) * 8) as u64);
    assert_eq!((cw(0, tree_child::INDEX), cw(0, tree_child::PGID)), (1, PGID_OWN));
    assert_eq!((cw(1, tree_child::STATE), cw(1, tree_child::EXIT_STATUS), cw(1, tree_child::PGID)), (2, 3 << 8, 0));
    assert_eq!((cw(0, tree_child::WANT_PID), cw(1, tree_child::WANT_PID), tw(tree_word::SET_PIDS)), (101, 102, 1));
    // The object's two ends are one pipe, the read end with its bytes.
    let f = tw(tree_word::FILES_OFFSET);
    let fw = |slot: u64, k: usize| word(&plan, f + (slot * FILE_WORDS as u64 + k as u64) * 8);
    assert_eq!((fw(0, file::KIND), fw(0, file::PEER), fw(1, file::PEER)), (file_kind::PIPE, 1, 0));
    assert_eq!((fw(0, file::TEMP), fw(1, file::TEMP)), (KEEP, KEEP));
    assert_eq!(fw(0, file::DATA_LEN), 3);
    assert_eq!(&plan[fw(0, file::DATA_OFFSET) as usize..][..3], b"abc");
    // Object 1: shared memory, a memfd of its size; slot 3 is empty.
    assert_eq!((fw(2, file::KIND), fw(2, file::VALUE), fw(2, file::DATA_LEN), fw(2, file::TEMP)), (file_kind::MEMFD, 8192, 0, KEEP));
    let name = fw(2, file::PATH_OFFSET) as usize;
    assert_eq!(&plan[name..name + SHARED_MEMORY_NAME.len() + 1], b"ckpt-tree-shared\0");
    assert_eq!(fw(3, file::KIND), 0);
    // The image's own two ends now take them from the tree's fds.
    let own = word(&plan, (head::FILES_OFFSET * 8) as u64);
    let ow = |i: u64, k: usize| word(&plan, own + (i * FILE_WORDS as u64 + k as u64) * 8);
    assert_eq!((ow(1, file::KIND), ow(1, file::VALUE), ow(1, file::PEER)), (file_kind::DUP, fd_base, KEEP));
    assert_eq!((ow(2, file::KIND), ow(2, file::VALUE), ow(2, file::PEER)), (file_kind::DUP, fd_base + 1, KEEP));
    assert_eq!(ow(0, file::KIND), file_kind::OPEN, "the others as they were");
    // Wrong sizes are refused, never written past.
    assert!(write_tree(&plain, &mut plan[..plain.len as usize], &me, &children, 2, &ends, &[(2, 8192)], &[]).is_err());
    assert!(write_tree(&lay, &mut plan, &me, &children, 2, &ends, &[(2, 8192)], &[(u32::MAX, 0)]).is_err());
    assert!(write_tree(&lay, &mut plan, &me, &children, 2, &ends, &[(4, 8192)], &[]).is_err());
    let far = [ObjectEnd { slot: 4, image: &img, file: files[0], index: 0 }, ends[1]];
    assert!(write_tree(&lay, &mut plan, &me, &children, 2, &far, &[(2, 8192)], &[]).is_err());
}
