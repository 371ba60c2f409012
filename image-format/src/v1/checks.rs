//! Semantic checks of single records: what the kernel itself would refuse
//! when restoring them, so a restorer can trust every validated field.

use super::error::{FormatError, Result};
use super::layout::wire_prefix;
use super::limits::{MAX_PATH_LEN, MAX_PID, MAX_TIMER_ID, MAX_XSAVE_SIZE, MIN_XSAVE_SIZE, USER_SPACE_END};
use super::records::{
    membarrier, region_flags, timer_notify, RegionKind, PendingSignal, Process, SigAction, SignalScope, StrRef, Timer, TimerKind, TIMER_CLOCKS,
};
use super::thread::{ThreadState, XsaveStartWire};

/// 64-bit user code selector (__USER_CS).
pub const USER_CS: u64 = 0x33;
/// User data/stack selector (__USER_DS).
pub const USER_SS: u64 = 0x2b;
/// eflags bits a user-mode thread can have: CF, the always-one bit 1, PF,
/// AF, ZF, SF, TF, IF, DF, OF, NT, RF, AC, ID. Refused: reserved bits 3, 5,
/// 15, 22-63, IOPL (12-13), VM (17), VIF (19), VIP (20).
pub const EFLAGS_USER_MASK: u64 = 0x0025_4fd7;
/// XCR0 bits every x86-64 XSAVE image must have: x87 and SSE.
pub const XCR0_REQUIRED: u64 = 0x3;
/// MXCSR bits above 15 are reserved; loading them faults.
const MXCSR_RESERVED: u32 = 0xffff_0000;
/// sigaltstack flags the kernel reports: SS_ONSTACK, SS_DISABLE, SS_AUTODISARM.
const SS_KNOWN: u32 = 1 | 2 | (1 << 31);
/// Smallest struct rseq (ORIG_RSEQ_SIZE).
const RSEQ_MIN_LEN: u32 = 32;

/// True when `v` is a canonical 48-bit virtual address.
pub fn is_canonical(v: u64) -> bool {
    (((v << 16) as i64) >> 16) as u64 == v
}

/// Checks a string reference and returns its bytes (without the NUL).
pub fn check_string(strings: &[u8], r: StrRef) -> Result<&[u8]> {
    if r.len > MAX_PATH_LEN {
        return Err(FormatError::PathTooLong);
    }
    let start = r.offset as usize;
    let end = start
        .checked_add(r.len as usize)
        .ok_or(FormatError::StringOutOfBounds)?;
    let s = strings
        .get(start..end)
        .ok_or(FormatError::StringOutOfBounds)?;
    if strings.get(end) != Some(&0) {
        return Err(FormatError::StringNotTerminated);
    }
    if s.contains(&0) {
        return Err(FormatError::StringContainsNul);
    }
    Ok(s)
}

/// Checks a string reference that must be a non-empty path.
pub fn check_path(strings: &[u8], r: StrRef) -> Result<()> {
    if check_string(strings, r)?.is_empty() {
        return Err(FormatError::MissingPath);
    }
    Ok(())
}

fn check_pid(pid: u32) -> Result<()> {
    if pid == 0 || pid > MAX_PID {
        return Err(FormatError::BadPid);
    }
    Ok(())
}

/// Checks the PROCESS record.
pub fn check_process(p: &Process, strings: &[u8]) -> Result<()> {
    check_pid(p.pid)?;
    if !p.comm.contains(&0) {
        return Err(FormatError::StringNotTerminated);
    }
    check_string(strings, p.exe_path)?;
    check_string(strings, p.cwd)?;
    if p.umask & !0o777 != 0 {
        return Err(FormatError::BadUmask);
    }
    if p.rlimits.iter().any(|r| r.cur > r.max) {
        return Err(FormatError::BadRlimit);
    }
    let m = &p.mm;
    let ordered = m.start_code <= m.end_code
        && m.start_data <= m.end_data
        && m.start_brk <= m.brk
        && m.arg_start <= m.arg_end
        && m.env_start <= m.env_end;
    if !ordered || m.to_array().iter().any(|&a| a > USER_SPACE_END) {
        return Err(FormatError::BadMmLayout);
    }
    if p.xcr0 & XCR0_REQUIRED != XCR0_REQUIRED {
        return Err(FormatError::BadXcr0);
    }
    if p.xsave_size < MIN_XSAVE_SIZE || p.xsave_size > MAX_XSAVE_SIZE {
        return Err(FormatError::BadXsaveSize);
    }
    if p.membarrier & !membarrier::KNOWN != 0 {
        return Err(FormatError::BadMembarrier);
    }
    if p.cwd_removed > 1 {
        return Err(FormatError::BadCwdRemoved);
    }
    Ok(())
}

fn valid_data_selector(v: u64) -> bool {
    v == 0 || (v <= 0xffff && v & 3 == 3)
}

/// Checks a thread: registers as sigreturn/ptrace would accept them, and
/// the XSAVE area as PTRACE_SETREGSET(NT_X86_XSTATE) would.
pub fn check_thread(t: &ThreadState, xsave_len: u32, xsave: &[u8], p: &Process) -> Result<()> {
    check_pid(t.tid)?;
    let r = &t.regs;
    if r.cs != USER_CS {
        return Err(FormatError::BadCodeSegment);
    }
    if r.ss != USER_SS {
        return Err(FormatError::BadStackSegment);
    }
    if ![r.ds, r.es, r.fs, r.gs]
        .iter()
        .all(|&s| valid_data_selector(s))
    {
        return Err(FormatError::BadDataSegment);
    }
    if ![r.rip, r.rsp, r.fs_base, r.gs_base]
        .iter()
        .all(|&a| is_canonical(a))
    {
        return Err(FormatError::NonCanonicalRegister);
    }
    if r.eflags & !EFLAGS_USER_MASK != 0 {
        return Err(FormatError::BadEflags);
    }
    if t.altstack.flags & !SS_KNOWN != 0 {
        return Err(FormatError::BadSigaltstack);
    }
    if t.rseq.len != 0 && t.rseq.len < RSEQ_MIN_LEN {
        return Err(FormatError::BadRseq);
    }
    if xsave_len != p.xsave_size || xsave.len() != xsave_len as usize {
        return Err(FormatError::XsaveSizeMismatch);
    }
    // xsave_size >= MIN_XSAVE_SIZE (checked with the process), so the
    // legacy region and the XSAVE header are there.
    let x: &XsaveStartWire = wire_prefix(xsave).ok_or(FormatError::XsaveSizeMismatch)?;
    if x.mxcsr.get() & MXCSR_RESERVED != 0 {
        return Err(FormatError::BadMxcsr);
    }
    if x.xstate_bv.get() != t.xstate_bv {
        return Err(FormatError::XstateBvMismatch);
    }
    if t.xstate_bv & !p.xcr0 != 0 {
        return Err(FormatError::XstateBvNotInXcr0);
    }
    if x.xcomp_bv.get() != 0 || x.header_reserved.iter().any(|&b| b != 0) {
        return Err(FormatError::BadXsaveHeader);
    }
    Ok(())
}

/// A region's per-mapping state (`region_flags::ADVICE`) is what
/// madvise(2) and mlock(2) would accept on it: none on the kernel's own
/// regions, MADV_WIPEONFORK on private anonymous memory only, and no pair
/// the kernel keeps exclusive (HUGEPAGE/NOHUGEPAGE, SEQUENTIAL/RANDOM).
pub fn check_advice(flags: u32, kind: RegionKind) -> Result<()> {
    use region_flags::*;
    let advice = flags & ADVICE;
    if advice == 0 {
        return Ok(());
    }
    let kernels = matches!(kind, RegionKind::Vdso | RegionKind::Vvar | RegionKind::VvarVclock);
    let private_anon = flags & SHARED == 0 && matches!(kind, RegionKind::Anon | RegionKind::Heap | RegionKind::Stack);
    let both = |a: u32, b: u32| advice & a != 0 && advice & b != 0;
    if kernels || (advice & WIPEONFORK != 0 && !private_anon) || both(HUGEPAGE, NOHUGEPAGE) || both(SEQUENTIAL, RANDOM) {
        return Err(FormatError::InconsistentRegionFlags);
    }
    Ok(())
}

/// Checks signal action `index` (signal number index + 1).
pub fn check_sigaction(index: usize, sa: &SigAction) -> Result<()> {
    // SIGKILL (9) and SIGSTOP (19) can only have the default action.
    let fixed = index == 8 || index == 18;
    let user_addr = |a: u64| a < USER_SPACE_END;
    if (fixed && sa.handler != 0) || !user_addr(sa.handler) || !user_addr(sa.restorer) {
        return Err(FormatError::BadSigaction);
    }
    Ok(())
}

/// First real-time signal: the kernel queues every instance of one from
/// here on, and a standard signal below it at most once per queue.
pub const SIGRTMIN: u32 = 32;

/// Checks one pending signal on its own: a signal the process could queue
/// to itself (rt_sigqueueinfo / rt_tgsigqueueinfo), with the siginfo the
/// kernel would deliver. Its place in the queues is `Metadata`'s check.
pub fn check_pending_signal(p: &PendingSignal) -> Result<()> {
    // SIGKILL (9) and SIGSTOP (19) are never left pending in a stopped,
    // living process the writer could dump.
    if p.signo == 0 || p.signo > 64 || p.signo == 9 || p.signo == 19 {
        return Err(FormatError::BadPendingSignal);
    }
    let si_signo = p.siginfo.get(..4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
    if si_signo != Some(p.signo) {
        return Err(FormatError::BadSiginfo);
    }
    let tid_ok = match p.scope {
        SignalScope::Process => p.tid == 0,
        SignalScope::Thread => p.tid != 0 && p.tid <= MAX_PID,
    };
    if !tid_ok {
        return Err(FormatError::BadPendingSignalThread);
    }
    Ok(())
}

/// A signal a timer may send: 1..=64 but SIGKILL and SIGSTOP (timer_create
/// refuses nothing else, but neither can be left pending in a process the
/// writer can dump, nor delivered to a handler).
fn timer_signal_ok(signo: u32) -> bool {
    (1..=64).contains(&signo) && signo != 9 && signo != 19
}

/// Checks one timer on its own (its order and its thread are `Metadata`'s
/// checks): what timer_create and setitimer would take from the process.
pub fn check_timer(t: &Timer) -> Result<()> {
    if t.overrun > MAX_TIMER_ID {
        return Err(FormatError::BadTimer);
    }
    if t.kind != TimerKind::Posix {
        if t.id != 0 || t.clock != 0 || t.notify != 0 || t.signo != 0 || t.tid != 0 || t.value != 0 || t.overrun != 0 {
            return Err(FormatError::BadTimer);
        }
        return Ok(());
    }
    if t.id > MAX_TIMER_ID {
        return Err(FormatError::BadTimer);
    }
    if !TIMER_CLOCKS.contains(&t.clock) {
        return Err(FormatError::BadTimerClock);
    }
    let signal_ok = match t.notify {
        timer_notify::NONE => t.signo == 0,
        timer_notify::SIGNAL | timer_notify::THREAD_ID => timer_signal_ok(t.signo),
        _ => return Err(FormatError::BadTimerNotify),
    };
    if !signal_ok {
        return Err(FormatError::BadTimerSignal);
    }
    if (t.notify == timer_notify::THREAD_ID) != (t.tid != 0) || t.tid > MAX_PID {
        return Err(FormatError::BadTimerThread);
    }
    Ok(())
}
