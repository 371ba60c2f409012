//! File locks the target holds, from the `lock:` lines of
//! /proc/PID/fdinfo/FD: flock(2), POSIX record locks and OFD locks,
//! recorded to be taken again at restore through one fd each. Leases and
//! locks on fds the restore does not open are left out, each named in the
//! dump's notes.

use image_format::{Lock, LockKind};

use crate::error::{Error, Result};
use crate::snapshot::{FdDisposition, FdState};

/// One parsed `lock:` line.
#[derive(Debug, PartialEq, Eq)]
struct Line {
    /// FLOCK, POSIX or OFDLCK; None for what is not recorded (LEASE,
    /// DELEG, ACCESS).
    kind: Option<LockKind>,
    /// The word as the kernel wrote it (for the notes).
    word: String,
    write: bool,
    /// (dev, ino) as "maj:min:ino".
    inode: String,
    start: u64,
    /// Inclusive end; None: to the end of the file (EOF).
    end: Option<u64>,
}

/// Parses "lock:\tN: KIND ADVISORY TYPE PID MAJ:MIN:INO START END".
fn parse(line: &str) -> Option<Line> {
    let mut w = line.strip_prefix("lock:")?.split_whitespace();
    let _id = w.next()?;
    let word = w.next()?.to_string();
    let kind = match word.as_str() {
        "FLOCK" => Some(LockKind::Flock),
        "POSIX" => Some(LockKind::Posix),
        "OFDLCK" => Some(LockKind::Ofd),
        _ => None,
    };
    let _advisory = w.next()?;
    let mut ty = w.next()?;
    // A lease that is being broken has one more word (BREAKING) here.
    if kind.is_none() && !matches!(ty, "READ" | "WRITE" | "UNLCK") {
        ty = w.next()?;
    }
    let write = match ty {
        "WRITE" => true,
        "READ" => false,
        _ if kind.is_none() => false,
        _ => return None,
    };
    let _pid = w.next()?;
    let inode = w.next()?.to_string();
    let start = w.next()?.parse().ok()?;
    let end = match w.next()? {
        "EOF" => None,
        e => Some(e.parse().ok()?),
    };
    Some(Line { kind, word, write, inode, start, end })
}

/// The locks of `fds` (the target's, sorted by fd), sorted by fd, kind and
/// start, each once: a flock or OFD lock belongs to its open file
/// description and a POSIX lock to the process, but fdinfo shows them
/// under every fd of the description they were taken through; the lowest
/// such fd takes it again. What cannot be recorded goes into `notes`.
pub fn read_locks(pid: i32, fds: &[FdState], notes: &mut Vec<String>) -> Result<Vec<Lock>> {
    let mut locks: Vec<Lock> = Vec::new();
    // (kind, owner: description or inode, start, end, write) already taken.
    let mut seen: Vec<(u32, String, u64, Option<u64>, bool)> = Vec::new();
    for f in fds {
        let path = format!("/proc/{pid}/fdinfo/{}", f.fd);
        let text = std::fs::read_to_string(&path)
            .map_err(|_| Error::TargetGone { pid, during: format!("reading fdinfo of fd {}", f.fd) })?;
        for raw in text.lines().filter(|l| l.starts_with("lock:")) {
            let l = parse(raw).ok_or_else(|| {
                Error::sys(format!("parsing a lock line of {path}: {raw:?}"), std::io::ErrorKind::InvalidData)
            })?;
            let Some(kind) = l.kind else {
                notes.push(format!("fd {}: {} {} is not recorded (no lease is restored)", f.fd, l.word, l.inode));
                continue;
            };
            let owner = match (kind, f.disposition) {
                (LockKind::Posix, _) => l.inode.clone(),
                (_, FdDisposition::Shared) => format!("file {}", f.file),
                _ => format!("fd {}", f.fd),
            };
            let key = (kind as u32, owner, l.start, l.end, l.write);
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            if !matches!(f.disposition, FdDisposition::Reopen | FdDisposition::Shared) {
                notes.push(format!(
                    "fd {}: {} lock on {} is not recorded: the restore does not open this fd ({:?})",
                    f.fd, l.word, l.inode, f.disposition
                ));
                continue;
            }
            let len = match l.end {
                None => 0,
                Some(e) => e.saturating_sub(l.start).saturating_add(1),
            };
            let (start, len) = if kind == LockKind::Flock { (0, 0) } else { (l.start, len) };
            locks.push(Lock { fd: f.fd as u32, kind, write: l.write as u32, start, len });
        }
    }
    locks.sort_by_key(|l| (l.fd, l.kind as u32, l.start));
    Ok(locks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_lines_parse() {
        let posix = parse("lock:\t1: POSIX  ADVISORY  WRITE 1234 08:01:5678 10 19").unwrap();
        assert_eq!((posix.kind, posix.write, posix.start, posix.end), (Some(LockKind::Posix), true, 10, Some(19)));
        assert_eq!(posix.inode, "08:01:5678");
        let flock = parse("lock:\t2: FLOCK  ADVISORY  READ 1234 00:2a:99 0 EOF").unwrap();
        assert_eq!((flock.kind, flock.write, flock.end), (Some(LockKind::Flock), false, None));
        let ofd = parse("lock:\t3: OFDLCK ADVISORY  READ -1 00:2a:99 4096 EOF").unwrap();
        assert_eq!((ofd.kind, ofd.start), (Some(LockKind::Ofd), 4096));
        let lease = parse("lock:\t4: LEASE  BREAKING  READ 1234 00:2a:99 0 EOF").unwrap();
        assert_eq!((lease.kind, lease.word.as_str()), (None, "LEASE"));
        assert!(parse("lock:\t5: POSIX  ADVISORY  UNLCK 1 00:2a:99 0 EOF").is_none());
        assert!(parse("lock:\t5: POSIX").is_none());
    }
}
