//! One hand-built hostile image (or call) per validator rule, each refused
//! with its own error name; and every error variant has such a case.
mod common;

use std::collections::BTreeSet;

use common::*;
use image_format::v1::records::{self, file_owner, region_flags, socket_flags, socket_type};
use image_format::*;

type Case = (&'static str, Box<dyn Fn() -> Result<(), FormatError>>);

fn img(b: Vec<u8>) -> Result<(), FormatError> {
    Image::parse_bytes(&b).map(|_| ())
}

/// A case that mutates the sample description and writes it unvalidated.
fn desc(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = sample();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample with open file descriptions.
fn unix(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = sample_unix_pair();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample with sockets (FILES 10-13).
fn sock(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = sample_sockets();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample with a deleted file (FILES 10).
fn deleted(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = sample_deleted();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample with an inotify instance (FILES 10).
fn inotify(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = sample_inotify();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample with a named FIFO (FILES 10).
fn fifo(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = sample_fifo();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample with terminals (FILES 10 the pty master,
/// 11 and 12 its slaves, 13 /dev/tty, 14 the caller's fd 1 again).
fn pty(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = sample_pty();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample with a repaired TCP connection
/// (FILES 10).
fn repair(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = sample_tcp_repair();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

fn files(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = sample_files();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that patches the bytes of the valid sample image.
fn bytes(name: &'static str, f: impl Fn(&mut Vec<u8>) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut b = build(&sample());
            f(&mut b);
            img(b)
        }),
    )
}

/// A case that mutates `with_signals()` and writes it unvalidated.
fn sig_desc(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = with_signals();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates `with_locks()` and writes it unvalidated.
/// The sample with every prctl attribute set, spoiled by `f`.
fn attrs_desc(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = with_attrs();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample with seccomp filters (`with_seccomp`).
fn seccomp_desc(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = with_seccomp();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample with scheduling (`with_sched`).
fn sched_desc(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = with_sched();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

fn lock_desc(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = with_locks();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates `with_timers()` and writes it unvalidated.
fn timer_desc(name: &'static str, f: impl Fn(&mut ImageDesc) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut d = with_timers();
            f(&mut d);
            img(build_unchecked(&d))
        }),
    )
}

/// A case that mutates the sample tree, written unvalidated, read whole.
fn tree(name: &'static str, f: impl Fn(&mut Vec<TreeMemberDesc>) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut t = sample_tree();
            f(&mut t);
            parse_tree_bytes(&build_tree_unchecked(&t)).map(|_| ())
        }),
    )
}

/// A case that patches the bytes of the valid sample tree.
fn tree_bytes(name: &'static str, f: impl Fn(&mut Vec<u8>) + 'static) -> Case {
    (
        name,
        Box::new(move || {
            let mut b = build_tree(&sample_tree());
            f(&mut b);
            parse_tree_bytes(&b).map(|_| ())
        }),
    )
}

fn fix_header(b: &mut [u8]) {
    let c = crc32c(&b[..252]);
    wr32(b, 252, c);
}

fn thread0(d: &mut ImageDesc) -> &mut ThreadDesc {
    &mut d.threads[0]
}

fn cases() -> Vec<Case> {
    use section_kind as k;
    vec![
        // Header and file layout.
        bytes("truncated", |b| {
            b.pop();
        }),
        bytes("trailing-data", |b| b.push(0)),
        bytes("bad-magic", |b| b[1] = b'X'),
        bytes("unknown-major-version", |b| b[8] = 2),
        bytes("header-checksum", |b| b[200] = 1),
        bytes("unsupported-arch", |b| (wr32(b, 12, 3), fix_header(b)).1),
        bytes("unsupported-page-size", |b| {
            (wr32(b, 16, 65536), fix_header(b)).1
        }),
        // Bit 2: the first one v1 does not know (0 TREE, 1 MEMBER).
        bytes("unknown-header-flags", |b| {
            (wr32(b, 20, 4), fix_header(b)).1
        }),
        bytes("reserved-not-zero", |b| (b[200] = 1, fix_header(b)).1),
        bytes("bad-timestamp", |b| {
            (wr32(b, 32, 1_000_000_000), fix_header(b)).1
        }),
        bytes("string-not-terminated", |b| {
            (b[96..161].fill(b'a'), fix_header(b)).1
        }),
        bytes("layout-inconsistent", |b| {
            (upd64(b, 56, |v| v + 4096), fix_header(b)).1
        }),
        bytes("metadata-over-limit", |b| {
            (wr64(b, 48, 65 << 20), fix_header(b)).1
        }),
        bytes("misaligned", |b| (upd64(b, 48, |v| v + 4), fix_header(b)).1),
        // Metadata framing.
        bytes("metadata-checksum", |b| b[300] ^= 1),
        bytes("section-checksum", |b| {
            (b[300] ^= 1, reseal_with(b, false)).1
        }),
        bytes("section-overrun", |b| {
            let s = section_at(b, k::FDS);
            upd64(b, s + 8, |v| v + 8);
            reseal(b);
        }),
        bytes("unknown-section-flags", |b| {
            (
                {
                    let o = section_at(b, k::PROCESS) + 4;
                    wr32(b, o, 2)
                },
                reseal(b),
            )
                .1
        }),
        bytes("sections-out-of-order", |b| {
            (
                {
                    let o = section_at(b, k::STRINGS);
                    wr32(b, o, k::PROCESS)
                },
                reseal(b),
            )
                .1
        }),
        bytes("unknown-required-section", |b| {
            (
                {
                    let o = section_at(b, k::FDS);
                    wr32(b, o, 200)
                },
                reseal(b),
            )
                .1
        }),
        bytes("misplaced-section", |b| {
            (
                {
                    let o = section_at(b, k::FDS);
                    wr32(b, o, k::PAGE_CRCS)
                },
                reseal(b),
            )
                .1
        }),
        bytes("missing-section", |b| {
            let s = section_at(b, k::FDS);
            wr32(b, s, 9);
            wr32(b, s + 4, SECTION_OPTIONAL);
            reseal(b);
        }),
        bytes("bad-record-size", |b| {
            let s = section_at(b, k::REGIONS);
            upd32(b, s + 16, |v| v * 2);
            wr32(b, s + 20, 48);
            reseal(b);
        }),
        bytes("section-size-mismatch", |b| {
            (
                {
                    let o = section_at(b, k::PROCESS) + 16;
                    wr32(b, o, 2)
                },
                reseal(b),
            )
                .1
        }),
        desc("count-over-limit", |d| {
            d.auxv = vec![
                AuxvEntry {
                    key: 6,
                    value: 4096
                };
                65
            ]
        }),
        // Strings.
        bytes("string-out-of-bounds", |b| {
            (
                {
                    let o = record_at(b, k::PROCESS, 0) + 40;
                    wr32(b, o, 0xff_0000)
                },
                reseal(b),
            )
                .1
        }),
        bytes("string-not-terminated", |b| {
            let r = record_at(b, k::PROCESS, 0);
            upd32(b, r + 44, |v| v + 1);
            reseal(b);
        }),
        desc("string-contains-nul", |d| {
            d.process.exe_path = ByteString(b"/usr/\0bin".to_vec())
        }),
        desc("path-too-long", |d| {
            d.process.cwd = ByteString(vec![b'a'; 4096])
        }),
        desc("string-not-terminated", |d| {
            d.process.comm = ByteString(vec![b'c'; 16])
        }),
        // Process.
        // PROCESS bytes 444..448, reserved once, are now cwd_removed: the
        // reserved word of a LOCKS record instead.
        (
            "reserved-not-zero",
            Box::new(|| {
                let mut b = build(&with_locks());
                let r = record_at(&b, k::LOCKS, 0);
                b[r + 13] = 1;
                reseal(&mut b);
                img(b)
            }),
        ),
        desc("bad-pid", |d| d.process.pid = 0),
        desc("bad-umask", |d| d.process.umask = 0o1000),
        desc("bad-rlimit", |d| {
            d.process.rlimits[3] = Rlimit { cur: 10, max: 5 }
        }),
        desc("bad-mm-layout", |d| {
            d.process.mm.env_end = d.process.mm.env_start - 1
        }),
        desc("bad-mm-layout", |d| d.process.mm.brk = 0x8000_0000_0000),
        desc("bad-xcr0", |d| d.process.xcr0 = 0x6),
        desc("bad-xsave-size", |d| d.process.xsave_size = 512),
        desc("bad-auxv", |d| d.auxv[1].key = 0),
        // Threads.
        desc("no-threads", |d| d.threads.clear()),
        desc("threads-unsorted-or-duplicate", |d| {
            d.threads[1].state.tid = d.threads[0].state.tid
        }),
        desc("bad-pid", |d| thread0(d).state.tid = 5_000_000),
        // Thread names: at most 15 bytes.
        desc("bad-thread-name", |d| d.threads[1].name = "sixteen-bytes-xx".into()),
        desc("bad-code-segment", |d| thread0(d).state.regs.cs = 0x23),
        desc("bad-stack-segment", |d| thread0(d).state.regs.ss = 0x33),
        desc("bad-data-segment", |d| thread0(d).state.regs.fs = 0x10),
        desc("non-canonical-register", |d| {
            thread0(d).state.regs.rip = 0x0000_8000_0000_0000
        }),
        desc("non-canonical-register", |d| {
            thread0(d).state.regs.gs_base = 0x1234_0000_0000_0000
        }),
        desc("bad-eflags", |d| thread0(d).state.regs.eflags |= 0x3000),
        desc("bad-eflags", |d| thread0(d).state.regs.eflags |= 1 << 17),
        desc("bad-sigaltstack", |d| thread0(d).state.altstack.flags = 4),
        desc("bad-rseq", |d| thread0(d).state.rseq.len = 16),
        desc("xsave-size-mismatch", |d| thread0(d).xsave.0.truncate(576)),
        desc("xstate-bv-mismatch", |d| thread0(d).state.xstate_bv = 3),
        desc("xstate-bv-not-in-xcr0", |d| d.process.xcr0 = 3),
        desc("bad-xsave-header", |d| thread0(d).xsave.0[520] = 1),
        desc("bad-xsave-header", |d| thread0(d).xsave.0[560] = 1),
        desc("bad-mxcsr", |d| thread0(d).xsave.0[26] = 1),
        // Signal actions.
        desc("bad-sigaction", |d| {
            d.sigactions[8].handler = 0x5555_5555_6000
        }),
        desc("bad-sigaction", |d| {
            d.sigactions[1].restorer = 0xffff_8000_0000_0000
        }),
        desc("section-size-mismatch", |d| d.sigactions.truncate(63)),
        // Regions and page runs.
        desc("misaligned", |d| d.regions[0].start += 1),
        desc("misaligned", |d| d.regions[0].file_offset = 100),
        desc("empty-region", |d| d.regions[7].end = d.regions[7].start),
        desc("region-outside-user-space", |d| {
            d.regions.push(region_at(0xffff_ffff_ff60_0000, 1))
        }),
        desc("region-outside-user-space", |d| {
            d.regions.push(region_at(0x7fff_ffff_f000, 1))
        }),
        desc("regions-overlap-or-unsorted", |d| d.regions.swap(0, 1)),
        desc("regions-overlap-or-unsorted", |d| d.regions[0].end += 4096),
        desc("bad-prot", |d| d.regions[0].prot = 8),
        bytes("unknown-region-kind", |b| {
            (
                {
                    let o = record_at(b, k::REGIONS, 0) + 20;
                    wr32(b, o, 99)
                },
                reseal(b),
            )
                .1
        }),
        desc("unknown-region-flags", |d| d.regions[3].flags = 4096),
        // Per-mapping state: never on the kernel's regions, WIPEONFORK on
        // private anonymous memory only, no exclusive pair.
        desc("inconsistent-region-flags", |d| {
            let vdso = d.regions.iter().position(|r| r.kind == RegionKind::Vdso).expect("a vdso");
            d.regions[vdso].flags = region_flags::DONTDUMP
        }),
        desc("inconsistent-region-flags", |d| d.regions[0].flags = region_flags::WIPEONFORK),
        desc("inconsistent-region-flags", |d| {
            d.regions[3].flags = region_flags::SHARED | region_flags::SHARED_ANON | region_flags::WIPEONFORK
        }),
        desc("inconsistent-region-flags", |d| d.regions[2].flags = region_flags::HUGEPAGE | region_flags::NOHUGEPAGE),
        desc("inconsistent-region-flags", |d| d.regions[2].flags = region_flags::SEQUENTIAL | region_flags::RANDOM),
        // MAY_WRITE: shared file mappings only (regions[0] is a private file one).
        desc("inconsistent-region-flags", |d| d.regions[0].flags = region_flags::MAY_WRITE),
        desc("inconsistent-region-flags", |d| {
            d.regions[3].flags = region_flags::SHARED | region_flags::SHARED_ANON | region_flags::MAY_WRITE
        }),
        desc("inconsistent-region-flags", |d| {
            d.regions[3].flags = region_flags::SHARED_ANON
        }),
        desc("inconsistent-region-flags", |d| {
            d.regions[0].flags = region_flags::SHARED | region_flags::SHARED_ANON
        }),
        desc("missing-path", |d| {
            d.regions[0].path = ByteString::default()
        }),
        desc("duplicate-special-region", |d| {
            d.regions[3].kind = RegionKind::Heap
        }),
        desc("pages-not-allowed", |d| {
            d.regions[7].runs = vec![RunDesc {
                page_index: 0,
                page_count: 1,
            }]
        }),
        bytes("page-run-index-mismatch", |b| {
            (
                {
                    let o = record_at(b, k::REGIONS, 1) + 88;
                    wr32(b, o, 1)
                },
                reseal(b),
            )
                .1
        }),
        bytes("page-run-index-mismatch", |b| {
            (
                {
                    let o = record_at(b, k::REGIONS, 9) + 92;
                    wr32(b, o, 0)
                },
                reseal(b),
            )
                .1
        }),
        desc("empty-page-run", |d| d.regions[1].runs[0].page_count = 0),
        desc("page-run-outside-region", |d| {
            d.regions[1].runs[1].page_count = 2
        }),
        desc("page-runs-overlap-or-unsorted", |d| {
            d.regions[2].runs.swap(0, 1)
        }),
        desc("page-runs-overlap-or-unsorted", |d| {
            d.regions[2].runs[1].page_index = 1
        }),
        bytes("page-run-offset-mismatch", |b| {
            let r = record_at(b, k::PAGE_RUNS, 0);
            upd64(b, r + 16, |v| v + 4096);
            reseal(b);
        }),
        bytes("page-run-outside-file", |b| resize_page_data(b, -1)),
        bytes("page-data-length-mismatch", |b| resize_page_data(b, 1)),
        // File descriptors.
        desc("fd-out-of-range", |d| d.fds[5].fd = 1 << 20),
        desc("fds-unsorted-or-duplicate", |d| d.fds[2].fd = 1),
        bytes("unknown-fd-kind", |b| {
            (
                {
                    let o = record_at(b, k::FDS, 0) + 4;
                    wr32(b, o, 99)
                },
                reseal(b),
            )
                .1
        }),
        bytes("unknown-fd-disposition", |b| {
            (
                {
                    let o = record_at(b, k::FDS, 0) + 8;
                    wr32(b, o, 9)
                },
                reseal(b),
            )
                .1
        }),
        desc("bad-fd-disposition", |d| {
            d.fds[3].disposition = FdDisposition::Inherit
        }),
        bytes("bad-cloexec", |b| {
            (
                {
                    let o = record_at(b, k::FDS, 0) + 32;
                    wr32(b, o, 2)
                },
                reseal(b),
            )
                .1
        }),
        desc("bad-fd-offset", |d| d.fds[3].offset = 1 << 63),
        desc("missing-path", |d| d.fds[3].path = ByteString::default()),
        // Open file descriptions.
        files("bad-fd-file", |d| d.fds[6].file = 10),
        desc("bad-fd-file", |d| d.fds[3].file = 1),
        files("bad-fd-file", |d| d.fds[6].offset = 1),
        files("bad-fd-file", |d| d.fds[6].open_flags = 2),
        files("bad-fd-file", |d| d.fds[6].path = "/x".into()),
        (
            "unknown-file-kind",
            Box::new(|| {
                let mut b = build(&sample_files());
                let o = record_at(&b, k::FILES, 0);
                wr32(&mut b, o, 77);
                reseal(&mut b);
                img(b)
            }),
        ),
        // FILES bytes 88..96, reserved once, are now `owner`: the reserved
        // word of a SOCKOPTS record instead.
        (
            "reserved-not-zero",
            Box::new(|| {
                let mut b = build(&with_sockopts());
                let o = record_at(&b, k::SOCKOPTS, 0) + 12;
                b[o] = 1;
                reseal(&mut b);
                img(b)
            }),
        ),
        // Signal-driven I/O: only on kinds that signal, well-formed.
        files("bad-file-owner", |d| d.files[0].status_flags |= 0o20000),
        files("bad-file-owner", |d| d.files[5].owner = file_owner::encode(4242, file_owner::PID, 0)),
        files("bad-file-owner", |d| d.files[1].owner = file_owner::encode(4242, 3, 0)),
        files("bad-file-owner", |d| d.files[1].owner = file_owner::encode(4242, file_owner::PID, 65)),
        files("bad-file-owner", |d| d.files[1].owner = file_owner::encode(4_194_305, file_owner::PID, 0)),
        files("bad-file-owner", |d| d.files[1].owner = file_owner::encode(0, file_owner::PGRP, 0)),
        files("bad-file-owner", |d| d.files[1].owner = 1 << 48 | 4242),
        files("bad-file-flags", |d| d.files[0].status_flags |= 0o100),
        files("bad-file-flags", |d| d.files[0].status_flags |= 3),
        files("bad-file-flags", |d| d.files[3].kind_flags |= 2),
        files("bad-file-flags", |d| d.files[1].status_flags = 2),
        files("bad-file-flags", |d| d.files[1].status_flags |= 0o40000),
        files("bad-file-values", |d| d.files[0].offset = 1 << 63),
        files("bad-file-values", |d| d.files[0].values[1] = 1),
        files("bad-file-values", |d| d.files[0].pipe = 1),
        files("bad-file-values", |d| d.files[0].kind_flags = 1),
        files("bad-file-values", |d| d.files[0].data = Blob(vec![1])),
        files("bad-file-values", |d| d.files[1].path = "/p".into()),
        files("bad-file-values", |d| d.files[2].offset = 5),
        files("bad-file-values", |d| d.files[2].values[4] = 5),
        files("bad-file-values", |d| d.files[4].status_flags = 1),
        files("bad-file-values", |d| d.files[4].path = "/p".into()),
        files("missing-path", |d| d.files[0].path = ByteString::default()),
        // MAPS_FILE: regions[3] (private anon) made a shared mapping of
        // the memfd, FILES 9 (maps_memfd is the valid form).
        files("bad-region-file", |d| (maps_memfd(d), d.regions[3].file = 99).1),
        files("bad-region-file", |d| (maps_memfd(d), d.regions[3].file = 0).1),
        // A memfd sealed F_SEAL_FUTURE_WRITE mapped writable.
        files("bad-region-file", |d| (maps_memfd(d), d.files[9].values[1] |= 0x10).1),
        // A read-only deleted file mapped writable.
        files("bad-region-file", |d| (maps_memfd(d), d.files.push(deleted_file(0)), d.regions[3].file = 10).1),
        files("bad-region-file", |d| d.regions[3].file = 9),
        files("inconsistent-region-flags", |d| (maps_memfd(d), d.regions[3].runs = vec![RunDesc { page_index: 0, page_count: 1 }]).1),
        files("inconsistent-region-flags", |d| (maps_memfd(d), d.regions[3].flags |= region_flags::SHARED_ANON).1),
        files("inconsistent-region-flags", |d| (maps_memfd(d), d.regions[3].flags = region_flags::MAPS_FILE).1),
        files("inconsistent-region-flags", |d| (maps_memfd(d), d.regions[0].flags = region_flags::SHARED | region_flags::MAPS_FILE, d.regions[0].runs.clear(), d.regions[0].file = 9).1),
        (
            "file-data-out-of-bounds",
            Box::new(|| {
                let mut b = build(&sample_files());
                let o = record_at(&b, k::FILES, 1) + 40;
                wr64(&mut b, o, 1000);
                reseal(&mut b);
                img(b)
            }),
        ),
        (
            "file-data-out-of-bounds",
            Box::new(|| {
                let mut b = build(&sample_files());
                let o = record_at(&b, k::FILES, 1) + 32;
                wr64(&mut b, o, u64::MAX);
                reseal(&mut b);
                img(b)
            }),
        ),
        files("bad-pipe", |d| d.files[1].pipe = 2),
        files("bad-pipe", |d| d.files[2].pipe = 2),
        files("bad-pipe", |d| d.files[3].pipe = 1),
        files("bad-pipe", |d| d.files[2].status_flags = 0),
        files("bad-pipe", |d| d.files[2].data = Blob(vec![1])),
        files("bad-pipe", |d| d.files[3].kind_flags = 0),
        files("bad-pipe", |d| {
            d.files.truncate(2);
            d.fds.truncate(9);
        }),
        files("bad-pipe-size", |d| d.files[1].values[0] = 0),
        files("bad-pipe-size", |d| d.files[1].values[0] = (1 << 31) + 1),
        files("bad-pipe-size", |d| d.files[2].values[0] = 4096),
        files("bad-pipe-size", |d| d.files[1].values[0] = 2),
        files("bad-stdio-file", |d| d.files[4].values[0] = 3),
        files("bad-stdio-file", |d| d.fds[1].disposition = FdDisposition::Closed),
        files("bad-file-flags", |d| d.files[5].status_flags = 0),
        files("bad-file-flags", |d| d.files[5].kind_flags = 2),
        files("bad-file-flags", |d| d.files[8].kind_flags = 4),
        files("bad-file-values", |d| d.files[5].values[0] = u64::MAX),
        files("bad-file-values", |d| d.files[6].values[1] = 1),
        files("bad-file-values", |d| d.files[6].kind_flags = 1),
        files("bad-file-values", |d| d.files[7].offset = 1),
        files("bad-epoll-target", |d| d.files[7].epoll[0].fd = 5),
        files("bad-epoll-target", |d| d.files[7].epoll[0].fd = 7),
        files("bad-epoll-events", |d| d.files[7].epoll[0].events |= 0x4000),
        files("bad-epoll-events", |d| d.files[7].epoll[0].events = (1 << 28) | (1 << 30)),
        (
            "bad-epoll-entries",
            Box::new(|| {
                let mut b = build(&sample_files());
                let o = record_at(&b, k::FILES, 7) + 56;
                wr64(&mut b, o, 1);
                reseal(&mut b);
                img(b)
            }),
        ),
        (
            "bad-epoll-entries",
            Box::new(|| {
                let mut b = build(&sample_files());
                let o = record_at(&b, k::FILES, 7) + 48;
                wr64(&mut b, o, 1);
                reseal(&mut b);
                img(b)
            }),
        ),
        files("bad-timerfd", |d| d.files[8].values[0] = 2),
        files("bad-timerfd", |d| d.files[8].values[1] = 1 << 63),
        files("bad-timerfd", |d| d.files[8].values[4] = 1),
        files("bad-file-values", |d| d.files[9].values[0] = 15),
        files("bad-file-values", |d| d.files[9].values[1] = 0x40),
        files("bad-file-values", |d| d.files[9].offset = 1 << 63),
        files("bad-file-flags", |d| d.files[9].status_flags = 0),
        files("bad-file-values", |d| d.files[5].data = Blob(vec![1])),
        // Unix socket pairs.
        unix("bad-unix-pair", |d| d.files[11].pipe = 2),
        unix("bad-unix-pair", |d| d.files[10].pipe = 2),
        unix("bad-unix-pair", |d| d.files[11].values[0] = 2),
        unix("bad-unix-pair", |d| d.files[10].values[0] = 3),
        unix("bad-unix-pair", |d| {
            d.files[10].values[0] = 2;
            d.files[11].values[0] = 2;
        }),
        unix("bad-unix-pair", |d| d.files[10].data = Blob(vec![0; (4 << 20) + 1])),
        unix("bad-unix-pair", |d| {
            d.files.truncate(11);
            d.fds.pop();
        }),
        unix("bad-unix-pair", |d| d.files.swap(9, 10)),
        unix("bad-file-flags", |d| d.files[10].status_flags = 0),
        unix("bad-file-flags", |d| d.files[10].status_flags |= 0o2000),
        // An end whose peer is gone is alone under its number.
        unix("bad-unix-pair", |d| d.files[10].kind_flags = 1),
        unix("bad-unix-pair", |d| d.files[11].kind_flags = 1),
        unix("bad-unix-pair", |d| d.files[10].kind_flags = 4),
        unix("bad-file-values", |d| d.files[11].values[1] = 1),
        unix("bad-file-values", |d| d.files[11].offset = 1),
        unix("bad-file-values", |d| d.files[11].path = "/s".into()),
        // Sockets: family, type, options, backlog, address.
        sock("bad-socket", |d| d.files[10].values[0] = 3),
        sock("bad-socket", |d| d.files[10].values[1] = 3),
        sock("bad-socket", |d| d.files[10].values[1] = 5),
        sock("bad-socket", |d| d.files[12].kind_flags |= 1),
        sock("bad-socket", |d| d.files[12].values[2] = 1),
        sock("bad-socket", |d| d.files[12].values[3] = 1),
        sock("bad-socket", |d| d.files[10].values[2] = 1 << 31),
        sock("bad-socket", |d| d.files[10].values[3] = 1 << 32),
        sock("bad-socket", |d| d.files[10].kind_flags |= 8),
        sock("bad-socket", |d| d.files[10].kind_flags |= 16),
        sock("bad-socket", |d| d.files[10].data.0[0] = 10),
        sock("bad-socket", |d| d.files[10].data.0.push(0)),
        sock("bad-socket", |d| d.files[10].data.0[2..4].copy_from_slice(&[0, 0])),
        sock("bad-socket", |d| d.files[12].data.0.truncate(16)),
        sock("bad-socket", |d| d.files[11].data = Blob(vec![1, 0])),
        sock("bad-socket", |d| d.files[11].data = Blob(vec![1, 0, 0])),
        sock("bad-socket", |d| d.files[11].data.0.extend_from_slice(b"\0x")),
        sock("bad-socket", |d| d.files[11].data.0.extend_from_slice(&[b'x'; 103])),
        sock("bad-socket", |d| d.files[11].data = Blob(Vec::new())),
        sock("bad-socket", |d| d.files[13].values[0] = 1),
        // A connected unix socket: a datagram one, its local address's
        // length in value3 (within FILE_DATA), a peer name after it.
        sock("bad-socket", |d| {
            d.files[11].kind_flags = socket_flags::CONNECTED;
            d.files[11].values[2] = 0;
        }),
        sock("bad-socket", |d| {
            d.files[11] = connected_unix_dgram(b"", b"/dev/log");
            d.files[11].values[3] = 100;
        }),
        sock("bad-socket", |d| {
            d.files[11] = connected_unix_dgram(b"", b"/dev/log");
            d.files[11].values[1] = socket_type::STREAM;
        }),
        sock("bad-socket", |d| d.files[11] = connected_unix_dgram(b"/tmp/me", b"")),
        sock("bad-socket", |d| {
            d.files[12].kind_flags = socket_flags::CONNECTED;
            d.files[12].data.0.extend_from_slice(&sockaddr_in6(53));
            d.files[12].values[3] = 28;
        }),
        sock("bad-socket", |d| {
            d.files[13].data.0.pop();
        }),
        sock("bad-socket", |d| d.files[13].data.0.truncate(16)),
        sock("bad-file-flags", |d| d.files[10].status_flags = 0o4000),
        sock("bad-file-flags", |d| d.files[11].status_flags |= 0o2000),
        sock("bad-file-flags", |d| d.files[13].status_flags = 0),
        sock("bad-file-values", |d| d.files[10].offset = 1),
        sock("bad-file-values", |d| d.files[11].path = "/tmp/s".into()),
        sock("bad-socket", |d| d.files[10].values[4] = 1),
        // Netlink: a protocol below 32, raw or datagram, no listening or
        // connecting, a sockaddr_nl with its padding zero and a port or
        // groups.
        sock("bad-socket", |d| d.files[12] = netlink(32, 7, 1)),
        sock("bad-socket", |d| {
            d.files[12] = netlink(0, 7, 1);
            d.files[12].values[1] = socket_type::STREAM;
        }),
        sock("bad-socket", |d| {
            d.files[12] = netlink(0, 7, 1);
            d.files[12].kind_flags |= socket_flags::LISTENING;
        }),
        sock("bad-socket", |d| {
            d.files[12] = netlink(0, 7, 1);
            d.files[12].data.0[2] = 1;
        }),
        sock("bad-socket", |d| d.files[12] = netlink(0, 0, 0)),
        sock("bad-socket", |d| {
            d.files[12] = netlink(0, 7, 1);
            d.files[12].data.0.pop();
        }),
        sock("bad-file-values", |d| d.files[13].kind_flags = 1),
        // Socket options: on a socket the restore creates, of the list,
        // belonging to that socket, in range, sorted.
        sock("bad-socket-option", |d| d.files[0].sockopts = vec![opt(1, 9, 1)]),
        sock("bad-socket-option", |d| d.files[13].sockopts = vec![opt(6, 1, 1)]),
        sock("bad-socket-option", |d| d.files[10].sockopts = vec![opt(1, 36, 5)]),
        sock("bad-socket-option", |d| d.files[12].sockopts = vec![opt(6, 1, 1)]),
        sock("bad-socket-option", |d| d.files[12].sockopts = vec![opt(0, 2, 64)]),
        sock("bad-socket-option", |d| d.files[11].sockopts = vec![opt(1, 9, 1)]),
        sock("bad-socket-option", |d| d.files[10].sockopts = vec![opt(1, 12, 7)]),
        sock("bad-socket-option", |d| d.files[10].sockopts = vec![opt(1, 8, 4097)]),
        sock("bad-socket-option", |d| d.files[10].sockopts = vec![opt(1, 13, 1 << 33)]),
        sock("bad-socket-option", |d| d.files[10].sockopts = vec![opt(1, 20, 0)]),
        sock("bad-socket-option", |d| d.files[10].sockopts = vec![opt(6, 1, 2)]),
        sock("sockopts-unsorted-or-duplicate", |d| d.files[10].sockopts = vec![opt(6, 1, 1), opt(1, 9, 1)]),
        sock("sockopts-unsorted-or-duplicate", |d| d.files[10].sockopts = vec![opt(6, 1, 1), opt(6, 1, 1)]),
        repair("bad-socket-option", |d| d.files[10].sockopts = vec![opt(1, 8, 4096)]),
        sock("bad-file-values", |d| d.files[13].values[2] = 1),
        sock("bad-file-values", |d| d.files[10].pipe = 1),
        // A named FIFO: queued bytes on a write end or too many, flags.
        fifo("bad-fifo", |d| {
            d.files[10].status_flags = 0o1;
        }),
        fifo("bad-fifo", |d| d.files[10].data = Blob(vec![0; (1 << 20) + 1])),
        fifo("bad-file-flags", |d| d.files[10].status_flags = 0o3),
        fifo("bad-file-flags", |d| d.files[10].status_flags |= 0o2000),
        fifo("bad-file-values", |d| d.files[10].values[0] = 1),
        fifo("bad-file-values", |d| d.files[10].offset = 1),
        fifo("missing-path", |d| d.files[10].path = "".into()),
        // Terminals: the caller's (which fd, flags), pty pairs (numbers,
        // order, termios, flags, values).
        pty("bad-terminal", |d| d.files[13].values[0] = 1),
        pty("bad-terminal", |d| d.files[13].kind_flags = 2),
        pty("bad-terminal", |d| d.files[14].values[0] = 3),
        pty("bad-terminal", |d| {
            d.files[14].values[0] = 2;
            d.fds[2].disposition = FdDisposition::Closed;
        }),
        pty("bad-file-values", |d| d.files[13].values[1] = 1),
        pty("bad-file-values", |d| d.files[14].offset = 1),
        pty("bad-file-values", |d| d.files[14].path = "/dev/tty".into()),
        pty("bad-file-values", |d| d.files[14].data = Blob(b"x".to_vec())),
        pty("bad-file-values", |d| d.files[13].pipe = 1),
        pty("bad-file-flags", |d| d.files[13].status_flags |= 0o40000),
        pty("bad-file-flags", |d| d.files[10].status_flags = 0o3),
        pty("bad-file-owner", |d| d.files[11].status_flags |= 0o20000),
        pty("bad-pty", |d| d.files[10].pipe = 2),
        pty("bad-pty", |d| d.files[11].pipe = 2),
        pty("bad-pty", |d| d.files[10].data = Blob(vec![0; 43])),
        pty("bad-pty", |d| d.files[10].data = Blob(vec![0; 45])),
        pty("bad-pty", |d| d.files[10].data.0[16] = 1),
        pty("bad-pty", |d| d.files[10].kind_flags = 16),
        pty("bad-pty", |d| d.files[10].values[1] = 1 << 20),
        pty("bad-pty", |d| d.files[10].kind_flags |= records::pty_flags::SLAVE_CLOSED),
        pty("bad-pty", |d| {
            d.files[10].kind_flags |= records::pty_flags::EXCLUSIVE;
            d.files.truncate(11);
            d.fds.retain(|f| f.fd < 20);
        }),
        // A slave whose master is not right before it.
        pty("bad-pty", |d| {
            d.files.swap(12, 13);
            for f in d.fds.iter_mut() {
                f.file = match (f.fd, f.file) {
                    (21, _) => 13,
                    (22, _) => 12,
                    (_, x) => x,
                };
            }
        }),
        // A slave without a master.
        pty("bad-pty", |d| {
            let f = &mut d.files[10];
            f.kind = FileKind::PtySlave;
            f.kind_flags = 0;
            f.data = Blob(Vec::new());
            f.values = [0; 5];
        }),
        pty("bad-file-values", |d| d.files[10].values[2] = 1),
        pty("bad-file-values", |d| d.files[11].values[0] = 1),
        pty("bad-file-values", |d| d.files[11].data = Blob(b"x".to_vec())),
        pty("bad-file-values", |d| d.files[10].offset = 1),
        pty("bad-file-values", |d| d.files[11].kind_flags = 1),
        // A repaired TCP connection: family, options, mss, scales,
        // timestamp, queues, addresses, the data's length.
        repair("bad-tcp-repair", |d| d.files[10].values[0] = 1),
        repair("bad-tcp-repair", |d| d.files[10].kind_flags |= 8),
        repair("bad-tcp-repair", |d| d.files[10].values[2] &= !0xffff),
        repair("bad-tcp-repair", |d| d.files[10].values[2] |= 1 << 32),
        repair("bad-tcp-repair", |d| d.files[10].values[2] = (d.files[10].values[2] & !(0xff << 16)) | 15 << 16),
        repair("bad-tcp-repair", |d| d.files[10].values[2] = (d.files[10].values[2] & !(0xff << 24)) | 15 << 24),
        repair("bad-tcp-repair", |d| d.files[10].kind_flags &= !4),
        repair("bad-tcp-repair", |d| d.files[10].values[3] = 1 << 32),
        repair("bad-tcp-repair", |d| d.files[10].values[4] += 1),
        repair("bad-tcp-repair", |d| d.files[10].values[4] += 1 << 32),
        repair("bad-tcp-repair", |d| d.files[10].values[4] = 17 << 20),
        repair("bad-tcp-repair", |d| d.files[10].data.0.push(0)),
        repair("bad-tcp-repair", |d| d.files[10].data.0[2..4].copy_from_slice(&[0, 0])),
        repair("bad-tcp-repair", |d| d.files[10].data.0[16] = 10),
        repair("bad-tcp-repair", |d| d.files[10].values[0] = 10),
        repair("bad-file-flags", |d| d.files[10].status_flags = 0),
        repair("bad-file-flags", |d| d.files[10].status_flags |= 0o2000),
        repair("bad-file-values", |d| d.files[10].offset = 1),
        repair("bad-file-values", |d| d.files[10].path = "/s".into()),
        repair("bad-file-values", |d| d.files[10].pipe = 1),
        // Deleted files.
        deleted("bad-deleted-file", |d| d.files[10].values[0] = 4),
        deleted("bad-deleted-file", |d| d.files[10].values[1] = 0o10000),
        deleted("bad-deleted-file", |d| d.files[10].offset = 1 << 63),
        deleted("bad-deleted-file", |d| d.files[10].values[2] = 1),
        deleted("bad-file-flags", |d| d.files[10].status_flags = 3),
        deleted("bad-file-flags", |d| d.files[10].status_flags |= 0o40000),
        deleted("missing-path", |d| d.files[10].path = "".into()),
        deleted("bad-file-values", |d| d.files[10].kind_flags = 1),
        deleted("bad-file-values", |d| d.files[10].pipe = 1),
        // inotify.
        inotify("bad-inotify", |d| d.files[10].values[0] = 3),
        inotify("bad-inotify", |d| d.files[10].values[0] = 1),
        inotify("bad-inotify", |d| d.files[10].data = Blob([watch(1, 0x100, b"/tmp"), watch(3, 2, b"/tmp/f")].concat())),
        inotify("bad-inotify", |d| d.files[10].data = Blob([watch(2, 0x100, b"/tmp"), watch(1, 2, b"/tmp/f")].concat())),
        inotify("bad-inotify", |d| d.files[10].data = Blob([watch(1, 0x1000, b"/tmp"), watch(2, 2, b"/tmp/f")].concat())),
        inotify("bad-inotify", |d| d.files[10].data = Blob([watch(1, 0x8000_0000, b"/tmp"), watch(2, 2, b"/tmp/f")].concat())),
        inotify("bad-inotify", |d| d.files[10].data = Blob([watch(1, 0x100, b"tmp"), watch(2, 2, b"/tmp/f")].concat())),
        inotify("bad-inotify", |d| d.files[10].data = Blob([watch(1, 0x100, b"/t\0p"), watch(2, 2, b"/tmp/f")].concat())),
        inotify("bad-inotify", |d| d.files[10].data = Blob([watch(1, 0x100, b""), watch(2, 2, b"/tmp/f")].concat())),
        inotify("bad-inotify", |d| d.files[10].data.0.truncate(30)),
        inotify("bad-inotify", |d| d.files[10].data.0.extend_from_slice(&[1, 2, 3])),
        inotify("bad-inotify", |d| {
            d.files[10].values[0] = 1;
            d.files[10].data = Blob(watch(1, 0x100, &[b'/'; 4096]));
        }),
        inotify("bad-file-flags", |d| d.files[10].status_flags = 2),
        inotify("bad-file-flags", |d| d.files[10].status_flags = 0o2000),
        inotify("bad-file-values", |d| d.files[10].values[1] = 1),
        inotify("bad-file-values", |d| d.files[10].path = "/tmp".into()),
        // Tail.
        bytes("bad-trailer-magic", |b| {
            let n = b.len();
            b[n - 61] ^= 1;
        }),
        bytes("trailer-checksum", |b| {
            let n = b.len();
            b[n - 20] ^= 1;
        }),
        bytes("reserved-not-zero", |b| {
            let n = b.len();
            b[n - 20] = 1;
            reseal(b);
        }),
        bytes("trailer-mismatch", |b| {
            let n = b.len();
            upd64(b, n - 48, |v| v + 1);
            reseal(b);
        }),
        bytes("tail-checksum", |b| {
            let t = rd64(b, 72) as usize;
            b[t + 33] ^= 1;
        }),
        bytes("bad-page-crc-table", |b| {
            let t = rd64(b, 72) as usize;
            wr32(b, t, k::PAGE_CRCS + 1);
            reseal(b);
        }),
        // Pending signals.
        sig_desc("bad-pending-signal", |d| {
            d.pending_signals[0].signo = 9;
            d.pending_signals[0].siginfo[0] = 9;
        }),
        sig_desc("bad-siginfo", |d| d.pending_signals[1].siginfo[0] = 41),
        sig_desc("bad-pending-signal-thread", |d| d.pending_signals[4].tid = 9999),
        sig_desc("pending-signals-unsorted", |d| d.pending_signals.swap(0, 3)),
        sig_desc("duplicate-standard-signal", |d| {
            let again = d.pending_signals[0];
            d.pending_signals.insert(1, again);
        }),
        (
            "unknown-signal-scope",
            Box::new(|| {
                let mut b = build(&with_signals());
                let r = record_at(&b, k::PENDING_SIGNALS, 2);
                wr32(&mut b, r + 4, 2);
                reseal(&mut b);
                img(b)
            }),
        ),
        desc("bad-membarrier", |d| d.process.membarrier = 1 << 3),
        (
            "bad-cwd-removed",
            Box::new(|| {
                let mut b = build(&sample());
                let r = record_at(&b, k::PROCESS, 0);
                wr32(&mut b, r + 444, 2);
                reseal(&mut b);
                img(b)
            }),
        ),
        // Timers.
        (
            "unknown-timer-kind",
            Box::new(|| {
                let mut b = build(&with_timers());
                let r = record_at(&b, k::TIMERS, 1);
                wr32(&mut b, r, 4);
                reseal(&mut b);
                img(b)
            }),
        ),
        timer_desc("timers-unsorted-or-duplicate", |d| d.timers.swap(2, 3)),
        timer_desc("bad-timer", |d| d.timers[0].signo = 14),
        timer_desc("bad-timer-clock", |d| d.timers[2].clock = 3),
        timer_desc("bad-timer-notify", |d| d.timers[2].notify = 2),
        timer_desc("bad-timer-signal", |d| d.timers[3].signo = 10),
        timer_desc("bad-timer-thread", |d| d.timers[4].tid = 9999),
        // prctl attributes.
        attrs_desc("bad-process-attrs", |d| d.attrs.pdeath_signal = 65),
        attrs_desc("bad-process-attrs", |d| d.attrs.oom_score_adj = 1001),
        attrs_desc("bad-process-attrs", |d| d.attrs.oom_score_adj = (-1001i32) as u32),
        // Seccomp filters: 1..=4096 instructions, known flags, the code
        // exactly theirs.
        seccomp_desc("bad-seccomp", |d| d.seccomp[0].code.clear()),
        seccomp_desc("bad-seccomp", |d| d.seccomp[0].flags = 1),
        seccomp_desc("bad-seccomp", |d| d.seccomp[1].code = vec![[0; 8]; 4097]),
        seccomp_desc("bad-seccomp", |d| {
            // 15000 instructions, but 5000 filters of 3 count 35000.
            d.seccomp = (0..5000).map(|_| image_format::SeccompDesc { flags: 0, code: vec![[6, 0, 0, 0, 0, 0, 0xff, 0x7f]; 3] }).collect()
        }),
        (
            "bad-seccomp",
            Box::new(|| {
                let mut b = build(&with_seccomp());
                let o = record_at(&b, k::SECCOMP_FILTERS, 1) + 4;
                wr32(&mut b, o, 3);
                reseal(&mut b);
                img(b)
            }),
        ),
        // Scheduling: one record per thread, in order, each in range.
        sched_desc("bad-sched", |d| {
            d.sched.pop();
        }),
        sched_desc("bad-sched", |d| d.sched.swap(0, 1)),
        sched_desc("bad-sched", |d| d.sched[0].tid = 4244),
        sched_desc("bad-sched", |d| d.sched[0].policy = 4),
        sched_desc("bad-sched", |d| d.sched[0].policy = 6),
        sched_desc("bad-sched", |d| d.sched[0].flags = 4),
        sched_desc("bad-sched", |d| d.sched[0].nice = 20),
        sched_desc("bad-sched", |d| d.sched[0].nice = (-21i32) as u32),
        sched_desc("bad-sched", |d| d.sched[1].priority = 0),
        sched_desc("bad-sched", |d| d.sched[1].priority = 100),
        sched_desc("bad-sched", |d| d.sched[0].priority = 1),
        sched_desc("bad-sched", |d| d.sched[0].ioprio = 4 << 13),
        sched_desc("bad-sched", |d| d.sched[0].ioprio = 2 << 13 | 8),
        sched_desc("bad-sched", |d| d.sched[0].ioprio = 1),
        sched_desc("bad-sched", |d| d.sched[1].affinity = [0; 128]),
        sched_desc("bad-sched", |d| d.sched[0].affinity[127] = 0x80),
        // Credentials: no id -1, effective within permitted, ambient
        // within permitted and inheritable, groups only with CREDS.
        attrs_desc("bad-creds", |d| d.creds = Some(image_format::v1::Creds { euid: u32::MAX, ..sample_creds() })),
        attrs_desc("bad-creds", |d| d.creds = Some(image_format::v1::Creds { fsgid: u32::MAX, ..sample_creds() })),
        attrs_desc("bad-creds", |d| d.creds = Some(image_format::v1::Creds { cap_effective: 1 << 21, ..sample_creds() })),
        attrs_desc("bad-creds", |d| d.creds = Some(image_format::v1::Creds { cap_ambient: 1 << 12, cap_inheritable: 0, ..sample_creds() })),
        attrs_desc("bad-creds", |d| {
            d.creds = Some(sample_creds());
            d.groups = vec![100, u32::MAX];
        }),
        attrs_desc("bad-creds", |d| d.groups = vec![100]),
        attrs_desc("bad-process-attrs", |d| d.attrs.flags = 32),
        (
            "bad-process-attrs",
            Box::new(|| {
                let mut b = build(&with_attrs());
                let r = record_at(&b, k::PROCESS_ATTRS, 0);
                wr32(&mut b, r + 12, 1);
                reseal(&mut b);
                img(b)
            }),
        ),
        // File locks.
        (
            "unknown-lock-kind",
            Box::new(|| {
                let mut b = build(&with_locks());
                let r = record_at(&b, k::LOCKS, 1);
                wr32(&mut b, r + 4, 3);
                reseal(&mut b);
                img(b)
            }),
        ),
        lock_desc("bad-lock", |d| d.locks[1].write = 2),
        lock_desc("bad-lock", |d| d.locks[0].start = 1),
        lock_desc("bad-lock", |d| d.locks[1].start = 1 << 63),
        lock_desc("bad-lock", |d| d.locks[1].len = 1 << 63),
        lock_desc("bad-lock", |d| {
            d.locks[2].start = i64::MAX as u64;
            d.locks[2].len = 2;
        }),
        lock_desc("bad-lock-fd", |d| d.locks[3].fd = 5),
        lock_desc("bad-lock-fd", |d| d.locks[0].fd = 0),
        lock_desc("bad-lock-fd", |d| d.locks[0].fd = 7),
        lock_desc("locks-unsorted-or-duplicate", |d| d.locks.swap(1, 2)),
        lock_desc("locks-unsorted-or-duplicate", |d| d.locks[2] = d.locks[1]),
        // Process trees (FORMAT.md "Process trees").
        (
            "bad-tree-flags",
            Box::new(|| {
                let mut opts = Options { validate: false, ..Options::default() };
                opts.tree.files = vec![TreeFile { file: 0, object: 0, end: 0 }];
                img(build_with(&sample_files(), &opts))
            }),
        ),
        (
            "member-image",
            Box::new(|| {
                let b = build_tree(&sample_tree());
                let rec = Image::parse_bytes(&b)?.tree_process(1).unwrap();
                img(b[rec.image_offset as usize..(rec.image_offset + rec.image_len) as usize].to_vec())
            }),
        ),
        tree("bad-tree-process", |t| t[2].process.exit_status = 0x7f),
        tree("bad-tree-process", |t| t[1].process.pdeath_signal = 65),
        tree("bad-tree-process", |t| t[3].process.flags = 0),
        tree("tree-parent-order", |t| t[3].process.parent = 3),
        tree("tree-parent-order", |t| t[3].process.parent = 2),
        tree("tree-duplicate-pid", |t| {
            t[3].process.pid = t[1].process.pid;
            t[3].desc.as_mut().unwrap().process.pid = t[1].process.pid;
        }),
        tree_bytes("tree-offset-mismatch", |b| {
            let r = record_at(b, k::TREE, 1);
            upd64(b, r + 32, |v| v + 4096);
            reseal(b);
        }),
        tree_bytes("tree-offset-mismatch", |b| {
            let r = record_at(b, k::TREE, 2);
            wr64(b, r + 32, 4096);
            reseal(b);
        }),
        tree("bad-tree-session", |t| t[3].process.sid = 999),
        tree("bad-tree-session", |t| t[3].process.sid = t[3].process.pid),
        tree("bad-tree-group", |t| t[3].process.pgid = 555),
        tree("bad-tree-group", |t| t[2].process.pgid = t[3].process.pid),
        tree("tree-member-mismatch", |t| t[3].desc.as_mut().unwrap().process.pid = 4242),
        tree("bad-tree-file", |t| t[1].files[0].end = 1),
        tree("bad-tree-file", |t| t[1].files[1].end = 2),
        tree("bad-tree-file", |t| t[1].files.push(TreeFile { file: 99, object: 3, end: 0 })),
        tree("bad-tree-file", |t| t[1].files.swap(0, 1)),
        tree("bad-tree-region", |t| t[1].regions[0].region = 0),
        tree("bad-tree-region", |t| t[1].regions[0].end = 1),
        tree("tree-object-mismatch", |t| {
            let shm = t[0].regions[0].region as usize;
            t[1].desc.as_mut().unwrap().regions[shm].runs = vec![RunDesc { page_index: 0, page_count: 1 }];
        }),
        tree("tree-object-mismatch", |t| t[1].files[1].object = 0),
        tree("tree-object-mismatch", |t| t[1].files[1].object = 5),
        tree("tree-object-mismatch", |t| t[1].regions[0].object = 1),
        tree_bytes("bad-tree-process", |b| {
            let r = record_at(b, k::TREE, 3);
            wr32(b, r + 16, 3); // state: no such state
            reseal(b);
        }),
        tree_bytes("bad-tree-process", |b| {
            let r = record_at(b, k::TREE, 1);
            wr32(b, r + 20, 1 << 8); // an exit status on a live process
            reseal(b);
        }),
        tree_bytes("tree-offset-mismatch", |b| {
            let r = record_at(b, k::TREE, 0);
            upd64(b, r + 40, |v| v + 8); // the root's own length
            reseal(b);
        }),
        tree_bytes("tree-parent-order", |b| {
            let r = record_at(b, k::TREE, 0);
            wr32(b, r + 4, 0); // a root with a parent
            reseal(b);
        }),
        tree_bytes("tree-member-mismatch", |b| {
            let r = record_at(b, k::TREE, 0);
            upd32(b, r, |p| p + 100); // the root's pid
            reseal(b);
        }),
        tree("bad-tree-file", |t| t[1].files[0].object = limits::MAX_TREE_OBJECTS),
        tree("bad-tree-region", |t| t[1].regions[0].object = limits::MAX_TREE_OBJECTS),
        tree("bad-tree-file", |t| t[0].files.push(TreeFile { file: 4, object: 3, end: 0 })), // a Stdio
        // Beyond the metadata: pages and the restoring CPU.
        (
            "page-checksum",
            Box::new(|| {
                let mut b = build(&sample());
                let off = rd64(&b, 56) as usize + 3 * 4096 + 17;
                b[off] ^= 0x10;
                let image = Image::parse_bytes(&b)?;
                verify_pages(&image, |o, buf| {
                    Ok(buf.copy_from_slice(&b[o as usize..o as usize + buf.len()]))
                })
                .map_err(|e| match e {
                    VerifyError::Format(f) => f,
                    VerifyError::Read(_) => unreachable!(),
                })
            }),
        ),
        (
            "bad-buffer",
            Box::new(|| {
                let b = build(&sample());
                let image = Image::parse_bytes(&b)?;
                let mut buf = [0u8; 100];
                verify_pages_with(&image, &mut buf, |_, _| Ok::<(), ()>(())).map_err(|e| match e {
                    VerifyError::Format(f) => f,
                    VerifyError::Read(()) => unreachable!(),
                })
            }),
        ),
        (
            "cpu-missing-features",
            Box::new(|| {
                let b = build(&sample());
                check_cpu(&Image::parse_bytes(&b)?.process, 0x3, 4096)
            }),
        ),
        (
            "cpu-xsave-too-small",
            Box::new(|| {
                let b = build(&sample());
                check_cpu(&Image::parse_bytes(&b)?.process, 0x7, 576)
            }),
        ),
        (
            // The kernel module's pace function reports a fatal signal: the
            // checksums stop between pieces. The sample's metadata is over
            // one piece (64 KiB) long, so there is a piece boundary.
            "interrupted-by-fatal-signal",
            Box::new(|| {
                let b = build(&long_sample());
                let h = image_format::Header::parse(&b)?;
                let meta = &b[h.metadata_offset as usize..(h.metadata_offset + h.metadata_len) as usize];
                let tail = &b[h.tail_offset as usize..(h.tail_offset + h.tail_len) as usize];
                let mut calls = 0;
                let r = Image::parse_paced(&b, meta, tail, b.len() as u64, &mut || {
                    calls += 1;
                    false
                });
                assert!(calls > 0, "a long checksum is paced");
                r.map(|_| ())
            }),
        ),
    ]
}

/// The sample with 200 threads: over 160 KiB of metadata (XSAVE areas).
fn long_sample() -> image_format::ImageDesc {
    let mut d = sample();
    d.threads = (0..200).map(|i| thread(4242 + i, i as u8)).collect();
    d
}

#[test]
fn an_unstopped_pace_validates_as_parse_does_and_is_called_for_long_metadata() {
    let b = build(&long_sample());
    let h = image_format::Header::parse(&b).unwrap();
    let meta = &b[h.metadata_offset as usize..(h.metadata_offset + h.metadata_len) as usize];
    let tail = &b[h.tail_offset as usize..(h.tail_offset + h.tail_len) as usize];
    let mut calls = 0u32;
    let paced = Image::parse_paced(&b, meta, tail, b.len() as u64, &mut || {
        calls += 1;
        true
    });
    assert_eq!(paced.map(|i| i.thread_count()), Image::parse_bytes(&b).map(|i| i.thread_count()));
    assert!(h.metadata_len > 64 * 1024, "the sample is long enough to need pacing: {}", h.metadata_len);
    assert!(calls >= (h.metadata_len / (64 * 1024)) as u32, "{calls} calls for {} bytes", h.metadata_len);
}

fn region_at(start: u64, pages: u64) -> RegionDesc {
    RegionDesc {
        start,
        end: start + pages * 4096,
        prot: 1,
        kind: RegionKind::Anon,
        flags: 0,
        path: ByteString::default(),
        file_offset: 0,
        file_id: FileId::default(),
        file: 0,
        runs: vec![],
    }
}

#[test]
fn every_hostile_case_is_refused_with_its_own_error() {
    let mut failures = Vec::new();
    for (want, case) in cases() {
        let got = match case() {
            Ok(()) => "ok",
            Err(e) => e.name(),
        };
        if got != want {
            failures.push(format!("expected {want}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_error_variant_has_a_hostile_case() {
    let covered: BTreeSet<&str> = cases().iter().map(|(n, _)| *n).collect();
    let missing: Vec<&str> = FormatError::ALL
        .iter()
        .map(|e| e.name())
        .filter(|n| !covered.contains(n))
        .collect();
    assert!(missing.is_empty(), "no hostile case for {missing:?}");
}

#[test]
fn error_names_are_unique_and_short() {
    let names: BTreeSet<&str> = FormatError::ALL.iter().map(|e| e.name()).collect();
    assert_eq!(names.len(), FormatError::ALL.len());
    for n in names {
        assert!(
            n.len() <= 32
                && n.bytes()
                    .all(|c| c.is_ascii_lowercase() || c == b'-' || c.is_ascii_digit()),
            "{n}"
        );
    }
}

#[test]
fn the_sample_with_files_is_accepted_and_reads_back() {
    let d = sample_files();
    let b = build(&d);
    let image = Image::parse_bytes(&b).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    // Signal-driven I/O on a pipe's ends: O_ASYNC, owned by the process
    // (SIGIO), by a process group with SIGRTMIN+1, or by nobody.
    let mut d = sample_files();
    d.files[1].status_flags |= file_owner::O_ASYNC;
    d.files[1].owner = file_owner::encode(4242, file_owner::PID, 0);
    d.files[2].status_flags |= file_owner::O_ASYNC;
    d.files[2].owner = file_owner::encode(77, file_owner::PGRP, 35);
    d.files[3].owner = file_owner::encode(0, file_owner::TID, 29);
    let b = build(&d);
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d);
}

#[test]
fn a_thread_name_reads_back() {
    let mut d = sample();
    d.threads[1].name = "fifteen-bytes-x".into();
    let b = build(&d);
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d);
}

#[test]
fn the_sample_with_prctl_attributes_is_accepted_and_reads_back() {
    let d = with_attrs();
    let b = build(&d);
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d);
    // Defaults are no section at all, as before the section existed.
    let mut plain = with_attrs();
    plain.attrs = Default::default();
    let plain = build(&plain);
    let meta = |b: &[u8]| image_format::Header::parse(b).unwrap().metadata_len;
    assert_eq!(meta(&b), meta(&plain) + 32 + 16, "one section header and one record more");
    assert_eq!(Image::parse_bytes(&plain).unwrap().process_attrs(), Default::default());
}

#[test]
fn the_sample_with_seccomp_filters_is_accepted_and_reads_back() {
    let d = with_seccomp();
    let b = build(&d);
    let image = Image::parse_bytes(&b).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    let lens: Vec<usize> = image.seccomp_filters().map(|(_, code)| code.len()).collect();
    assert_eq!(lens, [1, 4]);
}

#[test]
fn the_sample_with_scheduling_is_accepted_and_reads_back() {
    let d = with_sched();
    let b = build(&d);
    let image = Image::parse_bytes(&b).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    assert_eq!(image.process_attrs().oom_score_adj as i32, -500);
    // The extremes: nice -20 and 19, RR 99, idle I/O, every CPU bit.
    let mut d = with_sched();
    d.sched[0].nice = (-20i32) as u32;
    d.sched[1].nice = 19;
    d.sched[1].policy = 2;
    d.sched[1].priority = 99;
    d.sched[0].ioprio = 3 << 13;
    d.sched[1].affinity = [0xff; 128];
    d.attrs.oom_score_adj = 1000;
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&build(&d)).unwrap()), d);
}

/// A service that dropped root: uid and gid 1000, two groups, one
/// capability kept (CAP_NET_BIND_SERVICE, ambient too), a smaller
/// bounding set.
fn sample_creds() -> image_format::v1::Creds {
    let bind = 1 << 10;
    image_format::v1::Creds {
        uid: 1000, euid: 1000, suid: 1000, fsuid: 1000, gid: 1000, egid: 1000, sgid: 1000, fsgid: 1000,
        cap_inheritable: bind, cap_permitted: bind | 1 << 12, cap_effective: bind, cap_bounding: (1 << 41) - 1 - (1 << 16), cap_ambient: bind,
    }
}

#[test]
fn the_sample_with_credentials_is_accepted_and_reads_back() {
    let mut d = sample();
    d.creds = Some(sample_creds());
    d.groups = vec![24, 1000, 27];
    let b = build(&d);
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d);
    d.groups.clear();
    let b = build(&d);
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d, "no supplementary groups");
}

/// Every per-mapping flag where madvise/mlock would take it reads back.
#[test]
fn the_sample_with_per_mapping_state_is_accepted_and_reads_back() {
    use region_flags::*;
    let mut d = sample();
    let heap = d.regions.iter().position(|r| r.kind == RegionKind::Heap).expect("a heap");
    let stack = d.regions.iter().position(|r| r.kind == RegionKind::Stack).expect("a stack");
    d.regions[heap].flags = LOCKED | WIPEONFORK | DONTDUMP | HUGEPAGE | SEQUENTIAL;
    d.regions[stack].flags = DONTFORK | NOHUGEPAGE | RANDOM;
    d.regions[0].flags = LOCKED | DONTDUMP; // a private file mapping
    let b = build(&d);
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d);
}

#[test]
fn the_sample_with_a_unix_pair_is_accepted_and_reads_back() {
    let d = sample_unix_pair();
    let b = build(&d);
    let image = Image::parse_bytes(&b).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    // One end's sending side shut down (SHUT_WR), alone or with its peer.
    let mut d = sample_unix_pair();
    d.files[10].kind_flags = 2;
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&build(&d)).unwrap()), d);
    // The largest queue allowed.
    let mut d = sample_unix_pair();
    d.files[10].data = Blob(vec![7; 4 << 20]);
    assert_eq!(parse_result(&build(&d)), "ok");
    // Two ends whose peers are gone: a pair each, with their bytes.
    let mut d = sample_unix_pair();
    d.files[10].kind_flags = 1;
    d.files[11].kind_flags = 1;
    d.files[11].pipe = 2;
    let b = build(&d);
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d);
}

#[test]
fn the_sample_with_sockets_is_accepted_and_reads_back() {
    let d = sample_sockets();
    let image_bytes = build(&d);
    let image = Image::parse_bytes(&image_bytes).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    // Socket options on a TCP listener, a unix listener and an IPv6 UDP
    // socket, each read back with its own socket.
    let d = with_sockopts();
    let image_bytes = build(&d);
    let image = Image::parse_bytes(&image_bytes).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    for i in [10, 11, 12] {
        assert_eq!(image.sockopts_of(i).collect::<Vec<_>>(), d.files[i as usize].sockopts, "options of {i}");
    }
    assert_eq!(image.sockopts_of(13).count(), 0);
    // An abstract unix name, a unix datagram socket, the longest path.
    let mut d = sample_sockets();
    d.files[11].data = Blob(vec![1, 0, 0, b'n']);
    d.files[11].values[1] = 2;
    d.files[11].kind_flags = 0;
    d.files[11].values[2] = 0;
    assert_eq!(parse_result(&build(&d)), "ok");
    let mut d = sample_sockets();
    d.files[11].data.0.extend_from_slice(&[b'x'; 102]);
    assert_eq!(d.files[11].data.0.len(), 110);
    assert_eq!(parse_result(&build(&d)), "ok");
    // A unix datagram socket connected to a named socket outside the
    // image: never bound, or bound; to a path or an abstract name.
    for (local, peer) in [(&b""[..], &b"/dev/log"[..]), (b"/tmp/me", b"/run/systemd/journal/dev-log"), (b"", b"\0abstract")] {
        let mut d = sample_sockets();
        d.files[11] = connected_unix_dgram(local, peer);
        let b = build(&d);
        assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d, "connected unix {peer:?}");
    }
    // Netlink sockets: bound (a port, groups), or never bound.
    for (protocol, port, groups) in [(0, 4242, 0x11), (15, 0, 1), (9, 77, 0)] {
        let mut d = sample_sockets();
        d.files[12] = netlink(protocol, port, groups);
        let b = build(&d);
        assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d, "netlink {protocol}");
    }
    let mut d = sample_sockets();
    d.files[12] = netlink(0, 0, 0);
    d.files[12].data = Blob(Vec::new());
    d.files[12].values[1] = socket_type::DGRAM;
    assert_eq!(parse_result(&build(&d)), "ok", "a netlink socket never bound");
    // A socket never bound: no address, any family and type, its
    // options; never listening, never connected.
    use image_format::v1::records::socket_flags::{CONNECTED, LISTENING};
    for i in [10, 11, 12] {
        let mut d = sample_sockets();
        d.files[i].data = Blob(Vec::new());
        d.files[i].kind_flags &= !LISTENING;
        d.files[i].values[2] = 0;
        let b = build(&d);
        assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d, "unbound {i}");
        d.files[i].kind_flags |= CONNECTED;
        assert_eq!(parse_result(&build_unchecked(&d)), "bad-socket", "unbound and connected {i}");
    }
    let mut d = sample_sockets();
    d.files[10].data = Blob(Vec::new());
    assert_eq!(parse_result(&build_unchecked(&d)), "bad-socket", "unbound and listening");
    // A connected UDP socket: its local, then its peer address.
    let connected = |d: &mut ImageDesc| {
        d.files[12].kind_flags |= CONNECTED;
        d.files[12].data = Blob([sockaddr_in6(5353), sockaddr_in6(53)].concat());
    };
    let mut d = sample_sockets();
    connected(&mut d);
    let b = build(&d);
    assert_eq!(ImageDesc::from_image(&Image::parse_bytes(&b).unwrap()), d);
    // Only UDP; two addresses of the family; never listening.
    let mut d = sample_sockets();
    d.files[10].kind_flags |= CONNECTED;
    d.files[10].data = Blob([sockaddr_in(8080), sockaddr_in(80)].concat());
    assert_eq!(parse_result(&build_unchecked(&d)), "bad-socket", "connected TCP listener");
    for spoil in [
        (|d: &mut ImageDesc| d.files[12].data.0.truncate(28)) as fn(&mut ImageDesc),
        |d| d.files[12].data.0.push(0),
        |d| d.files[12].data = Blob([sockaddr_in6(5353), sockaddr_in(53)].concat()),
        |d| d.files[12].data = Blob([sockaddr_in6(5353), sockaddr_in6(0)].concat()),
        |d| {
            d.files[12].kind_flags |= LISTENING;
            d.files[12].values[2] = 1;
        },
    ] {
        let mut d = sample_sockets();
        connected(&mut d);
        spoil(&mut d);
        assert_eq!(parse_result(&build_unchecked(&d)), "bad-socket", "{:?}", d.files[12]);
    }
}

#[test]
fn the_sample_with_a_deleted_file_is_accepted_and_reads_back() {
    let d = sample_deleted();
    let b = build(&d);
    let image = Image::parse_bytes(&b).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
}

#[test]
fn the_sample_with_inotify_is_accepted_and_reads_back() {
    let d = sample_inotify();
    let b = build(&d);
    let image = Image::parse_bytes(&b).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    let mut d = sample_inotify();
    d.files[10].values[0] = 1;
    d.files[10].data = Blob(watch(1, 0x0400_0fff, &[b'/'; 4095]));
    assert_eq!(parse_result(&build(&d)), "ok");
}

#[test]
fn the_sample_with_terminals_is_accepted_and_reads_back() {
    let d = sample_pty();
    let image_bytes = build(&d);
    let image = Image::parse_bytes(&image_bytes).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    // A master alone, its slave closed; exclusive with a slave; locked.
    let mut d = sample_pty();
    d.files[10].kind_flags = records::pty_flags::SLAVE_CLOSED | records::pty_flags::LOCKED;
    d.files.truncate(11);
    d.fds.retain(|f| f.fd < 20);
    assert_eq!(parse_result(&build(&d)), "ok");
    let mut d = sample_pty();
    d.files[10].kind_flags = records::pty_flags::EXCLUSIVE | records::pty_flags::PACKET;
    assert_eq!(parse_result(&build(&d)), "ok");
    // Two pairs, the second without slaves.
    let mut d = sample_pty();
    let mut second = d.files[10].clone();
    second.pipe = 2;
    d.files.insert(13, second);
    for f in d.fds.iter_mut().filter(|f| f.fd >= 22) {
        f.file += 1;
    }
    assert_eq!(parse_result(&build(&d)), "ok");
}

#[test]
fn the_sample_with_a_named_fifo_is_accepted_and_reads_back() {
    let d = sample_fifo();
    let image_bytes = build(&d);
    let image = Image::parse_bytes(&image_bytes).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    // A write end without bytes, a read-write end with them.
    let mut d = sample_fifo();
    d.files[10].status_flags = 0o4001;
    d.files[10].data = Blob(Vec::new());
    assert_eq!(parse_result(&build(&d)), "ok");
    let mut d = sample_fifo();
    d.files[10].status_flags = 0o2;
    assert_eq!(parse_result(&build(&d)), "ok");
}

#[test]
fn the_sample_with_a_repaired_tcp_connection_is_accepted_and_reads_back() {
    let d = sample_tcp_repair();
    let image_bytes = build(&d);
    let image = Image::parse_bytes(&image_bytes).unwrap();
    assert_eq!(ImageDesc::from_image(&image), d);
    let f = image.files().nth(10).unwrap();
    let c = image_format::v1::tcp_repair::parse(&f, image.file_data(&f)).unwrap();
    assert_eq!((c.send_seq, c.recv_seq, c.mss, c.snd_wscale, c.rcv_wscale), (0xfffffff0, 12345, 65483, 7, 6));
    assert_eq!((c.send_queue, c.recv_queue, c.window[1]), (&b"abc"[..], &b"xy"[..], 65483));
    // IPv6, no options, empty queues.
    let mut d = sample_tcp_repair();
    let f = &mut d.files[10];
    f.values = [10, 0, 1440, 0, 0];
    f.kind_flags = 0;
    f.data = Blob([sockaddr_in6(40000), sockaddr_in6(8080), vec![0; 20]].concat());
    assert_eq!(parse_result(&build(&d)), "ok");
}

#[test]
fn the_valid_sample_is_accepted() {
    assert_eq!(parse_result(&build(&sample())), "ok");
    assert_eq!(parse_result(&build(&with_signals())), "ok");
    assert_eq!(parse_result(&build(&with_timers())), "ok");
    assert_eq!(parse_result(&build(&with_locks())), "ok");
    // The largest ranges the kernel accepts.
    let mut d = with_locks();
    d.locks[1].len = i64::MAX as u64;
    d.locks[2].start = i64::MAX as u64;
    d.locks[2].len = 1;
    assert_eq!(parse_result(&build(&d)), "ok");
}

#[test]
fn pending_signals_are_refused_beyond_their_limit() {
    let mut d = with_signals();
    let rt = d.pending_signals[1];
    d.pending_signals = vec![rt; limits::MAX_PENDING_SIGNALS as usize + 1];
    assert_eq!(parse_result(&build_unchecked(&d)), "count-over-limit");
    d.pending_signals.pop();
    assert_eq!(parse_result(&build_unchecked(&d)), "ok");
}

#[test]
fn the_sample_tree_is_accepted_and_every_member_reads_back() {
    let t = sample_tree();
    let b = build_tree(&t);
    let got = parse_tree_bytes(&b).unwrap();
    assert_eq!(got.processes.len(), 4);
    assert_eq!(got.objects, 3);
    assert_eq!(got.root.header.flags, header_flags::TREE);
    assert_eq!(got.root.header.minor, 1);
    let mut end = 0;
    for ((rec, img), want) in got.processes.iter().zip(&t) {
        assert_eq!((rec.pid, rec.parent, rec.pgid, rec.sid, rec.state), (want.process.pid, want.process.parent, want.process.pgid, want.process.sid, want.process.state));
        match (img, &want.desc) {
            (Some(img), Some(d)) => {
                assert_eq!(&ImageDesc::from_image(img), d);
                let links = TreeLinks::from_image(img);
                assert_eq!((links.files, links.regions), (want.files.clone(), want.regions.clone()));
                assert_eq!(rec.image_offset % 4096, 0);
                assert_eq!(img.header.file_len, rec.image_len);
                end = rec.image_offset + rec.image_len;
                // Each member's pages are where its own runs say, from its base.
                let base = rec.image_offset as usize;
                verify_pages(img, |o, buf| {
                    buf.copy_from_slice(&b[base + o as usize..base + o as usize + buf.len()]);
                    Ok(())
                })
                .unwrap();
            }
            (None, None) => assert_eq!((rec.image_offset, rec.image_len, rec.exit_status), (0, 0, 3 << 8)),
            _ => panic!("member {} differs", rec.pid),
        }
    }
    assert_eq!(end, b.len() as u64);
    // Read from pieces, as the restorers do: the root with the whole
    // file's length, a member at its base.
    let h = Header::parse(&b).unwrap();
    let m = &b[h.metadata_offset as usize..(h.metadata_offset + h.metadata_len) as usize];
    let tail = &b[h.tail_offset as usize..(h.tail_offset + h.tail_len) as usize];
    assert_eq!(Image::parse(&b, m, tail, b.len() as u64).unwrap().tree_count(), 4);
}

#[test]
fn a_tree_file_cut_short_or_too_long_is_refused() {
    let b = build_tree(&sample_tree());
    assert_eq!(tree_result(&b), "ok");
    let mut long = b.clone();
    long.push(0);
    assert_eq!(tree_result(&long), "trailing-data");
    assert_eq!(tree_result(&b[..b.len() - 1]), "truncated");
    // The root alone, as an older writer would never make it.
    let root_len = Image::parse_bytes(&b).unwrap().header.file_len as usize;
    assert_eq!(tree_result(&b[..root_len]), "truncated");
}

#[test]
fn a_single_process_image_has_no_tree_flags_and_reads_as_one() {
    let b = build(&sample_files());
    let got = parse_tree_bytes(&b).unwrap();
    assert!(got.processes.is_empty());
    assert_eq!((got.root.header.flags, got.root.header.minor), (0, 0));
}

/// `sample_files`' regions[3] as a MAP_SHARED mapping of its memfd
/// (FILES 9, read-write): valid as it stands.
fn maps_memfd(d: &mut ImageDesc) {
    d.regions[3].flags = region_flags::SHARED | region_flags::MAPS_FILE;
    d.regions[3].file = 9;
    d.regions[3].runs.clear();
}

#[test]
fn a_region_mapping_a_memfd_is_accepted_and_round_trips() {
    let mut d = sample_files();
    maps_memfd(&mut d);
    let b = build(&d);
    let image = Image::parse_bytes(&b).expect("valid");
    let r = image.regions().nth(3).unwrap();
    assert_eq!((r.flags, r.file, r.run_count), (region_flags::SHARED | region_flags::MAPS_FILE, 9, 0));
}

/// A deleted file's description (FILES kind DeletedFile) with access mode
/// `mode`, four bytes of contents.
fn deleted_file(mode: u32) -> FileDesc {
    let mut f = FileDesc::new(FileKind::DeletedFile);
    f.status_flags = mode;
    f.path = "/tmp/gone".into();
    f.data = Blob(b"gone".to_vec());
    f.values[0] = 4;
    f.values[1] = 0o600;
    f
}

#[test]
fn a_region_mapping_a_read_write_deleted_file_is_accepted() {
    let mut d = sample_files();
    maps_memfd(&mut d);
    d.files.push(deleted_file(2));
    d.regions[3].file = 10;
    Image::parse_bytes(&build(&d)).expect("valid");
}

/// A unix datagram socket connected to `peer` (a path or, with a leading
/// 0 byte, an abstract name), bound to `local` (none if empty).
fn connected_unix_dgram(local: &[u8], peer: &[u8]) -> FileDesc {
    use image_format::v1::records::{socket_family, socket_flags, socket_type};
    let addr = |name: &[u8]| if name.is_empty() { Vec::new() } else { [&[1u8, 0][..], name].concat() };
    let mut f = FileDesc::new(FileKind::Socket);
    f.status_flags = 0o2;
    f.values = [socket_family::UNIX, socket_type::DGRAM, 0, addr(local).len() as u64, 0];
    f.kind_flags = socket_flags::CONNECTED;
    f.data = Blob([addr(local), addr(peer)].concat());
    f
}

/// A SOCKOPTS entry (its file is where it is put).
fn opt(level: u32, name: u32, value: u64) -> image_format::v1::SockOpt {
    image_format::v1::SockOpt { file: 0, level, name, value }
}

/// A raw netlink socket of `protocol` bound to `port` and `groups`.
fn netlink(protocol: u64, port: u32, groups: u32) -> FileDesc {
    use image_format::v1::records::socket_family;
    let mut f = FileDesc::new(FileKind::Socket);
    f.status_flags = 0o2;
    f.values = [socket_family::NETLINK, socket_type::RAW, 0, 0, protocol];
    f.data = Blob([&16u16.to_le_bytes()[..], &[0, 0], &port.to_le_bytes(), &groups.to_le_bytes()].concat());
    f
}
