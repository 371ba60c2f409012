//! binfmt_chkpt image format, major version 1 (x86-64): layout, limits,
//! CRC32C, errors, validator and zero-copy reader.
//!
//! This directory must stay compilable on its own with `core` and
//! `zerocopy` only: the kernel module includes it with `#[path =
//! ".../v1/mod.rs"] mod image_format;` and builds zerocopy beside it
//! (kbuild/zerocopy.mk). So: no `crate::` paths (the crate root differs
//! there), no crate attributes, no alloc, no floats, no panicking
//! operations. Records are declared once each (layout.rs). FORMAT.md (one
//! directory up from src) is the byte-level specification.

pub mod layout;
pub mod checks;
pub mod crc;
pub mod error;
pub mod header;
pub mod image;
pub mod inotify;
pub mod limits;
pub mod locks;
pub mod metadata;
pub mod records;
pub mod section;
pub mod sockets;
pub mod sockopts;
pub mod sched;
pub mod tcp_repair;
pub mod thread;
pub mod tree;
pub mod verify;

pub use self::crc::{crc32c, crc32c_append_page, crc32c_combine, crc32c_paced, Crc32c};
pub use self::error::FormatError;
pub use self::header::{
    tail_len_for, Header, Layout, Trailer, ARCH_X86_64, HEADER_SIZE, MAGIC, TRAILER_MAGIC,
    TRAILER_SIZE, VERSION_MAJOR, VERSION_MINOR,
};
pub use self::image::Image;
pub use self::metadata::Metadata;
pub use self::records::{
    AuxvEntry, EpollEntry, Fd, FdDisposition, FdKind, File, FileId, FileKind, MmLayout, PageRun, PendingSignal,
    Process, Region, RegionKind, Rlimit, SigAction, SignalScope, StrRef, Timer, TimerKind,
};
pub use self::records::{Lock, LockKind, Sched, SockOpt};
pub use self::records::{attr_flags, Creds, ProcessAttrs};
pub use self::records::{TreeFile, TreeProcess, TreeRegion, TreeState, TREE_NO_PARENT};
pub use self::header::{header_flags, TREE_MINOR};
pub use self::tree::{check_tree_shape, ObjectSlot, TreeCheck};
pub use self::section::{kind as section_kind, Section, SECTION_OPTIONAL};
pub use self::thread::{AltStack, Regs, Rseq, Thread, ThreadState};
pub use self::verify::{check_cpu, verify_pages_with, VerifyError};
