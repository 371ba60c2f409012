//! An execute-only image (mode 0111) restored by a user who cannot read it,
//! through the module and through the userspace restorer behind
//! binfmt_misc (flag O: the image by the fd the kernel opened,
//! AT_EXECFD), and the restored process not dumpable
//! (scenarios/restore_exec_only.sh).

use qemu_tests::boot;

#[test]
fn execute_only_image_restored_by_its_user_through_both_restorers() {
    let run = boot(&["restore_exec_only"]);
    run.assert_passed("restore_exec_only");
    assert!(run.scenario("restore_exec_only").output.contains("userspace: the restored process is not dumpable"), "{}", run.console);
    run.assert_clean();
}
