//! ckpt-writer's images, made in the guest, against the module's validator.

use qemu_tests::boot;

#[test]
fn guest_made_images_pass_the_module_validator_and_damaged_ones_are_refused() {
    let run = boot(&["writer_images"]);
    run.assert_passed("writer_images");
    run.assert_clean();
}
