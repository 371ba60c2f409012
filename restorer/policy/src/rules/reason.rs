// SPDX-License-Identifier: GPL-2.0
//! Why an image is not restored: one table. Each reason has a stable,
//! lowercase name (the module's log line and ckpt-restore's message both
//! end with it), the errno the module's execve returns, ckpt-restore's exit
//! status, and a sentence for people. Nothing here allocates: a refusal is
//! a reason plus a [`Detail`] the restorer renders (a path is looked up in
//! the image by the region or fd it names).

use super::fmt::FormatError;
use super::plan::PlanError;

macro_rules! errnos {
    ($($name:ident = $value:literal,)*) => {
        /// Linux errno values (x86-64), positive: what the module returns.
        pub mod errno {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub const $name: i32 = $value;
            )*

            /// The symbolic name of `errno`, if it is one of these.
            pub const fn name(errno: i32) -> Option<&'static str> {
                match errno {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1,
    ENOENT = 2,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    ENOEXEC = 8,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    ENOTDIR = 20,
    EINVAL = 22,
    EOPNOTSUPP = 95,
    ESTALE = 116,
    EEXIST = 17,
    EPROTOTYPE = 91,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ECONNREFUSED = 111,
}

/// Exit statuses of `ckpt-restore` (restorer/README.md lists them).
pub mod exit {
    /// Internal error or an unexpected system call failure.
    pub const INTERNAL: i32 = 1;
    /// Bad command line.
    pub const USAGE: i32 = 2;
    /// The image file cannot be opened or read.
    pub const IMAGE_UNREADABLE: i32 = 3;
    /// The image is invalid (corrupt, truncated, not an image).
    pub const IMAGE_INVALID: i32 = 4;
    /// This machine or caller cannot run the image: CPU, vdso, limits,
    /// address space.
    pub const INCOMPATIBLE: i32 = 5;
    /// A file the image maps is missing, changed since the dump, or not permitted.
    pub const MAPPED_FILE: i32 = 6;
    /// A file descriptor to reopen, or the working directory, cannot be opened.
    pub const FD_FILE: i32 = 7;
    /// The image holds something the restorers do not restore.
    pub const UNSUPPORTED: i32 = 8;
}

macro_rules! reasons {
    ($($variant:ident = $name:literal, $errno:ident, $exit:ident, $text:literal;)*) => {
        /// Why an image is refused (besides the validator's [`FormatError`]s
        /// and the plan builder's [`PlanError`]s, which keep their names).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Reason {
            $(
                #[doc = $text]
                $variant,
            )*
            /// The image failed validation.
            Format(FormatError),
            /// No plan could be built for the stub.
            Plan(PlanError),
        }

        /// Every reason of the table (validator and plan reasons aside):
        /// name, errno, errno's name, exit status, sentence.
        pub const REASONS: &[(&str, i32, &str, i32, &str)] = &[
            $(($name, errno::$errno, stringify!($errno), exit::$exit, $text),)*
        ];

        impl Reason {
            /// Stable, lowercase name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Reason::$variant => $name,)*
                    Reason::Format(e) => e.name(),
                    Reason::Plan(e) => e.name(),
                }
            }

            /// The errno the module's execve returns (positive), unless
            /// the failure itself had one (an open's ENOTDIR, say).
            pub const fn errno(self) -> i32 {
                match self {
                    $(Reason::$variant => errno::$errno,)*
                    Reason::Format(FormatError::Interrupted) => errno::EINTR,
                    Reason::Format(_) => errno::EINVAL,
                    Reason::Plan(PlanError::TooLarge) => errno::ENOMEM,
                    Reason::Plan(PlanError::UnsupportedFd) => errno::EOPNOTSUPP,
                    Reason::Plan(_) => errno::EINVAL,
                }
            }

            /// ckpt-restore's exit status.
            pub const fn exit_status(self) -> i32 {
                match self {
                    $(Reason::$variant => exit::$exit,)*
                    Reason::Format(FormatError::CpuMissingFeatures | FormatError::CpuXsaveTooSmall) => exit::INCOMPATIBLE,
                    Reason::Format(FormatError::Interrupted) => exit::INTERNAL,
                    Reason::Format(_) => exit::IMAGE_INVALID,
                    Reason::Plan(PlanError::TooLarge | PlanError::UnsupportedFd) => exit::UNSUPPORTED,
                    Reason::Plan(_) => exit::INTERNAL,
                }
            }

            /// A sentence for people.
            pub const fn describe(self) -> &'static str {
                match self {
                    $(Reason::$variant => $text,)*
                    Reason::Format(FormatError::CpuMissingFeatures) => "this CPU lacks XSAVE features the image uses",
                    Reason::Format(FormatError::CpuXsaveTooSmall) => "this CPU's XSAVE area is smaller than the image's",
                    Reason::Format(FormatError::Truncated) => "the image is truncated",
                    Reason::Format(FormatError::Interrupted) => "interrupted by a fatal signal",
                    Reason::Format(_) => "not a valid checkpoint image",
                    Reason::Plan(PlanError::TooLarge) => "the restorer's plan for this image would be too large",
                    Reason::Plan(PlanError::UnsupportedFd) => "the image has an fd of a kind that cannot be reopened",
                    Reason::Plan(_) => "internal error building the restorer's plan",
                }
            }
        }
    };
}

reasons! {
    // The caller and this machine.
    GrantsPrivilege = "setuid-setgid-or-file-capabilities", EPERM, INCOMPATIBLE,
        "the image file is setuid, setgid or has file capabilities: restoring never grants a privilege";
    ExceedsRlimitNproc = "exceeds-rlimit-nproc", EAGAIN, INCOMPATIBLE,
        "the image has more threads than the caller's RLIMIT_NPROC allows";
    ExceedsRlimitAs = "exceeds-rlimit-as", ENOMEM, INCOMPATIBLE,
        "the image's memory exceeds the caller's RLIMIT_AS";
    ExceedsRlimitSigpending = "exceeds-rlimit-sigpending", EAGAIN, INCOMPATIBLE,
        "the image's queued signals and POSIX timers exceed the caller's RLIMIT_SIGPENDING";
    ExceedsRlimitMemlock = "exceeds-rlimit-memlock", EAGAIN, INCOMPATIBLE,
        "the image's locked memory (mlock) exceeds what the caller may lock (RLIMIT_MEMLOCK)";
    SeccompNotPermitted = "seccomp-not-permitted", EPERM, INCOMPATIBLE,
        "the image's seccomp filters, on a process without no_new_privs, need a caller with CAP_SYS_ADMIN to install";
    TooManyMappings = "too-many-mappings", ENOMEM, INCOMPATIBLE,
        "the restored process would have more mappings than vm.max_map_count";
    NoRoomForRestorer = "no-room-for-the-restorer", ENOMEM, INCOMPATIBLE,
        "no free address range outside the image's memory for the restorer";
    ImageNotMappable = "image-not-mappable", ENOEXEC, INCOMPATIBLE,
        "the image's pages cannot be mapped from where it is stored";
    // Regions.
    RegionBelowMinAddr = "region-below-mmap-min-addr", EPERM, INCOMPATIBLE,
        "a region lies below the lowest address user space may map";
    RegionAboveTaskSize = "region-above-task-size", EINVAL, INCOMPATIBLE,
        "a region lies above this kernel's user address space";
    SysvShm = "sysv-shm-unsupported", EOPNOTSUPP, UNSUPPORTED,
        "System V shared memory is not restored";
    SharedFileWithStoredPages = "shared-file-with-stored-pages", EINVAL, IMAGE_INVALID,
        "a shared file mapping has stored pages";
    // The vdso.
    CallerHasNoVdso = "caller-has-no-vdso", EOPNOTSUPP, INCOMPATIBLE,
        "the image uses a vdso and the caller has none";
    VdsoLayoutDiffers = "vdso-layout-differs", EOPNOTSUPP, INCOMPATIBLE,
        "the image's vdso layout differs from this kernel's";
    VdsoNotStored = "vdso-not-stored", EOPNOTSUPP, INCOMPATIBLE,
        "the image's vdso pages are not stored whole";
    VdsoDiffers = "vdso-differs-from-this-kernel", EOPNOTSUPP, INCOMPATIBLE,
        "the image's vdso differs from this kernel's";
    CallerVdsoUnreadable = "caller-vdso-unreadable", EFAULT, INTERNAL,
        "the caller's vdso cannot be read";
    // Files the image maps.
    MappedFileMissing = "mapped-file-missing", ENOENT, MAPPED_FILE,
        "a file the image maps is missing";
    MappedFilePermission = "mapped-file-permission", EACCES, MAPPED_FILE,
        "a file the image maps cannot be opened: permission denied";
    MappedFileOpenFailed = "mapped-file-open-failed", EIO, MAPPED_FILE,
        "a file the image maps cannot be opened";
    MappedFileStatFailed = "mapped-file-stat-failed", EIO, MAPPED_FILE,
        "a file the image maps cannot be examined";
    MappedFileChanged = "mapped-file-changed", ESTALE, MAPPED_FILE,
        "a file the image maps changed since the dump";
    MappedFileNoexec = "mapped-file-noexec", EACCES, MAPPED_FILE,
        "a file the image maps executable lies on a noexec mount";
    // Fds to reopen and the working directory.
    FdFileMissing = "fd-file-missing", ENOENT, FD_FILE,
        "a file the process had open is missing";
    FdFilePermission = "fd-file-permission", EACCES, FD_FILE,
        "a file the process had open cannot be opened: permission denied";
    FdFileOpenFailed = "fd-file-open-failed", EIO, FD_FILE,
        "a file the process had open cannot be opened";
    FdFileStatFailed = "fd-file-stat-failed", EIO, FD_FILE,
        "a file the process had open cannot be examined";
    FdFileChanged = "fd-file-changed", ESTALE, FD_FILE,
        "a file the process had open is no longer the same kind of file";
    FdNotReopenable = "fd-not-reopenable", EOPNOTSUPP, UNSUPPORTED,
        "the image has an fd of a kind that cannot be reopened";
    CwdMissing = "cwd-missing", ENOENT, FD_FILE,
        "the process's working directory is missing";
    CwdPermission = "cwd-permission", EACCES, FD_FILE,
        "the process's working directory is not accessible: permission denied";
    CwdFailed = "cwd-failed", EIO, FD_FILE,
        "the process's working directory cannot be entered";
    CwdRemoved = "cwd-removed", ENOENT, FD_FILE,
        "the process's working directory had been removed before the dump";
    // The image file itself.
    ImageMissing = "image-missing", ENOENT, IMAGE_UNREADABLE,
        "no such image file";
    ImagePermission = "image-permission", EACCES, IMAGE_UNREADABLE,
        "the image cannot be opened: permission denied";
    ImageOpenFailed = "image-open-failed", EIO, IMAGE_UNREADABLE,
        "the image cannot be opened";
    ImageFdNotOpen = "image-fd-not-open", EBADF, IMAGE_UNREADABLE,
        "the image's fd from binfmt_misc (AT_EXECFD) is not open";
    ImageReadError = "image-read-error", EIO, IMAGE_UNREADABLE,
        "the image cannot be read";
    NotARegularFile = "not-a-regular-file", EACCES, IMAGE_INVALID,
        "the image is not a regular file";
    TooLarge = "too-large", ENOMEM, IMAGE_INVALID,
        "the image's metadata is too large for this machine";
    // The restorer's own resources.
    OutOfMemory = "out-of-memory", ENOMEM, INTERNAL,
        "out of memory";
    // ckpt-restore's own address space (the module builds a fresh one).
    SealedMapping = "sealed-mapping", EPERM, INCOMPATIBLE,
        "a mapping of the restorer is sealed and cannot be unmapped";
    BrkBelowRestorer = "brk-below-restorer", ENOMEM, INCOMPATIBLE,
        "PR_SET_MM_MAP was refused and the image's program break lies below the restorer's";
    Internal = "internal-error", EIO, INTERNAL,
        "unexpected system call failure";
    // Open file descriptions the caller may not create (fdkinds.rs).
    PipeTooLarge = "pipe-too-large", EPERM, INCOMPATIBLE,
        "a pipe of the image is larger than fs.pipe-max-size, which the caller may not exceed (CAP_SYS_RESOURCE)";
    TimerNeedsWakeAlarm = "timer-needs-wake-alarm", EPERM, INCOMPATIBLE,
        "a timerfd of the image is on an alarm clock, which needs CAP_WAKE_ALARM";
    // Sockets bound again (sockets.rs).
    SocketAddressInUse = "socket-address-in-use", EADDRINUSE, INCOMPATIBLE,
        "the address a socket of the image was bound to is taken";
    SocketAddressUnavailable = "socket-address-unavailable", EADDRNOTAVAIL, INCOMPATIBLE,
        "the address a socket of the image was bound to is not one of this machine's";
    SocketPermission = "socket-permission", EACCES, INCOMPATIBLE,
        "the caller may not bind a socket of the image to its address (a port below 1024, a unix path's directory), or connect to its peer";
    SocketBindFailed = "socket-bind-failed", EIO, INCOMPATIBLE,
        "a socket of the image cannot be bound to its address again";
    SocketPeerUnavailable = "socket-peer-unavailable", ECONNREFUSED, INCOMPATIBLE,
        "a unix datagram socket of the image cannot be connected to its peer (a named socket outside the image) again";
    SocketPathNotSocket = "socket-path-not-socket", EEXIST, INCOMPATIBLE,
        "the path a unix socket of the image was bound to exists and is not a socket";
    // Process trees (tree.rs).
    MemberSelector = "member-selector", EINVAL, UNSUPPORTED,
        "the tree member selector is not `ckpt-tree-member INDEX FD_BASE` with a member of this tree";
    MissingTreeObject = "missing-tree-object", EBADF, FD_FILE,
        "an object this member shares with its tree is not at its fd, or not of its kind (restore the tree's image)";
    TreeExceedsRlimitNproc = "tree-exceeds-rlimit-nproc", EAGAIN, INCOMPATIBLE,
        "the tree has more processes and threads than the caller's RLIMIT_NPROC allows";
    TreeFdBase = "tree-fd-base", EINVAL, INCOMPATIBLE,
        "the tree's fds lie beyond the caller's RLIMIT_NOFILE, or the selector's fd base among the member's own fds";
    TreeProcessGroup = "tree-process-group", EOPNOTSUPP, UNSUPPORTED,
        "a process of the tree is in a session or process group that its parent cannot recreate";
    TreeFromStream = "tree-from-stream", EOPNOTSUPP, UNSUPPORTED,
        "a process tree is restored from a file, not a stream: its processes re-execute the image";
    TreeObjectUnsupported = "tree-object-unsupported", EOPNOTSUPP, UNSUPPORTED,
        "the tree shares an object of a kind not restored shared (an epoll instance; shared memory with the module)";
    // Named FIFOs opened again by path (fifo.rs).
    FifoPathNotFifo = "fifo-path-not-fifo", EEXIST, FD_FILE,
        "the path a named FIFO of the image was opened by exists and is not a FIFO";
    // Terminals (terminal.rs).
    NoCallerTerminal = "no-caller-terminal", ENXIO, FD_FILE,
        "an fd of the image is the caller's terminal (/dev/tty, or the terminal on one of its fds 0-2 opened again), and the caller has no such terminal";
    PtyUnavailable = "pty-unavailable", ENOENT, INCOMPATIBLE,
        "the image holds a pty pair, and the caller cannot create one (/dev/ptmx)";
    // Established TCP connections restored with TCP_REPAIR (sockets.rs).
    TcpRepairNotPermitted = "tcp-repair-not-permitted", EPERM, INCOMPATIBLE,
        "a TCP connection of the image is restored with TCP_REPAIR, which needs CAP_NET_ADMIN over the caller's network namespace";
}

/// What a refusal concerns, for the message; never allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Nothing more to say.
    None,
    /// The region with this index (its path, if any, is in the image).
    Region(u32),
    /// The fd with this number in the image (its path is in the image).
    Fd(u32),
    /// The image's working directory.
    Cwd,
    /// How much was needed and the limit.
    Limit {
        /// What the image needs.
        need: u64,
        /// What the caller or the kernel allows.
        limit: u64,
    },
    /// The errno of the failed call that decided it.
    Errno(i32),
}

/// A refusal before the point of no return: the caller is left as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub reason: Reason,
    /// The errno the module returns: the reason's, or the failed call's.
    pub errno: i32,
    /// What it concerns.
    pub detail: Detail,
}

impl Refusal {
    /// A refusal with the reason's own errno.
    pub const fn new(reason: Reason, detail: Detail) -> Refusal {
        Refusal { reason, errno: reason.errno(), detail }
    }

    /// A refusal caused by a call that failed with `errno`.
    pub const fn with_errno(reason: Reason, errno: i32, detail: Detail) -> Refusal {
        Refusal { reason, errno, detail }
    }
}

impl From<Reason> for Refusal {
    fn from(reason: Reason) -> Self {
        Refusal::new(reason, Detail::None)
    }
}

impl From<FormatError> for Refusal {
    fn from(e: FormatError) -> Self {
        Refusal::new(Reason::Format(e), Detail::None)
    }
}

impl From<PlanError> for Refusal {
    fn from(e: PlanError) -> Self {
        Refusal::new(Reason::Plan(e), Detail::None)
    }
}
