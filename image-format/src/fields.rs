//! The declared record layouts (`record!` in src/v1), flattened for tools
//! that edit an image field by field: the hostile-image mutator
//! (qemu-tests) and the FORMAT.md check (tests/format_doc.rs).

use std::format;
use std::string::String;
use std::vec::Vec;

use zerocopy::FromBytes;

use crate::v1::header::{HeaderWire, TrailerWire, HEADER_SIZE};
pub use crate::v1::layout::{Field, Shape};
use crate::v1::records::{
    AuxvWire, EpollEntryWire, FdWire, FileWire, PageRunWire, PendingSignalWire, ProcessWire, RegionWire, SigActionWire,
    TimerWire, LockWire, SockOptWire, SchedWire, SeccompFilterWire, SeccompInsnWire, ProcessAttrsWire, CredsWire, GroupWire, TreeFileWire, TreeProcessWire, TreeRegionWire,
};
use crate::v1::section::{kind, SectionHeaderWire, SECTION_HEADER_SIZE};
use crate::v1::thread::{ThreadWire, XsaveStartWire, THREAD_FIXED_SIZE};

/// Where a record lives in an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The header, at offset 0.
    Header,
    /// The header of any section.
    SectionHeader,
    /// Each record of the metadata section of this kind.
    Section(u32),
    /// The trailer, the last bytes of the file.
    Trailer,
}

/// One leaf field of a record, with its dotted name ("thread.regs.rip",
/// "process.rlimits[7].cur") and its offset inside the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatField {
    /// Record name, then the field path.
    pub name: String,
    /// Which record.
    pub place: Place,
    /// Offset in the record.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// Int, Bytes or Reserved (nested records are flattened).
    pub shape: Shape,
}

/// Appends the leaves of `fields` (at `base` in the record) to `out`:
/// nested records become `name.inner`, arrays of them `name[i].inner`.
pub fn flatten(prefix: &str, base: usize, fields: &[Field], place: Place, out: &mut Vec<FlatField>) {
    for f in fields {
        let name = format!("{prefix}.{}", f.name);
        match f.shape {
            Shape::Records { fields: inner, count: 1 } => {
                flatten(&name, base + f.offset, inner, place, out)
            }
            Shape::Records { fields: inner, count } => {
                let each = f.size / count;
                for i in 0..count {
                    flatten(&format!("{name}[{i}]"), base + f.offset + i * each, inner, place, out);
                }
            }
            shape => out.push(FlatField {
                name,
                place,
                offset: base + f.offset,
                size: f.size,
                shape,
            }),
        }
    }
}

/// Every record the format declares: its name, place and fields. A
/// THREADS record is its fixed part followed by an XSAVE area, whose start
/// is a record of its own ("thread.xsave").
pub const RECORDS: &[(&str, Place, usize, &[Field])] = &[
    ("header", Place::Header, 0, HeaderWire::FIELDS),
    ("section", Place::SectionHeader, 0, SectionHeaderWire::FIELDS),
    ("process", Place::Section(kind::PROCESS), 0, ProcessWire::FIELDS),
    ("auxv", Place::Section(kind::AUXV), 0, AuxvWire::FIELDS),
    ("thread", Place::Section(kind::THREADS), 0, ThreadWire::FIELDS),
    ("thread.xsave", Place::Section(kind::THREADS), THREAD_FIXED_SIZE, XsaveStartWire::FIELDS),
    ("sigaction", Place::Section(kind::SIGACTIONS), 0, SigActionWire::FIELDS),
    ("region", Place::Section(kind::REGIONS), 0, RegionWire::FIELDS),
    ("run", Place::Section(kind::PAGE_RUNS), 0, PageRunWire::FIELDS),
    ("fd", Place::Section(kind::FDS), 0, FdWire::FIELDS),
    ("file", Place::Section(kind::FILES), 0, FileWire::FIELDS),
    ("epoll", Place::Section(kind::EPOLL), 0, EpollEntryWire::FIELDS),
    ("pending_signal", Place::Section(kind::PENDING_SIGNALS), 0, PendingSignalWire::FIELDS),
    ("timer", Place::Section(kind::TIMERS), 0, TimerWire::FIELDS),
    ("lock", Place::Section(kind::LOCKS), 0, LockWire::FIELDS),
    ("sockopt", Place::Section(kind::SOCKOPTS), 0, SockOptWire::FIELDS),
    ("process_attrs", Place::Section(kind::PROCESS_ATTRS), 0, ProcessAttrsWire::FIELDS),
    ("creds", Place::Section(kind::CREDS), 0, CredsWire::FIELDS),
    ("group", Place::Section(kind::GROUPS), 0, GroupWire::FIELDS),
    ("sched", Place::Section(kind::SCHED), 0, SchedWire::FIELDS),
    ("seccomp_filter", Place::Section(kind::SECCOMP_FILTERS), 0, SeccompFilterWire::FIELDS),
    ("seccomp_insn", Place::Section(kind::SECCOMP_CODE), 0, SeccompInsnWire::FIELDS),
    ("tree_file", Place::Section(kind::TREE_FILES), 0, TreeFileWire::FIELDS),
    ("tree_region", Place::Section(kind::TREE_REGIONS), 0, TreeRegionWire::FIELDS),
    ("tree", Place::Section(kind::TREE), 0, TreeProcessWire::FIELDS),
    ("trailer", Place::Trailer, 0, TrailerWire::FIELDS),
];

/// Every leaf field of every record, in `RECORDS` order.
pub fn all_fields() -> Vec<FlatField> {
    let mut out = Vec::new();
    for (name, place, base, fields) in RECORDS {
        flatten(name, *base, fields, *place, &mut out);
    }
    out
}

/// A section found in an image's metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionSpan {
    /// Section kind.
    pub kind: u32,
    /// Offset of its header in the file.
    pub header: usize,
    /// Offset of its payload (the records).
    pub records: usize,
    /// Payload length.
    pub payload_len: usize,
    /// Record count.
    pub count: usize,
    /// Record size.
    pub record_size: usize,
}

/// The sections of the metadata range of any bytes, as far as their
/// headers chain inside it (for editing hostile images: nothing is
/// validated, nothing past the metadata range or the bytes is returned).
pub fn metadata_sections(b: &[u8]) -> Vec<SectionSpan> {
    let mut out = Vec::new();
    let Ok((header, _)) = HeaderWire::ref_from_prefix(b) else {
        return out;
    };
    let mlen = usize::try_from(header.metadata_len.get()).unwrap_or(usize::MAX);
    let end = HEADER_SIZE.saturating_add(mlen).min(b.len());
    let mut pos = HEADER_SIZE;
    while let Some(Ok((h, _))) = b.get(pos..end).map(SectionHeaderWire::ref_from_prefix) {
        let records = pos + SECTION_HEADER_SIZE;
        let Some(payload_len) = usize::try_from(h.payload_len.get()).ok().filter(|&l| l <= end - records)
        else {
            break;
        };
        out.push(SectionSpan {
            kind: h.kind.get(),
            header: pos,
            records,
            payload_len,
            count: h.count.get() as usize,
            record_size: h.record_size.get() as usize,
        });
        pos = records + payload_len;
    }
    out
}
