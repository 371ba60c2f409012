//! The restorer's own address space (from /proc/self): what the block
//! must avoid, the vdso here, and whether everything can be unmapped.

use procfs::process::Process;
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
    // One read of smaps gives the mappings and their seal flags (reading
    // maps and then smaps costs two walks of every page table: 100 us of
    // a 1 ms restore on the 6.18 host).
    let smaps = std::fs::read_to_string("/proc/self/smaps").map_err(|e| internal("proc-self-smaps", e))?;
    let parsed = parse_smaps(&smaps).map_err(|e| internal("proc-self-smaps", e))?;
    let me = Process::myself().map_err(|e| internal("proc-self", e))?;
    let start_brk = me.stat().map_err(|e| internal("proc-self-stat", e))?.start_brk.unwrap_or(0);
    Ok(Own { ranges: parsed.ranges, vdso: parsed.vdso, start_brk, sealed: parsed.sealed })
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

/// What /proc/self/smaps says about this process.
#[derive(Debug, Default, PartialEq, Eq)]
struct Smaps {
    /// Every mapping, [vsyscall] excluded, sorted.
    ranges: Vec<(u64, u64)>,
    vdso: VdsoHere,
    /// The first sealed mapping ([vsyscall] aside), by name or range.
    sealed: Option<String>,
}

/// Parses smaps text: a header line per mapping (`start-end perms offset
/// dev inode [path]`), then `Key: value` lines, among them `VmFlags:`.
fn parse_smaps(text: &str) -> Result<Smaps, String> {
    let mut out = Smaps::default();
    let mut current: Option<(&str, bool)> = None; // (name, is vsyscall)
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-').filter(|_| first.chars().all(|c| c.is_ascii_hexdigit() || c == '-')) {
            let parse = |x: &str| u64::from_str_radix(x, 16).map_err(|e| format!("{line}: {e}"));
            let r = (parse(a)?, parse(b)?);
            let path = line.split_whitespace().nth(5).unwrap_or("");
            let name = if path.is_empty() { first } else { path };
            match path {
                "[vsyscall]" => {
                    current = Some((name, true));
                    continue;
                }
                "[vvar]" => out.vdso.vvar = Some(r),
                "[vvar_vclock]" => out.vdso.vvar_vclock = Some(r),
                "[vdso]" => out.vdso.vdso = Some(r),
                _ => {}
            }
            out.ranges.push(r);
            current = Some((name, false));
        } else if let Some(flags) = line.strip_prefix("VmFlags:") {
            let sealed = flags.split_whitespace().any(|f| f == "sl");
            if let Some((name, false)) = current.filter(|_| sealed && out.sealed.is_none()) {
                out.sealed = Some(name.to_string());
            }
        }
    }
    out.ranges.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
555591f97000-555591fb9000 rw-p 00000000 00:00 0                          [heap]
Size:                136 kB
VmFlags: rd wr mr mw me ac sd
7f5b6d660000-7f5b6d663000 rw-p 00000000 00:00 0 
VmFlags: rd wr mr mw me ac sd
7ffdfc4b8000-7ffdfc4ba000 r--p 00000000 00:00 0                          [vvar]
VmFlags: rd mr pf io de dd sd
7ffdfc4ba000-7ffdfc4bc000 r-xp 00000000 00:00 0                          [vdso]
VmFlags: rd ex mr mw me de sd
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
VmFlags: ex sl
";

    #[test]
    fn mappings_vdso_and_no_seal() {
        let s = parse_smaps(SAMPLE).unwrap();
        assert_eq!(s.ranges.len(), 4, "vsyscall left out");
        assert_eq!(s.ranges[0], (0x5555_91f9_7000, 0x5555_91fb_9000));
        assert_eq!(s.vdso.vvar, Some((0x7ffd_fc4b_8000, 0x7ffd_fc4b_a000)));
        assert_eq!(s.vdso.vdso, Some((0x7ffd_fc4b_a000, 0x7ffd_fc4b_c000)));
        assert_eq!(s.sealed, None, "a sealed [vsyscall] is not ours to unmap");
    }

    #[test]
    fn a_sealed_mapping_is_named() {
        let text = SAMPLE.replace("VmFlags: rd ex mr mw me de sd", "VmFlags: rd ex mr mw me de sd sl");
        assert_eq!(parse_smaps(&text).unwrap().sealed.as_deref(), Some("[vdso]"));
        let anon = SAMPLE.replacen("VmFlags: rd wr mr mw me ac sd\n7ffd", "VmFlags: rd wr mr mw me ac sd sl\n7ffd", 1);
        assert_eq!(parse_smaps(&anon).unwrap().sealed.as_deref(), Some("7f5b6d660000-7f5b6d663000"));
    }

    #[test]
    fn a_garbled_range_is_an_error() {
        assert!(parse_smaps("zz-1 rw-p 0 0:0 0\n").is_ok(), "not a header line: skipped");
        assert!(parse_smaps("ffffffffffffffffff-1 rw-p 0 0:0 0\n").is_err());
    }
}
