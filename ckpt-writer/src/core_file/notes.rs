//! The PT_NOTE contents of a core file, laid out as Linux's own core dumps
//! (fs/binfmt_elf.c): per thread NT_PRSTATUS, NT_FPREGSET, NT_X86_XSTATE,
//! the leader first (gdb makes the first NT_PRSTATUS the current thread);
//! after the leader's NT_PRSTATUS the process-wide NT_PRPSINFO, NT_AUXV and
//! NT_FILE; after all threads NT_X86_XSAVE_LAYOUT. No NT_SIGINFO: no
//! signal ended this process, and with pr_cursig 0 gdb reports none.
//!
//! The structures are the x86-64 ones of glibc's <sys/procfs.h> (the
//! kernel's `struct elf_prstatus` / `elf_prpsinfo`); no crate describes
//! them, so their offsets are written out here.

use image_format::{ImageDesc, RegionKind, ThreadDesc};
use object::elf::{self, NoteHeader64};
use object::{bytes_of, LittleEndian as LE, U32};

/// sizeof(struct elf_prstatus) on x86-64.
const PRSTATUS_SIZE: usize = 336;
/// Offset of pr_reg (27 registers in user_regs_struct order, as the image).
const PR_REG: usize = 112;
/// sizeof(struct elf_prpsinfo) on x86-64.
const PRPSINFO_SIZE: usize = 136;
/// The legacy FXSAVE part of the XSAVE area is struct user_fpregs_struct.
const FPREGS_SIZE: usize = 512;
/// Linux's note type for the XSAVE layout (include/uapi/linux/elf.h); not
/// among object's constants.
const NT_X86_XSAVE_LAYOUT: elf::NoteType = elf::NoteType(0x205);
/// pr_psargs holds at most this many bytes plus a NUL.
pub const PSARGS_MAX: usize = 79;

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn pad4(out: &mut Vec<u8>) {
    out.resize(out.len().next_multiple_of(4), 0);
}

/// Appends one note: header, NUL-terminated name and descriptor, each
/// padded to 4 bytes as ELF64 core notes are.
fn note(out: &mut Vec<u8>, name: &[u8], kind: elf::NoteType, desc: &[u8]) {
    let header = NoteHeader64::<LE> {
        n_namesz: U32::new(LE, name.len() as u32 + 1),
        n_descsz: U32::new(LE, desc.len() as u32),
        n_type: U32::new(LE, kind),
    };
    out.extend_from_slice(bytes_of(&header));
    out.extend_from_slice(name);
    out.push(0);
    pad4(out);
    out.extend_from_slice(desc);
    pad4(out);
}

fn prstatus(t: &ThreadDesc) -> Vec<u8> {
    let mut b = vec![0u8; PRSTATUS_SIZE];
    // pr_info, pr_cursig: 0, no signal. pr_sigpend: not recorded.
    put64(&mut b, 24, t.state.sigmask); // pr_sighold
    put32(&mut b, 32, t.state.tid); // pr_pid: gdb's LWP id
    for (i, v) in t.state.regs.to_array().into_iter().enumerate() {
        put64(&mut b, PR_REG + 8 * i, v);
    }
    put32(&mut b, PR_REG + 27 * 8, 1); // pr_fpvalid
    b
}

fn prpsinfo(d: &ImageDesc, psargs: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; PRPSINFO_SIZE];
    b[1] = b'R'; // pr_sname: it was running when dumped
    put32(&mut b, 24, d.process.pid); // pr_pid; uid, gid, ppid, pgrp, sid are not recorded
    let comm = &d.process.comm.0[..d.process.comm.0.len().min(15)];
    b[40..40 + comm.len()].copy_from_slice(comm); // pr_fname[16]
    let args = &psargs[..psargs.len().min(PSARGS_MAX)];
    b[56..56 + args.len()].copy_from_slice(args); // pr_psargs[80]
    b
}

fn auxv(d: &ImageDesc) -> Vec<u8> {
    let mut b = Vec::with_capacity((d.auxv.len() + 1) * 16);
    for a in d.auxv.iter().map(|a| (a.key, a.value)).chain([(0, 0)]) {
        b.extend_from_slice(&a.0.to_le_bytes());
        b.extend_from_slice(&a.1.to_le_bytes());
    }
    b
}

/// NT_FILE: count, page size, (start, end, offset in pages) per file
/// mapping, then their NUL-terminated paths. gdb reads the memory of file
/// mappings the core has no data for from these files.
fn files(d: &ImageDesc) -> Vec<u8> {
    let maps: Vec<_> = d.regions.iter().filter(|r| r.kind == RegionKind::File).collect();
    let mut b = Vec::new();
    b.extend_from_slice(&(maps.len() as u64).to_le_bytes());
    b.extend_from_slice(&4096u64.to_le_bytes());
    for r in &maps {
        for v in [r.start, r.end, r.file_offset / 4096] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    for r in &maps {
        b.extend_from_slice(&r.path.0);
        b.push(0);
    }
    b
}

/// NT_X86_XSAVE_LAYOUT, as Linux 6.5+ writes it after the thread notes:
/// (type, size, offset, flags) of every enabled XSAVE component from 2 on,
/// so that a debugger does not have to guess where a CPU puts them (AMD
/// and Intel differ). The image does not record the dumping CPU's offsets,
/// so this machine's (CPUID leaf 0xD) are given, and only when its XSAVE
/// size for the image's features is the image's: the layouts of the CPUs
/// in use differ in size (e.g. 2432 bytes on AMD Zen 4, 2688 on Intel for
/// the same AVX-512 features). Otherwise the note is left out, as older
/// kernels do, and gdb guesses from the size.
fn xsave_layout(d: &ImageDesc) -> Option<Vec<u8>> {
    use std::arch::x86_64::__cpuid_count;
    let xcr0 = d.process.xcr0;
    // CPUID 0xD sub-leaf 0: EBX = size for the features enabled here.
    if __cpuid_count(0xd, 0).ebx != d.process.xsave_size {
        return None;
    }
    let mut b = Vec::new();
    for i in (2..63).filter(|i| xcr0 & (1u64 << i) != 0) {
        let c = __cpuid_count(0xd, i);
        let (size, offset) = (c.eax, c.ebx);
        if size == 0 || offset.checked_add(size)? > d.process.xsave_size {
            return None;
        }
        for v in [i, size, offset, 0] {
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
    Some(b)
}

/// Threads in core order: the leader (tid = pid) first, the others by tid.
pub fn thread_order(d: &ImageDesc) -> Vec<&ThreadDesc> {
    let mut ts: Vec<&ThreadDesc> = d.threads.iter().collect();
    ts.sort_by_key(|t| (t.state.tid != d.process.pid, t.state.tid));
    ts
}

/// All notes of the core file. `psargs`: the command line, arguments
/// separated by spaces.
pub fn build(d: &ImageDesc, psargs: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, t) in thread_order(d).into_iter().enumerate() {
        note(&mut out, elf::ELF_NOTE_CORE, elf::NT_PRSTATUS, &prstatus(t));
        if i == 0 {
            note(&mut out, elf::ELF_NOTE_CORE, elf::NT_PRPSINFO, &prpsinfo(d, psargs));
            note(&mut out, elf::ELF_NOTE_CORE, elf::NT_AUXV, &auxv(d));
            note(&mut out, elf::ELF_NOTE_CORE, elf::NT_FILE, &files(d));
        }
        let x = &t.xsave.0;
        note(&mut out, elf::ELF_NOTE_CORE, elf::NT_PRFPREG, &x[..FPREGS_SIZE.min(x.len())]);
        // The area as ptrace returned it, XCR0 at bytes 464..472 where gdb
        // looks for it.
        note(&mut out, elf::ELF_NOTE_LINUX, elf::NT_X86_XSTATE, x);
    }
    if let Some(layout) = xsave_layout(d) {
        note(&mut out, elf::ELF_NOTE_LINUX, NT_X86_XSAVE_LAYOUT, &layout);
    }
    out
}
