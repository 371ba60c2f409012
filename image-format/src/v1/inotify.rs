//! The watches of an inotify instance (FILES kind Inotify), stored in
//! FILE_DATA as consecutive entries: wd (u32), mask (u32), path length
//! (u32), the path's bytes. Read here once for the validator, the policy
//! and the plan builder.

use super::error::{FormatError, Result};

/// Bits a watch's mask may hold: the events (IN_ALL_EVENTS), IN_ONESHOT,
/// IN_EXCL_UNLINK (what /proc's fdinfo reports of a watch).
pub const INOTIFY_MASK_KNOWN: u32 = 0x0000_0fff | 0x8000_0000 | 0x0400_0000;
/// Watches one inotify instance may record.
pub const MAX_INOTIFY_WATCHES: u64 = 8192;
/// Longest watched path (PATH_MAX without its NUL).
pub const MAX_WATCH_PATH: u32 = 4095;

/// One watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watch<'a> {
    /// Watch descriptor: 1, 2, ... in order.
    pub wd: u32,
    /// inotify_add_watch's mask.
    pub mask: u32,
    /// The watched path (absolute, no 0 byte).
    pub path: &'a [u8],
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let w = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

/// The watches in `data`, failing on the first malformed one.
pub struct Watches<'a> {
    data: &'a [u8],
    at: usize,
    next_wd: u32,
}

/// Reads `data` (of an inotify record) as watches.
pub fn watches(data: &[u8]) -> Watches<'_> {
    Watches { data, at: 0, next_wd: 1 }
}

impl<'a> Iterator for Watches<'a> {
    type Item = Result<Watch<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.data.len() {
            return None;
        }
        let bad = Some(Err(FormatError::BadInotify));
        let (Some(wd), Some(mask), Some(len)) = (u32_at(self.data, self.at), u32_at(self.data, self.at + 4), u32_at(self.data, self.at + 8)) else {
            self.at = self.data.len();
            return bad;
        };
        let start = self.at + 12;
        let path = start.checked_add(len as usize).and_then(|end| self.data.get(start..end));
        let ok = |p: &[u8]| wd == self.next_wd && mask & !INOTIFY_MASK_KNOWN == 0 && mask & 0xfff != 0 && len <= MAX_WATCH_PATH && p.first() == Some(&b'/') && !p.contains(&0);
        match path {
            Some(p) if ok(p) => {
                self.at = start + len as usize;
                self.next_wd += 1;
                Some(Ok(Watch { wd, mask, path: p }))
            }
            _ => {
                self.at = self.data.len();
                bad
            }
        }
    }
}

/// Checks an inotify record's watches: `count` of them, well-formed.
pub fn check_watches(data: &[u8], count: u64) -> Result<()> {
    let mut n = 0u64;
    for w in watches(data) {
        w?;
        n += 1;
    }
    if n != count || count > MAX_INOTIFY_WATCHES {
        return Err(FormatError::BadInotify);
    }
    Ok(())
}
