//! The userspace restorer behind binfmt_misc in the guest, with the module
//! not loaded: every workload restored and compared with an uninterrupted
//! run, and the refusals with their exit statuses.

use qemu_tests::boot;

#[test]
fn images_restored_by_the_userspace_restorer_without_the_module() {
    let run = boot(&["restore_userspace"]);
    run.assert_passed("restore_userspace");
    run.assert_clean();
}
