//! Why an image is not restored, as ckpt-restore says it: the shared
//! policy's reason (its stable name and exit status, restore-policy's
//! table) and a detail for people, rendered here from the image (a path, a
//! limit, an errno's text). Every refusal happens before the restorer
//! touches its own address space, so the caller sees an ordinary failed
//! command.

use std::fmt;

use image_format::{FormatError, Image};
use restore_plan::PlanError;
pub use restore_policy::exit;
use restore_policy::{Detail, Reason};

/// A refusal before the point of no return.
#[derive(Debug)]
pub struct Refusal {
    /// Why (its name ends the message; its exit status is ours).
    pub reason: Reason,
    /// What it concerns, for people (a path, an errno text), may be empty.
    pub detail: String,
}

pub type Checked<T> = Result<T, Refusal>;

pub fn refuse(reason: Reason, detail: impl Into<String>) -> Refusal {
    Refusal { reason, detail: detail.into() }
}

impl Refusal {
    /// The exit status.
    pub fn code(&self) -> i32 {
        self.reason.exit_status()
    }

    /// The shared policy's refusal, its detail rendered from `image`.
    pub fn from_policy(r: restore_policy::Refusal, image: &Image<'_>) -> Refusal {
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let errno_text = |what: String| match r.errno {
            e if e == r.reason.errno() => what,
            e => format!("{what}: {}", std::io::Error::from_raw_os_error(e)),
        };
        let detail = match r.detail {
            Detail::None => String::new(),
            Detail::Region(i) => match image.regions().nth(i as usize) {
                Some(reg) if !image.string(reg.path).is_empty() => errno_text(lossy(image.string(reg.path))),
                Some(reg) => format!("region {:#x}-{:#x}", reg.start, reg.end),
                None => format!("region {i}"),
            },
            Detail::Fd(n) => {
                let path = image.fds().find(|f| f.fd == n).map(|f| socket_address(image, f).unwrap_or_else(|| lossy(fd_path(image, f)))).unwrap_or_default();
                errno_text(format!("fd {n}: {path}"))
            }
            Detail::Cwd => errno_text(lossy(image.string(image.process.cwd))),
            Detail::Limit { need, limit } => limit_text(r.reason, need, limit),
            Detail::Errno(e) => std::io::Error::from_raw_os_error(e).to_string(),
        };
        refuse(r.reason, detail)
    }
}

/// The path of fd `f`: its own, or, for a description it shares (with
/// another fd or another process of a tree), its FILES record's.
fn fd_path<'a>(image: &Image<'a>, f: image_format::Fd) -> &'a [u8] {
    match image.string(f.path) {
        [] => image.file(f.file).filter(|_| f.disposition == image_format::FdDisposition::Shared).map_or(&[][..], |file| image.string(file.path)),
        p => p,
    }
}

/// The address of the socket fd `f` shares, as people write it.
fn socket_address(image: &Image<'_>, f: image_format::Fd) -> Option<String> {
    let file = image.file(f.file).filter(|_| f.disposition == image_format::FdDisposition::Shared)?;
    if file.kind == image_format::FileKind::Terminal {
        return Some(match file.kind_flags {
            0 => format!("the caller's terminal on its fd {}, opened again", file.value0),
            _ => "the caller's terminal, /dev/tty".to_string(),
        });
    }
    if file.kind == image_format::FileKind::PtyMaster {
        return Some(format!("pty master (slave /dev/pts/{} at dump)", file.value1));
    }
    if file.kind == image_format::FileKind::Fifo {
        return Some(format!("named FIFO {}", String::from_utf8_lossy(image.string(file.path))));
    }
    if file.kind == image_format::FileKind::TcpRepair {
        let c = image_format::v1::tcp_repair::parse(&file, image.file_data(&file)).ok()?;
        let (local, peer) = (image_format::sockaddr_text(c.family, c.local), image_format::sockaddr_text(c.family, c.peer));
        return Some(format!("TCP connection {local} -> {peer}"));
    }
    let addr = image.file_data(&file);
    (file.kind == image_format::FileKind::Socket).then(|| {
        if addr.is_empty() {
            "socket never bound".to_string()
        } else {
            format!("socket bound to {}", image_format::sockaddr_text(file.value0, addr))
        }
    })
}

pub fn limit_text(reason: Reason, need: u64, limit: u64) -> String {
    match reason {
        Reason::TooManyMappings => format!("{need} mappings, vm.max_map_count is {limit}"),
        Reason::ExceedsRlimitAs => format!("{need} bytes of memory, RLIMIT_AS is {limit}"),
        Reason::ExceedsRlimitNproc => format!("{need} threads, RLIMIT_NPROC is {limit}"),
        Reason::TreeExceedsRlimitNproc => format!("{need} processes and threads, RLIMIT_NPROC is {limit}"),
        Reason::TreeFdBase => format!("the tree's fds need {need}, the limit is {limit}"),
        Reason::TreeProcessGroup => format!("process {need} in process group {limit}"),
        _ => format!("{need}, the limit is {limit}"),
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.reason.describe();
        if self.detail.is_empty() {
            write!(f, "{text} ({})", self.reason.name())
        } else {
            write!(f, "{text}: {} ({})", self.detail, self.reason.name())
        }
    }
}

impl From<FormatError> for Refusal {
    fn from(e: FormatError) -> Self {
        refuse(Reason::Format(e), "")
    }
}

impl From<PlanError> for Refusal {
    fn from(e: PlanError) -> Self {
        refuse(Reason::Plan(e), "")
    }
}

/// An open(2) failure of the image, the only file opened before the
/// policy runs.
pub fn open_failure(err: std::io::Error, path: &str) -> Refusal {
    let errno = err.raw_os_error().unwrap_or(0);
    let r = restore_policy::open_failure(errno, restore_policy::OpenWhat::Image, Detail::None);
    refuse(r.reason, format!("{path}: {err}"))
}

/// An unexpected system call failure in step `step`.
pub fn internal(step: &'static str, err: impl fmt::Display) -> Refusal {
    refuse(Reason::Internal, format!("{step}: {err}"))
}
