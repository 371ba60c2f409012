//! Restore through the module, in the guest: real programs dumped mid-run,
//! killed, restored by executing the image, and compared with an
//! uninterrupted run of the same program (the scenarios do the comparing).

use qemu_tests::boot;

#[test]
fn a_counter_restored_by_execve_continues_where_it_stopped() {
    let run = boot(&["restore_counter"]);
    run.assert_passed("restore_counter");
    run.assert_clean();
}
