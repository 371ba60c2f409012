//! `ckpt-writer run --dir DIR [--every D] [--on-signal TERM,...] -- CMD...`:
//! a checkpointing supervisor for batch jobs (README, "Under a batch
//! scheduler").
//!
//! Start: if DIR holds an image (supervise_dir.rs), the newest is verified
//! and restored (supervise_restore.rs) in place of CMD; otherwise CMD is
//! started. Either way it runs as the supervisor's child, in a process
//! group of its own, traced (supervise_tree.rs).
//!
//! Then the supervisor waits for three things:
//! - CMD's root process ends: its exit status (128+N if killed by signal
//!   N) is the supervisor's; after status 0 DIR's images are removed (the
//!   job is done), after any other the newest is kept for a retry;
//! - a stop signal (`--on-signal`, default TERM), either received by the
//!   supervisor itself (a scheduler's warning such as Slurm's
//!   `--signal=B:USR1@60`) or about to be delivered to any process of the
//!   tree (held there, never delivered): the whole tree is dumped into
//!   DIR, killed once the image is synced, and the supervisor exits with
//!   `--checkpoint-exit-code` (default 99). If that dump fails, the tree
//!   runs on, the stop signals that were held for it are delivered (so it
//!   ends as it would have unsupervised) and later ones pass through;
//! - every `--every` interval: the tree is dumped and runs on. A failed
//!   dump says why on stderr and changes nothing: the tree runs on and
//!   the previous image stays. A stop signal that arrives during the dump
//!   is held by the freeze (freeze.rs `swallow_signals`) and handled right
//!   after it.
//!
//! Other signals the supervisor receives (HUP, INT, QUIT, TERM, USR1,
//! USR2 when they are not stop signals) are passed on to CMD's process
//! group. Each checkpoint prints one line on stderr with the time from
//! the signal (or the tick) to the image synced.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::error::{Error, Result};
use crate::plan::{DumpPlan, Output};
use crate::supervise_dir as dir;
use crate::supervise_signals::{bit, Signals, FORWARDED};
use crate::supervise_tree::{Report, Tree};

/// Everything `run` needs to know.
#[derive(Debug)]
pub struct RunPlan {
    pub dir: PathBuf,
    pub every: Option<Duration>,
    pub on_signal: Vec<Signal>,
    pub checkpoint_exit_code: i32,
    pub restorer: Option<PathBuf>,
    pub allow_unsupported: bool,
    pub cmd: Vec<OsString>,
}

/// Why a checkpoint is taken, and when that was known.
struct Trigger {
    stop: Option<Signal>,
    at: Instant,
}

/// Runs the supervisor; returns its exit status.
pub fn run(plan: &RunPlan) -> Result<i32> {
    let mut signals = Signals::open(&plan.on_signal)?;
    let stop_mask = plan.on_signal.iter().fold(0, |m, &s| m | bit(s));
    crate::freeze::swallow_signals(stop_mask);
    let images = dir::scan(&plan.dir)?;
    let mut seq = images.last().map_or(0, |i| i.seq);
    let argv = match images.last() {
        Some(image) => {
            let t = Instant::now();
            dir::verify(&image.path)?;
            let (argv, how) = crate::supervise_restore::command(&image.path, plan.restorer.as_deref())?;
            eprintln!("ckpt-writer run: restoring {} {how} (verified in {:.1} ms)", image.path.display(), ms(t.elapsed()));
            argv
        }
        None => plan.cmd.clone(),
    };
    let mut tree = Tree::spawn(&argv)?;
    let mut tick = plan.every.map(|d| Instant::now() + d);
    loop {
        wait(&signals, tick)?;
        let mut trigger = None;
        for sig in signals.read()? {
            if plan.on_signal.contains(&sig) {
                trigger.get_or_insert(Trigger { stop: Some(sig), at: Instant::now() });
            } else if FORWARDED.contains(&sig) {
                tree.forward(sig);
            }
        }
        for report in tree.drain(stop_mask)? {
            match report {
                Report::RootExited(code) => return Ok(finished(plan, code, seq)),
                Report::Held(sig) => {
                    trigger.get_or_insert(Trigger { stop: Some(sig), at: Instant::now() });
                }
            }
        }
        if trigger.is_none() && tick.is_some_and(|t| Instant::now() >= t) {
            trigger = Some(Trigger { stop: None, at: Instant::now() });
        }
        let Some(t) = trigger else { continue };
        match t.stop {
            Some(sig) => {
                let held = tree.drop_held();
                if let Some(code) = stop_checkpoint(plan, &mut seq, &mut tree, &t, sig, &held) {
                    return Ok(code);
                }
            }
            None => {
                if let Err(e) = checkpoint(plan, &mut seq, tree.root, false, &t, "interval") {
                    eprintln!("ckpt-writer run: periodic checkpoint failed, the job runs on and the previous image stays: {e}");
                }
                // A stop signal swallowed while the tree was frozen:
                // checkpoint again, now to stop.
                let swallowed = crate::freeze::swallowed();
                if let Some(&sig) = plan.on_signal.iter().find(|&&s| swallowed & bit(s) != 0) {
                    let t = Trigger { stop: Some(sig), at: Instant::now() };
                    let held = [(tree.root, sig as i32)];
                    if let Some(code) = stop_checkpoint(plan, &mut seq, &mut tree, &t, sig, &held) {
                        return Ok(code);
                    }
                }
                tick = plan.every.map(|d| Instant::now() + d);
            }
        }
    }
}

/// Waits until a signal is pending on the signalfd or `until` has come.
fn wait(signals: &Signals, until: Option<Instant>) -> Result<()> {
    let timeout = match until {
        None => PollTimeout::NONE,
        Some(t) => {
            let left = t.saturating_duration_since(Instant::now()).as_millis().min(i32::MAX as u128) as i32;
            PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)
        }
    };
    let mut fds = [PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, timeout) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(Error::sys("poll", e)),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Dumps the tree of `root` as image `seq + 1` (and kills it if `stop`);
/// on success removes the older images.
/// A checkpoint to stop on `sig`: the supervisor's exit status once the
/// image is synced and the tree gone; if it fails, the job runs on and
/// receives the stop signals it was held at (`held`: tid, signal).
fn stop_checkpoint(plan: &RunPlan, seq: &mut u64, tree: &mut Tree, t: &Trigger, sig: Signal, held: &[(i32, i32)]) -> Option<i32> {
    match checkpoint(plan, seq, tree.root, true, t, sig.as_str()) {
        Ok(()) => {
            tree.reap();
            Some(plan.checkpoint_exit_code)
        }
        Err(e) => {
            eprintln!("ckpt-writer run: checkpoint on {} failed, the job runs on: {e}", sig.as_str());
            tree.deliver(held);
            None
        }
    }
}

fn checkpoint(plan: &RunPlan, seq: &mut u64, root: i32, stop: bool, t: &Trigger, why: &str) -> Result<()> {
    let next = *seq + 1;
    let path = dir::path_of(&plan.dir, next);
    let dump = DumpPlan {
        pid: root,
        output: Output::File(path.clone()),
        kill: stop,
        leave_stopped: false,
        allow_unsupported: plan.allow_unsupported,
        quiet: false,
        cow: false,
        no_children: false,
    };
    crate::dump::run(&dump)?;
    *seq = next;
    dir::remove_older(&plan.dir, next);
    eprintln!(
        "ckpt-writer run: checkpoint {next} ({why}) synced to {} {:.1} ms after the {}{}",
        path.display(),
        ms(t.at.elapsed()),
        if t.stop.is_some() { "signal" } else { "tick" },
        if stop { "; job stopped" } else { "" }
    );
    Ok(())
}

/// CMD ended with `code`: a job that succeeded leaves no image behind (the
/// next start with DIR runs CMD afresh); a failed one keeps its newest, so
/// that starting again retries from there. Returns `code`.
fn finished(plan: &RunPlan, code: i32, seq: u64) -> i32 {
    if code == 0 {
        dir::remove_older(&plan.dir, u64::MAX);
    } else if seq > 0 {
        eprintln!(
            "ckpt-writer run: the job exited with status {code}; {} is kept, starting again with this directory restores it",
            dir::path_of(&plan.dir, seq).display()
        );
    }
    code
}
