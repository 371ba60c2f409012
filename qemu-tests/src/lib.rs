//! The QEMU harness: boots the test kernel with the test initramfs, runs the
//! named scenarios in the guest, and hands back what each printed together
//! with the guest's whole kernel log.
//!
//! Parsing the console (console.rs) is pure and tested on fixture text; this
//! file only starts and times out QEMU.

mod console;
pub mod findings;
pub mod mutate;

pub use console::{kernel_problems, parse_console, GuestLog, ScenarioResult};

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a guest may run before it counts as hung (CKPT_GUEST_TIMEOUT, seconds).
fn guest_timeout() -> Duration {
    let secs = std::env::var("CKPT_GUEST_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(1200);
    Duration::from_secs(secs)
}

fn required_path(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) if PathBuf::from(&p).exists() => PathBuf::from(p),
        Some(p) => panic!("{var}={} does not exist; run the guest tests with `make test`", PathBuf::from(p).display()),
        None => panic!("{var} is not set; run the guest tests with `make test` (it builds the kernel and the initramfs)"),
    }
}

/// Boots one guest that runs `scenarios` in order, and returns its console.
///
/// The guest is killed after CKPT_GUEST_TIMEOUT seconds; a guest that did not
/// reach its final marker is reported by [`GuestLog::assert_clean`].
pub fn boot(scenarios: &[&str]) -> GuestLog {
    boot_with(scenarios, false)
}

/// Like [`boot`]; with `echo`, the console is also copied live to stdout
/// (for `make demo`, where a person watches the guest).
pub fn boot_with(scenarios: &[&str], echo: bool) -> GuestLog {
    let kernel = required_path("CKPT_KERNEL");
    let initramfs = required_path("CKPT_INITRAMFS");
    let accel = std::env::var("CKPT_QEMU_ACCEL").unwrap_or_else(|_| "tcg".into());
    let cpu = if accel == "kvm" { "host" } else { "max" };
    // no5lvl: `-cpu max` offers LA57, and with 5-level paging this KASAN
    // kernel intermittently reports a wild-memory-access in rcu_is_watching
    // when a timer interrupt lands during identify_boot_cpu (per-CPU data in
    // the 5-level direct map, 0xff11..., before its shadow is complete). Not
    // our code; 4-level paging is what the image format targets anyway
    // (user space ends at 0x7fff_ffff_f000).
    // CKPT_GUEST_APPEND: more kernel parameters, e.g. ckpt.fuzz_seconds=1800.
    let append = format!(
        "console=ttyS0 panic=-1 oops=panic loglevel=7 no5lvl ckpt.scenarios={} {}",
        scenarios.join(","),
        std::env::var("CKPT_GUEST_APPEND").unwrap_or_default()
    );
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", &accel, "-cpu", cpu, "-smp", "2", "-m", "2048"])
        .args(["-nographic", "-no-reboot", "-monitor", "none", "-serial", "stdio"])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initramfs)
        .args(["-append", &append])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start qemu-system-x86_64 (run `make deps`)");

    let output = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let sink = Arc::clone(&output);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            if echo {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&buf[..n]);
                let _ = out.flush();
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });

    let deadline = Instant::now() + guest_timeout();
    let mut timed_out = false;
    loop {
        if child.try_wait().expect("waiting for qemu").is_some() {
            break;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("console reader");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let text = String::from_utf8_lossy(&output.lock().unwrap()).replace('\r', "");
    let mut log = parse_console(&text);
    log.timed_out = timed_out;
    log.qemu_stderr = stderr;
    log
}
