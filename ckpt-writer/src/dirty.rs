//! Pages written since the last look, tracked by the kernel, for
//! pre-copy migration (migrate.rs).
//!
//! Mechanism: userfaultfd write protection in asynchronous mode
//! (UFFD_FEATURE_WP_ASYNC, Linux 6.7) read and re-armed with the
//! PAGEMAP_SCAN ioctl on /proc/PID/pagemap (PM_SCAN_WP_MATCHING): one
//! ioctl returns the pages written since the previous one and
//! write-protects them again, atomically per page table, while the target
//! runs. A write to a protected page is resolved by the kernel itself (no
//! fault handler runs; the page is just marked written again). This was
//! chosen over soft-dirty bits (clear_refs "4" + pagemap bit 55) because
//! this host's 6.18 kernel has CONFIG_MEM_SOFT_DIRTY off, and because a
//! soft-dirty round needs the target frozen between reading the bits and
//! clearing them (a write in between is lost otherwise).
//!
//! Setting up: the userfaultfd must belong to the target's mm, so the
//! frozen target makes it (an injected `userfaultfd(UFFD_USER_MODE_ONLY)`,
//! allowed with vm.unprivileged_userfaultfd=0); we take a copy with
//! pidfd_getfd and close the target's fd at once (an image must not see
//! it). The API handshake and the registrations then go through our copy
//! (the ioctls act on the context's mm, not the caller's). Every private
//! mapping that can hold stored pages is registered, one by one; one the
//! kernel refuses is simply not tracked: its pages are sent at the final
//! freeze. Memory mapped after the start (new mappings, a brk that made a
//! new VMA) is not registered either, and is sent at the final freeze.
//!
//! Tearing down: dropping the tracker closes the last reference to the
//! userfaultfd context; the kernel then unregisters every range and
//! removes every write-protect bit and marker, so the target is left
//! exactly as it was (and a final dump taken after that sees nothing of
//! it).
//!
//! Fallback: a kernel without these (CONFIG_USERFAULTFD off, before 6.7,
//! or a refused handshake) gives `None`; the migration then sends all
//! memory at the final freeze (stop-and-copy), and says so.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::error::{Error, Result};
use crate::freeze::Frozen;
use crate::inject::{find_syscall_insn, Injection};
use crate::memory::Mapping;
use crate::snapshot::RegionKind;

/// linux/userfaultfd.h.
const UFFD_API: u64 = 0xAA;
const UFFD_USER_MODE_ONLY: u64 = 1;
const UFFD_FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
const UFFDIO_REGISTER_MODE_WP: u64 = 1 << 1;
/// _IOWR(0xAA, 0x3F, struct uffdio_api) and _IOWR(0xAA, 0x00, struct uffdio_register).
const UFFDIO_API: libc::c_ulong = 0xC018_AA3F;
const UFFDIO_REGISTER: libc::c_ulong = 0xC020_AA00;

/// linux/fs.h: _IOWR('f', 16, struct pm_scan_arg), and its categories.
const PAGEMAP_SCAN: libc::c_ulong = 0xC060_6610;
const PM_SCAN_WP_MATCHING: u64 = 1 << 0;
const PAGE_IS_WPALLOWED: u64 = 1 << 0;
const PAGE_IS_WRITTEN: u64 = 1 << 1;
const PAGE_IS_FILE: u64 = 1 << 2;
const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_SWAPPED: u64 = 1 << 4;
const PAGE_IS_PFNZERO: u64 = 1 << 5;

const PAGE: u64 = 4096;
/// End of the scanned range: x86-64 user space.
const SCAN_END: u64 = image_format::v1::limits::USER_SPACE_END;
/// Regions returned per PAGEMAP_SCAN call.
const VEC_LEN: usize = 4096;

#[derive(Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[derive(Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct UffdioRegister {
    start: u64,
    len: u64,
    mode: u64,
    ioctls: u64,
}

#[derive(Default, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

#[derive(Default, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

/// The kernel's record of which pages of the target were written.
pub struct Tracker {
    pid: i32,
    /// Keeps the userfaultfd context (and so the registrations) alive.
    _uffd: OwnedFd,
    pagemap: File,
    /// Mappings registered, and mappings the kernel refused.
    pub registered: usize,
    pub refused: usize,
}

/// Whether pages of `m` are tracked: private mappings that can hold
/// stored pages. Shared memory is written by other processes too, whose
/// writes no tracking of this process sees; it is sent at the final freeze.
fn trackable(m: &Mapping) -> bool {
    m.can_store() && !m.region.shared && !matches!(m.region.kind, RegionKind::Vdso | RegionKind::Vvar | RegionKind::VvarVclock)
}

impl Tracker {
    /// Starts tracking the frozen target's private memory. `Ok(Err(why))`:
    /// this kernel cannot (see the module comment).
    pub fn start(frozen: &mut Frozen, mappings: &[Mapping]) -> Result<std::result::Result<Tracker, String>> {
        let pid = frozen.pid();
        let uffd = match target_userfaultfd(frozen, mappings)? {
            Ok(fd) => fd,
            Err(why) => return Ok(Err(why)),
        };
        let mut api = UffdioApi { api: UFFD_API, features: UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, ioctls: 0 };
        // SAFETY: UFFDIO_API reads and writes one struct uffdio_api, which
        // `api` is (repr(C), the kernel's layout).
        if unsafe { libc::ioctl(uffd.as_raw_fd(), UFFDIO_API, api.as_mut_bytes().as_mut_ptr()) } < 0 {
            return Ok(Err(format!("UFFDIO_API with WP_ASYNC: {}", std::io::Error::last_os_error())));
        }
        let (mut registered, mut refused) = (0, 0);
        for m in mappings.iter().filter(|m| trackable(m)) {
            let mut reg = UffdioRegister { start: m.region.start, len: m.region.end - m.region.start, mode: UFFDIO_REGISTER_MODE_WP, ioctls: 0 };
            // SAFETY: UFFDIO_REGISTER reads and writes one struct
            // uffdio_register, which `reg` is.
            if unsafe { libc::ioctl(uffd.as_raw_fd(), UFFDIO_REGISTER, reg.as_mut_bytes().as_mut_ptr()) } < 0 {
                refused += 1;
            } else {
                registered += 1;
            }
        }
        let pagemap = File::open(format!("/proc/{pid}/pagemap"))
            .map_err(|_| Error::TargetGone { pid, during: "opening /proc/PID/pagemap".into() })?;
        Ok(Ok(Tracker { pid, _uffd: uffd, pagemap, registered, refused }))
    }

    /// Pages of tracked memory written since the last call (all present
    /// or swapped ones the first time), write-protected again by the same
    /// ioctl: read their contents after this call, and a later write shows
    /// in the next one. Pages of the file under a private file mapping
    /// (not copied on write) are left out: an image does not store them.
    pub fn take_written(&self) -> Result<Vec<(u64, u64)>> {
        let regions = self.scan(PM_SCAN_WP_MATCHING, PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN, PAGE_IS_PRESENT | PAGE_IS_SWAPPED, PAGE_IS_FILE | PAGE_IS_SWAPPED)?;
        Ok(regions
            .into_iter()
            .filter(|r| r.categories & PAGE_IS_FILE == 0 || r.categories & PAGE_IS_SWAPPED != 0)
            .map(|r| (r.start, r.end))
            .collect())
    }

    /// Page ranges (start, end) of tracked memory not written since the
    /// last `take_written` and not the shared zero page (an anonymous page
    /// dropped with MADV_DONTNEED and read again maps the zero page without
    /// counting as written): their contents are what was read then. Call
    /// with the target frozen.
    pub fn unwritten(&self) -> Result<Vec<(u64, u64)>> {
        let regions = self.scan(0, PAGE_IS_WPALLOWED, 0, PAGE_IS_WRITTEN | PAGE_IS_PFNZERO)?;
        Ok(regions.into_iter().filter(|r| r.categories == 0).map(|r| (r.start, r.end)).collect())
    }

    fn scan(&self, flags: u64, mask: u64, anyof: u64, ret: u64) -> Result<Vec<PageRegion>> {
        let mut out = Vec::new();
        let mut vec = vec![PageRegion::default(); VEC_LEN];
        let mut start = 0u64;
        while start < SCAN_END {
            let mut arg = PmScanArg {
                size: std::mem::size_of::<PmScanArg>() as u64,
                flags,
                start,
                end: SCAN_END,
                vec: vec.as_mut_ptr() as u64,
                vec_len: VEC_LEN as u64,
                category_mask: mask,
                category_anyof_mask: anyof,
                return_mask: ret,
                ..PmScanArg::default()
            };
            // SAFETY: PAGEMAP_SCAN reads and writes one struct pm_scan_arg
            // (`arg`) and writes at most vec_len struct page_region into
            // `vec`, which has that many.
            let n = unsafe { libc::ioctl(self.pagemap.as_raw_fd(), PAGEMAP_SCAN, arg.as_mut_bytes().as_mut_ptr()) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if !std::path::Path::new(&format!("/proc/{}", self.pid)).exists() {
                    return Err(Error::TargetGone { pid: self.pid, during: "scanning its written pages".into() });
                }
                return Err(Error::sys(format!("PAGEMAP_SCAN of pid {}", self.pid), e));
            }
            out.extend_from_slice(&vec[..n as usize]);
            if arg.walk_end <= start || arg.walk_end >= SCAN_END {
                break;
            }
            start = arg.walk_end;
        }
        debug_assert!(out.iter().all(|r| r.start % PAGE == 0 && r.end % PAGE == 0));
        Ok(out)
    }
}

/// Makes the frozen target create a userfaultfd; returns our copy of it
/// (the target's own fd is closed again).
fn target_userfaultfd(frozen: &mut Frozen, mappings: &[Mapping]) -> Result<std::result::Result<OwnedFd, String>> {
    let pid = frozen.pid();
    let mem = File::options()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .map_err(|_| Error::TargetGone { pid, during: "opening /proc/PID/mem".into() })?;
    let insn = mappings
        .iter()
        .map(|m| &m.region)
        .find(|r| r.kind == RegionKind::Vdso)
        .and_then(|r| find_syscall_insn(&mem, r.start, r.end));
    let tid = *frozen.tids().first().ok_or(Error::TargetGone { pid, during: "tracking writes".into() })?;
    let mut inj = Injection::begin(frozen, &mem, tid, insn)?;
    let flags = (libc::O_CLOEXEC | libc::O_NONBLOCK) as u64 | UFFD_USER_MODE_ONLY;
    let fd = inj.syscall(libc::SYS_userfaultfd, [flags, 0, 0, 0, 0, 0])?;
    if fd < 0 {
        inj.end()?;
        return Ok(Err(format!("userfaultfd in the target: {}", std::io::Error::from_raw_os_error(-fd as i32))));
    }
    let copy = crate::fds_shared::copy_of_fd(pid, fd as i32);
    let closed = inj.syscall(libc::SYS_close, [fd as u64, 0, 0, 0, 0, 0]);
    inj.end()?;
    let copy = copy?;
    if closed? != 0 {
        return Err(Error::sys(format!("closing the userfaultfd {fd} made in pid {pid}"), std::io::Error::other("close failed")));
    }
    Ok(Ok(copy))
}
