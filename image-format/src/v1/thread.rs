//! Thread records: fixed register/state part followed by the XSAVE area.

use super::bytes::{get_u32, get_u64, is_zero, put_u32, put_u64};

/// General registers in Linux `user_regs_struct` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct Regs {
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

/// Number of registers in `Regs`.
pub const NUM_REGS: usize = 27;

impl Regs {
    /// Registers in `user_regs_struct` order.
    pub fn to_array(&self) -> [u64; NUM_REGS] {
        [
            self.r15,
            self.r14,
            self.r13,
            self.r12,
            self.rbp,
            self.rbx,
            self.r11,
            self.r10,
            self.r9,
            self.r8,
            self.rax,
            self.rcx,
            self.rdx,
            self.rsi,
            self.rdi,
            self.orig_rax,
            self.rip,
            self.cs,
            self.eflags,
            self.rsp,
            self.ss,
            self.fs_base,
            self.gs_base,
            self.ds,
            self.es,
            self.fs,
            self.gs,
        ]
    }

    /// Builds from registers in `user_regs_struct` order.
    pub fn from_array(a: [u64; NUM_REGS]) -> Regs {
        let [r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs] =
            a;
        Regs {
            r15,
            r14,
            r13,
            r12,
            rbp,
            rbx,
            r11,
            r10,
            r9,
            r8,
            rax,
            rcx,
            rdx,
            rsi,
            rdi,
            orig_rax,
            rip,
            cs,
            eflags,
            rsp,
            ss,
            fs_base,
            gs_base,
            ds,
            es,
            fs,
            gs,
        }
    }
}

/// sigaltstack(2) state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AltStack {
    /// ss_sp.
    pub sp: u64,
    /// ss_flags (SS_ONSTACK 1, SS_DISABLE 2, SS_AUTODISARM 1<<31).
    pub flags: u32,
    /// ss_size.
    pub size: u64,
}

/// Registered rseq area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rseq {
    /// Address of struct rseq (0: none).
    pub addr: u64,
    /// Registered length.
    pub len: u32,
    /// Abort signature.
    pub sig: u32,
}

/// Everything about a thread except its XSAVE bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ThreadState {
    /// tid at dump time.
    pub tid: u32,
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
    /// XSTATE_BV of the XSAVE area (also at bytes 512..520 of it).
    pub xstate_bv: u64,
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
pub const THREAD_FIXED_SIZE: usize = 320;

/// Record size of a thread for a given XSAVE size (area padded to 8).
pub const fn thread_record_size(xsave_size: u32) -> usize {
    THREAD_FIXED_SIZE + ((xsave_size as usize + 7) & !7)
}

impl ThreadState {
    /// Decodes the fixed part; also returns the stored XSAVE length.
    pub fn decode(b: &[u8]) -> (ThreadState, u32) {
        let mut regs = [0u64; NUM_REGS];
        for (i, r) in regs.iter_mut().enumerate() {
            *r = get_u64(b, 8 + 8 * i);
        }
        let t = ThreadState {
            tid: get_u32(b, 0),
            regs: Regs::from_array(regs),
            sigmask: get_u64(b, 224),
            altstack: AltStack {
                sp: get_u64(b, 232),
                flags: get_u32(b, 240),
                size: get_u64(b, 248),
            },
            clear_child_tid: get_u64(b, 256),
            robust_list_head: get_u64(b, 264),
            robust_list_len: get_u64(b, 272),
            rseq: Rseq {
                addr: get_u64(b, 280),
                len: get_u32(b, 288),
                sig: get_u32(b, 292),
            },
            xstate_bv: get_u64(b, 304),
        };
        (t, get_u32(b, 296))
    }

    /// True when reserved bytes of the fixed part are zero.
    pub fn reserved_zero(b: &[u8]) -> bool {
        is_zero(b, 4, 8)
            && is_zero(b, 244, 248)
            && is_zero(b, 300, 304)
            && is_zero(b, 312, THREAD_FIXED_SIZE)
    }

    /// Encodes the fixed part with the XSAVE length into a zeroed buffer.
    pub fn encode(&self, xsave_len: u32, b: &mut [u8]) {
        put_u32(b, 0, self.tid);
        for (i, r) in self.regs.to_array().iter().enumerate() {
            put_u64(b, 8 + 8 * i, *r);
        }
        put_u64(b, 224, self.sigmask);
        put_u64(b, 232, self.altstack.sp);
        put_u32(b, 240, self.altstack.flags);
        put_u64(b, 248, self.altstack.size);
        put_u64(b, 256, self.clear_child_tid);
        put_u64(b, 264, self.robust_list_head);
        put_u64(b, 272, self.robust_list_len);
        put_u64(b, 280, self.rseq.addr);
        put_u32(b, 288, self.rseq.len);
        put_u32(b, 292, self.rseq.sig);
        put_u32(b, 296, xsave_len);
        put_u64(b, 304, self.xstate_bv);
    }
}
