//! Dump throughput: `ckpt-writer dump` of 64, 256 and 1024 MiB of dirty
//! anonymous memory (test-programs/bigmem) into tmpfs, against a plain
//! process_vm_readv copy of the same mapping into a tmpfs file, plus the
//! target's frozen time as the dump reports it.
//!
//!     cargo bench -p ckpt-writer --bench dump

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

fn main() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-programs");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-programs");
    assert!(Command::new("make").arg("-s").arg("-C").arg(&src).arg(format!("OUT={}", out.display())).status().unwrap().success());
    let shm = PathBuf::from("/dev/shm").join(format!("ckpt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&shm).unwrap();
    println!("{:>8} {:>12} {:>12} {:>14} {:>12}", "MiB", "dump MiB/s", "copy MiB/s", "image bytes", "frozen ms");
    for mib in [64u64, 256, 1024] {
        let mut child = Command::new(out.join("bigmem"))
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
        let pid = child.id() as i32;
        let image = shm.join("bench.ckpt");
        let t = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_ckpt-writer"))
            .args(["dump", &pid.to_string(), "-o", image.to_str().unwrap()])
            .output()
            .unwrap();
        let dump_s = t.elapsed().as_secs_f64();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let summary = String::from_utf8_lossy(&o.stderr);
        let frozen = summary.split("frozen ").nth(1).and_then(|s| s.split(' ').next()).unwrap_or("?").to_string();
        let image_len = std::fs::metadata(&image).unwrap().len();
        std::fs::remove_file(&image).unwrap();

        // Baseline: the same mapping copied with process_vm_readv in 1 MiB
        // chunks into a tmpfs file (holes included: bigmem's holes read as zero).
        let copy = shm.join("copy.bin");
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
        let copy_s = t.elapsed().as_secs_f64();
        std::fs::remove_file(&copy).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        println!("{mib:>8} {:>12.0} {:>12.0} {image_len:>14} {frozen:>12}", mib as f64 / dump_s, mib as f64 / copy_s);
    }
    let _ = std::fs::remove_dir_all(&shm);
}
