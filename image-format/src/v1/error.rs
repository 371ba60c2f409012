//! Every reason a reader refuses an image, one variant each, declared in
//! one list: variant, stable name, description.

macro_rules! format_errors {
    ($( $v:ident = $name:literal : $desc:literal, )*) => {
        /// Why an image (or a restoring CPU) was refused. `name()` is a
        /// short, stable identifier used in messages, tests and FORMAT.md;
        /// `description()` says what it means.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum FormatError {
            $( #[doc = $desc] $v, )*
        }

        impl FormatError {
            /// Every variant, for tools that list them and for tests.
            pub const ALL: &'static [FormatError] = &[$(FormatError::$v),*];

            /// Short stable name, e.g. "bad-magic".
            pub const fn name(self) -> &'static str {
                match self {
                    $( FormatError::$v => $name, )*
                }
            }

            /// One sentence saying what the name means.
            pub const fn description(self) -> &'static str {
                match self {
                    $( FormatError::$v => $desc, )*
                }
            }
        }
    };
}

format_errors! {
    Truncated = "truncated":
        "Input shorter than the layout says, or the file was cut short.",
    TrailingData = "trailing-data":
        "The file is longer than the header says.",
    BadMagic = "bad-magic":
        "Offset 0 does not hold the image magic.",
    UnknownMajorVersion = "unknown-major-version":
        "Major version other than 1.",
    HeaderChecksum = "header-checksum":
        "Header CRC32C mismatch.",
    UnsupportedArch = "unsupported-arch":
        "Architecture other than x86-64.",
    UnsupportedPageSize = "unsupported-page-size":
        "Page size other than 4096.",
    UnknownHeaderFlags = "unknown-header-flags":
        "Header flag bits this reader does not know.",
    ReservedNotZero = "reserved-not-zero":
        "A reserved field is not zero.",
    BadTimestamp = "bad-timestamp":
        "Nanoseconds field >= 1e9.",
    LayoutInconsistent = "layout-inconsistent":
        "Header offsets/lengths do not describe one consistent file layout.",
    MetadataOverLimit = "metadata-over-limit":
        "Metadata larger than MAX_METADATA_LEN.",
    MetadataChecksum = "metadata-checksum":
        "CRC32C of the whole metadata range does not match the header.",
    SectionChecksum = "section-checksum":
        "A section's own CRC32C mismatch.",
    SectionOverrun = "section-overrun":
        "A section's length runs past the end of the metadata.",
    UnknownSectionFlags = "unknown-section-flags":
        "Section flag bits this reader does not know.",
    SectionsOutOfOrder = "sections-out-of-order":
        "Section kinds not strictly increasing (covers duplicates).",
    UnknownRequiredSection = "unknown-required-section":
        "A section kind this reader does not know, not marked optional.",
    MisplacedSection = "misplaced-section":
        "A section that may only appear in the tail appears in the metadata.",
    MissingSection = "missing-section":
        "A required v1 section is absent.",
    BadRecordSize = "bad-record-size":
        "A section's record size is not the one v1 defines.",
    SectionSizeMismatch = "section-size-mismatch":
        "A section's payload length does not match count * record size.",
    CountOverLimit = "count-over-limit":
        "A count is over its limit (threads, regions, runs, fds, auxv, sections).",
    StringOutOfBounds = "string-out-of-bounds":
        "A string reference points outside the string table.",
    StringNotTerminated = "string-not-terminated":
        "A string is not followed by a NUL.",
    StringContainsNul = "string-contains-nul":
        "A string contains a NUL before its end.",
    PathTooLong = "path-too-long":
        "A path longer than MAX_PATH_LEN.",
    MissingPath = "missing-path":
        "A path is required (file mapping, reopened fd) but empty.",
    BadPid = "bad-pid":
        "pid or tid is 0 or above PID_MAX_LIMIT.",
    BadUmask = "bad-umask":
        "umask with bits outside 0o777.",
    BadRlimit = "bad-rlimit":
        "A resource limit with cur > max.",
    BadMmLayout = "bad-mm-layout":
        "mm layout fields out of order or outside user space.",
    BadXcr0 = "bad-xcr0":
        "XCR0 without x87 and SSE, the features every x86-64 XSAVE area has.",
    BadXsaveSize = "bad-xsave-size":
        "XSAVE size outside MIN_XSAVE_SIZE..=MAX_XSAVE_SIZE.",
    BadAuxv = "bad-auxv":
        "An auxv entry with type AT_NULL (the terminator is implied).",
    NoThreads = "no-threads":
        "No thread records.",
    ThreadsUnsortedOrDuplicate = "threads-unsorted-or-duplicate":
        "Thread ids not strictly increasing (covers duplicates).",
    BadCodeSegment = "bad-code-segment":
        "cs is not the 64-bit user code selector 0x33.",
    BadStackSegment = "bad-stack-segment":
        "ss is not the user data selector 0x2b.",
    BadDataSegment = "bad-data-segment":
        "ds/es/fs/gs neither 0 nor an RPL-3 selector.",
    NonCanonicalRegister = "non-canonical-register":
        "rip, rsp, fs_base or gs_base not canonical.",
    BadEflags = "bad-eflags":
        "eflags has bits that user mode cannot set.",
    XsaveSizeMismatch = "xsave-size-mismatch":
        "A thread's XSAVE length differs from the process's.",
    XstateBvMismatch = "xstate-bv-mismatch":
        "Recorded xstate_bv differs from the one inside the XSAVE header.",
    XstateBvNotInXcr0 = "xstate-bv-not-in-xcr0":
        "xstate_bv has features outside the recorded XCR0.",
    BadXsaveHeader = "bad-xsave-header":
        "XSAVE header: compacted format or reserved bytes set.",
    BadMxcsr = "bad-mxcsr":
        "MXCSR with reserved bits set (would fault on restore).",
    BadSigaltstack = "bad-sigaltstack":
        "sigaltstack flags outside SS_ONSTACK/SS_DISABLE/SS_AUTODISARM.",
    BadRseq = "bad-rseq":
        "rseq length neither 0 nor >= 32.",
    BadSigaction = "bad-sigaction":
        "Signal action the kernel would refuse (SIGKILL/SIGSTOP handler, bad address).",
    Misaligned = "misaligned":
        "A value that must be page aligned is not.",
    EmptyRegion = "empty-region":
        "Region with start >= end.",
    RegionOutsideUserSpace = "region-outside-user-space":
        "Region ends above USER_SPACE_END.",
    RegionsOverlapOrUnsorted = "regions-overlap-or-unsorted":
        "Regions not sorted by address or overlapping.",
    BadProt = "bad-prot":
        "Protection bits other than r/w/x.",
    UnknownRegionKind = "unknown-region-kind":
        "Region kind this reader does not know.",
    UnknownRegionFlags = "unknown-region-flags":
        "Region flag bits this reader does not know.",
    InconsistentRegionFlags = "inconsistent-region-flags":
        "Region flags contradict each other or the kind.",
    DuplicateSpecialRegion = "duplicate-special-region":
        "More than one heap, vdso, vvar or vvar_vclock region.",
    PagesNotAllowed = "pages-not-allowed":
        "Stored pages in a region whose contents the kernel provides (vvar).",
    PageRunIndexMismatch = "page-run-index-mismatch":
        "A region's first_run/run_count do not follow the previous region's.",
    EmptyPageRun = "empty-page-run":
        "Page run with zero pages.",
    PageRunOutsideRegion = "page-run-outside-region":
        "Page run extends past its region.",
    PageRunsOverlapOrUnsorted = "page-runs-overlap-or-unsorted":
        "Page runs of a region not sorted or overlapping.",
    PageRunOffsetMismatch = "page-run-offset-mismatch":
        "Page run file offset is not where the packed layout puts it.",
    PageRunOutsideFile = "page-run-outside-file":
        "Page run extends past the page data range.",
    PageDataLengthMismatch = "page-data-length-mismatch":
        "Sum of stored pages differs from the header's page data length.",
    FdOutOfRange = "fd-out-of-range":
        "fd number at or above MAX_FD_NUMBER.",
    FdsUnsortedOrDuplicate = "fds-unsorted-or-duplicate":
        "fd numbers not strictly increasing (covers duplicates).",
    UnknownFdKind = "unknown-fd-kind":
        "fd kind this reader does not know.",
    UnknownFdDisposition = "unknown-fd-disposition":
        "fd disposition this reader does not know.",
    BadFdDisposition = "bad-fd-disposition":
        "Inherit disposition on an fd other than 0-2.",
    BadCloexec = "bad-cloexec":
        "fd close-on-exec field neither 0 nor 1.",
    BadFdOffset = "bad-fd-offset":
        "fd offset above i64::MAX.",
    BadTrailerMagic = "bad-trailer-magic":
        "Trailer does not start with the trailer magic.",
    TrailerChecksum = "trailer-checksum":
        "Trailer CRC32C mismatch.",
    TrailerMismatch = "trailer-mismatch":
        "Trailer disagrees with the header (length, CRCs, run count).",
    TailChecksum = "tail-checksum":
        "CRC32C of the page-CRC table does not match the trailer.",
    BadPageCrcTable = "bad-page-crc-table":
        "Page-CRC table has the wrong kind, count or record size.",
    PageChecksum = "page-checksum":
        "A page run's data does not match its CRC32C.",
    BadBuffer = "bad-buffer":
        "Buffer passed to page verification is too small or not page sized.",
    CpuMissingFeatures = "cpu-missing-features":
        "The restoring CPU lacks XSAVE features the image uses.",
    Interrupted = "interrupted-by-fatal-signal":
        "Validation stopped: the caller got a fatal signal (the kernel module's long checks).",
    CpuXsaveTooSmall = "cpu-xsave-too-small":
        "The restoring CPU's XSAVE area is smaller than the image's.",
    BadFdFile = "bad-fd-file":
        "A shared fd whose description index is outside FILES or that sets flags, offset or path; or a file index on another disposition.",
    UnknownFileKind = "unknown-file-kind":
        "Open file description kind this reader does not know.",
    BadFileFlags = "bad-file-flags":
        "Open file description status flags outside the known O_* bits, access mode 3, or kind flags the kind does not have.",
    BadFileValues = "bad-file-values":
        "Open file description field set that its kind does not have (offset, path, pipe, data, values).",
    FileDataOutOfBounds = "file-data-out-of-bounds":
        "An open file description's bytes lie outside FILE_DATA.",
    BadPipe = "bad-pipe":
        "Pipe ends not numbered 1, 2, ... in order, a pipe with two ends of one direction or more than two ends, a lone end without PEER_GONE, or queued bytes on a write end.",
    BadPipeSize = "bad-pipe-size":
        "Pipe size 0, above MAX_PIPE_SIZE, different between its two ends, or smaller than its queued bytes.",
    BadStdioFile = "bad-stdio-file":
        "A Stdio description whose fd is not 0-2 or is not inherited.",
    BadEpollEntries = "bad-epoll-entries":
        "epoll descriptions' interest lists not consecutive in EPOLL order, or EPOLL records no description claims.",
    BadEpollTarget = "bad-epoll-target":
        "An epoll entry for an fd the image does not have or records as closed.",
    BadEpollEvents = "bad-epoll-events":
        "epoll entry events with unknown bits, or EPOLLEXCLUSIVE with EPOLLONESHOT.",
    BadTimerFd = "bad-timerfd":
        "timerfd with an unknown clock, a time at or above 2^63 ns, or an absolute expiry without ABSTIME.",
    BadPendingSignal = "bad-pending-signal":
        "Pending signal number outside 1..=64, or SIGKILL/SIGSTOP.",
    UnknownSignalScope = "unknown-signal-scope":
        "Pending signal queue (scope) this reader does not know.",
    BadPendingSignalThread = "bad-pending-signal-thread":
        "Thread-scope pending signal for a tid without a thread record, or process scope with a tid.",
    PendingSignalsUnsorted = "pending-signals-unsorted":
        "Pending signals not grouped process queue first, then threads by increasing tid.",
    DuplicateStandardSignal = "duplicate-standard-signal":
        "A standard (non-real-time) signal queued twice in one queue.",
    BadSiginfo = "bad-siginfo":
        "siginfo whose si_signo differs from the signal number.",
    BadMembarrier = "bad-membarrier":
        "membarrier registrations with bits other than the four REGISTER_* commands.",
    UnknownTimerKind = "unknown-timer-kind":
        "Timer kind this reader does not know.",
    TimersUnsortedOrDuplicate = "timers-unsorted-or-duplicate":
        "Timers not in kind order, POSIX timers not by increasing id (covers duplicates).",
    BadTimer = "bad-timer":
        "Timer with an id above INT_MAX, an overrun above INT_MAX, or itimer fields that must be zero set.",
    BadTimerClock = "bad-timer-clock":
        "POSIX timer on a clock other than REALTIME, MONOTONIC, PROCESS_CPUTIME_ID, BOOTTIME, TAI.",
    BadTimerNotify = "bad-timer-notify":
        "POSIX timer notification other than SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID.",
    BadTimerSignal = "bad-timer-signal":
        "Timer signal outside 1..=64 or SIGKILL/SIGSTOP, or a signal with SIGEV_NONE.",
    BadTimerThread = "bad-timer-thread":
        "SIGEV_THREAD_ID timer naming a tid without a thread record, or another timer with a tid.",
    BadUnixPair = "bad-unix-pair":
        "Unix socket pair ends not numbered 1, 2, ... in order, a pair without exactly two consecutive ends (one with PEER_GONE), an unknown socket type or two types in one pair, an unknown kind flag, or queued bytes on a datagram or seqpacket end or above MAX_UNIX_PAIR_QUEUE.",
    UnknownLockKind = "unknown-lock-kind":
        "File lock kind this reader does not know.",
    BadLock = "bad-lock":
        "File lock neither read (0) nor write (1), a range past i64::MAX, or a flock with a range.",
    BadLockFd = "bad-lock-fd":
        "File lock on an fd that has no FDS record, or one inherited from the caller or left closed.",
    LocksUnsortedOrDuplicate = "locks-unsorted-or-duplicate":
        "File locks not sorted by fd, kind and start (covers duplicates).",
    BadCwdRemoved = "bad-cwd-removed":
        "The working directory's removed flag is neither 0 nor 1.",
    BadSocket = "bad-socket":
        "A bound socket or reset TCP connection with an unknown family or type, a type its family has not, a listening datagram or a datagram with a backlog, a backlog above MAX_SOCKET_BACKLOG, an option its family has not, or an address that is not one well-formed sockaddr of its family (two for a reset connection).",
    BadDeletedFile = "bad-deleted-file":
        "A deleted file whose size is not its stored length, whose permission bits exceed 0o7777, or whose position is above 2^63-1.",
    BadInotify = "bad-inotify":
        "An inotify instance whose watches are not numbered 1, 2, ... in order, have an unknown mask bit or no event, a path that is not absolute or holds a 0 byte or exceeds 4095 bytes, or are not exactly value0 of them (at most 8192).",
    BadTreeFlags = "bad-tree-flags":
        "Header flags TREE and MEMBER both set, TREE without TREE records or TREE records without it, or TREE_FILES/TREE_REGIONS in an image of no tree.",
    MemberImage = "member-image":
        "A tree member image (header flag MEMBER) read on its own: it is only restored through its tree.",
    BadTreeProcess = "bad-tree-process":
        "A TREE record with pid 0 or above PID_MAX_LIMIT, an unknown state or flags, a pdeath signal above 64, a zombie root, or an exit status that is no wait status of a zombie (or set on a live process).",
    TreeParentOrder = "tree-parent-order":
        "A TREE record whose parent does not come before it, is a zombie, or a root with a parent.",
    TreeDuplicatePid = "tree-duplicate-pid":
        "Two TREE records with one pid.",
    TreeOffsetMismatch = "tree-offset-mismatch":
        "A member image not at the page-aligned end of the one before it, the root not at 0 with its own length, or a zombie with an image.",
    BadTreeSession = "bad-tree-session":
        "A process's session neither its parent's nor its own (a leader of its own process group).",
    BadTreeGroup = "bad-tree-group":
        "A process group neither the process's own, the root's (in the root's session), nor that of a group leader before it in the same session.",
    TreeMemberMismatch = "tree-member-mismatch":
        "A member image whose pid or length differs from its TREE record, or that lacks the MEMBER flag.",
    BadTreeFile = "bad-tree-file":
        "TREE_FILES not sorted by file, a file index outside FILES, an object number over MAX_TREE_OBJECTS, or an end that does not fit the description (0 alone, 1 read and 2 write end of a pipe, 1 or 2 for a unix pair; never a Stdio).",
    BadTreeRegion = "bad-tree-region":
        "TREE_REGIONS not sorted by region, a region index outside REGIONS, a region that is not shared memory, or an end other than 0.",
    TreeObjectMismatch = "tree-object-mismatch":
        "Tree objects not numbered densely in order of first appearance, one object used by files and regions or by two file kinds, or a region of an object with stored pages (or outside the first mapping) after its first process.",
    BadFifo = "bad-fifo":
        "A named FIFO with queued bytes on a write-only end or above MAX_FIFO_QUEUE.",
    BadTerminal = "bad-terminal":
        "The caller's terminal opened again with an unknown flag, or neither /dev/tty nor an fd 0-2 the image inherits.",
    BadPty = "bad-pty":
        "A pty master not numbered 1, 2, ... in record order, a pty slave not right after its master (or another slave of it) with its number, termios not 44 bytes or with a line discipline other than N_TTY, a slave number at or above 2^20, an unknown flag, EXCLUSIVE without a slave or SLAVE_CLOSED with one.",
    BadTcpRepair = "bad-tcp-repair":
        "A repaired TCP connection with a family other than inet, an unknown option flag, an mss of 0 or above 65535, a window scale above 14 or without WSCALE, bits set above the fields, a queue above MAX_TCP_QUEUE, addresses that are not two well-formed sockaddrs of its family, or FILE_DATA not exactly the addresses, the window and the queues.",
    BadRegionFile = "bad-region-file":
        "A MAPS_FILE region whose file index is outside FILES, names a description that is not a memfd or deleted file, or one whose access mode does not allow the mapping (readable; read-write for a writable one) or a writable mapping of a memfd sealed F_SEAL_FUTURE_WRITE; or a file index without MAPS_FILE.",
    BadProcessAttrs = "bad-process-attrs":
        "More than one PROCESS_ATTRS record, a parent-death signal above 64, an unknown flag or a reserved byte set.",
    BadThreadName = "bad-thread-name":
        "A thread name longer than 15 bytes.",
    BadCreds = "bad-creds":
        "More than one CREDS record, an id of 4294967295 (-1), effective or ambient capabilities outside permitted (ambient also outside inheritable), a reserved byte set, or GROUPS without CREDS.",
    BadFileOwner = "bad-file-owner":
        "O_ASYNC or a signal owner on a description that cannot signal (only pipes, FIFOs and sockets do), an owner type other than TID, PID or PGRP, a pid above 4194304, a type without a pid, a signal above 64, or bits set above the signal.",
    BadSeccomp = "bad-seccomp":
        "A seccomp filter of no instruction or more than 4096, an unknown flag, more instructions in all than the kernel allows (32768, each filter counting 4 more), SECCOMP_CODE not exactly the filters' instructions, or a reserved byte set.",
    BadSched = "bad-sched":
        "SCHED records not one per thread in THREADS order (tids), an unknown policy or flag, a nice value outside -20..=19, a real-time priority outside 1..=99 for FIFO and RR or not 0 for the others, an I/O priority class above 3 or level above 7, an affinity mask that is empty with AFFINITY or set without it, or a reserved byte set.",
    BadSockopt = "bad-socket-option":
        "A SOCKOPTS record whose file index is outside FILES or names a description that is no socket created again (bound socket, unix pair end, repaired TCP connection), an option not in the list or not of that socket's family and type, a value outside the option's range, or a reserved byte set.",
    SockoptsUnsortedOrDuplicate = "sockopts-unsorted-or-duplicate":
        "SOCKOPTS records not sorted by file, level and name, or one option twice for one socket.",
}

/// Result type of every fallible function in this module.
pub type Result<T> = core::result::Result<T, FormatError>;
