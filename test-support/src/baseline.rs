//! The uninterrupted run a checkpointed one is compared with.

use std::process::Command;

use crate::paths::program;

/// The lines of a test program's output that do not depend on timing or on
/// addresses: progress, counts and the result.
pub fn deterministic(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| ["step ", "progress ", "round ", "result ", "rt_count ", "FAIL"].iter().any(|p| l.starts_with(p)))
        .cloned()
        .collect()
}

/// The deterministic output of test program `name` run to the end on its
/// own, with `args` (normally without sleeps: the output does not depend on
/// timing). Panics if it fails.
pub fn baseline(name: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new(program(name)).args(args).output().unwrap_or_else(|e| panic!("running {name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{name} {args:?} failed on its own ({}): {stdout}", out.status);
    deterministic(&stdout.lines().map(String::from).collect::<Vec<_>>())
}
