//! Hard limits. A reader refuses any image beyond them, so validating a
//! hostile image is bounded in time and a restorer never allocates more
//! than these numbers allow. FORMAT.md lists them with their reasons.

/// Page size the format is defined for (x86-64).
pub const PAGE_SIZE: u64 = 4096;
/// First address past user space: x86-64 4-level paging TASK_SIZE_MAX.
/// [vsyscall] lies above and is never recorded.
pub const USER_SPACE_END: u64 = 0x0000_7fff_ffff_f000;
/// Threads per process.
pub const MAX_THREADS: u32 = 16_384;
/// Memory regions; Linux's default vm.max_map_count is 65530.
pub const MAX_REGIONS: u32 = 65_536;
/// Stored page runs in the whole image.
pub const MAX_PAGE_RUNS: u32 = 1 << 21;
/// Open file descriptors recorded.
pub const MAX_FDS: u32 = 65_536;
/// Highest fd number plus one (Linux's default fs.nr_open).
pub const MAX_FD_NUMBER: u32 = 1 << 20;
/// Longest path in bytes, excluding its NUL (PATH_MAX 4096 includes it).
pub const MAX_PATH_LEN: u32 = 4095;
/// Auxiliary vector entries (Linux keeps fewer than 32 pairs).
pub const MAX_AUXV: u32 = 64;
/// Smallest XSAVE area: 512 legacy bytes + 64 header bytes.
pub const MIN_XSAVE_SIZE: u32 = 576;
/// Largest XSAVE area accepted (AMX-era CPUs use about 11 KiB).
pub const MAX_XSAVE_SIZE: u32 = 65_536;
/// Whole metadata range (header excluded).
pub const MAX_METADATA_LEN: u64 = 64 << 20;
/// Sections in the metadata, including skipped optional ones.
pub const MAX_SECTIONS: u32 = 64;
/// Largest pid/tid Linux hands out (PID_MAX_LIMIT).
pub const MAX_PID: u32 = 4_194_304;
/// Number of signal actions recorded (signals 1..=64).
pub const NUM_SIGACTIONS: u32 = 64;
/// Number of resource limits recorded (RLIMIT_NLIMITS).
pub const NUM_RLIMITS: usize = 16;
/// Chunk size the writer asks its page callback for; bounds its buffer.
pub const WRITE_CHUNK: usize = 1 << 20;
/// Open file descriptions recorded (at most one per fd).
pub const MAX_FILES: u32 = MAX_FDS;
/// Bytes in FILE_DATA: queued pipe bytes.
pub const MAX_FILE_DATA: u32 = 16 << 20;
/// Largest pipe size recorded (pipe-max-size is 1 MiB by default; root
/// may raise it, the kernel caps it at 2^31).
pub const MAX_PIPE_SIZE: u64 = 1 << 31;
/// Most bytes recorded as queued at one end of a unix socket pair (the
/// kernel bounds them by the sender's SO_SNDBUF, at most 2 * wmem_max).
pub const MAX_UNIX_PAIR_QUEUE: u64 = 4 << 20;
/// Most bytes recorded in one queue of a repaired TCP connection (the
/// kernel bounds each by its buffer, tcp_wmem / tcp_rmem, 4 and 6 MiB by
/// default; FILE_DATA holds 16 MiB for the whole image).
pub const MAX_TCP_QUEUE: u64 = 16 << 20;
/// Most bytes recorded as queued in a named FIFO: what a FIFO nobody
/// holds takes when it is opened again (64 KiB, its default size), so
/// the stub's write back never waits.
pub const MAX_FIFO_QUEUE: u64 = 64 << 10;
/// Largest listen(2) backlog recorded (the kernel keeps it in an int).
pub const MAX_SOCKET_BACKLOG: u64 = i32::MAX as u64;
/// Largest struct sockaddr recorded: a sockaddr_un (110 bytes).
pub const MAX_SOCKADDR: u64 = 110;
/// epoll interest entries in the whole image.
pub const MAX_EPOLL_ENTRIES: u32 = 1 << 20;
/// Largest eventfd counter (ULLONG_MAX - 1).
pub const MAX_EVENTFD_COUNT: u64 = u64::MAX - 1;
/// Time values of a timerfd, in ns: below 2^63.
pub const MAX_TIMER_NS: u64 = i64::MAX as u64;
/// Pending signals recorded (both queues of all threads); Linux's default
/// RLIMIT_SIGPENDING is of this order on a few-GiB machine.
pub const MAX_PENDING_SIGNALS: u32 = 65_536;
/// Timers recorded: the three itimers and POSIX timers (each of which
/// the kernel charges to RLIMIT_SIGPENDING).
pub const MAX_TIMERS: u32 = 65_536 + 3;
/// Largest POSIX timer id (the kernel hands out non-negative ints).
pub const MAX_TIMER_ID: u32 = i32::MAX as u32;
/// File locks recorded (one per fd and range; a process rarely holds more
/// than a few).
pub const MAX_LOCKS: u32 = 65_536;

/// SOCKOPTS records in one image: one per option that differs from its
/// default, at most one per socket and option (sockopts.rs).
pub const MAX_SOCKOPTS: u32 = 65_536;
/// Most supplementary groups (NGROUPS_MAX).
pub const MAX_GROUPS: u32 = 65_536;
/// Processes in one tree image (each is a member image and a process
/// the restore creates).
pub const MAX_TREE_PROCESSES: u32 = 4096;
/// Tree objects (shared descriptions and memory) in one tree: the
/// restore keeps up to two fds per object.
pub const MAX_TREE_OBJECTS: u32 = 65_536;
