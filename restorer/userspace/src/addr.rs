//! The restorer's own address space (from /proc/self): what the block
//! must avoid, the vdso here, and whether everything can be unmapped.

use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::mman::{mprotect, ProtFlags};
use procfs::process::{MMPermissions, MMapPath, MemoryMap, MemoryMaps, Stat};
use procfs::{FromBufRead, FromRead};
use restore_policy::Reason;

use crate::error::{internal, refuse, Checked};

/// The caller's vdso as it is mapped now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VdsoHere {
    pub vvar: Option<(u64, u64)>,
    pub vvar_vclock: Option<(u64, u64)>,
    pub vdso: Option<(u64, u64)>,
}

/// What the restorer needs to know about its own process.
pub struct Own {
    /// Every mapping, [vsyscall] excluded, sorted.
    pub ranges: Vec<(u64, u64)>,
    pub vdso: VdsoHere,
    /// The kernel's start_brk for this process (the restorer's own heap).
    pub start_brk: u64,
    /// The first sealed mapping the teardown would have to remove.
    pub sealed: Option<String>,
}

pub fn own() -> Checked<Own> {
    // maps, not smaps: smaps walks every page table and prints some thirty
    // lines per mapping (about 100 us of a 1 ms restore on the 6.18 host,
    // with its parsing); seals are found by `first_sealed` instead.
    let text = std::fs::read("/proc/self/maps").map_err(|e| internal("proc-self-maps", e))?;
    let maps = MemoryMaps::from_buf_read(&text[..]).map_err(|e| internal("proc-self-maps", std::io::Error::other(e)))?;
    let (ranges, vdso) = ranges_and_vdso(&maps);
    let stat = Stat::from_file("/proc/self/stat").map_err(|e| internal("proc-self-stat", std::io::Error::other(e)))?;
    Ok(Own { ranges, vdso, start_brk: stat.start_brk.unwrap_or(0), sealed: first_sealed(&maps.0) })
}

/// Refuses when a mapping the teardown must remove is sealed (mseal(2);
/// kernels built with CONFIG_MSEAL_SYSTEM_MAPPINGS seal the vdso): munmap
/// would fail after the point of no return.
pub fn check_unsealed(own: &Own) -> Checked<()> {
    match &own.sealed {
        Some(name) => Err(refuse(Reason::SealedMapping, format!("{name} is sealed and cannot be unmapped"))),
        None => Ok(()),
    }
}

/// Every mapping but [vsyscall] (the kernel's, never unmapped), sorted,
/// and where the vdso's parts are.
fn ranges_and_vdso(maps: &MemoryMaps) -> (Vec<(u64, u64)>, VdsoHere) {
    let mut vdso = VdsoHere::default();
    let mut ranges = Vec::with_capacity(maps.0.len());
    for m in &maps.0 {
        match &m.pathname {
            MMapPath::Vsyscall => continue,
            MMapPath::Vvar => vdso.vvar = Some(m.address),
            MMapPath::Vdso => vdso.vdso = Some(m.address),
            // procfs gives other pseudo-paths without their brackets.
            MMapPath::Other(o) if o == "vvar_vclock" => vdso.vvar_vclock = Some(m.address),
            _ => {}
        }
        ranges.push(m.address);
    }
    ranges.sort_unstable();
    (ranges, vdso)
}

/// The name of the first sealed mapping ([vsyscall] aside), found by
/// asking for the protection each mapping already has: the kernel refuses
/// any mprotect of a sealed mapping with EPERM before it looks at what
/// would change (mprotect_fixup), and otherwise changes nothing.
fn first_sealed(maps: &[MemoryMap]) -> Option<String> {
    maps.iter().filter(|m| m.pathname != MMapPath::Vsyscall).find_map(|m| {
        let mut prot = ProtFlags::PROT_NONE;
        for (flag, p) in [(MMPermissions::READ, ProtFlags::PROT_READ), (MMPermissions::WRITE, ProtFlags::PROT_WRITE), (MMPermissions::EXECUTE, ProtFlags::PROT_EXEC)] {
            if m.perms.contains(flag) {
                prot |= p;
            }
        }
        let (start, end) = m.address;
        let at = NonNull::new(start as *mut std::ffi::c_void)?;
        // SAFETY: the protection asked for is the one the mapping has now
        // (read from maps just before, in this single-threaded process):
        // no access to any page changes.
        match unsafe { mprotect(at, (end - start) as usize, prot) } {
            Err(Errno::EPERM) => Some(match &m.pathname {
                MMapPath::Anonymous => format!("{start:x}-{end:x}"),
                MMapPath::Path(p) => p.display().to_string(),
                other => name_of(other),
            }),
            _ => None,
        }
    })
}

/// A pseudo-path as maps prints it.
fn name_of(p: &MMapPath) -> String {
    match p {
        MMapPath::Heap => "[heap]".into(),
        MMapPath::Stack => "[stack]".into(),
        MMapPath::Vdso => "[vdso]".into(),
        MMapPath::Vvar => "[vvar]".into(),
        MMapPath::Other(o) => format!("[{o}]"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
555591f97000-555591fb9000 rw-p 00000000 00:00 0                          [heap]
7f5b6d660000-7f5b6d663000 rw-p 00000000 00:00 0 
7ffdfc4b6000-7ffdfc4b8000 r--p 00000000 00:00 0                          [vvar_vclock]
7ffdfc4b8000-7ffdfc4ba000 r--p 00000000 00:00 0                          [vvar]
7ffdfc4ba000-7ffdfc4bc000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
";

    #[test]
    fn mappings_and_vdso_without_vsyscall() {
        let maps = MemoryMaps::from_buf_read(SAMPLE.as_bytes()).unwrap();
        let (ranges, vdso) = ranges_and_vdso(&maps);
        assert_eq!(ranges.len(), 5, "vsyscall left out");
        assert_eq!(ranges[0], (0x5555_91f9_7000, 0x5555_91fb_9000));
        assert_eq!(vdso.vvar_vclock, Some((0x7ffd_fc4b_6000, 0x7ffd_fc4b_8000)));
        assert_eq!(vdso.vvar, Some((0x7ffd_fc4b_8000, 0x7ffd_fc4b_a000)));
        assert_eq!(vdso.vdso, Some((0x7ffd_fc4b_a000, 0x7ffd_fc4b_c000)));
    }

    /// The probe on a page sealed here and on its unsealed neighbour
    /// (only those two: other test threads map and unmap meanwhile): the
    /// sealed one is named, and both are as readable and writable after.
    #[test]
    fn a_sealed_mapping_is_found_and_nothing_changes() {
        let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        // SAFETY: a fresh private anonymous mapping of two pages, ours alone.
        let p = unsafe { nix::sys::mman::mmap_anonymous(None, std::num::NonZeroUsize::new(8192).unwrap(), rw, nix::sys::mman::MapFlags::MAP_PRIVATE) }.unwrap();
        let addr = p.as_ptr() as u64;
        // SAFETY: mseal of the second page (Linux 6.10+); this test process
        // never unmaps it, which is all sealing forbids.
        let r = unsafe { libc::syscall(libc::SYS_mseal, addr + 4096, 4096usize, 0usize) };
        assert_eq!(r, 0, "mseal: {}", std::io::Error::last_os_error());
        let text = std::fs::read("/proc/self/maps").unwrap();
        let ours = |a: u64| {
            let maps = MemoryMaps::from_buf_read(&text[..]).unwrap();
            maps.0.into_iter().filter(|m| m.address.0 == a).collect::<Vec<_>>()
        };
        assert_eq!(ours(addr).len(), 1, "the unsealed page is a mapping of its own");
        assert_eq!(first_sealed(&ours(addr)), None);
        assert_eq!(first_sealed(&ours(addr + 4096)), Some(format!("{:x}-{:x}", addr + 4096, addr + 8192)));
        for a in [addr, addr + 4096] {
            // SAFETY: both pages are mapped read-write above and still are.
            unsafe {
                (a as *mut u8).write_volatile(7);
                assert_eq!((a as *const u8).read_volatile(), 7);
            }
        }
    }
}
