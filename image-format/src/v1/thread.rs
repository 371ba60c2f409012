//! Thread records: fixed register/state part followed by the XSAVE area,
//! each declared once (`record!`, see layout.rs).

use core::mem::size_of;

use zerocopy::little_endian::U64;

use super::layout::record;
use super::records::StrRef;

record! {
    /// General registers in Linux `user_regs_struct` order.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    #[allow(missing_docs)]
    pub struct Regs = RegsWire[216] {
        pub r15: u64,
        pub r14: u64,
        pub r13: u64,
        pub r12: u64,
        pub rbp: u64,
        pub rbx: u64,
        pub r11: u64,
        pub r10: u64,
        pub r9: u64,
        pub r8: u64,
        pub rax: u64,
        pub rcx: u64,
        pub rdx: u64,
        pub rsi: u64,
        pub rdi: u64,
        pub orig_rax: u64,
        pub rip: u64,
        pub cs: u64,
        pub eflags: u64,
        pub rsp: u64,
        pub ss: u64,
        pub fs_base: u64,
        pub gs_base: u64,
        pub ds: u64,
        pub es: u64,
        pub fs: u64,
        pub gs: u64,
    }
}

/// Number of registers in `Regs`.
pub const NUM_REGS: usize = 27;

impl Regs {
    /// Registers in `user_regs_struct` order.
    pub fn to_array(&self) -> [u64; NUM_REGS] {
        let w: [U64; NUM_REGS] = zerocopy::transmute!(self.to_wire());
        w.map(|v| v.get())
    }

    /// Builds from registers in `user_regs_struct` order.
    pub fn from_array(a: [u64; NUM_REGS]) -> Regs {
        let w: RegsWire = zerocopy::transmute!(a.map(U64::new));
        w.decode().unwrap_or_default()
    }
}

record! {
    /// sigaltstack(2) state.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct AltStack = AltStackWire[24] {
        /// ss_sp.
        pub sp: u64,
        /// ss_flags (SS_ONSTACK 1, SS_DISABLE 2, SS_AUTODISARM 1<<31).
        pub flags: u32,
        reserved _12: 4,
        /// ss_size.
        pub size: u64,
    }
}

record! {
    /// Registered rseq area.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct Rseq = RseqWire[16] {
        /// Address of struct rseq (0: none).
        pub addr: u64,
        /// Registered length.
        pub len: u32,
        /// Abort signature.
        pub sig: u32,
    }
}

record! {
    /// Everything about a thread except its XSAVE bytes: the fixed part of
    /// a THREADS record.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct ThreadState = ThreadWire[320] {
        /// tid at dump time.
        pub tid: u32,
        reserved _4: 4,
        /// General registers.
        pub regs: Regs,
        /// Blocked signal mask.
        pub sigmask: u64,
        /// Alternate signal stack.
        pub altstack: AltStack,
        /// set_tid_address value.
        pub clear_child_tid: u64,
        /// Robust futex list head.
        pub robust_list_head: u64,
        /// Robust futex list length.
        pub robust_list_len: u64,
        /// rseq registration.
        pub rseq: Rseq,
        /// Length of the XSAVE area that follows.
        wire xsave_len: u32,
        reserved _300: 4,
        /// XSTATE_BV of the XSAVE area (also at bytes 512..520 of it).
        pub xstate_bv: u64,
        /// The thread's own name (PR_SET_NAME, /proc/PID/task/TID/comm),
        /// at most 15 bytes; empty: the process's comm, as a new thread
        /// gets (the leader's is `comm`; writers leave its name empty).
        pub name: StrRef,
    }
}

record! {
    /// The start of a standard-format (non-compacted) XSAVE area, as
    /// PTRACE_GETREGSET(NT_X86_XSTATE) returns it: the 512-byte legacy
    /// FXSAVE region and the 64-byte XSAVE header. Only the fields the
    /// format checks are named.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct XsaveStart = XsaveStartWire[576] {
        /// x87 control, status and tag words, opcode and pointers.
        pub fpu: [u8; 24],
        /// MXCSR; bits above 15 are reserved (loading them faults).
        pub mxcsr: u32,
        /// MXCSR_MASK.
        pub mxcsr_mask: u32,
        /// ST0-ST7 and XMM0-XMM15, and the unused bytes up to 464.
        pub registers: [u8; 432],
        /// XCR0 where ptrace reports it (`xstate_fx_sw` word 0, the
        /// convention gdb relies on).
        pub sw_xcr0: u64,
        /// The other software-reserved words.
        pub sw_rest: [u8; 40],
        /// XSTATE_BV: the components present in the area.
        pub xstate_bv: u64,
        /// XCOMP_BV: zero for the standard format.
        pub xcomp_bv: u64,
        /// Reserved; must be zero.
        pub header_reserved: [u8; 48],
    }
}

/// A thread as read from the image; `xsave` borrows from the metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thread<'a> {
    /// Fixed part.
    pub state: ThreadState,
    /// The XSAVE area (standard, non-compacted format).
    pub xsave: &'a [u8],
}

/// Size of the fixed part of a thread record.
pub const THREAD_FIXED_SIZE: usize = size_of::<ThreadWire>();

/// Record size of a thread for a given XSAVE size (area padded to 8).
pub const fn thread_record_size(xsave_size: u32) -> usize {
    THREAD_FIXED_SIZE + ((xsave_size as usize + 7) & !7)
}
