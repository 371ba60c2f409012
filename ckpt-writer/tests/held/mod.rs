//! Test programs held at a wait point (test-programs/gate.rs), so that a
//! test dumps them while they run or wait there, never after they ended.
#![allow(dead_code)]

#[path = "../../../test-programs/gate.rs"]
mod gate;
pub use gate::Gate;

use crate::common::{programs, Target};

/// Starts test program `name` with `--wait-at waits` before `args`, its
/// stdin a gate, and waits until it printed "ready".
pub fn held(name: &str, waits: &str, args: &[&str]) -> (Target, Gate) {
    let mut cmd = std::process::Command::new(programs().join(name));
    cmd.arg("--wait-at").arg(waits).args(args);
    let gate = Gate::attach(&mut cmd);
    let mut t = Target::spawn(cmd);
    t.wait_line("ready");
    (t, gate)
}
