//! The tree block assembled once for both restorers (rules/tree_plan.rs),
//! over the format's sample tree: a root (pid P), a child (P+1, its own
//! group, pdeath signal 15) sharing a regular file (object 0), a pipe read
//! end (object 1, end 1) and shared anonymous memory (object 2), a zombie
//! (P+2, exit code 3), a stopped grandchild (P+3, in the child's group).

#[path = "../../../image-format/tests/common/mod.rs"]
mod common;

use image_format::{Image, ObjectSlot, TreeProcess};
use restore_plan::{fd_base_need, tree_state, ObjectEnd, Selector, TreeChild, KEEP, PGID_INHERIT, PGID_OWN};
use restore_policy::*;

#[derive(Default)]
struct Out {
    children: Vec<TreeChild>,
    ends: Vec<(u64, u32)>,
    regions: Vec<(u64, u64)>,
    own: Vec<(u32, u64)>,
    /// Fail the n-th push (an allocation that fails).
    fail_at: Option<usize>,
    pushes: usize,
}

impl Out {
    fn push(&mut self) -> Result<(), Refusal> {
        self.pushes += 1;
        if self.fail_at == Some(self.pushes) {
            return Err(Reason::OutOfMemory.into());
        }
        Ok(())
    }
}

impl<'i, 'a> TreeOut<'i, 'a> for Out {
    fn child(&mut self, c: TreeChild) -> Result<(), Refusal> {
        self.push()?;
        self.children.push(c);
        Ok(())
    }
    fn end(&mut self, e: ObjectEnd<'i, 'a>) -> Result<(), Refusal> {
        self.push()?;
        self.ends.push((e.slot, e.image.process.pid));
        Ok(())
    }
    fn region(&mut self, slot: u64, size: u64) -> Result<(), Refusal> {
        self.push()?;
        self.regions.push((slot, size));
        Ok(())
    }
    fn own(&mut self, file: u32, slot: u64) -> Result<(), Refusal> {
        self.push()?;
        self.own.push((file, slot));
        Ok(())
    }
}

/// A scripted host: which pids are taken, which fds are open with what.
#[derive(Default)]
struct Host {
    pids: PidFacts,
    taken: Vec<u32>,
    own_pid: u32,
    fds: Vec<(u64, u32, u64)>,
    paced: usize,
}

impl TreeHost for Host {
    fn pid_facts(&mut self) -> PidFacts {
        self.pids
    }
    fn pid_free(&mut self, pid: u32) -> bool {
        !self.taken.contains(&pid)
    }
    fn own_pid(&mut self) -> u32 {
        self.own_pid
    }
    fn fd_facts(&mut self, fd: u64) -> Option<FileFacts> {
        self.fds.iter().find(|f| f.0 == fd).map(|&(_, mode, size)| FileFacts { mode, size, ..FileFacts::default() })
    }
    fn pace(&mut self) -> Result<(), Refusal> {
        self.paced += 1;
        Ok(())
    }
}

struct Tree {
    bytes: Vec<u8>,
}

impl Tree {
    fn new() -> Tree {
        Tree { bytes: common::build_tree(&common::sample_tree()) }
    }
    fn recs(&self) -> Vec<TreeProcess> {
        Image::parse_bytes(&self.bytes).unwrap().tree_processes().collect()
    }
    fn images(&self) -> Vec<Option<Image<'_>>> {
        let root = Image::parse_bytes(&self.bytes).unwrap();
        let recs: Vec<_> = root.tree_processes().collect();
        recs.iter()
            .enumerate()
            .map(|(i, r)| match i {
                0 => Some(root),
                _ if r.image_len == 0 => None,
                _ => Some(Image::parse_member_bytes(&self.bytes, r).unwrap()),
            })
            .collect()
    }
}

const FULL: RootFacts = RootFacts { nproc: 1000, nofile: 1024, free_fd: 0, image_fd: 7 };

fn build_root(t: &Tree, facts: &RootFacts, host: &mut Host, out: &mut Out) -> Result<TreeHead, Refusal> {
    let (recs, images) = (t.recs(), t.images());
    let mut slots = vec![ObjectSlot::default(); tree_object_refs(&images)];
    let mut procs = vec![Proc::default(); recs.len()];
    let checked = check_root_tree(&recs, &images, &mut slots, &mut procs, facts, host)?;
    root_tree(&recs, &images, &checked, &mut procs, facts, host, out)
}

#[test]
fn the_roots_block_holds_its_children_the_objects_it_creates_and_its_own() {
    let t = Tree::new();
    let (recs, images) = (t.recs(), t.images());
    let p = recs[0].pid;
    let (mut host, mut out) = (Host::default(), Out::default());
    let head = build_root(&t, &FULL, &mut host, &mut out).unwrap();
    assert_eq!(host.paced, 4, "paced once per process");
    assert_eq!((head.nr_objects, head.me.index, head.me.nr_procs, head.me.image_fd), (3, 0, 4, 7));
    assert_eq!((head.me.pdeath_signal, head.me.stopped, head.me.set_pids), (0, false, false));
    let need = fd_base_need(images[0].as_ref().unwrap(), 6).max(fd_base_need(images[1].as_ref().unwrap(), 0));
    assert_eq!(head.me.fd_base, need.next_multiple_of(16));
    let kids: Vec<_> = out.children.iter().map(|c| (c.index, c.state, c.exit_status, c.pgid, c.want_pid)).collect();
    assert_eq!(kids, [(1, tree_state::RUNNING, 0, PGID_OWN, p + 1), (2, tree_state::ZOMBIE, 3 << 8, PGID_INHERIT, p + 2)]);
    // Each end once, from the first process holding it: the root.
    assert_eq!(out.ends, [(0, p), (2, p)]);
    assert_eq!(out.regions.len(), 1);
    assert_eq!(out.regions[0].0, 4);
    assert_eq!(out.own, [(0, 0), (3, 2)]);
}

#[test]
fn the_lowest_free_fd_raises_the_fd_base_within_rlimit_nofile() {
    let t = Tree::new();
    let low = build_root(&t, &FULL, &mut Host::default(), &mut Out::default()).unwrap().me.fd_base;
    // The module holds none (0); ckpt-restore above what it holds: the
    // failure line's duplicate and the control fds lie above it too.
    let raised = RootFacts { free_fd: low + 100, ..FULL };
    let head = build_root(&t, &raised, &mut Host::default(), &mut Out::default()).unwrap();
    assert_eq!(head.me.fd_base, (low + 100 + 1 + restore_plan::TREE_CONTROL_FDS).next_multiple_of(16));
    let tight = RootFacts { free_fd: 1010, ..FULL };
    let r = build_root(&t, &tight, &mut Host::default(), &mut Out::default()).unwrap_err();
    assert_eq!(r.reason, Reason::TreeFdBase);
}

#[test]
fn limits_across_the_tree_are_refused_before_anything_is_built() {
    let t = Tree::new();
    let mut out = Out::default();
    // Every thread of root, child and grandchild, and the zombie.
    let images = t.images();
    let need = 1 + [0, 1, 3].map(|i| u64::from(images[i].as_ref().unwrap().thread_count())).iter().sum::<u64>();
    assert!(build_root(&t, &RootFacts { nproc: need, ..FULL }, &mut Host::default(), &mut Out::default()).is_ok());
    let r = build_root(&t, &RootFacts { nproc: need - 1, ..FULL }, &mut Host::default(), &mut out).unwrap_err();
    assert_eq!((r.reason, r.detail), (Reason::TreeExceedsRlimitNproc, Detail::Limit { need, limit: need - 1 }));
    let r = build_root(&t, &RootFacts { nofile: 20, ..FULL }, &mut Host::default(), &mut out).unwrap_err();
    assert_eq!(r.reason, Reason::TreeFdBase);
    assert_eq!(out.pushes, 0);
}

#[test]
fn pid_namespace_mode_needs_every_fact_and_every_pid_free() {
    let t = Tree::new();
    let p = t.recs()[0].pid;
    let yes = PidFacts { child_pid_namespace: true, may_set_pids: true };
    let mode = |pids: PidFacts, taken: Vec<u32>| {
        let mut host = Host { pids, taken, ..Host::default() };
        build_root(&t, &FULL, &mut host, &mut Out::default()).unwrap().me.set_pids
    };
    assert!(mode(yes, vec![p]), "the root's own pid is the caller's");
    assert!(!mode(yes, vec![p + 3]), "a grandchild's pid is taken");
    assert!(!mode(PidFacts { may_set_pids: false, ..yes }, vec![]));
    assert!(!mode(PidFacts { child_pid_namespace: false, ..yes }, vec![]));
}

#[test]
fn a_failed_push_is_the_refusal() {
    let t = Tree::new();
    for n in 1..=7 {
        let mut out = Out { fail_at: Some(n), ..Out::default() };
        let r = build_root(&t, &FULL, &mut Host::default(), &mut out);
        assert_eq!(r.map(|_| ()).unwrap_err().reason, Reason::OutOfMemory, "push {n}");
    }
}

/// The child (index 1) as its restorer sees it, its objects inherited at
/// `fd_base`: a regular file, a pipe, a memfd large enough.
fn member_host(fd_base: u64, own_pid: u32, pids: PidFacts) -> Host {
    let fds = vec![(fd_base, 0o100_644, 0), (fd_base + 2, 0o010_600, 0), (fd_base + 4, 0o100_600, 1 << 30)];
    Host { fds, own_pid, pids, ..Host::default() }
}

#[test]
fn a_members_block_holds_its_children_and_its_inherited_objects() {
    let t = Tree::new();
    let (recs, images) = (t.recs(), t.images());
    let p = recs[0].pid;
    let image = images[1].as_ref().unwrap();
    let sel = Selector { index: 1, fd_base: 64 };
    let mut procs = vec![Proc::default(); recs.len()];
    let mut out = Out::default();
    let head = member_tree(&recs, image, sel, &mut procs, &mut member_host(64, 1, PidFacts::default()), &mut out).unwrap();
    assert_eq!((head.nr_objects, head.me.index, head.me.fd_base, head.me.image_fd), (0, 1, 64, KEEP));
    assert_eq!((head.me.pdeath_signal, head.me.stopped, head.me.set_pids), (15, false, false));
    assert_eq!(out.children.iter().map(|c| (c.index, c.state, c.pgid, c.want_pid)).collect::<Vec<_>>(), [(3, tree_state::STOPPED, PGID_INHERIT, p + 3)]);
    assert_eq!(out.own, [(0, 0), (3, 2)]);
    assert!(out.ends.is_empty() && out.regions.is_empty());

    // PID-namespace mode: only if its parent gave it its pid at dump.
    let yes = PidFacts { child_pid_namespace: true, may_set_pids: true };
    let mut set = |own_pid: u32, taken: Vec<u32>| {
        let mut host = Host { taken, ..member_host(64, own_pid, yes) };
        member_tree(&recs, image, sel, &mut procs, &mut host, &mut Out::default()).unwrap().me.set_pids
    };
    assert!(set(p + 1, vec![p, p + 1, p + 2]), "only its children's pids count");
    assert!(!set(p + 1, vec![p + 3]));
    assert!(!set(999, vec![]));

    // An object missing or of another kind: refused, naming fd and object.
    let mut host = member_host(64, 1, PidFacts::default());
    host.fds[1].1 = 0o100_600;
    let r = member_tree(&recs, image, sel, &mut procs, &mut host, &mut Out::default()).unwrap_err();
    assert_eq!((r.reason, r.detail), (Reason::MissingTreeObject, Detail::Limit { need: 66, limit: 1 }));
    // A base below its own fds.
    let low = Selector { index: 1, fd_base: 5 };
    let r = member_tree(&recs, image, low, &mut procs, &mut member_host(5, 1, PidFacts::default()), &mut Out::default()).unwrap_err();
    assert_eq!(r.reason, Reason::TreeFdBase);
}

#[test]
fn a_selector_names_a_live_member() {
    let recs = Tree::new().recs();
    assert_eq!(selected(&recs, Selector { index: 3, fd_base: 64 }).unwrap(), recs[3]);
    for (index, limit) in [(2, 4), (9, 4), (0, 4)] {
        let r = selected(&recs, Selector { index, fd_base: 64 }).unwrap_err();
        assert_eq!((r.reason, r.detail), (Reason::MemberSelector, Detail::Limit { need: u64::from(index), limit }));
    }
}
