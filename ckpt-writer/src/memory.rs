//! Memory regions from /proc/PID/maps and the pages to store for each,
//! chosen from /proc/PID/pagemap:
//!
//! * private anonymous memory (incl. [heap], [stack], thread stacks):
//!   every present or swapped page;
//! * private file mappings: only pages copied on write (present with the
//!   "file-page or shared-anon" bit 61 clear, or swapped); the others are
//!   the file's and are mapped from it again;
//! * System V shared memory: refused (no restorer restores it yet);
//! * shared anonymous memory and mappings of deleted files:
//!   every page, because no file holds them and pages another process
//!   faulted in do not show in this process's pagemap;
//! * shared file mappings: nothing (the file holds the data);
//! * [vdso]: stored (a page or two), not to be restored from, but so that a
//!   restorer can compare it with its own kernel's vdso and refuse an image
//!   whose vdso differs: code that cached vdso function pointers (glibc
//!   does) would otherwise jump into different code;
//! * [vvar], [vvar_vclock]: described, never stored (the restoring kernel
//!   provides their contents); [vsyscall] is not recorded at all;
//! * what a restorer added (restored.rs): private mappings of a checkpoint
//!   image are stored as anonymous memory, every page; the restorer stub's
//!   final page is left out.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::ffi::OsStrExt;

use procfs::process::{MMPermissions, MMapPath, MemoryPageFlags, PageInfo, Process, VmFlags};

use crate::error::{Error, Result};
use crate::restored::{is_final_page, is_image_file};
use crate::snapshot::{FileIdent, Region, RegionKind};

const PAGE: u64 = 4096;

/// Which pages of a region are stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Policy {
    None,
    PresentOrSwapped,
    CopiedOnWrite,
    All,
}

fn proc_err(pid: i32, what: &'static str) -> impl Fn(procfs::ProcError) -> Error {
    move |e| match e {
        procfs::ProcError::NotFound(_) => Error::TargetGone { pid, during: format!("reading {what}") },
        other => Error::sys(format!("reading {what} of pid {pid}"), std::io::Error::other(other.to_string())),
    }
}

/// A mapping of the target whose stored pages may not be chosen yet:
/// those chosen by the pagemap are (`choose_pages`), the others (all pages,
/// or none) are in `region.runs` already.
pub struct Mapping {
    pub region: Region,
    policy: Policy,
    /// One read-execute private anonymous page, as the restorer stub's
    /// final page is (restored.rs).
    maybe_final_page: bool,
}

impl Mapping {
    /// Whether any page of it can be stored (a `--cow` dump checks those
    /// are in its fork as they were).
    pub fn can_store(&self) -> bool {
        self.policy != Policy::None
    }

    /// Makes it a mapping of FILES description `file` at `offset`
    /// (mapped_files.rs): its pages are the description's, not stored.
    pub fn maps_file(&mut self, file: u32, offset: u64) {
        self.policy = Policy::None;
        self.region.runs.clear();
        self.region.shared_anon = false;
        self.region.maps_file = Some(file);
        self.region.file_offset = offset;
    }
}

/// What `list_mappings` reads of each mapping's VmFlags, which only smaps
/// shows: smaps walks every page table (about 18 ms per resident GiB on
/// the development host), maps does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmFlagsRead {
    /// All of them: the per-mapping state (`advice_bits`) and VM_MAYWRITE.
    All,
    /// What a fork does not show: mlock (read where /proc/PID/status has
    /// VmLck, so a lock taken with MLOCK_ONFAULT on no page yet is missed)
    /// and VM_MAYWRITE (where there is a shared file mapping). A `--cow`
    /// dump reads the madvise state from its fork (cow.rs).
    NotInherited,
}

/// The mapping state a restorer sets again (mlock, madvise) as image
/// `region_flags::ADVICE` bits; none on the kernel's own mappings, whose
/// flags are the kernel's (vvar is "dd").
pub fn advice_bits(f: VmFlags, kind: RegionKind) -> u32 {
    use image_format::v1::records::region_flags as rf;
    if matches!(kind, RegionKind::Vdso | RegionKind::Vvar | RegionKind::VvarVclock) {
        return 0;
    }
    [
        (VmFlags::LO, rf::LOCKED),
        (VmFlags::DC, rf::DONTFORK),
        (VmFlags::WF, rf::WIPEONFORK),
        (VmFlags::DD, rf::DONTDUMP),
        (VmFlags::HG, rf::HUGEPAGE),
        (VmFlags::NH, rf::NOHUGEPAGE),
        (VmFlags::SR, rf::SEQUENTIAL),
        (VmFlags::RR, rf::RANDOM),
    ]
    .into_iter()
    .filter(|(v, _)| f.contains(*v))
    .fold(0, |a, (_, b)| a | b)
}

/// The mappings of `pid`: from smaps where `read` needs VmFlags (smaps
/// holds every line of maps too), else from maps (VmFlags empty).
fn read_maps(proc: &Process, pid: i32, read: VmFlagsRead) -> Result<procfs::process::MemoryMaps> {
    let smaps = || proc.smaps().map_err(proc_err(pid, "/proc/PID/smaps"));
    if read == VmFlagsRead::All {
        return smaps();
    }
    let maps = proc.maps().map_err(proc_err(pid, "/proc/PID/maps"))?;
    let shared_file = maps.iter().any(|m| m.perms.contains(MMPermissions::SHARED) && matches!(m.pathname, MMapPath::Path(_)));
    let locked = proc.status().map_err(proc_err(pid, "/proc/PID/status"))?.vmlck.unwrap_or(0) > 0;
    if shared_file || locked { smaps() } else { Ok(maps) }
}

/// Reads every mapping of `pid` (frozen), without choosing its pages, and
/// the VmFlags `read` asks for.
pub fn list_mappings(pid: i32, read: VmFlagsRead) -> Result<Vec<Mapping>> {
    let proc = Process::new(pid).map_err(proc_err(pid, "/proc/PID"))?;
    let maps = read_maps(&proc, pid, read)?;
    let mut regions = Vec::new();
    for m in maps.iter() {
        let (start, end) = m.address;
        let shared = m.perms.contains(MMPermissions::SHARED);
        let (kind, path, policy, shared_anon) = match &m.pathname {
            MMapPath::Vsyscall => continue,
            MMapPath::Vdso => (RegionKind::Vdso, Vec::new(), Policy::All, false),
            MMapPath::Vvar => (RegionKind::Vvar, Vec::new(), Policy::None, false),
            MMapPath::Other(s) if s == "vvar_vclock" => (RegionKind::VvarVclock, Vec::new(), Policy::None, false),
            MMapPath::Heap => (RegionKind::Heap, Vec::new(), Policy::PresentOrSwapped, false),
            MMapPath::Stack => (RegionKind::Stack, Vec::new(), Policy::PresentOrSwapped, false),
            MMapPath::TStack(_) => (RegionKind::Anon, Vec::new(), Policy::PresentOrSwapped, false),
            MMapPath::Anonymous => (RegionKind::Anon, Vec::new(), Policy::PresentOrSwapped, false),
            MMapPath::Other(s) if s.starts_with("anon:") => (RegionKind::Anon, Vec::new(), Policy::PresentOrSwapped, false),
            MMapPath::Other(s) if s.starts_with("anon_shmem:") => (RegionKind::Anon, Vec::new(), Policy::All, true),
            // Both restorers refuse it (sysv-shm-unsupported): refused
            // here already, so that `dump --kill` never loses a process
            // to an image nothing can restore.
            MMapPath::Vsys(key) => {
                return Err(Error::Unsupported(format!(
                    "pid {pid} has System V shared memory (key {key:#x}) attached at {start:#x}, which neither restorer restores yet"
                )))
            }
            MMapPath::Path(p) => {
                let bytes = p.as_os_str().as_bytes();
                match bytes.strip_suffix(b" (deleted)") {
                    // MAP_SHARED|MAP_ANONYMOUS shows as a deleted /dev/zero.
                    Some(b"/dev/zero") if shared => (RegionKind::Anon, Vec::new(), Policy::All, true),
                    // A deleted file: keep all its pages as memory.
                    Some(_) => (RegionKind::Anon, Vec::new(), Policy::All, shared),
                    // A restorer's view of a checkpoint image: memory, not
                    // a file to map again (it may be gone by then).
                    None if !shared && is_image_file(pid, start, end, p) => {
                        (RegionKind::Anon, Vec::new(), Policy::All, false)
                    }
                    None if shared => (RegionKind::File, bytes.to_vec(), Policy::None, false),
                    None => (RegionKind::File, bytes.to_vec(), Policy::CopiedOnWrite, false),
                }
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "memory region {start:#x}-{end:#x} of kind {other:?} cannot be recorded"
                )))
            }
        };
        let file_id = if kind == RegionKind::File || kind == RegionKind::SysvShm {
            // map_files names the very inode mapped, but only a process with
            // CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE may look there; an
            // unprivileged user dumping their own process stats the path
            // (a restorer compares the identity again before mapping it).
            std::fs::metadata(format!("/proc/{pid}/map_files/{start:x}-{end:x}"))
                .or_else(|e| match e.kind() {
                    std::io::ErrorKind::PermissionDenied => std::fs::metadata(std::ffi::OsStr::from_bytes(&path)),
                    _ => Err(e),
                })
                .map(|md| FileIdent::from_metadata(&md))
                .map_err(|e| Error::sys(format!("stat of the file mapped at {start:#x}"), e))?
        } else {
            FileIdent::default()
        };
        let runs = match policy {
            Policy::All => vec![(0, (end - start) / PAGE)],
            _ => Vec::new(),
        };
        let rx_only = m.perms.contains(MMPermissions::READ | MMPermissions::EXECUTE)
            && !m.perms.intersects(MMPermissions::WRITE | MMPermissions::SHARED);
        let maybe_final_page = m.pathname == MMapPath::Anonymous && rx_only && end - start == PAGE;
        let vm = m.extension.vm_flags;
        let mut advice = advice_bits(vm, kind);
        if read == VmFlagsRead::NotInherited {
            advice &= image_format::v1::records::region_flags::LOCKED;
        }
        let region = Region {
            start,
            end,
            read: m.perms.contains(MMPermissions::READ),
            write: m.perms.contains(MMPermissions::WRITE),
            exec: m.perms.contains(MMPermissions::EXECUTE),
            shared: shared || shared_anon,
            shared_anon,
            may_write: kind == RegionKind::File && shared && vm.contains(VmFlags::MW),
            advice,
            kind,
            path,
            file_offset: if kind == RegionKind::File || kind == RegionKind::SysvShm { m.offset } else { 0 },
            file_id,
            runs,
            maps_file: None,
        };
        regions.push(Mapping { region, policy, maybe_final_page });
    }
    Ok(regions)
}

/// Chooses the stored pages of `mappings` from the pagemap of `pages_of`:
/// the target itself, or its copy-on-write fork, whose page tables fork
/// copied (cow.rs). Leaves out the restorer stub's final page.
pub fn choose_pages(mappings: Vec<Mapping>, pages_of: i32) -> Result<Vec<Region>> {
    let pagemap = PageMap::open(pages_of)?;
    let mem = File::open(format!("/proc/{pages_of}/mem"))
        .map_err(|_| Error::TargetGone { pid: pages_of, during: "opening /proc/PID/mem".into() })?;
    let mut regions = Vec::with_capacity(mappings.len());
    for Mapping { mut region, policy, maybe_final_page } in mappings {
        if let p @ (Policy::PresentOrSwapped | Policy::CopiedOnWrite) = policy {
            region.runs = pagemap.runs(region.start, region.end, |i| stores(p, &i))?;
        }
        if maybe_final_page && !region.runs.is_empty() && is_final_page(&mem, region.start) {
            continue;
        }
        regions.push(region);
    }
    Ok(regions)
}


/// /proc/PID/pagemap, read exactly over each region. (procfs's reader
/// reads through an 8 KiB buffer, so a one-page region made the kernel walk
/// the page tables of the next 1023 pages and every mapping among them: a
/// cost quadratic in the number of small mappings, seconds at 2,000.)
struct PageMap {
    pid: i32,
    file: File,
}

/// Pagemap entries read at once (512 KiB of entries, 256 MiB of memory).
const PAGEMAP_BATCH: u64 = 64 * 1024;

impl PageMap {
    fn open(pid: i32) -> Result<PageMap> {
        let file = File::open(format!("/proc/{pid}/pagemap"))
            .map_err(|_| Error::TargetGone { pid, during: "opening /proc/PID/pagemap".into() })?;
        Ok(PageMap { pid, file })
    }

    /// The runs of pages in `start..end` for which `keep` is true.
    fn runs(&self, start: u64, end: u64, keep: impl Fn(PageInfo) -> bool) -> Result<Vec<(u64, u64)>> {
        let pages = (end - start) / PAGE;
        let mut raw = vec![0u8; (pages.min(PAGEMAP_BATCH) * 8) as usize];
        let mut flags = Vec::with_capacity(pages as usize);
        let mut done = 0;
        while done < pages {
            let n = (pages - done).min(PAGEMAP_BATCH);
            let buf = &mut raw[..(n * 8) as usize];
            self.file.read_exact_at(buf, (start / PAGE + done) * 8).map_err(|e| {
                Error::sys(format!("reading /proc/{}/pagemap at {:#x}", self.pid, start + done * PAGE), e)
            })?;
            flags.extend(buf.chunks_exact(8).map(|e| {
                let mut b = [0u8; 8];
                b.copy_from_slice(e);
                keep(PageInfo::parse_info(u64::from_le_bytes(b)))
            }));
            done += n;
        }
        Ok(runs_of(flags.into_iter()))
    }
}

/// True when the page described by `info` is stored under `policy`.
fn stores(policy: Policy, info: &PageInfo) -> bool {
    match info {
        // Swapped pages are anonymous in every mapping kind.
        PageInfo::SwapPage(_) => true,
        PageInfo::MemoryPage(f) => {
            f.contains(MemoryPageFlags::PRESENT)
                && (policy == Policy::PresentOrSwapped || !f.contains(MemoryPageFlags::FILE))
        }
    }
}

/// Turns a per-page yes/no sequence into (first index, count) runs.
fn runs_of(pages: impl Iterator<Item = bool>) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for (i, keep) in pages.enumerate() {
        if !keep {
            continue;
        }
        let i = i as u64;
        match runs.last_mut() {
            Some((s, n)) if *s + *n == i => *n += 1,
            _ => runs.push((i, 1)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::runs_of;

    #[test]
    fn runs_merge_adjacent_pages_only() {
        let v = [true, true, false, true, false, false, true, true, true];
        assert_eq!(runs_of(v.into_iter()), vec![(0, 2), (3, 1), (6, 3)]);
        assert!(runs_of([false, false].into_iter()).is_empty());
    }
}
