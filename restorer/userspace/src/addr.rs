//! The restorer's own address space (from /proc/self) and where the
//! `[plan][stub]` block goes: a range free both in the image and here.

use image_format::limits::USER_SPACE_END;
use image_format::Image;
use procfs::process::{MMapPath, Process};
use restore_plan::PAGE;

use crate::error::{exit, internal, refuse, Checked};

/// Lowest address used: the default vm.mmap_min_addr.
pub const MIN_ADDR: u64 = 0x1_0000;
/// Free room kept on each side of the block.
const GUARD: u64 = PAGE;
/// Free room above the block: the stub's final page stays mapped and a
/// stack above it must still be able to grow down (1 MiB stack guard gap).
const ROOM_ABOVE: u64 = 8 << 20;

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
                return Err(refuse(exit::INCOMPATIBLE, "sealed-mapping", format!("{name} is sealed and cannot be unmapped")));
            }
        }
    }
    Ok(())
}

/// A free range of `len` bytes: in the highest gap between the image's
/// regions (and the extra `avoid` ranges) that fits it with guard pages and
/// room above, placed at the gap's low end, like the kernel module does.
pub fn find_hole(image: &Image<'_>, avoid: &[(u64, u64)], len: u64) -> Checked<u64> {
    let mut taken: Vec<(u64, u64)> = image.regions().map(|r| (r.start, r.end)).collect();
    taken.extend_from_slice(avoid);
    taken.sort_unstable();
    let want = len.checked_add(2 * GUARD + ROOM_ABOVE).ok_or_else(|| refuse(exit::INCOMPATIBLE, "no-room-for-the-restorer", ""))?;
    let mut best = None;
    let mut prev_end = MIN_ADDR;
    let mut consider = |lo: u64, hi: u64| {
        if hi > lo && hi - lo >= want {
            best = Some(lo + GUARD);
        }
    };
    for (s, e) in taken {
        consider(prev_end, s.min(USER_SPACE_END));
        prev_end = prev_end.max(e);
    }
    consider(prev_end, USER_SPACE_END);
    best.ok_or_else(|| refuse(exit::INCOMPATIBLE, "no-room-for-the-restorer", "no free address range outside the image's memory"))
}
