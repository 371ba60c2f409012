// SPDX-License-Identifier: GPL-2.0
//! The module as the shared policy's host: the facts `policy::check` asks
//! for, gathered in the kernel with the caller's credentials before the
//! point of no return, and the mapped files kept open for the restore. No
//! `unsafe` here: the kernel is reached through glue.rs.

use kernel::prelude::*;

use crate::glue::{self, CallerVdso, Exec, OpenFile};
use crate::image_format::{FormatError, Image};
use crate::policy::{self, Detail, FileFacts, MappedFile, Reason, Refusal, VdsoHere};
use crate::prepare::STUB;

/// The facts of one exec, and the files it keeps.
pub(crate) struct KernelHost<'e, 'a> {
    pub(crate) exec: &'e Exec<'a>,
    /// The files the image maps, in order of first use.
    pub(crate) files: KVec<OpenFile>,
    /// For each region, the index in `files` of its file (`u32::MAX`: none).
    pub(crate) file_of: KVVec<u32>,
    vdso: Option<CallerVdso>,
    /// Where the image lies in the file: a tree member's offset, else 0.
    pub(crate) base: u64,
}

impl<'e, 'a> KernelHost<'e, 'a> {
    pub(crate) fn new(exec: &'e Exec<'a>, regions: usize) -> Result<Self, Refusal> {
        let file_of = KVVec::from_elem(u32::MAX, regions, GFP_KERNEL).map_err(|_| Refusal::from(Reason::OutOfMemory))?;
        Ok(KernelHost { exec, files: KVec::new(), file_of, vdso: None, base: 0 })
    }
}

/// A kernel error as the policy's positive errno.
fn errno_of(e: Error) -> i32 {
    e.to_errno().saturating_neg()
}

impl policy::Host for KernelHost<'_, '_> {
    type File = OpenFile;

    fn grants_privilege(&mut self) -> bool {
        !self.exec.grants_no_privilege()
    }

    fn cpu_xstate(&mut self) -> (u64, u32) {
        glue::cpu_xstate()
    }

    fn rlimit_nproc(&mut self) -> u64 {
        glue::rlimit_nproc()
    }

    fn rlimit_sigpending(&mut self) -> u64 {
        glue::rlimit_sigpending()
    }

    fn memlock_allowance(&mut self) -> u64 {
        glue::memlock_allowance()
    }

    fn may_set_creds(&mut self) -> bool {
        glue::may_set_creds()
    }

    fn rlimit_as(&mut self) -> u64 {
        glue::rlimit_as()
    }

    fn max_map_count(&mut self) -> u64 {
        glue::max_map_count()
    }

    fn task_size(&mut self) -> u64 {
        glue::task_size()
    }

    fn stub_len(&self) -> u64 {
        STUB.len() as u64
    }

    /// The module maps the image itself; the plan carries only the
    /// mprotect steps of regions it copies pages into (prepare.rs).
    fn plan_ops(&self, image: &Image<'_>) -> usize {
        crate::policy::region_pages(image, |i| crate::prepare::tree_object(image, i)).filter(|(_, _, _, p)| p.final_prot.is_some()).count()
    }

    /// execve already refused an image on a noexec mount; what is left is
    /// whether its filesystem can map it at all.
    fn image_mappable(&mut self, _exec: bool) -> bool {
        self.exec.image_mappable()
    }

    fn open(&mut self, path: &[u8], flags: u32) -> Result<OpenFile, i32> {
        OpenFile::open(path, flags).map_err(errno_of)
    }

    fn facts(&mut self, file: &OpenFile) -> Result<FileFacts, i32> {
        let id = file.identity().map_err(errno_of)?;
        Ok(FileFacts {
            dev: id.dev,
            ino: id.ino,
            size: id.size,
            mtime_sec: id.mtime_sec,
            mtime_nsec: id.mtime_nsec as u32,
            mode: id.mode,
            rdev: id.rdev,
            noexec: id.noexec != 0,
        })
    }

    fn keep_mapped(&mut self, region: u32, file: MappedFile<OpenFile>) -> Result<(), Refusal> {
        if let MappedFile::New(f) = file {
            self.files.push(f, GFP_KERNEL).map_err(|_| Refusal::from(Reason::OutOfMemory))?;
        }
        let index = self.files.len().checked_sub(1).ok_or(Refusal::from(Reason::Internal))?;
        if let Some(slot) = self.file_of.get_mut(region as usize) {
            *slot = index as u32;
        }
        Ok(())
    }

    fn cwd(&mut self, path: &[u8]) -> Result<(), i32> {
        glue::cwd_check(path).map_err(errno_of)
    }

    fn vdso_here(&mut self) -> Option<VdsoHere> {
        self.vdso = glue::caller_vdso();
        // 6.12 has no [vvar_vclock] (6.13 added it).
        self.vdso.map(|v| VdsoHere { vvar_len: v.vvar_len, vvar_vclock_len: None, vdso_len: v.bytes.len() as u64 })
    }

    /// The stored vdso against this kernel's: the bytes of the caller's
    /// vdso image, read in the kernel, not through the caller's mapping.
    /// They are what the stub's ARCH_MAP_VDSO_64 maps.
    fn vdso_matches(&mut self, stored_offset: u64, len: u64) -> Result<bool, Refusal> {
        let here = self.vdso.ok_or(Refusal::from(Reason::CallerHasNoVdso))?;
        let oom = |_| Refusal::from(Reason::OutOfMemory);
        let len = usize::try_from(len).map_err(|_| Refusal::from(Reason::VdsoLayoutDiffers))?;
        let live = here.bytes.get(..len).ok_or(Refusal::from(Reason::VdsoLayoutDiffers))?;
        let mut stored = KVVec::from_elem(0u8, len, GFP_KERNEL).map_err(oom)?;
        self.exec
            .read_exact_at(self.base.saturating_add(stored_offset), &mut stored)
            .map_err(|e| Refusal::with_errno(Reason::ImageReadError, errno_of(e), Detail::None))?;
        Ok(stored[..] == live[..])
    }

    fn yield_now(&mut self) -> Result<(), Refusal> {
        glue::yield_now().map_err(|_| Refusal::from(FormatError::Interrupted))
    }

    fn probe_socket(&mut self, probe: &policy::SocketProbe<'_>) -> Result<(), i32> {
        glue::socket_probe(probe)
    }

    /// The restored process's exe is the image the caller executed.
    fn exe_is_image(&self) -> bool {
        true
    }

    fn may_replace_exe(&mut self) -> bool {
        glue::may_replace_exe()
    }

    fn may_install_seccomp(&mut self) -> bool {
        glue::may_install_seccomp()
    }

    fn fd_limits(&mut self) -> policy::FdLimits {
        glue::fd_limits()
    }

    fn rlimit_nofile(&mut self) -> u64 {
        glue::rlimit_nofile()
    }

    fn fd_facts(&mut self, fd: u64) -> Result<FileFacts, i32> {
        glue::fd_mode(fd).map(|mode| FileFacts { mode, ..FileFacts::default() }).map_err(errno_of)
    }
}
