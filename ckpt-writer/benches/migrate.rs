//! Live migration over loopback, in one run: a 1 GiB process
//! (test-programs/dirtier) that keeps writing its memory at 10 MiB/s and
//! at 100 MiB/s is migrated with `ckpt-writer migrate` to a
//! `ckpt-writer receive` writing into tmpfs; beside each, the same process
//! moved stop-and-copy (`--max-rounds 0`: everything sent while frozen).
//! Reported: downtime (final freeze until the receiver holds the complete,
//! validated image in place), the receiver's part of it (END to READY) and
//! whether it wrote the pages in place (the layout held) or moved them
//! (it changed), total time, rounds and their written pages, pages sent
//! while running and while frozen, bytes on the wire.
//!
//!     cargo bench -p ckpt-writer --bench migrate

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

const MIB: u64 = 1024;

/// dirtier held at its wait point, writing `rate` MiB/s.
fn target(progs: &Path, rate: u64) -> (Child, ChildStdin) {
    let mut child = Command::new(progs.join("dirtier"))
        .args(["--wait-at", "1", &MIB.to_string(), &rate.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for l in lines.by_ref() {
        if l.unwrap() == "waiting at 1" {
            break;
        }
    }
    (child, stdin)
}

/// One migration; returns migrate's --json figures.
fn migrate(pid: u32, image: &Path, extra: &[&str]) -> serde_json::Value {
    let exe = env!("CARGO_BIN_EXE_ckpt-writer");
    let mut recv = Command::new(exe)
        .args(["receive", "--listen", "127.0.0.1:0", "-q", "-o", image.to_str().unwrap()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(recv.stderr.take().unwrap()).lines();
    let first = err.next().unwrap().unwrap();
    let addr = first.strip_prefix("ckpt-writer: listening on ").unwrap_or_else(|| panic!("{first}")).to_string();
    let o = Command::new(exe).args(["migrate", &pid.to_string(), "--to", &addr, "--json", "-q"]).args(extra).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(recv.wait().unwrap().success(), "receiver: {:?}", err.map_while(Result::ok).collect::<Vec<_>>());
    serde_json::from_slice(&o.stdout).unwrap()
}

fn main() {
    let progs = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-programs");
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-programs");
    let st = Command::new("make").args(["-s", "-C"]).arg(&src).arg(format!("OUT={}", progs.display())).arg(progs.join("dirtier")).status().unwrap();
    assert!(st.success(), "building dirtier");
    let shm = PathBuf::from("/dev/shm").join(format!("ckpt-bench-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&shm).unwrap();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.split(' ').take(3).collect::<Vec<_>>().join(" "));
    println!("migration over 127.0.0.1 of a {MIB} MiB process writing its memory, image into tmpfs");
    println!("{:>9} {:>14} {:>7} {:>30} {:>10} {:>10} {:>10} {:>11} {:>18} {:>9} {:<9}", "MiB/s", "mode", "rounds", "written pages per round", "running", "frozen", "wire MiB", "downtime", "of which receiver", "total", "receiver");
    for rate in [10u64, 100] {
        for (mode, extra) in [("pre-copy", &[][..]), ("stop-and-copy", &["--max-rounds", "0"][..])] {
            let (mut child, mut stdin) = target(&progs, rate);
            let image = shm.join("moved.ckpt");
            let f = migrate(child.id(), &image, extra);
            let _ = stdin.write_all(b"x");
            let _ = child.wait();
            std::fs::remove_file(&image).unwrap();
            let mib = |k: &str| f[k].as_u64().unwrap() as f64 * 4096.0 / (1 << 20) as f64;
            let rounds: Vec<String> = f["round_pages"].as_array().unwrap().iter().map(|v| v.to_string()).collect();
            println!(
                "{rate:>9} {mode:>14} {:>7} {:>30} {:>9.1}M {:>9.1}M {:>10.1} {:>8.1} ms {:>15.1} ms {:>7.2} s {}",
                f["rounds"],
                rounds.join(","),
                mib("precopy_pages"),
                mib("final_pages"),
                f["bytes_sent"].as_u64().unwrap() as f64 / (1 << 20) as f64,
                f["downtime_ms"].as_f64().unwrap(),
                f["receiver_write_ms"].as_f64().unwrap(),
                f["total_ms"].as_f64().unwrap() / 1000.0,
                if f["receiver_in_place"].as_bool().unwrap() { "in place" } else { "moved" },
            );
        }
    }
    let _ = std::fs::remove_dir_all(&shm);
}
