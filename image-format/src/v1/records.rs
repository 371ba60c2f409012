//! Fixed-size process-level records: their byte layout, decode and encode.
//! Field offsets here are the ones FORMAT.md documents.

use super::bytes::{get_bytes, get_u32, get_u64, is_zero, put, put_u32, put_u64};
use super::limits::NUM_RLIMITS;

/// Reference into the STRINGS section: `len` bytes at `offset`, followed
/// by a NUL. (0, 0) is the empty string (the table starts with a NUL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct StrRef {
    /// Byte offset in the string table.
    pub offset: u32,
    /// Length without the NUL.
    pub len: u32,
}

impl StrRef {
    fn decode(b: &[u8], off: usize) -> StrRef {
        StrRef {
            offset: get_u32(b, off),
            len: get_u32(b, off + 4),
        }
    }
    fn encode(&self, b: &mut [u8], off: usize) {
        put_u32(b, off, self.offset);
        put_u32(b, off + 4, self.len);
    }
}

/// Identity of a file at dump time, to detect that it changed since.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FileId {
    /// st_dev.
    pub dev: u64,
    /// st_ino.
    pub ino: u64,
    /// st_size.
    pub size: u64,
    /// st_mtime seconds (two's complement).
    pub mtime_sec: i64,
    /// st_mtime nanoseconds.
    pub mtime_nsec: u32,
}

/// Size of an encoded FileId (last 4 bytes reserved).
pub const FILE_ID_SIZE: usize = 40;

impl FileId {
    fn decode(b: &[u8], off: usize) -> FileId {
        FileId {
            dev: get_u64(b, off),
            ino: get_u64(b, off + 8),
            size: get_u64(b, off + 16),
            mtime_sec: get_u64(b, off + 24) as i64,
            mtime_nsec: get_u32(b, off + 32),
        }
    }
    fn encode(&self, b: &mut [u8], off: usize) {
        put_u64(b, off, self.dev);
        put_u64(b, off + 8, self.ino);
        put_u64(b, off + 16, self.size);
        put_u64(b, off + 24, self.mtime_sec as u64);
        put_u32(b, off + 32, self.mtime_nsec);
    }
    fn reserved_zero(b: &[u8], off: usize) -> bool {
        is_zero(b, off + 36, off + 40)
    }
}

/// One resource limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rlimit {
    /// Soft limit.
    pub cur: u64,
    /// Hard limit (u64::MAX is RLIM_INFINITY).
    pub max: u64,
}

/// Address-space layout fields of the process's mm_struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MmLayout {
    /// mm->start_code.
    pub start_code: u64,
    /// mm->end_code.
    pub end_code: u64,
    /// mm->start_data.
    pub start_data: u64,
    /// mm->end_data.
    pub end_data: u64,
    /// mm->start_brk.
    pub start_brk: u64,
    /// mm->brk.
    pub brk: u64,
    /// mm->start_stack.
    pub start_stack: u64,
    /// mm->arg_start.
    pub arg_start: u64,
    /// mm->arg_end.
    pub arg_end: u64,
    /// mm->env_start.
    pub env_start: u64,
    /// mm->env_end.
    pub env_end: u64,
}

impl MmLayout {
    /// The fields in record order.
    pub fn to_array(&self) -> [u64; 11] {
        [
            self.start_code,
            self.end_code,
            self.start_data,
            self.end_data,
            self.start_brk,
            self.brk,
            self.start_stack,
            self.arg_start,
            self.arg_end,
            self.env_start,
            self.env_end,
        ]
    }
    /// Builds from the fields in record order.
    pub fn from_array(a: [u64; 11]) -> MmLayout {
        let [start_code, end_code, start_data, end_data, start_brk, brk, start_stack, arg_start, arg_end, env_start, env_end] =
            a;
        MmLayout {
            start_code,
            end_code,
            start_data,
            end_data,
            start_brk,
            brk,
            start_stack,
            arg_start,
            arg_end,
            env_start,
            env_end,
        }
    }
}

/// The PROCESS record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Process {
    /// pid at dump time.
    pub pid: u32,
    /// umask.
    pub umask: u32,
    /// personality(2) value.
    pub personality: u32,
    /// XSAVE area size of the dumping kernel (every thread's area has it).
    pub xsave_size: u32,
    /// XCR0 (enabled XSAVE features) of the dumping CPU.
    pub xcr0: u64,
    /// comm, NUL padded.
    pub comm: [u8; 16],
    /// Executable path.
    pub exe_path: StrRef,
    /// Executable identity.
    pub exe_id: FileId,
    /// Working directory.
    pub cwd: StrRef,
    /// mm layout.
    pub mm: MmLayout,
    /// RLIMIT_CPU .. RLIMIT_RTTIME, in Linux numbering.
    pub rlimits: [Rlimit; NUM_RLIMITS],
}

/// Size of the PROCESS record.
pub const PROCESS_SIZE: usize = 448;

impl Process {
    /// Decodes a PROCESS record (`b` is PROCESS_SIZE bytes).
    pub fn decode(b: &[u8]) -> Process {
        let mut mm = [0u64; 11];
        for (i, v) in mm.iter_mut().enumerate() {
            *v = get_u64(b, 96 + 8 * i);
        }
        let mut rlimits = [Rlimit::default(); NUM_RLIMITS];
        for (i, r) in rlimits.iter_mut().enumerate() {
            *r = Rlimit {
                cur: get_u64(b, 184 + 16 * i),
                max: get_u64(b, 192 + 16 * i),
            };
        }
        Process {
            pid: get_u32(b, 0),
            umask: get_u32(b, 4),
            personality: get_u32(b, 8),
            xsave_size: get_u32(b, 12),
            xcr0: get_u64(b, 16),
            comm: get_bytes(b, 24),
            exe_path: StrRef::decode(b, 40),
            exe_id: FileId::decode(b, 48),
            cwd: StrRef::decode(b, 88),
            mm: MmLayout::from_array(mm),
            rlimits,
        }
    }

    /// True when the reserved bytes of an encoded record are zero.
    pub fn reserved_zero(b: &[u8]) -> bool {
        FileId::reserved_zero(b, 48) && is_zero(b, 440, PROCESS_SIZE)
    }

    /// Encodes into `b` (PROCESS_SIZE bytes, zeroed by the caller).
    pub fn encode(&self, b: &mut [u8]) {
        put_u32(b, 0, self.pid);
        put_u32(b, 4, self.umask);
        put_u32(b, 8, self.personality);
        put_u32(b, 12, self.xsave_size);
        put_u64(b, 16, self.xcr0);
        put(b, 24, &self.comm);
        self.exe_path.encode(b, 40);
        self.exe_id.encode(b, 48);
        self.cwd.encode(b, 88);
        for (i, v) in self.mm.to_array().iter().enumerate() {
            put_u64(b, 96 + 8 * i, *v);
        }
        for (i, r) in self.rlimits.iter().enumerate() {
            put_u64(b, 184 + 16 * i, r.cur);
            put_u64(b, 192 + 16 * i, r.max);
        }
    }
}

/// One auxiliary vector entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AuxvEntry {
    /// a_type (never AT_NULL; the terminator is implied).
    pub key: u64,
    /// a_val.
    pub value: u64,
}

/// Size of an AUXV record.
pub const AUXV_SIZE: usize = 16;

impl AuxvEntry {
    /// Decodes one entry.
    pub fn decode(b: &[u8]) -> AuxvEntry {
        AuxvEntry {
            key: get_u64(b, 0),
            value: get_u64(b, 8),
        }
    }
    /// Encodes one entry.
    pub fn encode(&self, b: &mut [u8]) {
        put_u64(b, 0, self.key);
        put_u64(b, 8, self.value);
    }
}

/// One signal action (kernel `struct sigaction` for x86-64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SigAction {
    /// sa_handler: 0 SIG_DFL, 1 SIG_IGN, else a user address.
    pub handler: u64,
    /// sa_flags.
    pub flags: u64,
    /// sa_restorer.
    pub restorer: u64,
    /// sa_mask.
    pub mask: u64,
}

/// Size of a SIGACTIONS record.
pub const SIGACTION_SIZE: usize = 32;

impl SigAction {
    /// Decodes one action.
    pub fn decode(b: &[u8]) -> SigAction {
        SigAction {
            handler: get_u64(b, 0),
            flags: get_u64(b, 8),
            restorer: get_u64(b, 16),
            mask: get_u64(b, 24),
        }
    }
    /// Encodes one action.
    pub fn encode(&self, b: &mut [u8]) {
        put_u64(b, 0, self.handler);
        put_u64(b, 8, self.flags);
        put_u64(b, 16, self.restorer);
        put_u64(b, 24, self.mask);
    }
}

/// What backs a memory region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Anonymous memory.
    Anon = 0,
    /// Mapping of a regular file.
    File = 1,
    /// [stack].
    Stack = 2,
    /// [heap].
    Heap = 3,
    /// [vdso]: the restorer maps its kernel's vdso here.
    Vdso = 4,
    /// [vvar].
    Vvar = 5,
    /// [vvar_vclock] (6.13+).
    VvarVclock = 6,
    /// System V shared memory segment (path "/SYSV<key>").
    SysvShm = 7,
}

impl RegionKind {
    /// Decodes a kind code.
    pub fn from_u32(v: u32) -> Option<RegionKind> {
        Some(match v {
            0 => RegionKind::Anon,
            1 => RegionKind::File,
            2 => RegionKind::Stack,
            3 => RegionKind::Heap,
            4 => RegionKind::Vdso,
            5 => RegionKind::Vvar,
            6 => RegionKind::VvarVclock,
            7 => RegionKind::SysvShm,
            _ => return None,
        })
    }
}

/// Region protection bits.
pub mod prot {
    /// Readable.
    pub const READ: u32 = 1;
    /// Writable.
    pub const WRITE: u32 = 2;
    /// Executable.
    pub const EXEC: u32 = 4;
}

/// Region flag bits.
pub mod region_flags {
    /// MAP_SHARED (else private).
    pub const SHARED: u32 = 1;
    /// Shared anonymous memory (shmem-backed; requires SHARED and kind Anon).
    pub const SHARED_ANON: u32 = 2;
    /// All bits v1 knows.
    pub const KNOWN: u32 = SHARED | SHARED_ANON;
}

/// One memory region (VMA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address (page aligned).
    pub start: u64,
    /// End address, exclusive (page aligned).
    pub end: u64,
    /// prot bits.
    pub prot: u32,
    /// Kind.
    pub kind: RegionKind,
    /// region_flags bits.
    pub flags: u32,
    /// Path of the backing file (File, SysvShm), else empty.
    pub path: StrRef,
    /// Offset in the backing file (page aligned).
    pub file_offset: u64,
    /// Identity of the backing file.
    pub file_id: FileId,
    /// Index of this region's first page run in PAGE_RUNS.
    pub first_run: u32,
    /// Number of page runs of this region.
    pub run_count: u32,
}

/// Size of a REGIONS record.
pub const REGION_SIZE: usize = 96;

impl Region {
    /// Decodes one region; None if its kind code is unknown.
    pub fn decode(b: &[u8]) -> Option<Region> {
        Some(Region {
            start: get_u64(b, 0),
            end: get_u64(b, 8),
            prot: get_u32(b, 16),
            kind: RegionKind::from_u32(get_u32(b, 20))?,
            flags: get_u32(b, 24),
            path: StrRef::decode(b, 32),
            file_offset: get_u64(b, 40),
            file_id: FileId::decode(b, 48),
            first_run: get_u32(b, 88),
            run_count: get_u32(b, 92),
        })
    }
    /// True when reserved bytes are zero.
    pub fn reserved_zero(b: &[u8]) -> bool {
        is_zero(b, 28, 32) && FileId::reserved_zero(b, 48)
    }
    /// Encodes one region into a zeroed REGION_SIZE buffer.
    pub fn encode(&self, b: &mut [u8]) {
        put_u64(b, 0, self.start);
        put_u64(b, 8, self.end);
        put_u32(b, 16, self.prot);
        put_u32(b, 20, self.kind as u32);
        put_u32(b, 24, self.flags);
        self.path.encode(b, 32);
        put_u64(b, 40, self.file_offset);
        self.file_id.encode(b, 48);
        put_u32(b, 88, self.first_run);
        put_u32(b, 92, self.run_count);
    }
    /// Number of pages the region spans.
    pub fn pages(&self) -> u64 {
        self.end.saturating_sub(self.start) / super::limits::PAGE_SIZE
    }
}

/// A run of consecutive stored pages of one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRun {
    /// Index of the first page within the region.
    pub page_index: u64,
    /// Number of pages.
    pub page_count: u64,
    /// Absolute file offset of the first page (page aligned).
    pub file_offset: u64,
}

/// Size of a PAGE_RUNS record.
pub const PAGE_RUN_SIZE: usize = 24;

impl PageRun {
    /// Decodes one run.
    pub fn decode(b: &[u8]) -> PageRun {
        PageRun {
            page_index: get_u64(b, 0),
            page_count: get_u64(b, 8),
            file_offset: get_u64(b, 16),
        }
    }
    /// Encodes one run.
    pub fn encode(&self, b: &mut [u8]) {
        put_u64(b, 0, self.page_index);
        put_u64(b, 8, self.page_count);
        put_u64(b, 16, self.file_offset);
    }
}

/// What an open file descriptor refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    /// Regular file.
    Regular = 0,
    /// Directory.
    Directory = 1,
    /// Character device (other than a tty).
    CharDev = 2,
    /// Pipe or FIFO.
    Pipe = 3,
    /// Terminal.
    Tty = 4,
    /// Socket.
    Socket = 5,
    /// Anything else (eventfd, epoll, ...).
    Other = 6,
}

impl FdKind {
    /// Decodes a kind code.
    pub fn from_u32(v: u32) -> Option<FdKind> {
        Some(match v {
            0 => FdKind::Regular,
            1 => FdKind::Directory,
            2 => FdKind::CharDev,
            3 => FdKind::Pipe,
            4 => FdKind::Tty,
            5 => FdKind::Socket,
            6 => FdKind::Other,
            _ => return None,
        })
    }
}

/// How the restorer provides an fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdDisposition {
    /// Open `path` again with `open_flags` and seek to `offset`.
    Reopen = 0,
    /// Keep the restoring caller's fd of the same number (fds 0-2 only).
    Inherit = 1,
    /// Unsupported at dump time: left closed.
    Closed = 2,
}

impl FdDisposition {
    /// Decodes a disposition code.
    pub fn from_u32(v: u32) -> Option<FdDisposition> {
        Some(match v {
            0 => FdDisposition::Reopen,
            1 => FdDisposition::Inherit,
            2 => FdDisposition::Closed,
            _ => return None,
        })
    }
}

/// One open file descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fd {
    /// fd number.
    pub fd: u32,
    /// Kind.
    pub kind: FdKind,
    /// Disposition.
    pub disposition: FdDisposition,
    /// open(2) flags (O_ACCMODE, O_APPEND, ...).
    pub open_flags: u32,
    /// File position.
    pub offset: u64,
    /// Path (may be empty unless Reopen).
    pub path: StrRef,
    /// FD_CLOEXEC set.
    pub cloexec: bool,
}

/// Size of an FDS record.
pub const FD_SIZE: usize = 40;

impl Fd {
    /// Decodes one fd; None if kind, disposition or cloexec is invalid.
    pub fn decode(b: &[u8]) -> Option<Fd> {
        Some(Fd {
            fd: get_u32(b, 0),
            kind: FdKind::from_u32(get_u32(b, 4))?,
            disposition: FdDisposition::from_u32(get_u32(b, 8))?,
            open_flags: get_u32(b, 12),
            offset: get_u64(b, 16),
            path: StrRef::decode(b, 24),
            cloexec: match get_u32(b, 32) {
                0 => false,
                1 => true,
                _ => return None,
            },
        })
    }
    /// True when reserved bytes are zero.
    pub fn reserved_zero(b: &[u8]) -> bool {
        is_zero(b, 36, FD_SIZE)
    }
    /// Encodes one fd into a zeroed FD_SIZE buffer.
    pub fn encode(&self, b: &mut [u8]) {
        put_u32(b, 0, self.fd);
        put_u32(b, 4, self.kind as u32);
        put_u32(b, 8, self.disposition as u32);
        put_u32(b, 12, self.open_flags);
        put_u64(b, 16, self.offset);
        self.path.encode(b, 24);
        put_u32(b, 32, self.cloexec as u32);
    }
}
