//! What the workspace's host tests share: where the test programs and the
//! tools are built ([`paths`], [`tools`]), a running test program whose
//! output lines are watched ([`Target`]), the uninterrupted run a
//! checkpointed one is compared with ([`baseline`]), and what a test needs
//! from this machine ([`require`], [`skip_unless!`]).
//!
//! A dev-dependency only: nothing here ships.

mod baseline;
pub mod paths;
mod require;
mod target;
pub mod tools;

pub use baseline::{baseline, deterministic};
pub use paths::{copy_program, program, programs, scratch};
pub use require::{require, require_all};
pub use target::Target;
