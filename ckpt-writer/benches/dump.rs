//! Dump speed and downtime, side by side in one run:
//!
//! * throughput: `ckpt-writer dump` of 64, 256 and 1024 MiB of dirty
//!   anonymous memory (test-programs/bigmem) into tmpfs, against a bare
//!   process_vm_readv copy of the same mapping into a tmpfs file (the
//!   ratio is dump time over copy time), and the 1 GiB dump to disk (the
//!   cargo target directory) against the same bare copy to disk;
//! * downtime: how long the target is frozen, for a plain dump and for
//!   `dump --cow`, as the dump's summary line reports it;
//! * CRIU (`criu dump --leave-running`) on the same targets, when it is
//!   installed; skipped with a message otherwise.
//!
//!     cargo bench -p ckpt-writer --bench dump

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
fn target(progs: &Path, mib: u64) -> (Child, Lines, (u64, u64)) {
    let mut child = Command::new(progs.join("bigmem"))
        .args([&mib.to_string(), "1000000", "1000000"])
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

/// One dump of `pid` into `image`: (seconds, frozen ms from the summary).
fn dump(pid: i32, image: &Path, extra: &[&str]) -> (f64, f64) {
    let t = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_ckpt-writer"))
        .args(["dump", &pid.to_string(), "--allow-unsupported", "-o", image.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let summary = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{summary}");
    let frozen = summary.split("frozen ").nth(1).and_then(|s| s.split(' ').next()).and_then(|s| s.parse().ok()).unwrap();
    std::fs::remove_file(image).unwrap();
    (secs, frozen)
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

/// Medians of the two fields (each taken on its own).
fn median(mut v: Vec<(f64, f64)>) -> (f64, f64) {
    let mid = v.len() / 2;
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let a = v[mid].0;
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    (a, v[mid].1)
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
    println!(
        "{:>6} {:>6} {:>11} {:>11} {:>6} {:>11} {:>11} {:>11} {:>8}",
        "MiB", "to", "dump MiB/s", "copy MiB/s", "ratio", "frozen ms", "cow ms", "cow MiB/s", "criu ms"
    );
    for (mib, dir, to) in [(64u64, &shm, "tmpfs"), (256, &shm, "tmpfs"), (1024, &shm, "tmpfs"), (1024, &disk, "ext4")] {
        let (mut child, _stdout, region) = target(&progs, mib);
        let pid = child.id() as i32;
        let image = dir.join("bench.ckpt");
        // Rounds of the three, interleaved so that a busy moment of the
        // machine hits all alike; each figure is its median.
        let (mut dumps, mut copies, mut cows) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            dumps.push(dump(pid, &image, &[]));
            copies.push((bare_copy(pid, region, dir), 0.0));
            cows.push(dump(pid, &image, &["--cow"]));
        }
        let ((dump_s, frozen), (copy_s, _), (cow_s, cow_frozen)) = (median(dumps), median(copies), median(cows));
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
        println!(
            "{mib:>6} {to:>6} {:>11.0} {:>11.0} {:>6.2} {frozen:>11.1} {cow_frozen:>11.1} {:>11.0} {criu_ms:>8}",
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
