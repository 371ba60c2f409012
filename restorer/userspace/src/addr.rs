//! The restorer's own address space (from /proc/self): what the block
//! must avoid, the vdso here, and whether everything can be unmapped.

use procfs::process::{MMapPath, Process};
use restore_policy::Reason;

use crate::error::{internal, refuse, Checked};

/// The caller's vdso as it is mapped now.
#[derive(Clone, Copy, Debug, Default)]
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
}

pub fn own() -> Checked<Own> {
    let me = Process::myself().map_err(|e| internal("proc-self", e))?;
    let maps = me.maps().map_err(|e| internal("proc-self-maps", e))?;
    let mut ranges = Vec::new();
    let mut vdso = VdsoHere::default();
    for m in maps {
        let r = m.address;
        match &m.pathname {
            MMapPath::Vsyscall => continue,
            MMapPath::Vvar => vdso.vvar = Some(r),
            MMapPath::Vdso => vdso.vdso = Some(r),
            // procfs strips the brackets of pseudo-paths it does not know.
            MMapPath::Other(s) if s == "vvar_vclock" => vdso.vvar_vclock = Some(r),
            _ => {}
        }
        ranges.push(r);
    }
    ranges.sort_unstable();
    let start_brk = me.stat().map_err(|e| internal("proc-self-stat", e))?.start_brk.unwrap_or(0);
    Ok(Own { ranges, vdso, start_brk })
}

/// Refuses when a mapping the teardown must remove is sealed (mseal(2);
/// kernels built with CONFIG_MSEAL_SYSTEM_MAPPINGS seal the vdso): munmap
/// would fail after the point of no return.
pub fn check_unsealed() -> Checked<()> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").map_err(|e| internal("proc-self-smaps", e))?;
    let mut current = "";
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            current = line;
        } else if let Some(flags) = line.strip_prefix("VmFlags:") {
            let sealed = flags.split_whitespace().any(|f| f == "sl");
            if sealed && !current.ends_with("[vsyscall]") {
                let name = current.split_whitespace().nth(5).unwrap_or(first);
                return Err(refuse(Reason::SealedMapping, format!("{name} is sealed and cannot be unmapped")));
            }
        }
    }
    Ok(())
}
