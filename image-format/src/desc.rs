//! Owned, plain descriptions of an image's contents: what the writer takes
//! and what `ImageDesc::from_image` gives back, so a round trip compares
//! equal and `ckpt-writer inspect` can print it with `Debug`.

use std::fmt;
use std::vec::Vec;

use crate::v1::{
    AuxvEntry, EpollEntry, FdDisposition, FdKind, FileId, FileKind, Image, MmLayout, PendingSignal, RegionKind, Rlimit,
    SigAction, ThreadState, Timer, Lock, ProcessAttrs, Creds, Sched, SockOpt,
};

/// Bytes that are usually text (paths, comm); Debug shows them escaped.
#[derive(Clone, PartialEq, Eq, Default, Hash)]
pub struct ByteString(pub Vec<u8>);

impl fmt::Debug for ByteString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

impl From<&str> for ByteString {
    fn from(s: &str) -> Self {
        ByteString(s.as_bytes().to_vec())
    }
}

impl From<&[u8]> for ByteString {
    fn from(s: &[u8]) -> Self {
        ByteString(s.to_vec())
    }
}

/// Binary data (XSAVE areas); Debug shows length and CRC32C, not bytes.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Blob {{ len: {}, crc32c: {:#010x} }}",
            self.0.len(),
            crate::v1::crc32c(&self.0)
        )
    }
}

/// Everything an image records, in owned form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageDesc {
    /// Kernel release of the dumping machine (at most 64 bytes).
    pub kernel_release: ByteString,
    /// Dump time, seconds since the epoch.
    pub dump_time_sec: u64,
    /// Dump time, nanoseconds.
    pub dump_time_nsec: u32,
    /// Process-wide state.
    pub process: ProcessDesc,
    /// Auxiliary vector without AT_NULL.
    pub auxv: Vec<AuxvEntry>,
    /// Threads, sorted by tid.
    pub threads: Vec<ThreadDesc>,
    /// Exactly 64 signal actions; index i is signal i + 1.
    pub sigactions: Vec<SigAction>,
    /// Regions, sorted by address.
    pub regions: Vec<RegionDesc>,
    /// File descriptors, sorted by number.
    pub fds: Vec<FdDesc>,
    /// Open file descriptions that Shared fds refer to.
    pub files: Vec<FileDesc>,
    /// Pending signals: the process queue, then each thread's by tid.
    pub pending_signals: Vec<PendingSignal>,
    /// Timers: armed itimers, then POSIX timers by id.
    pub timers: Vec<Timer>,
    /// File locks held at dump, sorted by fd, kind and start.
    pub locks: Vec<Lock>,
    /// The prctl attributes (PROCESS_ATTRS, written when not all default).
    pub attrs: ProcessAttrs,
    /// The credentials (CREDS) and supplementary groups (GROUPS); None:
    /// not recorded (writers before 1.1's CREDS), restored as the caller's.
    pub creds: Option<Creds>,
    /// The supplementary groups (with `creds`).
    pub groups: Vec<u32>,
    /// Each thread's scheduling (SCHED), THREADS order; empty: all at the
    /// defaults.
    pub sched: Vec<Sched>,
    /// The seccomp filters (SECCOMP_FILTERS, SECCOMP_CODE), oldest first.
    pub seccomp: Vec<SeccompDesc>,
}

/// One seccomp filter: its flags and its instructions (struct
/// sock_filter, 8 bytes each).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SeccompDesc {
    /// SECCOMP_FILTER_FLAG_LOG, SPEC_ALLOW.
    pub flags: u32,
    /// The instructions.
    pub code: Vec<[u8; 8]>,
}

/// Process-wide state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessDesc {
    /// pid at dump.
    pub pid: u32,
    /// comm (at most 15 bytes).
    pub comm: ByteString,
    /// Executable path.
    pub exe_path: ByteString,
    /// Executable identity.
    pub exe_id: FileId,
    /// Working directory.
    pub cwd: ByteString,
    /// umask.
    pub umask: u32,
    /// personality.
    pub personality: u32,
    /// XCR0 at dump.
    pub xcr0: u64,
    /// XSAVE area size at dump.
    pub xsave_size: u32,
    /// mm layout.
    pub mm: MmLayout,
    /// Resource limits in Linux numbering.
    pub rlimits: [Rlimit; 16],
    /// membarrier registrations (`records::membarrier` bits).
    pub membarrier: u32,
    /// The working directory had been removed before the dump.
    pub cwd_removed: bool,
}

/// One thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadDesc {
    /// Registers and per-thread kernel state.
    pub state: ThreadState,
    /// XSAVE area (process.xsave_size bytes).
    pub xsave: Blob,
    /// The thread's own name; empty: the process's comm (`state.name` is
    /// left default here and set by the writer).
    pub name: ByteString,
}

/// One memory region with the runs of pages stored for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionDesc {
    /// First address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// prot bits (`v1::records::prot`).
    pub prot: u32,
    /// Kind.
    pub kind: RegionKind,
    /// `v1::records::region_flags` bits.
    pub flags: u32,
    /// Backing file path (File, SysvShm).
    pub path: ByteString,
    /// Offset in the backing file.
    pub file_offset: u64,
    /// Backing file identity.
    pub file_id: FileId,
    /// MAPS_FILE: the FILES index of the description it maps; else 0.
    pub file: u32,
    /// Stored pages, sorted, non-overlapping.
    pub runs: Vec<RunDesc>,
}

/// Stored pages `page_index .. page_index + page_count` of a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunDesc {
    /// First page, counted from the region start.
    pub page_index: u64,
    /// Number of pages.
    pub page_count: u64,
}

/// One file descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdDesc {
    /// fd number.
    pub fd: u32,
    /// Kind.
    pub kind: FdKind,
    /// Disposition.
    pub disposition: FdDisposition,
    /// open flags.
    pub open_flags: u32,
    /// File position.
    pub offset: u64,
    /// Path.
    pub path: ByteString,
    /// Close-on-exec.
    pub cloexec: bool,
    /// Index in `files` (Shared), else 0.
    pub file: u32,
}

/// One open file description (FILES record) with its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDesc {
    /// Kind.
    pub kind: FileKind,
    /// File status flags.
    pub status_flags: u32,
    /// File position.
    pub offset: u64,
    /// Path.
    pub path: ByteString,
    /// Pipe number (pipes), else 0.
    pub pipe: u32,
    /// Kind-specific flags.
    pub kind_flags: u32,
    /// Queued bytes (a pipe's read end).
    pub data: Blob,
    /// Kind-specific values (value0..value4). For epoll, value0 and
    /// value1 (where its list lies in EPOLL) are the writer's to fill in.
    pub values: [u64; 5],
    /// An epoll description's interest list.
    pub epoll: Vec<EpollEntry>,
    /// Signal-driven I/O: owner and signal (`file_owner`); 0: none.
    pub owner: u64,
    /// A socket's options that differ from their defaults (SOCKOPTS),
    /// sorted by level and name; `file` is the writer's to fill in.
    pub sockopts: Vec<SockOpt>,
}

impl FileDesc {
    /// A description of `kind` with every other field zero.
    pub fn new(kind: FileKind) -> FileDesc {
        FileDesc {
            kind,
            status_flags: 0,
            offset: 0,
            path: ByteString::default(),
            pipe: 0,
            kind_flags: 0,
            data: Blob::default(),
            values: [0; 5],
            epoll: Vec::new(),
            owner: 0,
            sockopts: Vec::new(),
        }
    }
}

impl ImageDesc {
    /// Owned copy of a validated image's contents.
    pub fn from_image(img: &Image<'_>) -> ImageDesc {
        let p = &img.process;
        let s = |r| ByteString(img.string(r).to_vec());
        ImageDesc {
            kernel_release: ByteString(img.header.kernel_release().to_vec()),
            dump_time_sec: img.header.dump_time_sec,
            dump_time_nsec: img.header.dump_time_nsec,
            process: ProcessDesc {
                pid: p.pid,
                comm: ByteString(img.comm().to_vec()),
                exe_path: s(p.exe_path),
                exe_id: p.exe_id,
                cwd: s(p.cwd),
                umask: p.umask,
                personality: p.personality,
                xcr0: p.xcr0,
                xsave_size: p.xsave_size,
                mm: p.mm,
                rlimits: p.rlimits,
                membarrier: p.membarrier,
                cwd_removed: p.cwd_removed != 0,
            },
            auxv: img.auxv().collect(),
            threads: img
                .threads()
                .map(|t| ThreadDesc {
                    state: ThreadState { name: Default::default(), ..t.state },
                    xsave: Blob(t.xsave.to_vec()),
                    name: if t.state.name == Default::default() { ByteString::default() } else { s(t.state.name) },
                })
                .collect(),
            sigactions: img.sigactions().collect(),
            regions: img
                .regions()
                .map(|r| RegionDesc {
                    start: r.start,
                    end: r.end,
                    prot: r.prot,
                    kind: r.kind,
                    flags: r.flags,
                    path: s(r.path),
                    file_offset: r.file_offset,
                    file_id: r.file_id,
                    file: r.file,
                    runs: img
                        .page_runs(&r)
                        .map(|run| RunDesc {
                            page_index: run.page_index,
                            page_count: run.page_count,
                        })
                        .collect(),
                })
                .collect(),
            fds: img
                .fds()
                .map(|f| FdDesc {
                    fd: f.fd,
                    kind: f.kind,
                    disposition: f.disposition,
                    open_flags: f.open_flags,
                    offset: f.offset,
                    path: s(f.path),
                    cloexec: f.cloexec,
                    file: f.file,
                })
                .collect(),
            files: img
                .files()
                .enumerate()
                .map(|(i, f)| FileDesc {
                    kind: f.kind,
                    status_flags: f.status_flags,
                    offset: f.offset,
                    path: s(f.path),
                    pipe: f.pipe,
                    kind_flags: f.kind_flags,
                    data: Blob(img.file_data(&f).to_vec()),
                    values: [f.value0, f.value1, f.value2, f.value3, f.value4],
                    epoll: img.epoll_entries(&f).collect(),
                    owner: f.owner,
                    sockopts: img.sockopts_of(i as u32).collect(),
                })
                .collect(),
            pending_signals: img.pending_signals().collect(),
            timers: img.timers().collect(),
            locks: img.locks().collect(),
            attrs: img.process_attrs(),
            creds: img.creds(),
            groups: img.groups().collect(),
            sched: img.sched().collect(),
            seccomp: img.seccomp_filters().map(|(f, code)| SeccompDesc { flags: f.flags, code: code.iter().filter_map(|w| w.decode()).map(|i| i.bytes()).collect() }).collect(),
        }
    }
}
