//! `to-core`: images of running test programs become ELF core files that
//! gdb and readelf read like kernel-written ones.

mod common;
mod held;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use held::{held, Gate};
use serde_json::Value;

const BAD_IMAGE: i32 = 7;
const OUTPUT: i32 = 5;

/// Dumps the running `t` and converts the image; returns (image, core, inspect JSON).
fn dump_and_convert(t: &Target, name: &str) -> (PathBuf, PathBuf, Value) {
    let dir = scratch(name);
    let (image, core) = (dir.join("p.ckpt"), dir.join("p.core"));
    dump(t.pid(), &image, &[]);
    let o = run_ckpt(&["to-core", image.to_str().unwrap(), "-o", core.to_str().unwrap()]);
    assert!(o.status.success(), "to-core failed: {}", String::from_utf8_lossy(&o.stderr));
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n.to_string_lossy().contains(".tmp-")).collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let img = inspect(&image);
    (image, core, img)
}

/// `gdb -batch` on `exe` and `core` with the commands; stdout and stderr.
fn gdb(exe: &Path, core: &Path, cmds: &[&str]) -> String {
    let mut c = Command::new("gdb");
    c.args(["-nx", "-batch", "-iex", "set debuginfod enabled off"]);
    for cmd in cmds {
        c.args(["-ex", cmd]);
    }
    let o = c.arg(exe).arg(core).output().expect("running gdb (scripts/deps.sh installs it)");
    assert!(o.status.success(), "gdb failed: {}", String::from_utf8_lossy(&o.stderr));
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// The value printed for `$N = VALUE`.
fn printed(out: &str, n: usize) -> String {
    let prefix = format!("${n} = ");
    out.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {prefix} in\n{out}")).to_string()
}

/// `thread apply all ...` output split per LWP.
fn per_thread(out: &str) -> Vec<(i64, String)> {
    let mut v: Vec<(i64, String)> = Vec::new();
    for line in out.lines() {
        if line.starts_with("Thread ") {
            let lwp = line.split("(LWP ").nth(1).and_then(|s| s.split(')').next()).and_then(|s| s.parse().ok());
            v.push((lwp.unwrap_or_else(|| panic!("no LWP in {line:?}")), String::new()));
        } else if let Some((_, text)) = v.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    v
}

fn tids(img: &Value) -> Vec<i64> {
    img["threads"].as_array().unwrap().iter().map(|t| t["tid"].as_i64().unwrap()).collect()
}

#[test]
fn threads8_core_in_gdb() {
    let args = ["600", "1000"];
    let (t, _gate) = held("threads8", "10", &args);
    let pid = t.pid() as i64;
    let (image, core, img) = dump_and_convert(&t, "core-threads8");
    let exe = programs().join("threads8");
    let want_tids = tids(&img);
    assert_eq!(want_tids.len(), 9);

    let out = gdb(&exe, &core, &["info threads", "thread apply all bt", "print iter", "print us", "print started"]);
    // info threads: one line per thread, the leader current.
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start_matches('*').split_whitespace().next().is_some_and(|w| w.parse::<u32>().is_ok()) && l.contains("(LWP "))
        .collect();
    assert_eq!(rows.len(), want_tids.len(), "info threads:\n{out}");
    let current: Vec<&&str> = rows.iter().filter(|l| l.starts_with('*')).collect();
    assert_eq!(current.len(), 1);
    assert!(current[0].contains(&format!("(LWP {pid})")), "the leader is the current thread: {}", current[0]);
    // Backtraces: the leader waits in main, every worker in work.
    let bts = per_thread(&out);
    let mut lwps: Vec<i64> = bts.iter().map(|b| b.0).collect();
    lwps.sort();
    assert_eq!(lwps, want_tids, "one backtrace per thread of the image");
    for (lwp, bt) in &bts {
        let func = if *lwp == pid { " main (" } else { " work (" };
        assert!(bt.contains(func), "LWP {lwp}: no{func}in\n{bt}");
    }
    // Globals the program set at run time (in memory, not in the file).
    assert_eq!(printed(&out, 1), args[0]);
    assert_eq!(printed(&out, 2), args[1]);
    assert_eq!(printed(&out, 3), (want_tids.len() - 1).to_string(), "started: every worker");

    // Registers as the image records them.
    let out = gdb(&exe, &core, &["thread apply all info registers rip rsp fs_base"]);
    for (lwp, regs) in per_thread(&out) {
        let th = thread(&img, lwp as i32);
        for name in ["rip", "rsp", "fs_base"] {
            let line = regs.lines().find(|l| l.starts_with(name) && l[name.len()..].starts_with(' ')).unwrap_or_else(|| panic!("no {name}: {regs}"));
            let v = line.split_whitespace().nth(1).unwrap();
            assert_eq!(u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap(), th["regs"][name].as_u64().unwrap(), "{name} of LWP {lwp}");
        }
    }

    // Anonymous memory the image does not store is a hole, not data.
    let (core_md, image_md) = (std::fs::metadata(&core).unwrap(), std::fs::metadata(&image).unwrap());
    assert!(core_md.len() > image_md.len());
    assert!(core_md.blocks() * 512 <= 2 * image_md.len() + (1 << 20), "core is sparse: {} bytes allocated", core_md.blocks() * 512);
    drop(t);
}

/// Counts the lines of `text` that contain `what`.
fn count(text: &str, what: &str) -> usize {
    text.lines().filter(|l| l.contains(what)).count()
}

#[test]
fn notes_listed_by_readelf() {
    let (t, _gate) = held("threads8", "10", &["600", "1000"]);
    let (_, core, img) = dump_and_convert(&t, "core-notes");
    let n = img["threads"].as_array().unwrap().len();
    let o = Command::new("readelf").arg("-n").arg(&core).output().expect("readelf (binutils)");
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for (note, want) in [("NT_PRSTATUS", n), ("NT_FPREGSET", n), ("NT_X86_XSTATE", n), ("NT_PRPSINFO", 1), ("NT_AUXV", 1), ("NT_FILE", 1)] {
        assert_eq!(count(&text, note), want, "{note} in\n{text}");
    }
    let o = Command::new("readelf").arg("-h").arg(&core).output().unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("CORE (Core file)"));
    // elfutils decodes the contents: the leader first, every tid, the
    // executable's mappings in NT_FILE, the command line.
    let o = Command::new("eu-readelf").arg("-n").arg(&core).output().expect("eu-readelf (elfutils)");
    let text = String::from_utf8_lossy(&o.stdout);
    let pids: Vec<i64> = text.lines().filter_map(|l| l.trim().strip_prefix("pid: ")).map(|s| s.split(',').next().unwrap().parse().unwrap()).collect();
    // "pid: " starts the pid line of each NT_PRSTATUS (NT_PRPSINFO's starts with "uid: ").
    assert_eq!(pids[0], t.pid() as i64, "the leader's NT_PRSTATUS comes first");
    let mut prstatus = pids.clone();
    prstatus.sort();
    assert_eq!(prstatus, tids(&img));
    let exe = std::fs::read_link(format!("/proc/{}/exe", t.pid())).unwrap();
    let file_maps = img["regions"].as_array().unwrap().iter().filter(|r| r["kind"] == "File").count();
    assert!(text.contains(&format!("{file_maps} files:")), "{text}");
    let listed = text.lines().filter(|l| l.ends_with(exe.to_str().unwrap()) && !l.contains("psargs:")).count();
    assert_eq!(listed, file_maps, "{text}");
    assert!(text.contains(&format!("psargs: {} --wait-at 10 600 1000", exe.display())), "{text}");
}

#[test]
fn dynamic_program_libraries_in_gdb() {
    let (t, _gate) = held("counter-dynamic", "399", &["400", "1000"]);
    let (_, core, _) = dump_and_convert(&t, "core-dynamic");
    let out = gdb(&programs().join("counter-dynamic"), &core, &["bt", "info sharedlibrary", "print *(char **)&program_invocation_short_name"]);
    assert!(out.contains(" main ("), "{out}");
    assert!(out.lines().any(|l| l.contains("libc.so") && l.starts_with("0x")), "libc loaded from NT_FILE/link map: {out}");
    assert!(printed(&out, 1).ends_with("\"counter-dynamic\""), "{out}");
}

#[test]
fn bad_images_and_outputs() {
    let (t, _gate) = held("counter", "299", &["300", "1000"]);
    let dir = scratch("core-bad");
    let good = dir.join("good.ckpt");
    dump(t.pid(), &good, &[]);
    let bytes = std::fs::read(&good).unwrap();
    let h = image_format::Header::parse(&bytes).unwrap();
    let to_core = |image: &Path, core: &Path| run_ckpt(&["to-core", image.to_str().unwrap(), "-o", core.to_str().unwrap()]);
    let files = |d: &Path| std::fs::read_dir(d).unwrap().count();
    for (name, offset, reason) in [("meta", 300u64, "metadata-checksum"), ("page", h.pages_offset + h.pages_len / 2, "page-checksum")] {
        let bad = dir.join(format!("{name}.ckpt"));
        let mut b = bytes.clone();
        b[offset as usize] ^= 0x40;
        std::fs::write(&bad, &b).unwrap();
        let before = files(&dir);
        let o = to_core(&bad, &dir.join(format!("{name}.core")));
        assert_eq!(o.status.code(), Some(BAD_IMAGE), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&format!("invalid image: {reason}")), "{err}");
        assert_eq!(files(&dir), before, "{name}: no core and no temporary file left");
    }
    let o = to_core(&good, &good);
    assert_eq!(o.status.code(), Some(2), "the image is not overwritten by its core");
    assert_eq!(std::fs::read(&good).unwrap(), bytes);
    let o = to_core(&good, &dir.join("no-such-dir/x.core"));
    assert_eq!(o.status.code(), Some(OUTPUT));
    let o = to_core(&dir.join("missing.ckpt"), &dir.join("m.core"));
    assert_ne!(o.status.code(), Some(0));
    assert!(!dir.join("m.core").exists());
}

/// Notes and segments of a core file: (type, name, descriptor) and
/// (vaddr, memsz, flags) of each PT_LOAD.
type Parsed = (Vec<(u32, Vec<u8>, Vec<u8>)>, Vec<(u64, u64, u32)>);

fn parse_core(path: &Path) -> Parsed {
    use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
    let data = std::fs::read(path).unwrap();
    let elf = ElfFile64::<object::Endianness>::parse(&*data).unwrap();
    let e = elf.endian();
    let (mut notes, mut loads) = (Vec::new(), Vec::new());
    for ph in elf.elf_header().program_headers(e, &*data).unwrap() {
        if ph.p_type(e) == object::elf::PT_LOAD {
            loads.push((ph.p_vaddr(e), ph.p_memsz(e), ph.p_flags(e).0));
        }
        if let Some(mut it) = ph.notes(e, &*data).unwrap() {
            while let Some(n) = it.next().unwrap() {
                notes.push((n.n_type(e).0, n.name().to_vec(), n.desc().to_vec()));
            }
        }
    }
    (notes, loads)
}

/// Where the kernel is set to write plain `core` files (core_pattern
/// "core"), the same process's kernel-written core has the same segments
/// (but [vsyscall], which images leave out), the same kinds of notes (but
/// NT_SIGINFO: no signal ended the checkpointed process) and identical
/// NT_AUXV, NT_FILE and NT_X86_XSAVE_LAYOUT.
#[test]
fn matches_a_kernel_core() {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    skip_unless!(pattern.trim() == "core", "kernel.core_pattern is {pattern:?}, not \"core\": the kernel's core would not land in the test's directory");
    let dir = scratch("core-kernel");
    let mut cmd = Command::new(programs().join("threads8"));
    cmd.args(["--wait-at", "10", "600", "1000"]).current_dir(&dir);
    let _gate = Gate::attach(&mut cmd);
    // SAFETY: setrlimit is async-signal-safe and touches only the child's
    // own limits, between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
            if libc::setrlimit(libc::RLIMIT_CORE, &unlimited) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut t = Target::spawn(cmd);
    t.wait_line("ready");
    let pid = t.pid();
    let (image, ours) = (dir.join("t.ckpt"), dir.join("t.core"));
    dump(pid, &image, &["--leave-stopped"]);
    wait_stopped(pid);
    let o = run_ckpt(&["to-core", image.to_str().unwrap(), "-o", ours.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Still stopped: SIGSEGV waits for SIGCONT, then the kernel dumps it.
    let p = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGSEGV).unwrap();
    resume(pid);
    let (st, _) = t.finish();
    assert!(!st.success());
    let uses_pid = std::fs::read_to_string("/proc/sys/kernel/core_uses_pid").unwrap_or_default().trim() == "1";
    let kernel = if uses_pid { dir.join(format!("core.{pid}")) } else { dir.join("core") };
    let (kn, kl) = parse_core(&kernel);
    let (on, ol) = parse_core(&ours);

    // A file mapping with copied-on-write pages is split into several
    // segments in ours; compare the address ranges covered, with flags.
    let coalesce = |l: Vec<(u64, u64, u32)>| {
        let mut out: Vec<(u64, u64, u32)> = Vec::new();
        for (a, n, f) in l.into_iter().filter(|l| l.0 < 0xffff_8000_0000_0000) {
            match out.last_mut() {
                Some(last) if last.0 + last.1 == a && last.2 == f => last.1 += n,
                _ => out.push((a, n, f)),
            }
        }
        out
    };
    assert_eq!(coalesce(ol), coalesce(kl), "PT_LOAD segments (address, size, flags)");
    let kinds = |n: &[(u32, Vec<u8>, Vec<u8>)]| {
        let mut k: Vec<u32> = n.iter().map(|x| x.0).filter(|&t| t != object::elf::NT_SIGINFO.0).collect();
        k.sort();
        k
    };
    assert_eq!(kinds(&on), kinds(&kn), "note types");
    for ty in [object::elf::NT_AUXV.0, object::elf::NT_FILE.0, 0x205] {
        let desc = |n: &[(u32, Vec<u8>, Vec<u8>)]| n.iter().find(|x| x.0 == ty).map(|x| x.2.clone());
        assert!(desc(&kn).is_some(), "kernel core has note {ty:#x}");
        assert_eq!(desc(&on), desc(&kn), "note {ty:#x}");
    }
}

/// With 65535 or more program headers, e_phnum holds PN_XNUM and section
/// header 0 the real count; readelf and gdb read such a core.
#[test]
fn more_segments_than_e_phnum_holds() {
    use image_format::{Image, ImageDesc, RegionDesc, RegionKind};
    let (t, _gate) = held("counter", "299", &["300", "1000"]);
    let dir = scratch("core-xnum");
    let (small, big, core) = (dir.join("small.ckpt"), dir.join("big.ckpt"), dir.join("big.core"));
    dump(t.pid(), &small, &[]);
    let bytes = std::fs::read(&small).unwrap();
    let img = Image::parse_bytes(&bytes).unwrap();
    let mut desc = ImageDesc::from_image(&img);
    // Where each stored page's bytes are, to write them into the new image.
    let mut pages = std::collections::HashMap::new();
    for r in img.regions() {
        for run in img.page_runs(&r) {
            for i in 0..run.page_count {
                pages.insert(r.start + (run.page_index + i) * 4096, run.file_offset + i * 4096);
            }
        }
    }
    // Inaccessible one-page regions (one PT_LOAD each) up to the format's
    // region limit, in a range the program does not use.
    let extra = image_format::limits::MAX_REGIONS as usize - desc.regions.len();
    let template = desc.regions.iter().find(|r| r.kind == RegionKind::Anon).unwrap().clone();
    for i in 0..extra as u64 {
        let start = 0x10_0000_0000 + i * 0x2000;
        desc.regions.push(RegionDesc { start, end: start + 4096, prot: 0, runs: Vec::new(), ..template.clone() });
    }
    desc.regions.sort_by_key(|r| r.start);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
    image_format::write_image(&desc, &mut out, |addr, buf| {
        for (k, chunk) in buf.chunks_mut(4096).enumerate() {
            let off = pages[&(addr + k as u64 * 4096)] as usize;
            chunk.copy_from_slice(&bytes[off..off + 4096]);
        }
        Ok(())
    })
    .unwrap();
    drop(out);
    let o = run_ckpt(&["to-core", big.to_str().unwrap(), "-o", core.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let o = Command::new("readelf").args(["-lW"]).arg(&core).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let phnum: usize = text.split("There are ").nth(1).and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
    let loads = count(&text, "  LOAD ");
    assert!(phnum > 0xffff && phnum == loads + 1, "{} program headers, {loads} PT_LOAD", phnum);
    assert!(loads >= desc.regions.len());
    let out = gdb(&programs().join("counter"), &core, &["bt"]);
    assert!(out.contains(" main ("), "{out}");
}
