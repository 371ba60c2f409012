//! The module against mutated images in the guest: a short smoke run of the
//! fuzzer (so CI keeps exercising the mutator and the deep checks), and
//! every reproducer ever found.

use qemu_tests::{boot, findings};

#[test]
fn a_short_fuzz_run_finds_nothing_and_old_reproducers_stay_fixed() {
    std::env::set_var("CKPT_GUEST_APPEND", "ckpt.fuzz_count=150");
    let run = boot(&["fuzz_regressions", "fuzz_kmod"]);
    let found = findings::findings(&run.console);
    let names: Vec<_> = found.iter().map(|f| f.name.as_str()).collect();
    let reports: String = found.iter().map(|f| f.report.as_str()).collect();
    assert!(found.is_empty(), "the fuzzer found kernel problems with: {names:?} (run `make fuzz-kmod` to save them)\n{reports}");
    run.assert_passed("fuzz_regressions");
    run.assert_passed("fuzz_kmod");
    run.assert_clean();
}
