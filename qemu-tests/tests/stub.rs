//! The restorer stub on the guest kernel (restorer/stub/selftest.c checks
//! every resumed thread's registers, vectors, masks and process state).

use qemu_tests::boot;

#[test]
fn stub_resumes_threads_with_their_full_state_on_the_guest_kernel() {
    let run = boot(&["stub_selftest"]);
    run.assert_passed("stub_selftest");
    assert!(run.scenario("stub_selftest").output.contains("PASS: 4 threads resumed"), "{}", run.console);
    run.assert_clean();
}
