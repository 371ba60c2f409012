//! The restore policy's cases under both restorers in one boot
//! (scenarios/restore_limits.sh): tens of thousands of mappings and more
//! private memory than the guest has are restored; a removed working
//! directory is refused before the point of no return with the same
//! reason from the one table.

use qemu_tests::boot;

#[test]
fn many_mappings_and_sparse_memory_restore_and_a_removed_cwd_is_refused_in_both_restorers() {
    let run = boot(&["restore_limits"]);
    run.assert_passed("restore_limits");
    let out = &run.scenario("restore_limits").output;
    for r in ["module", "userspace"] {
        for what in ["maps restored", "sparse restored", "gone refused"] {
            assert!(out.contains(&format!("{r}: {what}")), "{r}: {what}: {}", run.console);
        }
    }
    run.assert_clean();
}
