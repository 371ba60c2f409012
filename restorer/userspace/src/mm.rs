//! prctl(PR_SET_MM_MAP): the image's mm layout (code, data, brk, stack,
//! arguments, environment, auxv) for /proc/PID/stat, cmdline, environ,
//! auxv and brk(). Without a new exe_fd it needs no capability (measured on
//! 6.12 and 6.18, as root without CAP_SYS_RESOURCE and as uid 1000), only a
//! kernel with CONFIG_CHECKPOINT_RESTORE; the individual PR_SET_MM_* fields
//! do need CAP_SYS_RESOURCE. Where it fails the restorer keeps its own
//! values and brk.rs makes the break safe.

use image_format::Image;

const PR_SET_MM: i32 = 35;
const PR_SET_MM_MAP: u64 = 14;

/// struct prctl_mm_map (uapi linux/prctl.h).
#[repr(C)]
struct PrctlMmMap {
    layout: [u64; 11],
    auxv: u64,
    auxv_size: u32,
    exe_fd: u32,
}

/// The image's values, built while allocating is still allowed.
pub struct MmMap {
    layout: [u64; 11],
    auxv: Vec<u64>,
}

impl MmMap {
    pub fn new(image: &Image<'_>) -> MmMap {
        let mut auxv: Vec<u64> = image.auxv().flat_map(|a| [a.key, a.value]).collect();
        auxv.extend([0, 0]); // AT_NULL
        MmMap { layout: image.process.mm.to_array(), auxv }
    }

    /// Tries to install the image's layout; true if the kernel took it.
    /// Allocates nothing (it runs after the restorer's last allocation).
    pub fn apply(&self) -> bool {
        let map = PrctlMmMap {
            layout: self.layout,
            auxv: self.auxv.as_ptr() as u64,
            auxv_size: (self.auxv.len() * 8) as u32,
            exe_fd: u32::MAX, // keep /proc/PID/exe (see README)
        };
        let size = std::mem::size_of::<PrctlMmMap>() as u64;
        // SAFETY: PR_SET_MM_MAP reads `map` and the auxv array it points to,
        // both alive for the call; it writes no user memory.
        let ret = unsafe { libc::prctl(PR_SET_MM, PR_SET_MM_MAP, &map as *const PrctlMmMap as u64, size, 0u64) };
        ret == 0
    }
}
