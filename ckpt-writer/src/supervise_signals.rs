//! The supervisor's signals (`ckpt-writer run`, supervise.rs): which ones
//! mean "checkpoint and stop", which ones it passes on to CMD, and the
//! signalfd it reads them (and SIGCHLD) from, so that a signal is never
//! lost between two waits.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::{Error, Result};

/// Signals that a terminal, a shell or a scheduler sends to end a job.
/// Those of them that are not stop signals are passed on to CMD's process
/// group when the supervisor receives them.
pub const FORWARDED: [Signal; 6] = [Signal::SIGHUP, Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTERM, Signal::SIGUSR1, Signal::SIGUSR2];

/// Parses `TERM,USR1` (names with or without SIG, or numbers).
pub fn parse_list(text: &str) -> Result<Vec<Signal>> {
    let mut out = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let sig = match word.parse::<i32>() {
            Ok(n) => Signal::try_from(n).ok(),
            Err(_) => {
                let upper = word.to_ascii_uppercase();
                let name = if upper.starts_with("SIG") { upper } else { format!("SIG{upper}") };
                name.parse::<Signal>().ok()
            }
        };
        match sig {
            Some(Signal::SIGKILL | Signal::SIGSTOP) => {
                return Err(Error::Usage(format!("--on-signal: {word} cannot be caught, so it cannot trigger a checkpoint")))
            }
            Some(Signal::SIGCHLD) => return Err(Error::Usage("--on-signal: CHLD is the supervisor's own".into())),
            Some(s) => out.push(s),
            None => return Err(Error::Usage(format!("--on-signal: {word:?} is not a signal name (TERM, USR1, ...) or number"))),
        }
    }
    if out.is_empty() {
        return Err(Error::Usage("--on-signal: no signal given".into()));
    }
    Ok(out)
}

/// Parses `10m`, `30s`, `200ms`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let bad = || Error::Usage(format!("--every: {text:?} is not a duration such as 200ms, 30s, 10m or 1h"));
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let n: u64 = text[..digits].parse().map_err(|_| bad())?;
    let d = match &text[digits..] {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
        "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(Error::Usage("--every must be longer than zero".into()));
    }
    Ok(d)
}

/// The bit of `sig` in a mask (bit n-1 for signal n), as freeze.rs takes it.
pub fn bit(sig: Signal) -> u64 {
    1 << (sig as i32 - 1)
}

/// The supervisor's signals, blocked and read from a signalfd.
pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    /// Blocks SIGCHLD, the stop signals and the forwarded ones, and opens
    /// the signalfd that reports them. CMD gets an empty mask back
    /// (supervise_tree.rs) before it executes.
    pub fn open(stop: &[Signal]) -> Result<Signals> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGCHLD);
        FORWARDED.iter().chain(stop).for_each(|&s| set.add(s));
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(|e| Error::sys("blocking signals", e))?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).map_err(|e| Error::sys("signalfd", e))?;
        Ok(Signals { fd })
    }

    /// The signals that arrived (none if nothing is pending).
    pub fn read(&mut self) -> Result<Vec<Signal>> {
        let mut out = Vec::new();
        loop {
            match self.fd.read_signal() {
                Ok(Some(info)) => {
                    if let Ok(s) = Signal::try_from(info.ssi_signo as i32) {
                        out.push(s);
                    }
                }
                Ok(None) => return Ok(out),
                Err(e) => return Err(Error::sys("reading the signalfd", e)),
            }
        }
    }

    /// For poll.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_lists_and_durations() {
        assert_eq!(parse_list("TERM,usr1,SIGINT,10").unwrap(), [Signal::SIGTERM, Signal::SIGUSR1, Signal::SIGINT, Signal::SIGUSR1]);
        assert!(parse_list("KILL").unwrap_err().to_string().contains("cannot be caught"));
        assert!(parse_list("BOGUS").unwrap_err().to_string().contains("not a signal"));
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 min").is_err());
    }
}
