//! The one error type of ckpt-writer. Every failure names its reason and
//! maps to an exit status, so scripts can tell the cases apart.

use std::fmt;
use std::io;

/// Exit statuses (also listed in README.md).
pub mod exit {
    /// Internal error or an unexpected system call failure.
    pub const INTERNAL: i32 = 1;
    /// Bad command line (clap uses 2 as well).
    pub const USAGE: i32 = 2;
    /// The target cannot be dumped: missing, zombie, kernel thread,
    /// not permitted, already traced.
    pub const TARGET: i32 = 3;
    /// The target holds a resource the image cannot describe.
    pub const UNSUPPORTED: i32 = 4;
    /// The output could not be written (nothing partial remains).
    pub const OUTPUT: i32 = 5;
    /// The target exited while it was being dumped.
    pub const TARGET_GONE: i32 = 6;
    /// The image is invalid (inspect, verify).
    pub const BAD_IMAGE: i32 = 7;
    /// Migration: the connection failed or the peer broke the protocol.
    pub const PEER: i32 = 8;
}

/// Everything that can go wrong, each with the context a person needs.
#[derive(Debug)]
pub enum Error {
    /// Command line values that clap accepted but that make no sense.
    Usage(String),
    /// No process with this pid.
    NoSuchProcess(i32),
    /// The process has exited and waits to be reaped.
    Zombie(i32),
    /// The pid is a kernel thread (no user memory).
    KernelThread(i32),
    /// ptrace is refused (another user's process, no privilege).
    NotPermitted { pid: i32, detail: String },
    /// Another tracer (a debugger, strace) is attached.
    AlreadyTraced { pid: i32, tracer: i32 },
    /// The target exited (or was killed) during the dump.
    TargetGone { pid: i32, during: String },
    /// An fd, mapping or state the image cannot hold.
    Unsupported(String),
    /// Creating, writing, syncing or renaming the output failed.
    Output { path: String, source: io::Error },
    /// An image failed validation.
    BadImage { path: String, reason: String },
    /// Any other system call failure, with what we were doing.
    Sys { what: String, source: io::Error },
    /// Migration (wire.rs): the connection failed, timed out or closed, or
    /// the peer sent what the protocol does not allow, or reported an error.
    Peer(String),
}

/// Result with the crate's error type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::NoSuchProcess(_)
            | Error::Zombie(_)
            | Error::KernelThread(_)
            | Error::NotPermitted { .. }
            | Error::AlreadyTraced { .. } => exit::TARGET,
            Error::TargetGone { .. } => exit::TARGET_GONE,
            Error::Unsupported(_) => exit::UNSUPPORTED,
            Error::Output { .. } => exit::OUTPUT,
            Error::BadImage { .. } => exit::BAD_IMAGE,
            Error::Sys { .. } => exit::INTERNAL,
            Error::Peer(_) => exit::PEER,
        }
    }

    /// A system call failure while doing `what`.
    pub fn sys(what: impl Into<String>, source: impl Into<io::Error>) -> Error {
        Error::Sys { what: what.into(), source: source.into() }
    }

    /// An output failure on `path`.
    pub fn output(path: impl Into<String>, source: io::Error) -> Error {
        Error::Output { path: path.into(), source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::NoSuchProcess(pid) => write!(f, "no such process: pid {pid} does not exist"),
            Error::Zombie(pid) => write!(f, "pid {pid} is a zombie (it has exited and waits for its parent)"),
            Error::KernelThread(pid) => write!(f, "pid {pid} is a kernel thread, not a user process"),
            Error::NotPermitted { pid, detail } => {
                write!(f, "not permitted to trace pid {pid}: {detail} (run as its owner or as root)")
            }
            Error::AlreadyTraced { pid, tracer } => {
                write!(f, "pid {pid} is already being traced by pid {tracer} (a debugger or strace?)")
            }
            Error::TargetGone { pid, during } => write!(f, "pid {pid} exited during the dump ({during})"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            Error::Output { path, source } => write!(f, "cannot write {path}: {source}"),
            Error::BadImage { path, reason } => write!(f, "{path}: invalid image: {reason}"),
            Error::Sys { what, source } => write!(f, "{what}: {source}"),
            Error::Peer(m) => write!(f, "migration: {m}"),
        }
    }
}

impl std::error::Error for Error {}
