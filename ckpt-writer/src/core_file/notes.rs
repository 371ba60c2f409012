//! The PT_NOTE contents of a core file, laid out as Linux's own core dumps
//! (fs/binfmt_elf.c): per thread NT_PRSTATUS, NT_FPREGSET, NT_X86_XSTATE,
//! the leader first (gdb makes the first NT_PRSTATUS the current thread);
//! after the leader's NT_PRSTATUS the process-wide NT_PRPSINFO, NT_AUXV and
//! NT_FILE; after all threads NT_X86_XSAVE_LAYOUT. No NT_SIGINFO: no
//! signal ended this process, and with pr_cursig 0 gdb reports none.
//!
//! The structures are the x86-64 ones of glibc's <sys/procfs.h> (the
//! kernel's `struct elf_prstatus` / `elf_prpsinfo`); no crate describes
//! them, so they are declared here (zerocopy checks they have no padding).

use image_format::{ImageDesc, RegionKind, ThreadDesc};
use object::elf::{self, NoteHeader64};
use object::{bytes_of, LittleEndian as LE, U32};
use zerocopy::{FromZeros, Immutable, IntoBytes};

/// struct elf_prstatus on x86-64 (336 bytes).
#[derive(FromZeros, IntoBytes, Immutable)]
#[repr(C)]
struct Prstatus {
    /// pr_info: si_signo, si_code, si_errno.
    info: [i32; 3],
    cursig: u16,
    _pad0: u16,
    sigpend: u64,
    sighold: u64,
    pid: u32,
    ppid: u32,
    pgrp: u32,
    sid: u32,
    /// pr_utime, pr_stime, pr_cutime, pr_cstime: (seconds, microseconds).
    times: [[u64; 2]; 4],
    /// 27 registers in user_regs_struct order, as the image.
    reg: [u64; 27],
    fpvalid: u32,
    _pad1: u32,
}

/// struct elf_prpsinfo on x86-64 (136 bytes).
#[derive(FromZeros, IntoBytes, Immutable)]
#[repr(C)]
struct Prpsinfo {
    state: u8,
    sname: u8,
    zomb: u8,
    nice: u8,
    _pad0: u32,
    flag: u64,
    uid: u32,
    gid: u32,
    pid: u32,
    ppid: u32,
    pgrp: u32,
    sid: u32,
    fname: [u8; 16],
    psargs: [u8; PSARGS_MAX + 1],
}

const _: () = assert!(size_of::<Prstatus>() == 336 && size_of::<Prpsinfo>() == 136);

/// The legacy FXSAVE part of the XSAVE area is struct user_fpregs_struct.
const FPREGS_SIZE: usize = 512;
/// Linux's note type for the XSAVE layout (include/uapi/linux/elf.h); not
/// among object's constants.
const NT_X86_XSAVE_LAYOUT: elf::NoteType = elf::NoteType(0x205);
/// pr_psargs holds at most this many bytes plus a NUL.
pub const PSARGS_MAX: usize = 79;

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
    let mut p = Prstatus::new_zeroed();
    // pr_info, pr_cursig: 0, no signal. pr_sigpend: not recorded.
    p.sighold = t.state.sigmask;
    p.pid = t.state.tid; // gdb's LWP id
    p.reg = t.state.regs.to_array();
    p.fpvalid = 1;
    p.as_bytes().to_vec()
}

fn prpsinfo(d: &ImageDesc, psargs: &[u8]) -> Vec<u8> {
    let mut p = Prpsinfo::new_zeroed();
    p.sname = b'R'; // it was running when dumped
    p.pid = d.process.pid; // uid, gid, ppid, pgrp, sid are not recorded
    let comm = &d.process.comm.0[..d.process.comm.0.len().min(15)];
    p.fname[..comm.len()].copy_from_slice(comm);
    let args = &psargs[..psargs.len().min(PSARGS_MAX)];
    p.psargs[..args.len()].copy_from_slice(args);
    p.as_bytes().to_vec()
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
