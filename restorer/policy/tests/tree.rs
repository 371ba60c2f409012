//! The tree rules (rules/tree.rs): sessions and groups a parent can
//! recreate, the tree-wide RLIMIT_NPROC, the fd base, inherited objects.

use image_format::FileKind;
use restore_plan::{tree_state, TreeChild, PGID_INHERIT, PGID_OWN};
use restore_policy::*;

const NONE: u32 = u32::MAX;

fn p(pid: u32, parent: u32, pgid: u32, sid: u32) -> Proc {
    Proc { pid, parent, pgid, sid, state: tree_state::RUNNING, exit_status: 0, threads: 1 }
}

fn kids(procs: &[Proc], parent: usize) -> Result<Vec<TreeChild>, Refusal> {
    let mut v = Vec::new();
    children(procs, parent, &mut |c| v.push(c))?;
    Ok(v)
}

#[test]
fn a_shell_pipeline_joins_the_first_commands_group() {
    // sh (100, in the caller's group 50, session 40) runs a | b | c in a
    // group led by a (101); c has a child of its own in its group.
    let t = [p(100, NONE, 50, 40), p(101, 0, 101, 40), p(102, 0, 101, 40), p(103, 0, 101, 40), p(104, 3, 101, 40)];
    let k = kids(&t, 0).unwrap();
    assert_eq!(k.iter().map(|c| (c.index, c.pgid, c.setsid)).collect::<Vec<_>>(), [(1, PGID_OWN, false), (2, 0, false), (3, 0, false)]);
    assert_eq!(kids(&t, 3).unwrap().iter().map(|c| (c.index, c.pgid)).collect::<Vec<_>>(), [(4, PGID_INHERIT)]);
    assert!(kids(&t, 4).unwrap().is_empty());
}

#[test]
fn sessions_inherited_or_new_and_zombies_keep_their_status() {
    let mut z = p(202, 0, 50, 40);
    z.state = tree_state::ZOMBIE;
    z.exit_status = 7 << 8;
    let t = [p(200, NONE, 50, 40), p(201, 0, 201, 201), z];
    let k = kids(&t, 0).unwrap();
    assert_eq!((k[0].setsid, k[0].pgid), (true, PGID_OWN));
    assert_eq!((k[1].state, k[1].exit_status, k[1].pgid, k[1].setsid), (tree_state::ZOMBIE, 7 << 8, PGID_INHERIT, false));
}

#[test]
fn groups_a_parent_cannot_recreate_are_refused() {
    // The child is in its grandparent's group, which its parent left.
    let t = [p(300, NONE, 50, 40), p(301, 0, 301, 40), p(302, 1, 50, 40)];
    assert_eq!(kids(&t, 1).unwrap_err().reason, Reason::TreeProcessGroup);
    // A group led by a later sibling.
    let t = [p(300, NONE, 50, 40), p(301, 0, 302, 40), p(302, 0, 302, 40)];
    assert_eq!(kids(&t, 0).unwrap_err().reason, Reason::TreeProcessGroup);
    // A session that is neither the parent's nor its own.
    let t = [p(300, NONE, 50, 40), p(301, 0, 301, 301), p(302, 1, 302, 40)];
    assert_eq!(kids(&t, 1).unwrap_err().reason, Reason::TreeProcessGroup);
    // No such parent.
    assert!(kids(&t, 9).is_err());
}

#[test]
fn rlimit_nproc_counts_every_thread_and_zombie() {
    let mut t = vec![p(1, NONE, 1, 1), p(2, 0, 1, 1), p(3, 0, 1, 1)];
    t[0].threads = 4;
    t[2].state = tree_state::ZOMBIE;
    t[2].threads = 0;
    assert!(check_tree_nproc(&t, 6).is_ok());
    let r = check_tree_nproc(&t, 5).unwrap_err();
    assert_eq!((r.reason, r.detail), (Reason::TreeExceedsRlimitNproc, Detail::Limit { need: 6, limit: 5 }));
    assert_eq!(r.reason.name(), "tree-exceeds-rlimit-nproc");
}

#[test]
fn fd_base_lies_above_every_member_and_below_rlimit_nofile() {
    assert_eq!(tree_fd_base([9u64, 40, 17].into_iter(), 3, 1024), Ok(48));
    assert_eq!(tree_fd_base([].into_iter(), 0, 1024), Ok(16));
    let r = tree_fd_base([1000u64].into_iter(), 20, 1024).unwrap_err();
    assert_eq!((r.reason, r.detail), (Reason::TreeFdBase, Detail::Limit { need: 1008 + 40 + 40, limit: 1024 }));
    // The root stub's temporaries lie above the objects: 2 per object,
    // at least the 4 control pipe ends.
    assert_eq!(tree_fd_base([1000u64].into_iter(), 4, 1024), Ok(1008));
    let r = tree_fd_base([1000u64].into_iter(), 5, 1024).unwrap_err();
    assert_eq!(r.detail, Detail::Limit { need: 1008 + 10 + 10, limit: 1024 });
    assert_eq!(tree_fd_base([1008u64].into_iter(), 1, 1014), Ok(1008));
    let r = tree_fd_base([1008u64].into_iter(), 1, 1013).unwrap_err();
    assert_eq!(r.detail, Detail::Limit { need: 1008 + 2 + 4, limit: 1013 });
}

#[test]
fn inherited_objects_must_be_of_their_kind() {
    let facts = |mode: u32| FileFacts { mode, ..FileFacts::default() };
    assert!(tree_object_fits(FileKind::Pipe, &facts(0o010_600)));
    assert!(!tree_object_fits(FileKind::Pipe, &facts(0o100_600)));
    assert!(tree_object_fits(FileKind::UnixPair, &facts(0o140_777)));
    assert!(tree_object_fits(FileKind::Regular, &facts(0o100_644)));
    assert!(tree_object_fits(FileKind::EventFd, &facts(0o600)));
    assert!(!tree_object_fits(FileKind::EventFd, &facts(0o010_600)));
    assert!(!tree_object_fits(FileKind::Epoll, &facts(0o600)));
    // A listener the workers share (nginx), a FIFO, a deleted file.
    assert!(tree_object_fits(FileKind::Socket, &facts(0o140_777)));
    assert!(!tree_object_fits(FileKind::Socket, &facts(0o010_600)));
    assert!(tree_object_fits(FileKind::Fifo, &facts(0o010_600)));
    assert!(tree_object_fits(FileKind::DeletedFile, &facts(0o100_600)));
    assert_eq!(tree_object_supported(FileKind::Epoll).unwrap_err().reason.name(), "tree-object-unsupported");
    assert!(tree_object_supported(FileKind::Pipe).is_ok());
}
