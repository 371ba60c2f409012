//! Test programs held at wait points (test-programs/gate.rs): a test dumps
//! a program while it waits there, and looks at a restored one while it
//! waits at the next, never after either has ended. (Wait points come in
//! increasing order, so the first line starting "waiting at K" is K's.)
#![allow(dead_code)]

#[path = "../../../../test-programs/gate.rs"]
mod gate;
pub use gate::Gate;

use std::process::Command;

use crate::common::{programs, Target};

/// Starts test program `name` with `--wait-at waits` before `args`, its
/// stdin a gate, and waits until it waits at the first of `waits`.
pub fn held(name: &str, waits: &str, args: &[&str]) -> (Target, Gate) {
    let mut cmd = Command::new(programs().join(name));
    cmd.arg("--wait-at").arg(waits).args(args);
    held_command(cmd, waits.split(',').next().unwrap())
}

/// Starts `cmd`, which runs a test program with wait point `first`, with
/// its stdin a gate, and waits until the program waits there.
pub fn held_command(mut cmd: Command, first: &str) -> (Target, Gate) {
    let gate = Gate::attach(&mut cmd);
    let mut t = Target::spawn(cmd);
    t.wait_prefix(&format!("waiting at {first}"));
    (t, gate)
}

/// Restores an image (`cmd`) of a program dumped at a wait point, lets it
/// past that one, and waits until it waits at `next`.
pub fn restored_held(mut cmd: Command, next: &str) -> (Target, Gate) {
    let mut gate = Gate::attach(&mut cmd);
    gate.pass();
    let mut t = Target::spawn(cmd);
    t.wait_prefix(&format!("waiting at {next}"));
    (t, gate)
}
