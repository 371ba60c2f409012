//! The restore policy against sample images and a scripted host: every
//! decision the module and ckpt-restore share, tested once here.

#[path = "../../../image-format/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;

use image_format::{ImageDesc, RegionDesc, RunDesc};
use image_format::records::{prot, region_flags};
use image_format::{FdKind, FileId, FormatError, Image, RegionKind};
use restore_policy::*;

/// A host whose answers each test sets; it records what the policy kept.
struct Scripted {
    privileged: bool,
    nproc: u64,
    sigpending: u64,
    memlock: u64,
    sys_admin: bool,
    root: bool,
    rlimit_as: u64,
    max_map_count: u64,
    mappable: bool,
    files: HashMap<Vec<u8>, Result<FileFacts, i32>>,
    cwd: Result<(), i32>,
    vdso: Option<VdsoHere>,
    vdso_same: bool,
    interrupt_after: Option<usize>,
    yields: usize,
    kept: Vec<(u32, Option<Vec<u8>>)>,
    opened: Vec<(Vec<u8>, u32)>,
    fd_limits: FdLimits,
    /// Socket trials: (address, connect) -> errno; absent: it works.
    probes: HashMap<(Vec<u8>, bool), i32>,
    probed: Vec<(u16, u32, u32, Vec<u8>, bool)>,
    /// Trials in repair mode: what they answer, the addresses tried.
    repair: Result<(), i32>,
    repair_probed: Vec<(u16, Vec<u8>)>,
}

const STUB_LEN: u64 = 3 * 4096;

impl Scripted {
    /// `permissive`, and the regular file the samples' shared descriptions
    /// open by path (/tmp/shared.txt, sample_files) is there.
    fn permissive_with_shared(desc: &ImageDesc) -> Scripted {
        let mut host = Scripted::permissive(desc);
        host.files.insert(b"/tmp/shared.txt".to_vec(), Ok(FileFacts { mode: 0o100_644, ..FileFacts::default() }));
        host
    }

    fn permissive(desc: &ImageDesc) -> Scripted {
        let mut files = HashMap::new();
        for r in desc.regions.iter().filter(|r| r.kind == RegionKind::File) {
            files.entry(r.path.0.clone()).or_insert(Ok(regular(&r.file_id)));
        }
        for f in &desc.fds {
            let mode = match f.kind {
                FdKind::Directory => 0o040_755,
                FdKind::CharDev => 0o020_666,
                _ => 0o100_644,
            };
            files.insert(f.path.0.clone(), Ok(FileFacts { mode, ..FileFacts::default() }));
        }
        Scripted {
            privileged: false,
            nproc: 1 << 20,
            sigpending: 1 << 20,
            memlock: 8 << 20,
            sys_admin: false,
            root: false,
            rlimit_as: u64::MAX,
            max_map_count: 65_530,
            mappable: true,
            files,
            cwd: Ok(()),
            vdso: Some(VdsoHere { vvar_len: 2 * 4096, vvar_vclock_len: Some(2 * 4096), vdso_len: 2 * 4096 }),
            vdso_same: true,
            interrupt_after: None,
            yields: 0,
            kept: Vec::new(),
            opened: Vec::new(),
            fd_limits: FdLimits { pipe_max_size: 1 << 20, exceed_pipe_max: false, wake_alarm: false },
            probes: HashMap::new(),
            probed: Vec::new(),
            repair: Ok(()),
            repair_probed: Vec::new(),
        }
    }
}

fn regular(id: &FileId) -> FileFacts {
    FileFacts {
        dev: id.dev,
        ino: id.ino,
        size: id.size,
        mtime_sec: id.mtime_sec,
        mtime_nsec: id.mtime_nsec,
        mode: 0o100_755,
        rdev: 0,
        noexec: false,
    }
}

impl Host for Scripted {
    type File = Vec<u8>;
    fn grants_privilege(&mut self) -> bool {
        self.privileged
    }
    fn cpu_xstate(&mut self) -> (u64, u32) {
        (u64::MAX >> 1, 1 << 20)
    }
    fn rlimit_nproc(&mut self) -> u64 {
        self.nproc
    }
    fn rlimit_sigpending(&mut self) -> u64 {
        self.sigpending
    }
    fn memlock_allowance(&mut self) -> u64 {
        self.memlock
    }

    fn may_install_seccomp(&mut self) -> bool {
        self.sys_admin
    }
    fn may_set_creds(&mut self) -> bool {
        self.root
    }
    fn rlimit_as(&mut self) -> u64 {
        self.rlimit_as
    }
    fn max_map_count(&mut self) -> u64 {
        self.max_map_count
    }
    fn task_size(&mut self) -> u64 {
        0x7fff_ffff_f000
    }
    fn stub_len(&self) -> u64 {
        STUB_LEN
    }
    fn plan_ops(&self, _image: &Image<'_>) -> usize {
        0
    }
    fn image_mappable(&mut self, _exec: bool) -> bool {
        self.mappable
    }
    fn open(&mut self, path: &[u8], flags: u32) -> Result<Vec<u8>, i32> {
        self.opened.push((path.to_vec(), flags));
        match self.files.get(path) {
            Some(Ok(_)) => Ok(path.to_vec()),
            Some(Err(e)) => Err(*e),
            None => Err(errno::ENOENT),
        }
    }
    fn facts(&mut self, file: &Vec<u8>) -> Result<FileFacts, i32> {
        self.files[file]
    }
    fn keep_mapped(&mut self, region: u32, file: MappedFile<Vec<u8>>) -> Result<(), Refusal> {
        let f = match file {
            MappedFile::New(f) => Some(f),
            MappedFile::SameAsPrevious => None,
        };
        self.kept.push((region, f));
        Ok(())
    }
    fn cwd(&mut self, _path: &[u8]) -> Result<(), i32> {
        self.cwd
    }
    fn vdso_here(&mut self) -> Option<VdsoHere> {
        self.vdso
    }
    fn vdso_matches(&mut self, _off: u64, _len: u64) -> Result<bool, Refusal> {
        Ok(self.vdso_same)
    }
    fn fd_limits(&mut self) -> FdLimits {
        self.fd_limits
    }
    fn probe_socket(&mut self, p: &SocketProbe<'_>) -> Result<(), i32> {
        if p.repair {
            self.repair_probed.push((p.family, p.addr.to_vec()));
            return self.repair;
        }
        self.probed.push((p.family, p.ty, p.flags, p.addr.to_vec(), p.connect));
        self.probes.get(&(p.addr.to_vec(), p.connect)).map_or(Ok(()), |&e| Err(e))
    }
    fn yield_now(&mut self) -> Result<(), Refusal> {
        self.yields += 1;
        match self.interrupt_after {
            Some(n) if self.yields > n => Err(FormatError::Interrupted.into()),
            _ => Ok(()),
        }
    }
}

/// The sample image less what no restorer restores (System V shm).
fn restorable() -> ImageDesc {
    let mut d = common::sample();
    d.regions.retain(|r| r.kind != RegionKind::SysvShm);
    d
}

fn run(desc: &ImageDesc, host: &mut Scripted) -> Result<Checked, Refusal> {
    let bytes = common::build(desc);
    let image = Image::parse_bytes(&bytes).expect("a valid image");
    check(&image, host)
}

fn refused(desc: &ImageDesc, host: &mut Scripted) -> Refusal {
    run(desc, host).expect_err("refused")
}

fn anon(start: u64, pages: u64, runs: &[(u64, u64)]) -> RegionDesc {
    RegionDesc {
        start,
        end: start + pages * 4096,
        prot: prot::READ | prot::WRITE,
        kind: RegionKind::Anon,
        flags: 0,
        path: "".into(),
        file_offset: 0,
        file_id: FileId::default(),
        file: 0,
        runs: runs.iter().map(|&(page_index, page_count)| RunDesc { page_index, page_count }).collect(),
    }
}

#[test]
fn the_refusal_table_has_one_row_per_name_with_an_errno_and_an_exit_status() {
    let mut names: Vec<&str> = REASONS.iter().map(|r| r.0).collect();
    names.extend(FormatError::ALL.iter().map(|e| e.name()));
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "a reason name is used twice");
    for &(name, errno, errno_name, exit, text) in REASONS {
        assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{name}");
        assert!(errno > 0 && errno_name.starts_with('E'), "{name}");
        assert!((1..=8).contains(&exit) && exit != exit::USAGE, "{name}");
        assert!(!text.is_empty());
    }
    assert_eq!(Reason::CwdMissing.name(), "cwd-missing");
    assert_eq!((Reason::CwdMissing.errno(), Reason::CwdMissing.exit_status()), (2, exit::FD_FILE));
    let f = Reason::Format(FormatError::CpuMissingFeatures);
    assert_eq!((f.name(), f.exit_status()), ("cpu-missing-features", exit::INCOMPATIBLE));
    assert_eq!(Reason::Format(FormatError::BadMagic).exit_status(), exit::IMAGE_INVALID);
}

#[test]
fn a_restorable_image_passes_and_each_program_file_is_opened_once() {
    let desc = restorable();
    let mut host = Scripted::permissive(&desc);
    let c = run(&desc, &mut host).expect("restorable");
    assert_eq!(c.vdso_base, 0x7fff_f7fb_d000, "the stub maps the vdso at the image's [vvar]");
    // Text and data of /usr/bin/sample: one open, read-only.
    assert_eq!(host.kept, vec![(0, Some(b"/usr/bin/sample".to_vec())), (1, None)]);
    let program_opens: Vec<_> = host.opened.iter().filter(|(p, _)| p == b"/usr/bin/sample").collect();
    assert_eq!(program_opens.len(), 1);
    assert_eq!(program_opens[0].1 & 3, 0, "read-only");
    // The two fds to reopen were opened once each; the pipe, ttys and socket not.
    assert!(host.opened.iter().any(|(p, _)| p == b"/tmp/log.txt"));
    assert!(host.opened.iter().any(|(p, _)| p == b"/home/user"));
    assert!(!host.opened.iter().any(|(p, _)| p == b"/dev/pts/0"));
}

#[test]
fn a_missing_or_forbidden_working_directory_is_refused_before_anything_changes() {
    let desc = restorable();
    for (errno, reason) in
        [(errno::ENOENT, Reason::CwdMissing), (errno::ENOTDIR, Reason::CwdMissing), (errno::EACCES, Reason::CwdPermission)]
    {
        let mut host = Scripted::permissive(&desc);
        host.cwd = Err(errno);
        let r = refused(&desc, &mut host);
        assert_eq!((r.reason, r.errno, r.detail), (reason, errno, Detail::Cwd));
    }
    // One removed before the dump is refused whatever is at its path now
    // (the scripted host would let it be entered).
    let mut d = restorable();
    d.process.cwd_removed = true;
    let mut host = Scripted::permissive(&d);
    let r = refused(&d, &mut host);
    assert_eq!((r.reason, r.errno, r.detail), (Reason::CwdRemoved, errno::ENOENT, Detail::Cwd));
    assert_eq!(Reason::CwdRemoved.name(), "cwd-removed");
    // An image without a working directory is not checked.
    let mut d = restorable();
    d.process.cwd = "".into();
    let mut host = Scripted::permissive(&d);
    host.cwd = Err(errno::ENOENT);
    run(&d, &mut host).expect("no cwd to check");
}

#[test]
fn mappings_are_counted_as_the_kernel_will_hold_them() {
    let mut d = restorable();
    d.regions.retain(|r| r.kind != RegionKind::Anon || r.flags != 0);
    // One region stored whole: one mapping, not three.
    d.regions.push(anon(0x7e00_0000_0000, 8, &[(0, 8)]));
    // Runs with gaps between, before and after: 3 runs + 4 gaps.
    d.regions.push(anon(0x7e00_0010_0000, 20, &[(2, 2), (6, 1), (10, 3)]));
    // Touching runs, counted apart; no gap before, one after.
    d.regions.push(anon(0x7e00_0020_0000, 10, &[(0, 2), (2, 2)]));
    d.regions.sort_by_key(|r| r.start);
    let bytes = common::build(&d);
    let image = Image::parse_bytes(&bytes).unwrap();
    let fp = footprint(&image, 0);
    let expected: u64 = image
        .regions()
        .map(|r| match r.start {
            0x7e00_0000_0000 => 1,
            0x7e00_0010_0000 => 7,
            0x7e00_0020_0000 => 3,
            // data: 2 runs with a gap between; heap: 2 runs, gaps between
            // and after; the rest (text without runs too) one each.
            0x5555_5555_c000 => 3,
            0x5555_5556_0000 => 4,
            _ => 1,
        })
        .sum::<u64>()
        + BLOCK_MAPPINGS;
    assert_eq!(fp.mappings, expected);

    // The limit is the kernel's: exactly enough passes, one fewer is refused.
    let mut host = Scripted::permissive(&d);
    let need = run(&d, &mut host).unwrap().footprint.mappings;
    assert_eq!(need, expected);
    host = Scripted::permissive(&d);
    host.max_map_count = need;
    run(&d, &mut host).expect("exactly at the limit");
    host = Scripted::permissive(&d);
    host.max_map_count = need - 1;
    let r = refused(&d, &mut host);
    assert_eq!(r.reason, Reason::TooManyMappings);
    assert_eq!(r.detail, Detail::Limit { need, limit: need - 1 });
}

#[test]
fn thirty_thousand_fully_stored_regions_fit_the_default_map_count() {
    // Like the process in the issue: ~30k mappings, each dirty throughout.
    let mut d = restorable();
    d.regions.retain(|r| r.kind != RegionKind::Anon);
    for i in 0..30_000u64 {
        d.regions.push(anon(0x6000_0000_0000 + i * 0x2000, 1, &[(0, 1)]));
    }
    d.regions.sort_by_key(|r| r.start);
    let mut host = Scripted::permissive(&d);
    let c = run(&d, &mut host).expect("fits vm.max_map_count 65530");
    assert!(c.footprint.mappings < 30_100, "{}", c.footprint.mappings);
    assert!(host.yields >= 30_000, "the policy yields at every region: {}", host.yields);
}

#[test]
fn a_fatal_signal_while_checking_stops_the_checks() {
    let mut d = restorable();
    for i in 0..2_000u64 {
        d.regions.push(anon(0x6000_0000_0000 + i * 0x2000, 1, &[]));
    }
    d.regions.sort_by_key(|r| r.start);
    let mut host = Scripted::permissive(&d);
    host.interrupt_after = Some(2);
    assert_eq!(refused(&d, &mut host).reason, Reason::Format(FormatError::Interrupted));
    assert_eq!(host.yields, 3);
}

#[test]
fn address_space_is_counted_with_the_restorers_block() {
    let desc = restorable();
    let mut host = Scripted::permissive(&desc);
    let fp = run(&desc, &mut host).unwrap().footprint;
    let regions: u64 = desc.regions.iter().map(|r| r.end - r.start).sum();
    assert!(fp.bytes > regions + STUB_LEN, "plan and stub are counted");
    host = Scripted::permissive(&desc);
    host.rlimit_as = fp.bytes;
    run(&desc, &mut host).expect("exactly at RLIMIT_AS");
    host = Scripted::permissive(&desc);
    host.rlimit_as = fp.bytes - 1;
    assert_eq!(refused(&desc, &mut host).reason, Reason::ExceedsRlimitAs);
}

#[test]
fn private_memory_is_mapped_without_reservation_and_shared_memory_with_it() {
    let desc = restorable();
    let bytes = common::build(&desc);
    let image = Image::parse_bytes(&bytes).unwrap();
    const NORESERVE: u32 = 0x4000;
    const SHARED: u32 = 0x01;
    for r in image.regions() {
        match (map_flags(&r), r.flags & region_flags::SHARED != 0) {
            (RegionMap::Kernel, _) => assert!(kernel_provided(&r)),
            (RegionMap::File(f) | RegionMap::Anon(f), false) => assert_eq!(f & (NORESERVE | SHARED), NORESERVE),
            (RegionMap::File(f) | RegionMap::Anon(f), true) => assert_eq!(f & (NORESERVE | SHARED), SHARED),
            (RegionMap::Reserve(..), _) => panic!("no region of this image is deferred"),
        }
    }
    // Stored pages: copied (this small image fits the budget whole), or
    // mapped from the image without reservation where the budget is spent.
    let stored = |r: &image_format::Region| image.page_runs(r).map(|run| run.page_count).sum::<u64>();
    let mut modes = PageModes::new();
    for r in image.regions() {
        let p = modes.next(&r, map_flags(&r), stored(&r));
        if stored(&r) != 0 && !kernel_provided(&r) {
            assert_eq!(p.run_flags, None, "{r:?}");
        }
    }
    let mut spent = PageModes::new();
    let huge = RegionMap::Anon(0x22);
    for r in image.regions() {
        let _ = spent.next(&r, huge, COPY_BUDGET / 4096);
        let p = spent.next(&r, map_flags(&r), stored(&r));
        match p.run_flags {
            Some(f) => assert_eq!(f & NORESERVE, NORESERVE),
            None => assert!(copies_pages(&r) || kernel_provided(&r) || stored(&r) == 0, "{r:?}"),
        }
    }
}

fn region(prot: u32, kind: RegionKind, flags: u32) -> image_format::Region {
    image_format::Region {
        start: 0x10000,
        end: 0x20000,
        prot,
        kind,
        flags,
        file: 0,
        path: Default::default(),
        file_offset: 0,
        file_id: Default::default(),
        first_run: 0,
        run_count: 1,
    }
}

/// The heap, file-backed and small anonymous private regions are copied
/// in image order while the budget lasts, each whole or not at all; what
/// does not fit is mapped from the image, and a later, smaller region may
/// still be copied. A larger anonymous region is always mapped. A region
/// without write permission is mapped writable for the copy, then given
/// its own protection again: a read-only shared anonymous mapping with
/// data restores too. A shared file mapping's pages never go through a
/// copy.
#[test]
fn stored_pages_are_copied_within_the_budget_then_mapped_from_the_image() {
    let page = 4096u64;
    let budget_pages = COPY_BUDGET / page;
    let small = SMALL_ANON / page;
    let rw = region(prot::READ | prot::WRITE, RegionKind::Heap, 0);
    let anon = RegionMap::Anon(0x22);
    let arena = region(prot::READ | prot::WRITE, RegionKind::Anon, 0);
    let mut m = PageModes::new();
    assert!(m.next(&arena, anon, small + 1).run_flags.is_some(), "a large anonymous region is mapped");
    assert_eq!(m.next(&arena, anon, small).run_flags, None, "a small one is copied");
    assert_eq!(m.next(&rw, anon, budget_pages - small).run_flags, None, "the rest of the budget goes to the heap");
    assert!(m.next(&arena, anon, 1).run_flags.is_some(), "the budget is spent");
    let mut m = PageModes::new();
    assert_eq!(m.next(&rw, anon, budget_pages - 10), RegionPages { map_prot: rw.prot, run_flags: None, final_prot: None });
    let p = m.next(&rw, anon, 11);
    assert!(p.run_flags.is_some(), "11 pages do not fit in the 10 left: {p:?}");
    assert_eq!(p.map_prot, rw.prot);
    assert_eq!(m.next(&rw, anon, 10).run_flags, None, "10 pages still fit");
    assert!(m.next(&rw, anon, 1).run_flags.is_some(), "the budget is spent");
    // The stack and shared anonymous memory are copied whatever is left.
    let stack = region(prot::READ | prot::WRITE, RegionKind::Stack, 0);
    assert_eq!(m.next(&stack, anon, budget_pages * 2).run_flags, None);
    let shm_ro = region(prot::READ, RegionKind::Anon, region_flags::SHARED | region_flags::SHARED_ANON);
    let p = m.next(&shm_ro, RegionMap::Anon(0x21), 3);
    assert_eq!(p, RegionPages { map_prot: prot::READ | prot::WRITE, run_flags: None, final_prot: Some(prot::READ) });
    // Read-only private memory (a data segment after RELRO): copied through
    // a writable mapping while the budget lasts.
    let relro = region(prot::READ, RegionKind::File, 0);
    let mut m = PageModes::new();
    assert_eq!(m.next(&relro, RegionMap::File(0x02), 2), RegionPages { map_prot: prot::READ | prot::WRITE, run_flags: None, final_prot: Some(prot::READ) });
    let shared_file = region(prot::READ | prot::WRITE, RegionKind::File, region_flags::SHARED);
    assert!(m.next(&shared_file, RegionMap::File(0x01), 2).run_flags.is_some());
    // No stored pages, or the kernel's: nothing to place, nothing spent.
    assert_eq!(m.next(&rw, anon, 0).final_prot, None);
    assert_eq!(m.next(&rw, anon, budget_pages - 2).run_flags, None, "only the relro's 2 pages were spent");
}

#[test]
fn regions_no_restorer_can_restore_are_refused_by_name() {
    let base = restorable();
    let cases: Vec<(Reason, Box<dyn Fn(&mut ImageDesc)>)> = vec![
        (Reason::SysvShm, Box::new(|d| *d = common::sample())),
        (
            Reason::SharedFileWithStoredPages,
            Box::new(|d| {
                let data = d.regions.iter_mut().find(|r| r.kind == RegionKind::File && !r.runs.is_empty()).unwrap();
                data.flags = region_flags::SHARED;
            }),
        ),
    ];
    for (want, mutate) in cases {
        let mut d = base.clone();
        mutate(&mut d);
        let mut host = Scripted::permissive(&d);
        let r = refused(&d, &mut host);
        assert_eq!(r.reason, want);
        assert!(matches!(r.detail, Detail::Region(_)), "{want:?} names its region");
    }
}

#[test]
fn mapped_files_are_compared_with_the_dump() {
    let desc = restorable();
    let text_id = desc.regions[0].file_id;
    let cases: Vec<(Result<FileFacts, i32>, Reason, i32)> = vec![
        (Err(errno::ENOENT), Reason::MappedFileMissing, errno::ENOENT),
        (Err(errno::EACCES), Reason::MappedFilePermission, errno::EACCES),
        (Err(errno::EIO), Reason::MappedFileOpenFailed, errno::EIO),
        (Ok(FileFacts { size: text_id.size + 1, ..regular(&text_id) }), Reason::MappedFileChanged, errno::ESTALE),
        (Ok(FileFacts { mode: 0o010_644, ..regular(&text_id) }), Reason::MappedFileChanged, errno::ESTALE),
        (Ok(FileFacts { noexec: true, ..regular(&text_id) }), Reason::MappedFileNoexec, errno::EACCES),
    ];
    for (facts, reason, errno) in cases {
        let mut host = Scripted::permissive(&desc);
        host.files.insert(b"/usr/bin/sample".to_vec(), facts);
        let r = refused(&desc, &mut host);
        assert_eq!((r.reason, r.errno, r.detail), (reason, errno, Detail::Region(0)));
    }
}

#[test]
fn a_writable_shared_file_mapping_gets_its_own_read_write_open() {
    let mut d = restorable();
    let mut shared = d.regions[1].clone();
    shared.start = 0x7e00_0000_0000;
    shared.end = shared.start + 4096;
    shared.flags = region_flags::SHARED;
    shared.runs.clear();
    shared.file_id = d.regions[0].file_id;
    d.regions.push(shared.clone());
    let mut second = shared;
    second.start += 0x10_0000;
    second.end += 0x10_0000;
    d.regions.push(second);
    d.regions.sort_by_key(|r| r.start);
    let mut host = Scripted::permissive(&d);
    run(&d, &mut host).unwrap();
    let rw: Vec<_> = host.opened.iter().filter(|(p, f)| p == b"/usr/bin/sample" && f & 3 == 2).collect();
    assert_eq!(rw.len(), 2, "each writable shared mapping opens the file O_RDWR");
    assert!(host.opened.iter().all(|(_, f)| f & 0o4000 != 0), "no open blocks (O_NONBLOCK)");
}

/// A read-only shared file mapping whose file was open for writing
/// (MAY_WRITE) gets a read-write open too, so that a later
/// mprotect(PROT_WRITE) works as it did; one without stays read-only.
#[test]
fn a_read_only_shared_mapping_that_may_write_gets_a_read_write_open() {
    for (flags, want) in [(region_flags::SHARED | region_flags::MAY_WRITE, 2), (region_flags::SHARED, 0)] {
        let mut d = restorable();
        let mut shared = d.regions[1].clone();
        shared.start = 0x7e00_0000_0000;
        shared.end = shared.start + 4096;
        shared.prot = prot::READ;
        shared.flags = flags;
        shared.runs.clear();
        shared.file_id = d.regions[0].file_id;
        d.regions.push(shared);
        d.regions.sort_by_key(|r| r.start);
        let mut host = Scripted::permissive(&d);
        run(&d, &mut host).unwrap();
        let modes: Vec<u32> = host.opened.iter().filter(|(p, _)| p == b"/usr/bin/sample").map(|(_, f)| f & 3).collect();
        assert_eq!(modes.iter().filter(|&&m| m == 2).count(), usize::from(want == 2), "flags {flags:#x}: opens {modes:?}");
    }
}

#[test]
fn fds_to_reopen_must_open_and_keep_their_kind() {
    let desc = restorable();
    let mut host = Scripted::permissive(&desc);
    host.files.insert(b"/tmp/log.txt".to_vec(), Err(errno::ENOENT));
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::FdFileMissing, Detail::Fd(3)));

    let mut host = Scripted::permissive(&desc);
    host.files.insert(b"/home/user".to_vec(), Ok(FileFacts { mode: 0o100_644, ..FileFacts::default() }));
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::FdFileChanged, Detail::Fd(4)));

    let mut d = restorable();
    d.fds[5].disposition = image_format::FdDisposition::Reopen;
    d.fds[5].path = "/run/socket".into();
    let mut host = Scripted::permissive(&d);
    let r = refused(&d, &mut host);
    assert_eq!(r.reason.name(), "fd-not-reopenable");
}

#[test]
fn the_vdso_must_be_this_kernels() {
    let desc = restorable();
    let here = Scripted::permissive(&desc).vdso.unwrap();
    let cases = [
        (None, true, Reason::CallerHasNoVdso),
        (Some(VdsoHere { vdso_len: 3 * 4096, ..here }), true, Reason::VdsoLayoutDiffers),
        (Some(VdsoHere { vvar_vclock_len: None, ..here }), true, Reason::VdsoLayoutDiffers),
        (Some(here), false, Reason::VdsoDiffers),
    ];
    for (vdso, same, want) in cases {
        let mut host = Scripted::permissive(&desc);
        host.vdso = vdso;
        host.vdso_same = same;
        assert_eq!(refused(&desc, &mut host).reason, want);
    }
    // A vdso not stored whole cannot be compared.
    let mut d = restorable();
    d.regions.iter_mut().find(|r| r.kind == RegionKind::Vdso).unwrap().runs = vec![RunDesc { page_index: 0, page_count: 1 }];
    let mut host = Scripted::permissive(&d);
    assert_eq!(refused(&d, &mut host).reason, Reason::VdsoNotStored);
    // An image without a vdso needs none.
    let mut d = restorable();
    d.regions.retain(|r| !matches!(r.kind, RegionKind::Vdso | RegionKind::Vvar | RegionKind::VvarVclock));
    d.auxv.retain(|a| a.key != 33);
    let mut host = Scripted::permissive(&d);
    host.vdso = None;
    assert_eq!(run(&d, &mut host).unwrap().vdso_base, 0);
}

#[test]
fn privilege_threads_and_an_unmappable_image_are_refused_first() {
    let desc = restorable();
    let mut host = Scripted::permissive(&desc);
    host.privileged = true;
    host.cwd = Err(errno::ENOENT);
    assert_eq!(refused(&desc, &mut host).reason, Reason::GrantsPrivilege);
    assert!(host.opened.is_empty(), "nothing opened for a refused image");

    let mut host = Scripted::permissive(&desc);
    host.nproc = 1;
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::ExceedsRlimitNproc, Detail::Limit { need: 2, limit: 1 }));

    let mut host = Scripted::permissive(&desc);
    host.mappable = false;
    assert_eq!(refused(&desc, &mut host).reason, Reason::ImageNotMappable);
}

#[test]
fn the_block_goes_in_the_highest_gap_that_fits_avoiding_both_lists() {
    let mut d = restorable();
    d.regions.retain(|r| r.start < 0x7000_0000_0000);
    let bytes = common::build(&d);
    let image = Image::parse_bytes(&bytes).unwrap();
    let top = 0x7fff_ffff_f000;
    let len = 0x10_0000;
    let at = find_hole(&image, &[], len, top, &mut || Ok(())).unwrap();
    let last_end = image.regions().map(|r| r.end).max().unwrap();
    assert_eq!(at, last_end + GUARD, "the top gap, at its low end");
    // Something of the restorer's own lies there: the next gap up from it.
    let avoid = [(last_end, 0x7fff_0000_0000)];
    let at = find_hole(&image, &avoid, len, top, &mut || Ok(())).unwrap();
    assert_eq!(at, 0x7fff_0000_0000 + GUARD);
    // Nothing fits: none.
    assert_eq!(find_hole(&image, &[(0, top)], len, top, &mut || Ok(())).unwrap_err().reason, Reason::NoRoomForRestorer);
    // A result never overlaps a region or an avoided range, guards included.
    let avoid = [(0x1_0000, 0x5555_0000_0000), (0x6000_0000_0000, 0x7fff_ffff_0000)];
    let at = find_hole(&image, &avoid, len, top, &mut || Ok(())).unwrap();
    let taken = image.regions().map(|r| (r.start, r.end)).chain(avoid);
    for (s, e) in taken {
        assert!(at + len + GUARD + ROOM_ABOVE <= s || at >= e + GUARD, "{at:#x} overlaps {s:#x}-{e:#x}");
    }
}

/// A shared description opened by path is checked like a reopened fd, at
/// the first fd that shares it; pipes and the caller's fds open nothing.
#[test]
fn shared_files_must_open_and_keep_their_kind() {
    let mut desc = common::sample_files();
    desc.regions.retain(|r| r.kind != RegionKind::SysvShm);
    let shared = b"/tmp/shared.txt".to_vec();
    let mut host = Scripted::permissive(&desc);
    host.files.insert(shared.clone(), Ok(FileFacts { mode: 0o100_644, ..FileFacts::default() }));
    run(&desc, &mut host).unwrap();
    let opens: Vec<u32> = host.opened.iter().filter(|(p, _)| *p == shared).map(|(_, f)| *f).collect();
    assert_eq!(opens.len(), 2, "once per fd that shares it");
    assert!(opens.iter().all(|f| f & 3 == 2 && f & 0o4000 != 0 && f & 0o2000 == 0), "O_RDWR, never blocking, no O_APPEND: {opens:?}");
    assert_eq!(host.opened.len(), host.opened.iter().filter(|(p, _)| !p.is_empty()).count(), "nothing opened without a path");

    let mut host = Scripted::permissive(&desc);
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::FdFileMissing, Detail::Fd(8)));

    let mut host = Scripted::permissive(&desc);
    host.files.insert(shared.clone(), Ok(FileFacts { mode: 0o040_755, ..FileFacts::default() }));
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::FdFileChanged, Detail::Fd(8)));

    let mut host = Scripted::permissive(&desc);
    host.files.insert(shared, Err(errno::EACCES));
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::FdFilePermission, Detail::Fd(8)));
}

/// A pipe above fs.pipe-max-size needs CAP_SYS_RESOURCE, a timerfd on an
/// alarm clock CAP_WAKE_ALARM: refused before the point of no return
/// without them, restored with them.
#[test]
fn pipes_above_pipe_max_size_and_alarm_timers_need_their_capability() {
    let mut desc = common::sample_files();
    desc.regions.retain(|r| r.kind != RegionKind::SysvShm);
    desc.files[1].values[0] = 4 << 20;
    desc.files[2].values[0] = 4 << 20;
    let mut host = Scripted::permissive_with_shared(&desc);
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::PipeTooLarge, Detail::Limit { need: 4 << 20, limit: 1 << 20 }));
    host.fd_limits.exceed_pipe_max = true;
    run(&desc, &mut host).unwrap();
    host.fd_limits = FdLimits { pipe_max_size: 4 << 20, exceed_pipe_max: false, wake_alarm: false };
    run(&desc, &mut host).unwrap();

    desc.files[8].values[0] = 9; // CLOCK_BOOTTIME_ALARM
    let r = refused(&desc, &mut host);
    assert_eq!(r.reason, Reason::TimerNeedsWakeAlarm);
    host.fd_limits.wake_alarm = true;
    run(&desc, &mut host).unwrap();
}

/// Queued signals with a negative si_code and POSIX timers take the
/// caller's RLIMIT_SIGPENDING; an image needing more is refused before the
/// point of no return, and one that fits is not.
#[test]
fn pending_signals_and_timers_beyond_rlimit_sigpending_are_refused() {
    let mut desc = restorable();
    let with = common::with_signals();
    desc.pending_signals = with.pending_signals; // 4 of 5 with si_code < 0
    desc.timers = common::with_timers().timers; // 3 POSIX timers
    let mut host = Scripted::permissive(&desc);
    host.sigpending = 6;
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::ExceedsRlimitSigpending, Detail::Limit { need: 7, limit: 6 }));
    host.sigpending = 7;
    assert!(run(&desc, &mut host).is_ok());
}

/// The stub mlocks LOCKED regions again under the caller's RLIMIT_MEMLOCK:
/// an image locking more than the caller may is refused before the point
/// of no return, one that fits (or a caller with CAP_IPC_LOCK, whose
/// allowance is unlimited) is not; unlocked regions do not count.
#[test]
fn locked_memory_beyond_rlimit_memlock_is_refused() {
    let mut desc = restorable();
    let private = |r: &RegionDesc| r.flags == 0 && matches!(r.kind, RegionKind::Heap | RegionKind::File | RegionKind::Stack);
    let anon: Vec<usize> = (0..desc.regions.len()).filter(|&i| private(&desc.regions[i])).collect();
    assert!(anon.len() >= 2, "the sample has two private regions besides the kernel's");
    let mut need = 0;
    for &i in &anon[..2] {
        desc.regions[i].flags |= region_flags::LOCKED;
        need += desc.regions[i].end - desc.regions[i].start;
    }
    let mut host = Scripted::permissive(&desc);
    host.memlock = need - 4096;
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::ExceedsRlimitMemlock, Detail::Limit { need, limit: need - 4096 }));
    host.memlock = need;
    assert!(run(&desc, &mut host).is_ok());
    host.memlock = 0;
    desc.regions[anon[0]].flags &= !region_flags::LOCKED;
    desc.regions[anon[1]].flags &= !region_flags::LOCKED;
    desc.regions[anon[1]].flags |= region_flags::DONTFORK | region_flags::HUGEPAGE;
    assert!(run(&desc, &mut host).is_ok(), "advice other than LOCKED needs no allowance");
}

/// Seccomp filters of a process with no_new_privs are installed for any
/// caller; without it only for a caller with CAP_SYS_ADMIN, others are
/// refused before the point of no return (not failed in the stub).
#[test]
fn seccomp_filters_without_no_new_privs_need_cap_sys_admin() {
    let mut desc = restorable();
    desc.seccomp = vec![image_format::SeccompDesc { flags: 0, code: vec![[6, 0, 0, 0, 0, 0, 0xff, 0x7f]] }];
    desc.attrs.flags |= image_format::attr_flags::NO_NEW_PRIVS;
    let mut host = Scripted::permissive(&desc);
    assert!(run(&desc, &mut host).is_ok(), "no_new_privs: anyone");
    desc.attrs.flags &= !image_format::attr_flags::NO_NEW_PRIVS;
    let r = refused(&desc, &mut host);
    assert_eq!((r.reason, r.reason.name()), (Reason::SeccompNotPermitted, "seccomp-not-permitted"));
    host.sys_admin = true;
    assert!(run(&desc, &mut host).is_ok(), "CAP_SYS_ADMIN");
}

/// The image's credentials are given to the restored process only by a
/// caller that may set any (root); any other caller keeps its own, and an
/// image without them changes nothing.
#[test]
fn credentials_are_taken_on_only_for_a_caller_that_may_set_them() {
    let mut desc = restorable();
    let mut host = Scripted::permissive(&desc);
    host.root = true;
    assert!(!run(&desc, &mut host).unwrap().set_creds, "none recorded");
    desc.creds = Some(image_format::v1::Creds { uid: 1000, euid: 1000, suid: 1000, fsuid: 1000, ..Default::default() });
    assert!(run(&desc, &mut host).unwrap().set_creds);
    host.root = false;
    assert!(!run(&desc, &mut host).unwrap().set_creds);
}

#[test]
fn sockets_are_bound_again_only_where_their_address_is_free() {
    let mut d = common::sample_sockets();
    d.regions.retain(|r| r.kind != RegionKind::SysvShm);
    let unix_addr = [&[1u8, 0][..], b"/tmp/s"].concat();
    let permissive = Scripted::permissive_with_shared;
    // Free: the inet addresses tried with their options, the unix path's
    // directory entered (nothing at /tmp/s), loopback for the reset one.
    let mut host = permissive(&d);
    run(&d, &mut host).expect("accepted");
    let mut loopback = common::sockaddr_in(0);
    loopback.truncate(16);
    assert_eq!(
        host.probed,
        vec![
            (2, 1, 1 | 2, common::sockaddr_in(8080), false),
            (10, 2, 8, common::sockaddr_in6(5353), false),
            (2, 1, 0, loopback.clone(), false),
        ]
    );
    // Without loopback, a reset connection cannot be made: refused.
    let mut host = permissive(&d);
    host.probes.insert((loopback, false), errno::EADDRNOTAVAIL);
    let r = refused(&d, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::SocketAddressUnavailable, Detail::Fd(22)));
    // A taken address names the fd; the errno decides the reason.
    for (errno, reason) in [
        (errno::EADDRINUSE, Reason::SocketAddressInUse),
        (errno::EADDRNOTAVAIL, Reason::SocketAddressUnavailable),
        (errno::EACCES, Reason::SocketPermission),
        (errno::EINVAL, Reason::SocketBindFailed),
    ] {
        let mut host = permissive(&d);
        host.probes.insert((common::sockaddr_in6(5353), false), errno);
        let r = refused(&d, &mut host);
        assert_eq!((r.reason, r.errno, r.detail), (reason, errno, Detail::Fd(21)));
    }
    // The unix path: its directory must be enterable.
    let mut host = permissive(&d);
    host.cwd = Err(errno::EACCES);
    assert_eq!(refused(&d, &mut host).reason, Reason::SocketPermission);
    // A stale socket file is accepted (the stub removes it), a live one
    // or another kind of file refused.
    let socket_file = Ok(FileFacts { mode: 0o140_755, ..FileFacts::default() });
    let mut host = permissive(&d);
    host.files.insert(b"/tmp/s".to_vec(), socket_file);
    host.probes.insert((unix_addr.clone(), true), errno::ECONNREFUSED);
    run(&d, &mut host).expect("a stale socket file is accepted");
    assert!(host.probed.contains(&(1, 1, 1, unix_addr.clone(), true)));
    let mut host = permissive(&d);
    host.files.insert(b"/tmp/s".to_vec(), socket_file);
    let r = refused(&d, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::SocketAddressInUse, Detail::Fd(20)));
    let mut host = permissive(&d);
    host.files.insert(b"/tmp/s".to_vec(), Ok(FileFacts { mode: 0o100_644, ..FileFacts::default() }));
    let r = refused(&d, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::SocketPathNotSocket, Detail::Fd(20)));
}

#[test]
fn repaired_tcp_connections_need_cap_net_admin_and_their_local_address() {
    let mut d = common::sample_tcp_repair();
    d.regions.retain(|r| r.kind != RegionKind::SysvShm);
    let permissive = Scripted::permissive_with_shared;
    // Allowed: the local address tried once, in repair mode.
    let mut host = permissive(&d);
    run(&d, &mut host).expect("accepted");
    assert_eq!(host.repair_probed, vec![(2, common::sockaddr_in(40000))]);
    assert!(host.probed.is_empty());
    // Without CAP_NET_ADMIN: refused naming the fd, never a reset or a
    // half-made connection.
    let mut host = permissive(&d);
    host.repair = Err(errno::EPERM);
    let r = refused(&d, &mut host);
    assert_eq!((r.reason, r.errno, r.detail), (Reason::TcpRepairNotPermitted, errno::EPERM, Detail::Fd(19)));
    // A local address this machine has not.
    let mut host = permissive(&d);
    host.repair = Err(errno::EADDRNOTAVAIL);
    let r = refused(&d, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::SocketAddressUnavailable, Detail::Fd(19)));
}

#[test]
fn named_fifos_need_a_fifo_at_their_path() {
    let mut d = common::sample_fifo();
    d.regions.retain(|r| r.kind != RegionKind::SysvShm);
    let with = |facts: Option<Result<FileFacts, i32>>| {
        let mut host = Scripted::permissive_with_shared(&d);
        match facts {
            Some(f) => host.files.insert(b"/tmp/f.fifo".to_vec(), f),
            None => host.files.remove(&b"/tmp/f.fifo"[..]),
        };
        host
    };
    let mut host = with(Some(Ok(FileFacts { mode: 0o010_644, ..FileFacts::default() })));
    run(&d, &mut host).expect("a FIFO there is accepted");
    let fifo_opens: Vec<_> = host.opened.iter().filter(|(p, _)| p == b"/tmp/f.fifo").collect();
    assert_eq!(fifo_opens, vec![&(b"/tmp/f.fifo".to_vec(), 0o10_000_000)], "looked up with O_PATH only, never opened");
    for (facts, reason) in [
        (Some(Ok(FileFacts { mode: 0o100_644, ..FileFacts::default() })), Reason::FifoPathNotFifo),
        (Some(Err(errno::ENOENT)), Reason::FdFileMissing),
        (Some(Err(errno::EACCES)), Reason::FdFilePermission),
    ] {
        let mut host = with(facts);
        let r = refused(&d, &mut host);
        assert_eq!((r.reason, r.detail), (reason, Detail::Fd(19)));
    }
}

#[test]
fn terminals_need_the_callers_terminal_and_ptmx() {
    let mut d = common::sample_pty();
    d.regions.retain(|r| r.kind != RegionKind::SysvShm);
    let chardev = |major: u64, minor: u64| Ok(FileFacts { mode: 0o020_620, rdev: (major << 8) | minor, ..FileFacts::default() });
    let host = || {
        let mut host = Scripted::permissive_with_shared(&d);
        host.files.insert(b"/dev/tty".to_vec(), chardev(5, 0));
        host.files.insert(b"/proc/self/fd/1".to_vec(), chardev(136, 3));
        host.files.insert(b"/dev/ptmx".to_vec(), chardev(5, 2));
        host
    };
    let mut ok = host();
    run(&d, &mut ok).expect("a caller with its terminals and ptys is accepted");
    let terminal_opens: Vec<_> = ok.opened.iter().filter(|(p, _)| p.starts_with(b"/dev/") || p.starts_with(b"/proc/")).cloned().collect();
    assert_eq!(
        terminal_opens,
        vec![
            (b"/dev/ptmx".to_vec(), 0o2 | 0o400 | 0o4000 | 0o2000000),
            // Its status flags (O_RDWR, O_WRONLY, O_LARGEFILE), O_NOCTTY, never blocking.
            (b"/dev/tty".to_vec(), 0o100002 | 0o400 | 0o4000 | 0o2000000),
            (b"/proc/self/fd/1".to_vec(), 0o100001 | 0o400 | 0o4000 | 0o2000000),
        ],
        "each opened once, O_NOCTTY"
    );
    // A serial line counts as a terminal too (major 4).
    let mut serial = host();
    serial.files.insert(b"/proc/self/fd/1".to_vec(), chardev(4, 64));
    run(&d, &mut serial).expect("a serial terminal on fd 1");
    for (path, facts, reason, fd) in [
        (&b"/dev/tty"[..], Err(6), Reason::NoCallerTerminal, 22),
        (b"/dev/tty", Err(errno::EACCES), Reason::FdFilePermission, 22),
        (b"/proc/self/fd/1", Ok(FileFacts { mode: 0o100_644, ..FileFacts::default() }), Reason::NoCallerTerminal, 23),
        (b"/proc/self/fd/1", chardev(1, 3), Reason::NoCallerTerminal, 23),
        (b"/proc/self/fd/1", Err(errno::ENOENT), Reason::NoCallerTerminal, 23),
        (b"/dev/ptmx", Err(errno::ENOENT), Reason::PtyUnavailable, 19),
    ] {
        let mut h = host();
        h.files.insert(path.to_vec(), facts);
        let r = refused(&d, &mut h);
        assert_eq!((r.reason, r.detail), (reason, Detail::Fd(fd)), "{}", String::from_utf8_lossy(path));
    }
    assert_eq!(Reason::NoCallerTerminal.exit_status(), exit::FD_FILE);
}

#[test]
fn inotify_watches_need_their_paths() {
    let mut d = common::sample_inotify();
    d.regions.retain(|r| r.kind != RegionKind::SysvShm);
    let present = |paths: &[&[u8]]| {
        let mut host = Scripted::permissive_with_shared(&d);
        for p in paths {
            host.files.insert(p.to_vec(), Ok(FileFacts { mode: 0o040_755, ..FileFacts::default() }));
        }
        host
    };
    let mut host = present(&[b"/tmp", b"/tmp/f"]);
    run(&d, &mut host).expect("both watched paths exist");
    assert!(host.opened.iter().any(|(p, f)| p == b"/tmp/f" && *f == 0o10_000_000));
    let mut host = present(&[b"/tmp"]);
    let r = refused(&d, &mut host);
    assert_eq!((r.reason, r.detail), (Reason::FdFileMissing, Detail::Fd(19)));
}

/// Deferred regions (plan::defers): a MAP_SHARED mapping of a memfd the
/// process holds (MAPS_FILE) is only reserved, PROT_NONE, private, over
/// nothing, in every restorer; a tree's shared memory only where the stub
/// creates its object after the restorer mapped memory, then reserved
/// readable and writable to hold its stored pages until the stub moves
/// them into the object.
#[test]
fn regions_mapping_an_object_the_stub_creates_are_reserved_for_it() {
    use restore_policy::region_map;
    const PRIVATE_ANON_NORESERVE_NOREPLACE: u32 = 0x02 | 0x20 | 0x4000 | 0x10_0000;
    let mut desc = restorable();
    let k = desc.regions.iter().position(|r| r.kind == RegionKind::Anon && !r.runs.is_empty()).expect("an anon region with pages");
    let mut shm = desc.regions[k].clone();
    shm.flags = region_flags::SHARED | region_flags::SHARED_ANON;
    desc.regions[k] = shm.clone();
    let bytes = common::build(&desc);
    let image = Image::parse_bytes(&bytes).unwrap();
    let r = image.regions().nth(k).unwrap();
    assert!(matches!(region_map(&r, false), RegionMap::Anon(_)), "ckpt-restore maps shared memory itself");
    assert_eq!(region_map(&r, true), RegionMap::Reserve(prot::READ | prot::WRITE, PRIVATE_ANON_NORESERVE_NOREPLACE));
    let reserve = region_map(&r, true);
    let p = PageModes::new().next(&r, reserve, 1);
    assert_eq!((p.map_prot, p.run_flags, p.final_prot), (prot::READ | prot::WRITE, None, None), "its pages are copied into the reservation");

    let mut desc = common::sample_files();
    let k = 3;
    desc.regions[k].flags = region_flags::SHARED | region_flags::MAPS_FILE;
    desc.regions[k].file = 9;
    desc.regions[k].runs.clear();
    let bytes = common::build(&desc);
    let image = Image::parse_bytes(&bytes).unwrap();
    let r = image.regions().nth(k).unwrap();
    assert_eq!(map_flags(&r), RegionMap::Reserve(0, PRIVATE_ANON_NORESERVE_NOREPLACE));
    assert_eq!(region_map(&r, true), map_flags(&r));
}

/// /proc/PID/exe is made to name the original program only where the
/// caller may (CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN), the program is a
/// file the image maps as the same file it recorded, and the restorer's
/// own exe is gone by then: never for the module (its exe is the image)
/// while any stored page is mapped from the image.
#[test]
fn the_exe_link_is_replaced_only_where_the_kernel_will_take_it() {
    // The sample's program, as the file its text region maps.
    let restorable = || {
        let mut d = restorable();
        d.process.exe_id = d.regions.iter().find(|r| r.kind == RegionKind::File).unwrap().file_id;
        d
    };
    let bytes = common::build(&restorable());
    let image = Image::parse_bytes(&bytes).unwrap();
    assert!(exe_link(&image, true, false), "ckpt-restore, privileged");
    assert!(!exe_link(&image, false, false), "unprivileged");
    // The sample's heap is copied within the budget; an arena larger than
    // SMALL_ANON is mapped from the image, which then stays the exe.
    assert!(exe_link(&image, true, true), "the module, nothing mapped from the image");
    let mut big = restorable();
    let arena = big.regions.iter_mut().find(|r| r.kind == RegionKind::Anon && !r.runs.is_empty() && r.flags == 0).expect("a private anon region with pages");
    let pages = (SMALL_ANON / 4096 + 1) as usize;
    arena.end = arena.start + pages as u64 * 4096;
    arena.runs = vec![image_format::RunDesc { page_index: 0, page_count: pages as u64 }];
    let bytes = common::build(&big);
    let image = Image::parse_bytes(&bytes).unwrap();
    assert!(!exe_link(&image, true, true), "the module with pages mapped from the image");
    assert!(exe_link(&image, true, false), "ckpt-restore all the same");
    // A program the image does not map (or maps as another file).
    let mut other = restorable();
    other.process.exe_path = "/usr/bin/other".into();
    let bytes = common::build(&other);
    assert!(!exe_link(&Image::parse_bytes(&bytes).unwrap(), true, false));
    // The default host (the test's) never asks for it.
    let bytes = common::build(&restorable());
    let image = Image::parse_bytes(&bytes).unwrap();
    let checked = check(&image, &mut Scripted::permissive(&restorable())).unwrap();
    assert!(!checked.exe_link);
}
