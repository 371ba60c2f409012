//! The restorer's own address space (from /proc/self): what the block
//! must avoid, the vdso here, and whether everything can be unmapped.

use std::io::Read;
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::mman::{mprotect, ProtFlags};
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
    /// The first sealed mapping the teardown would have to remove.
    pub sealed: Option<String>,
}

/// One line of /proc/self/maps: its range, protection and name (a path,
/// a `[pseudo]` name, or empty for anonymous memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mapping<'a> {
    start: u64,
    end: u64,
    prot: ProtFlags,
    name: &'a [u8],
}

pub fn own() -> Checked<Own> {
    // maps, not smaps: smaps walks every page table and prints some thirty
    // lines per mapping (about 100 us of a 1 ms restore on the 6.18 host,
    // with its parsing); seals are found by `first_sealed` instead. Read
    // with one buffer and parsed here: std::fs::read's size probing and a
    // general parser cost more than the read itself.
    let text = read_proc("/proc/self/maps").map_err(|e| internal("proc-self-maps", e))?;
    let maps = parse_maps(&text).ok_or_else(|| internal("proc-self-maps", "a line not in the kernel's format"))?;
    let (ranges, vdso) = ranges_and_vdso(&maps);
    Ok(Own { ranges, vdso, sealed: first_sealed(&maps) })
}

/// A /proc file read whole, a page at a time (its size says 0).
fn read_proc(path: &str) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(2 * len, 0);
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// The lines of /proc/PID/maps (`start-end perms offset dev inode name`),
/// or None if one is not in that format.
fn parse_maps(text: &[u8]) -> Option<Vec<Mapping<'_>>> {
    let hex = |s: &[u8]| u64::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok();
    let mut maps = Vec::with_capacity(32);
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        // Five fields separated by single spaces, then padding and the name
        // (which may hold spaces itself).
        let mut fields = line.splitn(6, |&b| b == b' ');
        let (range, perms) = (fields.next()?, fields.next()?);
        let (_offset, _dev, _inode) = (fields.next()?, fields.next()?, fields.next()?);
        let padded = fields.next().unwrap_or_default();
        let name = &padded[padded.iter().position(|&b| b != b' ').unwrap_or(padded.len())..];
        let dash = range.iter().position(|&b| b == b'-')?;
        let (start, end) = (hex(&range[..dash])?, hex(&range[dash + 1..])?);
        let mut prot = ProtFlags::PROT_NONE;
        for (i, (ch, p)) in [(b'r', ProtFlags::PROT_READ), (b'w', ProtFlags::PROT_WRITE), (b'x', ProtFlags::PROT_EXEC)].into_iter().enumerate() {
            if *perms.get(i)? == ch {
                prot |= p;
            }
        }
        maps.push(Mapping { start, end, prot, name });
    }
    Some(maps)
}

/// The kernel's start_brk for this process (the restorer's own heap), from
/// /proc/self/stat (field 47; 0 where the kernel does not give it). Only
/// where PR_SET_MM_MAP was refused (the brk fallback), so read late: it
/// allocates nothing (a stack buffer) but on a failure's way out.
pub fn start_brk() -> Checked<u64> {
    let mut file = std::fs::File::open("/proc/self/stat").map_err(|e| internal("proc-self-stat", e))?;
    let mut buf = [0u8; 2048];
    let mut len = 0;
    while len < buf.len() {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(internal("proc-self-stat", e)),
        }
    }
    stat_start_brk(&buf[..len]).ok_or_else(|| internal("proc-self-stat", "not in the kernel's format"))
}

/// Field 47 of a /proc/PID/stat line, 0 if the line ends before it. The
/// name (field 2) may hold spaces and parentheses: fields count from the
/// last `)`.
fn stat_start_brk(line: &[u8]) -> Option<u64> {
    let close = line.iter().rposition(|&b| b == b')')?;
    // Field 3 (the state) is the first after the name.
    match line[close + 1..].split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()).nth(47 - 3) {
        Some(f) => std::str::from_utf8(f).ok()?.parse().ok(),
        None => Some(0),
    }
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
fn ranges_and_vdso(maps: &[Mapping<'_>]) -> (Vec<(u64, u64)>, VdsoHere) {
    let mut vdso = VdsoHere::default();
    let mut ranges = Vec::with_capacity(maps.len());
    for m in maps {
        let range = (m.start, m.end);
        match m.name {
            b"[vsyscall]" => continue,
            b"[vvar]" => vdso.vvar = Some(range),
            b"[vdso]" => vdso.vdso = Some(range),
            b"[vvar_vclock]" => vdso.vvar_vclock = Some(range),
            _ => {}
        }
        ranges.push(range);
    }
    ranges.sort_unstable();
    (ranges, vdso)
}

/// The name of the first sealed mapping ([vsyscall] aside), found by
/// asking for the protection each mapping already has: the kernel refuses
/// any mprotect of a sealed mapping with EPERM before it looks at what
/// would change (mprotect_fixup), and otherwise changes nothing.
fn first_sealed(maps: &[Mapping<'_>]) -> Option<String> {
    maps.iter().filter(|m| m.name != b"[vsyscall]").find_map(|m| {
        let at = NonNull::new(m.start as *mut std::ffi::c_void)?;
        // SAFETY: the protection asked for is the one the mapping has now
        // (read from maps just before, in this single-threaded process):
        // no access to any page changes.
        match unsafe { mprotect(at, (m.end - m.start) as usize, m.prot) } {
            Err(Errno::EPERM) if m.name.is_empty() => Some(format!("{:x}-{:x}", m.start, m.end)),
            Err(Errno::EPERM) => Some(String::from_utf8_lossy(m.name).into_owned()),
            _ => None,
        }
    })
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
        let maps = parse_maps(SAMPLE.as_bytes()).unwrap();
        let (ranges, vdso) = ranges_and_vdso(&maps);
        assert_eq!(ranges.len(), 5, "vsyscall left out");
        assert_eq!(ranges[0], (0x5555_91f9_7000, 0x5555_91fb_9000));
        assert_eq!(vdso.vvar_vclock, Some((0x7ffd_fc4b_6000, 0x7ffd_fc4b_8000)));
        assert_eq!(vdso.vvar, Some((0x7ffd_fc4b_8000, 0x7ffd_fc4b_a000)));
        assert_eq!(vdso.vdso, Some((0x7ffd_fc4b_a000, 0x7ffd_fc4b_c000)));
    }

    #[test]
    fn names_and_protections_as_the_kernel_prints_them() {
        let text = b"00400000-00401000 r-xp 00000000 08:01 1234                       /opt/a b (deleted)\n\
7f0000000000-7f0000001000 ---p 00000000 00:00 0 \n\
7f0000001000-7f0000002000 rw-s 00000000 00:01 7                          [anon_shmem:x y]\n";
        let maps = parse_maps(text).unwrap();
        assert_eq!(maps.len(), 3);
        assert_eq!(maps[0], Mapping { start: 0x40_0000, end: 0x40_1000, prot: ProtFlags::PROT_READ | ProtFlags::PROT_EXEC, name: b"/opt/a b (deleted)" });
        assert_eq!((maps[1].prot, maps[1].name), (ProtFlags::PROT_NONE, &b""[..]));
        assert_eq!((maps[2].prot, maps[2].name), (ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, &b"[anon_shmem:x y]"[..]));
        assert_eq!(parse_maps(b"00400000 r-xp 0 0 0\n"), None, "no range");
        assert_eq!(parse_maps(b"00400000-00401000 r-\n"), None, "fields missing");
    }

    #[test]
    fn start_brk_is_field_47_counted_after_the_name() {
        let mut line = b"4242 (a) b) c) S".to_vec();
        for field in 4..=46 {
            line.extend(format!(" {field}").bytes());
        }
        assert_eq!(stat_start_brk(&line), Some(0), "a kernel without the field");
        line.extend(b" 1441792 7 8\n");
        assert_eq!(stat_start_brk(&line), Some(1_441_792));
        let here = std::fs::read("/proc/self/stat").unwrap();
        assert!(stat_start_brk(&here).unwrap() > 0, "{}", String::from_utf8_lossy(&here));
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
        let maps = parse_maps(&text).unwrap();
        let ours = |a: u64| maps.iter().filter(|m| m.start == a).copied().collect::<Vec<_>>();
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
