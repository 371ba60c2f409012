//! Long restores through the module, in the guest, with the soft-lockup
//! detector set to 2 s: a process with 1,000 mappings restores whole; an
//! image of 60,000 mappings is accepted, and SIGKILL while the module maps
//! it ends the task within a second; an image whose working directory is
//! gone or forbidden is refused before the point of no return.

use qemu_tests::boot;

#[test]
fn long_restores_yield_stop_on_sigkill_and_check_the_cwd_first() {
    let run = boot(&["restore_long"]);
    run.assert_passed("restore_long");
    run.assert_clean();
}
