//! Each thread's scheduling (FORMAT.md SCHED: policy, nice value,
//! real-time priority, reset-on-fork, I/O priority, CPU affinity) and the
//! process's oom_score_adj, read from outside with sched_getattr,
//! ioprio_get, sched_getaffinity and /proc: none of it needs the target's
//! help, and a fork (`--cow`) would not show the other threads'.

use image_format::v1::records::sched_flags;
use image_format::v1::Sched;

use crate::error::{Error, Result};

/// struct sched_attr (the first, version 0 fields, and the util clamps).
#[repr(C)]
#[derive(Default)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

/// SCHED_DEADLINE, which an image does not record.
const SCHED_DEADLINE: u32 = 6;
/// SCHED_FLAG_RESET_ON_FORK.
const RESET_ON_FORK: u64 = 1;
/// IOPRIO_WHO_PROCESS (a thread, by tid).
const IOPRIO_WHO_PROCESS: libc::c_long = 1;

/// The CPUs online here ("0-3,6" in /sys), as a 1024-bit mask.
fn online_cpus() -> [u8; 128] {
    let mut mask = [0u8; 128];
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) else { continue };
        for cpu in a..=b.min(1023) {
            mask[cpu / 8] |= 1 << (cpu % 8);
        }
    }
    mask
}

/// The error `e` of a failed `call` about thread `tid`.
fn failed(pid: i32, tid: i32, call: &str, e: std::io::Error) -> Error {
    if e.raw_os_error() == Some(libc::ESRCH) {
        Error::TargetGone { pid, during: format!("{call} of thread {tid}") }
    } else {
        Error::sys(format!("{call} of thread {tid} of pid {pid}"), e)
    }
}

/// Thread `tid`'s scheduling, or why it cannot be recorded.
fn of_thread(pid: i32, tid: i32, online: &[u8; 128]) -> Result<Sched> {
    let mut attr = SchedAttr { size: std::mem::size_of::<SchedAttr>() as u32, ..Default::default() };
    // SAFETY: sched_getattr writes at most `size` bytes to `attr`.
    let rc = unsafe { libc::syscall(libc::SYS_sched_getattr, tid, &raw mut attr, attr.size, 0) };
    if rc < 0 {
        return Err(failed(pid, tid, "sched_getattr", std::io::Error::last_os_error()));
    }
    if attr.policy == SCHED_DEADLINE {
        return Err(Error::Unsupported(format!("thread {tid} of pid {pid} runs under SCHED_DEADLINE, which an image does not record")));
    }
    // SAFETY: ioprio_get has no memory arguments.
    let mut ioprio = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid) };
    if ioprio < 0 {
        // A kernel without the block layer has no I/O priorities.
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ENOSYS) {
            return Err(failed(pid, tid, "ioprio_get", e));
        }
        ioprio = 0;
    }
    let cpus = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(tid)).map_err(|e| failed(pid, tid, "sched_getaffinity", e.into()))?;
    let mut affinity = [0u8; 128];
    for cpu in 0..1024 {
        if cpus.is_set(cpu).unwrap_or(false) {
            affinity[cpu / 8] |= 1 << (cpu % 8);
        }
    }
    // Every CPU online here: not narrowed, and not recorded (a restore on
    // a machine with more CPUs would otherwise pin it to these).
    let narrowed = online.iter().zip(&affinity).any(|(o, a)| o & !a != 0) && affinity.iter().any(|&b| b != 0);
    let flags = if attr.flags & RESET_ON_FORK != 0 { sched_flags::RESET_ON_FORK } else { 0 } | if narrowed { sched_flags::AFFINITY } else { 0 };
    Ok(Sched {
        tid: tid as u32,
        policy: attr.policy,
        flags,
        nice: attr.nice as u32,
        priority: attr.priority,
        ioprio: ioprio as u32,
        affinity: if narrowed { affinity } else { [0; 128] },
    })
}

/// The scheduling of the threads `tids` (sorted, as THREADS holds them);
/// empty when every one has the defaults (SCHED_OTHER, nice 0, no I/O
/// priority, every CPU).
pub fn read(pid: i32, tids: &[i32]) -> Result<Vec<Sched>> {
    let online = online_cpus();
    let all: Vec<Sched> = tids.iter().map(|&tid| of_thread(pid, tid, &online)).collect::<Result<_>>()?;
    let default = |s: &Sched| s.policy == 0 && s.flags == 0 && s.nice == 0 && s.priority == 0 && s.ioprio == 0;
    Ok(if all.iter().all(default) { Vec::new() } else { all })
}

/// /proc/PID/oom_score_adj (0 where it cannot be read).
pub fn oom_score_adj(pid: i32) -> i32 {
    std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

/// `inspect`'s words for one thread's scheduling.
pub fn describe(s: &Sched) -> String {
    let policy = match s.policy {
        0 => "SCHED_OTHER",
        1 => "SCHED_FIFO",
        2 => "SCHED_RR",
        3 => "SCHED_BATCH",
        5 => "SCHED_IDLE",
        _ => "?",
    };
    let mut out = format!("thread {}: {policy}", s.tid);
    if s.priority != 0 {
        out += &format!(" priority {}", s.priority);
    }
    out += &format!(", nice {}", s.nice as i32);
    if s.flags & sched_flags::RESET_ON_FORK != 0 {
        out += ", reset on fork";
    }
    if s.ioprio != 0 {
        let class = ["none", "realtime", "best-effort", "idle"].get((s.ioprio >> 13) as usize).copied().unwrap_or("?");
        out += &format!(", I/O {class} {}", s.ioprio & 0x1fff);
    }
    if s.flags & sched_flags::AFFINITY != 0 {
        let cpus: Vec<String> = (0..1024).filter(|&c| s.affinity[c / 8] & (1 << (c % 8)) != 0).map(|c: usize| c.to_string()).collect();
        out += &format!(", CPUs {}", cpus.join(","));
    }
    out
}
