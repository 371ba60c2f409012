//! Copy-on-write dumps (`dump --cow`): the target is frozen only while its
//! state is captured and it forks once; the pages to store are then chosen
//! from the fork's pagemap and read from the fork, a child held stopped
//! under ptrace whose memory the kernel keeps as it was at the fork, while
//! the target runs on. (Fork copies the page table entries of every
//! private mapping with pages of its own, present or swapped, so the
//! child's pagemap shows what the target's showed; a mapping whose only
//! pages are the shared zero page is not copied, and reads zero in both.)
//!
//! Frozen, the target is captured but for what the fork inherits unchanged
//! (its 62 signal actions, brk, and the process-wide state of its /proc
//! files: `capture::Inherited`), read from the child after the target runs
//! again, so the freeze holds a handful of injected syscalls per thread,
//! its threads', maps' and fds' /proc files, and the fork.
//!
//! The fork is an injected `clone(0, 0, 0, 0, 0)`: no CLONE_VM, and exit
//! signal 0, so the target gets no SIGCHLD and a plain wait() in it never
//! sees the child (only __WALL or __WCLONE waits do). PTRACE_O_TRACECLONE,
//! set on the injecting thread for that one call, attaches the child to us
//! before it runs a single instruction; PTRACE_O_EXITKILL on the child
//! kills it if ckpt-writer dies. Once the image is written the child is
//! killed and, being the target's child, reaped by the target itself: a
//! second short stop of one of its threads injects
//! wait4(child, __WALL|WNOHANG). (If ckpt-writer itself is killed, the
//! child dies with it but stays a zombie of the target, which a __WALL
//! wait of its own would reap.)
//!
//! What the fork does not give as it was at the freeze, and how:
//! * shared memory (MAP_SHARED anonymous, SysV shm, shared mappings of
//!   deleted files): the child shares it with the target, which keeps
//!   writing; its stored pages are copied while frozen (`Overlay`), so
//!   downtime grows with shared memory only;
//! * the rseq area of the thread that forks: the kernel may update the
//!   child's copy (cpu id) before it stops; copied while frozen too;
//! * MADV_DONTFORK memory (absent in the child) and MADV_WIPEONFORK
//!   memory (zero in the child): found in the child's smaps after the
//!   target resumed; a region of either kind holding stored pages makes
//!   the dump fail with a reason (dump without --cow), the target running;
//! * mlock: the child does not inherit locks; the target keeps its locked
//!   pages, but its first write to each one after the fork takes a
//!   copy-on-write fault (latency a real-time program may notice).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use procfs::process::{Process, VmFlags};

use crate::capture::{read_inherited, Inherited};
use crate::error::{Error, Result};
use crate::process::read_process;
use crate::freeze::Frozen;
use crate::inject::{find_syscall_insn, Injection};
use crate::memory::{advice_bits, Mapping};
use crate::snapshot::{RegionKind, Snapshot};
use crate::wait::{wait_thread, Event};
use crate::write::PageReader;

const PAGE: u64 = 4096;

/// Bytes read from the frozen target, laid over what the child gives.
#[derive(Default)]
pub struct Overlay {
    /// (address, bytes), sorted by address, not overlapping.
    parts: Vec<(u64, Vec<u8>)>,
}

impl Overlay {
    /// Reads, from the frozen target, the stored pages of its shared
    /// regions (all their pages, chosen without the pagemap) and the first
    /// thread's rseq area.
    pub fn read(target: &PageReader, mappings: &[Mapping], snap: &Snapshot) -> Result<Overlay> {
        let mut wanted: Vec<(u64, u64)> = Vec::new();
        for r in mappings.iter().map(|m| &m.region).filter(|r| r.shared) {
            wanted.extend(r.runs.iter().map(|&(i, n)| (r.start + i * PAGE, n * PAGE)));
        }
        if let Some(t) = snap.threads.first().filter(|t| t.rseq.addr != 0 && t.rseq.len != 0) {
            wanted.push((t.rseq.addr, u64::from(t.rseq.len)));
        }
        Ok(Overlay { parts: merge(wanted).into_iter().map(|(a, len)| read_part(target, a, len)).collect::<Result<_>>()? })
    }

    /// Bytes held.
    pub fn len(&self) -> u64 {
        self.parts.iter().map(|(_, b)| b.len() as u64).sum()
    }

    /// Puts the held bytes that fall in `addr..addr + buf.len()` into `buf`.
    pub fn apply(&self, addr: u64, buf: &mut [u8]) {
        let end = addr + buf.len() as u64;
        let first = self.parts.partition_point(|(a, b)| a + b.len() as u64 <= addr);
        for (a, bytes) in self.parts[first..].iter().take_while(|(a, _)| *a < end) {
            let from = addr.max(*a);
            let to = end.min(a + bytes.len() as u64);
            buf[(from - addr) as usize..(to - addr) as usize]
                .copy_from_slice(&bytes[(from - a) as usize..(to - a) as usize]);
        }
    }
}

fn read_part(target: &PageReader, addr: u64, len: u64) -> Result<(u64, Vec<u8>)> {
    let mut b = vec![0u8; len as usize];
    target.fill(addr, &mut b)?;
    Ok((addr, b))
}

/// Sorts (address, length) ranges and joins those that touch or overlap.
fn merge(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (a, len) in ranges {
        match out.last_mut() {
            Some((s, l)) if a <= *s + *l => *l = (*l).max(a + len - *s),
            _ => out.push((a, len)),
        }
    }
    out
}

/// The target's held fork; killed and reaped when dropped.
pub struct CowChild {
    target: i32,
    pid: i32,
    done: bool,
}

impl CowChild {
    /// Makes the frozen target fork once; the child is held stopped.
    pub fn fork(frozen: &mut Frozen, mappings: &[Mapping]) -> Result<CowChild> {
        let target = frozen.pid();
        let mem = open_mem(target)?;
        let insn = vdso_syscall(mappings, &mem);
        let tid = *frozen.tids().first().ok_or(Error::TargetGone { pid: target, during: "forking".into() })?;
        let mut inj = Injection::begin(frozen, &mem, tid, insn)?;
        let (pid, patched) = inj.fork_held()?;
        // From here on the child is killed on every path.
        let child = CowChild { target, pid, done: false };
        inj.end()?;
        if let Some((addr, orig)) = patched {
            // The child was forked with the syscall instruction written at
            // rip (a target without vdso): give it the original bytes.
            open_mem(pid)?
                .write_all_at(&orig, addr)
                .map_err(|e| Error::sys(format!("restoring code bytes at {addr:#x} in the snapshot child"), e))?;
        }
        Ok(child)
    }

    /// The child's pid, to read memory from.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Reads from the child, while the target runs, the state it
    /// inherited unchanged at the fork (`Inherited`): signal actions and
    /// brk by injected syscalls, the rest from its /proc files. Each
    /// injected call returns the child to user mode, where the kernel may
    /// update its rseq area: the overlay holds the target's. Its borrowed
    /// stack bytes and registers are put back as they were.
    pub fn read_inherited(&self, mappings: &[Mapping]) -> Result<Inherited> {
        let mem = open_mem(self.pid)?;
        let insn = vdso_syscall(mappings, &mem);
        let mut held = Frozen::held(self.pid);
        let mut inj = Injection::begin(&mut held, &mem, self.pid, insn)?;
        let mut inherited = read_inherited(&mut inj, self.pid)?;
        inj.end()?;
        inherited.process = Some(read_process(self.pid, inherited.brk)?);
        Ok(inherited)
    }

    /// Takes each mapping's madvise state from the child's smaps (a fork
    /// keeps it, and the target, running again, may already have changed
    /// its own): a mapping missing in the child is MADV_DONTFORK. Refuses
    /// regions that may hold stored pages the child does not hold as they
    /// were: MADV_DONTFORK (not in the child) and MADV_WIPEONFORK (zeroed).
    /// Shared regions come from the overlay and are not refused.
    pub fn check(&self, mappings: &mut [Mapping]) -> Result<()> {
        use image_format::v1::records::region_flags::{DONTFORK, LOCKED};
        let maps = Process::new(self.pid)
            .and_then(|p| p.smaps())
            .map_err(|e| Error::sys("reading the snapshot child's smaps", std::io::Error::other(e.to_string())))?;
        let mut child = maps.iter().map(|m| (m.address.0, m.address.1, m.extension.vm_flags)).collect::<Vec<_>>();
        child.sort_unstable_by_key(|m| m.0);
        for m in mappings.iter_mut() {
            let stores = m.can_store() && !m.region.shared;
            let r = &mut m.region;
            let i = child.partition_point(|c| c.1 <= r.start);
            let why = match child.get(i) {
                Some(&(s, e, f)) if s <= r.start && e >= r.end => {
                    // The lock is the target's own (read while frozen).
                    r.advice = (r.advice & LOCKED) | (advice_bits(f, r.kind) & !LOCKED);
                    if !stores || !f.contains(VmFlags::WF) {
                        continue;
                    }
                    "MADV_WIPEONFORK: a fork sees it zeroed"
                }
                _ => {
                    r.advice |= DONTFORK;
                    if !stores {
                        continue;
                    }
                    "MADV_DONTFORK: a fork does not get it"
                }
            };
            return Err(Error::Unsupported(format!(
                "--cow: memory at {:#x}-{:#x} is {why}; dump without --cow",
                r.start, r.end
            )));
        }
        Ok(())
    }

    /// Kills the child and has the target reap it; returns how long the
    /// target was stopped for that.
    pub fn finish(mut self) -> Result<Duration> {
        self.done = true;
        self.kill_child();
        reap(self.target, self.pid)
    }

    fn kill_child(&self) {
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
        while let Ok(ev) = wait_thread(self.pid) {
            if ev == Event::Gone {
                break;
            }
        }
    }
}

impl Drop for CowChild {
    fn drop(&mut self) {
        if !self.done {
            self.kill_child();
            let _ = reap(self.target, self.pid);
        }
    }
}

fn open_mem(pid: i32) -> Result<File> {
    File::options()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .map_err(|_| Error::TargetGone { pid, during: "opening /proc/PID/mem".into() })
}

fn vdso_syscall(mappings: &[Mapping], mem: &File) -> Option<u64> {
    mappings.iter().map(|m| &m.region).find(|r| r.kind == RegionKind::Vdso).and_then(|r| find_syscall_insn(mem, r.start, r.end))
}

/// Stops one thread of the target again for one injected wait4 of the
/// dead child (a zombie of the target's until then); its other threads
/// run on (a wait with __WALL reaps the children of the whole group).
fn reap(target: i32, child: i32) -> Result<Duration> {
    let started = Instant::now();
    let mut frozen = Frozen::freeze_one(target)?;
    let mem = open_mem(target)?;
    let maps = Process::new(target)
        .and_then(|p| p.maps())
        .map_err(|_| Error::TargetGone { pid: target, during: "reading /proc/PID/maps".into() })?;
    let insn = maps
        .iter()
        .find(|m| m.pathname == procfs::process::MMapPath::Vdso)
        .and_then(|m| find_syscall_insn(&mem, m.address.0, m.address.1));
    let tid = *frozen.tids().first().ok_or(Error::TargetGone { pid: target, during: "reaping".into() })?;
    let mut inj = Injection::begin(&mut frozen, &mem, tid, insn)?;
    let flags = (libc::__WALL | libc::WNOHANG) as u64;
    let rc = inj.syscall(libc::SYS_wait4, [child as u64, 0, flags, 0, 0, 0])?;
    inj.end()?;
    drop(frozen);
    // ECHILD: a thread of the target reaped it first (a __WALL wait).
    if rc != i64::from(child) && rc != -i64::from(libc::ECHILD) {
        return Err(Error::sys(
            format!("reaping the snapshot child {child} in pid {target}"),
            std::io::Error::other(format!("wait4 returned {rc}")),
        ));
    }
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::{merge, Overlay};

    #[test]
    fn ranges_merge_when_they_touch_or_overlap() {
        assert_eq!(merge(vec![(20, 5), (0, 10), (10, 2), (30, 1), (21, 2)]), vec![(0, 12), (20, 5), (30, 1)]);
        assert!(merge(Vec::new()).is_empty());
    }

    #[test]
    fn overlay_replaces_exactly_the_bytes_it_holds() {
        let o = Overlay { parts: vec![(10, vec![1, 2, 3]), (20, vec![7; 4])] };
        let mut buf = [0u8; 16];
        o.apply(8, &mut buf);
        assert_eq!(buf, [0, 0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 7, 7, 7, 7]);
        let mut tail = [9u8; 4];
        o.apply(22, &mut tail);
        assert_eq!(tail, [7, 7, 9, 9]);
        let mut none = [5u8; 3];
        o.apply(13, &mut none);
        assert_eq!(none, [5, 5, 5]);
        assert_eq!(o.len(), 7);
    }
}
