//! The module skeleton in the guest, and the harness's own log check.

use qemu_tests::{boot, kernel_problems};

#[test]
fn module_loads_refuses_garbage_images_and_unloads_cleanly() {
    let run = boot(&["module_load"]);
    run.assert_passed("module_load");
    run.assert_clean();
}

#[test]
fn harness_fails_a_run_whose_kernel_log_has_a_warning() {
    let run = boot(&["warn_selftest"]);
    run.assert_passed("warn_selftest");
    let problems = kernel_problems(&run.console);
    assert!(
        problems.iter().any(|l| l.contains("WARNING:") && l.contains("warn_selftest")),
        "the deliberate warning was not detected: {problems:?}\nconsole:\n{}",
        run.console
    );
    let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.assert_clean()));
    assert!(verdict.is_err(), "assert_clean accepted a run with a kernel warning");
}
