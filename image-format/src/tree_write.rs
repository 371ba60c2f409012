//! Writing a process tree: one complete image per process, the root's
//! TREE section giving every member's place before any page is written,
//! so the whole tree streams (`dump -o -`) in one pass.

use std::io::{self, Write};
use std::vec;
use std::vec::Vec;

use crate::desc::ImageDesc;
use crate::v1::header::header_flags;
use crate::v1::limits::{MAX_TREE_PROCESSES, PAGE_SIZE};
use crate::v1::records::{TreeFile, TreeProcess, TreeRegion, TreeState, TREE_FILE_SIZE, TREE_PROCESS_SIZE, TREE_REGION_SIZE};
use crate::v1::section::{kind, SECTION_HEADER_SIZE};
use crate::v1::{Crc32c, FormatError};
use crate::write::{encode_all, prepare_with, push_section, write_prepared_with, Options, Prepared, WriteError};

/// The tree sections and header flag of one image of a tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeLinks {
    /// `header_flags` bits: TREE (root), MEMBER (others), 0 (no tree).
    pub flags: u32,
    /// TREE records (root only).
    pub processes: Vec<TreeProcess>,
    /// TREE_FILES records, sorted by file.
    pub files: Vec<TreeFile>,
    /// TREE_REGIONS records, sorted by region.
    pub regions: Vec<TreeRegion>,
}

impl TreeLinks {
    /// The links a validated image holds.
    pub fn from_image(img: &crate::v1::Image<'_>) -> TreeLinks {
        TreeLinks {
            flags: img.header.flags & (header_flags::TREE | header_flags::MEMBER),
            processes: img.tree_processes().collect(),
            files: img.tree_files().collect(),
            regions: img.tree_regions().collect(),
        }
    }
}

fn section_len(n: usize, size: usize) -> usize {
    if n == 0 { 0 } else { SECTION_HEADER_SIZE + n * size }
}

/// Bytes the tree sections of `t` add to the metadata (none when empty,
/// so single-process images stay exactly as before).
pub(crate) fn tree_sections_len(t: &TreeLinks) -> usize {
    section_len(t.processes.len(), TREE_PROCESS_SIZE)
        + section_len(t.files.len(), TREE_FILE_SIZE)
        + section_len(t.regions.len(), TREE_REGION_SIZE)
}

fn count(n: usize) -> Result<u32, FormatError> {
    u32::try_from(n).map_err(|_| FormatError::CountOverLimit)
}

/// Appends the tree sections in kind order: TREE_FILES and TREE_REGIONS
/// (kinds 12, 13: `late` false), or TREE (kind 18: `late` true).
pub(crate) fn push_tree_links(meta: &mut Vec<u8>, t: &TreeLinks, late: bool) -> Result<(), FormatError> {
    if late {
        if !t.processes.is_empty() {
            let b = encode_all(t.processes.iter().map(|p| p.to_wire()));
            push_section(meta, kind::TREE, count(t.processes.len())?, TREE_PROCESS_SIZE, b);
        }
        return Ok(());
    }
    if !t.files.is_empty() {
        let b = encode_all(t.files.iter().map(|f| f.to_wire()));
        push_section(meta, kind::TREE_FILES, count(t.files.len())?, TREE_FILE_SIZE, b);
    }
    if !t.regions.is_empty() {
        let b = encode_all(t.regions.iter().map(|r| r.to_wire()));
        push_section(meta, kind::TREE_REGIONS, count(t.regions.len())?, TREE_REGION_SIZE, b);
    }
    Ok(())
}

/// One process of a tree to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeMemberDesc {
    /// Its image; None for a zombie (which has none).
    pub desc: Option<ImageDesc>,
    /// Its TREE record; `image_offset` and `image_len` are the writer's.
    pub process: TreeProcess,
    /// Its descriptions that are tree objects.
    pub files: Vec<TreeFile>,
    /// Its regions that map tree objects.
    pub regions: Vec<TreeRegion>,
}

/// A tree, encoded and validated: every member's place and its prepared
/// header and metadata.
pub struct PreparedTree {
    /// Per process in tree order: its place (offset, length; zeros for a
    /// zombie) and its prepared image (None for a zombie).
    pub members: Vec<(u64, u64, Option<Prepared>)>,
    /// Length of the whole file.
    pub file_len: u64,
}

fn page_align(v: u64) -> u64 {
    v.next_multiple_of(PAGE_SIZE)
}

/// Encodes and validates a tree (`members[0]` is the root; a parent
/// before its children). Nothing is written.
pub fn prepare_tree(members: &[TreeMemberDesc], opts: &Options) -> Result<PreparedTree, FormatError> {
    if members.is_empty() || members.len() > MAX_TREE_PROCESSES as usize {
        return Err(FormatError::CountOverLimit);
    }
    let member_opts = |m: &TreeMemberDesc, flags, processes| Options {
        tree: TreeLinks { flags, processes, files: m.files.clone(), regions: m.regions.clone() },
        ..opts.clone()
    };
    // Members first: their lengths do not depend on their place.
    let mut prepared: Vec<(u64, u64, Option<Prepared>)> = vec![(0, 0, None)];
    for m in &members[1..] {
        let p = match &m.desc {
            Some(d) if m.process.state != TreeState::Zombie => {
                Some(prepare_with(d, &member_opts(m, header_flags::MEMBER, Vec::new()))?)
            }
            None if m.process.state == TreeState::Zombie => None,
            _ if opts.validate => return Err(FormatError::TreeOffsetMismatch),
            _ => None,
        };
        prepared.push((0, p.as_ref().map_or(0, |p| p.header.file_len), p));
    }
    let root = &members[0];
    let root_desc = root.desc.as_ref().ok_or(FormatError::BadTreeProcess)?;
    // The root's length does not depend on the numbers in its TREE
    // records (fixed size): learn it, then place everything after it.
    let mut records: Vec<TreeProcess> = members.iter().map(|m| m.process).collect();
    let sizing = Options { validate: false, ..member_opts(root, header_flags::TREE, records.clone()) };
    let root_len = prepare_with(root_desc, &sizing)?.header.file_len;
    let mut end = root_len;
    records[0].image_offset = 0;
    records[0].image_len = root_len;
    for (r, (off, len, p)) in records.iter_mut().zip(prepared.iter_mut()).skip(1) {
        if p.is_some() {
            *off = page_align(end);
            end = *off + *len;
        }
        r.image_offset = *off;
        r.image_len = *len;
    }
    let root_prepared = prepare_with(root_desc, &member_opts(root, header_flags::TREE, records))?;
    prepared[0] = (0, root_len, Some(root_prepared));
    Ok(PreparedTree { members: prepared, file_len: end })
}

/// Streams a prepared tree into `out`; `fill(index, addr, buf)` fills
/// `buf` with process `index`'s memory at `addr` (see `write_prepared`).
/// Returns the bytes written.
pub fn write_tree_prepared<W: Write>(
    t: &PreparedTree,
    out: &mut W,
    mut fill: impl FnMut(usize, u64, &mut [u8]) -> io::Result<()>,
    checksum: impl Fn(&mut Crc32c, &[u8]) + Copy,
) -> Result<u64, WriteError> {
    write_members(t, out, |p, out, i| write_prepared_with(p, out, |addr, buf| fill(i, addr, buf), checksum))
}

/// `write_tree_prepared` with each member's pages read on the caller's
/// thread while another checksums and writes them (`write_prepared_threaded`).
pub fn write_tree_prepared_threaded<W: Write + Send>(
    t: &PreparedTree,
    out: &mut W,
    mut fill: impl FnMut(usize, u64, &mut [u8]) -> io::Result<()>,
    checksum: impl Fn(&mut Crc32c, &[u8]) + Copy + Send,
) -> Result<u64, WriteError> {
    write_members(t, out, |p, out, i| {
        crate::write_threads::write_prepared_threaded(p, out, |addr, buf| fill(i, addr, buf), checksum)
    })
}

/// Each member's image at its offset, zeros between them; `member(p, out,
/// index)` writes one and returns its length.
fn write_members<W: Write>(
    t: &PreparedTree,
    out: &mut W,
    mut member: impl FnMut(&Prepared, &mut W, usize) -> Result<u64, WriteError>,
) -> Result<u64, WriteError> {
    let mut at = 0u64;
    for (i, (off, _, p)) in t.members.iter().enumerate() {
        let Some(p) = p else { continue };
        out.write_all(&vec![0u8; (off - at) as usize])?;
        at = *off + member(p, out, i)?;
    }
    Ok(at)
}

/// `prepare_tree` then `write_tree_prepared` with the portable CRC32C.
pub fn write_tree<W: Write>(
    members: &[TreeMemberDesc],
    out: &mut W,
    fill: impl FnMut(usize, u64, &mut [u8]) -> io::Result<()>,
) -> Result<u64, WriteError> {
    let t = prepare_tree(members, &Options::default())?;
    write_tree_prepared(&t, out, fill, Crc32c::update)
}
