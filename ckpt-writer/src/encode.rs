//! Maps a `Snapshot` to the image-format crate's `ImageDesc`.

use image_format::{
    records::{prot, region_flags},
    AltStack, AuxvEntry, Blob, ByteString, FdDesc, FileId, ImageDesc, ProcessDesc, RegionDesc, Regs,
    Rlimit, Rseq, RunDesc, SigAction, ThreadDesc, ThreadState,
};

use crate::snapshot::{self as s, Snapshot};

fn file_id(f: &s::FileIdent) -> FileId {
    FileId { dev: f.dev, ino: f.ino, size: f.size, mtime_sec: f.mtime_sec, mtime_nsec: f.mtime_nsec }
}

fn regs(r: &libc::user_regs_struct) -> Regs {
    Regs {
        r15: r.r15, r14: r.r14, r13: r.r13, r12: r.r12, rbp: r.rbp, rbx: r.rbx, r11: r.r11, r10: r.r10,
        r9: r.r9, r8: r.r8, rax: r.rax, rcx: r.rcx, rdx: r.rdx, rsi: r.rsi, rdi: r.rdi, orig_rax: r.orig_rax,
        rip: r.rip, cs: r.cs, eflags: r.eflags, rsp: r.rsp, ss: r.ss, fs_base: r.fs_base, gs_base: r.gs_base,
        ds: r.ds, es: r.es, fs: r.fs, gs: r.gs,
    }
}

fn region_kind(k: s::RegionKind) -> image_format::RegionKind {
    use image_format::RegionKind as K;
    match k {
        s::RegionKind::Anon => K::Anon,
        s::RegionKind::File => K::File,
        s::RegionKind::Stack => K::Stack,
        s::RegionKind::Heap => K::Heap,
        s::RegionKind::Vdso => K::Vdso,
        s::RegionKind::Vvar => K::Vvar,
        s::RegionKind::VvarVclock => K::VvarVclock,
        s::RegionKind::SysvShm => K::SysvShm,
    }
}

fn fd_kind(k: s::FdKind) -> image_format::FdKind {
    use image_format::FdKind as K;
    match k {
        s::FdKind::Regular => K::Regular,
        s::FdKind::Directory => K::Directory,
        s::FdKind::CharDev => K::CharDev,
        s::FdKind::Pipe => K::Pipe,
        s::FdKind::Tty => K::Tty,
        s::FdKind::Socket => K::Socket,
        s::FdKind::Other => K::Other,
    }
}

fn disposition(d: s::FdDisposition) -> image_format::FdDisposition {
    use image_format::FdDisposition as D;
    match d {
        s::FdDisposition::Reopen => D::Reopen,
        s::FdDisposition::Inherit => D::Inherit,
        s::FdDisposition::Closed => D::Closed,
        s::FdDisposition::Shared => D::Shared,
    }
}

/// XSTATE_BV: bytes 512..520 of the standard-format XSAVE area.
fn xstate_bv(xsave: &[u8]) -> u64 {
    xsave.get(512..520).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).unwrap_or(0)
}

/// The image description of a snapshot.
pub fn describe(snap: &Snapshot) -> ImageDesc {
    let p = &snap.process;
    let mut comm = p.comm.clone();
    comm.truncate(15);
    ImageDesc {
        kernel_release: ByteString(snap.kernel_release.iter().copied().take(64).collect()),
        dump_time_sec: snap.dump_time.0,
        dump_time_nsec: snap.dump_time.1,
        process: ProcessDesc {
            pid: p.pid as u32,
            comm: ByteString(comm),
            exe_path: ByteString(p.exe_path.clone()),
            exe_id: file_id(&p.exe_id),
            cwd: ByteString(p.cwd.clone()),
            umask: p.umask,
            personality: p.personality,
            xcr0: snap.xcr0,
            xsave_size: snap.xsave_size,
            mm: p.mm,
            rlimits: p.rlimits.map(|(cur, max)| Rlimit { cur, max }),
            membarrier: p.membarrier,
            cwd_removed: p.cwd_removed,
        },
        auxv: p.auxv.iter().map(|&(key, value)| AuxvEntry { key, value }).collect(),
        threads: snap
            .threads
            .iter()
            .map(|t| ThreadDesc {
                state: ThreadState {
                    tid: t.tid as u32,
                    regs: regs(&t.regs),
                    sigmask: t.sigmask,
                    altstack: AltStack { sp: t.altstack.sp, flags: t.altstack.flags, size: t.altstack.size },
                    clear_child_tid: t.clear_child_tid,
                    robust_list_head: t.robust_list.0,
                    robust_list_len: t.robust_list.1,
                    rseq: Rseq { addr: t.rseq.addr, len: t.rseq.len, sig: t.rseq.sig },
                    xstate_bv: xstate_bv(&t.xsave),
                    name: Default::default(),
                },
                xsave: Blob(t.xsave.clone()),
                // Only a name of its own: the leader's is the comm.
                name: ByteString(if t.tid == p.pid || t.comm == p.comm { Vec::new() } else { t.comm.clone() }),
            })
            .collect(),
        sigactions: snap
            .sigactions
            .iter()
            .map(|a| SigAction { handler: a.handler, flags: a.flags, restorer: a.restorer, mask: a.mask })
            .collect(),
        regions: snap
            .regions
            .iter()
            .map(|r| RegionDesc {
                start: r.start,
                end: r.end,
                prot: (r.read as u32 * prot::READ) | (r.write as u32 * prot::WRITE) | (r.exec as u32 * prot::EXEC),
                kind: region_kind(r.kind),
                flags: (r.shared as u32 * region_flags::SHARED) | (r.shared_anon as u32 * region_flags::SHARED_ANON)
                    | (r.may_write as u32 * region_flags::MAY_WRITE)
                    | r.advice
                    | (r.maps_file.is_some() as u32 * region_flags::MAPS_FILE),
                path: ByteString(r.path.clone()),
                file_offset: r.file_offset,
                file_id: file_id(&r.file_id),
                file: r.maps_file.unwrap_or(0),
                runs: r.runs.iter().map(|&(page_index, page_count)| RunDesc { page_index, page_count }).collect(),
            })
            .collect(),
        fds: snap
            .fds
            .iter()
            .map(|f| (f, f.disposition == s::FdDisposition::Shared))
            // A shared fd's flags, offset and path are its description's.
            .map(|(f, shared)| FdDesc {
                fd: f.fd as u32,
                kind: fd_kind(f.kind),
                disposition: disposition(f.disposition),
                open_flags: if shared { 0 } else { f.flags },
                offset: if shared { 0 } else { f.offset },
                path: ByteString(if shared { Vec::new() } else { f.path.clone() }),
                cloexec: f.cloexec,
                file: f.file,
            })
            .collect(),
        files: snap.files.clone(),
        pending_signals: crate::signals::describe(&snap.pending_signals),
        timers: snap.timers.clone(),
        locks: snap.locks.clone(),
        attrs: attrs(&snap.process),
        creds: snap.process.creds,
        groups: snap.process.groups.clone(),
        sched: snap.sched.clone(),
        seccomp: snap.seccomp.clone(),
    }
}

/// The PROCESS_ATTRS record of `p` (all zero, no section, by default).
fn attrs(p: &crate::snapshot::ProcessState) -> image_format::v1::ProcessAttrs {
    use image_format::v1::attr_flags::{CHILD_SUBREAPER, NOT_DUMPABLE, NO_NEW_PRIVS, STOPPED, THP_DISABLE};
    let flag = |on: bool, bit: u32| if on { bit } else { 0 };
    image_format::v1::ProcessAttrs {
        pdeath_signal: p.pdeath_signal,
        flags: flag(p.child_subreaper, CHILD_SUBREAPER) | flag(p.no_new_privs, NO_NEW_PRIVS) | flag(p.not_dumpable, NOT_DUMPABLE)
            | flag(p.thp_disabled, THP_DISABLE)
            | flag(p.stopped, STOPPED),
        oom_score_adj: p.oom_score_adj as u32,
    }
}
