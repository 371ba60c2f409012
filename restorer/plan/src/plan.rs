// SPDX-License-Identifier: GPL-2.0
//! Builds the stub's plan (restorer/stub/plan.h) from a validated image.
//!
//! Shared by both restorers: the kernel module includes this file with
//! `#[path]` and the userspace restorer through the `restore-plan` crate, so
//! the two cannot disagree on what a plan holds. Rules as in the image
//! format's `v1`: `core` only, no allocation (the caller owns the buffer),
//! no panicking operation, no `crate::` paths; the format is `super::fmt`.
//!
//! A plan is a block of little-endian u64 words: the fixed header, one record
//! per thread, then (at offsets the header names) the memory steps, the fds,
//! the strings, the XSAVE areas (64-byte aligned), and at its very end the
//! stub's temporary stack. The restorer places the stub's blob directly after
//! the plan: `[plan][stub body][final page]`.

use super::fmt::records::prot;
use super::fmt::records::{pipe_flags, unix_pair_flags};
use super::fmt::{FdDisposition, FdKind, File, FileKind, Image, SignalScope};

/// "CKPTPLN1", little-endian.
pub const PLAN_MAGIC: u64 = 0x314e_4c50_5450_4b43;
/// Signal actions in a plan (signals 1..=64).
pub const NSIG: usize = 64;
/// Resource limits in a plan.
pub const NRLIMIT: usize = 16;
/// "Leave as the caller had it" (umask, personality) and "none" (offsets).
pub const KEEP: u64 = !0;
/// Page size.
pub const PAGE: u64 = 4096;
/// Room the stub's own calls need before any thread runs (entry to the
/// deepest call in stub.c is well under 2 KiB).
pub const TEMP_STACK: u64 = 32 * 1024;
/// Largest plan a restorer builds: a hostile image with 16k threads of
/// 64 KiB XSAVE areas would otherwise ask the kernel for a gigabyte.
pub const MAX_PLAN_LEN: u64 = 80 << 20;

/// Word indices of `struct chkpt_plan`'s fixed part.
pub mod head {
    #![allow(missing_docs)]
    pub const MAGIC: usize = 0;
    pub const NR_THREADS: usize = 1;
    pub const VDSO_BASE: usize = 2;
    pub const UNMAP_START: usize = 3;
    pub const UNMAP_LEN: usize = 4;
    pub const THREADS_LEFT: usize = 5;
    pub const ERROR: usize = 6;
    pub const STUB_START: usize = 7;
    pub const STUB_LEN: usize = 8;
    pub const CWD_OFFSET: usize = 9;
    pub const COMM_OFFSET: usize = 10;
    pub const UMASK: usize = 11;
    pub const PERSONALITY: usize = 12;
    pub const FDS_OFFSET: usize = 13;
    pub const NR_FDS: usize = 14;
    pub const CLOSE_FROM: usize = 15;
    pub const OPS_OFFSET: usize = 16;
    pub const NR_OPS: usize = 17;
    pub const ERROR_DETAIL: usize = 18;
    pub const REPORT_FD: usize = 19;
    pub const REPORT_MIN: usize = 20;
    pub const REPORT_PREFIX_OFFSET: usize = 21;
    /// `rlimits[16]`: cur, max.
    pub const RLIMITS: usize = 22;
    /// `sigactions[64]`: handler, flags, restorer, mask.
    pub const SIGACTIONS: usize = RLIMITS + 2 * super::NRLIMIT;
    /// Open file descriptions: `struct chkpt_plan_file` array, count.
    pub const FILES_OFFSET: usize = SIGACTIONS + 4 * super::NSIG;
    pub const NR_FILES: usize = FILES_OFFSET + 1;
    /// Fds that refer to them: `struct chkpt_plan_link` array, count.
    pub const LINKS_OFFSET: usize = FILES_OFFSET + 2;
    pub const NR_LINKS: usize = FILES_OFFSET + 3;
    pub const SIGNALS_OFFSET: usize = FILES_OFFSET + 4;
    pub const NR_SIGNALS: usize = SIGNALS_OFFSET + 1;
    pub const TIMERS_OFFSET: usize = NR_SIGNALS + 1;
    pub const NR_TIMERS: usize = TIMERS_OFFSET + 1;
    pub const MEMBARRIER: usize = NR_TIMERS + 1;
    /// 1: threads are cloned with their TIDs at dump (`set_keep_tids`).
    pub const KEEP_TIDS: usize = MEMBARRIER + 1;
    /// File locks: `struct chkpt_plan_lock` array, count.
    pub const LOCKS_OFFSET: usize = KEEP_TIDS + 1;
    pub const NR_LOCKS: usize = LOCKS_OFFSET + 1;
    /// `struct chkpt_plan_tree` (tree.rs), 0: none.
    pub const TREE_OFFSET: usize = NR_LOCKS + 1;
    /// Deferred regions: `struct chkpt_plan_deferred` array, count.
    pub const DEFERRED_OFFSET: usize = TREE_OFFSET + 1;
    pub const NR_DEFERRED: usize = DEFERRED_OFFSET + 1;
    /// The original program's path, made /proc/PID/exe by the stub
    /// (`set_exe_link`); 0: the link is kept.
    pub const EXE_OFFSET: usize = NR_DEFERRED + 1;
    /// A `struct prctl_mm_map` of the image's values (its auxv pointer
    /// absolute), which the stub passes with the program's fd.
    pub const MM_MAP_OFFSET: usize = EXE_OFFSET + 1;
    /// PR_SET_PDEATHSIG for a process of no tree (tree.c sets a tree's).
    pub const PDEATH_SIGNAL: usize = MM_MAP_OFFSET + 1;
    /// The image's PROCESS_ATTRS flags (`attr_flags`).
    pub const ATTR_FLAGS: usize = PDEATH_SIGNAL + 1;
    /// Per-mapping state: `struct chkpt_plan_advice` array, count.
    pub const ADVICE_OFFSET: usize = ATTR_FLAGS + 1;
    pub const NR_ADVICE: usize = ADVICE_OFFSET + 1;
    /// `struct chkpt_plan_creds` the stub takes on last (`set_creds`);
    /// 0: the caller's are kept.
    pub const CREDS_OFFSET: usize = NR_ADVICE + 1;
    /// /proc/self/oom_score_adj to write, plus 1000 (0..=2000); KEEP:
    /// the caller's is kept.
    pub const OOM_SCORE_ADJ: usize = CREDS_OFFSET + 1;
    /// The seccomp filters the stub installs last, oldest first:
    /// `struct chkpt_plan_seccomp` array, count.
    pub const SECCOMP_OFFSET: usize = OOM_SCORE_ADJ + 1;
    pub const NR_SECCOMP: usize = SECCOMP_OFFSET + 1;
    /// Start of `threads[]`; also the header's length in words.
    pub const THREADS: usize = NR_SECCOMP + 1;
}

/// Word indices in `struct chkpt_plan_thread`.
pub mod thread {
    #![allow(missing_docs)]
    /// `regs[27]`, in `user_regs_struct` order.
    pub const REGS: usize = 0;
    pub const SIGMASK: usize = 27;
    pub const SS_SP: usize = 28;
    pub const SS_FLAGS: usize = 29;
    pub const SS_SIZE: usize = 30;
    pub const CLEAR_CHILD_TID: usize = 31;
    pub const ROBUST_HEAD: usize = 32;
    pub const ROBUST_LEN: usize = 33;
    pub const RSEQ_ADDR: usize = 34;
    pub const RSEQ_LEN: usize = 35;
    pub const RSEQ_SIG: usize = 36;
    pub const TID_SLOT: usize = 37;
    pub const TID_OLD: usize = 38;
    pub const XSAVE_OFFSET: usize = 39;
    pub const XSAVE_LEN: usize = 40;
    pub const XFEATURES: usize = 41;
    pub const STATUS: usize = 42;
    pub const NEW_TID: usize = 43;
    /// `name[2]`: the thread's own name, NUL padded (16 bytes); 0: none.
    pub const NAME: usize = 44;
    /// sched_setattr's policy (KEEP: the caller's scheduling is kept),
    /// flags, nice value (two's complement) and priority (SCHED).
    pub const SCHED_POLICY: usize = 46;
    pub const SCHED_FLAGS: usize = 47;
    pub const SCHED_NICE: usize = 48;
    pub const SCHED_PRIORITY: usize = 49;
    /// ioprio_set's value (KEEP with SCHED_POLICY).
    pub const IOPRIO: usize = 50;
    /// 1: `affinity[16]` is a CPU mask for sched_setaffinity; 0: none.
    pub const AFFINITY_SET: usize = 51;
    pub const AFFINITY: usize = 52;
    /// Words per thread record.
    pub const WORDS: usize = 68;
}

/// Words per `struct chkpt_plan_fd`: fd, flags, offset, path_offset.
pub const FD_WORDS: usize = 4;
/// Words per `struct chkpt_plan_op`.
pub const OP_WORDS: usize = 7;
/// Words per `struct chkpt_plan_signal`: signo, thread, 6 words of siginfo.
pub const SIGNAL_WORDS: usize = 8;
/// `struct chkpt_plan_signal.thread` of a signal in the process queue.
pub const SIGNAL_PROCESS: u64 = !0;
/// Words per `struct chkpt_plan_timer`.
pub const TIMER_WORDS: usize = 9;
/// Words per `struct chkpt_plan_lock`: fd, kind, write, start, len.
pub const LOCK_WORDS: usize = 5;
/// Words in `struct chkpt_plan_deferred`.
pub const DEFERRED_WORDS: usize = 8;

/// Word indices in `struct chkpt_plan_deferred`.
pub mod deferred {
    #![allow(missing_docs)]
    pub const ADDR: usize = 0;
    pub const LEN: usize = 1;
    pub const PROT: usize = 2;
    pub const FLAGS: usize = 3;
    pub const FD: usize = 4;
    pub const OFFSET: usize = 5;
    pub const PAGES: usize = 6;
    pub const REGION: usize = 7;
}

/// Word indices in `struct chkpt_plan_creds`; the supplementary groups
/// (u32 each, `NGROUPS` of them) follow its words.
pub mod creds {
    #![allow(missing_docs)]
    pub const UID: usize = 0;
    pub const EUID: usize = 1;
    pub const SUID: usize = 2;
    pub const FSUID: usize = 3;
    pub const GID: usize = 4;
    pub const EGID: usize = 5;
    pub const SGID: usize = 6;
    pub const FSGID: usize = 7;
    pub const CAP_INHERITABLE: usize = 8;
    pub const CAP_PERMITTED: usize = 9;
    pub const CAP_EFFECTIVE: usize = 10;
    pub const CAP_BOUNDING: usize = 11;
    pub const CAP_AMBIENT: usize = 12;
    pub const NGROUPS: usize = 13;
    /// Words before the groups.
    pub const WORDS: usize = 14;
}

/// Bytes of the creds block for `image` (0: it records none).
fn creds_len(image: &Image<'_>) -> u64 {
    match image.creds() {
        None => 0,
        Some(_) => (creds::WORDS as u64 * 8) + (image.groups().count() as u64 * 4).next_multiple_of(8),
    }
}

/// Words in `struct chkpt_plan_advice`: addr, len, advice, region.
pub const ADVICE_WORDS: usize = 4;

/// `struct chkpt_plan_advice.advice`: the region's per-mapping state, the
/// image's own `region_flags::ADVICE` bits (`CHKPT_ADVISE_*`), which the
/// stub sets once every region is mapped (advice.c).
pub fn advice_of(flags: u32) -> u64 {
    u64::from(flags & super::fmt::records::region_flags::ADVICE)
}

/// Kinds of memory step (`CHKPT_OP_*`).
pub mod op_kind {
    /// munmap(addr, len).
    pub const MUNMAP: u64 = 1;
    /// mmap(addr, len, prot, flags, fd, offset), which must land at addr.
    pub const MMAP: u64 = 2;
    /// pread(fd, addr, len, offset), which must read len bytes.
    pub const PREAD: u64 = 3;
    /// close(fd).
    pub const CLOSE: u64 = 4;
    /// mprotect(addr, len, prot): a region's own protection, after its
    /// pages were copied in through a writable mapping.
    pub const MPROTECT: u64 = 5;
}

/// One memory step the stub runs before anything else (userspace restorer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// One of `op_kind`.
    pub kind: u64,
    /// Address.
    pub addr: u64,
    /// Length in bytes.
    pub len: u64,
    /// mmap prot.
    pub prot: u64,
    /// mmap flags.
    pub flags: u64,
    /// File descriptor, or `KEEP` (!0) for none.
    pub fd: u64,
    /// File offset.
    pub offset: u64,
}

/// Declares `Step` from one list: `Variant = code, "name";`.
macro_rules! steps {
    ($($(#[$doc:meta])* $id:ident = $code:literal, $name:literal;)*) => {
        /// A step after the point of no return, as the stub records it in
        /// the plan's `error` word and names it on its failure line, and as
        /// the kernel module names its own post-commit steps in its log.
        /// Codes and names are stable; they are the `CHKPT_STEPS` list of
        /// plan.h, which a test checks against this one.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u32)]
        pub enum Step {
            $($(#[$doc])* $id = $code,)*
        }

        impl Step {
            /// Every step, in code order.
            pub const ALL: &'static [Step] = &[$(Step::$id),*];

            /// The stable, lowercase name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Step::$id => $name,)*
                }
            }

            /// The step with this code.
            pub fn from_code(code: u64) -> Option<Step> {
                match code {
                    $($code => Some(Step::$id),)*
                    _ => None,
                }
            }
        }
    };
}

steps! {
    /// The plan's magic, thread count or a memory step's kind is wrong.
    PlanInvalid = 1, "plan-invalid";
    /// Unmapping the restorer's memory (a memory step).
    Unmap = 2, "unmap";
    /// Mapping a region, anonymous or from its file, where nothing is.
    MapRegion = 3, "map-region";
    /// Mapping a region's stored pages from the image over it.
    MapPages = 4, "map-pages";
    /// Copying stored pages in (the stack, shared memory).
    CopyPages = 5, "copy-pages";
    /// Closing an fd the memory steps used.
    CloseFd = 6, "close-fd";
    /// Making the stub's pages read-execute.
    ProtectStub = 7, "protect-stub";
    /// Changing into the image's working directory.
    Chdir = 8, "chdir";
    /// Setting the image's personality.
    Personality = 9, "personality";
    /// Opening an fd by its path and moving it to its number.
    ReopenFd = 10, "reopen-fd";
    /// Setting a reopened fd's offset.
    SeekFd = 11, "seek-fd";
    /// Mapping the vdso where the image had it.
    MapVdso = 12, "map-vdso";
    /// Installing a signal action.
    Sigaction = 13, "sigaction";
    /// Setting a thread's fs base.
    SetFsBase = 14, "set-fs-base";
    /// Setting a thread's gs base.
    SetGsBase = 15, "set-gs-base";
    /// Registering a thread's robust futex list.
    RobustList = 16, "robust-list";
    /// Registering a thread's rseq area.
    Rseq = 17, "rseq";
    /// Spawning a thread.
    CloneThread = 18, "clone-thread";
    /// Setting a resource limit.
    SetRlimit = 19, "set-rlimit";
    /// mprotect of a region whose pages were copied in (detail: address).
    ProtectRegion = 20, "protect-region";
    /// Queueing a pending signal again (rt_sigqueueinfo, rt_tgsigqueueinfo).
    QueueSignal = 26, "queue-signal";
    /// Creating a POSIX timer with its id.
    CreateTimer = 27, "create-timer";
    /// Arming a timer (setitimer, timer_settime).
    SetTimer = 28, "set-timer";
    /// Registering with membarrier(2) again.
    Membarrier = 29, "membarrier";
    /// The module: dropping the argument stack the exec code built.
    DropArgStack = 32, "drop-arg-stack";
    /// The module: allocating a buffer.
    Allocate = 33, "allocate";
    /// The module: mapping the plan.
    MapPlan = 34, "map-plan";
    /// The module: mapping the stub.
    MapStub = 35, "map-stub";
    /// The module: copying the plan in.
    CopyPlan = 36, "copy-plan";
    /// The module: copying the stub in.
    CopyStub = 37, "copy-stub";
    /// The module: a fatal signal stopped one of its long loops.
    Interrupted = 38, "interrupted-by-fatal-signal";
    /// Opening a shared open file description by its path.
    OpenFile = 48, "open-file";
    /// Creating a pipe, setting its size or filling in its queued bytes.
    CreatePipe = 49, "create-pipe";
    /// Duplicating the caller's fd 0-2 that an fd shares.
    DupStdio = 50, "dup-stdio";
    /// Setting a description's status flags (O_NONBLOCK, ...).
    SetFileFlags = 51, "set-file-flags";
    /// Putting a description at one of its fd numbers.
    PlaceFd = 52, "place-fd";
    /// Creating an eventfd with its counter.
    CreateEventfd = 53, "create-eventfd";
    /// Creating a signalfd.
    CreateSignalfd = 54, "create-signalfd";
    /// Creating a timerfd, arming it, setting its unread expirations.
    CreateTimerfd = 55, "create-timerfd";
    /// Creating an epoll instance.
    CreateEpoll = 56, "create-epoll";
    /// Registering an fd with an epoll instance (detail: the fd).
    EpollAdd = 57, "epoll-add";
    /// Creating a memfd, writing its contents, sealing it.
    CreateMemfd = 58, "create-memfd";
    /// Creating a unix socket pair, queueing its bytes at each end.
    CreateUnixPair = 59, "create-unix-pair";
    /// Creating a socket and setting its options (SO_REUSEADDR, ...).
    CreateSocket = 60, "create-socket";
    /// Binding a socket to its address (a stale unix socket file there is
    /// removed first).
    BindSocket = 61, "bind-socket";
    /// listen(2) with the socket's backlog.
    ListenSocket = 62, "listen-socket";
    /// Making a TCP connection over loopback and having its peer reset it.
    ResetConnection = 63, "reset-connection";
    /// Creating a deleted file again (O_TMPFILE or a memfd) with its
    /// contents, flags and position.
    CreateDeletedFile = 64, "create-deleted-file";
    /// Creating an inotify instance and adding its watches, each getting
    /// its recorded wd.
    InotifyWatch = 65, "inotify-watch";
    /// A repaired TCP connection: creating its socket in repair mode and
    /// binding it to its local address.
    TcpRepairSocket = 66, "tcp-repair-socket";
    /// A repaired TCP connection: its sequence numbers and timestamp.
    TcpRepairSequence = 67, "tcp-repair-sequence";
    /// A repaired TCP connection: connecting to the peer in repair mode
    /// (nothing is sent), its options and window.
    TcpRepairConnect = 68, "tcp-repair-connect";
    /// A repaired TCP connection: writing its queues, leaving repair mode.
    TcpRepairQueues = 69, "tcp-repair-queues";
    /// A tree's root: the image's fd or a barrier pipe (detail: the fd).
    TreeControl = 70, "tree-control";
    /// A tree's root: putting a tree object at its fd (detail: the fd).
    TreePlaceObject = 71, "tree-place-object";
    /// Forking a child of the tree (detail: its index in TREE).
    TreeFork = 72, "tree-fork";
    /// A child re-executing the image (detail: its index in TREE).
    TreeExec = 73, "tree-exec";
    /// A child's session or process group (detail: its index in TREE).
    TreeGroup = 74, "tree-group";
    /// The barrier: a process of the tree was not ready (detail: ready bytes).
    TreeBarrier = 75, "tree-barrier";
    /// A zombie child's ready byte or its end (detail: its index in TREE).
    TreeZombie = 76, "tree-zombie";
    /// Setting the recorded parent-death signal (detail: the signal).
    TreePdeath = 77, "tree-pdeath";
    /// A stopped process stopping itself.
    TreeStop = 78, "tree-stop";
    /// PID-namespace mode: a child's pid at dump is taken (detail: the pid).
    TreeSetPid = 79, "tree-set-pid";
    /// Taking a file lock again (detail: the fd): someone else took it
    /// since the dump.
    TakeLock = 80, "take-lock";
    /// Opening a named FIFO again by path (a read-write helper first, so no
    /// open waits for a peer), with its status flags.
    OpenFifo = 81, "open-fifo";
    /// Writing a named FIFO's queued bytes back (it was empty).
    FifoQueue = 82, "fifo-queue";
    /// Connecting a UDP socket to its peer again (detail: `file N`).
    ConnectSocket = 83, "connect-socket";
    /// Creating a pty pair from /dev/ptmx and unlocking it (detail:
    /// `file N`, the master).
    CreatePty = 110, "create-pty";
    /// Giving a new pty pair its state: termios, window size, packet
    /// mode, exclusive mode, the lock (detail: `file N`, the master).
    PtyState = 111, "pty-state";
    /// Opening a pty slave from its master (TIOCGPTPEER; detail: `file
    /// N`, the slave).
    OpenPtySlave = 112, "open-pty-slave";
    /// Writing a deferred region's stored pages into the object it maps
    /// (detail: the region's address).
    DeferredPages = 85, "deferred-pages";
    /// Mapping a deferred region from the object the stub created
    /// (detail: the region's address).
    MapDeferred = 86, "map-deferred";
    /// Setting the prctl attributes (detail: the PR_SET_* option).
    ProcessAttrs = 87, "process-attrs";
    /// madvise(2) of a region's recorded advice (detail: the region's
    /// address).
    Madvise = 88, "madvise";
    /// mlock(2) of a region that was locked (detail: its address).
    Mlock = 89, "mlock";
    /// setgroups(2) of the image's supplementary groups (detail: their
    /// number).
    SetGroups = 90, "set-groups";
    /// setresgid(2)/setfsgid(2) (detail: the effective gid).
    SetGids = 91, "set-gids";
    /// setresuid(2)/setfsuid(2) (detail: the effective uid).
    SetUids = 92, "set-uids";
    /// The capability sets: bounding drops, capset(2), ambient raises
    /// (detail: the capability, or 64 for capset).
    SetCapabilities = 93, "set-capabilities";
    /// setsockopt(2) of a socket's recorded option (detail: the
    /// description's index).
    SetSocketOption = 94, "set-socket-option";
    /// Signal-driven I/O on a description: F_SETOWN_EX, F_SETSIG, O_ASYNC
    /// (detail: the description's index).
    SetFileOwner = 95, "set-file-owner";
    /// A thread's scheduling, I/O priority or affinity, or the process's
    /// oom_score_adj, failing other than for want of a privilege (detail:
    /// the thread's index).
    Sched = 96, "sched";
    /// Installing a seccomp filter (detail: its index, oldest 0).
    Seccomp = 97, "seccomp";
}

/// The plan's `error` word: the failed step's code and its errno.
pub fn failed_step(error: u64) -> Option<(Step, u32)> {
    Step::from_code(error >> 32).map(|s| (s, error as u32))
}

/// Bytes the plan keeps for the start of the stub's failure line.
pub const REPORT_PREFIX_MAX: u64 = 256;
/// The prefix a plan starts with; the userspace restorer names itself and
/// the image instead (`set_report`).
pub const DEFAULT_REPORT_PREFIX: &[u8] = b"binfmt_chkpt: ";
/// The caller's stderr, where the stub writes its failure line.
pub const STDERR: u64 = 2;

/// open(2) flags (x86-64 values) the plan adds or removes, and that the
/// restore policy opens files with.
pub mod oflag {
    #![allow(missing_docs)]
    pub const RDWR: u32 = 0o2;
    pub const CREAT: u32 = 0o100;
    pub const EXCL: u32 = 0o200;
    pub const NOCTTY: u32 = 0o400;
    pub const TRUNC: u32 = 0o1000;
    pub const APPEND: u32 = 0o2000;
    pub const NONBLOCK: u32 = 0o4000;
    pub const CLOEXEC: u32 = 0o2000000;
}

/// Why no plan could be built. `name()` is the stable reason for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// The plan would exceed `MAX_PLAN_LEN`.
    TooLarge,
    /// The image has no thread.
    NoThreads,
    /// The output buffer's length is not the layout's `len`.
    WrongBufferLength,
    /// The stub does not sit right after the plan, or has no final page.
    BadPlacement,
    /// An fd to reopen is of a kind that cannot be reopened by path.
    UnsupportedFd,
}

impl PlanError {
    /// Stable, lowercase name of the error.
    pub fn name(self) -> &'static str {
        match self {
            PlanError::TooLarge => "plan-too-large",
            PlanError::NoThreads => "no-threads",
            PlanError::WrongBufferLength => "plan-buffer-length",
            PlanError::BadPlacement => "plan-placement",
            PlanError::UnsupportedFd => "fd-not-reopenable",
        }
    }
}

/// Where each part of a plan goes, in bytes from its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Threads in the plan.
    pub nr_threads: u64,
    /// Memory steps.
    pub nr_ops: u64,
    /// Fds the stub reopens.
    pub nr_fds: u64,
    /// Open file descriptions the stub creates.
    pub nr_files: u64,
    /// Fds that refer to them.
    pub nr_links: u64,
    /// Offset of the description records.
    pub files: u64,
    /// Offset of the link records.
    pub links: u64,
    /// Offset of the memory steps.
    pub ops: u64,
    /// Offset of the fd records.
    pub fds: u64,
    /// Offset of the strings (failure line prefix, comm, cwd, fd paths).
    pub strings: u64,
    /// Pending signals the stub queues again.
    pub nr_signals: u64,
    /// Offset of the pending signals.
    pub signals: u64,
    /// Timers the stub creates again.
    pub nr_timers: u64,
    /// Offset of the timers.
    pub timers: u64,
    /// File locks the stub takes again.
    pub nr_locks: u64,
    /// Offset of the file locks.
    pub locks: u64,
    /// Room for deferred regions (`defers`): MAPS_FILE and tree regions.
    pub deferred_room: u64,
    /// Offset of the deferred regions.
    pub deferred: u64,
    /// Regions with per-mapping state (`advice_of` not 0).
    pub nr_advice: u64,
    /// Offset of their `struct chkpt_plan_advice` records.
    pub advice: u64,
    /// Offset of the creds block (its length `creds_len`; 0 without one).
    pub creds: u64,
    /// Offset of the `struct chkpt_plan_seccomp` records, their code after
    /// them.
    pub seccomp: u64,
    /// Offset of the first XSAVE area.
    pub xsave: u64,
    /// Bytes per XSAVE area (the image's), each 64-byte aligned.
    pub xsave_stride: u64,
    /// Offset of the tree block (tree.rs), 0: none.
    pub tree: u64,
    /// Its length in bytes.
    pub tree_len: u64,
    /// A tree's room for the restorer's path (`set_tree_restorer`); 0
    /// without a tree.
    pub restorer_path_room: u64,
    /// Its offset; 0 without a tree.
    pub restorer_path: u64,
    /// Offset of the stub's initial stack pointer.
    pub stack_top: u64,
    /// Total length, a multiple of the page size.
    pub len: u64,
}

/// Where the restorer put the plan and the stub, and the vdso address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// User address of the plan.
    pub plan: u64,
    /// User address of the stub's blob: `plan + layout.len`.
    pub stub: u64,
    /// Length of the stub's blob, whose last page is the final page.
    pub stub_len: u64,
    /// Where the stub maps the vdso (`ARCH_MAP_VDSO_64`), 0 for none.
    pub vdso_base: u64,
}

fn add(a: u64, b: u64) -> Result<u64, PlanError> {
    a.checked_add(b).ok_or(PlanError::TooLarge)
}

fn mul(a: u64, b: u64) -> Result<u64, PlanError> {
    a.checked_mul(b).ok_or(PlanError::TooLarge)
}

fn align(v: u64, to: u64) -> Result<u64, PlanError> {
    Ok(add(v, to - 1)? & !(to - 1))
}

/// Whether the stub reopens this fd (and which are left to the caller).
/// fds 0-2 that the image marks inherited or closed stay the caller's;
/// every other fd that is not reopened ends up closed (`close_from` 3).
fn reopened(fd: &super::fmt::Fd) -> bool {
    fd.disposition == FdDisposition::Reopen
}

/// Kinds of file the stub may open by path.
pub fn reopenable(kind: FdKind) -> bool {
    matches!(kind, FdKind::Regular | FdKind::Directory | FdKind::CharDev)
}

/// open(2) flags the stub uses for an fd: the image's, with close-on-exec
/// as recorded, never creating or truncating, never taking a terminal.
pub fn open_flags(fd: &super::fmt::Fd) -> u64 {
    let mut flags = fd.open_flags & !(oflag::CREAT | oflag::EXCL | oflag::TRUNC | oflag::CLOEXEC);
    flags |= oflag::NOCTTY;
    if fd.cloexec {
        flags |= oflag::CLOEXEC;
    }
    u64::from(flags)
}

/// Computes the plan's layout for `image` and `nr_ops` memory steps.
pub fn layout(image: &Image<'_>, nr_ops: usize) -> Result<Layout, PlanError> {
    layout_with_tree(image, nr_ops, 0)
}

/// The layout with `tree_len` bytes for a tree block (tree.rs's
/// `tree_len`), after the XSAVE areas.
pub fn layout_with_tree(image: &Image<'_>, nr_ops: usize, tree_len: u64) -> Result<Layout, PlanError> {
    let nr_threads = u64::from(image.thread_count());
    if nr_threads == 0 {
        return Err(PlanError::NoThreads);
    }
    let nr_ops = nr_ops as u64;
    let mut nr_fds = 0u64;
    let mut string_bytes = REPORT_PREFIX_MAX + 16; // failure line prefix, comm
    string_bytes = add(string_bytes, mm_map_len(image))?;
    string_bytes = add(string_bytes, add(u64::from(image.process.exe_path.len), 1)?)?;
    string_bytes = add(string_bytes, add(u64::from(image.process.cwd.len), 1)?)?;
    for fd in image.fds().filter(reopened) {
        if !reopenable(fd.kind) {
            return Err(PlanError::UnsupportedFd);
        }
        nr_fds += 1;
        string_bytes = add(string_bytes, add(u64::from(fd.path.len), 1)?)?;
    }
    let (nr_files, nr_links, file_bytes) = files_size(image)?;
    string_bytes = add(string_bytes, file_bytes)?;
    let ops = mul(add(head::THREADS as u64, mul(nr_threads, thread::WORDS as u64)?)?, 8)?;
    let fds = add(ops, mul(nr_ops, OP_WORDS as u64 * 8)?)?;
    let files = add(fds, mul(nr_fds, FD_WORDS as u64 * 8)?)?;
    let links = add(files, mul(nr_files, FILE_WORDS as u64 * 8)?)?;
    let nr_signals = u64::from(image.pending_signal_count());
    let signals = add(links, mul(nr_links, LINK_WORDS as u64 * 8)?)?;
    let nr_timers = u64::from(image.timer_count());
    let timers = add(signals, mul(nr_signals, SIGNAL_WORDS as u64 * 8)?)?;
    let nr_locks = u64::from(image.lock_count());
    let locks = add(timers, mul(nr_timers, TIMER_WORDS as u64 * 8)?)?;
    let deferred_room = deferred_room(image);
    let deferred = add(locks, mul(nr_locks, LOCK_WORDS as u64 * 8)?)?;
    let nr_advice = image.regions().filter(|r| advice_of(r.flags) != 0).count() as u64;
    let advice = add(deferred, mul(deferred_room, DEFERRED_WORDS as u64 * 8)?)?;
    let creds = add(advice, mul(nr_advice, ADVICE_WORDS as u64 * 8)?)?;
    let seccomp = add(creds, creds_len(image))?;
    let strings = add(seccomp, seccomp_len(image))?;
    let xsave = align(add(strings, string_bytes)?, 64)?;
    let xsave_stride = align(u64::from(image.process.xsave_size), 64)?;
    let tree = align(add(xsave, mul(nr_threads, xsave_stride)?)?, 64)?;
    let restorer_path = add(tree, tree_len)?;
    let restorer_path_room = if tree_len == 0 { 0 } else { RESTORER_PATH_MAX };
    let stack_bottom = align(add(restorer_path, restorer_path_room)?, 64)?;
    let len = align(add(stack_bottom, TEMP_STACK)?, PAGE)?;
    if len > MAX_PLAN_LEN {
        return Err(PlanError::TooLarge);
    }
    Ok(Layout {
        nr_threads,
        nr_ops,
        nr_fds,
        nr_files,
        nr_links,
        files,
        links,
        ops,
        fds,
        strings,
        nr_signals,
        signals,
        nr_timers,
        timers,
        nr_locks,
        locks,
        deferred_room,
        deferred,
        nr_advice,
        advice,
        creds,
        seccomp,
        xsave,
        xsave_stride,
        tree: if tree_len == 0 { 0 } else { tree },
        tree_len,
        restorer_path_room,
        restorer_path: if tree_len == 0 { 0 } else { restorer_path },
        stack_top: len - 64,
        len,
    })
}

/// Room for a tree's restorer path with its NUL (PATH_MAX).
pub const RESTORER_PATH_MAX: u64 = 4096;

/// Writes little-endian words and bytes into the plan buffer, refusing
/// anything out of bounds instead of panicking.
struct Out<'b> {
    buf: &'b mut [u8],
    oob: bool,
}

impl Out<'_> {
    fn get(&self, byte_off: u64) -> Option<u64> {
        let s = usize::try_from(byte_off).ok()?;
        let b = self.buf.get(s..s.checked_add(8)?)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        Some(u64::from_le_bytes(w))
    }
    fn word(&mut self, byte_off: u64, v: u64) {
        self.bytes(byte_off, &v.to_le_bytes());
    }
    fn bytes(&mut self, byte_off: u64, v: &[u8]) {
        let dst = usize::try_from(byte_off)
            .ok()
            .and_then(|s| Some(s..s.checked_add(v.len())?))
            .and_then(|r| self.buf.get_mut(r));
        match dst {
            Some(d) => d.copy_from_slice(v),
            None => self.oob = true,
        }
    }
}

/// Whether the stub may read and write the u32 at `addr`: aligned and
/// inside a writable region of the image. A clear_child_tid pointing
/// anywhere else (a hostile image) is no cached TID to rewrite.
fn writable_u32(image: &Image<'_>, addr: u64) -> bool {
    addr % 4 == 0 && image.regions().any(|r| r.start <= addr && addr < r.end && r.prot & prot::WRITE != 0)
}

/// Index of the thread that enters the stub (the caller's thread becomes
/// it): the image's thread-group leader, else its first thread.
fn leader(image: &Image<'_>) -> usize {
    image.threads().position(|t| t.state.tid == image.process.pid).unwrap_or(0)
}

/// The lowest fd number for the stub's duplicate of the caller's stderr:
/// above every fd the stub reopens (which it moves to their numbers).
fn report_min(image: &Image<'_>) -> u64 {
    let placed = |f: &super::fmt::Fd| reopened(f) || f.disposition == FdDisposition::Shared;
    image.fds().filter(placed).map(|f| u64::from(f.fd) + 1).fold(3, u64::max)
}

/// The pending signals, in image order, each with the plan index of the
/// thread whose queue it goes to (threads are in the plan leader first).
/// The image's thread-scope signals are sorted by tid like its threads and
/// name only recorded tids (validated), so one walk over both finds them.
fn write_signals(image: &Image<'_>, layout: &Layout, first: usize, o: &mut Out<'_>) {
    let h = |i: usize| (i * 8) as u64;
    o.word(h(head::SIGNALS_OFFSET), layout.signals);
    o.word(h(head::NR_SIGNALS), layout.nr_signals);
    let mut threads = image.threads().map(|t| t.state.tid).enumerate();
    let mut at: Option<(usize, u32)> = None;
    for (i, s) in image.pending_signals().enumerate() {
        let thread = match s.scope {
            SignalScope::Process => SIGNAL_PROCESS,
            SignalScope::Thread => {
                let k = loop {
                    match at {
                        Some((k, tid)) if tid == s.tid => break k,
                        _ => match threads.next() {
                            Some(t) => at = Some(t),
                            None => {
                                o.oob = true;
                                return;
                            }
                        },
                    }
                };
                slot(k, first)
            }
        };
        let rec = layout.signals + (i * SIGNAL_WORDS * 8) as u64;
        o.word(rec, u64::from(s.signo));
        o.word(rec + 8, thread);
        o.bytes(rec + 16, &s.siginfo);
    }
}

/// Plan slot of image thread index `k` (the leader, image index `first`,
/// is slot 0).
fn slot(k: usize, first: usize) -> u64 {
    (if k == first { 0 } else if k < first { k + 1 } else { k }) as u64
}

/// The timers, in image order; a SIGEV_THREAD_ID timer with its thread's
/// plan slot (found by a binary search over the sorted thread tids).
fn write_timers(image: &Image<'_>, layout: &Layout, first: usize, o: &mut Out<'_>) {
    let h = |i: usize| (i * 8) as u64;
    o.word(h(head::TIMERS_OFFSET), layout.timers);
    o.word(h(head::NR_TIMERS), layout.nr_timers);
    for (i, t) in image.timers().enumerate() {
        let thread = if t.tid == 0 {
            0
        } else {
            match image.thread_index(t.tid) {
                Some(k) => slot(k, first),
                None => {
                    o.oob = true;
                    return;
                }
            }
        };
        let rec = layout.timers + (i * TIMER_WORDS * 8) as u64;
        let words = [
            t.kind as u64,
            u64::from(t.id),
            u64::from(t.clock),
            u64::from(t.notify),
            u64::from(t.signo),
            thread,
            t.value,
            t.interval_ns,
            t.remaining_ns,
        ];
        for (k, v) in words.into_iter().enumerate() {
            o.word(rec + 8 * k as u64, v);
        }
    }
}

/// The file locks, in image order (sorted by fd, kind, start).
fn write_locks(image: &Image<'_>, layout: &Layout, o: &mut Out<'_>) {
    let h = |i: usize| (i * 8) as u64;
    o.word(h(head::LOCKS_OFFSET), layout.locks);
    o.word(h(head::NR_LOCKS), layout.nr_locks);
    for (i, l) in image.locks().enumerate() {
        let rec = layout.locks + (i * LOCK_WORDS * 8) as u64;
        let words = [u64::from(l.fd), l.kind as u64, u64::from(l.write), l.start, l.len];
        for (k, v) in words.into_iter().enumerate() {
            o.word(rec + 8 * k as u64, v);
        }
    }
}

/// Where the stub writes its failure line (`None`: nowhere), and how the
/// line starts (cut to `REPORT_PREFIX_MAX - 1` bytes), in a plan `write`
/// made: by default the caller's stderr and `DEFAULT_REPORT_PREFIX`.
pub fn set_report(out: &mut [u8], layout: &Layout, fd: Option<u64>, prefix: &[u8]) -> Result<(), PlanError> {
    if out.len() as u64 != layout.len {
        return Err(PlanError::WrongBufferLength);
    }
    let mut o = Out { buf: out, oob: false };
    o.word((head::REPORT_FD * 8) as u64, fd.unwrap_or(KEEP));
    let cut = prefix.get(..prefix.len().min(REPORT_PREFIX_MAX as usize - 1)).unwrap_or(&[]);
    o.bytes(layout.strings, &[0; REPORT_PREFIX_MAX as usize]);
    o.bytes(layout.strings, cut);
    if o.oob {
        return Err(PlanError::WrongBufferLength);
    }
    Ok(())
}

/// Whether the stub clones each thread with its TID at dump (clone3
/// `set_tid`), in a plan `write` made (by default it does not). Only a
/// restorer that checked this process may choose TIDs in its PID namespace
/// (and that they are free) sets it: the clone fails after the point of no
/// return otherwise.
pub fn set_keep_tids(out: &mut [u8], layout: &Layout, keep: bool) -> Result<(), PlanError> {
    if out.len() as u64 != layout.len {
        return Err(PlanError::WrongBufferLength);
    }
    let mut o = Out { buf: out, oob: false };
    o.word((head::KEEP_TIDS * 8) as u64, u64::from(keep));
    if o.oob {
        return Err(PlanError::WrongBufferLength);
    }
    Ok(())
}

/// Where [`write`] put the `struct prctl_mm_map` (8-aligned): after the
/// failure line's prefix and comm; the auxv pairs and AT_NULL follow it,
/// then the program's path.
const MM_MAP_AT: u64 = REPORT_PREFIX_MAX + 16;

/// sizeof(struct prctl_mm_map): 11 layout words, the auxv pointer, its
/// size and exe_fd (u32 each).
const MM_MAP_LEN: u64 = 104;

/// Bytes of the prctl_mm_map block: the struct, the auxv pairs, AT_NULL.
fn mm_map_len(image: &Image<'_>) -> u64 {
    MM_MAP_LEN + 16 * (image.auxv().count() as u64 + 1)
}

/// Where [`write`] put the program's path.
fn exe_string(image: &Image<'_>) -> u64 {
    MM_MAP_AT + mm_map_len(image)
}

/// Has the stub of a plan [`write`] made make /proc/PID/exe name the
/// program the image recorded (policy: `Checked::exe_link`), or not.
pub fn set_exe_link(out: &mut [u8], image: &Image<'_>, layout: &Layout, on: bool) -> Result<(), PlanError> {
    if out.len() as u64 != layout.len {
        return Err(PlanError::WrongBufferLength);
    }
    let mut o = Out { buf: out, oob: false };
    let at = if on && image.process.exe_path.len != 0 { layout.strings + exe_string(image) } else { 0 };
    o.word((head::EXE_OFFSET * 8) as u64, at);
    if o.oob {
        return Err(PlanError::WrongBufferLength);
    }
    Ok(())
}

/// Writes the plan for `image` into `out` (exactly `layout.len` bytes).
/// The last `TEMP_STACK` bytes, the stub's stack, are left as they are:
/// both restorers give a fresh zeroed mapping, whose stack pages are then
/// faulted in only as far as the stub uses them.
pub fn write(image: &Image<'_>, layout: &Layout, place: &Placement, ops: &[Op], out: &mut [u8]) -> Result<(), PlanError> {
    if out.len() as u64 != layout.len || ops.len() as u64 != layout.nr_ops {
        return Err(PlanError::WrongBufferLength);
    }
    if place.stub != place.plan.wrapping_add(layout.len) || place.stub_len < PAGE || place.stub_len % PAGE != 0 {
        return Err(PlanError::BadPlacement);
    }
    let data = out.len().saturating_sub(TEMP_STACK as usize);
    out[..data].fill(0);
    let mut o = Out { buf: out, oob: false };
    let h = |i: usize| (i * 8) as u64;
    let p = &image.process;

    o.word(h(head::MAGIC), PLAN_MAGIC);
    o.word(h(head::NR_THREADS), layout.nr_threads);
    o.word(h(head::VDSO_BASE), place.vdso_base);
    o.word(h(head::UNMAP_START), place.plan);
    // Everything but the stub's final page, which holds the last syscalls.
    o.word(h(head::UNMAP_LEN), layout.len + place.stub_len - PAGE);
    o.word(h(head::STUB_START), place.stub);
    o.word(h(head::STUB_LEN), place.stub_len);
    o.word(h(head::UMASK), u64::from(p.umask));
    o.word(h(head::MEMBARRIER), u64::from(p.membarrier));
    let attrs = image.process_attrs();
    o.word(h(head::PDEATH_SIGNAL), u64::from(attrs.pdeath_signal));
    o.word(h(head::ATTR_FLAGS), u64::from(attrs.flags));
    // Validated: -1000..=1000.
    o.word(h(head::OOM_SCORE_ADJ), if attrs.oom_score_adj == 0 { KEEP } else { u64::from(attrs.oom_score_adj.wrapping_add(1000)) });
    o.word(h(head::PERSONALITY), u64::from(p.personality));
    o.word(h(head::CLOSE_FROM), 3);
    o.word(h(head::OPS_OFFSET), layout.ops);
    o.word(h(head::NR_OPS), layout.nr_ops);
    o.word(h(head::FDS_OFFSET), layout.fds);
    o.word(h(head::NR_FDS), layout.nr_fds);
    o.word(h(head::REPORT_FD), STDERR);
    o.word(h(head::REPORT_MIN), report_min(image));
    for (i, r) in p.rlimits.iter().enumerate().take(NRLIMIT) {
        o.word(h(head::RLIMITS + 2 * i), r.cur);
        o.word(h(head::RLIMITS + 2 * i + 1), r.max);
    }
    for (i, sa) in image.sigactions().enumerate().take(NSIG) {
        let w = head::SIGACTIONS + 4 * i;
        o.word(h(w), sa.handler);
        o.word(h(w + 1), sa.flags);
        o.word(h(w + 2), sa.restorer);
        o.word(h(w + 3), sa.mask);
    }

    // Strings: the failure line's prefix, comm, the program's path
    // (EXE_STRING: its word is set by set_exe_link), cwd, then each fd's
    // path, NUL-terminated.
    let mut s = layout.strings;
    o.word(h(head::REPORT_PREFIX_OFFSET), s);
    o.bytes(s, DEFAULT_REPORT_PREFIX);
    s += REPORT_PREFIX_MAX;
    let comm = image.comm();
    o.word(h(head::COMM_OFFSET), s);
    o.bytes(s, comm.get(..comm.len().min(15)).unwrap_or(&[]));
    s += 16;
    // What PR_SET_MM_MAP gets with the program's fd: the image's layout
    // again (the module set it in the kernel, ckpt-restore by the same
    // call without an fd) and its auxv.
    o.word(h(head::MM_MAP_OFFSET), s);
    for (k, v) in p.mm.to_array().into_iter().enumerate() {
        o.word(s + 8 * k as u64, v);
    }
    let auxv_len = 16 * (image.auxv().count() as u64 + 1);
    o.word(s + 88, place.plan + s + MM_MAP_LEN);
    o.bytes(s + 96, &(auxv_len as u32).to_le_bytes());
    o.bytes(s + 100, &u32::MAX.to_le_bytes());
    for (k, a) in image.auxv().enumerate() {
        o.word(s + MM_MAP_LEN + 16 * k as u64, a.key);
        o.word(s + MM_MAP_LEN + 16 * k as u64 + 8, a.value);
    }
    s += MM_MAP_LEN + auxv_len;
    let exe = image.string(p.exe_path);
    o.bytes(s, exe);
    s += exe.len() as u64 + 1;
    let cwd = image.string(p.cwd);
    if !cwd.is_empty() {
        o.word(h(head::CWD_OFFSET), s);
    }
    o.bytes(s, cwd);
    s += cwd.len() as u64 + 1;

    for (i, fd) in image.fds().filter(reopened).enumerate() {
        let rec = layout.fds + (i * FD_WORDS * 8) as u64;
        let path = image.string(fd.path);
        o.word(rec, u64::from(fd.fd));
        o.word(rec + 8, open_flags(&fd));
        o.word(rec + 16, if fd.kind == FdKind::Regular { fd.offset } else { KEEP });
        o.word(rec + 24, s);
        o.bytes(s, path);
        s += path.len() as u64 + 1;
    }
    write_files(image, layout, &mut o, s);
    for (i, op) in ops.iter().enumerate() {
        let rec = layout.ops + (i * OP_WORDS * 8) as u64;
        for (k, v) in [op.kind, op.addr, op.len, op.prot, op.flags, op.fd, op.offset].into_iter().enumerate() {
            o.word(rec + 8 * k as u64, v);
        }
    }

    let first = leader(image);
    write_signals(image, layout, first, &mut o);
    write_timers(image, layout, first, &mut o);
    write_locks(image, layout, &mut o);
    write_deferred_files(image, layout, &mut o);
    write_advice(image, layout, &mut o);
    write_creds(image, layout, &mut o);
    write_seccomp(image, layout, &mut o);

    // Threads, the leader first: it is the thread that enters the stub.
    let ordered = image.threads().nth(first).into_iter().chain(
        image.threads().enumerate().filter(move |(i, _)| *i != first).map(|(_, t)| t),
    );
    for (i, t) in ordered.enumerate() {
        let base = (head::THREADS + i * thread::WORDS) as u64 * 8;
        let w = |k: usize| base + 8 * k as u64;
        let st = &t.state;
        for (k, v) in st.regs.to_array().into_iter().enumerate() {
            o.word(w(thread::REGS + k), v);
        }
        o.word(w(thread::SIGMASK), st.sigmask);
        o.word(w(thread::SS_SP), st.altstack.sp);
        o.word(w(thread::SS_FLAGS), u64::from(st.altstack.flags));
        o.word(w(thread::SS_SIZE), st.altstack.size);
        o.word(w(thread::CLEAR_CHILD_TID), st.clear_child_tid);
        o.word(w(thread::ROBUST_HEAD), st.robust_list_head);
        o.word(w(thread::ROBUST_LEN), st.robust_list_len);
        o.word(w(thread::RSEQ_ADDR), st.rseq.addr);
        o.word(w(thread::RSEQ_LEN), u64::from(st.rseq.len));
        o.word(w(thread::RSEQ_SIG), u64::from(st.rseq.sig));
        // glibc's clear_child_tid is &pthread->tid, which caches the TID;
        // the stub rewrites it only if it holds the dumped TID.
        let slot = if writable_u32(image, st.clear_child_tid) { st.clear_child_tid } else { 0 };
        o.word(w(thread::TID_SLOT), slot);
        o.word(w(thread::TID_OLD), u64::from(st.tid));
        let xoff = layout.xsave + i as u64 * layout.xsave_stride;
        o.word(w(thread::XSAVE_OFFSET), xoff);
        o.word(w(thread::XSAVE_LEN), t.xsave.len() as u64);
        o.word(w(thread::XFEATURES), p.xcr0);
        o.bytes(xoff, t.xsave);
        let name = image.string(st.name);
        o.bytes(w(thread::NAME), name.get(..name.len().min(15)).unwrap_or(&[]));
        write_sched(image.sched().find(|s| s.tid == st.tid), &|k| w(k), &mut o);
    }
    if o.oob {
        return Err(PlanError::WrongBufferLength);
    }
    Ok(())
}

// ---- Process trees (issue 15): the tree block, in tree.rs. ----
#[path = "tree.rs"]
mod tree;
// A user of plan.rs that restores no tree (a test's kernel build) uses none.
#[allow(unused_imports)]
pub use tree::*;

// ---- Open file descriptions (FILES) and the fds that share them. ----

/// Words per `struct chkpt_plan_file`.
pub const FILE_WORDS: usize = 18;
/// Words per epoll interest entry in a plan: fd, events, data, and
/// whether the fd is one the image inherits from the caller (0-2).
pub const EPOLL_WORDS: usize = 4;
/// Words per `struct chkpt_plan_link`: fd, file, cloexec.
pub const LINK_WORDS: usize = 3;
/// Words per `struct chkpt_plan_sockopt`: level, name, length, and the
/// value (two words, of which `length` bytes are given to setsockopt).
pub const SOCKOPT_WORDS: usize = 5;

/// How the stub creates a description (`CHKPT_FILE_*`).
pub mod file_kind {
    /// open(path, flags), then lseek(offset) unless it is KEEP.
    pub const OPEN: u64 = 1;
    /// One end of a pipe (pipe2 makes both; `peer` is the other's index).
    pub const PIPE: u64 = 2;
    /// dup of the caller's fd `value` (0-2).
    pub const DUP: u64 = 3;
    /// eventfd: counter `value`, EFD_SEMAPHORE in `kind_flags`.
    pub const EVENTFD: u64 = 4;
    /// signalfd: mask `value`.
    pub const SIGNALFD: u64 = 5;
    /// epoll: interest entries at `data_offset`, `data_len` of them.
    pub const EPOLL: u64 = 6;
    /// timerfd: clock `value`, left `value1`, interval `value2` (ns),
    /// ticks `value3`, absolute expiry `value4`; `kind_flags`: 1 absolute,
    /// 2 cancel on set (the image's timer_flags).
    pub const TIMERFD: u64 = 7;
    /// memfd: name at `path_offset`, contents at `data_offset`, size
    /// `value`, seals `value1`, position `offset`.
    pub const MEMFD: u64 = 8;
    /// One end of a unix socket pair (socketpair makes both; `peer` is
    /// the other's index): socket type `value`, the bytes queued for
    /// reading at this end at `data_offset`.
    pub const UNIX_PAIR: u64 = 9;
    /// A socket bound again: family `value`, type `value1`, backlog
    /// `value2`, `kind_flags` (socket_flags), its sockaddr at
    /// `data_offset`.
    pub const SOCKET: u64 = 10;
    /// A TCP socket of family `value` connected over loopback and reset
    /// by its peer; the recorded addresses at `data_offset` (not used).
    pub const TCP_RESET: u64 = 11;
    /// A deleted file: O_TMPFILE in the directory at `path_offset` (else a
    /// memfd), contents at `data_offset`, permission bits `value1`, status
    /// flags `flags`, position `offset`.
    pub const DELETED: u64 = 12;
    /// inotify: `data_len` watches at `data_offset`, each wd, mask (u64
    /// each) and a NUL-terminated path, the next one 8-aligned.
    pub const INOTIFY: u64 = 13;
    /// An established TCP connection restored with TCP_REPAIR: family
    /// `value`, value1..value4 and `kind_flags` as the image's FILES
    /// record (sequence numbers, mss and scales, timestamp, queue
    /// lengths, options), at `data_offset` the local and peer address,
    /// struct tcp_repair_window, the send and the receive queue.
    pub const TCP_REPAIR: u64 = 14;
    /// A named FIFO opened by the path at `path_offset` with the access
    /// mode and O_NONBLOCK of `flags`; its queued bytes at `data_offset`,
    /// written back if it is empty.
    pub const FIFO: u64 = 15;
    /// A pty master: a new pair from /dev/ptmx (at `path_offset`), the
    /// slave's struct termios2 at `data_offset`, window size `value`
    /// (the image's packing), `kind_flags` (pty_flags); its `value1`
    /// slave records (PTY_SLAVE) follow it.
    pub const PTY_MASTER: u64 = 16;
    /// One open of the slave of the pty master at index `peer`, opened
    /// from it (TIOCGPTPEER) with the access mode and O_NONBLOCK of
    /// `flags`, by the master's creation.
    pub const PTY_SLAVE: u64 = 17;
}

/// What the stub opens for the caller's terminal `f` (FILES kind
/// Terminal, plan kind OPEN): "/dev/tty" or "/proc/self/fd/N", in `buf`;
/// its length.
pub fn terminal_path(f: &File, buf: &mut [u8; 16]) -> usize {
    let controlling = f.kind_flags & super::fmt::records::terminal_flags::CONTROLLING != 0;
    let text: &[u8] = if controlling { b"/dev/tty" } else { b"/proc/self/fd/" };
    let mut n = 0;
    for (d, s) in buf.iter_mut().zip(text) {
        *d = *s;
        n += 1;
    }
    if !controlling {
        // value0 is 0-2 (the validator).
        if let Some(d) = buf.get_mut(n) {
            *d = b'0' + (f.value0 % 10) as u8;
            n += 1;
        }
    }
    n
}

/// open(2) flags the stub opens the caller's terminal `f` with: its
/// status flags, O_NOCTTY (it never becomes the controlling terminal), its
/// own copy close-on-exec.
pub fn terminal_open_flags(f: &File) -> u64 {
    u64::from((f.status_flags & super::fmt::records::TERMINAL_STATUS) | oflag::NOCTTY | oflag::CLOEXEC)
}

/// Word indices in `struct chkpt_plan_file`.
pub mod file {
    #![allow(missing_docs)]
    pub const KIND: usize = 0;
    /// open(2) flags (OPEN) or status flags for F_SETFL (PIPE).
    pub const FLAGS: usize = 1;
    /// lseek offset (OPEN), KEEP for none.
    pub const OFFSET: usize = 2;
    pub const PATH_OFFSET: usize = 3;
    /// PIPE: index of the other end, KEEP when it is gone.
    pub const PEER: usize = 4;
    /// PIPE: the queued bytes (read end), from the plan's start.
    pub const DATA_OFFSET: usize = 5;
    pub const DATA_LEN: usize = 6;
    /// PIPE: its size; DUP: the caller's fd.
    pub const VALUE: usize = 7;
    /// Written by the stub: where it keeps the description until every
    /// fd has it; KEEP before.
    pub const TEMP: usize = 8;
    /// The image's kind_flags.
    pub const KIND_FLAGS: usize = 9;
    /// value1 .. value4 of the image.
    pub const VALUE1: usize = 10;
    pub const VALUE2: usize = 11;
    pub const VALUE3: usize = 12;
    pub const VALUE4: usize = 13;
    /// A socket's options (`struct chkpt_plan_sockopt`), from the plan's
    /// start, and their number.
    pub const SOCKOPTS_OFFSET: usize = 14;
    pub const NR_SOCKOPTS: usize = 15;
    /// Signal-driven I/O this process sets on the description: the
    /// F_OWNER_* type for F_SETOWN_EX with its own pid (TID, PID) or
    /// group (PGRP), KEEP when it is not the owner; and F_SETSIG's signal.
    pub const OWNER: usize = 16;
    pub const OWNER_SIGNAL: usize = 17;
}

/// Descriptions, links and the bytes (paths, queued data) they need.
fn files_size(image: &Image<'_>) -> Result<(u64, u64, u64), PlanError> {
    let mut bytes = 0u64;
    for (i, f) in image.files().enumerate() {
        bytes = add(bytes, add(u64::from(f.path.len), 1)?)?;
        bytes = add(bytes, f.data_len)?;
        bytes = add(bytes, sockopts_len(image, i as u32))?;
        if f.kind == FileKind::Inotify {
            // 16 bytes, the path and its NUL, padding, instead of 12.
            bytes = add(bytes, add(mul(f.value0, 12)?, 8)?)?;
        }
        if matches!(f.kind, FileKind::Terminal | FileKind::PtyMaster) {
            // The path the stub opens: /dev/tty, /proc/self/fd/N, /dev/ptmx.
            bytes = add(bytes, 16)?;
        }
        if f.kind == FileKind::Epoll {
            // 8-aligned entries of EPOLL_WORDS words.
            bytes = add(bytes, add(mul(f.value1, EPOLL_WORDS as u64 * 8)?, 8)?)?;
        }
    }
    let links = image.fds().filter(|f| f.disposition == FdDisposition::Shared).count() as u64;
    Ok((u64::from(image.file_count()), links, bytes))
}

/// Plan bytes of description `index`'s socket options, with room to
/// align them.
pub fn sockopts_len(image: &Image<'_>, index: u32) -> u64 {
    match image.sockopts_of(index).count() as u64 {
        0 => 0,
        n => n * SOCKOPT_WORDS as u64 * 8 + 8,
    }
}

/// A thread's scheduling (the image's SCHED record; None: the caller's is
/// kept) into its plan record (`w`: a word's byte offset).
fn write_sched(s: Option<super::fmt::Sched>, w: &dyn Fn(usize) -> u64, o: &mut Out<'_>) {
    let Some(s) = s else {
        o.word(w(thread::SCHED_POLICY), KEEP);
        o.word(w(thread::IOPRIO), KEEP);
        return;
    };
    let reset = s.flags & super::fmt::records::sched_flags::RESET_ON_FORK;
    for (k, v) in [
        (thread::SCHED_POLICY, u64::from(s.policy)),
        (thread::SCHED_FLAGS, u64::from(reset)),
        (thread::SCHED_NICE, u64::from(s.nice)),
        (thread::SCHED_PRIORITY, u64::from(s.priority)),
        (thread::IOPRIO, u64::from(s.ioprio)),
    ] {
        o.word(w(k), v);
    }
    if s.flags & super::fmt::records::sched_flags::AFFINITY != 0 {
        o.word(w(thread::AFFINITY_SET), 1);
        o.bytes(w(thread::AFFINITY), &s.affinity);
    }
}

/// Writes description `index`'s socket options from `s` on (8-aligned)
/// into the record at `rec`; returns where the next bytes go.
fn write_sockopts(image: &Image<'_>, index: u32, rec: u64, o: &mut Out<'_>, mut s: u64) -> u64 {
    let w = |k: usize| rec + 8 * k as u64;
    let opts = image.sockopts_of(index);
    let mut n = 0u64;
    s = (s + 7) & !7;
    o.word(w(file::SOCKOPTS_OFFSET), s);
    for opt in opts {
        // The validator let only options of the list through.
        let Some(def) = super::fmt::sockopts::find(opt.level, opt.name) else { continue };
        let (value, len) = super::fmt::sockopts::setsockopt_value(def.encoding, opt.value);
        for (k, v) in [u64::from(opt.level), u64::from(opt.name), len, value[0], value[1]].into_iter().enumerate() {
            o.word(s + 8 * k as u64, v);
        }
        s += SOCKOPT_WORDS as u64 * 8;
        n += 1;
    }
    o.word(w(file::NR_SOCKOPTS), n);
    s
}

/// The F_OWNER_* type this process sets on a description with `owner`
/// (the FILES field), with its own pid or group; None when the owner is
/// nobody or another process (which sets it itself, in a tree), or a
/// thread other than the one that enters the stub.
pub fn owner_type(image: &Image<'_>, owner: u64) -> Option<u64> {
    use super::fmt::records::file_owner::{kind, pid, PGRP, PID, TID};
    let me = pid(owner) == u64::from(image.process.pid);
    match kind(owner) {
        _ if pid(owner) == 0 => None,
        PGRP => Some(PGRP),
        TID if me => Some(TID),
        PID if me => Some(PID),
        _ => None,
    }
}

/// open(2) flags the stub opens a shared description with: its status
/// flags, never creating or truncating, never taking a terminal; the
/// stub's own copy is close-on-exec (each fd gets its own flag).
pub fn file_open_flags(f: &File) -> u64 {
    let flags = f.status_flags & !(oflag::CREAT | oflag::EXCL | oflag::TRUNC);
    u64::from(flags | oflag::NOCTTY | oflag::CLOEXEC)
}

/// Whether `g` is the other end of pipe end `f` (the validator put the
/// two ends of a pipe next to each other, with one pipe number).
fn other_end(f: &File, g: Option<&File>) -> bool {
    let pair = |g: Option<&File>| g.is_some_and(|g| g.kind == FileKind::UnixPair && g.pipe == f.pipe);
    (f.kind == FileKind::UnixPair && f.kind_flags & unix_pair_flags::PEER_GONE == 0 && pair(g)) || f.kind == FileKind::Pipe && f.kind_flags & pipe_flags::PEER_GONE == 0 && g.is_some_and(|g| g.kind == FileKind::Pipe && g.pipe == f.pipe)
}

/// The directory of `path`: "/" for "/f", "." for a relative "f".
fn directory_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(at) => path.get(..at).unwrap_or(b"."),
        None => b".",
    }
}

/// Writes the descriptions (their paths and bytes from `strings` on) and
/// the links.
fn write_files(image: &Image<'_>, layout: &Layout, o: &mut Out<'_>, mut s: u64) {
    let mut ahead = image.files().skip(1);
    let mut prev: Option<File> = None;
    // The last pty master: a slave's peer.
    let mut master = KEEP;
    for (i, f) in image.files().enumerate() {
        let next = ahead.next();
        let rec = layout.files + (i * FILE_WORDS * 8) as u64;
        let peer = if other_end(&f, prev.as_ref()) {
            i as u64 - 1
        } else if other_end(&f, next.as_ref()) {
            i as u64 + 1
        } else if f.kind == FileKind::PtySlave {
            master
        } else {
            KEEP
        };
        if f.kind == FileKind::PtyMaster {
            master = i as u64;
        }
        s = write_file(image, &f, i as u32, rec, peer, o, s);
        if f.kind == FileKind::PtyMaster {
            // Its slaves follow it (the validator).
            let slaves = image.files().skip(i + 1).take_while(|g| g.kind == FileKind::PtySlave && g.pipe == f.pipe).count();
            o.word(rec + 8 * file::VALUE1 as u64, slaves as u64);
        }
        prev = Some(f);
    }
    let shared = image.fds().filter(|f| f.disposition == FdDisposition::Shared);
    for (i, fd) in shared.enumerate() {
        let rec = layout.links + (i * LINK_WORDS * 8) as u64;
        o.word(rec, u64::from(fd.fd));
        o.word(rec + 8, u64::from(fd.file));
        o.word(rec + 16, u64::from(fd.cloexec));
    }
    let h = |i: usize| (i * 8) as u64;
    o.word(h(head::FILES_OFFSET), layout.files);
    o.word(h(head::NR_FILES), layout.nr_files);
    o.word(h(head::LINKS_OFFSET), layout.links);
    o.word(h(head::NR_LINKS), layout.nr_links);
}

/// Writes description `f` (FILES record `index`) of `image` as the plan
/// record at `rec` (its path, bytes and socket options from `s` on;
/// returns where the next bytes go), `peer` the index of its other end in
/// the same array (KEEP: none).
fn write_file(image: &Image<'_>, f: &File, index: u32, rec: u64, peer: u64, o: &mut Out<'_>, mut s: u64) -> u64 {
    let w = |k: usize| rec + 8 * k as u64;
    let mut buf = [0u8; 16];
    let n = if f.kind == FileKind::Terminal { terminal_path(f, &mut buf) } else { 0 };
    let path = match f.kind {
        FileKind::DeletedFile => directory_of(image.string(f.path)),
        FileKind::Terminal => buf.get(..n).unwrap_or(&[]),
        FileKind::PtyMaster => b"/dev/ptmx",
        _ => image.string(f.path),
    };
    let data = image.file_data(f);
    let (kind, flags, offset, value) = match f.kind {
        FileKind::Regular => (file_kind::OPEN, file_open_flags(f), f.offset, 0),
        FileKind::Directory | FileKind::CharDev => (file_kind::OPEN, file_open_flags(f), KEEP, 0),
        FileKind::Pipe => (file_kind::PIPE, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::Stdio => (file_kind::DUP, 0, KEEP, f.value0),
        FileKind::EventFd => (file_kind::EVENTFD, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::SignalFd => (file_kind::SIGNALFD, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::Epoll => (file_kind::EPOLL, u64::from(f.status_flags), KEEP, 0),
        FileKind::TimerFd => (file_kind::TIMERFD, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::Memfd => (file_kind::MEMFD, u64::from(f.status_flags), f.offset, f.value0),
        FileKind::UnixPair => (file_kind::UNIX_PAIR, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::Socket => (file_kind::SOCKET, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::TcpReset => (file_kind::TCP_RESET, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::DeletedFile => (file_kind::DELETED, u64::from(f.status_flags), f.offset, f.value0),
        FileKind::Inotify => (file_kind::INOTIFY, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::TcpRepair => (file_kind::TCP_REPAIR, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::Fifo => (file_kind::FIFO, u64::from(f.status_flags), KEEP, 0),
        FileKind::Terminal => (file_kind::OPEN, terminal_open_flags(f), KEEP, 0),
        FileKind::PtyMaster => (file_kind::PTY_MASTER, u64::from(f.status_flags), KEEP, f.value0),
        FileKind::PtySlave => (file_kind::PTY_SLAVE, u64::from(f.status_flags), KEEP, 0),
    };
    o.word(w(file::KIND), kind);
    o.word(w(file::FLAGS), flags);
    o.word(w(file::OFFSET), offset);
    o.word(w(file::PATH_OFFSET), s);
    o.bytes(s, path);
    s += path.len() as u64 + 1;
    o.word(w(file::PEER), peer);
    if f.kind == FileKind::Epoll {
        s = (s + 7) & !7;
        o.word(w(file::DATA_OFFSET), s);
        o.word(w(file::DATA_LEN), f.value1);
        for e in image.epoll_entries(f) {
            let inherited = image.fds().take(3).any(|d| d.fd == e.fd && d.disposition == FdDisposition::Inherit);
            o.word(s, u64::from(e.fd));
            o.word(s + 8, u64::from(e.events));
            o.word(s + 16, e.data);
            o.word(s + 24, u64::from(inherited));
            s += EPOLL_WORDS as u64 * 8;
        }
    } else if f.kind == FileKind::Inotify {
        s = (s + 7) & !7;
        o.word(w(file::DATA_OFFSET), s);
        o.word(w(file::DATA_LEN), f.value0);
        for watch in super::fmt::inotify::watches(data).flatten() {
            o.word(s, u64::from(watch.wd));
            o.word(s + 8, u64::from(watch.mask));
            o.bytes(s + 16, watch.path);
            s = (s + 16 + watch.path.len() as u64 + 1 + 7) & !7;
        }
    } else {
        o.word(w(file::DATA_OFFSET), s);
        o.word(w(file::DATA_LEN), data.len() as u64);
        o.bytes(s, data);
        s += data.len() as u64;
    }
    o.word(w(file::VALUE), value);
    o.word(w(file::KIND_FLAGS), u64::from(f.kind_flags));
    if f.kind == FileKind::Memfd {
        o.word(w(file::VALUE1), f.value1);
    }
    if matches!(f.kind, FileKind::Socket | FileKind::DeletedFile) {
        o.word(w(file::VALUE1), f.value1);
        o.word(w(file::VALUE2), f.value2);
    }
    if f.kind == FileKind::Socket {
        // The protocol (netlink's; else 0).
        o.word(w(file::VALUE4), f.value4);
    }
    if f.kind == FileKind::Socket && f.kind_flags & super::fmt::records::socket_flags::CONNECTED != 0 {
        // The stub's split of FILE_DATA: the local address's length.
        let local = super::fmt::sockets::connected_addrs(f.value0, f.value3, data).map_or(0, |(l, _)| l.len());
        o.word(w(file::VALUE3), local as u64);
    }
    if matches!(f.kind, FileKind::TimerFd | FileKind::TcpRepair) {
        for (k, v) in [(file::VALUE1, f.value1), (file::VALUE2, f.value2), (file::VALUE3, f.value3), (file::VALUE4, f.value4)] {
            o.word(w(k), v);
        }
    }
    o.word(w(file::TEMP), KEEP);
    o.word(w(file::OWNER), owner_type(image, f.owner).unwrap_or(KEEP));
    o.word(w(file::OWNER_SIGNAL), super::fmt::records::file_owner::signal(f.owner));
    if image.sockopts_of(index).next().is_some() {
        s = write_sockopts(image, index, rec, o, s);
    }
    s
}

// ---- Deferred regions (plan.h struct chkpt_plan_deferred) ----

/// Whether region `r` is deferred: mapped by the stub once the object it
/// maps exists, after the fds, rather than by the restorer with the rest
/// of memory. `stub_creates_object`: the region maps a tree object
/// (TREE_REGIONS) and the restorer maps memory before its stub runs (the
/// kernel module); ckpt-restore's stub creates tree objects before its
/// memory steps and maps those regions there. A region of a memfd or
/// deleted file the process holds (MAPS_FILE) is always deferred.
pub fn defers(r: &super::fmt::Region, stub_creates_object: bool) -> bool {
    r.flags & super::fmt::records::region_flags::MAPS_FILE != 0 || stub_creates_object
}

/// The most deferred regions `image` can have: MAPS_FILE and tree regions.
fn deferred_room(image: &Image<'_>) -> u64 {
    let files = image.regions().filter(|r| defers(r, false)).count() as u64;
    files + image.tree_regions().count() as u64
}

/// mmap(2) MAP_SHARED and MAP_FIXED (x86-64): how a deferred region is
/// mapped over its reservation.
const MAP_SHARED_FIXED: u64 = 0x01 | 0x10;

/// Appends deferred region `index` of `image`, mapped from `fd` (the
/// process's fd of its description, or a tree object's fd).
fn push_deferred(image: &Image<'_>, layout: &Layout, o: &mut Out<'_>, index: u32, fd: u64) {
    let Some(r) = image.region(index) else {
        o.oob = true;
        return;
    };
    let n = o.get(8 * head::NR_DEFERRED as u64).unwrap_or(u64::MAX);
    if n >= layout.deferred_room {
        o.oob = true;
        return;
    }
    let rec = layout.deferred + n * (DEFERRED_WORDS * 8) as u64;
    let words = [r.start, r.end - r.start, u64::from(r.prot), MAP_SHARED_FIXED, fd, r.file_offset, u64::from(r.run_count != 0), u64::from(index)];
    for (k, v) in words.into_iter().enumerate() {
        o.word(rec + 8 * k as u64, v);
    }
    o.word(8 * head::DEFERRED_OFFSET as u64, layout.deferred);
    o.word(8 * head::NR_DEFERRED as u64, n + 1);
}

/// Every MAPS_FILE region, mapped from the lowest fd that has its
/// description (the validator checked the description exists; an image
/// whose description no fd holds leaves the region reserved, PROT_NONE).
fn write_deferred_files(image: &Image<'_>, layout: &Layout, o: &mut Out<'_>) {
    for (i, r) in image.regions().enumerate() {
        if !defers(&r, false) {
            continue;
        }
        let fd = image.fds().filter(|f| f.disposition == FdDisposition::Shared && f.file == r.file).map(|f| u64::from(f.fd)).min();
        if let Some(fd) = fd {
            push_deferred(image, layout, o, i as u32, fd);
        }
    }
}

/// Words per `struct chkpt_plan_seccomp`: flags, len, code_offset.
pub const SECCOMP_WORDS: usize = 3;

/// Plan bytes of the seccomp filters: their records and their code.
fn seccomp_len(image: &Image<'_>) -> u64 {
    image.seccomp_filters().map(|(_, code)| SECCOMP_WORDS as u64 * 8 + code.len() as u64 * 8).sum()
}

/// The seccomp filters, oldest first: records, then the instructions.
fn write_seccomp(image: &Image<'_>, layout: &Layout, o: &mut Out<'_>) {
    let n = image.seccomp_filters().count() as u64;
    let mut code_at = layout.seccomp + n * SECCOMP_WORDS as u64 * 8;
    for (i, (f, code)) in image.seccomp_filters().enumerate() {
        let rec = layout.seccomp + (i * SECCOMP_WORDS * 8) as u64;
        o.word(rec, u64::from(f.flags));
        o.word(rec + 8, code.len() as u64);
        o.word(rec + 16, code_at);
        for insn in code.iter().filter_map(|w| w.decode()) {
            o.bytes(code_at, &insn.bytes());
            code_at += 8;
        }
    }
    o.word(8 * head::SECCOMP_OFFSET as u64, if n == 0 { 0 } else { layout.seccomp });
    o.word(8 * head::NR_SECCOMP as u64, n);
}

/// The image's credentials, if it records them; the stub takes them on
/// only where the restorer says so (`set_creds`).
fn write_creds(image: &Image<'_>, layout: &Layout, o: &mut Out<'_>) {
    let Some(c) = image.creds() else { return };
    let words = [
        c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid,
    ]
    .map(u64::from)
    .into_iter()
    .chain([c.cap_inheritable, c.cap_permitted, c.cap_effective, c.cap_bounding, c.cap_ambient, image.groups().count() as u64]);
    for (k, v) in words.enumerate() {
        o.word(layout.creds + 8 * k as u64, v);
    }
    let groups = layout.creds + creds::WORDS as u64 * 8;
    for (k, g) in image.groups().enumerate() {
        o.bytes(groups + 4 * k as u64, &g.to_le_bytes());
    }
}

/// Has the stub of a plan [`write`] made take on the image's credentials
/// (policy: `Checked::set_creds`), or keep the caller's.
pub fn set_creds(out: &mut [u8], image: &Image<'_>, layout: &Layout, on: bool) -> Result<(), PlanError> {
    if out.len() as u64 != layout.len {
        return Err(PlanError::WrongBufferLength);
    }
    let mut o = Out { buf: out, oob: false };
    let at = if on && image.creds().is_some() { layout.creds } else { 0 };
    o.word((head::CREDS_OFFSET * 8) as u64, at);
    if o.oob {
        return Err(PlanError::WrongBufferLength);
    }
    Ok(())
}

/// Every region with per-mapping state, in image order.
fn write_advice(image: &Image<'_>, layout: &Layout, o: &mut Out<'_>) {
    o.word(8 * head::ADVICE_OFFSET as u64, layout.advice);
    o.word(8 * head::NR_ADVICE as u64, layout.nr_advice);
    let with = image.regions().enumerate().filter(|(_, r)| advice_of(r.flags) != 0);
    for (n, (i, r)) in with.take(layout.nr_advice as usize).enumerate() {
        let rec = layout.advice + (n * ADVICE_WORDS * 8) as u64;
        for (k, v) in [r.start, r.end - r.start, advice_of(r.flags), i as u64].into_iter().enumerate() {
            o.word(rec + 8 * k as u64, v);
        }
    }
}

/// Adds a tree region deferred by a restorer that maps memory before its
/// stub runs (the kernel module): region `region` of `image`, mapped from
/// the tree object at `fd`.
pub fn add_deferred(out: &mut [u8], layout: &Layout, image: &Image<'_>, region: u32, fd: u64) -> Result<(), PlanError> {
    if out.len() as u64 != layout.len {
        return Err(PlanError::WrongBufferLength);
    }
    let mut o = Out { buf: out, oob: false };
    push_deferred(image, layout, &mut o, region, fd);
    if o.oob {
        return Err(PlanError::WrongBufferLength);
    }
    Ok(())
}
