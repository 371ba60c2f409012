//! A test that cannot run on this machine says so, and fails instead when
//! CKPT_REQUIRE_ALL=1 (CI sets it: there, every test must run). libtest has
//! no way to mark a test skipped at run time, so a skipped test passes; the
//! line on stderr is what tells it apart.

use std::ffi::OsStr;
use std::fmt::Display;
use std::io::Write;

/// The variable that turns every skip into a failure.
pub const REQUIRE_ALL: &str = "CKPT_REQUIRE_ALL";

/// Whether CKPT_REQUIRE_ALL=1. Panics on a value other than 0 or 1, so
/// that a typo cannot quietly let tests skip in CI.
pub fn require_all() -> bool {
    parse_require_all(std::env::var_os(REQUIRE_ALL).as_deref()).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_require_all(v: Option<&OsStr>) -> Result<bool, String> {
    match v {
        None => Ok(false),
        Some(v) if v.is_empty() || v == "0" => Ok(false),
        Some(v) if v == "1" => Ok(true),
        Some(other) => Err(format!("{REQUIRE_ALL}={other:?}: want 1 (every test must run) or 0")),
    }
}

/// Whether the calling test may go on: true when `met`. Otherwise the test
/// cannot run on this machine: prints `SKIPPED <test>: <why>` straight to
/// stderr (past libtest's capture, so it shows without --nocapture) and
/// returns false, or panics with that reason when CKPT_REQUIRE_ALL=1.
/// Tests use it through [`skip_unless!`](crate::skip_unless).
#[track_caller]
pub fn require(met: bool, why: impl Display) -> bool {
    if met {
        return true;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    if require_all() {
        panic!("{test} cannot run on this machine: {why} ({REQUIRE_ALL}=1: no test may skip)");
    }
    let line = format!("SKIPPED {test}: {why} (not run; {REQUIRE_ALL}=1 makes this a failure)\n");
    // Not eprintln!: libtest captures that and shows it only on failure.
    let _ = std::io::stderr().write_all(line.as_bytes());
    false
}

/// Returns from the calling test, saying why, unless what it needs is
/// there; with CKPT_REQUIRE_ALL=1 the test fails instead (see [`require`]).
///
/// - `skip_unless!(cond, "format", args...)`: needs `cond`; the message
///   says what is missing.
/// - `skip_unless!(result)`: needs `result` to be `Ok(v)` and evaluates to
///   `v`; `Err(why)` (any `Display`) says what is missing.
#[macro_export]
macro_rules! skip_unless {
    ($need:expr $(,)?) => {
        match $need {
            ::std::result::Result::Ok(v) => v,
            ::std::result::Result::Err(why) => {
                $crate::require(false, why);
                return;
            }
        }
    };
    ($cond:expr, $($why:tt)+) => {
        if !$crate::require($cond, ::std::format_args!($($why)+)) {
            return;
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_all_values() {
        assert_eq!(parse_require_all(None), Ok(false));
        assert_eq!(parse_require_all(Some(OsStr::new(""))), Ok(false));
        assert_eq!(parse_require_all(Some(OsStr::new("0"))), Ok(false));
        assert_eq!(parse_require_all(Some(OsStr::new("1"))), Ok(true));
        let e = parse_require_all(Some(OsStr::new("yes"))).unwrap_err();
        assert!(e.contains("CKPT_REQUIRE_ALL=") && e.contains("\"yes\""), "{e}");
    }
}
