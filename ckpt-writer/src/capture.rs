//! Collects a `Snapshot` from a frozen process: ptrace reads, injected
//! syscalls, then /proc (memory last, after every injection is undone).

use std::fs::File;
use std::time::{SystemTime, UNIX_EPOCH};

use procfs::process::{MMapPath, Process};
use zerocopy::IntoBytes;

use crate::error::{Error, Result};
use crate::fds::{read_fds_in, TreeFds};
use crate::locks::read_locks;
use crate::freeze::Frozen;
use crate::inject::{find_syscall_insn, Injection};
use crate::memory::{choose_pages, list_mappings, Mapping, VmFlagsRead};
use crate::process::read_process;
use crate::regs;
use crate::restored::join_heap;
use crate::signals::read_pending;
use crate::timers::read_timers;
use crate::snapshot::{AltStack, KernelStack, ProcessState, SigAction, Snapshot, ThreadState};

const SIGKILL: usize = 9;
const SIGSTOP: usize = 19;
const PR_GET_TID_ADDRESS: u64 = 40;
const PR_GET_PDEATHSIG: u64 = 2;
const PR_GET_DUMPABLE: u64 = 3;
const PR_GET_CHILD_SUBREAPER: u64 = 37;
/// membarrier(2): the mask of REGISTER_* commands of the process (6.3+).
const MEMBARRIER_CMD_GET_REGISTRATIONS: u64 = 1 << 9;

/// Captures everything the image records, but for the pages to store:
/// the regions are left empty and their mappings returned, for
/// `choose_regions` (at once, or from a copy-on-write fork).
pub fn capture(frozen: &mut Frozen, allow_unsupported: bool) -> Result<(Snapshot, Vec<Mapping>)> {
    capture_with(frozen, allow_unsupported, TreeFds::default(), true)
}

/// `capture` of one process of a tree, with what the tree holds between
/// its processes (fds.rs `TreeFds`).
pub fn capture_in(frozen: &mut Frozen, allow_unsupported: bool, tree: TreeFds<'_>) -> Result<(Snapshot, Vec<Mapping>)> {
    capture_with(frozen, allow_unsupported, tree, true)
}

/// `capture` of a process about to fork its copy-on-write snapshot
/// (cow.rs): what the fork inherits exactly (`Inherited`) is left out, to
/// be read from the fork once the target runs again (`set_inherited`),
/// which spares the frozen target 63 of its injected syscalls and its
/// /proc files of process-wide state.
pub fn capture_before_fork(frozen: &mut Frozen, allow_unsupported: bool) -> Result<(Snapshot, Vec<Mapping>)> {
    capture_with(frozen, allow_unsupported, TreeFds::default(), false)
}

/// Process-wide state that a fork (clone without CLONE_VM, CLONE_SIGHAND,
/// CLONE_FS) copies unchanged from its parent: the signal actions
/// (copy_sighand copies the table), mm->brk and the rest of the mm layout
/// and auxv (dup_mm copies the mm), and what `read_process` reads: comm,
/// exe, cwd and umask (copy_fs), personality, rlimits (copy_signal).
pub struct Inherited {
    /// 64 entries; index i is signal i + 1.
    pub sigactions: Vec<SigAction>,
    /// brk(0): the exact mm->brk (the [heap] end is page rounded).
    pub brk: u64,
    /// `read_process` of the fork, when read from it (`set_inherited`
    /// keeps the target's pid, membarrier and pdeath_signal).
    pub process: Option<ProcessState>,
}

/// Reads `Inherited` by injected syscalls in `inj`'s thread (without
/// `process`).
pub fn read_inherited(inj: &mut Injection<'_>, tid: i32) -> Result<Inherited> {
    let scratch = inj.scratch;
    let mut sigactions = vec![SigAction::default(); 64];
    for (i, sa) in sigactions.iter_mut().enumerate() {
        if i + 1 == SIGKILL || i + 1 == SIGSTOP {
            continue;
        }
        check(tid, "rt_sigaction", inj.syscall(libc::SYS_rt_sigaction, [i as u64 + 1, 0, scratch, 8, 0, 0])?)?;
        inj.read_scratch(sa.as_mut_bytes())?;
    }
    let brk = inj.syscall(libc::SYS_brk, [0; 6])? as u64;
    Ok(Inherited { sigactions, brk, process: None })
}

/// Puts `Inherited` (read from the fork) into a `capture_before_fork`
/// snapshot.
pub fn set_inherited(snap: &mut Snapshot, inherited: Inherited) {
    snap.sigactions = inherited.sigactions;
    if let Some(p) = inherited.process {
        let own = std::mem::replace(&mut snap.process, p);
        snap.process.pid = own.pid;
        snap.process.membarrier = own.membarrier;
        snap.process.pdeath_signal = own.pdeath_signal;
        // Injected into the target itself: a fork has no subreaper mark.
        snap.process.child_subreaper = own.child_subreaper;
        snap.process.not_dumpable = own.not_dumpable;
        snap.process.thp_disabled = own.thp_disabled;
        snap.process.oom_score_adj = own.oom_score_adj;
        snap.fd_notes.extend(cwd_note(&snap.process));
    }
    snap.process.mm.brk = inherited.brk;
}

/// What the summary says of a removed working directory.
fn cwd_note(process: &ProcessState) -> Option<String> {
    process.cwd_removed.then(|| {
        format!(
            "the working directory {} was removed: both restorers refuse this image (cwd-removed)",
            String::from_utf8_lossy(&process.cwd)
        )
    })
}

fn capture_with(
    frozen: &mut Frozen,
    allow_unsupported: bool,
    tree: TreeFds<'_>,
    inherited: bool,
) -> Result<(Snapshot, Vec<Mapping>)> {
    let pid = frozen.pid();
    let mem = File::options()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .map_err(|_| Error::TargetGone { pid, during: "opening /proc/PID/mem".into() })?;
    let maps = Process::new(pid)
        .and_then(|p| p.maps())
        .map_err(|_| Error::TargetGone { pid, during: "reading /proc/PID/maps".into() })?;
    let insn = maps
        .iter()
        .find(|m| m.pathname == MMapPath::Vdso)
        .and_then(|m| find_syscall_insn(&mem, m.address.0, m.address.1));

    let tids = frozen.tids().to_vec();
    let mut threads = Vec::with_capacity(tids.len());
    for &tid in &tids {
        let live = regs::get_regs(pid, tid)?;
        threads.push(ThreadState {
            tid,
            regs: regs::restart_adjusted(&live),
            xsave: regs::get_xsave(pid, tid)?,
            sigmask: regs::get_sigmask(pid, tid)?,
            altstack: AltStack::default(),
            clear_child_tid: 0,
            robust_list: regs::get_robust_list(pid, tid)?,
            rseq: regs::get_rseq(pid, tid)?,
            comm: thread_comm(pid, tid)?,
        });
    }

    // Left empty (and brk 0) when the fork is to give them (capture_before_fork).
    let mut sigactions = vec![SigAction::default(); 64];
    let mut brk = 0;
    let mut timers = Vec::new();
    let mut membarrier = 0;
    let mut pdeath_signal = 0;
    let mut child_subreaper = false;
    let mut not_dumpable = false;
    let mut thp_disabled = false;
    for (n, t) in threads.iter_mut().enumerate() {
        let mut inj = Injection::begin(frozen, &mem, t.tid, insn)?;
        let scratch = inj.scratch;
        // Process-wide state is read once, in the first thread.
        if n == 0 {
            if inherited {
                Inherited { sigactions, brk, .. } = read_inherited(&mut inj, t.tid)?;
            }
            timers = read_timers(&mut inj, pid, t.tid)?;
            // Before 6.3 the kernel cannot tell (EINVAL): recorded as none.
            let mb = inj.syscall(libc::SYS_membarrier, [MEMBARRIER_CMD_GET_REGISTRATIONS, 0, 0, 0, 0, 0])?;
            membarrier = u32::try_from(mb).unwrap_or(0);
            let mut sig = 0i32;
            check(t.tid, "prctl(PR_GET_PDEATHSIG)", inj.syscall(libc::SYS_prctl, [PR_GET_PDEATHSIG, scratch, 0, 0, 0, 0])?)?;
            inj.read_scratch(sig.as_mut_bytes())?;
            pdeath_signal = sig as u32;
            // Neither is in /proc; a fork inherits neither the subreaper
            // mark nor the parent-death signal, so they come from here.
            let mut reaper = 0i32;
            check(t.tid, "prctl(PR_GET_CHILD_SUBREAPER)", inj.syscall(libc::SYS_prctl, [PR_GET_CHILD_SUBREAPER, scratch, 0, 0, 0, 0])?)?;
            inj.read_scratch(reaper.as_mut_bytes())?;
            child_subreaper = reaper != 0;
            not_dumpable = check(t.tid, "prctl(PR_GET_DUMPABLE)", inj.syscall(libc::SYS_prctl, [PR_GET_DUMPABLE, 0, 0, 0, 0, 0])?)? == 0;
            // Not /proc/PID/status THP_enabled, which reads 0 on every
            // process of a kernel without transparent huge pages.
            let thp = inj.syscall(libc::SYS_prctl, [libc::PR_GET_THP_DISABLE as u64, 0, 0, 0, 0, 0])?;
            thp_disabled = check(t.tid, "prctl(PR_GET_THP_DISABLE)", thp)? == 1;
        }
        check(t.tid, "sigaltstack", inj.syscall(libc::SYS_sigaltstack, [0, scratch, 0, 0, 0, 0])?)?;
        let mut stack = KernelStack::default();
        inj.read_scratch(stack.as_mut_bytes())?;
        t.altstack = AltStack::from(stack);
        check(t.tid, "prctl(PR_GET_TID_ADDRESS)", inj.syscall(libc::SYS_prctl, [PR_GET_TID_ADDRESS, scratch, 0, 0, 0, 0])?)?;
        inj.read_scratch(t.clear_child_tid.as_mut_bytes())?;
        inj.end()?;
    }

    // After the injections: a signal that arrived while one ran is pending.
    let pending_signals = read_pending(&tids)?;
    let first = threads.first().ok_or(Error::TargetGone { pid, during: "capturing threads".into() })?;
    let xcr0 = regs::xcr0_of(&first.xsave)?;
    let xsave_size = first.xsave.len() as u32;
    let mut process = if inherited { read_process(pid, brk)? } else { ProcessState { pid, ..Default::default() } };
    process.membarrier = membarrier;
    process.pdeath_signal = pdeath_signal;
    process.child_subreaper = child_subreaper;
    process.not_dumpable = not_dumpable;
    process.thp_disabled = thp_disabled;
    process.oom_score_adj = crate::sched::oom_score_adj(pid);
    let sched = crate::sched::read(pid, &tids)?;
    let seccomp = crate::seccomp::read(pid, &tids)?;
    // A --cow dump (not `inherited`) reads the madvise state from its fork.
    let read = if inherited { VmFlagsRead::All } else { VmFlagsRead::NotInherited };
    let mut mappings = list_mappings(pid, read)?;
    let mut fd_table = read_fds_in(pid, allow_unsupported, tree)?;
    crate::mapped_files::link(pid, &mut mappings, &fd_table.fds, &fd_table.files)?;
    let locks = read_locks(pid, &fd_table.fds, &mut fd_table.notes)?;
    fd_table.notes.extend(cwd_note(&process));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    Ok((Snapshot {
        kernel_release: release.trim().as_bytes().to_vec(),
        dump_time: (now.as_secs(), now.subsec_nanos()),
        process,
        xcr0,
        xsave_size,
        threads,
        sigactions,
        regions: Vec::new(),
        fds: fd_table.fds,
        files: fd_table.files,
        fd_notes: fd_table.notes,
        pending_signals,
        timers,
        locks,
        sched,
        seccomp,
    }, mappings))
}

/// Sets `snap.regions`: `mappings` with their pages chosen from the
/// pagemap of `pages_of` (the target, or its fork), the heap joined.
pub fn choose_regions(snap: &mut Snapshot, mappings: Vec<Mapping>, pages_of: i32) -> Result<()> {
    snap.regions = join_heap(choose_pages(mappings, pages_of)?, snap.process.mm.start_brk, snap.process.mm.brk);
    Ok(())
}

/// Turns a negative syscall result into an error naming the call.
fn check(tid: i32, call: &str, rc: i64) -> Result<i64> {
    if rc < 0 && rc > -4096 {
        return Err(Error::sys(format!("injected {call} in thread {tid}"), std::io::Error::from_raw_os_error(-rc as i32)));
    }
    Ok(rc)
}

/// A thread's name (/proc/PID/task/TID/comm, without its newline).
fn thread_comm(pid: i32, tid: i32) -> Result<Vec<u8>> {
    let path = format!("/proc/{pid}/task/{tid}/comm");
    let mut comm = std::fs::read(&path).map_err(|e| Error::sys(format!("reading {path}"), e))?;
    if comm.last() == Some(&b'\n') {
        comm.pop();
    }
    Ok(comm)
}
