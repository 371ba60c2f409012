//! Single-pass streaming writer: header, metadata, pages, CRC table,
//! trailer, each written once and in file order, so `out` can be a pipe.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::vec;
use std::vec::Vec;

use zerocopy::{Immutable, IntoBytes};

use crate::desc::{ByteString, ImageDesc};
use crate::tree_write::{push_tree_links, tree_sections_len, TreeLinks};
use crate::v1::header::TREE_MINOR;
use crate::v1::header::{HEADER_CRC_COVERS, KERNEL_RELEASE_LEN};
use crate::v1::limits::{PAGE_SIZE, WRITE_CHUNK};
use crate::v1::records::{
    AUXV_SIZE, FD_SIZE, PAGE_RUN_SIZE, PENDING_SIGNAL_SIZE, PROCESS_SIZE, REGION_SIZE, SIGACTION_SIZE,
    TIMER_SIZE,
};
use crate::v1::records::{
    LOCK_SIZE, PROCESS_ATTRS_SIZE, CREDS_SIZE, GROUP_SIZE, SCHED_SIZE, SECCOMP_FILTER_SIZE, SECCOMP_INSN_SIZE,
};
use crate::v1::{ProcessAttrs, ThreadState};
use crate::v1::records::{File, FileKind, SockOpt, EPOLL_ENTRY_SIZE, FILE_SIZE, SOCKOPT_SIZE};
use crate::v1::section::{encode_section_header, kind, SECTION_HEADER_SIZE};
use crate::v1::thread::{thread_record_size, THREAD_FIXED_SIZE};
use crate::v1::{
    crc32c, Crc32c, Fd, FormatError, Header, Layout, Metadata, PageRun, Process, Region, StrRef,
    Trailer, ARCH_X86_64, HEADER_SIZE, VERSION_MAJOR, VERSION_MINOR,
};

/// Why writing failed.
#[derive(Debug)]
pub enum WriteError {
    /// The description would make an invalid image (nothing was written).
    Invalid(FormatError),
    /// Writing, or the page callback, failed.
    Io(io::Error),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Invalid(e) => write!(f, "invalid image description: {}", e.name()),
            WriteError::Io(e) => write!(f, "write failed: {e}"),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        WriteError::Io(e)
    }
}

impl From<FormatError> for WriteError {
    fn from(e: FormatError) -> Self {
        WriteError::Invalid(e)
    }
}

/// String table under construction; identical strings are stored once.
struct Strings {
    bytes: Vec<u8>,
    seen: HashMap<Vec<u8>, StrRef>,
}

impl Strings {
    fn new() -> Self {
        // Offset 0 holds a NUL so that StrRef (0, 0) is the empty string.
        Strings {
            bytes: vec![0],
            seen: HashMap::new(),
        }
    }

    fn add(&mut self, s: &ByteString) -> Result<StrRef, FormatError> {
        if s.0.is_empty() {
            return Ok(StrRef::default());
        }
        if let Some(r) = self.seen.get(&s.0) {
            return Ok(*r);
        }
        let r = StrRef {
            offset: u32::try_from(self.bytes.len()).map_err(|_| FormatError::MetadataOverLimit)?,
            len: u32::try_from(s.0.len()).map_err(|_| FormatError::PathTooLong)?,
        };
        self.bytes.extend_from_slice(&s.0);
        self.bytes.push(0);
        self.seen.insert(s.0.clone(), r);
        Ok(r)
    }
}

fn count(n: usize) -> Result<u32, FormatError> {
    u32::try_from(n).map_err(|_| FormatError::CountOverLimit)
}

/// Appends a section (payload padded to 8 bytes) to `meta`.
pub(crate) fn push_section(
    meta: &mut Vec<u8>,
    kind: u32,
    count: u32,
    record_size: usize,
    mut payload: Vec<u8>,
) {
    payload.resize(payload.len().next_multiple_of(8), 0);
    meta.extend_from_slice(&encode_section_header(
        kind,
        0,
        count,
        record_size as u32,
        &payload,
    ));
    meta.extend_from_slice(&payload);
}

/// Encodes fixed-size records (their wire structs) into one payload.
pub(crate) fn encode_all<W: IntoBytes + Immutable>(records: impl Iterator<Item = W>) -> Vec<u8> {
    let mut out = Vec::new();
    for w in records {
        out.extend_from_slice(w.as_bytes());
    }
    out
}

/// Header and metadata of an image, encoded and validated, plus the
/// information needed to stream the rest.
pub struct Prepared {
    /// The header as written.
    pub header: Header,
    /// Encoded header bytes.
    pub header_bytes: [u8; HEADER_SIZE],
    /// Encoded metadata bytes.
    pub metadata: Vec<u8>,
    /// Every page run in file order, with its absolute start address.
    pub runs: Vec<(u64, PageRun)>,
}

/// A section to add after the v1 sections, as a later minor version would
/// (kind > 8, increasing). For tests and forward-compatibility experiments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSection {
    /// Section kind.
    pub kind: u32,
    /// Section flags (SECTION_OPTIONAL).
    pub flags: u32,
    /// Record count.
    pub count: u32,
    /// Record size.
    pub record_size: u32,
    /// Payload (padded to 8 by the writer).
    pub payload: Vec<u8>,
}

/// Knobs beyond `prepare`; the defaults give exactly what `prepare` does.
#[derive(Clone, Debug)]
pub struct Options {
    /// Minor version to put in the header.
    pub minor: u16,
    /// Extra sections appended after the v1 ones.
    pub extra: Vec<RawSection>,
    /// Run the validator; false builds hostile images for tests.
    pub validate: bool,
    /// Tree links of an image of a process tree (default: none, a
    /// single-process image). See `write_tree`.
    pub tree: TreeLinks,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            minor: VERSION_MINOR,
            extra: Vec::new(),
            validate: true,
            tree: TreeLinks::default(),
        }
    }
}

/// Encodes and validates the header and metadata of `desc`. Nothing is
/// written; the caller learns the layout (e.g. the file length) up front.
pub fn prepare(desc: &ImageDesc) -> Result<Prepared, FormatError> {
    prepare_with(desc, &Options::default())
}

/// `prepare` with explicit `Options`.
pub fn prepare_with(desc: &ImageDesc, opts: &Options) -> Result<Prepared, FormatError> {
    let mut strings = Strings::new();
    let p = &desc.process;
    let mut comm = [0u8; 16];
    if p.comm.0.len() > 15 && opts.validate {
        return Err(FormatError::StringNotTerminated);
    }
    let n = p.comm.0.len().min(16);
    comm[..n].copy_from_slice(&p.comm.0[..n]);
    let process = Process {
        pid: p.pid,
        umask: p.umask,
        personality: p.personality,
        xsave_size: p.xsave_size,
        xcr0: p.xcr0,
        comm,
        exe_path: strings.add(&p.exe_path)?,
        exe_id: p.exe_id,
        cwd: strings.add(&p.cwd)?,
        mm: p.mm,
        rlimits: p.rlimits,
        membarrier: p.membarrier,
        cwd_removed: u32::from(p.cwd_removed),
    };
    let mut regions = Vec::with_capacity(desc.regions.len());
    let mut run_total = 0u32;
    let mut page_total = 0u64;
    for r in &desc.regions {
        let run_count = count(r.runs.len())?;
        regions.push(Region {
            start: r.start,
            end: r.end,
            prot: r.prot,
            kind: r.kind,
            flags: r.flags,
            path: strings.add(&r.path)?,
            file_offset: r.file_offset,
            file_id: r.file_id,
            file: r.file,
            first_run: run_total,
            run_count,
        });
        run_total = run_total
            .checked_add(run_count)
            .ok_or(FormatError::CountOverLimit)?;
        for run in &r.runs {
            page_total = page_total
                .checked_add(run.page_count)
                .ok_or(FormatError::PageRunOutsideFile)?;
        }
    }
    let mut fds = Vec::with_capacity(desc.fds.len());
    for f in &desc.fds {
        fds.push(Fd {
            fd: f.fd,
            kind: f.kind,
            disposition: f.disposition,
            open_flags: f.open_flags,
            offset: f.offset,
            path: strings.add(&f.path)?,
            cloexec: f.cloexec,
            file: f.file,
        });
    }
    // Open file descriptions, with their bytes packed in FILE_DATA in
    // record order.
    let mut files = Vec::with_capacity(desc.files.len());
    let mut file_data = Vec::new();
    let mut epoll = Vec::new();
    let mut sockopts = Vec::new();
    for (index, f) in desc.files.iter().enumerate() {
        let file = u32::try_from(index).map_err(|_| FormatError::CountOverLimit)?;
        sockopts.extend(f.sockopts.iter().map(|o| SockOpt { file, ..*o }.to_wire()));
        let [mut value0, mut value1, value2, value3, value4] = f.values;
        if f.kind == FileKind::Epoll {
            value0 = epoll.len() as u64;
            value1 = f.epoll.len() as u64;
        }
        epoll.extend(f.epoll.iter().map(|e| e.to_wire()));
        let data_offset = if f.data.0.is_empty() { 0 } else { file_data.len() as u64 };
        file_data.extend_from_slice(&f.data.0);
        files.push(File {
            kind: f.kind,
            status_flags: f.status_flags,
            offset: f.offset,
            path: strings.add(&f.path)?,
            pipe: f.pipe,
            kind_flags: f.kind_flags,
            data_offset,
            data_len: f.data.0.len() as u64,
            value0,
            value1,
            value2,
            value3,
            value4,
            owner: f.owner,
        });
    }

    let tsize = thread_record_size(p.xsave_size);
    let mut threads = vec![0u8; desc.threads.len() * tsize];
    for (t, b) in desc.threads.iter().zip(threads.chunks_exact_mut(tsize)) {
        let xlen = u32::try_from(t.xsave.0.len()).map_err(|_| FormatError::XsaveSizeMismatch)?;
        let name = if t.name.0.is_empty() { StrRef::default() } else { strings.add(&t.name)? };
        let named = ThreadState { name, ..t.state };
        let mut w = named.to_wire();
        w.xsave_len.set(xlen);
        b[..THREAD_FIXED_SIZE].copy_from_slice(w.as_bytes());
        // A wrong length is copied as far as it fits and left for the
        // validator to report (xsave-size-mismatch).
        let area = &mut b[THREAD_FIXED_SIZE..];
        let n = area.len().min(t.xsave.0.len());
        area[..n].copy_from_slice(&t.xsave.0[..n]);
    }

    let mut meta = Vec::new();
    let pb = process.to_wire().as_bytes().to_vec();
    push_section(&mut meta, kind::PROCESS, 1, PROCESS_SIZE, pb);
    let string_count = count(strings.bytes.len())?;
    push_section(&mut meta, kind::STRINGS, string_count, 1, strings.bytes);
    push_section(
        &mut meta,
        kind::AUXV,
        count(desc.auxv.len())?,
        AUXV_SIZE,
        encode_all(desc.auxv.iter().map(|a| a.to_wire())),
    );
    push_section(
        &mut meta,
        kind::THREADS,
        count(desc.threads.len())?,
        tsize,
        threads,
    );
    push_section(
        &mut meta,
        kind::SIGACTIONS,
        count(desc.sigactions.len())?,
        SIGACTION_SIZE,
        encode_all(desc.sigactions.iter().map(|s| s.to_wire())),
    );
    push_section(
        &mut meta,
        kind::REGIONS,
        count(regions.len())?,
        REGION_SIZE,
        encode_all(regions.iter().map(|r| r.to_wire())),
    );

    // Everything after this point has a size known now, so the page data
    // offset (and with it every run's file offset) is fixed before the
    // runs are encoded: no back-patching, no seeking.
    let runs_len = SECTION_HEADER_SIZE + run_total as usize * PAGE_RUN_SIZE;
    let fds_len = SECTION_HEADER_SIZE + (fds.len() * FD_SIZE).next_multiple_of(8);
    // FILES and FILE_DATA only when there are descriptions, so images
    // without them stay as older writers made them.
    let files_len = if files.is_empty() {
        0
    } else {
        2 * SECTION_HEADER_SIZE + files.len() * FILE_SIZE + file_data.len().next_multiple_of(8)
    } + if epoll.is_empty() { 0 } else { SECTION_HEADER_SIZE + epoll.len() * EPOLL_ENTRY_SIZE };
    // Left out when empty, so images without pending signals stay as 1.0
    // readers know them.
    let signals_len = match desc.pending_signals.len() {
        0 => 0,
        n => SECTION_HEADER_SIZE + n * PENDING_SIGNAL_SIZE,
    };
    let timers_len = match desc.timers.len() {
        0 => 0,
        n => SECTION_HEADER_SIZE + n * TIMER_SIZE,
    };
    let sockopts_len = match sockopts.len() {
        0 => 0,
        n => SECTION_HEADER_SIZE + n * SOCKOPT_SIZE,
    };
    let locks_len = match desc.locks.len() {
        0 => 0,
        n => SECTION_HEADER_SIZE + n * LOCK_SIZE,
    };
    let attrs_len = if desc.attrs == ProcessAttrs::default() { 0 } else { SECTION_HEADER_SIZE + PROCESS_ATTRS_SIZE };
    let creds_len = match desc.creds {
        None => 0,
        Some(_) => SECTION_HEADER_SIZE + CREDS_SIZE,
    } + match desc.groups.len() {
        0 => 0,
        n => SECTION_HEADER_SIZE + (n * GROUP_SIZE).next_multiple_of(8),
    };
    let sched_len = match desc.sched.len() {
        0 => 0,
        n => SECTION_HEADER_SIZE + n * SCHED_SIZE,
    };
    let seccomp_insns: usize = desc.seccomp.iter().map(|f| f.code.len()).sum();
    let seccomp_len = if desc.seccomp.is_empty() {
        0
    } else {
        2 * SECTION_HEADER_SIZE + desc.seccomp.len() * SECCOMP_FILTER_SIZE + seccomp_insns * SECCOMP_INSN_SIZE
    };
    let tree_len = tree_sections_len(&opts.tree);
    let extra_len: usize = opts
        .extra
        .iter()
        .map(|e| SECTION_HEADER_SIZE + e.payload.len().next_multiple_of(8))
        .sum();
    let metadata_len = (meta.len() + runs_len + fds_len + files_len + signals_len + timers_len + tree_len + sockopts_len + locks_len + attrs_len + creds_len + sched_len + seccomp_len + extra_len) as u64;
    let layout = Layout::compute(metadata_len, page_total, run_total)
        .ok_or(FormatError::LayoutInconsistent)?;
    let mut runs = Vec::with_capacity(run_total as usize);
    let mut offset = layout.pages_offset;
    for r in &desc.regions {
        for run in &r.runs {
            let pr = PageRun {
                page_index: run.page_index,
                page_count: run.page_count,
                file_offset: offset,
            };
            let addr = r.start.wrapping_add(run.page_index.wrapping_mul(PAGE_SIZE));
            runs.push((addr, pr));
            offset = offset.wrapping_add(run.page_count.wrapping_mul(PAGE_SIZE));
        }
    }
    let run_bytes = encode_all(runs.iter().map(|(_, r)| r.to_wire()));
    push_section(
        &mut meta,
        kind::PAGE_RUNS,
        run_total,
        PAGE_RUN_SIZE,
        run_bytes,
    );
    push_section(
        &mut meta,
        kind::FDS,
        count(fds.len())?,
        FD_SIZE,
        encode_all(fds.iter().map(|f| f.to_wire())),
    );
    if !files.is_empty() {
        push_section(&mut meta, kind::FILES, count(files.len())?, FILE_SIZE, encode_all(files.iter().map(|f| f.to_wire())));
        push_section(&mut meta, kind::FILE_DATA, count(file_data.len())?, 1, file_data);
    }
    if !epoll.is_empty() {
        push_section(&mut meta, kind::EPOLL, count(epoll.len())?, EPOLL_ENTRY_SIZE, encode_all(epoll.into_iter()));
    }
    push_tree_links(&mut meta, &opts.tree, false)?;
    if !sockopts.is_empty() {
        push_section(&mut meta, kind::SOCKOPTS, count(sockopts.len())?, SOCKOPT_SIZE, encode_all(sockopts.into_iter()));
    }
    if !desc.pending_signals.is_empty() {
        push_section(
            &mut meta,
            kind::PENDING_SIGNALS,
            count(desc.pending_signals.len())?,
            PENDING_SIGNAL_SIZE,
            encode_all(desc.pending_signals.iter().map(|p| p.to_wire())),
        );
    }
    if !desc.timers.is_empty() {
        push_section(
            &mut meta,
            kind::TIMERS,
            count(desc.timers.len())?,
            TIMER_SIZE,
            encode_all(desc.timers.iter().map(|t| t.to_wire())),
        );
    }
    push_tree_links(&mut meta, &opts.tree, true)?;
    if !desc.locks.is_empty() {
        push_section(
            &mut meta,
            kind::LOCKS,
            count(desc.locks.len())?,
            LOCK_SIZE,
            encode_all(desc.locks.iter().map(|l| l.to_wire())),
        );
    }
    if attrs_len != 0 {
        push_section(&mut meta, kind::PROCESS_ATTRS, 1, PROCESS_ATTRS_SIZE, encode_all([desc.attrs.to_wire()].iter().copied()));
    }
    if let Some(c) = &desc.creds {
        push_section(&mut meta, kind::CREDS, 1, CREDS_SIZE, encode_all([c.to_wire()].iter().copied()));
    }
    if !desc.groups.is_empty() {
        let groups = desc.groups.iter().map(|&gid| crate::v1::records::Group { gid }.to_wire());
        push_section(&mut meta, kind::GROUPS, count(desc.groups.len())?, GROUP_SIZE, encode_all(groups));
    }
    if !desc.sched.is_empty() {
        push_section(&mut meta, kind::SCHED, count(desc.sched.len())?, SCHED_SIZE, encode_all(desc.sched.iter().map(|s| s.to_wire())));
    }
    if !desc.seccomp.is_empty() {
        let filters = desc.seccomp.iter().map(|f| crate::v1::records::SeccompFilter { flags: f.flags, len: f.code.len() as u32 }.to_wire());
        push_section(&mut meta, kind::SECCOMP_FILTERS, count(desc.seccomp.len())?, SECCOMP_FILTER_SIZE, encode_all(filters));
        let code = desc.seccomp.iter().flat_map(|f| f.code.iter()).map(|&insn| crate::v1::records::SeccompInsn::from_bytes(insn).to_wire());
        push_section(&mut meta, kind::SECCOMP_CODE, count(seccomp_insns)?, SECCOMP_INSN_SIZE, encode_all(code));
    }
    for e in &opts.extra {
        let mut payload = e.payload.clone();
        payload.resize(payload.len().next_multiple_of(8), 0);
        meta.extend_from_slice(&encode_section_header(
            e.kind,
            e.flags,
            e.count,
            e.record_size,
            &payload,
        ));
        meta.extend_from_slice(&payload);
    }

    let mut kernel_release = [0u8; KERNEL_RELEASE_LEN];
    let kr = &desc.kernel_release.0;
    if kr.len() >= KERNEL_RELEASE_LEN && opts.validate {
        return Err(FormatError::StringNotTerminated);
    }
    let n = kr.len().min(KERNEL_RELEASE_LEN);
    kernel_release[..n].copy_from_slice(&kr[..n]);
    let mut header = Header {
        major: VERSION_MAJOR,
        minor: if opts.tree.flags != 0 { opts.minor.max(TREE_MINOR) } else { opts.minor },
        arch: ARCH_X86_64,
        page_size: PAGE_SIZE as u32,
        flags: opts.tree.flags,
        dump_time_sec: desc.dump_time_sec,
        dump_time_nsec: desc.dump_time_nsec,
        metadata_crc: crc32c(&meta),
        metadata_offset: HEADER_SIZE as u64,
        metadata_len: meta.len() as u64,
        pages_offset: layout.pages_offset,
        pages_len: layout.pages_len,
        tail_offset: layout.tail_offset,
        tail_len: layout.tail_len,
        file_len: layout.file_len,
        kernel_release,
        crc: 0,
    };
    let header_bytes = header.encode();
    header.crc = crc32c(&header_bytes[..HEADER_CRC_COVERS]);
    // The writer runs the same validator as the restorers, so it can never
    // emit metadata they would refuse.
    if opts.validate {
        Header::parse(&header_bytes)?;
        Metadata::parse(&header, &meta)?;
    }
    Ok(Prepared {
        header,
        header_bytes,
        metadata: meta,
        runs,
    })
}

/// Writes `desc` as an image into `out` in one pass and returns the number
/// of bytes written. `fill(addr, buf)` must fill `buf` with the process's
/// memory at virtual address `addr`; it is called in address order within
/// each run, with `buf` at most `WRITE_CHUNK` bytes.
pub fn write_image<W: Write>(
    desc: &ImageDesc,
    out: &mut W,
    fill: impl FnMut(u64, &mut [u8]) -> io::Result<()>,
) -> Result<u64, WriteError> {
    let prepared = prepare(desc)?;
    write_prepared(&prepared, out, fill)
}

/// Streams an already prepared image (see `prepare`).
pub fn write_prepared<W: Write>(
    p: &Prepared,
    out: &mut W,
    fill: impl FnMut(u64, &mut [u8]) -> io::Result<()>,
) -> Result<u64, WriteError> {
    write_prepared_with(p, out, fill, Crc32c::update)
}

/// One stretch of a page run inside one of the writes of page data: the
/// run (its index in `Prepared::runs`), the address its bytes come from,
/// where they go in the write's buffer, and whether the run ends with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPiece {
    /// The run's index in `Prepared::runs`.
    pub run: usize,
    /// The virtual address of the piece's first byte.
    pub addr: u64,
    /// Its offset in the write's buffer.
    pub at: usize,
    /// Its length in bytes.
    pub len: usize,
    /// Whether it is the run's last piece (its checksum is complete).
    pub run_ends: bool,
}

/// How the page data of `p` goes out: writes of `WRITE_CHUNK` bytes (the
/// last shorter) gathered over consecutive runs (which are often a few
/// pages each), each the pieces that fill its buffer in order. Every
/// writer of the pages follows it, so that they write the same bytes and
/// checksum each run the same way.
pub fn page_chunks(p: &Prepared) -> Vec<Vec<ChunkPiece>> {
    let mut chunks = Vec::new();
    let mut current = Vec::new();
    let mut used = 0usize;
    for (run, (addr, r)) in p.runs.iter().enumerate() {
        let total = r.page_count.saturating_mul(PAGE_SIZE);
        if total == 0 {
            // (No valid image has one; its checksum is still one entry.)
            current.push(ChunkPiece { run, addr: *addr, at: used, len: 0, run_ends: true });
        }
        let mut done = 0u64;
        while done < total {
            let len = (total - done).min((WRITE_CHUNK - used) as u64) as usize;
            done += len as u64;
            current.push(ChunkPiece { run, addr: addr + done - len as u64, at: used, len, run_ends: done == total });
            used += len;
            if used == WRITE_CHUNK {
                chunks.push(core::mem::take(&mut current));
                used = 0;
            }
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The buffer the largest of `chunks` needs (WRITE_CHUNK but for a small
/// image).
pub fn chunk_buffer_len(chunks: &[Vec<ChunkPiece>]) -> usize {
    chunks.iter().filter_map(|c| c.last()).map(|x| x.at + x.len).max().unwrap_or(0)
}

/// What precedes the pages: the header, the metadata and the padding up
/// to the page-aligned start of the page data.
pub fn head_bytes(p: &Prepared) -> Vec<u8> {
    let h = &p.header;
    let mut out = Vec::with_capacity(h.pages_offset as usize);
    out.extend_from_slice(&p.header_bytes);
    out.extend_from_slice(&p.metadata);
    out.resize(h.pages_offset as usize, 0);
    out
}

/// `write_prepared` with the page checksums computed by `checksum`, which
/// must give the results of `Crc32c::update` (a host writer passes a
/// hardware CRC32C; this crate keeps the portable one as the reference).
pub fn write_prepared_with<W: Write>(
    p: &Prepared,
    out: &mut W,
    mut fill: impl FnMut(u64, &mut [u8]) -> io::Result<()>,
    checksum: impl Fn(&mut Crc32c, &[u8]),
) -> Result<u64, WriteError> {
    out.write_all(&head_bytes(p))?;
    // The caller's `fill` writes straight into this buffer, so no byte is
    // copied again on its way to `out`.
    let chunks = page_chunks(p);
    let mut buf = vec![0u8; chunk_buffer_len(&chunks)];
    let mut sums = RunChecksums::new(p);
    for pieces in &chunks {
        for x in pieces {
            fill(x.addr, &mut buf[x.at..x.at + x.len])?;
        }
        let used = sums.add(pieces, &buf, &checksum);
        out.write_all(&buf[..used])?;
    }
    out.write_all(&tail_bytes(p, &sums.crcs))?;
    Ok(p.header.file_len)
}

/// Each page run's CRC32C as the writers compute it, one filled chunk
/// (`page_chunks`) after the other: the run going on, and the finished
/// ones as `tail_bytes` takes them.
pub(crate) struct RunChecksums {
    crc: Crc32c,
    pub(crate) crcs: Vec<u8>,
}

impl RunChecksums {
    pub(crate) fn new(p: &Prepared) -> RunChecksums {
        RunChecksums { crc: Crc32c::new(), crcs: Vec::with_capacity(p.runs.len() * 4 + 8) }
    }

    /// Checksums the pieces of one chunk in `buf`; returns the bytes of
    /// `buf` they fill (what goes out).
    pub(crate) fn add(&mut self, pieces: &[ChunkPiece], buf: &[u8], checksum: &impl Fn(&mut Crc32c, &[u8])) -> usize {
        let mut used = 0;
        for x in pieces {
            checksum(&mut self.crc, &buf[x.at..x.at + x.len]);
            if x.run_ends {
                self.crcs.extend_from_slice(&self.crc.finish().to_le_bytes());
                self.crc = Crc32c::new();
            }
            used = x.at + x.len;
        }
        used
    }
}

/// The tail of `p` (the PAGE_CRCS section and the trailer), given each
/// run's CRC32C as 4 little-endian bytes in file order: what follows the
/// pages. For a writer that puts the pages in place itself and knows their
/// checksums (migrate's receiver).
pub fn tail_bytes(p: &Prepared, run_crcs: &[u8]) -> Vec<u8> {
    let h = &p.header;
    let mut crcs = run_crcs.to_vec();
    crcs.resize(crcs.len().next_multiple_of(8), 0);
    let run_count = p.runs.len() as u32;
    let table_head = encode_section_header(kind::PAGE_CRCS, 0, run_count, 4, &crcs);
    let mut table_crc = Crc32c::new();
    table_crc.update(&table_head);
    table_crc.update(&crcs);
    let trailer = Trailer {
        file_len: h.file_len,
        run_count: run_count as u64,
        header_crc: h.crc,
        metadata_crc: h.metadata_crc,
        page_table_crc: table_crc.finish(),
    };
    let mut out = Vec::with_capacity(table_head.len() + crcs.len() + 64);
    out.extend_from_slice(&table_head);
    out.extend_from_slice(&crcs);
    out.extend_from_slice(&trailer.encode());
    out
}
