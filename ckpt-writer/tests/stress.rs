//! The same multi-threaded program is dumped 200 times in a row while it
//! runs; it must finish with exactly the output of an uninterrupted run.

mod common;
mod held;

use common::*;
use held::held;

#[test]
fn dump_threads8_200_times() {
    let want = baseline("threads8", &["6000", "0"]);
    let dir = scratch("stress");
    let (t, mut gate) = held("threads8", "10", &["6000", "2000"]);
    let pid = t.pid();
    let file = dir.join("stress.ckpt");
    for i in 0..200 {
        let o = run_ckpt(&["dump", &pid.to_string(), "-o", file.to_str().unwrap(), "-q"]);
        assert!(o.status.success(), "dump {i} failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    let img = inspect(&file);
    assert_eq!(img["threads"].as_array().unwrap().len(), 9, "main thread and 8 workers");
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "threads8 failed after 200 dumps: {lines:?}");
    assert_eq!(deterministic(&lines), want);
}

/// Threads are created and exit continuously while dumps attach: every
/// dump must succeed and the program must end like an uninterrupted run.
#[test]
fn dump_while_threads_come_and_go() {
    let want = baseline("spawner", &["3000", "0"]);
    let dir = scratch("spawner");
    let (t, mut gate) = held("spawner", "2999", &["3000", "500"]);
    let pid = t.pid();
    let file = dir.join("spawner.ckpt");
    let mut most_threads = 0;
    for i in 0..60 {
        let o = run_ckpt(&["dump", &pid.to_string(), "-o", file.to_str().unwrap(), "-q"]);
        assert!(o.status.success(), "dump {i} failed: {}", String::from_utf8_lossy(&o.stderr));
        let img = inspect(&file);
        most_threads = most_threads.max(img["threads"].as_array().unwrap().len());
    }
    assert!(most_threads > 1, "some dump caught worker threads");
    gate.open();
    let (st, lines) = t.finish();
    assert!(st.success(), "{lines:?}");
    assert_eq!(deterministic(&lines), want);
}
