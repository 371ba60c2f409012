//! `inspect` (a person's or a script's view of an image) and `verify`
//! (full validation including page checksums).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use image_format::{Image, ImageDesc, ThreadDesc, VerifyError, HEADER_SIZE};
use serde_json::{json, Value};

use crate::signals::siginfo_fields;

use crate::error::{Error, Result};

/// XMM0-15 in the legacy FXSAVE part of the area.
const XMM: usize = 160;

/// Offset of XSAVE component `i` in the standard format. The offsets are
/// the CPU's (CPUID leaf 0xD): AMD and Intel differ, e.g. Opmask is at 832
/// on Zen 4 and at 1088 on Intel CPUs with MPX. The image does not record
/// them, so inspect decodes with this machine's layout.
fn component_offset(i: u32) -> usize {
    // CPUID leaf 0xD exists on every CPU with XSAVE.
    let r = std::arch::x86_64::__cpuid_count(0xd, i);
    r.ebx as usize
}

/// An image file's metadata and tail, read into memory (page data stays
/// on disk). Also used by `to-core`.
pub(crate) struct Loaded {
    pub(crate) file: File,
    header: Vec<u8>,
    meta: Vec<u8>,
    tail: Vec<u8>,
    len: u64,
    /// Where the image starts in the file: 0, or a tree member's offset
    /// (its page runs' offsets are relative to it).
    pub(crate) base: u64,
    /// The TREE record of a member image (None: the file's own image).
    pub(crate) member: Option<image_format::TreeProcess>,
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadImage { path: path.display().to_string(), reason: reason.into() }
}

pub(crate) fn load(path: &Path) -> Result<Loaded> {
    let file = File::open(path).map_err(|e| Error::sys(format!("opening {}", path.display()), e))?;
    load_at(path, file, None)
}

/// Loads the image at `member`'s place (a tree member) or at 0.
pub(crate) fn load_at(path: &Path, file: File, member: Option<image_format::TreeProcess>) -> Result<Loaded> {
    let file_len = file.metadata().map_err(|e| Error::sys(format!("stat of {}", path.display()), e))?.len();
    let base = member.map_or(0, |m| m.image_offset);
    let len = member.map_or(file_len, |m| m.image_len);
    if base.checked_add(len).is_none_or(|end| end > file_len) {
        return Err(bad(path, "truncated"));
    }
    let read = |off: u64, n: u64| -> Result<Vec<u8>> {
        if off.checked_add(n).is_none_or(|end| end > len) || n > (1 << 30) {
            return Err(bad(path, "truncated"));
        }
        let mut buf = vec![0u8; n as usize];
        file.read_exact_at(&mut buf, base + off).map_err(|e| Error::sys(format!("reading {}", path.display()), e))?;
        Ok(buf)
    };
    let header = read(0, HEADER_SIZE as u64)?;
    let h = image_format::Header::parse(&header).map_err(|e| bad(path, e.name()))?;
    let meta = read(h.metadata_offset, h.metadata_len)?;
    let tail = read(h.tail_offset, h.tail_len)?;
    Ok(Loaded { file, header, meta, tail, len, base, member })
}

impl Loaded {
    pub(crate) fn image(&self, path: &Path) -> Result<Image<'_>> {
        match &self.member {
            Some(m) => Image::parse_member(&self.header, &self.meta, &self.tail, m),
            None => Image::parse(&self.header, &self.meta, &self.tail, self.len),
        }
        .map_err(|e| bad(path, e.name()))
    }
}

/// `ckpt-writer verify FILE`.
pub fn verify(path: &Path) -> Result<()> {
    let loaded = load(path)?;
    let img = loaded.image(path)?;
    if img.is_tree_root() {
        return crate::inspect_tree::verify(path, &loaded, &img);
    }
    verify_pages(path, &loaded, &img)?;
    let runs = img.run_count();
    println!("{}: valid image of pid {}: {} threads, {} regions, {runs} page runs, checksums match", path.display(), img.process.pid, img.thread_count(), img.region_count());
    Ok(())
}

/// Checks every stored page of `img` (loaded as `loaded`) against its CRC.
pub(crate) fn verify_pages(path: &Path, loaded: &Loaded, img: &Image<'_>) -> Result<()> {
    image_format::verify_pages(img, |off, buf| loaded.file.read_exact_at(buf, loaded.base + off)).map_err(|e| match e {
        VerifyError::Format(f) => bad(path, format!("{} (stored page data does not match its checksum)", f.name())),
        VerifyError::Read(e) => Error::sys(format!("reading {}", path.display()), e),
    })
}

/// `ckpt-writer inspect FILE [--json]`.
pub fn inspect(path: &Path, as_json: bool) -> Result<()> {
    let loaded = load(path)?;
    let img = loaded.image(path)?;
    if img.is_tree_root() {
        return crate::inspect_tree::inspect(path, &loaded, &img, as_json);
    }
    let desc = ImageDesc::from_image(&img);
    let v = to_json(&desc, loaded.len);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print_text(&desc, loaded.len);
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn s(b: &image_format::ByteString) -> String {
    String::from_utf8_lossy(&b.0).into_owned()
}

/// Vector registers of a thread's XSAVE area, by component present.
fn vector_regs(t: &ThreadDesc) -> Value {
    let x = &t.xsave.0;
    let bv = t.state.xstate_bv;
    let slots = |off: usize, n: usize, size: usize| -> Value {
        (0..n).filter_map(|i| x.get(off + i * size..off + (i + 1) * size)).map(hex).collect()
    };
    let mut v = json!({ "mxcsr": x.get(24..28).map(|b| u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))), "xmm": slots(XMM, 16, 16) });
    for (bit, name, n, size) in [(2, "ymm_hi128", 16, 16), (5, "opmask", 8, 8), (6, "zmm_hi256", 16, 32), (7, "hi16_zmm", 16, 64)] {
        if bv & (1 << bit) != 0 {
            v[name] = slots(component_offset(bit), n, size);
        }
    }
    v
}

const REG_NAMES: [&str; 27] = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi",
    "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
];

pub(crate) fn to_json(d: &ImageDesc, file_len: u64) -> Value {
    let p = &d.process;
    let m = &p.mm;
    json!({
        "file_len": file_len,
        "kernel_release": s(&d.kernel_release),
        "dump_time": { "sec": d.dump_time_sec, "nsec": d.dump_time_nsec },
        "process": {
            "pid": p.pid, "comm": s(&p.comm), "exe": s(&p.exe_path),
            "exe_id": { "dev": p.exe_id.dev, "ino": p.exe_id.ino, "size": p.exe_id.size, "mtime_sec": p.exe_id.mtime_sec, "mtime_nsec": p.exe_id.mtime_nsec },
            "cwd": s(&p.cwd), "umask": p.umask, "personality": p.personality,
            "xcr0": p.xcr0, "xsave_size": p.xsave_size,
            "mm": {
                "start_code": m.start_code, "end_code": m.end_code, "start_data": m.start_data, "end_data": m.end_data,
                "start_brk": m.start_brk, "brk": m.brk, "start_stack": m.start_stack, "arg_start": m.arg_start,
                "arg_end": m.arg_end, "env_start": m.env_start, "env_end": m.env_end,
            },
            "rlimits": p.rlimits.iter().map(|r| json!([r.cur, r.max])).collect::<Vec<_>>(),
            "membarrier": p.membarrier,
            "pdeath_signal": d.attrs.pdeath_signal, "attr_flags": d.attrs.flags, "oom_score_adj": d.attrs.oom_score_adj as i32,
        },
        "sched": d.sched.iter().map(|s| json!({
            "tid": s.tid, "policy": s.policy, "flags": s.flags, "nice": s.nice as i32, "priority": s.priority, "ioprio": s.ioprio,
            "cpus": (0..1024).filter(|&c: &usize| s.affinity[c / 8] & (1 << (c % 8)) != 0).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "auxv": d.auxv.iter().map(|a| json!([a.key, a.value])).collect::<Vec<_>>(),
        "threads": d.threads.iter().map(|t| {
            let st = &t.state;
            let regs: serde_json::Map<String, Value> =
                REG_NAMES.iter().zip(st.regs.to_array()).map(|(n, v)| (n.to_string(), json!(v))).collect();
            json!({
                "tid": st.tid, "regs": regs, "vector": vector_regs(t), "xstate_bv": st.xstate_bv,
                "sigmask": st.sigmask,
                "altstack": { "sp": st.altstack.sp, "size": st.altstack.size, "flags": st.altstack.flags },
                "clear_child_tid": st.clear_child_tid,
                "robust_list": { "head": st.robust_list_head, "len": st.robust_list_len },
                "rseq": { "addr": st.rseq.addr, "len": st.rseq.len, "sig": st.rseq.sig },
            })
        }).collect::<Vec<_>>(),
        "sigactions": d.sigactions.iter().enumerate().map(|(i, a)| json!({
            "signal": i + 1, "handler": a.handler, "flags": a.flags, "restorer": a.restorer, "mask": a.mask,
        })).collect::<Vec<_>>(),
        "regions": d.regions.iter().map(|r| json!({
            "start": r.start, "end": r.end, "prot": prot_str(r.prot), "kind": format!("{:?}", r.kind),
            "shared": r.flags & 1 != 0, "shared_anon": r.flags & 2 != 0, "path": s(&r.path),
            "file_offset": r.file_offset, "pages": (r.end - r.start) / 4096,
            "maps_file": (r.flags & image_format::v1::records::region_flags::MAPS_FILE != 0).then_some(r.file),
            "advice": describe_advice(r.flags).split(' ').filter(|a| !a.is_empty()).collect::<Vec<_>>(),
            "stored_pages": r.runs.iter().map(|x| x.page_count).sum::<u64>(),
            "runs": r.runs.iter().map(|x| json!([x.page_index, x.page_count])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "fds": d.fds.iter().map(|f| json!({
            "fd": f.fd, "kind": format!("{:?}", f.kind), "disposition": format!("{:?}", f.disposition),
            "flags": f.open_flags, "offset": f.offset, "path": s(&f.path), "cloexec": f.cloexec,
            "file": (f.disposition == image_format::FdDisposition::Shared).then_some(f.file),
        })).collect::<Vec<_>>(),
        "files": d.files.iter().map(|f| json!({
            "kind": format!("{:?}", f.kind), "status_flags": f.status_flags, "offset": f.offset, "path": s(&f.path),
            "pipe": f.pipe, "peer_gone": f.kind == image_format::FileKind::Pipe && f.kind_flags & 1 != 0,
            "queued_bytes": f.data.0.len(), "values": f.values,
            "socket_options": f.sockopts.iter().map(|o| json!({
                "option": image_format::v1::sockopts::find(o.level, o.name).map(|d| d.text), "level": o.level, "name": o.name, "value": o.value,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "timers": d.timers.iter().map(|t| json!({
            "kind": format!("{:?}", t.kind), "id": t.id, "clock": t.clock, "notify": t.notify, "signo": t.signo,
            "tid": t.tid, "value": t.value, "interval_ns": t.interval_ns, "remaining_ns": t.remaining_ns, "overrun": t.overrun,
        })).collect::<Vec<_>>(),
        "locks": d.locks.iter().map(|l| json!({
            "fd": l.fd, "kind": format!("{:?}", l.kind), "write": l.write != 0, "start": l.start, "len": l.len,
        })).collect::<Vec<_>>(),
        "pending_signals": d.pending_signals.iter().map(|p| {
            let (errno, code, pid, uid, value) = siginfo_fields(&p.siginfo);
            json!({
                "signo": p.signo, "scope": format!("{:?}", p.scope), "tid": p.tid,
                "errno": errno, "code": code, "pid": pid, "uid": uid, "value": value, "siginfo": hex(&p.siginfo),
            })
        }).collect::<Vec<_>>(),
    })
}

fn prot_str(p: u32) -> String {
    [(1, 'r'), (2, 'w'), (4, 'x')].iter().map(|&(b, c)| if p & b != 0 { c } else { '-' }).collect()
}

pub(crate) fn print_text(d: &ImageDesc, file_len: u64) {
    let p = &d.process;
    println!("image: {file_len} bytes, dumped on Linux {} at {}.{:09}", s(&d.kernel_release), d.dump_time_sec, d.dump_time_nsec);
    println!("process {} ({}), exe {} (dev {:#x} ino {} size {})", p.pid, s(&p.comm), s(&p.exe_path), p.exe_id.dev, p.exe_id.ino, p.exe_id.size);
    println!("  cwd {}{}  umask {:04o}  personality {:#x}  xcr0 {:#x}  xsave {} bytes", s(&p.cwd), if p.cwd_removed { " (removed before the dump)" } else { "" }, p.umask, p.personality, p.xcr0, p.xsave_size);
    let m = &p.mm;
    println!("  code {:#x}-{:#x} data {:#x}-{:#x} brk {:#x}-{:#x} stack {:#x}", m.start_code, m.end_code, m.start_data, m.end_data, m.start_brk, m.brk, m.start_stack);
    println!("  args {:#x}-{:#x} env {:#x}-{:#x}, {} auxv entries", m.arg_start, m.arg_end, m.env_start, m.env_end, d.auxv.len());
    println!("  membarrier registrations {:#x}", p.membarrier);
    if d.attrs != Default::default() {
        println!("  prctl: {}", describe_attrs(&d.attrs));
    }
    if let Some(c) = &d.creds {
        println!(
            "  credentials: uid {}/{}/{}/{} gid {}/{}/{}/{} (real/effective/saved/fs), groups {:?}",
            c.uid, c.euid, c.suid, c.fsuid, c.gid, c.egid, c.sgid, c.fsgid, d.groups
        );
        println!(
            "  capabilities: effective {:#x} permitted {:#x} inheritable {:#x} bounding {:#x} ambient {:#x}",
            c.cap_effective, c.cap_permitted, c.cap_inheritable, c.cap_bounding, c.cap_ambient
        );
    }
    for s in &d.sched {
        println!("  scheduling: {}", crate::sched::describe(s));
    }
    if !d.seccomp.is_empty() {
        let each: Vec<String> = d.seccomp.iter().map(|f| format!("{} instructions{}", f.code.len(), if f.flags & 2 != 0 { " (log)" } else { "" })).collect();
        println!("  seccomp filters, oldest first: {}", each.join(", "));
    }
    println!("threads ({}):", d.threads.len());
    for t in &d.threads {
        let st = &t.state;
        let name = if t.name.0.is_empty() { String::new() } else { format!("  name {:?}", String::from_utf8_lossy(&t.name.0)) };
        println!("  tid {}{name}  sigmask {:#018x}  xstate_bv {:#x}", st.tid, st.sigmask, st.xstate_bv);
        for row in REG_NAMES.iter().zip(st.regs.to_array()).collect::<Vec<_>>().chunks(4) {
            let cells: Vec<String> = row.iter().map(|(n, v)| format!("{n:>8} {v:#018x}")).collect();
            println!("   {}", cells.join(" "));
        }
        println!("    altstack sp {:#x} size {} flags {:#x}; clear_child_tid {:#x}; robust list {:#x}/{}; rseq {:#x}/{}",
            st.altstack.sp, st.altstack.size, st.altstack.flags, st.clear_child_tid, st.robust_list_head, st.robust_list_len, st.rseq.addr, st.rseq.len);
    }
    let handled: Vec<String> = d.sigactions.iter().enumerate().filter(|(_, a)| a.handler != 0)
        .map(|(i, a)| match a.handler { 1 => format!("{}:ignored", i + 1), h => format!("{}:{h:#x}", i + 1) }).collect();
    println!("signal actions (non-default): {}", if handled.is_empty() { "none".into() } else { handled.join(" ") });
    println!("regions ({}):", d.regions.len());
    for r in &d.regions {
        let stored: u64 = r.runs.iter().map(|x| x.page_count).sum();
        println!("  {:#014x}-{:#014x} {} {:<10} {:>8}/{:<8} pages stored {}{}", r.start, r.end, prot_str(r.prot), format!("{:?}", r.kind),
            stored, (r.end - r.start) / 4096, match r.flags & 5 { 5 => "shared may-write ", 1 => "shared ", _ => "" }, s(&r.path));
        if r.flags & image_format::v1::records::region_flags::MAPS_FILE != 0 {
            println!("    maps file {} from offset {:#x}", r.file, r.file_offset);
        }
        let advice = describe_advice(r.flags);
        if !advice.is_empty() {
            println!("    {advice}");
        }
    }
    println!("fds ({}):", d.fds.len());
    for f in &d.fds {
        if f.disposition == image_format::FdDisposition::Shared {
            println!("  {:>4} {:<9} shares file {}{}", f.fd, format!("{:?}", f.kind), f.file, if f.cloexec { " (cloexec)" } else { "" });
            continue;
        }
        println!("  {:>4} {:<9} {:<7} flags {:#o} offset {} {}{}", f.fd, format!("{:?}", f.kind), format!("{:?}", f.disposition), f.open_flags, f.offset, s(&f.path), if f.cloexec { " (cloexec)" } else { "" });
    }
    println!("timers ({}):", d.timers.len());
    for t in &d.timers {
        let ms = |ns: u64| ns as f64 / 1e6;
        match t.kind {
            image_format::TimerKind::Posix => println!(
                "  posix {:<4} clock {} notify {} signal {} tid {} value {:#x}: interval {:.3} ms, left {:.3} ms, overrun {}",
                t.id, t.clock, t.notify, t.signo, t.tid, t.value, ms(t.interval_ns), ms(t.remaining_ns), t.overrun
            ),
            k => println!("  {k:?}: interval {:.3} ms, left {:.3} ms", ms(t.interval_ns), ms(t.remaining_ns)),
        }
    }
    println!("file locks ({}):", d.locks.len());
    for l in &d.locks {
        let range = match (l.kind, l.len) {
            (image_format::LockKind::Flock, _) => "whole file".to_string(),
            (_, 0) => format!("bytes {}-EOF", l.start),
            (_, n) => format!("bytes {}-{}", l.start, l.start + (n - 1)),
        };
        println!("  fd {:>4} {:<5} {:<5} {range}", l.fd, format!("{:?}", l.kind), if l.write != 0 { "write" } else { "read" });
    }
    println!("pending signals ({}):", d.pending_signals.len());
    for p in &d.pending_signals {
        let (errno, code, pid, uid, value) = siginfo_fields(&p.siginfo);
        let queue = if p.tid == 0 { "process".to_string() } else { format!("thread {}", p.tid) };
        println!("  {:>2} {:<13} code {code} errno {errno} pid {pid} uid {uid} value {value:#x}", p.signo, queue);
    }
    if !d.files.is_empty() {
        println!("open file descriptions ({}):", d.files.len());
    }
    for (i, f) in d.files.iter().enumerate() {
        println!("  {i:>4} {}", describe_file(f));
    }
}

/// One open file description, as `inspect` prints it.
fn describe_file(f: &image_format::FileDesc) -> String {
    use image_format::FileKind as K;
    match f.kind {
        K::Regular | K::Directory | K::CharDev => {
            format!("{:?} flags {:#o} offset {} {}", f.kind, f.status_flags, f.offset, s(&f.path))
        }
        K::Pipe => format!(
            "pipe {} {} end, flags {:#o}, size {}, {} bytes queued{}",
            f.pipe,
            if f.status_flags & 3 == 0 { "read" } else { "write" },
            f.status_flags,
            f.values[0],
            f.data.0.len(),
            if f.kind_flags & 1 != 0 { ", other end not in the image" } else { "" }
        ),
        K::UnixPair => format!(
            "unix socket pair {} end ({}){}, flags {:#o}, {} bytes queued for reading{}{}",
            f.pipe,
            match f.values[0] {
                1 => "stream",
                2 => "datagram",
                5 => "seqpacket",
                _ => "unknown type",
            },
            if f.kind_flags & 1 != 0 { ", its peer had closed" } else { "" },
            f.status_flags,
            f.data.0.len(),
            if f.data.0.is_empty() { String::new() } else { format!(": {:?}", String::from_utf8_lossy(&f.data.0[..f.data.0.len().min(32)])) },
            match crate::fds_sockopts::describe(&f.sockopts) {
                o if o.is_empty() => o,
                o => format!("; options: {o}"),
            }
        ),
        K::Socket | K::TcpReset | K::TcpRepair => crate::fds_sockets::describe(f),
        K::Inotify => crate::fds_inotify::describe_record(f),
        K::Fifo => crate::fds_fifo::show(f),
        K::Terminal | K::PtyMaster | K::PtySlave => crate::fds_pty::show(f),
        K::DeletedFile => format!(
            "deleted file {} ({} bytes, mode {:o}), flags {:#o}, offset {}",
            s(&f.path),
            f.data.0.len(),
            f.values[1],
            f.status_flags,
            f.offset
        ),
        K::Stdio => format!("the restoring caller's fd {}", f.values[0]),
        K::EventFd => format!("eventfd count {}{}, flags {:#o}", f.values[0], if f.kind_flags & 1 != 0 { " (semaphore)" } else { "" }, f.status_flags),
        K::SignalFd => format!("signalfd mask {:#018x}, flags {:#o}", f.values[0], f.status_flags),
        K::Epoll => {
            let list: Vec<String> = f.epoll.iter().map(|e| format!("fd {} events {:#x} data {:#x}", e.fd, e.events, e.data)).collect();
            format!("epoll, flags {:#o}, {} watched: {}", f.status_flags, f.epoll.len(), list.join("; "))
        }
        K::Memfd => format!(
            "memfd {:?}, {} bytes, offset {}, seals {:#x}, flags {:#o}",
            s(&f.path),
            f.values[0],
            f.offset,
            f.values[1],
            f.status_flags
        ),
        K::TimerFd => format!(
            "timerfd clock {}, {} ns left, interval {} ns, {} expirations unread{}{}, flags {:#o}",
            f.values[0],
            f.values[1],
            f.values[2],
            f.values[3],
            if f.kind_flags & 1 != 0 { format!(", absolute expiry {}", f.values[4]) } else { String::new() },
            if f.kind_flags & 2 != 0 { ", cancel on set" } else { "" },
            f.status_flags
        ),
    }
}

/// A region's per-mapping state, as `inspect` names it ("" for none).
fn describe_advice(flags: u32) -> String {
    use image_format::v1::records::region_flags as rf;
    let names = [
        (rf::LOCKED, "mlock"),
        (rf::DONTFORK, "MADV_DONTFORK"),
        (rf::WIPEONFORK, "MADV_WIPEONFORK"),
        (rf::DONTDUMP, "MADV_DONTDUMP"),
        (rf::HUGEPAGE, "MADV_HUGEPAGE"),
        (rf::NOHUGEPAGE, "MADV_NOHUGEPAGE"),
        (rf::SEQUENTIAL, "MADV_SEQUENTIAL"),
        (rf::RANDOM, "MADV_RANDOM"),
    ];
    names.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, n)| *n).collect::<Vec<_>>().join(" ")
}

/// The prctl attributes, as `inspect` names them.
fn describe_attrs(a: &image_format::v1::ProcessAttrs) -> String {
    use image_format::v1::attr_flags::{CHILD_SUBREAPER, NOT_DUMPABLE, NO_NEW_PRIVS, STOPPED, THP_DISABLE};
    let mut parts = Vec::new();
    if a.pdeath_signal != 0 {
        parts.push(format!("parent-death signal {}", a.pdeath_signal));
    }
    if a.oom_score_adj != 0 {
        parts.push(format!("oom_score_adj {}", a.oom_score_adj as i32));
    }
    let names = [(CHILD_SUBREAPER, "child subreaper"), (NO_NEW_PRIVS, "no_new_privs"), (NOT_DUMPABLE, "not dumpable"), (THP_DISABLE, "THP disabled"), (STOPPED, "stopped")];
    for (bit, name) in names {
        if a.flags & bit != 0 {
            parts.push(name.to_string());
        }
    }
    parts.join(", ")
}
