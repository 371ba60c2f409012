//! Dump speed and downtime, side by side in one run:
//!
//! * throughput: `ckpt-writer dump` of 64, 256 and 1024 MiB of dirty
//!   anonymous memory (test-programs/bigmem) into tmpfs, against a bare
//!   process_vm_readv copy of the same mapping into a tmpfs file (the
//!   ratio is dump time over copy time), and the 1 GiB dump to disk (the
//!   cargo target directory) against the same bare copy to disk;
//! * downtime: how long the target is frozen, for a plain dump and for
//!   `dump --cow`, as the dump's summary line reports it (for --cow also
//!   the second short freeze that reaps the snapshot fork), with 4 KiB
//!   pages and with transparent huge pages (bigmem with BIGMEM_HUGE=1:
//!   MADV_HUGEPAGE, as THP is often `madvise` only);
//! * the floor of --cow's downtime: fork() of a process (this one) with
//!   the same amount of memory, dirty, alone: the page-table copy;
//! * CRIU (`criu dump --leave-running`) on the same targets, when it is
//!   installed; skipped with a message otherwise.
//!
//!     cargo bench -p ckpt-writer --bench dump
//!
//! CKPT_BENCH_WRITER=PATH runs another ckpt-writer binary (an older build,
//! to compare) instead of this tree's.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

/// The target's stdout, kept open (bigmem prints a line every second).
type Lines = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// bigmem with `mib` MiB dirtied, ready; returns it, its stdout and its
/// mapping.
fn target(progs: &Path, mib: u64, huge: bool) -> (Child, Lines, (u64, u64)) {
    let mut child = Command::new(progs.join("bigmem"))
        .args([&mib.to_string(), "1000000", "1000000"])
        .env("BIGMEM_HUGE", if huge { "1" } else { "0" })
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut region = (0u64, 0u64);
    for l in lines.by_ref() {
        let l = l.unwrap();
        if let Some(r) = l.strip_prefix("region ") {
            let v: Vec<u64> = r.split(' ').map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap()).collect();
            region = (v[0], v[1]);
        }
        if l == "ready" {
            break;
        }
    }
    (child, lines, region)
}

/// One dump of `pid` into `image`: (seconds, frozen ms from the summary,
/// ms of the --cow reap freeze, 0 without --cow).
fn dump(pid: i32, image: &Path, extra: &[&str]) -> (f64, f64, f64) {
    let t = Instant::now();
    let writer = std::env::var_os("CKPT_BENCH_WRITER").unwrap_or_else(|| env!("CARGO_BIN_EXE_ckpt-writer").into());
    let o = Command::new(writer)
        .args(["dump", &pid.to_string(), "--allow-unsupported", "-o", image.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let summary = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{summary}");
    let frozen = summary.split("frozen ").nth(1).and_then(|s| s.split(' ').next()).and_then(|s| s.parse().ok()).unwrap();
    let reap = summary
        .split(" ms more to reap")
        .next()
        .filter(|_| summary.contains(" ms more to reap"))
        .and_then(|s| s.rsplit(' ').next())
        .map(|s| s.parse().unwrap())
        .unwrap_or(0.0);
    std::fs::remove_file(image).unwrap();
    (secs, frozen, reap)
}

/// fork() alone of this process with `mib` MiB of dirty private anonymous
/// memory (4 KiB pages or THP): the median ms of ROUNDS forks, timed in the
/// parent; each child exits at once.
fn fork_floor(mib: u64, huge: bool) -> f64 {
    let len = (mib << 20) as usize;
    // SAFETY: a fresh private anonymous mapping, unmapped below; only this
    // function uses it.
    let base = unsafe {
        libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    assert_ne!(base, libc::MAP_FAILED, "mmap {mib} MiB");
    // SAFETY: advice on the mapping just made.
    unsafe { libc::madvise(base, len, if huge { libc::MADV_HUGEPAGE } else { libc::MADV_NOHUGEPAGE }) };
    for off in (0..len).step_by(4096) {
        // SAFETY: inside the mapping.
        unsafe { *(base as *mut u8).add(off) = 1 };
    }
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        // SAFETY: the bench is single-threaded here; the child only calls
        // _exit (async-signal-safe).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: see above.
            unsafe { libc::_exit(0) };
        }
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
        let mut status = 0;
        // SAFETY: waits for our own child; status is a valid local.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        times.push(ms);
    }
    // SAFETY: the mapping made above, no longer used.
    unsafe { libc::munmap(base, len) };
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The bare copy: the mapping read with process_vm_readv in 1 MiB chunks
/// into a file in `dir` (holes included; bigmem's read as zero), synced.
fn bare_copy(pid: i32, region: (u64, u64), dir: &Path) -> f64 {
    let copy = dir.join("copy.bin");
    let t = Instant::now();
    let mut f = std::io::BufWriter::new(std::fs::File::create(&copy).unwrap());
    let mut buf = vec![0u8; 1 << 20];
    let mut addr = region.0;
    while addr < region.1 {
        let n = ((region.1 - addr) as usize).min(buf.len());
        let got = process_vm_readv(Pid::from_raw(pid), &mut [std::io::IoSliceMut::new(&mut buf[..n])], &[RemoteIoVec { base: addr as usize, len: n }]).unwrap();
        f.write_all(&buf[..got]).unwrap();
        addr += got as u64;
    }
    f.into_inner().unwrap().sync_all().unwrap();
    let secs = t.elapsed().as_secs_f64();
    std::fs::remove_file(&copy).unwrap();
    secs
}

/// `criu dump --leave-running` of `pid` into a fresh directory in `dir`:
/// seconds, or why it failed.
fn criu(pid: i32, dir: &Path) -> Result<f64, String> {
    let d = dir.join("criu");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let t = Instant::now();
    let o = Command::new("criu")
        .args(["dump", "--leave-running", "--shell-job", "-t", &pid.to_string(), "-D"])
        .arg(&d)
        .output()
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&d);
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("failed").to_string());
    }
    Ok(secs)
}

/// Rounds per figure.
const ROUNDS: usize = 3;

/// Medians of the three fields (each taken on its own).
fn median(v: Vec<(f64, f64, f64)>) -> (f64, f64, f64) {
    let mid = |f: fn(&(f64, f64, f64)) -> f64| {
        let mut x: Vec<f64> = v.iter().map(f).collect();
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    (mid(|t| t.0), mid(|t| t.1), mid(|t| t.2))
}

fn main() {
    let progs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-programs");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-programs");
    assert!(Command::new("make").arg("-s").arg("-C").arg(&src).arg(format!("OUT={}", progs.display())).status().unwrap().success());
    let shm = PathBuf::from("/dev/shm").join(format!("ckpt-bench-{}", std::process::id()));
    let disk = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ckpt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&shm).unwrap();
    std::fs::create_dir_all(&disk).unwrap();
    let have_criu = Command::new("criu").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);

    println!("dump of N MiB of dirty anonymous memory (bigmem), medians of {ROUNDS} interleaved rounds; ratio = dump time / bare copy time");
    println!("frozen ms: plain dump; cow ms: dump --cow (min: the least of the rounds; +reap: its second stop, reaping the fork); fork ms: fork() alone of as much memory");
    println!(
        "{:>6} {:>5} {:>6} {:>11} {:>11} {:>6} {:>11} {:>8} {:>6} {:>6} {:>8} {:>11} {:>8}",
        "MiB", "pages", "to", "dump MiB/s", "copy MiB/s", "ratio", "frozen ms", "cow ms", "min", "+reap", "fork ms", "cow MiB/s", "criu ms"
    );
    let rows = [
        (64u64, false, &shm, "tmpfs"),
        (256, false, &shm, "tmpfs"),
        (1024, false, &shm, "tmpfs"),
        (1024, false, &disk, "ext4"),
        (64, true, &shm, "tmpfs"),
        (1024, true, &shm, "tmpfs"),
    ];
    for (mib, huge, dir, to) in rows {
        let fork_ms = fork_floor(mib, huge);
        let (mut child, _stdout, region) = target(&progs, mib, huge);
        let pid = child.id() as i32;
        let image = dir.join("bench.ckpt");
        // Rounds of the three, interleaved so that a busy moment of the
        // machine hits all alike; each figure is its median.
        let (mut dumps, mut copies, mut cows) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            dumps.push(dump(pid, &image, &[]));
            copies.push((bare_copy(pid, region, dir), 0.0, 0.0));
            cows.push(dump(pid, &image, &["--cow"]));
        }
        // The least --cow downtime too: what a quiet moment of the machine gives.
        let cow_min = cows.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
        let ((dump_s, frozen, _), (copy_s, _, _), (cow_s, cow_frozen, reap)) = (median(dumps), median(copies), median(cows));
        let criu_ms = match have_criu.then(|| criu(pid, dir)) {
            Some(Ok(s)) => format!("{:.0}", s * 1000.0),
            Some(Err(e)) => {
                eprintln!("criu dump of {mib} MiB failed: {e}");
                "failed".into()
            }
            None => "-".into(),
        };
        let _ = child.kill();
        let _ = child.wait();
        let pages = if huge { "THP" } else { "4K" };
        println!(
            "{mib:>6} {pages:>5} {to:>6} {:>11.0} {:>11.0} {:>6.2} {frozen:>11.1} {cow_frozen:>8.1} {cow_min:>6.1} {reap:>6.1} {fork_ms:>8.1} {:>11.0} {criu_ms:>8}",
            mib as f64 / dump_s,
            mib as f64 / copy_s,
            dump_s / copy_s,
            mib as f64 / cow_s,
        );
    }
    if !have_criu {
        println!("criu: not installed, not compared (it is not a dependency)");
    }
    let _ = std::fs::remove_dir_all(&shm);
    let _ = std::fs::remove_dir_all(&disk);
}
