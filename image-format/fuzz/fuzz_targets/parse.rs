//! cargo fuzz run parse: see target_fn.rs for what is exercised.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "target_fn.rs"]
mod target_fn;

fuzz_target!(|data: &[u8]| target_fn::run(data));
