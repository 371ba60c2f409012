//! The last steps in the restorer's own code: map the `[plan][stub]`
//! block, then hand the process to the stub. All of the restorer's
//! `unsafe` that changes its own process lives here (image.rs has two
//! calls that only look: getauxval and fcntl(F_GETFD)).

use std::num::NonZeroUsize;
use std::ptr::NonNull;

use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};

use crate::error::{internal, Checked};

/// Maps the plan (read-write, `plan_len` bytes at `at`) and the stub
/// (read-write-execute until the stub makes it r-x, its first step after
/// the memory steps) directly after it, copies the stub in, and returns
/// the plan's bytes for restore_plan::write. The stub's pages are
/// populated by the mmap (all are written at once: one system call instead
/// of a fault each); the plan's are faulted in as they are written, so
/// that its stack (restore_plan::TEMP_STACK) costs only what the stub uses.
pub fn map_block(at: u64, plan_len: u64, stub: &[u8]) -> Checked<&'static mut [u8]> {
    let map = |addr: u64, len: u64, prot: ProtFlags, populate: bool| -> Checked<NonNull<u8>> {
        let mut fixed = MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED_NOREPLACE;
        if populate {
            fixed |= MapFlags::MAP_POPULATE;
        }
        let len = NonZeroUsize::new(len as usize).ok_or_else(|| internal("map-block", "empty"))?;
        let want = NonZeroUsize::new(addr as usize);
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping:
        // the range was chosen free (addr.rs) and the call fails if it is not.
        let p = unsafe { mmap_anonymous(want, len, prot, fixed) }.map_err(|e| internal("map-block", e))?;
        if p.as_ptr() as u64 != addr {
            return Err(internal("map-block", "landed elsewhere"));
        }
        Ok(p.cast())
    };
    let plan = map(at, plan_len, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE, false)?;
    let stub_at = map(at + plan_len, stub.len() as u64, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE | ProtFlags::PROT_EXEC, true)?;
    // SAFETY: both ranges were just mapped by us, writable, at least as
    // long as the slices, and nothing else refers to them; they are never
    // unmapped while the restorer runs (the stub unmaps them at the end).
    unsafe {
        std::slice::from_raw_parts_mut(stub_at.as_ptr(), stub.len()).copy_from_slice(stub);
        Ok(std::slice::from_raw_parts_mut(plan.as_ptr(), plan_len as usize))
    }
}

/// Where the stub starts.
pub struct Entry {
    /// Address of the plan (%rdi).
    pub plan: u64,
    /// Initial stack pointer, inside the plan (%rsp).
    pub stack: u64,
    /// The stub's entry point, offset 0 of its blob.
    pub stub: u64,
}

/// Blocks every signal with the raw system call (glibc's sigprocmask keeps
/// its two internal signals unblocked), so that nothing interrupts the
/// stub until each thread's rt_sigreturn installs the image's mask.
pub fn block_all_signals() -> Checked<()> {
    let all: u64 = !0;
    // SAFETY: rt_sigprocmask reads 8 bytes from `all`, which lives across
    // the call, and writes nothing (old set NULL).
    let ret = unsafe { libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &all as *const u64, 0usize, 8usize) };
    if ret != 0 {
        return Err(internal("block-signals", std::io::Error::last_os_error()));
    }
    Ok(())
}

extern "C" {
    /// glibc (2.35+): offset of this thread's rseq area from the thread pointer.
    static __rseq_offset: isize;
    /// glibc: size of the rseq area it registered, 0 if it registered none.
    static __rseq_size: u32;
}

/// glibc registers an rseq area for each thread (in its TLS, which the
/// stub unmaps). The kernel writes into it on preemption and kills the
/// process when it cannot, and would refuse the image's own rseq
/// registration (EBUSY), so the restorer unregisters it first.
pub fn unregister_rseq() -> Checked<()> {
    const RSEQ_FLAG_UNREGISTER: usize = 1;
    const RSEQ_SIG: u32 = 0x5305_3053; // glibc's x86 signature
    // SAFETY: plain reads of two constants glibc sets up before main.
    let (offset, size) = unsafe { (__rseq_offset, __rseq_size) };
    if size == 0 {
        return Ok(()); // not registered (e.g. glibc.pthread.rseq=0)
    }
    let tp: usize;
    // SAFETY: reads the TCB's self pointer at %fs:0 (x86-64 TLS ABI); no write.
    unsafe { std::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags)) };
    let area = tp.wrapping_add_signed(offset);
    // The kernel wants the length given at registration: glibc 2.35-2.39
    // register 32 bytes whatever __rseq_size says, newer ones __rseq_size.
    let mut last = std::io::Error::from_raw_os_error(libc::EINVAL);
    for len in [size, 32] {
        // SAFETY: unregistering only stops the kernel writing to the area.
        let ret = unsafe { libc::syscall(libc::SYS_rseq, area, len as usize, RSEQ_FLAG_UNREGISTER, RSEQ_SIG as usize) };
        if ret == 0 {
            return Ok(());
        }
        last = std::io::Error::last_os_error();
    }
    Err(internal("rseq-unregister", last))
}

/// Shrinks the break to `brk` (0: leave it) and jumps to the stub. Nothing
/// of the restorer runs afterwards: the break held glibc's static TLS and
/// heap, so this is one block of assembly that touches neither.
pub fn enter(e: &Entry, brk: u64) -> ! {
    // SAFETY: the point of no return. The block [plan][stub] is mapped and
    // filled (map_block, restore_plan::write), all signals are blocked, rseq
    // is unregistered, and this thread is the process's only one. The stub
    // takes %rdi = plan and %rsp inside the plan, never returns, and owns
    // the process from here (its memory steps unmap this code).
    unsafe {
        std::arch::asm!(
            "test r12, r12",
            "jz 2f",
            "mov eax, 12", // brk(r12)
            "mov rdi, r12",
            "syscall",
            "2:",
            "mov rsp, r13",
            "mov rdi, r14",
            "jmp r15",
            in("r12") brk,
            in("r13") e.stack,
            in("r14") e.plan,
            in("r15") e.stub,
            options(noreturn)
        )
    }
}
