//! Everything captured from a frozen process, independent of how the
//! image encodes it (`encode.rs` maps this to the image-format crate), and
//! the kernel structures it is read from.

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Identity of a file: detects that it changed between dump and restore.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileIdent {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: u32,
}

impl FileIdent {
    /// Identity from a `stat` result.
    pub fn from_metadata(m: &std::fs::Metadata) -> FileIdent {
        use std::os::unix::fs::MetadataExt;
        FileIdent { dev: m.dev(), ino: m.ino(), size: m.size(), mtime_sec: m.mtime(), mtime_nsec: m.mtime_nsec() as u32 }
    }
}

/// Process-wide state.
#[derive(Clone, Debug, Default)]
pub struct ProcessState {
    pub pid: i32,
    pub comm: Vec<u8>,
    pub exe_path: Vec<u8>,
    pub exe_id: FileIdent,
    pub cwd: Vec<u8>,
    /// The working directory had been removed.
    pub cwd_removed: bool,
    pub umask: u32,
    pub personality: u32,
    /// mm_struct layout fields from /proc/PID/stat plus the current brk.
    pub mm: image_format::MmLayout,
    /// (soft, hard) in Linux numbering, RLIM_INFINITY as u64::MAX.
    pub rlimits: [(u64, u64); 16],
    /// membarrier registrations (MEMBARRIER_CMD_GET_REGISTRATIONS).
    pub membarrier: u32,
    /// PR_GET_PDEATHSIG: the signal it gets when its parent dies (0: none).
    pub pdeath_signal: u32,
    /// PR_GET_CHILD_SUBREAPER.
    pub child_subreaper: bool,
    /// PR_GET_NO_NEW_PRIVS (/proc/PID/status NoNewPrivs).
    pub no_new_privs: bool,
    /// PR_GET_DUMPABLE returned 0 (1 and 2, SUID_DUMP_ROOT, count as
    /// dumpable: prctl cannot set 2).
    pub not_dumpable: bool,
    /// PR_GET_THP_DISABLE returned 1 (injected, capture.rs).
    pub thp_disabled: bool,
    /// In a group stop at dump (state T before it was attached).
    pub stopped: bool,
    /// /proc/PID/oom_score_adj.
    pub oom_score_adj: i32,
    /// Its credentials and supplementary groups (/proc/PID/status).
    pub creds: Option<image_format::v1::Creds>,
    pub groups: Vec<u32>,
    /// (type, value) pairs in file order, without AT_NULL.
    pub auxv: Vec<(u64, u64)>,
}

/// One thread's registers and per-thread kernel state.
#[derive(Clone, Debug)]
pub struct ThreadState {
    pub tid: i32,
    /// Registers as the restored thread must see them (restart rule applied).
    pub regs: libc::user_regs_struct,
    /// The XSAVE area as PTRACE_GETREGSET(NT_X86_XSTATE) returned it.
    pub xsave: Vec<u8>,
    pub sigmask: u64,
    pub altstack: AltStack,
    pub clear_child_tid: u64,
    pub robust_list: (u64, u64),
    pub rseq: RseqConfig,
    /// Its name (/proc/PID/task/TID/comm).
    pub comm: Vec<u8>,
}

/// sigaltstack(2) result.
#[derive(Clone, Copy, Debug, Default)]
pub struct AltStack {
    pub sp: u64,
    pub flags: u32,
    pub size: u64,
}

/// PTRACE_GET_RSEQ_CONFIGURATION result.
#[derive(Clone, Copy, Debug, Default)]
pub struct RseqConfig {
    pub addr: u64,
    pub len: u32,
    pub sig: u32,
}

/// Kernel `struct sigaction` of one signal, as rt_sigaction(2) writes it
/// on x86-64 (handler, flags, restorer, mask: no padding).
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// Kernel `stack_t` on x86-64, as sigaltstack(2) writes it.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct KernelStack {
    pub ss_sp: u64,
    pub ss_flags: i32,
    pub _pad: u32,
    pub ss_size: u64,
}

impl From<KernelStack> for AltStack {
    fn from(k: KernelStack) -> AltStack {
        AltStack { sp: k.ss_sp, flags: k.ss_flags as u32, size: k.ss_size }
    }
}

/// What backs a memory region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    Anon,
    File,
    Stack,
    Heap,
    Vdso,
    Vvar,
    VvarVclock,
    SysvShm,
}

/// One mapping with the page runs stored for it.
#[derive(Clone, Debug)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
    /// MAP_SHARED|MAP_ANONYMOUS (shmem): all its pages are stored.
    pub shared_anon: bool,
    /// A shared file mapping with VM_MAYWRITE (smaps "mw").
    pub may_write: bool,
    /// Its per-mapping state as image `region_flags::ADVICE` bits (mlock,
    /// madvise: memory.rs `advice_bits`).
    pub advice: u32,
    pub kind: RegionKind,
    pub path: Vec<u8>,
    pub file_offset: u64,
    pub file_id: FileIdent,
    /// (first page index in the region, page count), sorted.
    pub runs: Vec<(u64, u64)>,
    /// MAPS_FILE: the FILES index of the memfd or deleted file it maps
    /// (mapped_files.rs).
    pub maps_file: Option<u32>,
}

impl Region {
    /// Number of stored pages.
    pub fn stored_pages(&self) -> u64 {
        self.runs.iter().map(|r| r.1).sum()
    }
}

/// What an fd refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    Regular,
    Directory,
    CharDev,
    Pipe,
    Tty,
    Socket,
    Other,
}

/// How a restorer provides the fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdDisposition {
    Reopen,
    Inherit,
    Closed,
    /// Refers to the open file description `FdState::file`.
    Shared,
}

/// One file descriptor.
#[derive(Clone, Debug)]
pub struct FdState {
    pub fd: i32,
    pub kind: FdKind,
    pub disposition: FdDisposition,
    /// open flags without O_CLOEXEC.
    pub flags: u32,
    pub offset: u64,
    pub path: Vec<u8>,
    pub cloexec: bool,
    /// Index in `Snapshot::files` (Shared).
    pub file: u32,
}

/// The whole process.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub kernel_release: Vec<u8>,
    pub dump_time: (u64, u32),
    pub process: ProcessState,
    pub xcr0: u64,
    pub xsave_size: u32,
    pub threads: Vec<ThreadState>,
    /// 64 entries; index i is signal i + 1.
    pub sigactions: Vec<SigAction>,
    pub regions: Vec<Region>,
    pub fds: Vec<FdState>,
    /// Open file descriptions that shared fds refer to.
    pub files: Vec<image_format::FileDesc>,
    /// What the dump summary says about the fds (pipe ends whose peer is gone).
    pub fd_notes: Vec<String>,
    /// The process queue, then each thread's, in delivery order.
    pub pending_signals: Vec<crate::signals::Pending>,
    /// Armed itimers, then POSIX timers by id.
    pub timers: Vec<image_format::Timer>,
    /// File locks, sorted by fd, kind and start.
    pub locks: Vec<image_format::Lock>,
    /// Each thread's scheduling (sched.rs); empty when all default.
    pub sched: Vec<image_format::v1::Sched>,
    /// The seccomp filters, oldest first (seccomp.rs).
    pub seccomp: Vec<image_format::SeccompDesc>,
}

impl Snapshot {
    /// Bytes of page data the image will hold.
    pub fn page_bytes(&self) -> u64 {
        self.regions.iter().map(|r| r.stored_pages() * 4096).sum()
    }
}
