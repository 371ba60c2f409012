//! Property: any valid random process description written and read back
//! is equal, with its pages intact; the piecewise API agrees.
mod common;

use image_format::v1::checks::EFLAGS_USER_MASK;
use image_format::v1::records::region_flags;
use image_format::*;
use proptest::collection::vec;
use proptest::prelude::*;

fn bytes_no_nul(min: usize, max: usize) -> impl Strategy<Value = ByteString> {
    vec(1u8..=255, min..max).prop_map(ByteString)
}

fn canonical() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..0x8000_0000_0000, 0xffff_8000_0000_0000u64..=u64::MAX]
}

fn thread_state() -> impl Strategy<Value = (ThreadState, Vec<u8>, u64)> {
    (
        vec(any::<u64>(), 27),
        (canonical(), canonical(), canonical(), canonical()),
        any::<u64>(),
        (
            any::<u64>(),
            prop_oneof![Just(0u32), Just(1), Just(2), Just(1 << 31)],
            any::<u64>(),
        ),
        (any::<u64>(), any::<u64>(), any::<u64>()),
        (
            any::<u64>(),
            prop_oneof![Just(0u32), 32u32..64],
            any::<u32>(),
        ),
        any::<u64>(),
        vec(any::<u8>(), 2696),
    )
        .prop_map(
            |(
                gp,
                (rip, rsp, fsb, gsb),
                sigmask,
                (sp, flags, size),
                (ctid, rh, rl),
                (ra, rlen, rsig),
                bv,
                x,
            )| {
                let mut r = Regs::from_array(gp.try_into().unwrap());
                r.rip = rip;
                r.rsp = rsp;
                r.fs_base = fsb;
                r.gs_base = gsb;
                r.cs = 0x33;
                r.ss = 0x2b;
                r.eflags &= EFLAGS_USER_MASK;
                for s in [&mut r.ds, &mut r.es, &mut r.fs, &mut r.gs] {
                    *s = if *s % 2 == 0 { 0 } else { (*s & 0xfffc) | 3 };
                }
                let st = ThreadState {
                    tid: 0,
                    regs: r,
                    sigmask,
                    altstack: AltStack { sp, flags, size },
                    clear_child_tid: ctid,
                    robust_list_head: rh,
                    robust_list_len: rl,
                    rseq: Rseq {
                        addr: ra,
                        len: rlen,
                        sig: rsig,
                    },
                    xstate_bv: 0,
                    name: Default::default(),
                };
                (st, x, bv)
            },
        )
}

/// (gap pages, size pages, kind selector, prot, shared, path, stored-page mask)
type RegionSeed = (u64, u64, u8, u32, bool, ByteString, u64);

fn region_seed() -> impl Strategy<Value = RegionSeed> {
    (
        0u64..50,
        1u64..24,
        0u8..8,
        0u32..8,
        any::<bool>(),
        bytes_no_nul(1, 30),
        any::<u64>(),
    )
}

fn regions_from(seeds: Vec<RegionSeed>) -> Vec<RegionDesc> {
    let mut out = Vec::new();
    let mut addr = 0x10_000u64;
    let mut used_special = [false; 8];
    for (gap, pages, ksel, prot, shared, path, mask) in seeds {
        let start = addr + gap * 4096;
        let end = start + pages * 4096;
        addr = end;
        let mut kind = RegionKind::from_u32(ksel as u32).unwrap();
        if matches!(
            kind,
            RegionKind::Heap | RegionKind::Vdso | RegionKind::Vvar | RegionKind::VvarVclock
        ) {
            if used_special[ksel as usize] {
                kind = RegionKind::Anon;
            }
            used_special[kind as usize] = true;
        }
        let has_path = matches!(kind, RegionKind::File | RegionKind::SysvShm);
        let mut flags = if shared { region_flags::SHARED } else { 0 };
        if shared && kind == RegionKind::Anon {
            flags |= region_flags::SHARED_ANON;
        }
        // Runs: maximal stretches of set bits in the mask, split at every
        // 5th page so adjacent runs also occur.
        let mut runs = Vec::new();
        if !matches!(kind, RegionKind::Vvar | RegionKind::VvarVclock) {
            let mut i = 0;
            while i < pages {
                if mask >> i & 1 == 1 {
                    let s = i;
                    while i < pages && mask >> i & 1 == 1 && (i == s || i % 5 != 0) {
                        i += 1;
                    }
                    runs.push(RunDesc {
                        page_index: s,
                        page_count: i - s,
                    });
                } else {
                    i += 1;
                }
            }
        }
        out.push(RegionDesc {
            start,
            end,
            prot,
            kind,
            flags,
            path: if has_path {
                path
            } else {
                ByteString::default()
            },
            file_offset: if has_path { gap * 4096 } else { 0 },
            file_id: FileId {
                dev: gap,
                ino: pages,
                size: mask,
                mtime_sec: -(gap as i64),
                mtime_nsec: 7,
            },
            file: 0,
            runs,
        });
    }
    out
}

fn fds_from(seeds: Vec<(u32, u8, u8, u32, u64, ByteString, bool)>) -> Vec<FdDesc> {
    let mut fd = 0u32;
    let mut out = Vec::new();
    for (gap, k, d, flags, off, path, cloexec) in seeds {
        fd += gap;
        let mut disposition = FdDisposition::from_u32(d as u32 % 3).unwrap();
        if disposition == FdDisposition::Inherit && fd > 2 {
            disposition = FdDisposition::Closed;
        }
        out.push(FdDesc {
            fd,
            kind: FdKind::from_u32(k as u32 % 7).unwrap(),
            disposition,
            open_flags: flags,
            offset: off >> 1,
            path,
            cloexec,
            file: 0,
        });
        fd += 1;
    }
    out
}

fn image_desc() -> impl Strategy<Value = ImageDesc> {
    (
        (bytes_no_nul(0, 64), any::<u64>(), 0u32..1_000_000_000),
        (
            1u32..4_000_000,
            bytes_no_nul(0, 15),
            bytes_no_nul(0, 100),
            bytes_no_nul(0, 100),
            0u32..0o1000,
            any::<u32>(),
        ),
        (
            prop_oneof![Just(3u64), Just(7), Just(0xe7), Just(0x2e7)],
            prop_oneof![Just(576u32), Just(832), Just(2696)],
        ),
        vec((1u64..u64::MAX, any::<u64>()), 0..20),
        vec((1u32..50, thread_state()), 1..4),
        vec((any::<u64>(), any::<u64>(), any::<u64>()), 64),
        vec(region_seed(), 0..25),
        vec(
            (
                0u32..4,
                any::<u8>(),
                any::<u8>(),
                any::<u32>(),
                any::<u64>(),
                bytes_no_nul(1, 40),
                any::<bool>(),
            ),
            0..12,
        ),
        vec((any::<u64>(), any::<u64>()), 16),
    )
        .prop_map(
            |(hdr, proc_, (xcr0, xsave_size), auxv, threads, sas, regions, fds, rl)| {
                let mut tid = 0;
                let threads = threads
                    .into_iter()
                    .enumerate()
                    .map(|(i, (gap, (mut st, mut x, bv)))| {
                        tid += gap;
                        st.tid = tid;
                        st.xstate_bv = bv & xcr0;
                        x.truncate(xsave_size as usize);
                        let mxcsr = 0x1f80u32 | (x[24] as u32 & 0x3f);
                        x[24..28].copy_from_slice(&mxcsr.to_le_bytes());
                        x[512..520].copy_from_slice(&st.xstate_bv.to_le_bytes());
                        x[520..576].fill(0);
                        ThreadDesc {
                            state: st,
                            xsave: Blob(x),
                            // Every thread but the first may have a name.
                            name: ByteString(if i == 0 { Vec::new() } else { format!("t{i}").into_bytes() }),
                        }
                    })
                    .collect();
                let sigactions = sas
                    .into_iter()
                    .enumerate()
                    .map(|(i, (h, f, m))| SigAction {
                        handler: if i == 8 || i == 18 {
                            0
                        } else {
                            h % 0x7fff_ffff_f000
                        },
                        flags: f,
                        restorer: h % 0x7fff_0000,
                        mask: m,
                    })
                    .collect();
                let mut rlimits = [Rlimit::default(); 16];
                for (r, (a, b)) in rlimits.iter_mut().zip(rl) {
                    *r = Rlimit {
                        cur: a.min(b),
                        max: a.max(b),
                    };
                }
                let mut mm = [0u64; 11];
                for (i, v) in mm.iter_mut().enumerate() {
                    *v = 0x1000 * (i as u64 + 1) * (proc_.5 as u64 % 1000 + 1);
                }
                ImageDesc {
                    kernel_release: hdr.0,
                    dump_time_sec: hdr.1,
                    dump_time_nsec: hdr.2,
                    process: ProcessDesc {
                        pid: proc_.0,
                        comm: proc_.1,
                        exe_path: proc_.2,
                        exe_id: FileId {
                            dev: 1,
                            ino: 2,
                            size: 3,
                            mtime_sec: 4,
                            mtime_nsec: 5,
                        },
                        cwd: proc_.3,
                        umask: proc_.4,
                        personality: proc_.5,
                        xcr0,
                        xsave_size,
                        mm: MmLayout::from_array(mm),
                        rlimits,
                        membarrier: 0,
                        cwd_removed: false,
                    },
                    auxv: auxv
                        .into_iter()
                        .map(|(key, value)| AuxvEntry { key, value })
                        .collect(),
                    threads,
                    sigactions,
                    regions: regions_from(regions),
                    fds: fds_from(fds),
                    files: Vec::new(),
                    pending_signals: Vec::new(),
                    timers: Vec::new(),
                    locks: Vec::new(),
                    attrs: Default::default(),
                    creds: None,
                    groups: Vec::new(),
                    sched: Vec::new(),
                    seccomp: Vec::new(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_processes_round_trip(desc in image_desc()) {
        let bytes = common::build(&desc);
        let img = Image::parse_bytes(&bytes).map_err(|e| TestCaseError::fail(e.name()))?;
        prop_assert_eq!(&ImageDesc::from_image(&img), &desc);
        let h = img.header;
        let pieces = Image::parse(
            &bytes[..4096.min(bytes.len())],
            &bytes[256..256 + h.metadata_len as usize],
            &bytes[h.tail_offset as usize..],
            bytes.len() as u64,
        ).unwrap();
        prop_assert_eq!(ImageDesc::from_image(&pieces), desc);
        verify_pages(&img, |o, buf| {
            buf.copy_from_slice(&bytes[o as usize..o as usize + buf.len()]);
            Ok(())
        }).unwrap();
        for r in img.regions() {
            for run in img.page_runs(&r) {
                let addr = r.start + run.page_index * 4096;
                prop_assert_eq!(bytes[run.file_offset as usize], common::page_byte(addr));
            }
        }
    }
}
