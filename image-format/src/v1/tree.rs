//! Process trees: the checks of the tree records of one image (TREE,
//! TREE_FILES, TREE_REGIONS), the parse of a member image at its place in
//! the file, and the check across all members (`TreeCheck`). FORMAT.md
//! "Process trees" is the specification.

use super::error::{FormatError, Result};
use super::header::{header_flags, Header, HEADER_SIZE};
use super::image::Image;
use super::limits::{MAX_PID, MAX_TREE_OBJECTS, PAGE_SIZE};
use super::records::*;

/// Checks the tree sections of one image against its header flags and
/// its own FILES and REGIONS.
pub(super) fn check_tree_links(
    h: &Header,
    tree: &[TreeProcessWire],
    files: &[TreeFileWire],
    regions: &[TreeRegionWire],
    all_files: &[FileWire],
    all_regions: &[RegionWire],
) -> Result<()> {
    let root = h.flags & header_flags::TREE != 0;
    let member = h.flags & header_flags::MEMBER != 0;
    // TREE exactly on a root with TREE records; tree links only in a tree.
    let links = !(files.is_empty() && regions.is_empty());
    if (root && member) || root == tree.is_empty() || (links && !root && !member) {
        return Err(FormatError::BadTreeFlags);
    }
    let mut prev: Option<u32> = None;
    for w in files {
        if !w.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        // Every field is an integer: decoding cannot fail.
        let t = w.decode().ok_or(FormatError::BadTreeFile)?;
        if prev.is_some_and(|p| t.file <= p) || t.object >= MAX_TREE_OBJECTS {
            return Err(FormatError::BadTreeFile);
        }
        prev = Some(t.file);
        let f = all_files.get(t.file as usize).and_then(FileWire::decode).ok_or(FormatError::BadTreeFile)?;
        let end_ok = match f.kind {
            // O_RDONLY is the read end (1), O_WRONLY the write end (2).
            FileKind::Pipe => t.end == 1 + (f.status_flags & 3),
            FileKind::UnixPair => t.end == 1 || t.end == 2,
            // The caller's own fd: inherited, never created by the tree.
            FileKind::Stdio => false,
            // Opened again in each process (a terminal), or not restored
            // shared between processes yet (a pty pair).
            FileKind::Terminal | FileKind::PtyMaster | FileKind::PtySlave => false,
            _ => t.end == 0,
        };
        if !end_ok {
            return Err(FormatError::BadTreeFile);
        }
    }
    let mut prev: Option<u32> = None;
    for w in regions {
        if !w.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        let t = w.decode().ok_or(FormatError::BadTreeRegion)?;
        if prev.is_some_and(|p| t.region <= p) || t.object >= MAX_TREE_OBJECTS || t.end != 0 {
            return Err(FormatError::BadTreeRegion);
        }
        prev = Some(t.region);
        let r = all_regions.get(t.region as usize).and_then(RegionWire::decode).ok_or(FormatError::BadTreeRegion)?;
        let shared_anon = r.kind == RegionKind::Anon && r.flags & region_flags::SHARED_ANON != 0;
        let shared_file = r.kind == RegionKind::File && r.flags & region_flags::SHARED != 0;
        if !shared_anon && !shared_file {
            return Err(FormatError::BadTreeRegion);
        }
    }
    Ok(())
}

/// True for a raw wait status a zombie can have: exited with a code
/// (code << 8), or killed by signal 1..=64 (with the core-dump bit 0x80).
fn is_exit_status(s: u32) -> bool {
    let sig = s & 0x7f;
    if sig == 0 {
        s & !0xff00 == 0
    } else {
        sig <= 64 && s & !0xff == 0
    }
}

fn align_page(v: u64) -> Option<u64> {
    Some(v.checked_add(PAGE_SIZE - 1)? & !(PAGE_SIZE - 1))
}

/// Checks the TREE records of a root image whose header is `h` and whose
/// process is `pid`; returns where the last member ends (the file length).
pub(super) fn check_tree(
    h: &Header,
    pid: u32,
    tree: &[TreeProcessWire],
    pace: &mut dyn FnMut() -> bool,
) -> Result<u64> {
    let get = |i: u32| tree.get(i as usize).and_then(TreeProcessWire::decode);
    let mut end = 0u64;
    let root = match get(0) {
        Some(r) => r,
        None if tree.is_empty() => return Ok(h.file_len),
        None => return Err(FormatError::BadTreeProcess),
    };
    for (i, w) in tree.iter().enumerate() {
        if !pace() {
            return Err(FormatError::Interrupted);
        }
        let i = i as u32;
        if !w.reserved_zero() {
            return Err(FormatError::ReservedNotZero);
        }
        let p = w.decode().ok_or(FormatError::BadTreeProcess)?;
        let zombie = p.state == TreeState::Zombie;
        let status_ok = if zombie { is_exit_status(p.exit_status) && p.flags == 0 } else { p.exit_status == 0 && p.flags == tree_flags::TIDS };
        if p.pid == 0 || p.pid > MAX_PID || p.pdeath_signal > 64 || !status_ok || (i == 0 && zombie) {
            return Err(FormatError::BadTreeProcess);
        }
        if i == 0 {
            if p.parent != TREE_NO_PARENT {
                return Err(FormatError::TreeParentOrder);
            }
            if p.pid != pid {
                return Err(FormatError::TreeMemberMismatch);
            }
            if p.image_offset != 0 || p.image_len != h.file_len {
                return Err(FormatError::TreeOffsetMismatch);
            }
            end = h.file_len;
            continue;
        }
        check_tree_shape(i, &p, &root, get)?;
        if zombie {
            if p.image_offset != 0 || p.image_len != 0 {
                return Err(FormatError::TreeOffsetMismatch);
            }
            continue;
        }
        let at = align_page(end).ok_or(FormatError::TreeOffsetMismatch)?;
        if p.image_offset != at || p.image_len < HEADER_SIZE as u64 {
            return Err(FormatError::TreeOffsetMismatch);
        }
        end = at.checked_add(p.image_len).ok_or(FormatError::TreeOffsetMismatch)?;
    }
    Ok(end)
}

/// The rules on a process's place in its tree (record `i` > 0, `p`, of a
/// tree whose root is `root`; `get` gives the records before it): its
/// parent comes before it and is no zombie, its pid is new, its session
/// and group are shapes a restore can make. One rule for the validator
/// and the writer (which names the process it refuses).
pub fn check_tree_shape(i: u32, p: &TreeProcess, root: &TreeProcess, get: impl Fn(u32) -> Option<TreeProcess>) -> Result<()> {
    let parent = match get(p.parent) {
        Some(q) if p.parent < i && q.state != TreeState::Zombie => q,
        _ => return Err(FormatError::TreeParentOrder),
    };
    let earlier = || (0..i).filter_map(&get);
    if earlier().any(|q| q.pid == p.pid) {
        return Err(FormatError::TreeDuplicatePid);
    }
    // A session is inherited from the parent or created by setsid(),
    // which makes the process the leader of its own group too.
    let leader = p.sid == p.pid;
    if !(p.sid == parent.sid || leader) || (leader && p.pgid != p.pid) {
        return Err(FormatError::BadTreeSession);
    }
    let group_ok = p.pgid == p.pid
        || (p.pgid == root.pgid && p.sid == root.sid)
        || earlier().any(|q| q.pid == p.pgid && q.pgid == q.pid && q.sid == p.sid);
    if !group_ok {
        return Err(FormatError::BadTreeGroup);
    }
    Ok(())
}

impl<'a> Image<'a> {
    /// Validates the member image that TREE record `rec` describes, from
    /// its pieces (offsets relative to the member's start, `rec.image_offset`
    /// in the file): a complete image with the MEMBER flag, `rec`'s pid
    /// and length.
    pub fn parse_member(header: &[u8], metadata: &'a [u8], tail: &'a [u8], rec: &TreeProcess) -> Result<Image<'a>> {
        Image::parse_member_paced(header, metadata, tail, rec, &mut || true)
    }

    /// [`Image::parse_member`] with a pace callback (see `parse_paced`).
    pub fn parse_member_paced(
        header: &[u8],
        metadata: &'a [u8],
        tail: &'a [u8],
        rec: &TreeProcess,
        pace: &mut dyn FnMut() -> bool,
    ) -> Result<Image<'a>> {
        let img = Image::parse_as(header, metadata, tail, rec.image_len, true, pace)?;
        if img.process.pid != rec.pid || img.header.file_len != rec.image_len {
            return Err(FormatError::TreeMemberMismatch);
        }
        Ok(img)
    }

    /// The member image `rec` describes, from the whole tree file in memory.
    pub fn parse_member_bytes(file: &'a [u8], rec: &TreeProcess) -> Result<Image<'a>> {
        let start = usize::try_from(rec.image_offset).map_err(|_| FormatError::Truncated)?;
        let len = usize::try_from(rec.image_len).map_err(|_| FormatError::Truncated)?;
        let end = start.checked_add(len).ok_or(FormatError::Truncated)?;
        let b = file.get(start..end).ok_or(FormatError::Truncated)?;
        let h = Header::parse(b)?;
        let range = |off: u64, len: u64| -> Result<&'a [u8]> {
            let s = usize::try_from(off).map_err(|_| FormatError::Truncated)?;
            let e = s.checked_add(usize::try_from(len).map_err(|_| FormatError::Truncated)?).ok_or(FormatError::Truncated)?;
            b.get(s..e).ok_or(FormatError::Truncated)
        };
        let meta = range(h.metadata_offset, h.metadata_len)?;
        let tail = range(h.tail_offset, h.tail_len)?;
        Image::parse_member(b, meta, tail, rec)
    }
}

/// What the tree check remembers of one tree object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectSlot {
    /// 0 unused; 1 + FileKind code for files; REGION_OBJECT for regions.
    pub kind: u32,
    /// Regions: the first mapping's range in the object (file offset, end).
    pub start: u64,
    /// End of that range.
    pub end: u64,
}

/// `ObjectSlot::kind` of an object that regions map.
pub const REGION_OBJECT: u32 = 0x100;

/// The check across all the images of a tree: object numbers dense in
/// order of first appearance and each used consistently. Fed every
/// non-zombie process's image in tree order (the root first); `slots`
/// is the caller's scratch, one per object (MAX_TREE_OBJECTS at most;
/// the sum of all TREE_FILES and TREE_REGIONS counts is always enough).
pub struct TreeCheck<'s> {
    slots: &'s mut [ObjectSlot],
    next: u32,
    last_index: Option<u32>,
}

impl<'s> TreeCheck<'s> {
    /// A check with no process seen yet.
    pub fn new(slots: &'s mut [ObjectSlot]) -> TreeCheck<'s> {
        TreeCheck { slots, next: 0, last_index: None }
    }

    /// Number of objects seen so far.
    pub fn objects(&self) -> u32 {
        self.next
    }

    fn object(&mut self, object: u32, kind: u32) -> Result<Option<&mut ObjectSlot>> {
        if object == self.next {
            let slot = self.slots.get_mut(object as usize).ok_or(FormatError::CountOverLimit)?;
            *slot = ObjectSlot { kind, start: 0, end: 0 };
            self.next = self.next.saturating_add(1);
            return Ok(Some(slot));
        }
        match self.slots.get(object as usize) {
            Some(s) if object < self.next && s.kind == kind => Ok(None),
            _ => Err(FormatError::TreeObjectMismatch),
        }
    }

    /// Checks the image of TREE record `index` (`rec`), after those before it.
    pub fn member(&mut self, index: u32, rec: &TreeProcess, img: &Image<'_>) -> Result<()> {
        if self.last_index.is_some_and(|l| index <= l) || img.process.pid != rec.pid {
            return Err(FormatError::TreeMemberMismatch);
        }
        self.last_index = Some(index);
        for t in img.tree_files() {
            let kind = img.file(t.file).ok_or(FormatError::BadTreeFile)?.kind;
            self.object(t.object, 1 + kind as u32)?;
        }
        for t in img.tree_regions() {
            let r = img.region(t.region).ok_or(FormatError::BadTreeRegion)?;
            let len = r.end.checked_sub(r.start).ok_or(FormatError::EmptyRegion)?;
            let range_end = r.file_offset.checked_add(len).ok_or(FormatError::TreeObjectMismatch)?;
            match self.object(t.object, REGION_OBJECT)? {
                Some(slot) => {
                    slot.start = r.file_offset;
                    slot.end = range_end;
                }
                None => {
                    let first = self.slots.get(t.object as usize).ok_or(FormatError::TreeObjectMismatch)?;
                    let inside = r.file_offset >= first.start && range_end <= first.end;
                    if r.run_count != 0 || !inside {
                        return Err(FormatError::TreeObjectMismatch);
                    }
                }
            }
        }
        Ok(())
    }
}
