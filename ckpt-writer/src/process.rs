//! Process-wide state from /proc: comm, executable, cwd, umask, rlimits,
//! personality, mm layout, auxv.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use procfs::process::{LimitValue, Process};

use crate::error::{Error, Result};
use crate::restored::original_exe;
use crate::snapshot::{FileIdent, ProcessState};
use image_format::MmLayout;

fn gone(pid: i32, what: &str) -> impl Fn(procfs::ProcError) -> Error + '_ {
    move |e| match e {
        procfs::ProcError::NotFound(_) => Error::TargetGone { pid, during: format!("reading {what}") },
        other => Error::sys(format!("reading {what} of pid {pid}"), std::io::Error::other(other.to_string())),
    }
}

/// Reads the process-wide state of `pid` (frozen). `brk` comes from an
/// injected brk(0).
pub fn read_process(pid: i32, brk: u64) -> Result<ProcessState> {
    let proc = Process::new(pid).map_err(gone(pid, "/proc/PID"))?;
    let stat = proc.stat().map_err(gone(pid, "/proc/PID/stat"))?;
    let status = proc.status().map_err(gone(pid, "/proc/PID/status"))?;
    // Seccomp filters are read by seccomp.rs (strict mode is refused there).
    // Nor is a chroot: restored in the caller's root, the process would
    // see the whole file system, and its absolute paths would name other
    // files. (/proc/PID/root reads "/" for our own root, and for the root
    // of another mount namespace.)
    let root = proc.root().map_err(gone(pid, "/proc/PID/root"))?;
    if root != Path::new("/") {
        return Err(Error::Unsupported(format!(
            "pid {pid} runs in a chroot ({}), which an image does not record",
            root.display()
        )));
    }
    let exe = proc.exe().map_err(gone(pid, "/proc/PID/exe"))?;
    let exe_meta = std::fs::metadata(format!("/proc/{pid}/exe"))
        .map_err(|e| Error::sys(format!("stat of /proc/{pid}/exe"), e))?;
    // A restored process "runs" the image it was restored from.
    let (exe_path, exe_id) = original_exe(Path::new(&format!("/proc/{pid}/exe")))
        .unwrap_or_else(|| (exe.as_os_str().as_bytes().to_vec(), FileIdent::from_metadata(&exe_meta)));
    let cwd = proc.cwd().map_err(gone(pid, "/proc/PID/cwd"))?;
    let (cwd, cwd_removed) = removed_cwd(pid, cwd.as_os_str().as_bytes())?;
    let personality = std::fs::read_to_string(format!("/proc/{pid}/personality"))
        .ok()
        .and_then(|s| u32::from_str_radix(s.trim(), 16).ok())
        .ok_or_else(|| Error::sys(format!("reading /proc/{pid}/personality"), std::io::ErrorKind::InvalidData))?;
    let mm = MmLayout {
        start_code: stat.startcode,
        end_code: stat.endcode,
        start_data: stat.start_data.unwrap_or(0),
        end_data: stat.end_data.unwrap_or(0),
        start_brk: stat.start_brk.unwrap_or(0),
        brk,
        start_stack: stat.startstack,
        arg_start: stat.arg_start.unwrap_or(0),
        arg_end: stat.arg_end.unwrap_or(0),
        env_start: stat.env_start.unwrap_or(0),
        env_end: stat.env_end.unwrap_or(0),
    };
    let l = proc.limits().map_err(gone(pid, "/proc/PID/limits"))?;
    let v = |x: &LimitValue| match x {
        LimitValue::Unlimited => u64::MAX,
        LimitValue::Value(n) => *n,
    };
    let all = [
        &l.max_cpu_time, &l.max_file_size, &l.max_data_size, &l.max_stack_size, &l.max_core_file_size,
        &l.max_resident_set, &l.max_processes, &l.max_open_files, &l.max_locked_memory, &l.max_address_space,
        &l.max_file_locks, &l.max_pending_signals, &l.max_msgqueue_size, &l.max_nice_priority,
        &l.max_realtime_priority, &l.max_realtime_timeout,
    ];
    let rlimits = all.map(|x| (v(&x.soft_limit), v(&x.hard_limit)));
    // procfs returns auxv as a HashMap; the raw file keeps the order the
    // kernel gave the process, which we want to record as is.
    let raw = std::fs::read(format!("/proc/{pid}/auxv")).map_err(|e| Error::sys(format!("reading /proc/{pid}/auxv"), e))?;
    let auxv = raw
        .chunks_exact(16)
        .map(|c| (u64::from_le_bytes(c[..8].try_into().unwrap()), u64::from_le_bytes(c[8..].try_into().unwrap())))
        .take_while(|&(k, _)| k != 0)
        .collect();
    let comm = std::fs::read(format!("/proc/{pid}/comm")).map_err(|e| Error::sys(format!("reading /proc/{pid}/comm"), e))?;
    Ok(ProcessState {
        pid,
        oom_score_adj: 0,
        comm: comm.strip_suffix(b"\n").unwrap_or(&comm).to_vec(),
        exe_path,
        exe_id,
        cwd,
        cwd_removed,
        umask: status.umask.unwrap_or(0o022),
        personality,
        mm,
        rlimits,
        auxv,
        // Filled from inside the process (capture.rs).
        membarrier: 0,
        pdeath_signal: 0,
        child_subreaper: false,
        no_new_privs: status.nonewprivs.unwrap_or(0) != 0,
        not_dumpable: false,
        thp_disabled: false,
        stopped: false,
        creds: Some(creds_of(&status)),
        groups: status.groups.iter().map(|&g| g as u32).collect(),
    })
}

/// The working directory's path and whether it was removed (rmdir'ed
/// while the process stayed in it): the directory then has no links, and
/// the kernel shows its last path with " (deleted)" appended, which is
/// taken off. An image of such a process is refused at restore
/// (`cwd-removed`): there is no directory to return to.
fn removed_cwd(pid: i32, link: &[u8]) -> Result<(Vec<u8>, bool)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(format!("/proc/{pid}/cwd")).map_err(|e| Error::sys(format!("stat of /proc/{pid}/cwd"), e))?;
    if meta.nlink() != 0 {
        return Ok((link.to_vec(), false));
    }
    Ok((link.strip_suffix(b" (deleted)").unwrap_or(link).to_vec(), true))
}

/// The credentials /proc/PID/status shows (the thread group leader's).
fn creds_of(s: &procfs::process::Status) -> image_format::v1::Creds {
    image_format::v1::Creds {
        uid: s.ruid,
        euid: s.euid,
        suid: s.suid,
        fsuid: s.fuid,
        gid: s.rgid,
        egid: s.egid,
        sgid: s.sgid,
        fsgid: s.fgid,
        cap_inheritable: s.capinh,
        cap_permitted: s.capprm,
        cap_effective: s.capeff,
        cap_bounding: s.capbnd.unwrap_or(u64::MAX),
        cap_ambient: s.capamb.unwrap_or(0),
    }
}
