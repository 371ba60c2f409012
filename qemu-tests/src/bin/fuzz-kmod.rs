//! `fuzz-kmod SECONDS [FIRST-BATCH]`: boots the debug test kernel and runs the fuzz_kmod
//! scenario for SECONDS, showing the console live; every image that made
//! the kernel report a problem is saved under
//! qemu-tests/guest/fuzz-regressions/ (a regression test from then on).
//! Exits non-zero on any finding or kernel problem. `make fuzz-kmod`.

use qemu_tests::{boot_with, findings, kernel_problems};

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1800);
    // Batches are numbered from a new start each campaign unless given.
    let first: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() % 100_000)
    });
    println!("fuzz-kmod: {seconds} s, batches from {first}");
    std::env::set_var("CKPT_GUEST_APPEND", format!("ckpt.fuzz_seconds={seconds} ckpt.fuzz_seed={first}"));
    std::env::set_var("CKPT_GUEST_TIMEOUT", (seconds + 900).to_string());
    let log = boot_with(&["fuzz_kmod"], true);
    let found = findings::findings(&log.console);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("guest/fuzz-regressions");
    let saved = findings::save(&found, &dir).expect("saving reproducers");
    for p in &saved {
        println!("fuzz-kmod: reproducer saved: {}", p.display());
    }
    let problems = kernel_problems(&log.console);
    for p in &problems {
        println!("fuzz-kmod: kernel problem: {p}");
    }
    let passed = log.scenarios.iter().any(|s| s.name == "fuzz_kmod" && s.rc == Some(0));
    if !passed || !saved.is_empty() || !problems.is_empty() || log.timed_out || !log.completed {
        println!("fuzz-kmod: FAILED");
        std::process::exit(1);
    }
    println!("fuzz-kmod: no findings");
}
