//! Which PT_LOAD segments a core file has, and where each stored page
//! goes. What gdb needs for each kind of region:
//!
//! * anonymous memory ([heap], [stack], thread stacks, shared anonymous,
//!   SysV shm, [vdso]): one segment with p_filesz = p_memsz. Stored pages
//!   are written; unstored ones are zero on restore, so they are left as
//!   holes of the (sparse) core file, which read back as zeros and take
//!   no disk space. A region with no stored pages and no read permission
//!   (guard pages, reservations, possibly huge) gets p_filesz 0 instead:
//!   there is nothing to read in it.
//! * file mappings: the unstored pages are the file's, so those stretches
//!   get p_filesz 0 and gdb reads them from the file (the executable, or
//!   the NT_FILE note); stretches of stored (copied-on-write) pages get
//!   their own segments with the data.
//! * [vvar], [vvar_vclock]: p_filesz 0 (their contents were the dumping
//!   kernel's and are not in the image).

use image_format::{records::prot, RegionDesc, RegionKind};

const PAGE: u64 = 4096;

/// One PT_LOAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    /// `prot` bits of the region.
    pub prot: u32,
    /// p_filesz = p_memsz (data in the core) or 0 (none).
    pub has_data: bool,
}

/// The segments of a region, by address.
pub fn segments_of(r: &RegionDesc) -> Vec<Segment> {
    let seg = |vaddr: u64, end: u64, has_data: bool| Segment { vaddr, memsz: end - vaddr, prot: r.prot, has_data };
    match r.kind {
        RegionKind::Vvar | RegionKind::VvarVclock => vec![seg(r.start, r.end, false)],
        RegionKind::File => {
            let mut out = Vec::new();
            let mut at = r.start;
            for run in &r.runs {
                let (s, e) = (r.start + run.page_index * PAGE, r.start + (run.page_index + run.page_count) * PAGE);
                if s > at {
                    out.push(seg(at, s, false));
                }
                out.push(seg(s, e, true));
                at = e;
            }
            if at < r.end {
                out.push(seg(at, r.end, false));
            }
            out
        }
        _ => vec![seg(r.start, r.end, !r.runs.is_empty() || r.prot & prot::READ != 0)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image_format::{ByteString, FileId, RunDesc};

    fn region(kind: RegionKind, prot: u32, pages: u64, runs: &[(u64, u64)]) -> RegionDesc {
        RegionDesc {
            start: 0x10000,
            end: 0x10000 + pages * PAGE,
            prot,
            kind,
            flags: 0,
            path: ByteString(b"/x".to_vec()),
            file_offset: 0,
            file_id: FileId::default(),
            file: 0,
            runs: runs.iter().map(|&(page_index, page_count)| RunDesc { page_index, page_count }).collect(),
        }
    }

    #[test]
    fn file_regions_split_at_stored_runs() {
        let s = segments_of(&region(RegionKind::File, 3, 10, &[(0, 1), (4, 2)]));
        let got: Vec<(u64, u64, bool)> = s.iter().map(|s| ((s.vaddr - 0x10000) / PAGE, s.memsz / PAGE, s.has_data)).collect();
        assert_eq!(got, [(0, 1, true), (1, 3, false), (4, 2, true), (6, 4, false)]);
        let s = segments_of(&region(RegionKind::File, 5, 3, &[]));
        assert_eq!(s, [Segment { vaddr: 0x10000, memsz: 3 * PAGE, prot: 5, has_data: false }]);
    }

    #[test]
    fn anonymous_regions_are_one_segment() {
        let s = segments_of(&region(RegionKind::Anon, 3, 10, &[(2, 1)]));
        assert_eq!(s, [Segment { vaddr: 0x10000, memsz: 10 * PAGE, prot: 3, has_data: true }]);
        // Readable but untouched: zeros to read.
        assert!(segments_of(&region(RegionKind::Stack, 3, 4, &[]))[0].has_data);
        // PROT_NONE and untouched: nothing.
        assert!(!segments_of(&region(RegionKind::Anon, 0, 4, &[]))[0].has_data);
        assert!(!segments_of(&region(RegionKind::Vvar, 1, 4, &[]))[0].has_data);
    }
}
