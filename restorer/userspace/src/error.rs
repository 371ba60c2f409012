//! Why an image is not restored: a stable reason, a detail for people, and
//! the exit status (README.md lists them). Every refusal happens before the
//! restorer touches its own address space, so the caller sees it as an
//! ordinary failed command.

use std::fmt;

use image_format::FormatError;
use restore_plan::PlanError;

/// Exit statuses of `ckpt-restore`.
pub mod exit {
    /// Internal error or an unexpected system call failure.
    pub const INTERNAL: i32 = 1;
    /// Bad command line.
    pub const USAGE: i32 = 2;
    /// The image file cannot be opened or read.
    pub const IMAGE_UNREADABLE: i32 = 3;
    /// The image is invalid (corrupt, truncated, not an image).
    pub const IMAGE_INVALID: i32 = 4;
    /// This machine cannot run the image: CPU features, vdso, address space.
    pub const INCOMPATIBLE: i32 = 5;
    /// A file the image maps is missing, changed since the dump, or not permitted.
    pub const MAPPED_FILE: i32 = 6;
    /// A file descriptor to reopen cannot be opened.
    pub const FD_FILE: i32 = 7;
    /// The image holds something this restorer does not restore.
    pub const UNSUPPORTED: i32 = 8;
}

/// A refusal before the point of no return.
#[derive(Debug)]
pub struct Refusal {
    /// Exit status.
    pub code: i32,
    /// Stable, lowercase name (the kernel module logs the same names).
    pub reason: &'static str,
    /// What it concerns, for people (a path, an errno text), may be empty.
    pub detail: String,
}

pub type Checked<T> = Result<T, Refusal>;

pub fn refuse(code: i32, reason: &'static str, detail: impl Into<String>) -> Refusal {
    Refusal { code, reason, detail: detail.into() }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = describe(self.reason);
        match (text, self.detail.is_empty()) {
            (Some(t), true) => write!(f, "{t} ({})", self.reason),
            (Some(t), false) => write!(f, "{t}: {} ({})", self.detail, self.reason),
            (None, true) => write!(f, "{}", self.reason),
            (None, false) => write!(f, "{}: {}", self.reason, self.detail),
        }
    }
}

/// Plain words for the reasons people meet most.
fn describe(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "mapped-file-missing" => "a file the image maps is missing",
        "mapped-file-changed" => "a file the image maps changed since the dump",
        "mapped-file-permission" => "a file the image maps cannot be opened: permission denied",
        "fd-file-missing" => "a file the process had open is missing",
        "fd-file-permission" => "a file the process had open cannot be opened: permission denied",
        "fd-file-changed" => "a file the process had open is no longer the same kind of file",
        "cwd-missing" => "the process's working directory is missing",
        "cwd-permission" => "the process's working directory is not accessible: permission denied",
        "image-missing" => "no such image file",
        "image-permission" => "the image cannot be opened: permission denied",
        "vdso-differs-from-this-kernel" => "the image's vdso differs from this kernel's",
        "vdso-layout-differs" => "the image's vdso layout differs from this kernel's",
        "cpu-missing-features" => "this CPU lacks XSAVE features the image uses",
        "cpu-xsave-too-small" => "this CPU's XSAVE area is smaller than the image's",
        "truncated" => "the image is truncated",
        _ => return None,
    })
}

impl From<FormatError> for Refusal {
    fn from(e: FormatError) -> Self {
        let code = match e {
            FormatError::CpuMissingFeatures | FormatError::CpuXsaveTooSmall => exit::INCOMPATIBLE,
            _ => exit::IMAGE_INVALID,
        };
        refuse(code, e.name(), if code == exit::IMAGE_INVALID { "not a valid checkpoint image" } else { "" })
    }
}

impl From<PlanError> for Refusal {
    fn from(e: PlanError) -> Self {
        let code = match e {
            PlanError::UnsupportedFd | PlanError::TooLarge => exit::UNSUPPORTED,
            _ => exit::INTERNAL,
        };
        refuse(code, e.name(), "")
    }
}

/// An open(2) failure, named for what was opened: reasons for a missing
/// file, a permission problem, and anything else.
pub fn open_failure(err: std::io::Error, code: i32, what: (&'static str, &'static str, &'static str), path: &str) -> Refusal {
    let reason = match err.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => what.0,
        Some(libc::EACCES) | Some(libc::EPERM) => what.1,
        _ => what.2,
    };
    refuse(code, reason, format!("{path}: {err}"))
}

/// An unexpected system call failure.
pub fn internal(reason: &'static str, err: impl fmt::Display) -> Refusal {
    refuse(exit::INTERNAL, reason, err.to_string())
}
