//! The metadata range: framing pass over its sections, then the semantic
//! checks, then zero-copy accessors over the validated bytes.

use zerocopy::{FromBytes, Immutable};

use super::checks::{
    check_advice, check_path, check_pending_signal, check_process, check_sigaction, check_string, check_thread, check_timer,
    SIGRTMIN,
};
use super::crc::crc32c_paced;
use super::locks::check_locks;
use super::sockopts::check_sockopts;
use super::sched::{check_sched, check_seccomp};
use super::error::{FormatError, Result};
use super::header::{tail_len_for, Header};
use super::limits::*;
use super::layout::{wire_prefix, wire_slice};
use super::records::*;
use super::section::{kind, Section, SECTION_OPTIONAL};
use super::tree::{check_tree, check_tree_links};
use super::thread::{thread_record_size, Thread, ThreadState, ThreadWire, THREAD_FIXED_SIZE};

/// Validated metadata. Accessors decode records by value on the fly.
#[derive(Clone, Copy, Debug)]
pub struct Metadata<'a> {
    /// The PROCESS record.
    pub process: Process,
    strings: &'a [u8],
    auxv: &'a [AuxvWire],
    threads: &'a [u8],
    thread_size: usize,
    sigactions: &'a [SigActionWire],
    regions: &'a [RegionWire],
    runs: &'a [PageRunWire],
    fds: &'a [FdWire],
    files: &'a [FileWire],
    file_data: &'a [u8],
    epoll: &'a [EpollEntryWire],
    signals: &'a [PendingSignalWire],
    timers: &'a [TimerWire],
    locks: &'a [LockWire],
    sockopts: &'a [SockOptWire],
    sched: &'a [SchedWire],
    seccomp: &'a [SeccompFilterWire],
    seccomp_code: &'a [SeccompInsnWire],
    attrs: &'a [ProcessAttrsWire],
    creds: &'a [CredsWire],
    groups: &'a [GroupWire],
    tree: &'a [TreeProcessWire],
    tree_files: &'a [TreeFileWire],
    tree_regions: &'a [TreeRegionWire],
    tree_end: u64,
}

/// The v1 sections in kind order, as found by the framing pass.
#[derive(Default)]
struct Found<'a> {
    process: Option<Section<'a>>,
    strings: Option<Section<'a>>,
    auxv: Option<Section<'a>>,
    threads: Option<Section<'a>>,
    sigactions: Option<Section<'a>>,
    regions: Option<Section<'a>>,
    runs: Option<Section<'a>>,
    fds: Option<Section<'a>>,
    files: Option<Section<'a>>,
    file_data: Option<Section<'a>>,
    epoll: Option<Section<'a>>,
    signals: Option<Section<'a>>,
    timers: Option<Section<'a>>,
    locks: Option<Section<'a>>,
    sockopts: Option<Section<'a>>,
    sched: Option<Section<'a>>,
    seccomp: Option<Section<'a>>,
    seccomp_code: Option<Section<'a>>,
    attrs: Option<Section<'a>>,
    creds: Option<Section<'a>>,
    groups: Option<Section<'a>>,
    tree: Option<Section<'a>>,
    tree_files: Option<Section<'a>>,
    tree_regions: Option<Section<'a>>,
}

fn frame<'a>(mut rest: &'a [u8], pace: &mut dyn FnMut() -> bool) -> Result<Found<'a>> {
    let mut found = Found::default();
    let mut last_kind = 0u32;
    let mut n = 0u32;
    while !rest.is_empty() {
        n += 1;
        if n > MAX_SECTIONS {
            return Err(FormatError::CountOverLimit);
        }
        let (s, next) = Section::read_paced(rest, pace)?;
        rest = next;
        if s.kind <= last_kind {
            return Err(FormatError::SectionsOutOfOrder);
        }
        last_kind = s.kind;
        let slot = match s.kind {
            kind::PROCESS => &mut found.process,
            kind::STRINGS => &mut found.strings,
            kind::AUXV => &mut found.auxv,
            kind::THREADS => &mut found.threads,
            kind::SIGACTIONS => &mut found.sigactions,
            kind::REGIONS => &mut found.regions,
            kind::PAGE_RUNS => &mut found.runs,
            kind::FDS => &mut found.fds,
            kind::FILES => &mut found.files,
            kind::FILE_DATA => &mut found.file_data,
            kind::EPOLL => &mut found.epoll,
            kind::PENDING_SIGNALS => &mut found.signals,
            kind::TIMERS => &mut found.timers,
            kind::LOCKS => &mut found.locks,
            kind::SOCKOPTS => &mut found.sockopts,
            kind::PROCESS_ATTRS => &mut found.attrs,
            kind::CREDS => &mut found.creds,
            kind::GROUPS => &mut found.groups,
            kind::SCHED => &mut found.sched,
            kind::SECCOMP_FILTERS => &mut found.seccomp,
            kind::SECCOMP_CODE => &mut found.seccomp_code,
            kind::TREE => &mut found.tree,
            kind::TREE_FILES => &mut found.tree_files,
            kind::TREE_REGIONS => &mut found.tree_regions,
            kind::PAGE_CRCS => return Err(FormatError::MisplacedSection),
            _ if s.flags & SECTION_OPTIONAL != 0 => continue,
            _ => return Err(FormatError::UnknownRequiredSection),
        };
        *slot = Some(s);
    }
    Ok(found)
}

/// Returns the records of a required section after checking its record
/// size and count.
fn records<'a>(s: Option<Section<'a>>, size: usize, max: u32) -> Result<&'a [u8]> {
    let s = s.ok_or(FormatError::MissingSection)?;
    if s.record_size as usize != size {
        return Err(FormatError::BadRecordSize);
    }
    if s.count > max {
        return Err(FormatError::CountOverLimit);
    }
    Ok(s.records())
}

/// `records` for a section of fixed-size records, as their wire structs.
fn wire_records<'a, T: FromBytes + Immutable>(s: Option<Section<'a>>, max: u32) -> Result<&'a [T]> {
    let b = records(s, core::mem::size_of::<T>(), max)?;
    // The length is count * record_size, a multiple of the size.
    wire_slice(b).ok_or(FormatError::SectionSizeMismatch)
}

/// `wire_records` for a section a writer leaves out when it has no
/// records: absent means none.
fn optional_wire_records<'a, T: FromBytes + Immutable>(s: Option<Section<'a>>, max: u32) -> Result<&'a [T]> {
    match s {
        None => Ok(&[]),
        s => wire_records(s, max),
    }
}

/// Asks `pace` whether to go on (see [`super::crc::crc32c_paced`]): per
/// record of the long loops, so that the kernel module yields there.
fn paced(pace: &mut dyn FnMut() -> bool) -> Result<()> {
    if pace() {
        Ok(())
    } else {
        Err(FormatError::Interrupted)
    }
}

/// Decodes the fixed part of a thread record: its state and XSAVE length.
fn thread_fixed(b: &[u8]) -> Option<(&ThreadWire, ThreadState, u32)> {
    let w: &ThreadWire = wire_prefix(b)?;
    Some((w, w.decode()?, w.xsave_len.get()))
}

/// Signal-driven I/O: O_ASYNC and an owner only on the kinds that signal
/// (pipes, FIFOs, sockets); an owner of a known type, a pid in range (0
/// with no type but TID: nobody), a signal up to 64, no other bit.
fn check_owner(f: &File) -> Result<()> {
    let signals = file_owner::signals(f.kind);
    let async_io = f.status_flags & file_owner::O_ASYNC != 0;
    if !signals && (async_io || f.owner != 0) {
        return Err(FormatError::BadFileOwner);
    }
    let (pid, kind, sig) = (file_owner::pid(f.owner), file_owner::kind(f.owner), file_owner::signal(f.owner));
    let well_formed = f.owner >> 48 == 0 && kind <= file_owner::PGRP && pid <= u64::from(MAX_PID) && sig <= 64 && (pid != 0 || kind == file_owner::TID);
    if !well_formed {
        return Err(FormatError::BadFileOwner);
    }
    Ok(())
}

impl<'a> Metadata<'a> {
    /// Validates the metadata range `meta` that `h` describes.
    pub fn parse(h: &Header, meta: &'a [u8]) -> Result<Metadata<'a>> {
        Metadata::parse_paced(h, meta, &mut || true)
    }

    /// [`Metadata::parse`], calling `pace` between pieces of its long work
    /// (checksums; see [`super::crc::crc32c_paced`]).
    pub fn parse_paced(h: &Header, meta: &'a [u8], pace: &mut dyn FnMut() -> bool) -> Result<Metadata<'a>> {
        if meta.len() as u64 != h.metadata_len {
            return Err(FormatError::Truncated);
        }
        if crc32c_paced(meta, pace)? != h.metadata_crc {
            return Err(FormatError::MetadataChecksum);
        }
        let f = frame(meta, pace)?;
        let strings = records(f.strings, 1, u32::MAX)?;
        let pw = match wire_records::<ProcessWire>(f.process, 1)? {
            [p] => p,
            _ => return Err(FormatError::SectionSizeMismatch),
        };
        if !pw.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        // Every PROCESS field is an integer or bytes: decoding cannot fail.
        let process = pw.decode().ok_or(FormatError::SectionSizeMismatch)?;
        check_process(&process, strings)?;
        let mut m = Metadata {
            process,
            strings,
            auxv: wire_records(f.auxv, MAX_AUXV)?,
            thread_size: thread_record_size(process.xsave_size),
            threads: records(
                f.threads,
                thread_record_size(process.xsave_size),
                MAX_THREADS,
            )?,
            sigactions: wire_records(f.sigactions, NUM_SIGACTIONS)?,
            regions: wire_records(f.regions, MAX_REGIONS)?,
            runs: wire_records(f.runs, MAX_PAGE_RUNS)?,
            fds: wire_records(f.fds, MAX_FDS)?,
            // FILES and FILE_DATA came with minor additions: absent is empty.
            files: match f.files {
                Some(_) => wire_records(f.files, MAX_FILES)?,
                None => &[],
            },
            file_data: match f.file_data {
                Some(_) => records(f.file_data, 1, MAX_FILE_DATA)?,
                None => &[],
            },
            epoll: match f.epoll {
                Some(_) => wire_records(f.epoll, MAX_EPOLL_ENTRIES)?,
                None => &[],
            },
            signals: optional_wire_records(f.signals, MAX_PENDING_SIGNALS)?,
            timers: optional_wire_records(f.timers, MAX_TIMERS)?,
            locks: optional_wire_records(f.locks, MAX_LOCKS)?,
            sockopts: optional_wire_records(f.sockopts, MAX_SOCKOPTS)?,
            sched: optional_wire_records(f.sched, MAX_THREADS)?,
            seccomp: optional_wire_records(f.seccomp, seccomp::MAX_PATH / 5)?,
            seccomp_code: optional_wire_records(f.seccomp_code, seccomp::MAX_PATH)?,
            // More than one is refused by check_attrs, with its own reason.
            attrs: optional_wire_records(f.attrs, 16)?,
            // More than one is refused by check_creds, with its own reason.
            creds: optional_wire_records(f.creds, 16)?,
            groups: optional_wire_records(f.groups, MAX_GROUPS)?,
            tree: optional_wire_records(f.tree, MAX_TREE_PROCESSES)?,
            tree_files: optional_wire_records(f.tree_files, MAX_FILES)?,
            tree_regions: optional_wire_records(f.tree_regions, MAX_REGIONS)?,
            tree_end: h.file_len,
        };
        if m.sigactions.len() != NUM_SIGACTIONS as usize {
            return Err(FormatError::SectionSizeMismatch);
        }
        if h.tail_len != tail_len_for(m.run_count()) {
            return Err(FormatError::LayoutInconsistent);
        }
        m.check_auxv()?;
        m.check_threads(pace)?;
        for (i, sa) in m.sigactions().enumerate() {
            check_sigaction(i, &sa)?;
        }
        m.check_regions(h, pace)?;
        m.check_fds(pace)?;
        m.check_files(pace)?;
        m.check_region_files()?;
        m.check_signals(pace)?;
        m.check_timers(pace)?;
        check_locks(m.locks, |fd| m.fd_disposition(fd), &mut || paced(pace))?;
        check_sockopts(m.sockopts, |i| m.file(i), &mut || paced(pace))?;
        check_sched(m.sched, m.thread_count() as usize, m.threads().map(|t| t.state.tid), &mut || paced(pace))?;
        check_seccomp(m.seccomp, m.seccomp_code.len())?;
        m.check_attrs()?;
        m.check_creds()?;
        check_tree_links(h, m.tree, m.tree_files, m.tree_regions, m.files, m.regions)?;
        m.tree_end = check_tree(h, m.process.pid, m.tree, pace)?;
        Ok(m)
    }

    fn check_creds(&self) -> Result<()> {
        if self.creds.len() > 1 || (self.creds.is_empty() && !self.groups.is_empty()) {
            return Err(FormatError::BadCreds);
        }
        for w in self.creds {
            let c = w.decode().ok_or(FormatError::BadCreds)?;
            let ids = [c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid];
            let caps_ok = c.cap_effective & !c.cap_permitted == 0
                && c.cap_ambient & !(c.cap_permitted & c.cap_inheritable) == 0;
            if !w.reserved_zero() || ids.contains(&u32::MAX) || !caps_ok {
                return Err(FormatError::BadCreds);
            }
        }
        if self.groups.iter().any(|g| g.decode().is_none_or(|g| g.gid == u32::MAX)) {
            return Err(FormatError::BadCreds);
        }
        Ok(())
    }

    fn check_attrs(&self) -> Result<()> {
        if self.attrs.len() > 1 {
            return Err(FormatError::BadProcessAttrs);
        }
        for w in self.attrs {
            let a = w.decode().ok_or(FormatError::BadProcessAttrs)?;
            let oom_ok = (-1000..=1000).contains(&(a.oom_score_adj as i32));
            if !w.reserved_zero() || a.pdeath_signal > 64 || a.flags & !attr_flags::KNOWN != 0 || !oom_ok {
                return Err(FormatError::BadProcessAttrs);
            }
        }
        Ok(())
    }

    fn check_auxv(&self) -> Result<()> {
        if self.auxv().any(|a| a.key == 0) {
            return Err(FormatError::BadAuxv);
        }
        Ok(())
    }

    fn check_threads(&self, pace: &mut dyn FnMut() -> bool) -> Result<()> {
        if self.threads.is_empty() {
            return Err(FormatError::NoThreads);
        }
        let mut prev_tid = 0u32;
        for b in self.threads.chunks_exact(self.thread_size) {
            paced(pace)?;
            // The record size is at least THREAD_FIXED_SIZE and every field
            // of the fixed part is an integer: this cannot fail.
            let (w, t, xsave_len) = thread_fixed(b).ok_or(FormatError::BadRecordSize)?;
            if !w.reserved_zero() {
                return Err(FormatError::ReservedNotZero);
            }
            let xsave_end = THREAD_FIXED_SIZE.saturating_add(xsave_len as usize);
            let xsave = b.get(THREAD_FIXED_SIZE..xsave_end).unwrap_or(&[]);
            check_thread(&t, xsave_len, xsave, &self.process)?;
            // 15 bytes and a NUL fill the kernel's TASK_COMM_LEN.
            // Zero (1.0 writers: reserved) is no name.
            let name = if t.name == StrRef::default() { &[][..] } else { check_string(self.strings, t.name)? };
            if name.len() > 15 {
                return Err(FormatError::BadThreadName);
            }
            if t.tid <= prev_tid {
                return Err(FormatError::ThreadsUnsortedOrDuplicate);
            }
            prev_tid = t.tid;
        }
        Ok(())
    }

    fn check_regions(&self, h: &Header, pace: &mut dyn FnMut() -> bool) -> Result<()> {
        let total_runs = self.run_count();
        let pages_end = h
            .pages_offset
            .checked_add(h.pages_len)
            .ok_or(FormatError::LayoutInconsistent)?;
        let mut prev_end = 0u64;
        let mut next_run = 0u32;
        let mut next_offset = h.pages_offset;
        let mut specials = 0u32;
        for w in self.regions {
            paced(pace)?;
            let r = w.decode().ok_or(FormatError::UnknownRegionKind)?;
            if !w.reserved_zero() {
                return Err(FormatError::ReservedNotZero);
            }
            if r.start % PAGE_SIZE != 0 || r.end % PAGE_SIZE != 0 || r.file_offset % PAGE_SIZE != 0
            {
                return Err(FormatError::Misaligned);
            }
            if r.start >= r.end {
                return Err(FormatError::EmptyRegion);
            }
            if r.end > USER_SPACE_END {
                return Err(FormatError::RegionOutsideUserSpace);
            }
            if r.start < prev_end {
                return Err(FormatError::RegionsOverlapOrUnsorted);
            }
            prev_end = r.end;
            if r.prot & !(prot::READ | prot::WRITE | prot::EXEC) != 0 {
                return Err(FormatError::BadProt);
            }
            if r.flags & !region_flags::KNOWN != 0 {
                return Err(FormatError::UnknownRegionFlags);
            }
            let shared = r.flags & region_flags::SHARED != 0;
            if r.flags & region_flags::SHARED_ANON != 0 && (!shared || r.kind != RegionKind::Anon) {
                return Err(FormatError::InconsistentRegionFlags);
            }
            if r.flags & region_flags::MAY_WRITE != 0 && (!shared || r.kind != RegionKind::File) {
                return Err(FormatError::InconsistentRegionFlags);
            }
            check_advice(r.flags, r.kind)?;
            match r.kind {
                RegionKind::File | RegionKind::SysvShm => check_path(self.strings, r.path)?,
                _ => {
                    check_string(self.strings, r.path)?;
                }
            }
            let special_bit = match r.kind {
                RegionKind::Heap => 1,
                RegionKind::Vdso => 2,
                RegionKind::Vvar => 4,
                RegionKind::VvarVclock => 8,
                _ => 0,
            };
            if specials & special_bit != 0 {
                return Err(FormatError::DuplicateSpecialRegion);
            }
            specials |= special_bit;
            if matches!(r.kind, RegionKind::Vvar | RegionKind::VvarVclock) && r.run_count != 0 {
                return Err(FormatError::PagesNotAllowed);
            }
            if r.first_run != next_run {
                return Err(FormatError::PageRunIndexMismatch);
            }
            next_run = match next_run.checked_add(r.run_count) {
                Some(n) if n <= total_runs => n,
                _ => return Err(FormatError::PageRunIndexMismatch),
            };
            next_offset = self.check_runs(&r, next_offset, pages_end)?;
        }
        if next_run != total_runs {
            return Err(FormatError::PageRunIndexMismatch);
        }
        if next_offset != pages_end {
            return Err(FormatError::PageDataLengthMismatch);
        }
        Ok(())
    }

    /// Regions that map a memfd or deleted file the process holds
    /// (MAPS_FILE): the description exists, is of such a kind, and its
    /// access mode allows the mapping (read; read-write if writable).
    fn check_region_files(&self) -> Result<()> {
        for r in self.regions() {
            if r.flags & region_flags::MAPS_FILE == 0 {
                if r.file != 0 {
                    return Err(FormatError::BadRegionFile);
                }
                continue;
            }
            let plain = r.flags & (region_flags::SHARED | region_flags::SHARED_ANON) == region_flags::SHARED;
            if !plain || r.kind != RegionKind::Anon || r.run_count != 0 {
                return Err(FormatError::InconsistentRegionFlags);
            }
            let f = self.file(r.file).ok_or(FormatError::BadRegionFile)?;
            let mode = f.status_flags & 3;
            let fits = match f.kind {
                // F_SEAL_FUTURE_WRITE (0x10) forbids mapping it writable again.
                FileKind::Memfd if f.value1 & 0x10 != 0 && r.prot & prot::WRITE != 0 => false,
                FileKind::Memfd | FileKind::DeletedFile => mode == 2 || (mode == 0 && r.prot & prot::WRITE == 0),
                _ => false,
            };
            if !fits {
                return Err(FormatError::BadRegionFile);
            }
        }
        Ok(())
    }

    /// Checks one region's runs; returns the file offset after them.
    fn check_runs(&self, r: &Region, mut next_offset: u64, pages_end: u64) -> Result<u64> {
        let region_pages = r.pages();
        let mut prev_page_end = 0u64;
        for run in self.page_runs(r) {
            if run.page_count == 0 {
                return Err(FormatError::EmptyPageRun);
            }
            if run.page_index < prev_page_end {
                return Err(FormatError::PageRunsOverlapOrUnsorted);
            }
            let end = run
                .page_index
                .checked_add(run.page_count)
                .ok_or(FormatError::PageRunOutsideRegion)?;
            if end > region_pages {
                return Err(FormatError::PageRunOutsideRegion);
            }
            prev_page_end = end;
            if run.file_offset != next_offset {
                return Err(FormatError::PageRunOffsetMismatch);
            }
            // page_count <= region_pages < 2^36, so this cannot overflow.
            let bytes = run.page_count * PAGE_SIZE;
            next_offset = match next_offset.checked_add(bytes) {
                Some(n) if n <= pages_end => n,
                _ => return Err(FormatError::PageRunOutsideFile),
            };
        }
        Ok(next_offset)
    }

    fn check_fds(&self, pace: &mut dyn FnMut() -> bool) -> Result<()> {
        let mut prev: Option<u32> = None;
        for w in self.fds {
            paced(pace)?;
            let fd = w.fd.get();
            if fd >= MAX_FD_NUMBER {
                return Err(FormatError::FdOutOfRange);
            }
            if prev.is_some_and(|p| fd <= p) {
                return Err(FormatError::FdsUnsortedOrDuplicate);
            }
            prev = Some(fd);
            FdKind::from_u32(w.kind.get()).ok_or(FormatError::UnknownFdKind)?;
            let disp = FdDisposition::from_u32(w.disposition.get())
                .ok_or(FormatError::UnknownFdDisposition)?;
            if w.cloexec.get() > 1 {
                return Err(FormatError::BadCloexec);
            }
            if !w.reserved_zero() {
                return Err(FormatError::ReservedNotZero);
            }
            if w.offset.get() > i64::MAX as u64 {
                return Err(FormatError::BadFdOffset);
            }
            let path = StrRef {
                offset: w.path.offset.get(),
                len: w.path.len.get(),
            };
            let file = w.file.get();
            if disp == FdDisposition::Shared {
                let described = (file as usize) < self.files.len();
                if !described || w.open_flags.get() != 0 || w.offset.get() != 0 || path != StrRef::default() {
                    return Err(FormatError::BadFdFile);
                }
            } else if file != 0 {
                return Err(FormatError::BadFdFile);
            }
            match disp {
                FdDisposition::Reopen => check_path(self.strings, path)?,
                FdDisposition::Inherit if fd > 2 => return Err(FormatError::BadFdDisposition),
                _ => {
                    check_string(self.strings, path)?;
                }
            }
        }
        Ok(())
    }

    /// Checks the open file descriptions (FILES) and their bytes: each
    /// kind sets only its own fields; pipes are numbered 1, 2, ... in
    /// record order, the two ends of one pipe back to back.
    fn check_files(&self, pace: &mut dyn FnMut() -> bool) -> Result<()> {
        // The pipe last seen, and its first end if the second must follow.
        let mut last_pipe = 0u32;
        let mut open_end: Option<(u32, u64)> = None;
        // Unix socket pairs: the last number, and its first end's type if
        // the second must follow.
        let mut last_pair = 0u32;
        let mut open_pair: Option<u64> = None;
        // The next epoll description's first interest entry.
        let mut next_entry = 0u64;
        // Pty pairs: the last number, and the pair whose slaves may follow
        // (its number, flags and slaves so far).
        let mut last_pty = 0u32;
        let mut pty_run: Option<(u32, u32, u32)> = None;
        for w in self.files {
            paced(pace)?;
            let f = w.decode().ok_or(FormatError::UnknownFileKind)?;
            if f.kind != FileKind::PtySlave {
                check_pty_run(pty_run.take())?;
            }
            if !w.reserved_zero() {
                return Err(FormatError::ReservedNotZero);
            }
            check_owner(&f)?;
            // The kinds' own checks see their flags without O_ASYNC.
            let f = File { status_flags: f.status_flags & !file_owner::O_ASYNC, ..f };
            let access = f.status_flags & 3;
            if f.status_flags & !FILE_STATUS_KNOWN != 0 || access == 3 {
                return Err(FormatError::BadFileFlags);
            }
            let end = f.data_offset.checked_add(f.data_len).ok_or(FormatError::FileDataOutOfBounds)?;
            if end > self.file_data.len() as u64 {
                return Err(FormatError::FileDataOutOfBounds);
            }
            let values = [f.value0, f.value1, f.value2, f.value3, f.value4];
            let no_data = f.data_offset == 0 && f.data_len == 0;
            let has_flags = matches!(f.kind, FileKind::Pipe | FileKind::EventFd | FileKind::TimerFd | FileKind::Socket | FileKind::TcpRepair | FileKind::UnixPair | FileKind::Terminal | FileKind::PtyMaster);
            let has_data = matches!(f.kind, FileKind::Pipe | FileKind::Memfd | FileKind::UnixPair | FileKind::Socket | FileKind::TcpReset | FileKind::DeletedFile | FileKind::Inotify | FileKind::TcpRepair | FileKind::Fifo | FileKind::PtyMaster);
            if open_pair.is_some() && f.kind != FileKind::UnixPair {
                return Err(FormatError::BadUnixPair);
            }
            if !matches!(f.kind, FileKind::Pipe | FileKind::UnixPair | FileKind::PtyMaster | FileKind::PtySlave) && f.pipe != 0 || !has_data && !no_data || !has_flags && f.kind_flags != 0 {
                return Err(FormatError::BadFileValues);
            }
            match f.kind {
                FileKind::Regular | FileKind::Directory | FileKind::CharDev => {
                    check_path(self.strings, f.path)?;
                    let offset_ok = f.offset <= i64::MAX as u64 && (f.kind == FileKind::Regular || f.offset == 0);
                    if !offset_ok || values != [0; 5] {
                        return Err(FormatError::BadFileValues);
                    }
                }
                FileKind::EventFd | FileKind::SignalFd | FileKind::Epoll | FileKind::TimerFd => {
                    self.check_anon_file(&f, &mut next_entry)?;
                }
                FileKind::Memfd => {
                    check_string(self.strings, f.path)?;
                    if f.status_flags & !MEMFD_STATUS != 0 || access != 2 {
                        return Err(FormatError::BadFileFlags);
                    }
                    let sane = f.value0 == f.data_len && f.value1 & !MEMFD_SEALS_KNOWN == 0 && f.offset <= i64::MAX as u64;
                    if !sane || values[2..] != [0; 3] {
                        return Err(FormatError::BadFileValues);
                    }
                }
                FileKind::Stdio => {
                    if f.offset != 0 || f.path != StrRef::default() || values[1..] != [0; 4] || f.status_flags != 0 {
                        return Err(FormatError::BadFileValues);
                    }
                    // FDS is sorted with distinct numbers: fds 0-2 are among
                    // its first three records (a bounded look per record).
                    let inherited = self.fds().take(3).any(|fd| u64::from(fd.fd) == f.value0 && fd.disposition == FdDisposition::Inherit);
                    if f.value0 > 2 || !inherited {
                        return Err(FormatError::BadStdioFile);
                    }
                }
                FileKind::Pipe => {
                    if f.offset != 0 || f.path != StrRef::default() || values[1..] != [0; 4] {
                        return Err(FormatError::BadFileValues);
                    }
                    if f.kind_flags & !pipe_flags::KNOWN != 0 || access == 2 || f.status_flags & !pipe_flags::STATUS != 0 {
                        return Err(FormatError::BadFileFlags);
                    }
                    let size = f.value0;
                    if size == 0 || size > MAX_PIPE_SIZE || f.data_len > size {
                        return Err(FormatError::BadPipeSize);
                    }
                    // Queued bytes are read from the read end (O_RDONLY).
                    if access != 0 && !no_data {
                        return Err(FormatError::BadPipe);
                    }
                    let gone = f.kind_flags & pipe_flags::PEER_GONE != 0;
                    match open_end {
                        None if Some(f.pipe) == last_pipe.checked_add(1) => {
                            last_pipe = f.pipe;
                            open_end = if gone { None } else { Some((access, size)) };
                        }
                        Some((first, first_size)) if f.pipe == last_pipe && !gone && first != access => {
                            if first_size != size {
                                return Err(FormatError::BadPipeSize);
                            }
                            // Only one end of a pipe carries its bytes.
                            open_end = None;
                        }
                        _ => return Err(FormatError::BadPipe),
                    }
                }
                FileKind::UnixPair => {
                    if f.offset != 0 || f.path != StrRef::default() || values[1..] != [0; 4] {
                        return Err(FormatError::BadFileValues);
                    }
                    if access != 2 || f.status_flags & !UNIX_PAIR_STATUS != 0 {
                        return Err(FormatError::BadFileFlags);
                    }
                    let ty = f.value0;
                    let known = [unix_pair_type::STREAM, unix_pair_type::DGRAM, unix_pair_type::SEQPACKET].contains(&ty);
                    // Datagram kinds would need their message boundaries.
                    let data_ok = f.data_len <= MAX_UNIX_PAIR_QUEUE && (ty == unix_pair_type::STREAM || no_data);
                    if !known || !data_ok || f.kind_flags & !unix_pair_flags::KNOWN != 0 {
                        return Err(FormatError::BadUnixPair);
                    }
                    let alone = f.kind_flags & unix_pair_flags::PEER_GONE != 0;
                    match open_pair {
                        // An end whose peer is gone is a pair by itself.
                        None if alone && Some(f.pipe) == last_pair.checked_add(1) => last_pair = f.pipe,
                        None if !alone && Some(f.pipe) == last_pair.checked_add(1) => {
                            last_pair = f.pipe;
                            open_pair = Some(ty);
                        }
                        Some(first) if !alone && f.pipe == last_pair && first == ty => open_pair = None,
                        _ => return Err(FormatError::BadUnixPair),
                    }
                }
                FileKind::Fifo => {
                    check_path(self.strings, f.path)?;
                    if access == 3 || f.status_flags & !FIFO_STATUS != 0 {
                        return Err(FormatError::BadFileFlags);
                    }
                    if f.offset != 0 || values != [0; 5] {
                        return Err(FormatError::BadFileValues);
                    }
                    if f.data_len > MAX_FIFO_QUEUE || access == 1 && !no_data {
                        return Err(FormatError::BadFifo);
                    }
                }
                FileKind::TcpRepair => {
                    let bytes = self.file_data.get(f.data_offset as usize..end as usize).ok_or(FormatError::FileDataOutOfBounds)?;
                    super::tcp_repair::parse(&f, bytes)?;
                }
                FileKind::Terminal => {
                    if f.offset != 0 || f.path != StrRef::default() || values[1..] != [0; 4] {
                        return Err(FormatError::BadFileValues);
                    }
                    if f.status_flags & !TERMINAL_STATUS != 0 {
                        return Err(FormatError::BadFileFlags);
                    }
                    let controlling = f.kind_flags == terminal_flags::CONTROLLING;
                    // FDS is sorted with distinct numbers: fds 0-2 are among
                    // its first three records (a bounded look per record).
                    let inherited = self.fds().take(3).any(|fd| u64::from(fd.fd) == f.value0 && fd.disposition == FdDisposition::Inherit);
                    let ok = if controlling { f.value0 == 0 } else { f.kind_flags == 0 && f.value0 <= 2 && inherited };
                    if !ok {
                        return Err(FormatError::BadTerminal);
                    }
                }
                FileKind::PtyMaster => {
                    if f.offset != 0 || f.path != StrRef::default() || values[2..] != [0; 3] {
                        return Err(FormatError::BadFileValues);
                    }
                    if f.status_flags & !TERMINAL_STATUS != 0 {
                        return Err(FormatError::BadFileFlags);
                    }
                    let termios = self.file_data.get(f.data_offset as usize..end as usize).ok_or(FormatError::FileDataOutOfBounds)?;
                    let line = termios.get(TERMIOS2_LINE).copied();
                    let numbered = Some(f.pipe) == last_pty.checked_add(1);
                    if !numbered || f.kind_flags & !pty_flags::KNOWN != 0 || f.data_len != TERMIOS2_LEN || line != Some(0) || f.value1 >= MAX_PTY_INDEX {
                        return Err(FormatError::BadPty);
                    }
                    last_pty = f.pipe;
                    pty_run = Some((f.pipe, f.kind_flags, 0));
                }
                FileKind::PtySlave => {
                    if f.offset != 0 || f.path != StrRef::default() || values != [0; 5] {
                        return Err(FormatError::BadFileValues);
                    }
                    if f.status_flags & !TERMINAL_STATUS != 0 {
                        return Err(FormatError::BadFileFlags);
                    }
                    match pty_run.as_mut() {
                        Some(run) if run.0 == f.pipe => run.2 = run.2.saturating_add(1),
                        _ => return Err(FormatError::BadPty),
                    }
                }
                FileKind::Inotify => {
                    if f.offset != 0 || f.path != StrRef::default() || values[1..] != [0; 4] {
                        return Err(FormatError::BadFileValues);
                    }
                    if access != 0 || f.status_flags & !0o4000 != 0 {
                        return Err(FormatError::BadFileFlags);
                    }
                    let bytes = self.file_data.get(f.data_offset as usize..end as usize).ok_or(FormatError::FileDataOutOfBounds)?;
                    super::inotify::check_watches(bytes, f.value0)?;
                }
                FileKind::DeletedFile => {
                    check_path(self.strings, f.path)?;
                    if access == 3 || f.status_flags & !DELETED_FILE_STATUS != 0 {
                        return Err(FormatError::BadFileFlags);
                    }
                    if f.value0 != f.data_len || f.value1 > 0o7777 || f.offset > i64::MAX as u64 || values[2..] != [0; 3] {
                        return Err(FormatError::BadDeletedFile);
                    }
                }
                FileKind::Socket | FileKind::TcpReset => {
                    let bytes = self.file_data.get(f.data_offset as usize..end as usize).ok_or(FormatError::FileDataOutOfBounds)?;
                    if f.kind == FileKind::Socket {
                        super::sockets::check_socket(&f, bytes)?;
                    } else {
                        super::sockets::check_tcp_reset(&f, bytes)?;
                    }
                }
            }
        }
        check_pty_run(pty_run)?;
        if open_end.is_some() {
            return Err(FormatError::BadPipe);
        }
        if open_pair.is_some() {
            return Err(FormatError::BadUnixPair);
        }
        if next_entry != self.epoll.len() as u64 {
            return Err(FormatError::BadEpollEntries);
        }
        for w in self.epoll {
            paced(pace)?;
            let fd = w.fd.get();
            // FDS is sorted: a binary search finds the target, which must
            // be open after the restore.
            let at = self.fds.binary_search_by(|f| f.fd.get().cmp(&fd)).map_err(|_| FormatError::BadEpollTarget)?;
            let closed = FdDisposition::Closed as u32;
            if self.fds.get(at).is_none_or(|f| f.disposition.get() == closed) {
                return Err(FormatError::BadEpollTarget);
            }
            let ev = w.events.get();
            let exclusive_oneshot = ev & (1 << 28) != 0 && ev & (1 << 30) != 0;
            if ev & !EPOLL_EVENTS_KNOWN != 0 || exclusive_oneshot {
                return Err(FormatError::BadEpollEvents);
            }
        }
        Ok(())
    }

    /// Pending signals: the process queue first, then each thread's queue
    /// by increasing tid; within a queue in the order the kernel would
    /// deliver them, which is the order a thread queues them back in. The
    /// tid of a Thread-scope record is one of the THREADS records'.
    fn check_signals(&self, pace: &mut dyn FnMut() -> bool) -> Result<()> {
        let mut threads = self.threads().map(|t| t.state.tid);
        let mut queue: Option<(SignalScope, u32)> = None;
        // Standard signals seen in the current queue, bit n-1 for signal n.
        let mut standard = 0u32;
        for w in self.signals {
            paced(pace)?;
            if !w.reserved_zero() {
                return Err(FormatError::ReservedNotZero);
            }
            let scope = SignalScope::from_u32(w.scope.get()).ok_or(FormatError::UnknownSignalScope)?;
            let p = w.decode().ok_or(FormatError::UnknownSignalScope)?;
            check_pending_signal(&p)?;
            let q = (scope, p.tid);
            if queue != Some(q) {
                match (queue, scope) {
                    (None, SignalScope::Process) => {}
                    (None | Some((SignalScope::Process, _)), SignalScope::Thread) => {}
                    (Some((SignalScope::Thread, prev)), SignalScope::Thread) if p.tid > prev => {}
                    _ => return Err(FormatError::PendingSignalsUnsorted),
                }
                if scope == SignalScope::Thread && !threads.any(|t| t == p.tid) {
                    return Err(FormatError::BadPendingSignalThread);
                }
                queue = Some(q);
                standard = 0;
            }
            if p.signo < SIGRTMIN {
                let bit = 1u32 << (p.signo - 1);
                if standard & bit != 0 {
                    return Err(FormatError::DuplicateStandardSignal);
                }
                standard |= bit;
            }
        }
        Ok(())
    }

    /// Timers: the itimers that are armed or have an interval, in kind
    /// order, then POSIX timers by increasing id. A SIGEV_THREAD_ID
    /// timer's tid is a THREADS record's.
    fn check_timers(&self, pace: &mut dyn FnMut() -> bool) -> Result<()> {
        let mut prev: Option<(u32, u32)> = None;
        for w in self.timers {
            paced(pace)?;
            if !w.reserved_zero() {
                return Err(FormatError::ReservedNotZero);
            }
            let t = w.decode().ok_or(FormatError::UnknownTimerKind)?;
            check_timer(&t)?;
            let key = (t.kind as u32, t.id);
            if prev.is_some_and(|p| key <= p) {
                return Err(FormatError::TimersUnsortedOrDuplicate);
            }
            prev = Some(key);
            if t.tid != 0 && !self.has_thread(t.tid) {
                return Err(FormatError::BadTimerThread);
            }
        }
        Ok(())
    }

    /// eventfd, signalfd, epoll, timerfd: O_RDWR, perhaps O_NONBLOCK, no
    /// path or offset, and their own values.
    fn check_anon_file(&self, f: &File, next_entry: &mut u64) -> Result<()> {
        if f.status_flags & !ANON_STATUS != 0 || f.status_flags & 3 != 2 {
            return Err(FormatError::BadFileFlags);
        }
        if f.offset != 0 || f.path != StrRef::default() {
            return Err(FormatError::BadFileValues);
        }
        let v = [f.value0, f.value1, f.value2, f.value3, f.value4];
        match f.kind {
            FileKind::EventFd => {
                if f.kind_flags & !eventfd_flags::SEMAPHORE != 0 {
                    return Err(FormatError::BadFileFlags);
                }
                if f.value0 > MAX_EVENTFD_COUNT || v[1..] != [0; 4] {
                    return Err(FormatError::BadFileValues);
                }
            }
            FileKind::SignalFd => {
                if v[1..] != [0; 4] {
                    return Err(FormatError::BadFileValues);
                }
            }
            FileKind::Epoll => {
                if f.value0 != *next_entry || v[2..] != [0; 3] {
                    return Err(FormatError::BadEpollEntries);
                }
                *next_entry = f.value0.checked_add(f.value1).ok_or(FormatError::BadEpollEntries)?;
                if *next_entry > self.epoll.len() as u64 {
                    return Err(FormatError::BadEpollEntries);
                }
            }
            _ => {
                if f.kind_flags & !timer_flags::KNOWN != 0 {
                    return Err(FormatError::BadFileFlags);
                }
                // CLOCK_REALTIME 0, MONOTONIC 1, BOOTTIME 7, REALTIME_ALARM 8, BOOTTIME_ALARM 9.
                let clock_ok = matches!(f.value0, 0 | 1 | 7 | 8 | 9);
                let abs = f.kind_flags & timer_flags::ABSTIME != 0;
                if !clock_ok || v[1..].iter().any(|&t| t > MAX_TIMER_NS) || (!abs && f.value4 != 0) {
                    return Err(FormatError::BadTimerFd);
                }
            }
        }
        Ok(())
    }

    /// The interest list of an epoll description.
    pub fn epoll_entries(&self, f: &File) -> impl Iterator<Item = EpollEntry> + 'a {
        let start = usize::try_from(f.value0).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(f.value1).unwrap_or(usize::MAX));
        let list = if f.kind == FileKind::Epoll { self.epoll.get(start..end).unwrap_or(&[]) } else { &[] };
        list.iter().filter_map(EpollEntryWire::decode)
    }

    /// Open file descriptions that Shared fds refer to, in record order.
    pub fn files(&self) -> impl Iterator<Item = File> + 'a {
        self.files.iter().filter_map(FileWire::decode)
    }

    /// Open file description `index` (a Shared fd's `file`).
    pub fn file(&self, index: u32) -> Option<File> {
        self.files.get(index as usize).and_then(FileWire::decode)
    }

    /// The socket options of description `index` (SOCKOPTS), sorted by
    /// level and name.
    pub fn sockopts_of(&self, index: u32) -> impl Iterator<Item = SockOpt> + 'a {
        // Sorted by file: the options of one are a run found by bisection.
        let start = self.sockopts.partition_point(|w| w.file.get() < index);
        let end = self.sockopts.partition_point(|w| w.file.get() <= index);
        self.sockopts.get(start..end).unwrap_or(&[]).iter().filter_map(SockOptWire::decode)
    }

    /// Each thread's scheduling (SCHED), in THREADS order; empty when
    /// every thread has the defaults.
    pub fn sched(&self) -> impl Iterator<Item = Sched> + 'a {
        self.sched.iter().filter_map(SchedWire::decode)
    }

    /// The seccomp filters, oldest first, each with its instructions.
    pub fn seccomp_filters(&self) -> impl Iterator<Item = (SeccompFilter, &'a [SeccompInsnWire])> + 'a {
        let code = self.seccomp_code;
        let mut at = 0usize;
        self.seccomp.iter().filter_map(SeccompFilterWire::decode).map(move |f| {
            let insns = code.get(at..at.saturating_add(f.len as usize)).unwrap_or(&[]);
            at = at.saturating_add(f.len as usize);
            (f, insns)
        })
    }

    /// Every SOCKOPTS record.
    pub fn sockopts(&self) -> impl Iterator<Item = SockOpt> + 'a {
        self.sockopts.iter().filter_map(SockOptWire::decode)
    }

    /// Number of open file descriptions.
    pub fn file_count(&self) -> u32 {
        self.files.len() as u32
    }

    /// The bytes of a validated description (empty if out of bounds).
    pub fn file_data(&self, f: &File) -> &'a [u8] {
        let start = usize::try_from(f.data_offset).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(f.data_len).unwrap_or(usize::MAX));
        self.file_data.get(start..end).unwrap_or(&[])
    }

    fn has_thread(&self, tid: u32) -> bool {
        self.thread_index(tid).is_some()
    }

    /// Index of the thread record with `tid` (in `threads()` order): a
    /// binary search, the records being sorted by tid (validated).
    pub fn thread_index(&self, tid: u32) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.thread_count() as usize);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = mid.saturating_mul(self.thread_size);
            let got = self.threads.get(at..).and_then(thread_fixed).map(|(_, t, _)| t.tid)?;
            match got.cmp(&tid) {
                core::cmp::Ordering::Equal => return Some(mid),
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    /// The credentials (CREDS), if recorded.
    pub fn creds(&self) -> Option<Creds> {
        self.creds.first().and_then(CredsWire::decode)
    }

    /// The supplementary groups (GROUPS), with `creds`.
    pub fn groups(&self) -> impl Iterator<Item = u32> + 'a {
        self.groups.iter().filter_map(GroupWire::decode).map(|g| g.gid)
    }

    /// The prctl attributes (all zero, their defaults, when absent).
    pub fn process_attrs(&self) -> ProcessAttrs {
        self.attrs.first().and_then(ProcessAttrsWire::decode).unwrap_or_default()
    }

    /// File locks, sorted by fd, kind and start.
    pub fn locks(&self) -> impl Iterator<Item = Lock> + 'a {
        self.locks.iter().filter_map(LockWire::decode)
    }

    /// Number of file locks.
    pub fn lock_count(&self) -> u32 {
        self.locks.len() as u32
    }

    /// The disposition of fd `fd`'s FDS record (a binary search: FDS is
    /// sorted by fd, validated before the locks).
    fn fd_disposition(&self, fd: u32) -> Option<FdDisposition> {
        let i = self.fds.binary_search_by_key(&fd, |w| w.fd.get()).ok()?;
        self.fds.get(i)?.decode().map(|f| f.disposition)
    }

    /// Timers, in the order `check_timers` describes.
    pub fn timers(&self) -> impl Iterator<Item = Timer> + 'a {
        self.timers.iter().filter_map(TimerWire::decode)
    }

    /// Number of timers.
    pub fn timer_count(&self) -> u32 {
        self.timers.len() as u32
    }

    /// Pending signals, in the order `check_signals` describes.
    pub fn pending_signals(&self) -> impl Iterator<Item = PendingSignal> + 'a {
        self.signals.iter().filter_map(PendingSignalWire::decode)
    }

    /// Number of pending signals.
    pub fn pending_signal_count(&self) -> u32 {
        self.signals.len() as u32
    }

    /// Auxiliary vector entries (without the AT_NULL terminator).
    pub fn auxv(&self) -> impl Iterator<Item = AuxvEntry> + 'a {
        self.auxv.iter().filter_map(AuxvWire::decode)
    }

    /// Threads, sorted by tid.
    pub fn threads(&self) -> impl Iterator<Item = Thread<'a>> + 'a {
        self.threads.chunks_exact(self.thread_size).filter_map(|b| {
            let (_, state, len) = thread_fixed(b)?;
            let end = THREAD_FIXED_SIZE.saturating_add(len as usize);
            Some(Thread {
                state,
                xsave: b.get(THREAD_FIXED_SIZE..end).unwrap_or(&[]),
            })
        })
    }

    /// The 64 signal actions; item i is signal i + 1.
    pub fn sigactions(&self) -> impl Iterator<Item = SigAction> + 'a {
        self.sigactions.iter().filter_map(SigActionWire::decode)
    }

    /// Memory regions, sorted by address.
    pub fn regions(&self) -> impl Iterator<Item = Region> + 'a {
        self.regions.iter().filter_map(RegionWire::decode)
    }

    /// Page runs of one region, sorted by page index.
    pub fn page_runs(&self, r: &Region) -> impl Iterator<Item = PageRun> + 'a {
        let start = r.first_run as usize;
        let end = start.saturating_add(r.run_count as usize);
        let runs = self.runs.get(start..end).unwrap_or(&[]);
        runs.iter().filter_map(PageRunWire::decode)
    }

    /// All page runs of all regions, in file order.
    pub fn all_page_runs(&self) -> impl Iterator<Item = PageRun> + 'a {
        self.runs.iter().filter_map(PageRunWire::decode)
    }

    /// Open file descriptors, sorted by number.
    pub fn fds(&self) -> impl Iterator<Item = Fd> + 'a {
        self.fds.iter().filter_map(FdWire::decode)
    }

    /// Bytes of a validated string reference (empty if invalid).
    pub fn string(&self, r: StrRef) -> &'a [u8] {
        check_string(self.strings, r).unwrap_or(&[])
    }

    /// The comm field up to its NUL.
    pub fn comm(&self) -> &[u8] {
        let c = &self.process.comm;
        let end = c.iter().position(|&b| b == 0).unwrap_or(0);
        c.get(..end).unwrap_or(&[])
    }

    /// Number of threads.
    pub fn thread_count(&self) -> u32 {
        (self.threads.len() / self.thread_size.max(1)) as u32
    }

    /// Number of regions.
    pub fn region_count(&self) -> u32 {
        self.regions.len() as u32
    }

    /// Number of page runs.
    pub fn run_count(&self) -> u32 {
        self.runs.len() as u32
    }

    /// Number of fds.
    pub fn fd_count(&self) -> u32 {
        self.fds.len() as u32
    }

    /// True for the root image of a tree (header flag TREE).
    pub fn is_tree_root(&self) -> bool {
        !self.tree.is_empty()
    }

    /// The processes of a tree (root image only; empty otherwise), in
    /// tree order.
    pub fn tree_processes(&self) -> impl Iterator<Item = TreeProcess> + 'a {
        self.tree.iter().filter_map(TreeProcessWire::decode)
    }

    /// TREE record `index`.
    pub fn tree_process(&self, index: u32) -> Option<TreeProcess> {
        self.tree.get(index as usize).and_then(TreeProcessWire::decode)
    }

    /// Number of TREE records (0 unless the root image of a tree).
    pub fn tree_count(&self) -> u32 {
        self.tree.len() as u32
    }

    /// Where the whole file ends: the last member's end for a tree root,
    /// else the image's own length.
    pub fn tree_end(&self) -> u64 {
        self.tree_end
    }

    /// This image's descriptions that are tree objects, by file index.
    pub fn tree_files(&self) -> impl Iterator<Item = TreeFile> + 'a {
        self.tree_files.iter().filter_map(TreeFileWire::decode)
    }

    /// This image's regions that map tree objects, by region index.
    pub fn tree_regions(&self) -> impl Iterator<Item = TreeRegion> + 'a {
        self.tree_regions.iter().filter_map(TreeRegionWire::decode)
    }

    /// Number of TREE_FILES plus TREE_REGIONS records: enough object slots
    /// for this image in a `TreeCheck`.
    pub fn tree_object_refs(&self) -> u32 {
        (self.tree_files.len() + self.tree_regions.len()) as u32
    }

    /// Region `index` (in `regions()` order).
    pub fn region(&self, index: u32) -> Option<Region> {
        self.regions.get(index as usize).and_then(RegionWire::decode)
    }
}

/// The end of a pty pair's records (its number, flags and slave records):
/// EXCLUSIVE is the slave's, so it needs one; SLAVE_CLOSED says none is
/// open.
fn check_pty_run(run: Option<(u32, u32, u32)>) -> Result<()> {
    let Some((_, flags, slaves)) = run else { return Ok(()) };
    if flags & pty_flags::EXCLUSIVE != 0 && slaves == 0 || flags & pty_flags::SLAVE_CLOSED != 0 && slaves != 0 {
        return Err(FormatError::BadPty);
    }
    Ok(())
}
