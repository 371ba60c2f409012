//! Fixed-size process-level records, each declared once (`record!`, see
//! layout.rs): the decoded type, its wire layout, and with them decode,
//! encode and the reserved-byte check. FORMAT.md tables the same layouts
//! (tests/format_doc.rs checks that they agree).

use core::mem::size_of;

use zerocopy::little_endian::U64;

use super::layout::{code_enum, record};
use super::limits::NUM_RLIMITS;

record! {
    /// Reference into the STRINGS section: `len` bytes at `offset`, followed
    /// by a NUL. (0, 0) is the empty string (the table starts with a NUL).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct StrRef = StrRefWire[8] {
        /// Byte offset in the string table.
        pub offset: u32,
        /// Length without the NUL.
        pub len: u32,
    }
}

record! {
    /// Identity of a file at dump time, to detect that it changed since.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct FileId = FileIdWire[40] {
        /// st_dev.
        pub dev: u64,
        /// st_ino.
        pub ino: u64,
        /// st_size.
        pub size: u64,
        /// st_mtime seconds.
        pub mtime_sec: i64,
        /// st_mtime nanoseconds.
        pub mtime_nsec: u32,
        reserved _36: 4,
    }
}

record! {
    /// One resource limit.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct Rlimit = RlimitWire[16] {
        /// Soft limit.
        pub cur: u64,
        /// Hard limit (u64::MAX is RLIM_INFINITY).
        pub max: u64,
    }
}

record! {
    /// Address-space layout fields of the process's mm_struct.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct MmLayout = MmLayoutWire[88] {
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
}

impl MmLayout {
    /// The fields in record order.
    pub fn to_array(&self) -> [u64; 11] {
        let w: [U64; 11] = zerocopy::transmute!(self.to_wire());
        w.map(|v| v.get())
    }
    /// Builds from the fields in record order.
    pub fn from_array(a: [u64; 11]) -> MmLayout {
        let w: MmLayoutWire = zerocopy::transmute!(a.map(U64::new));
        w.decode().unwrap_or_default()
    }
}

record! {
    /// The PROCESS record.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Process = ProcessWire[448] {
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
        /// membarrier(2) registrations (MEMBARRIER_CMD_GET_REGISTRATIONS's
        /// mask of REGISTER_* commands); 0: none, or the dumping kernel
        /// could not tell (before 6.3).
        pub membarrier: u32,
        /// 1: the working directory had been removed (rmdir) before the
        /// dump; `cwd` is the path it had. Both restorers refuse such an
        /// image (`cwd-removed`). 0: it existed.
        pub cwd_removed: u32,
    }
}

/// Size of the PROCESS record.
pub const PROCESS_SIZE: usize = size_of::<ProcessWire>();

record! {
    /// One auxiliary vector entry.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct AuxvEntry = AuxvWire[16] {
        /// a_type (never AT_NULL; the terminator is implied).
        pub key: u64,
        /// a_val.
        pub value: u64,
    }
}

/// Size of an AUXV record.
pub const AUXV_SIZE: usize = size_of::<AuxvWire>();

record! {
    /// One signal action (kernel `struct sigaction` for x86-64).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct SigAction = SigActionWire[32] {
        /// sa_handler: 0 SIG_DFL, 1 SIG_IGN, else a user address.
        pub handler: u64,
        /// sa_flags.
        pub flags: u64,
        /// sa_restorer.
        pub restorer: u64,
        /// sa_mask.
        pub mask: u64,
    }
}

/// Size of a SIGACTIONS record.
pub const SIGACTION_SIZE: usize = size_of::<SigActionWire>();

code_enum! {
    /// What backs a memory region.
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
    /// A shared file mapping the process may make writable (VM_MAYWRITE:
    /// its file was open for writing), whatever its protection now; the
    /// restorer opens the file read-write for it (requires SHARED and kind
    /// File).
    pub const MAY_WRITE: u32 = 4;
    /// A MAP_SHARED mapping of the memfd or deleted file that FILES record
    /// `Region::file` is (requires SHARED, kind Anon, no SHARED_ANON, no
    /// stored pages: the contents are the file's, in its FILE_DATA). The
    /// stub maps it from that description once its fds exist.
    pub const MAPS_FILE: u32 = 8;
    /// mlock(2)ed (VM_LOCKED, smaps "lo"): the stub locks it again.
    pub const LOCKED: u32 = 16;
    /// MADV_DONTFORK (VM_DONTCOPY, "dc"): a fork does not get it.
    pub const DONTFORK: u32 = 32;
    /// MADV_WIPEONFORK ("wf"): a fork sees it zeroed (private anonymous
    /// memory only: kind anon, heap or stack, not SHARED).
    pub const WIPEONFORK: u32 = 64;
    /// MADV_DONTDUMP ("dd"): left out of core dumps.
    pub const DONTDUMP: u32 = 128;
    /// MADV_HUGEPAGE ("hg").
    pub const HUGEPAGE: u32 = 256;
    /// MADV_NOHUGEPAGE ("nh"); not with HUGEPAGE.
    pub const NOHUGEPAGE: u32 = 512;
    /// MADV_SEQUENTIAL (VM_SEQ_READ, "sr").
    pub const SEQUENTIAL: u32 = 1024;
    /// MADV_RANDOM (VM_RAND_READ, "rr"); not with SEQUENTIAL.
    pub const RANDOM: u32 = 2048;
    /// The per-mapping state a restorer sets again after mapping the
    /// region (mlock and madvise; 1.1 images from older writers have none).
    /// Never on the kernel's regions (vdso, vvar, vvar_vclock).
    pub const ADVICE: u32 = LOCKED | DONTFORK | WIPEONFORK | DONTDUMP | HUGEPAGE | NOHUGEPAGE | SEQUENTIAL | RANDOM;
    /// All bits v1 knows.
    pub const KNOWN: u32 = SHARED | SHARED_ANON | MAY_WRITE | MAPS_FILE | ADVICE;
}

record! {
    /// One memory region (VMA).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Region = RegionWire[96] {
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
        /// MAPS_FILE: index in FILES of the description it maps; else 0.
        pub file: u32,
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
}

/// Size of a REGIONS record.
pub const REGION_SIZE: usize = size_of::<RegionWire>();

impl Region {
    /// Number of pages the region spans.
    pub fn pages(&self) -> u64 {
        self.end.saturating_sub(self.start) / super::limits::PAGE_SIZE
    }
}

record! {
    /// A run of consecutive stored pages of one region.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PageRun = PageRunWire[24] {
        /// Index of the first page within the region.
        pub page_index: u64,
        /// Number of pages.
        pub page_count: u64,
        /// Absolute file offset of the first page (page aligned).
        pub file_offset: u64,
    }
}

/// Size of a PAGE_RUNS record.
pub const PAGE_RUN_SIZE: usize = size_of::<PageRunWire>();

code_enum! {
    /// What an open file descriptor refers to.
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
}

code_enum! {
    /// How the restorer provides an fd.
    pub enum FdDisposition {
        /// Open `path` again with `open_flags` and seek to `offset`.
        Reopen = 0,
        /// Keep the restoring caller's fd of the same number (fds 0-2 only).
        Inherit = 1,
        /// Unsupported at dump time: left closed.
        Closed = 2,
        /// Recreated from the open file description FILES[`file`], which
        /// other fds may share.
        Shared = 3,
    }
}

record! {
    /// One open file descriptor.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Fd = FdWire[40] {
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
        /// Index in FILES of the description a Shared fd refers to; 0 for
        /// the other dispositions.
        pub file: u32,
    }
}

/// Size of an FDS record.
pub const FD_SIZE: usize = size_of::<FdWire>();

code_enum! {
    /// What an open file description (a FILES record) is.
    pub enum FileKind {
        /// Regular file, opened again by path.
        Regular = 0,
        /// Directory, opened again by path.
        Directory = 1,
        /// Character device, opened again by path.
        CharDev = 2,
        /// One end of a pipe (the access mode says which).
        Pipe = 3,
        /// The restoring caller's fd `value0` (0-2), which the image
        /// inherits there too: a duplicate of it.
        Stdio = 4,
        /// eventfd: counter `value0`, `eventfd_flags`.
        EventFd = 5,
        /// signalfd: signal mask `value0` (bit n-1 for signal n).
        SignalFd = 6,
        /// epoll instance: its interest list is EPOLL records `value0`
        /// .. `value0 + value1`.
        Epoll = 7,
        /// timerfd: clock `value0`, time left `value1` ns (0: disarmed),
        /// interval `value2` ns, expirations not yet read `value3`,
        /// `timer_flags`.
        TimerFd = 8,
        /// memfd: name `path`, contents in FILE_DATA (`value0` bytes, its
        /// whole size), position `offset`, seals `value1` (F_SEAL_*).
        Memfd = 9,
        /// One end of a unix socket pair (socketpair(2)) whose other end
        /// is the next or previous record, with the same number in `pipe`:
        /// socket type `value0` (`unix_pair_type`), the bytes queued for
        /// reading at this end in FILE_DATA. With `unix_pair_flags::PEER_GONE`
        /// the end is alone under its number: its peer had closed.
        UnixPair = 10,
        /// A socket bound to an address, bound again at restore: a
        /// listener (TCP, unix stream or seqpacket), an unconnected
        /// datagram socket (UDP, unix) or a connected UDP socket
        /// (`socket_flags::CONNECTED`). Family `value0` (`socket_family`),
        /// type `value1` (`socket_type`), backlog `value2` (listening),
        /// connections dropped from its accept queue `value3`,
        /// `socket_flags`, its address (a struct sockaddr) in FILE_DATA.
        Socket = 11,
        /// A connected TCP socket, restored as a connection reset by its
        /// peer (the next read or write fails with ECONNRESET): family
        /// `value0`, its local then its peer address (two struct sockaddr
        /// of one size) in FILE_DATA, for `inspect`.
        TcpReset = 12,
        /// A regular file deleted while open: created again unlinked
        /// (O_TMPFILE in the directory of its former path `path`, else a
        /// memfd), contents in FILE_DATA (`value0` bytes, its whole size),
        /// permission bits `value1`, position `offset`.
        DeletedFile = 13,
        /// An inotify instance: `value0` watches in FILE_DATA (see
        /// `inotify.rs`), added again in order so each gets its wd.
        Inotify = 14,
        /// An established TCP connection carried with TCP_REPAIR
        /// (`tcp_repair.rs`): family `value0`, the sequence numbers of the
        /// first queued byte `value1` (send, low 32 bits; receive, high),
        /// mss and window scales `value2`, the TCP timestamp `value3`, the
        /// queue lengths `value4` (send, low 32 bits; receive, high),
        /// `tcp_repair_flags`; FILE_DATA: local address, peer address,
        /// struct tcp_repair_window, the send queue, the receive queue.
        TcpRepair = 15,
        /// A named FIFO, opened again by `path` with the access mode and
        /// O_NONBLOCK of `status_flags`; the bytes queued in it at dump
        /// in FILE_DATA (a read or read-write end only), written back
        /// where the FIFO is empty at restore.
        Fifo = 16,
        /// The restoring caller's terminal opened again (a terminal fd
        /// beyond 0-2 that is not a pty of the image): with
        /// `terminal_flags::CONTROLLING`, /dev/tty (the caller's
        /// controlling terminal); else the terminal on the caller's fd
        /// `value0` (0-2, which the image inherits), opened anew through
        /// /proc/self/fd. Access mode and O_NONBLOCK of `status_flags`.
        Terminal = 17,
        /// The master of a pseudo-terminal pair (/dev/ptmx), created again
        /// as a new pair: pty number `pipe` (1, 2, ... in record order),
        /// the slave's termios (struct termios2, 44 bytes) in FILE_DATA,
        /// its window size `value0` (`pty_winsize`), the slave's number
        /// at dump `value1` (for `inspect`: the new pair gets another),
        /// `pty_flags`. Its slave's open file descriptions follow it
        /// (`PtySlave`, same number).
        PtyMaster = 18,
        /// One open of the slave of the pty pair whose master is the
        /// nearest `PtyMaster` record before it, with the same number in
        /// `pipe`: opened again from the new master (TIOCGPTPEER) with the
        /// access mode and O_NONBLOCK of `status_flags`.
        PtySlave = 19,
    }
}

/// Status flags a terminal, a pty master or a pty slave may record: its
/// access mode, O_APPEND, O_NONBLOCK, O_LARGEFILE.
pub const TERMINAL_STATUS: u32 = 0o3 | 0o2000 | 0o4000 | 0o100000;

/// `File::kind_flags` of the caller's terminal (`FileKind::Terminal`).
pub mod terminal_flags {
    /// /dev/tty: the caller's controlling terminal (`value0` 0).
    pub const CONTROLLING: u32 = 1;
    /// All bits v1 knows.
    pub const KNOWN: u32 = CONTROLLING;
}

/// `File::kind_flags` of a pty master (`FileKind::PtyMaster`).
pub mod pty_flags {
    /// Packet mode (TIOCPKT) on the master.
    pub const PACKET: u32 = 1;
    /// The slave is locked (TIOCSPTLCK): it cannot be opened.
    pub const LOCKED: u32 = 2;
    /// The slave is in exclusive mode (TIOCEXCL): further opens fail
    /// with EBUSY; recorded only with a PtySlave record.
    pub const EXCLUSIVE: u32 = 4;
    /// The slave had been opened and every open of it closed: reads at
    /// the master give EIO (and poll POLLHUP) until it is opened again;
    /// only without PtySlave records.
    pub const SLAVE_CLOSED: u32 = 8;
    /// All bits v1 knows.
    pub const KNOWN: u32 = PACKET | LOCKED | EXCLUSIVE | SLAVE_CLOSED;
}

/// `File::value0` of a pty master: struct winsize packed as ws_row |
/// ws_col << 16 | ws_xpixel << 32 | ws_ypixel << 48.
pub mod pty_winsize {
    /// The four u16 fields of struct winsize from a packed value0.
    pub const fn unpack(v: u64) -> [u16; 4] {
        [v as u16, (v >> 16) as u16, (v >> 32) as u16, (v >> 48) as u16]
    }
    /// value0 from ws_row, ws_col, ws_xpixel, ws_ypixel.
    pub const fn pack(w: [u16; 4]) -> u64 {
        w[0] as u64 | (w[1] as u64) << 16 | (w[2] as u64) << 32 | (w[3] as u64) << 48
    }
}

/// Length of struct termios2 (x86-64): c_iflag, c_oflag, c_cflag,
/// c_lflag (u32 each), c_line (u8), c_cc[19], c_ispeed, c_ospeed (u32).
pub const TERMIOS2_LEN: u64 = 44;
/// Offset of c_line in struct termios2: the line discipline, 0 (N_TTY).
pub const TERMIOS2_LINE: usize = 16;
/// Largest pty number (devpts's index) a pty master may record (2^20,
/// NR_UNIX98_PTY_MAX).
pub const MAX_PTY_INDEX: u64 = 1 << 20;

/// Status flags a deleted file may record: its access mode, O_APPEND,
/// O_NONBLOCK, O_LARGEFILE.
pub const DELETED_FILE_STATUS: u32 = 0o3 | 0o2000 | 0o4000 | 0o100000;

/// `File::value0` of a unix socket pair end: its socket type.
pub mod unix_pair_type {
    /// SOCK_STREAM.
    pub const STREAM: u64 = 1;
    /// SOCK_DGRAM.
    pub const DGRAM: u64 = 2;
    /// SOCK_SEQPACKET.
    pub const SEQPACKET: u64 = 5;
}

/// Status flags of a unix socket pair end: O_RDWR, O_NONBLOCK.
pub const UNIX_PAIR_STATUS: u32 = 0o2 | 0o4000;

/// `File::value0` of a socket: its address family.
pub mod socket_family {
    /// AF_UNIX.
    pub const UNIX: u64 = 1;
    /// AF_INET.
    pub const INET: u64 = 2;
    /// AF_INET6.
    pub const INET6: u64 = 10;
    /// AF_NETLINK: its protocol (NETLINK_ROUTE, NETLINK_AUDIT, ...) in
    /// `value4`.
    pub const NETLINK: u64 = 16;
}

/// Netlink protocols are below this (MAX_LINKS).
pub const NETLINK_PROTOCOLS: u64 = 32;

/// `File::value1` of a socket: its type.
pub mod socket_type {
    /// SOCK_STREAM (TCP for inet families).
    pub const STREAM: u64 = 1;
    /// SOCK_DGRAM (UDP for inet families).
    pub const DGRAM: u64 = 2;
    /// SOCK_SEQPACKET (unix only).
    pub const SEQPACKET: u64 = 5;
    /// SOCK_RAW (netlink only).
    pub const RAW: u64 = 3;
}

/// `File::kind_flags` bits of a bound socket.
pub mod socket_flags {
    /// listen(2)ing, with backlog `value2`.
    pub const LISTENING: u32 = 1;
    /// SO_REUSEADDR.
    pub const REUSEADDR: u32 = 2;
    /// SO_REUSEPORT.
    pub const REUSEPORT: u32 = 4;
    /// IPV6_V6ONLY (inet6 only).
    pub const V6ONLY: u32 = 8;
    /// A UDP socket connected to a peer: FILE_DATA holds its local then
    /// its peer address (two struct sockaddr of one size); restored bound
    /// to the first and connected to the second.
    pub const CONNECTED: u32 = 16;
    /// All bits v1 knows for sockets.
    pub const KNOWN: u32 = LISTENING | REUSEADDR | REUSEPORT | V6ONLY | CONNECTED;
}

/// `File::kind_flags` bits of a unix pair end.
pub mod unix_pair_flags {
    /// The end's peer had closed (one end of a socketpair, or of an
    /// accepted connection, whose other end is gone): restored as a pair
    /// whose other end is closed once the queued bytes are in, so reads
    /// give them, then end of file (stream, seqpacket), and writes EPIPE.
    pub const PEER_GONE: u32 = 1;
    /// The end's sending side is shut down (shutdown(SHUT_WR) on it, or
    /// SHUT_RD on its peer): restored with shutdown(SHUT_WR) once its
    /// peer's queued bytes are in, which shuts the peer's receiving side.
    pub const SHUT_WR: u32 = 2;
    /// All bits v1 knows for unix pair ends.
    pub const KNOWN: u32 = PEER_GONE | SHUT_WR;
}

/// `File::kind_flags` bits of a pipe end.
pub mod pipe_flags {
    /// The pipe's other end is not in the image: restored as closed (the
    /// read end sees the queued bytes, then end of file; the write end
    /// EPIPE).
    pub const PEER_GONE: u32 = 1;
    /// All bits v1 knows for pipes.
    pub const KNOWN: u32 = PEER_GONE;
    /// The status flags a pipe end may have: its access mode, O_NONBLOCK,
    /// O_APPEND, O_LARGEFILE (an end opened through /proc/PID/fd has it; a
    /// packet-mode pipe, O_DIRECT, is not recorded).
    pub const STATUS: u32 = 0o3 | 0o4000 | 0o2000 | 0o100000;
}

/// File status flags (O_*) an open file description may record: access
/// mode, O_APPEND, O_NONBLOCK, O_DSYNC, O_ASYNC, O_DIRECT, O_LARGEFILE,
/// O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_SYNC, O_PATH.
pub const FILE_STATUS_KNOWN: u32 =
    0o3 | 0o2000 | 0o4000 | 0o10000 | 0o20000 | 0o40000 | 0o100000 | 0o200000 | 0o400000 | 0o1000000 | 0o4010000 | 0o10000000;

record! {
    /// One open file description, which one or more FDS records share.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct File = FileWire[96] {
        /// Kind.
        pub kind: FileKind,
        /// File status flags (access mode, O_APPEND, O_NONBLOCK, ...).
        pub status_flags: u32,
        /// File position (Regular).
        pub offset: u64,
        /// Path (Regular, Directory, CharDev), else empty.
        pub path: StrRef,
        /// Pipe number (Pipe): the ends of one pipe share it; 0 otherwise.
        pub pipe: u32,
        /// Kind-specific flag bits (`pipe_flags`).
        pub kind_flags: u32,
        /// Offset of this description's bytes in FILE_DATA (a pipe's
        /// queued bytes, on its read end).
        pub data_offset: u64,
        /// Length of those bytes.
        pub data_len: u64,
        /// Kind-specific value: Pipe: its size (F_GETPIPE_SZ); Stdio: the fd.
        pub value0: u64,
        /// Kind-specific value (none yet).
        pub value1: u64,
        /// Kind-specific value (none yet).
        pub value2: u64,
        /// Kind-specific value (none yet).
        pub value3: u64,
        /// Kind-specific value (none yet).
        pub value4: u64,
        /// Signal-driven I/O (`file_owner`): who gets SIGIO or SIGURG
        /// (F_GETOWN_EX) and which signal (F_GETSIG); 0: nobody, SIGIO.
        pub owner: u64,
    }
}

/// `File::owner`: F_GETOWN_EX and F_GETSIG of a description, for the kinds
/// that can signal (pipes, FIFOs, sockets). Bits 0-31 the owner's pid
/// at dump (0: none), 32-39 its type, 40-47 the signal (0: SIGIO).
pub mod file_owner {
    /// F_OWNER_TID: one thread.
    pub const TID: u64 = 0;
    /// F_OWNER_PID: a process.
    pub const PID: u64 = 1;
    /// F_OWNER_PGRP: a process group.
    pub const PGRP: u64 = 2;
    /// The owner's pid (or pgid).
    pub const fn pid(owner: u64) -> u64 {
        owner & 0xffff_ffff
    }
    /// Its type (TID, PID, PGRP).
    pub const fn kind(owner: u64) -> u64 {
        owner >> 32 & 0xff
    }
    /// The signal sent (0: SIGIO).
    pub const fn signal(owner: u64) -> u64 {
        owner >> 40 & 0xff
    }
    /// The field for `pid`, `kind`, `signal`.
    pub const fn encode(pid: u32, kind: u64, signal: u64) -> u64 {
        pid as u64 | kind << 32 | signal << 40
    }
    /// O_ASYNC: signal-driven I/O on (F_SETFL FASYNC).
    pub const O_ASYNC: u32 = 0o20000;
    /// Whether descriptions of `kind` may signal (O_ASYNC, an owner):
    /// pipes, FIFOs and sockets.
    pub fn signals(kind: super::FileKind) -> bool {
        use super::FileKind::*;
        matches!(kind, Pipe | Fifo | UnixPair | Socket | TcpRepair)
    }
}

/// Size of a FILES record.
pub const FILE_SIZE: usize = size_of::<FileWire>();

/// `File::kind_flags` of an eventfd.
pub mod eventfd_flags {
    /// EFD_SEMAPHORE: each read takes 1.
    pub const SEMAPHORE: u32 = 1;
}

/// `File::kind_flags` of a timerfd.
pub mod timer_flags {
    /// TFD_TIMER_ABSTIME was set: `value4` holds the expiry as the clock's
    /// absolute time in ns at dump (restored as such for CLOCK_REALTIME,
    /// whose time is the same on every machine; relative otherwise).
    pub const ABSTIME: u32 = 1;
    /// TFD_TIMER_CANCEL_ON_SET.
    pub const CANCEL_ON_SET: u32 = 2;
    /// All bits v1 knows.
    pub const KNOWN: u32 = ABSTIME | CANCEL_ON_SET;
}

/// F_SEAL_* bits a memfd may have: SEAL, SHRINK, GROW, WRITE,
/// FUTURE_WRITE, EXEC.
pub const MEMFD_SEALS_KNOWN: u64 = 0x3f;

/// Status flags of a memfd: O_RDWR, O_NONBLOCK, O_APPEND, O_LARGEFILE.
pub const MEMFD_STATUS: u32 = 0o2 | 0o4000 | 0o2000 | 0o100000;

/// Status flags of eventfd, signalfd, epoll and timerfd descriptions:
/// O_RDWR (their only access mode), O_NONBLOCK.
pub const ANON_STATUS: u32 = 0o2 | 0o4000;

/// epoll event bits an interest entry may have: EPOLLIN .. EPOLLMSG,
/// EPOLLRDHUP, EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET.
pub const EPOLL_EVENTS_KNOWN: u32 = 0x7ff | 0x2000 | (1 << 28) | (1 << 29) | (1 << 30) | (1 << 31);

record! {
    /// One entry of an epoll instance's interest list.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct EpollEntry = EpollEntryWire[16] {
        /// The fd registered (an fd of the image).
        pub fd: u32,
        /// Its events (EPOLL* bits, EPOLLET, EPOLLONESHOT, ...).
        pub events: u32,
        /// The user data epoll_wait returns.
        pub data: u64,
    }
}

/// Size of an EPOLL record.
pub const EPOLL_ENTRY_SIZE: usize = size_of::<EpollEntryWire>();

code_enum! {
    /// Which queue a pending signal waits in.
    pub enum SignalScope {
        /// The process-wide (shared) queue: kill, sigqueue, timers.
        Process = 0,
        /// One thread's own queue: tgkill, pthread_kill, faults.
        Thread = 1,
    }
}

/// Bytes of siginfo the kernel keeps for a queued signal (struct
/// kernel_siginfo). The 80 bytes by which the user-space siginfo_t is
/// longer are always zero there.
pub const SIGINFO_LEN: usize = 48;

record! {
    /// One queued signal, with the siginfo it will be delivered with.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PendingSignal = PendingSignalWire[64] {
        /// Signal number, 1..=64, not SIGKILL or SIGSTOP.
        pub signo: u32,
        /// Queue: the process's or one thread's.
        pub scope: SignalScope,
        /// Thread whose queue (Thread scope), else 0.
        pub tid: u32,
        reserved _12: 4,
        /// The siginfo (si_signo, si_errno, si_code, then the union).
        pub siginfo: [u8; SIGINFO_LEN],
    }
}

/// Size of a PENDING_SIGNALS record.
pub const PENDING_SIGNAL_SIZE: usize = size_of::<PendingSignalWire>();

code_enum! {
    /// Which timer a TIMERS record describes.
    pub enum TimerKind {
        /// setitimer(ITIMER_REAL): SIGALRM on wall-clock (monotonic) time.
        ItimerReal = 0,
        /// setitimer(ITIMER_VIRTUAL): SIGVTALRM on user CPU time.
        ItimerVirtual = 1,
        /// setitimer(ITIMER_PROF): SIGPROF on user and system CPU time.
        ItimerProf = 2,
        /// A POSIX timer (timer_create).
        Posix = 3,
    }
}

/// How a POSIX timer notifies (struct sigevent's sigev_notify).
pub mod timer_notify {
    /// SIGEV_SIGNAL: a signal to the process.
    pub const SIGNAL: u32 = 0;
    /// SIGEV_NONE: nothing; the program polls timer_gettime.
    pub const NONE: u32 = 1;
    /// SIGEV_THREAD_ID: a signal to one thread (also what C libraries use
    /// for SIGEV_THREAD, to their helper thread).
    pub const THREAD_ID: u32 = 4;
}

/// Clocks a POSIX timer may run on in an image: CLOCK_REALTIME,
/// CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_BOOTTIME, CLOCK_TAI.
pub const TIMER_CLOCKS: [u32; 5] = [0, 1, 2, 7, 11];

record! {
    /// One interval timer or POSIX timer.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Timer = TimerWire[56] {
        /// Which timer.
        pub kind: TimerKind,
        /// POSIX timer id (kept across restore); 0 for itimers.
        pub id: u32,
        /// POSIX timer clock id; 0 for itimers.
        pub clock: u32,
        /// POSIX timer notification (`timer_notify`); 0 for itimers.
        pub notify: u32,
        /// Signal sent on expiry (0 for SIGEV_NONE and itimers, whose
        /// signal is fixed).
        pub signo: u32,
        /// Target thread of SIGEV_THREAD_ID, else 0.
        pub tid: u32,
        /// sigev_value delivered with the signal.
        pub value: u64,
        /// Interval in nanoseconds (0: one-shot).
        pub interval_ns: u64,
        /// Time left until the next expiry, in nanoseconds (0: disarmed).
        pub remaining_ns: u64,
        /// timer_getoverrun() at dump (information: the kernel offers no
        /// way to set it).
        pub overrun: u32,
        reserved _52: 4,
    }
}

/// Size of a TIMERS record.
pub const TIMER_SIZE: usize = size_of::<TimerWire>();

/// membarrier(2) registration commands an image may record.
pub mod membarrier {
    /// MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED.
    pub const GLOBAL_EXPEDITED: u32 = 1 << 2;
    /// MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED.
    pub const PRIVATE_EXPEDITED: u32 = 1 << 4;
    /// MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE.
    pub const PRIVATE_EXPEDITED_SYNC_CORE: u32 = 1 << 6;
    /// MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ.
    pub const PRIVATE_EXPEDITED_RSEQ: u32 = 1 << 8;
    /// All of them.
    pub const KNOWN: u32 = GLOBAL_EXPEDITED | PRIVATE_EXPEDITED | PRIVATE_EXPEDITED_SYNC_CORE | PRIVATE_EXPEDITED_RSEQ;
}

code_enum! {
    /// Which kind of file lock a LOCKS record describes.
    pub enum LockKind {
        /// flock(2): held by the open file description.
        Flock = 0,
        /// A POSIX record lock (fcntl F_SETLK): held by the process.
        Posix = 1,
        /// An open file description lock (fcntl F_OFD_SETLK).
        Ofd = 2,
    }
}

record! {
    /// One file lock the process held at dump, taken again at restore
    /// through `fd`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Lock = LockWire[32] {
        /// The fd it is taken through (an FDS record, reopened or shared).
        pub fd: u32,
        /// flock, POSIX or OFD.
        pub kind: LockKind,
        /// 1: a write (exclusive) lock; 0: a read (shared) lock.
        pub write: u32,
        reserved _12: 4,
        /// First byte locked (0 for flock).
        pub start: u64,
        /// Bytes locked; 0: to the end of the file, however long it grows
        /// (0 for flock).
        pub len: u64,
    }
}

/// Size of a LOCKS record.
pub const LOCK_SIZE: usize = size_of::<LockWire>();

record! {
    /// One socket option a restorer sets on a socket it creates again
    /// (sockopts.rs lists which, and how each value is encoded).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SockOpt = SockOptWire[24] {
        /// Index of the socket's FILES record.
        pub file: u32,
        /// setsockopt level: SOL_SOCKET 1, IPPROTO_IP 0, IPPROTO_TCP 6,
        /// IPPROTO_IPV6 41.
        pub level: u32,
        /// setsockopt option name at that level (Linux x86-64 numbers).
        pub name: u32,
        reserved _12: 4,
        /// The value, encoded as the option's entry in sockopts.rs says.
        pub value: u64,
    }
}

/// Size of a SOCKOPTS record.
pub const SOCKOPT_SIZE: usize = size_of::<SockOptWire>();

record! {
    /// A thread's scheduling (SCHED): what sched_getattr, ioprio_get and
    /// sched_getaffinity report for it, which neither execve nor clone
    /// gives back. One per thread, in THREADS order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Sched = SchedWire[160] {
        /// The thread's tid at dump (its THREADS record's).
        pub tid: u32,
        /// Scheduling policy: 0 SCHED_OTHER, 1 SCHED_FIFO, 2 SCHED_RR,
        /// 3 SCHED_BATCH, 5 SCHED_IDLE.
        pub policy: u32,
        /// `sched_flags`: RESET_ON_FORK 1, AFFINITY 2 (`affinity` holds a
        /// mask narrower than every CPU of the dumping machine).
        pub flags: u32,
        /// Nice value, -20..=19, two's complement.
        pub nice: u32,
        /// Real-time priority, 1..=99 for FIFO and RR, else 0.
        pub priority: u32,
        /// I/O priority (ioprio_get): class << 13 | level.
        pub ioprio: u32,
        reserved _24: 8,
        /// CPU affinity, bit n for CPU n (CPUs 0..1024), with AFFINITY.
        pub affinity: [u8; 128],
    }
}

/// Size of a SCHED record.
pub const SCHED_SIZE: usize = size_of::<SchedWire>();

record! {
    /// One seccomp filter of the process (SECCOMP_FILTERS), oldest first;
    /// its instructions are the next `len` SECCOMP_CODE records.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SeccompFilter = SeccompFilterWire[16] {
        /// SECCOMP_FILTER_FLAG_LOG 2, SECCOMP_FILTER_FLAG_SPEC_ALLOW 4.
        pub flags: u32,
        /// Its number of instructions, 1..=4096 (BPF_MAXINSNS).
        pub len: u32,
        reserved _8: 8,
    }
}

record! {
    /// One classic BPF instruction (struct sock_filter), as the kernel
    /// gave it back.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SeccompInsn = SeccompInsnWire[8] {
        /// `code` in bits 0-15, `jt` in 16-23, `jf` in 24-31.
        pub op: u32,
        /// `k`.
        pub k: u32,
    }
}

impl SeccompInsn {
    /// Its struct sock_filter bytes.
    pub fn bytes(&self) -> [u8; 8] {
        let (a, b) = (self.op.to_le_bytes(), self.k.to_le_bytes());
        [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
    }
    /// The instruction of struct sock_filter bytes `b`.
    pub fn from_bytes(b: [u8; 8]) -> SeccompInsn {
        SeccompInsn { op: u32::from_le_bytes([b[0], b[1], b[2], b[3]]), k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]) }
    }
}

/// Sizes of a SECCOMP_FILTERS and a SECCOMP_CODE record.
pub const SECCOMP_FILTER_SIZE: usize = size_of::<SeccompFilterWire>();
/// Size of a SECCOMP_CODE record.
pub const SECCOMP_INSN_SIZE: usize = size_of::<SeccompInsnWire>();

/// `SeccompFilter::flags` and limits.
pub mod seccomp {
    /// SECCOMP_FILTER_FLAG_LOG.
    pub const LOG: u32 = 2;
    /// SECCOMP_FILTER_FLAG_SPEC_ALLOW.
    pub const SPEC_ALLOW: u32 = 4;
    /// Every flag a filter may keep.
    pub const KNOWN: u32 = LOG | SPEC_ALLOW;
    /// BPF_MAXINSNS: the most instructions of one filter.
    pub const MAX_INSNS: u32 = 4096;
    /// MAX_INSNS_PER_PATH: the most of all a process's filters together,
    /// each counted with 4 more.
    pub const MAX_PATH: u32 = 32768;
}

/// `Sched::flags` and `Sched::policy` values.
pub mod sched_flags {
    /// SCHED_FLAG_RESET_ON_FORK: children start at the default policy.
    pub const RESET_ON_FORK: u32 = 1;
    /// `affinity` is recorded.
    pub const AFFINITY: u32 = 2;
    /// Every flag.
    pub const KNOWN: u32 = RESET_ON_FORK | AFFINITY;
    /// SCHED_FIFO and SCHED_RR, which take a priority.
    pub const FIFO: u32 = 1;
    /// SCHED_RR.
    pub const RR: u32 = 2;
    /// The policies an image may hold: OTHER, FIFO, RR, BATCH, IDLE.
    pub const POLICIES: [u32; 5] = [0, 1, 2, 3, 5];
}

record! {
    /// The PROCESS_ATTRS record (at most one): what prctl(2) sets on the
    /// process and /proc does not restore by itself.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct ProcessAttrs = ProcessAttrsWire[16] {
        /// PR_GET_PDEATHSIG: the signal it gets when its parent dies,
        /// 1..=64 (0: none).
        pub pdeath_signal: u32,
        /// `attr_flags` bits.
        pub flags: u32,
        /// /proc/PID/oom_score_adj, -1000..=1000, two's complement (0:
        /// the default).
        pub oom_score_adj: u32,
        reserved _12: 4,
    }
}

/// Size of a PROCESS_ATTRS record.
pub const PROCESS_ATTRS_SIZE: usize = size_of::<ProcessAttrsWire>();

/// `ProcessAttrs::flags` bits; zero is each attribute's default.
pub mod attr_flags {
    /// PR_SET_CHILD_SUBREAPER: orphaned descendants are reparented to it.
    pub const CHILD_SUBREAPER: u32 = 1;
    /// PR_SET_NO_NEW_PRIVS: execve grants no privilege (one way).
    pub const NO_NEW_PRIVS: u32 = 2;
    /// PR_SET_DUMPABLE 0: no core dump, /proc files owned by root, ptrace
    /// by others refused.
    pub const NOT_DUMPABLE: u32 = 4;
    /// PR_SET_THP_DISABLE: no transparent huge pages for this process
    /// (/proc/PID/status "THP_enabled: 0"); inherited over fork.
    pub const THP_DISABLE: u32 = 8;
    /// In a group stop at dump (SIGSTOP, SIGTSTP, ...): the restored
    /// process stops itself once it is ready, as its last step. A process
    /// of a tree has its TREE state instead; restorers ignore this flag
    /// there.
    pub const STOPPED: u32 = 16;
    /// All bits v1 knows.
    pub const KNOWN: u32 = CHILD_SUBREAPER | NO_NEW_PRIVS | NOT_DUMPABLE | THP_DISABLE | STOPPED;
}
record! {
    /// The CREDS record (at most one): the process's credentials, which a
    /// restorer allowed to change its own (root: CAP_SETUID, CAP_SETGID
    /// and CAP_SETPCAP in the initial user namespace) gives the restored
    /// process; any other caller restores it with its own. Its
    /// supplementary groups are the GROUPS section.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Creds = CredsWire[80] {
        /// Real user id.
        pub uid: u32,
        /// Effective user id.
        pub euid: u32,
        /// Saved set-user-id.
        pub suid: u32,
        /// File-system user id.
        pub fsuid: u32,
        /// Real group id.
        pub gid: u32,
        /// Effective group id.
        pub egid: u32,
        /// Saved set-group-id.
        pub sgid: u32,
        /// File-system group id.
        pub fsgid: u32,
        /// Inheritable capabilities, bit n for capability n.
        pub cap_inheritable: u64,
        /// Permitted capabilities.
        pub cap_permitted: u64,
        /// Effective capabilities (within permitted).
        pub cap_effective: u64,
        /// The capability bounding set.
        pub cap_bounding: u64,
        /// Ambient capabilities (within permitted and inheritable).
        pub cap_ambient: u64,
        reserved _72: 8,
    }
}

/// Size of a CREDS record.
pub const CREDS_SIZE: usize = size_of::<CredsWire>();

record! {
    /// One supplementary group (GROUPS section, with CREDS).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Group = GroupWire[4] {
        /// The group id.
        pub gid: u32,
    }
}

/// Size of a GROUPS record.
pub const GROUP_SIZE: usize = size_of::<GroupWire>();

// Process trees (issue 15): one file holds one complete image per process
// (FORMAT.md "Process trees"); the root's TREE section lists them all.

code_enum! {
    /// What a process of a tree was doing at dump.
    pub enum TreeState {
        /// Running (or sleeping): resumed at restore.
        Running = 0,
        /// In a group stop (SIGSTOP, SIGTSTP, ...): restored stopped.
        Stopped = 1,
        /// Exited, not yet waited for: restored as a zombie with its status.
        Zombie = 2,
    }
}

/// `TreeProcess::parent` of the root.
pub const TREE_NO_PARENT: u32 = u32::MAX;

/// `TreeProcess::flags` bits.
pub mod tree_flags {
    /// The process's threads are listed, with their TIDs, in its member
    /// image's THREADS (every process but a zombie).
    pub const TIDS: u32 = 1;
    /// All bits v1 knows.
    pub const KNOWN: u32 = TIDS;
}

record! {
    /// One process of a tree (TREE section, root image only; tree order:
    /// a parent before its children, record 0 the root).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TreeProcess = TreeProcessWire[64] {
        /// PID at dump (in the dumper's PID namespace).
        pub pid: u32,
        /// Index of its parent in TREE; TREE_NO_PARENT for the root.
        pub parent: u32,
        /// Process group id at dump (a PID number).
        pub pgid: u32,
        /// Session id at dump (a PID number).
        pub sid: u32,
        /// Running, stopped or zombie.
        pub state: TreeState,
        /// A zombie's raw wait status (as waitpid gives it), else 0.
        pub exit_status: u32,
        /// PR_GET_PDEATHSIG: the signal it gets when its parent dies (0: none).
        pub pdeath_signal: u32,
        /// `tree_flags` bits.
        pub flags: u32,
        /// File offset of its member image (root: 0; zombie: 0).
        pub image_offset: u64,
        /// Length of its member image (its header's file_len); zombie: 0.
        pub image_len: u64,
        reserved _48: 16,
    }
}

/// Size of a TREE record.
pub const TREE_PROCESS_SIZE: usize = size_of::<TreeProcessWire>();

record! {
    /// An open file description (FILES record) that is (one end of) a
    /// tree object, shared with other processes of the tree.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TreeFile = TreeFileWire[16] {
        /// Index in this image's FILES.
        pub file: u32,
        /// Tree object number.
        pub object: u32,
        /// 0: the object is this one description; 1, 2: the read and write
        /// end of a pipe (the first and second end of a unix socket pair).
        pub end: u32,
        reserved _12: 4,
    }
}

/// Size of a TREE_FILES record.
pub const TREE_FILE_SIZE: usize = size_of::<TreeFileWire>();

record! {
    /// A shared memory region (REGIONS record) that maps a tree object:
    /// shared anonymous memory inherited across fork, or one memfd mapped
    /// by several processes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TreeRegion = TreeRegionWire[16] {
        /// Index in this image's REGIONS.
        pub region: u32,
        /// Tree object number.
        pub object: u32,
        /// Always 0.
        pub end: u32,
        reserved _12: 4,
    }
}

/// Size of a TREE_REGIONS record.
pub const TREE_REGION_SIZE: usize = size_of::<TreeRegionWire>();

/// Status flags a named FIFO may record: its access mode, O_NONBLOCK,
/// O_LARGEFILE.
pub const FIFO_STATUS: u32 = 0o3 | 0o4000 | 0o100000;

/// `File::kind_flags` of a repaired TCP connection: the options it
/// negotiated (TCP_REPAIR_OPTIONS).
pub mod tcp_repair_flags {
    /// SACK permitted.
    pub const SACK: u32 = 1;
    /// Timestamps.
    pub const TIMESTAMPS: u32 = 2;
    /// Window scaling (the scales are in `value2`).
    pub const WSCALE: u32 = 4;
    /// All bits v1 knows.
    pub const KNOWN: u32 = SACK | TIMESTAMPS | WSCALE;
}
