//! Mappings a restorer leaves in a restored process, and how a later dump
//! treats them (restorer/README.md):
//!
//! * the restorer stub's **final page**: one private anonymous r-x page
//!   holding the signature below. The original process never had it, so it
//!   is left out of the image;
//! * **image-backed memory**: a restorer maps stored pages straight from
//!   the .ckpt file (MAP_PRIVATE at page-run offsets). That file may be
//!   deleted or replaced once the process is dumped again, so such a
//!   mapping is stored as anonymous memory with all its pages, never
//!   referenced by path.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The NUL-terminated signature in the stub's final page
/// (`chkpt_final_signature` in restorer/stub/entry.S).
pub const FINAL_PAGE_SIGNATURE: &[u8] = b"binfmt_chkpt restorer final page v1\0";

const PAGE: u64 = 4096;

/// True when the page at `addr` (the whole of a one-page private anonymous
/// r-x mapping) contains the final-page signature. `mem` is the target's
/// /proc/PID/mem. The caller only asks for pages that are present or
/// swapped: reading a never-touched page would fault a zero page into the
/// target, and such a page cannot hold the signature anyway.
pub fn is_final_page(mem: &File, addr: u64) -> bool {
    let mut page = vec![0u8; PAGE as usize];
    if mem.read_exact_at(&mut page, addr).is_err() {
        return false;
    }
    page.windows(FINAL_PAGE_SIGNATURE.len()).any(|w| w == FINAL_PAGE_SIGNATURE)
}

/// True when the file mapped at `start..end` of `pid` is a binfmt_chkpt
/// image: its first bytes are the image magic. The file is opened through
/// /proc/PID/map_files (the very inode that is mapped, even if renamed or
/// replaced), falling back to `path`. A file that cannot be read is not
/// taken for an image.
pub fn is_image_file(pid: i32, start: u64, end: u64, path: &Path) -> bool {
    let file = File::open(format!("/proc/{pid}/map_files/{start:x}-{end:x}")).or_else(|_| File::open(path));
    let mut magic = [0u8; 8];
    file.and_then(|f| f.read_exact_at(&mut magic, 0)).is_ok() && magic == image_format::MAGIC
}
