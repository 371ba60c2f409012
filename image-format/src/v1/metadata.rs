//! The metadata range: framing pass over its sections, then the semantic
//! checks, then zero-copy accessors over the validated bytes.

use super::bytes::{get_u32, get_u64};
use super::checks::{check_path, check_process, check_sigaction, check_string, check_thread};
use super::crc::crc32c;
use super::error::{FormatError, Result};
use super::header::{tail_len_for, Header};
use super::limits::*;
use super::records::*;
use super::section::{kind, Section, SECTION_OPTIONAL};
use super::thread::{thread_record_size, Thread, ThreadState, THREAD_FIXED_SIZE};

/// Validated metadata. Accessors decode records by value on the fly.
#[derive(Clone, Copy, Debug)]
pub struct Metadata<'a> {
    /// The PROCESS record.
    pub process: Process,
    strings: &'a [u8],
    auxv: &'a [u8],
    threads: &'a [u8],
    thread_size: usize,
    sigactions: &'a [u8],
    regions: &'a [u8],
    runs: &'a [u8],
    fds: &'a [u8],
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
}

fn frame(mut rest: &[u8]) -> Result<Found<'_>> {
    let mut found = Found::default();
    let mut last_kind = 0u32;
    let mut n = 0u32;
    while !rest.is_empty() {
        n += 1;
        if n > MAX_SECTIONS {
            return Err(FormatError::CountOverLimit);
        }
        let (s, next) = Section::read(rest)?;
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

impl<'a> Metadata<'a> {
    /// Validates the metadata range `meta` that `h` describes.
    pub fn parse(h: &Header, meta: &'a [u8]) -> Result<Metadata<'a>> {
        if meta.len() as u64 != h.metadata_len {
            return Err(FormatError::Truncated);
        }
        if crc32c(meta) != h.metadata_crc {
            return Err(FormatError::MetadataChecksum);
        }
        let f = frame(meta)?;
        let strings = records(f.strings, 1, u32::MAX)?;
        let pb = records(f.process, PROCESS_SIZE, 1)?;
        if pb.len() != PROCESS_SIZE {
            return Err(FormatError::SectionSizeMismatch);
        }
        if !Process::reserved_zero(pb) {
            return Err(FormatError::ReservedNotZero);
        }
        let process = Process::decode(pb);
        check_process(&process, strings)?;
        let m = Metadata {
            process,
            strings,
            auxv: records(f.auxv, AUXV_SIZE, MAX_AUXV)?,
            thread_size: thread_record_size(process.xsave_size),
            threads: records(
                f.threads,
                thread_record_size(process.xsave_size),
                MAX_THREADS,
            )?,
            sigactions: records(f.sigactions, SIGACTION_SIZE, NUM_SIGACTIONS)?,
            regions: records(f.regions, REGION_SIZE, MAX_REGIONS)?,
            runs: records(f.runs, PAGE_RUN_SIZE, MAX_PAGE_RUNS)?,
            fds: records(f.fds, FD_SIZE, MAX_FDS)?,
        };
        if m.sigactions.len() != SIGACTION_SIZE * NUM_SIGACTIONS as usize {
            return Err(FormatError::SectionSizeMismatch);
        }
        if h.tail_len != tail_len_for(m.run_count()) {
            return Err(FormatError::LayoutInconsistent);
        }
        m.check_auxv()?;
        m.check_threads()?;
        for (i, sa) in m.sigactions().enumerate() {
            check_sigaction(i, &sa)?;
        }
        m.check_regions(h)?;
        m.check_fds()?;
        Ok(m)
    }

    fn check_auxv(&self) -> Result<()> {
        if self.auxv().any(|a| a.key == 0) {
            return Err(FormatError::BadAuxv);
        }
        Ok(())
    }

    fn check_threads(&self) -> Result<()> {
        if self.threads.is_empty() {
            return Err(FormatError::NoThreads);
        }
        let mut prev_tid = 0u32;
        for b in self.threads.chunks_exact(self.thread_size) {
            let (t, xsave_len) = ThreadState::decode(b);
            if !ThreadState::reserved_zero(b) {
                return Err(FormatError::ReservedNotZero);
            }
            let xsave_end = THREAD_FIXED_SIZE.saturating_add(xsave_len as usize);
            let xsave = b.get(THREAD_FIXED_SIZE..xsave_end).unwrap_or(&[]);
            check_thread(&t, xsave_len, xsave, &self.process)?;
            if t.tid <= prev_tid {
                return Err(FormatError::ThreadsUnsortedOrDuplicate);
            }
            prev_tid = t.tid;
        }
        Ok(())
    }

    fn check_regions(&self, h: &Header) -> Result<()> {
        let total_runs = self.run_count();
        let pages_end = h
            .pages_offset
            .checked_add(h.pages_len)
            .ok_or(FormatError::LayoutInconsistent)?;
        let mut prev_end = 0u64;
        let mut next_run = 0u32;
        let mut next_offset = h.pages_offset;
        let mut specials = 0u32;
        for b in self.regions.chunks_exact(REGION_SIZE) {
            let r = Region::decode(b).ok_or(FormatError::UnknownRegionKind)?;
            if !Region::reserved_zero(b) {
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

    fn check_fds(&self) -> Result<()> {
        let mut prev: Option<u32> = None;
        for b in self.fds.chunks_exact(FD_SIZE) {
            let fd = get_u32(b, 0);
            if fd >= MAX_FD_NUMBER {
                return Err(FormatError::FdOutOfRange);
            }
            if prev.is_some_and(|p| fd <= p) {
                return Err(FormatError::FdsUnsortedOrDuplicate);
            }
            prev = Some(fd);
            FdKind::from_u32(get_u32(b, 4)).ok_or(FormatError::UnknownFdKind)?;
            let disp =
                FdDisposition::from_u32(get_u32(b, 8)).ok_or(FormatError::UnknownFdDisposition)?;
            if get_u32(b, 32) > 1 {
                return Err(FormatError::BadCloexec);
            }
            if !Fd::reserved_zero(b) {
                return Err(FormatError::ReservedNotZero);
            }
            if get_u64(b, 16) > i64::MAX as u64 {
                return Err(FormatError::BadFdOffset);
            }
            let path = StrRef {
                offset: get_u32(b, 24),
                len: get_u32(b, 28),
            };
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

    /// Auxiliary vector entries (without the AT_NULL terminator).
    pub fn auxv(&self) -> impl Iterator<Item = AuxvEntry> + 'a {
        self.auxv.chunks_exact(AUXV_SIZE).map(AuxvEntry::decode)
    }

    /// Threads, sorted by tid.
    pub fn threads(&self) -> impl Iterator<Item = Thread<'a>> + 'a {
        self.threads.chunks_exact(self.thread_size).map(|b| {
            let (state, len) = ThreadState::decode(b);
            let end = THREAD_FIXED_SIZE.saturating_add(len as usize);
            Thread {
                state,
                xsave: b.get(THREAD_FIXED_SIZE..end).unwrap_or(&[]),
            }
        })
    }

    /// The 64 signal actions; item i is signal i + 1.
    pub fn sigactions(&self) -> impl Iterator<Item = SigAction> + 'a {
        self.sigactions
            .chunks_exact(SIGACTION_SIZE)
            .map(SigAction::decode)
    }

    /// Memory regions, sorted by address.
    pub fn regions(&self) -> impl Iterator<Item = Region> + 'a {
        self.regions
            .chunks_exact(REGION_SIZE)
            .filter_map(Region::decode)
    }

    /// Page runs of one region, sorted by page index.
    pub fn page_runs(&self, r: &Region) -> impl Iterator<Item = PageRun> + 'a {
        let start = (r.first_run as usize).saturating_mul(PAGE_RUN_SIZE);
        let len = (r.run_count as usize).saturating_mul(PAGE_RUN_SIZE);
        let bytes = self
            .runs
            .get(start..start.saturating_add(len))
            .unwrap_or(&[]);
        bytes.chunks_exact(PAGE_RUN_SIZE).map(PageRun::decode)
    }

    /// All page runs of all regions, in file order.
    pub fn all_page_runs(&self) -> impl Iterator<Item = PageRun> + 'a {
        self.runs.chunks_exact(PAGE_RUN_SIZE).map(PageRun::decode)
    }

    /// Open file descriptors, sorted by number.
    pub fn fds(&self) -> impl Iterator<Item = Fd> + 'a {
        self.fds.chunks_exact(FD_SIZE).filter_map(Fd::decode)
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
        (self.regions.len() / REGION_SIZE) as u32
    }

    /// Number of page runs.
    pub fn run_count(&self) -> u32 {
        (self.runs.len() / PAGE_RUN_SIZE) as u32
    }

    /// Number of fds.
    pub fn fd_count(&self) -> u32 {
        (self.fds.len() / FD_SIZE) as u32
    }
}
