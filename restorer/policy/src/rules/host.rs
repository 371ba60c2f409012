// SPDX-License-Identifier: GPL-2.0
//! The facts a restorer gathers for the policy, and what it keeps for the
//! restore. The module answers from the kernel (with the caller's
//! credentials, before the point of no return); ckpt-restore from system
//! calls. Errors of calls are positive errno values.

use super::files::FileFacts;
use super::fmt::Image;
use super::reason::Refusal;
use super::vdso::VdsoHere;

/// The file a region maps.
pub enum MappedFile<F> {
    /// Opened for this region.
    New(F),
    /// The file of the previous file region (text, data and bss of one
    /// program share one open).
    SameAsPrevious,
}

/// One restorer's view of the caller and this machine.
pub trait Host {
    /// An open file the restorer keeps.
    type File;

    /// Whether executing the image would grant a privilege (a setuid or
    /// setgid image, file capabilities): refused, never ignored.
    fn grants_privilege(&mut self) -> bool;
    /// This CPU's enabled XSAVE features (XCR0) and the size of an XSAVE
    /// area for them.
    fn cpu_xstate(&mut self) -> (u64, u32);
    /// The caller's RLIMIT_NPROC (soft).
    fn rlimit_nproc(&mut self) -> u64;
    /// The caller's RLIMIT_AS (soft).
    fn rlimit_as(&mut self) -> u64;
    /// The caller's RLIMIT_SIGPENDING (soft).
    fn rlimit_sigpending(&mut self) -> u64;
    /// Whether the caller may give the restored process any credentials:
    /// CAP_SETUID, CAP_SETGID and CAP_SETPCAP in the initial user
    /// namespace (root).
    fn may_set_creds(&mut self) -> bool;
    /// Bytes the caller may lock (mlock): RLIMIT_MEMLOCK's soft limit,
    /// or `u64::MAX` with CAP_IPC_LOCK.
    fn memlock_allowance(&mut self) -> u64;
    /// vm.max_map_count.
    fn max_map_count(&mut self) -> u64;
    /// The end of user address space for the restored process.
    fn task_size(&mut self) -> u64;
    /// Length of the stub's blob.
    fn stub_len(&self) -> u64;
    /// The number of memory steps the plan will carry for `image` at most
    /// (the userspace restorer's teardown and mappings; none for the module).
    fn plan_ops(&self, image: &Image<'_>) -> usize;
    /// Whether pages can be mapped from the image file (`exec`: some
    /// executable): its filesystem supports mmap, and is not noexec.
    fn image_mappable(&mut self, exec: bool) -> bool;
    /// Opens `path` with the caller's credentials and open(2) `flags`.
    fn open(&mut self, path: &[u8], flags: u32) -> Result<Self::File, i32>;
    /// fstat of an open file, and whether its mount is noexec.
    fn facts(&mut self, file: &Self::File) -> Result<FileFacts, i32>;
    /// Keeps the file region `region` maps, for the restore.
    fn keep_mapped(&mut self, region: u32, file: MappedFile<Self::File>) -> Result<(), Refusal>;
    /// Whether the caller could make `path` its working directory (it
    /// exists, is a directory, and may be searched): chdir's errno if not.
    fn cwd(&mut self, path: &[u8]) -> Result<(), i32>;
    /// The caller's vdso layout, `None` if it has no vdso.
    fn vdso_here(&mut self) -> Option<VdsoHere>;
    /// Whether the `len` stored bytes at `stored_offset` in the image equal
    /// the caller's vdso.
    fn vdso_matches(&mut self, stored_offset: u64, len: u64) -> Result<bool, Refusal>;
    /// What the caller may create of open file descriptions.
    fn fd_limits(&mut self) -> FdLimits;
    /// Tries `probe` on a throwaway socket of the caller (its network
    /// namespace, its credentials): the failed call's errno.
    fn probe_socket(&mut self, probe: &super::sockets::SocketProbe<'_>) -> Result<(), i32>;
    /// Whether the restored process's /proc/PID/exe is the image itself
    /// (the module: the exec'd file), which the kernel will not replace
    /// while any of it is mapped; ckpt-restore's own program is unmapped
    /// by the time the stub replaces it.
    fn exe_is_image(&self) -> bool {
        false
    }
    /// Whether the caller may give the process a new /proc/PID/exe
    /// (PR_SET_MM_MAP's exe_fd: CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN).
    fn may_replace_exe(&mut self) -> bool {
        false
    }
    /// Whether the caller may install seccomp filters on a process without
    /// no_new_privs (CAP_SYS_ADMIN).
    fn may_install_seccomp(&mut self) -> bool {
        false
    }
    /// The caller's RLIMIT_NOFILE (soft): a tree's fds lie below it.
    fn rlimit_nofile(&mut self) -> u64 {
        u64::MAX
    }
    /// fstat of the caller's fd `fd` (a tree member's inherited objects):
    /// EBADF if it is not open.
    fn fd_facts(&mut self, _fd: u64) -> Result<FileFacts, i32> {
        Err(super::reason::errno::EBADF)
    }
    /// Called between steps of work whose length the image decides: the
    /// module yields the CPU and stops on a fatal signal (refusing with
    /// `FormatError::Interrupted`, the validator's own reason for it).
    fn yield_now(&mut self) -> Result<(), Refusal> {
        Ok(())
    }
}

/// What the caller may create of open file descriptions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdLimits {
    /// fs.pipe-max-size: the largest pipe F_SETPIPE_SZ gives an
    /// unprivileged caller.
    pub pipe_max_size: u64,
    /// The caller has CAP_SYS_RESOURCE (may exceed pipe-max-size).
    pub exceed_pipe_max: bool,
    /// The caller has CAP_WAKE_ALARM (timerfds on alarm clocks).
    pub wake_alarm: bool,
}
