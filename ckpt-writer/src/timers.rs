//! Timers: the three interval timers and every POSIX timer. Which POSIX
//! timers exist, with their signal, value, notification and clock, comes
//! from /proc/PID/timers; what only the process can ask (time left,
//! interval, overrun) from getitimer, timer_gettime and timer_getoverrun
//! injected into its first thread (inject.rs). Reading changes nothing.

use image_format::v1::records::{timer_notify, Timer, TimerKind, TIMER_CLOCKS};

use crate::error::{Error, Result};
use crate::inject::Injection;

/// sigev_notify bits as /proc/PID/timers names them.
const SIGEV_THREAD_ID: u32 = 4;

/// One POSIX timer as /proc/PID/timers lists it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Listed {
    id: i64,
    signo: u32,
    value: u64,
    notify: String,
    thread: bool,
    target: i64,
    clock: i64,
}

/// Parses /proc/PID/timers: blocks of "ID: n", "signal: n/hexvalue",
/// "notify: kind/pid.n" or "kind/tid.n", "ClockID: n".
fn parse(text: &str) -> Option<Vec<Listed>> {
    let mut out: Vec<Listed> = Vec::new();
    for line in text.lines() {
        let (key, val) = line.split_once(": ")?;
        match key {
            "ID" => out.push(Listed { id: val.parse().ok()?, ..Listed::default() }),
            "signal" => {
                let t = out.last_mut()?;
                let (s, v) = val.split_once('/')?;
                t.signo = s.parse().ok()?;
                t.value = u64::from_str_radix(v.trim_start_matches("0x"), 16).ok()?;
            }
            "notify" => {
                let t = out.last_mut()?;
                let (kind, who) = val.split_once('/')?;
                let (scope, n) = who.split_once('.')?;
                t.notify = kind.to_string();
                t.thread = scope == "tid";
                t.target = n.parse().ok()?;
            }
            "ClockID" => out.last_mut()?.clock = val.parse().ok()?,
            _ => {}
        }
    }
    Some(out)
}

fn timespec_ns(b: &[u8], at: usize) -> u64 {
    let w = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    w(at).saturating_mul(1_000_000_000).saturating_add(w(at + 8))
}

fn timeval_ns(b: &[u8], at: usize) -> u64 {
    let w = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    w(at).saturating_mul(1_000_000_000).saturating_add(w(at + 8).saturating_mul(1000))
}

fn injected(tid: i32, call: &str, rc: i64) -> Result<i64> {
    if rc < 0 && rc > -4096 {
        return Err(Error::sys(format!("injected {call} in thread {tid}"), std::io::Error::from_raw_os_error(-rc as i32)));
    }
    Ok(rc)
}

/// Every timer of process `pid`, read through `inj` (its thread `tid`).
/// A POSIX timer the format cannot carry (FORMAT.md, TIMERS) is refused.
pub fn read_timers(inj: &mut Injection<'_>, pid: i32, tid: i32) -> Result<Vec<Timer>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 32];
    for (which, kind) in [(0u64, TimerKind::ItimerReal), (1, TimerKind::ItimerVirtual), (2, TimerKind::ItimerProf)] {
        injected(tid, "getitimer", inj.syscall(libc::SYS_getitimer, [which, inj.scratch, 0, 0, 0, 0])?)?;
        inj.read_scratch(&mut buf)?;
        let (interval_ns, remaining_ns) = (timeval_ns(&buf, 0), timeval_ns(&buf, 16));
        if interval_ns != 0 || remaining_ns != 0 {
            out.push(Timer { kind, id: 0, clock: 0, notify: 0, signo: 0, tid: 0, value: 0, interval_ns, remaining_ns, overrun: 0 });
        }
    }
    let path = format!("/proc/{pid}/timers");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        // Kernels without CONFIG_CHECKPOINT_RESTORE have no such file and
        // no other way to list POSIX timers: said, not silently lost.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("ckpt-writer: warning: {path} does not exist (a kernel without CONFIG_CHECKPOINT_RESTORE): POSIX timers, if any, are not recorded");
            String::new()
        }
        Err(e) => return Err(Error::sys(format!("reading {path}"), e)),
    };
    let mut listed = parse(&text).ok_or_else(|| Error::sys(format!("parsing {path}"), std::io::Error::other(text.clone())))?;
    listed.sort_by_key(|t| t.id);
    for t in listed {
        let clock = u32::try_from(t.clock).ok().filter(|c| TIMER_CLOCKS.contains(c));
        let clock = clock.ok_or_else(|| Error::Unsupported(format!("POSIX timer {} runs on clock {}, which an image cannot carry", t.id, t.clock)))?;
        let notify = match (t.notify.as_str(), t.thread) {
            ("signal", false) => timer_notify::SIGNAL,
            ("signal", true) => timer_notify::THREAD_ID,
            ("none", _) => timer_notify::NONE,
            (n, th) => return Err(Error::Unsupported(format!("POSIX timer {} notifies by {n}{}", t.id, if th { " to a thread" } else { "" }))),
        };
        let id = t.id as u64;
        injected(tid, "timer_gettime", inj.syscall(libc::SYS_timer_gettime, [id, inj.scratch, 0, 0, 0, 0])?)?;
        inj.read_scratch(&mut buf)?;
        let overrun = injected(tid, "timer_getoverrun", inj.syscall(libc::SYS_timer_getoverrun, [id, 0, 0, 0, 0, 0])?)?;
        out.push(Timer {
            kind: TimerKind::Posix,
            id: t.id as u32,
            clock,
            notify,
            signo: if notify == timer_notify::NONE { 0 } else { t.signo },
            tid: if notify == SIGEV_THREAD_ID { t.target as u32 } else { 0 },
            value: t.value,
            interval_ns: timespec_ns(&buf, 0),
            remaining_ns: timespec_ns(&buf, 16),
            overrun: overrun as u32,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_timers_is_parsed() {
        let text = "ID: 0\nsignal: 40/0000000000001234\nnotify: signal/pid.77\nClockID: 1\n\
                    ID: 3\nsignal: 34/00007f0000001000\nnotify: signal/tid.78\nClockID: 2\n";
        let got = parse(text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].id, got[0].signo, got[0].value, got[0].thread, got[0].target, got[0].clock), (0, 40, 0x1234, false, 77, 1));
        assert_eq!((got[1].id, got[1].signo, got[1].value, got[1].thread, got[1].target, got[1].clock), (3, 34, 0x7f00_0000_1000, true, 78, 2));
        assert!(parse("ID: x\n").is_none());
    }
}
