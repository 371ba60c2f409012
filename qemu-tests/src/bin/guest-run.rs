//! `guest-run SCENARIO...`: boots the test guest, shows its console live, and
//! exits with failure if a scenario failed or the kernel reported a problem.
//! `make demo` uses it; it is handy for running one scenario by hand too.

use qemu_tests::{boot_with, kernel_problems};

fn main() {
    let scenarios: Vec<String> = std::env::args().skip(1).collect();
    if scenarios.is_empty() {
        eprintln!("usage: guest-run SCENARIO... (see qemu-tests/guest/scenarios/)");
        std::process::exit(2);
    }
    let names: Vec<&str> = scenarios.iter().map(String::as_str).collect();
    let log = boot_with(&names, true);
    let mut ok = log.completed && !log.timed_out;
    for s in &log.scenarios {
        println!("guest-run: scenario {}: {}", s.name, match s.rc {
            Some(0) => "passed".to_string(),
            Some(rc) => format!("failed (exit {rc})"),
            None => "did not finish".to_string(),
        });
        ok &= s.rc == Some(0);
    }
    let problems = kernel_problems(&log.console);
    for p in &problems {
        println!("guest-run: kernel problem: {p}");
    }
    if log.timed_out {
        println!("guest-run: the guest timed out");
    }
    std::process::exit(if ok && problems.is_empty() { 0 } else { 1 });
}
