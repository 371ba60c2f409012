// SPDX-License-Identifier: GPL-2.0
//! Every check before the point of no return, in order. Both restorers
//! call [`check`] with a validated image; a refusal leaves the caller as
//! it was. The restorer then finds the block's place ([`super::find_hole`])
//! and builds the plan.

use super::files::{check_reopened, mapped_open_flags, open_failure, reopen_check_flags, reopen_type, same_file, writable_shared, OpenWhat};
use super::files::{shared_check_flags, shared_reopen_type};
use super::fmt::records::{prot, region_flags};
use super::fmt::{check_cpu, Fd, FdDisposition, Image, RegionKind, TimerKind};
use super::footprint::{check_footprint, Footprint};
use super::host::{Host, MappedFile};
use super::plan::{self, PAGE};
use super::reason::{Detail, Reason, Refusal};
use super::regions::{check_region, may_map_from_image};
use super::vdso::{vdso_plan, Special};

/// What the checks found that the restore needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Where the stub maps the vdso (the image's [vvar]), 0 for none.
    pub vdso_base: u64,
    /// The restored process's mappings and bytes at most.
    pub footprint: Footprint,
    /// The plan's layout for [`Host::plan_ops`] memory steps.
    pub layout: plan::Layout,
    /// The stub makes /proc/PID/exe name the original program
    /// (`plan::set_exe_link`; [`exe_link`]).
    pub exe_link: bool,
    /// The stub gives the restored process the image's credentials
    /// (`plan::set_creds`): the image records them and the caller may set
    /// any (root); else it keeps the caller's.
    pub set_creds: bool,
}

/// Checks `image` (already validated) against the caller and this machine.
pub fn check<H: Host>(image: &Image<'_>, host: &mut H) -> Result<Checked, Refusal> {
    if host.grants_privilege() {
        return Err(Reason::GrantsPrivilege.into());
    }
    let (xcr0, xsave_size) = host.cpu_xstate();
    check_cpu(&image.process, xcr0, xsave_size)?;
    // The stub clones every thread after the point of no return.
    let nproc = host.rlimit_nproc();
    if u64::from(image.thread_count()) > nproc {
        let need = u64::from(image.thread_count());
        return Err(Refusal::new(Reason::ExceedsRlimitNproc, Detail::Limit { need, limit: nproc }));
    }
    // The stub queues signals and creates POSIX timers under the caller's
    // RLIMIT_SIGPENDING (the image's limits come last): a queued signal
    // with si_code < 0 (sigqueue, tgkill) and every POSIX timer take one
    // of its slots. The kernel counts the user's other processes too, so
    // this is a lower bound: beyond it the restore would surely fail.
    let need = sigpending_need(image);
    let sigpending = host.rlimit_sigpending();
    if need > sigpending {
        return Err(Refusal::new(Reason::ExceedsRlimitSigpending, Detail::Limit { need, limit: sigpending }));
    }
    let layout = plan::layout(image, host.plan_ops(image))?;
    let block_len = layout.len.saturating_add(host.stub_len().next_multiple_of(PAGE));
    let scan = scan_regions(image, host, Footprint::block(block_len))?;
    if scan.maps_image && !host.image_mappable(scan.maps_exec) {
        return Err(Reason::ImageNotMappable.into());
    }
    check_footprint(scan.footprint, host.max_map_count(), host.rlimit_as())?;
    // The stub locks the image's mlocked regions again under the caller's
    // RLIMIT_MEMLOCK (a new mm: nothing else of it is locked yet).
    if scan.locked > 0 {
        let limit = host.memlock_allowance();
        if scan.locked > limit {
            return Err(Refusal::new(Reason::ExceedsRlimitMemlock, Detail::Limit { need: scan.locked, limit }));
        }
    }

    // Seccomp filters: seccomp(2) installs them for a process with
    // no_new_privs (the image's, set before them) or a caller with
    // CAP_SYS_ADMIN; else the stub would fail after the point of no return.
    let nnp = image.process_attrs().flags & super::fmt::attr_flags::NO_NEW_PRIVS != 0;
    if image.seccomp_filters().next().is_some() && !nnp && !host.may_install_seccomp() {
        return Err(Reason::SeccompNotPermitted.into());
    }

    let vdso_base = match vdso_plan(image, &scan.special, host.vdso_here())? {
        Some(v) if !host.vdso_matches(v.stored_offset, v.len)? => return Err(Reason::VdsoDiffers.into()),
        Some(v) => v.base,
        None => 0,
    };
    check_fds(image, host)?;
    // The limits are facts a restorer reads (the module through procfs):
    // asked for only when there are descriptions to check against them.
    if image.files().next().is_some() {
        let limits = host.fd_limits();
        super::fdkinds::check_fd_kinds(image, &limits, &mut || host.yield_now())?;
    }
    // A directory removed before the dump is gone for good: one of the
    // same name now would be another directory, and recreating it would
    // change the file system as a side effect of an exec.
    if image.process.cwd_removed != 0 {
        return Err(Refusal::new(Reason::CwdRemoved, Detail::Cwd));
    }
    super::sockets::check_sockets(image, host)?;
    super::inotify::check_inotify(image, host)?;
    super::fifo::check_fifos(image, host)?;
    super::terminal::check_terminals(image, host)?;
    let cwd = image.string(image.process.cwd);
    if !cwd.is_empty() {
        host.cwd(cwd).map_err(|errno| open_failure(errno, OpenWhat::Cwd, Detail::Cwd))?;
    }
    let exe_link = exe_link(image, host.may_replace_exe(), host.exe_is_image());
    let set_creds = image.creds().is_some() && host.may_set_creds();
    Ok(Checked { vdso_base, footprint: scan.footprint, layout, exe_link, set_creds })
}

/// Whether the stub can make /proc/PID/exe name the original program
/// (PR_SET_MM_MAP with its fd): the caller has CAP_CHECKPOINT_RESTORE or
/// CAP_SYS_ADMIN (`privileged`),
/// the program is a file the image maps, the same file as at dump (the
/// region scan verified every mapped file), and the restorer's own exe is
/// no longer mapped then (`exe_is_image`: the module's is the image, mapped
/// where stored pages are mapped from it). Else the link keeps naming the
/// image or ckpt-restore, as documented; the stub ignores a failure (an
/// LSM, a program replaced since the checks).
pub fn exe_link(image: &Image<'_>, privileged: bool, exe_is_image: bool) -> bool {
    let exe = image.string(image.process.exe_path);
    let mapped = image.regions().any(|r| r.kind == RegionKind::File && r.file_id == image.process.exe_id && image.string(r.path) == exe);
    let image_mapped = exe_is_image
        && super::regions::region_pages(image, |_| false)
            .any(|(_, r, map, p)| r.run_count != 0 && map != super::regions::RegionMap::Kernel && p.run_flags.is_some());
    privileged && !exe.is_empty() && mapped && !image_mapped
}

/// What one pass over the regions found.
struct Scan {
    footprint: Footprint,
    special: Special,
    /// Some stored page is mapped from the image; one of them executable.
    maps_image: bool,
    maps_exec: bool,
    /// Bytes of the regions the stub mlocks again (LOCKED).
    locked: u64,
}

/// One pass over the regions (the image decides how many; the host may
/// yield at each): per-region refusals, the footprint, the vdso's regions,
/// and the files the image maps, opened now with the caller's credentials,
/// compared with what the dump recorded, and kept. Consecutive regions of
/// one file (text, data, bss) share one open, unless one of them needs it
/// writable.
fn scan_regions<H: Host>(image: &Image<'_>, host: &mut H, block: Footprint) -> Result<Scan, Refusal> {
    let task_size = host.task_size();
    let mut scan = Scan { footprint: block, special: Special::default(), maps_image: false, maps_exec: false, locked: 0 };
    let mut last_path: Option<&[u8]> = None;
    for (i, r) in image.regions().enumerate() {
        host.yield_now()?;
        let index = i as u32;
        check_region(index, &r, task_size)?;
        scan.footprint.add(image, &r);
        scan.special.note(&r);
        if r.flags & region_flags::LOCKED != 0 {
            scan.locked = scan.locked.saturating_add(r.end - r.start);
        }
        if r.run_count != 0 && may_map_from_image(&r) {
            scan.maps_image = true;
            scan.maps_exec |= r.prot & prot::EXEC != 0;
        }
        if r.kind != RegionKind::File {
            continue;
        }
        let path = image.string(r.path);
        let writable = writable_shared(&r);
        if last_path == Some(path) && !writable {
            host.keep_mapped(index, MappedFile::SameAsPrevious)?;
            continue;
        }
        let at = Detail::Region(index);
        let file = host.open(path, mapped_open_flags(&r)).map_err(|errno| open_failure(errno, OpenWhat::Mapped, at))?;
        let facts = host.facts(&file).map_err(|errno| Refusal::with_errno(Reason::MappedFileStatFailed, errno, at))?;
        if !same_file(&facts, &r.file_id) {
            return Err(Refusal::new(Reason::MappedFileChanged, at));
        }
        if facts.noexec && r.prot & prot::EXEC != 0 {
            return Err(Refusal::new(Reason::MappedFileNoexec, at));
        }
        host.keep_mapped(index, MappedFile::New(file))?;
        last_path = if writable { None } else { Some(path) };
    }
    Ok(scan)
}

/// Every fd the stub will reopen can be opened now, by the caller, and is
/// still the kind of file it was.
fn check_fds<H: Host>(image: &Image<'_>, host: &mut H) -> Result<(), Refusal> {
    for fd in image.fds() {
        host.yield_now()?;
        if fd.disposition == FdDisposition::Shared {
            check_shared(image, host, &fd)?;
            continue;
        }
        if fd.disposition != FdDisposition::Reopen {
            continue;
        }
        let at = Detail::Fd(fd.fd);
        reopen_type(&fd)?;
        let file = host.open(image.string(fd.path), reopen_check_flags(&fd)).map_err(|errno| open_failure(errno, OpenWhat::Fd, at))?;
        let facts = host.facts(&file).map_err(|errno| Refusal::with_errno(Reason::FdFileStatFailed, errno, at))?;
        check_reopened(&fd, &facts)?;
    }
    Ok(())
}

/// A shared description that the stub opens by path can be opened now, by
/// the caller, and is still the kind of file it was (checked once per fd
/// that shares it, each named by its fd).
fn check_shared<H: Host>(image: &Image<'_>, host: &mut H, fd: &Fd) -> Result<(), Refusal> {
    let Some(file) = image.file(fd.file) else { return Ok(()) };
    let Some(want) = shared_reopen_type(&file) else { return Ok(()) };
    let at = Detail::Fd(fd.fd);
    let opened = host.open(image.string(file.path), shared_check_flags(&file)).map_err(|errno| open_failure(errno, OpenWhat::Fd, at))?;
    let facts = host.facts(&opened).map_err(|errno| Refusal::with_errno(Reason::FdFileStatFailed, errno, at))?;
    if facts.mode & 0o170_000 != want {
        return Err(Refusal::new(Reason::FdFileChanged, at));
    }
    Ok(())
}

/// The RLIMIT_SIGPENDING slots the stub takes: queued signals whose
/// si_code is negative (the kernel charges those, and drops a standard
/// signal's siginfo when over the limit), and POSIX timers.
fn sigpending_need(image: &Image<'_>) -> u64 {
    let charged = image.pending_signals().filter(|p| {
        let code = p.siginfo.get(8..12).and_then(|b| b.try_into().ok()).map_or(0, i32::from_le_bytes);
        code < 0
    });
    let timers = image.timers().filter(|t| t.kind == TimerKind::Posix);
    (charged.count() + timers.count()) as u64
}
