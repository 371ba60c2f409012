//! `skip_unless!` as a test sees it: an unmet need ends the test with a
//! `SKIPPED` line on stderr, or fails it when CKPT_REQUIRE_ALL=1. Each case
//! runs in a child process of this binary (the variable is process-wide),
//! on a thread named like a libtest test.

use std::process::Command;

/// The body of a test whose need is not met; prints how far it got.
fn unmet(case: &str) {
    let reached = match case {
        "cond" => cond_test(),
        "result" => result_test(),
        other => panic!("unknown case {other}"),
    };
    println!("reached {reached}");
}

fn cond_test() -> bool {
    let mut reached = false;
    (|| {
        test_support::skip_unless!(1 + 1 == 3, "arithmetic is {}", "off");
        reached = true;
    })();
    reached
}

fn result_test() -> bool {
    let mut reached = false;
    (|| {
        let _v: u32 = test_support::skip_unless!(Err::<u32, _>("no such thing"));
        reached = true;
    })();
    reached
}

fn child(case: &str, require_all: &str) -> (bool, String, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--case", case])
        .env("CKPT_REQUIRE_ALL", require_all)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        let case = args[i + 1].clone();
        let t = std::thread::Builder::new().name("mod::some_test".into()).spawn(move || unmet(&case)).unwrap();
        std::process::exit(if t.join().is_ok() { 0 } else { 101 });
    }
    assert!(test_support::require(true, "never shown"));
    for (case, why) in [("cond", "arithmetic is off"), ("result", "no such thing")] {
        let (ok, stdout, stderr) = child(case, "0");
        assert!(ok, "{case}: {stdout} {stderr}");
        assert_eq!(stdout, "reached false\n", "{case}: the rest of the test did not run");
        assert!(stderr.contains(&format!("SKIPPED mod::some_test: {why} (not run;")), "{case}: {stderr}");

        let (ok, stdout, stderr) = child(case, "1");
        assert!(!ok, "{case}: {stdout} {stderr}");
        assert_eq!(stdout, "", "{case}: the test stopped at the unmet need");
        assert!(stderr.contains(&format!("mod::some_test cannot run on this machine: {why} (CKPT_REQUIRE_ALL=1")), "{case}: {stderr}");

        let (ok, _, stderr) = child(case, "yes");
        assert!(!ok && stderr.contains("CKPT_REQUIRE_ALL=\"yes\": want 1"), "{case}: {stderr}");
    }
    println!("skip: 6 cases ok");
}
