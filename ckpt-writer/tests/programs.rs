//! Each test program is dumped while it runs; the image is checked against
//! what /proc and the program itself report, and the program must finish
//! with exactly the output of an uninterrupted run.

mod common;
mod held;

use common::*;
use held::held;

/// Dumps a running program once (stopped, checked against /proc), then
/// again while it runs, and checks it finishes like an uninterrupted run.
/// It waits before its last step (`last`) until both dumps are done.
fn dump_and_finish(name: &str, last: &str, args: &[&str], fast_args: &[&str]) -> serde_json::Value {
    let want = baseline(name, fast_args);
    let dir = scratch(name);
    let (t, mut gate) = held(name, last, args);
    let img = dump_stopped_and_check(&t, &dir.join("a.ckpt"));
    dump(t.pid(), &dir.join("b.ckpt"), &[]);
    let verify = run_ckpt(&["verify", dir.join("b.ckpt").to_str().unwrap()]);
    assert!(verify.status.success(), "verify: {}", String::from_utf8_lossy(&verify.stderr));
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{name} failed after the dump: {lines:?}");
    assert_eq!(deterministic(&lines), want, "{name} output differs from an uninterrupted run");
    img
}

fn check_process(img: &serde_json::Value, pid: i32, comm: &str) {
    let p = &img["process"];
    assert_eq!(p["pid"], pid);
    assert_eq!(p["comm"], comm);
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(p["exe"], exe.to_str().unwrap());
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
    assert_eq!(p["cwd"], cwd.to_str().unwrap());
    let xcr0 = p["xcr0"].as_u64().unwrap();
    assert_eq!(xcr0 & 3, 3, "x87 and SSE are always enabled");
    assert!(p["xsave_size"].as_u64().unwrap() >= 576);
}

#[test]
fn counter_static() {
    let want_threads = 1;
    let t_args = ["400", "1000"];
    let want = baseline("counter", &["400", "0"]);
    let dir = scratch("counter");
    let (t, mut gate) = held("counter", "399", &t_args);
    let pid = t.pid();
    let img = dump_stopped_and_check(&t, &dir.join("c.ckpt"));
    check_process(&img, pid, "counter");
    assert_eq!(img["threads"].as_array().unwrap().len(), want_threads);
    let regs = &thread(&img, pid)["regs"];
    assert_eq!(regs["cs"], 0x33);
    assert_eq!(regs["ss"], 0x2b);
    // The program sleeps in nanosleep: the recorded registers re-execute it.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("TracerPid:\t0"), "no tracer left behind");
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success());
    assert_eq!(deterministic(&lines), want);
    // auxv equals /proc/PID/auxv of a fresh run is not comparable; check AT_PAGESZ.
    let auxv = img["auxv"].as_array().unwrap();
    assert!(auxv.iter().any(|a| a[0] == 6 && a[1] == 4096), "AT_PAGESZ in auxv");
}

#[test]
fn counter_dynamic() {
    let img = dump_and_finish("counter-dynamic", "399", &["400", "1000"], &["400", "0"]);
    let regions = img["regions"].as_array().unwrap();
    assert!(regions.iter().any(|r| r["path"].as_str().unwrap().contains("libc.so")), "libc mapped");
    let vdso = regions.iter().find(|r| r["kind"] == "Vdso").expect("a vdso region");
    // Every vdso page is stored, for a restorer to compare with its kernel's.
    assert!(vdso["stored_pages"].as_u64().unwrap() > 0);
    assert_eq!(vdso["stored_pages"], vdso["pages"], "{vdso}");
}

#[test]
fn dynamic() {
    let img = dump_and_finish("dynamic", "399", &["400", "1000"], &["400", "0"]);
    // Only copied-on-write pages of libc's file mappings are stored.
    let libc_text = img["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"].as_str().unwrap().contains("libc.so") && r["prot"] == "r-x")
        .expect("libc text");
    assert_eq!(libc_text["stored_pages"], 0, "unmodified library code is not stored");
}

#[test]
fn threads8() {
    let want = baseline("threads8", &["600", "0"]);
    let dir = scratch("threads8");
    let (mut t, mut gate) = held("threads8", "10", &["600", "1000"]);
    let pid = t.pid();
    let img = dump_stopped_and_check(&t, &dir.join("t.ckpt"));
    let mut tids: Vec<i64> = procfs::process::Process::new(pid).unwrap().tasks().unwrap().map(|x| x.unwrap().tid as i64).collect();
    tids.sort();
    let img_tids: Vec<i64> = img["threads"].as_array().unwrap().iter().map(|x| x["tid"].as_i64().unwrap()).collect();
    assert_eq!(img_tids, tids, "every thread recorded");
    for th in img["threads"].as_array().unwrap() {
        // glibc registers robust lists and rseq for every thread, and
        // set_tid_address for threads it creates.
        assert_ne!(th["robust_list"]["head"], 0);
        assert_ne!(th["clear_child_tid"], 0);
    }
    // SIGUSR1 has a handler.
    assert!(img["sigactions"][9]["handler"].as_u64().unwrap() > 1);
    t.wait_line("progress 1/10");
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}

#[test]
fn regs() {
    let want = baseline("regs", &["42", "6", "1000000"]);
    let dir = scratch("regs");
    let (t, mut gate) = held("regs", "5", &["42", "6", "40000000"]);
    let pid = t.pid();
    let loop_range: Vec<u64> = t.value("loop").split(' ').map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap()).collect();
    // Dump until the thread is caught inside the checking loop (it spends
    // almost all its time there).
    let mut img = None;
    for i in 0..50 {
        let file = dir.join(format!("r{i}.ckpt"));
        dump(pid, &file, &[]);
        let j = inspect(&file);
        let rip = thread(&j, pid)["regs"]["rip"].as_u64().unwrap();
        if rip >= loop_range[0] && rip < loop_range[1] {
            img = Some(j);
            break;
        }
    }
    let img = img.expect("never caught the thread inside its register loop");
    let th = thread(&img, pid);
    for name in ["rax", "rbx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"] {
        let want = u64::from_str_radix(t.value(&format!("gpr {name}")).trim_start_matches("0x"), 16).unwrap();
        assert_eq!(th["regs"][name].as_u64().unwrap(), want, "register {name}");
    }
    let v = &th["vector"];
    let avx512 = v.get("hi16_zmm").is_some();
    for i in (0..32).filter(|&i| i != 15 && (avx512 || i < 15)) {
        let hex = t.value(&format!("vec {i}"));
        if i < 16 {
            assert_eq!(v["xmm"][i].as_str().unwrap(), &hex[..32], "xmm{i}");
            assert_eq!(v["ymm_hi128"][i].as_str().unwrap(), &hex[32..64], "ymm{i} upper half");
            if avx512 {
                assert_eq!(v["zmm_hi256"][i].as_str().unwrap(), &hex[64..128], "zmm{i} upper half");
            }
        } else {
            assert_eq!(v["hi16_zmm"][i - 16].as_str().unwrap(), hex, "zmm{i}");
        }
    }
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}

#[test]
fn files() {
    let dir = scratch("files");
    let base = scratch("files-base");
    let want = baseline("files", &[base.to_str().unwrap(), "300", "0"]);
    let (t, mut gate) = held("files", "299", &[dir.to_str().unwrap(), "300", "1000"]);
    let pid = t.pid();
    let file = dir.join("f.ckpt");
    dump(pid, &file, &["--leave-stopped"]);
    wait_stopped(pid);
    let img = inspect(&file);
    check_regions_match(pid, &img);
    let fds = img["fds"].as_array().unwrap();
    for (name, path) in [("input", "input.dat"), ("output", "output.txt"), ("append", "append.log")] {
        let n: i64 = t.value(&format!("fd {name}")).parse().unwrap();
        let fd = fds.iter().find(|f| f["fd"] == n).unwrap_or_else(|| panic!("fd {n} recorded"));
        assert_eq!(fd["kind"], "Regular");
        assert_eq!(fd["disposition"], "Reopen");
        assert_eq!(fd["path"], dir.join(path).to_str().unwrap());
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{n}")).unwrap();
        let pos: u64 = info.lines().find_map(|l| l.strip_prefix("pos:")).unwrap().trim().parse().unwrap();
        assert_eq!(fd["offset"], pos, "offset of fd {n}");
        let flags = u32::from_str_radix(info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap().trim(), 8).unwrap();
        assert_eq!(fd["flags"].as_u64().unwrap() as u32, flags & !0o2000000, "flags of fd {n}");
    }
    let input: i64 = t.value("fd input").parse().unwrap();
    assert!(fds.iter().find(|f| f["fd"] == input).unwrap()["offset"].as_u64().unwrap() >= 4096);
    let dirfd: i64 = t.value("fd dir").parse().unwrap();
    assert_eq!(fds.iter().find(|f| f["fd"] == dirfd).unwrap()["kind"], "Directory");
    let null: i64 = t.value("fd null").parse().unwrap();
    let null_fd = fds.iter().find(|f| f["fd"] == null).unwrap();
    assert_eq!((null_fd["kind"].as_str(), null_fd["cloexec"].as_bool()), (Some("CharDev"), Some(true)));
    // stdout is a pipe to the test: inherited from the restoring caller.
    let stdout = fds.iter().find(|f| f["fd"] == 1).unwrap();
    assert_eq!((stdout["kind"].as_str(), stdout["disposition"].as_str()), (Some("Pipe"), Some("Inherit")));
    resume(pid);
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}

#[test]
fn signals() {
    let want = baseline("signals", &["300", "0"]);
    let dir = scratch("signals");
    let (t, mut gate) = held("signals", "299", &["300", "1000"]);
    let pid = t.pid();
    let img = dump_stopped_and_check(&t, &dir.join("s.ckpt"));
    let hex = |s: String| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let sa = &img["sigactions"];
    let usr1 = &sa[9];
    assert_eq!(usr1["handler"].as_u64().unwrap(), hex(t.value("handler usr1")));
    let flags = usr1["flags"].as_u64().unwrap();
    assert_eq!(flags & (libc::SA_SIGINFO | libc::SA_ONSTACK) as u64, (libc::SA_SIGINFO | libc::SA_ONSTACK) as u64);
    assert_eq!(usr1["mask"].as_u64().unwrap() & (1 << (libc::SIGUSR2 - 1)), 1 << (libc::SIGUSR2 - 1));
    let usr2 = &sa[11];
    assert_eq!(usr2["handler"].as_u64().unwrap(), hex(t.value("handler usr2")));
    assert_ne!(usr2["flags"].as_u64().unwrap() & libc::SA_RESTART as u64, 0);
    assert_eq!(sa[12]["handler"], 1, "SIGPIPE ignored");
    assert_eq!(sa[8]["handler"], 0, "SIGKILL default");
    let th = thread(&img, pid);
    let alt: Vec<String> = t.value("altstack").split(' ').map(String::from).collect();
    assert_eq!(th["altstack"]["sp"].as_u64().unwrap(), hex(alt[0].clone()));
    assert_eq!(th["altstack"]["size"].as_u64().unwrap(), alt[1].parse::<u64>().unwrap());
    assert_eq!(th["altstack"]["flags"], 0);
    let blocked = hex(t.value("blocked"));
    assert_eq!(th["sigmask"].as_u64().unwrap() & blocked, blocked);
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}

#[test]
fn bigmem() {
    let want = baseline("bigmem", &["256", "40", "0"]);
    let dir = scratch("bigmem");
    let (t, mut gate) = held("bigmem", "39", &["256", "40", "20000"]);
    let img = dump_stopped_and_check(&t, &dir.join("m.ckpt"));
    let region: Vec<u64> = t.value("region").split(' ').map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap()).collect();
    let touched: u64 = t.value("touched").parse().unwrap();
    let r = img["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["start"].as_u64().unwrap() <= region[0] && r["end"].as_u64().unwrap() >= region[1])
        .expect("the big mapping");
    // Exactly the pages the program wrote (and did not drop) are stored.
    assert_eq!(r["stored_pages"].as_u64().unwrap(), touched);
    assert!(r["runs"].as_array().unwrap().len() > 1000, "holes split the runs");
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}

/// Queued real-time signals sent while the program is dumped over and over
/// are all delivered: none is lost in a signal-delivery-stop during
/// attach, nor during syscall injection.
#[test]
fn no_signal_lost_while_dumping() {
    const SENT: usize = 400;
    let (t, mut gate) = held("signals", "1499", &["1500", "1000"]);
    let pid = t.pid();
    let sender = std::thread::spawn(move || {
        for _ in 0..SENT {
            // SAFETY: kill(2) with a valid signal number has no memory
            // effects in this process.
            let rc = unsafe { libc::kill(pid, libc::SIGRTMIN()) };
            assert_eq!(rc, 0);
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    });
    let dir = scratch("rtsig");
    let file = dir.join("rt.ckpt");
    while !sender.is_finished() {
        dump(pid, &file, &[]);
    }
    sender.join().unwrap();
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    let count = lines.iter().find_map(|l| l.strip_prefix("rt_count ")).expect("rt_count line");
    assert_eq!(count, SENT.to_string(), "every queued signal was handled");
}

/// Dumping leaves signal dispositions and masks exactly as they were, even
/// for an ignored SIGTRAP (which a single-stepping tracer would reset).
#[test]
fn signal_state_untouched_by_dump() {
    let mut child = std::process::Command::new("sh")
        .args(["-c", "trap '' TRAP; exec sleep 30"])
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|c| c.trim() != "sleep").unwrap_or(true) {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let status = |pid: i32| {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        s.lines().filter(|l| ["SigIgn", "SigBlk", "SigCgt", "SigPnd", "ShdPnd"].iter().any(|k| l.starts_with(k))).map(String::from).collect::<Vec<_>>()
    };
    let before = status(pid);
    let dir = scratch("trap");
    let file = dir.join("t.ckpt");
    dump(pid, &file, &["--allow-unsupported"]);
    assert_eq!(status(pid), before, "signal state changed by the dump");
    let img = inspect(&file);
    assert_eq!(img["sigactions"][libc::SIGTRAP as usize - 1]["handler"], 1, "SIGTRAP recorded as ignored");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A process that was stopped with SIGSTOP is dumped and stays stopped;
/// continued, it ends like an uninterrupted run.
#[test]
fn stopped_target_stays_stopped() {
    let want = baseline("counter", &["300", "0"]);
    let (t, mut gate) = held("counter", "299", &["300", "1000"]);
    let pid = t.pid();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGSTOP).unwrap();
    wait_stopped(pid);
    let dir = scratch("stopped");
    dump(pid, &dir.join("s.ckpt"), &[]);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(proc_state(pid), Some('T'), "still stopped after the dump");
    resume(pid);
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}

/// A dump leaves the memory a process shares with its fork shared: a
/// python3 process writes 64 MiB, forks, and is dumped (left running);
/// its Shared_Dirty must stay (reading a shared anonymous page with
/// process_vm_readv pins it, and the kernel then gives the process a copy
/// of its own: a pre-fork server's memory would double).
#[test]
fn a_dump_leaves_memory_shared_with_a_fork_shared() {
    use std::io::{BufRead, Write};
    let python = std::path::Path::new("/usr/bin/python3");
    skip_unless!(python.exists(), "no {}", python.display());
    let script = "import os, sys, mmap, signal\n\
        m = mmap.mmap(-1, 64 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)\n\
        for i in range(0, 64 << 20, 4096): m[i] = 7\n\
        child = os.fork()\n\
        if child == 0:\n    signal.pause()\n    os._exit(0)\n\
        print('ready', flush=True)\n\
        sys.stdin.readline()\n\
        os.kill(child, signal.SIGKILL)\n\
        os.waitpid(child, 0)\n\
        print('done', flush=True)\n";
    let mut p = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(p.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let shared = |pid: u32| -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap();
        let l = text.lines().find(|l| l.starts_with("Shared_Dirty:")).unwrap();
        l.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let before = shared(p.id());
    assert!(before >= 64 * 1024, "the fork shares {before} kB");
    let dir = scratch("shared-with-fork");
    let image = dir.join("s.ckpt");
    let o = run_ckpt(&["dump", &p.id().to_string(), "-q", "-o", image.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = shared(p.id());
    assert!(after + 4096 >= before, "Shared_Dirty {before} kB before the dump, {after} kB after");
    p.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "done\n");
    assert!(p.wait().unwrap().success());
}
