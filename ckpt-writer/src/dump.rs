//! `ckpt-writer dump`: check, open the output, freeze, capture, write,
//! sync, then release (or kill) the target.
//!
//! The target stays frozen only as long as the image needs it: a plain
//! dump lets it run as soon as its last page is read (before the output's
//! fsync and rename; `--kill` and `--leave-stopped` keep it until the image
//! is committed), and a `--cow` dump as soon as it has forked (cow.rs).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::capture::{capture, capture_before_fork, choose_regions, set_inherited};
use crate::cow::{CowChild, Overlay};
use crate::encode::describe;
use crate::error::{Error, Result};
use crate::freeze::{check_target, Frozen};
use crate::plan::DumpPlan;
use crate::tree_freeze::{children_of, freeze_tree};
use crate::write::{PageReader, Sink};

/// Dumps above this size get a progress bar (on a terminal).
const PROGRESS_MIN_BYTES: u64 = 256 << 20;

/// Runs a dump.
pub fn run(plan: &DumpPlan) -> Result<()> {
    let pid = plan.pid;
    check_target(pid)?;
    let alone = plan.no_children || plan.cow;
    if plan.cow && !plan.no_children && !children_of(pid)?.is_empty() {
        return Err(Error::Usage(format!("--cow dumps one process and pid {pid} has children: add --no-children")));
    }
    // In a group stop (SIGSTOP, SIGTSTP): restored stopped too. Read
    // before attaching, which shows every thread in a tracing stop.
    let stopped = procfs::process::Process::new(pid).and_then(|p| p.stat()).is_ok_and(|s| s.state == 'T');
    let mut sink = Sink::open(&plan.output)?;
    // Declared before `frozen`, so dropped after it: on an error path the
    // target is released first, then the child is killed and reaped.
    let mut child: Option<CowChild> = None;
    let started = Instant::now();
    // A process with children is dumped with them (tree_dump.rs); one
    // without, or with --no-children, exactly as before.
    let root = if alone {
        Frozen::freeze(pid)?
    } else {
        let mut tree = freeze_tree(pid)?;
        if tree.len() > 1 {
            if crate::fds_sockets::repair_established() {
                return Err(Error::Usage(format!("--tcp-established=repair dumps one process and pid {pid} has children: add --no-children")));
            }
            return crate::tree_dump::run(plan, sink, tree, started);
        }
        tree.pop().and_then(|m| m.frozen).ok_or(Error::TargetGone { pid, during: "attaching".into() })?
    };
    let mut frozen = Some(root);
    // Dropped before `frozen`: connections put in repair mode leave it
    // before the target runs again (unless it is killed).
    let mut repair = crate::fds_tcp_repair::Guard::new();
    let (mut snap, mut mappings) = if plan.cow {
        capture_before_fork(frozen.as_mut().expect("frozen"), plan.allow_unsupported)?
    } else {
        capture(frozen.as_mut().expect("frozen"), plan.allow_unsupported)?
    };
    let mut frozen_for = None;
    let mut overlay_bytes = 0;
    // A --cow dump chooses the pages from its fork's page tables, which
    // fork copied, once the target runs again.
    let (source, overlay) = if plan.cow {
        let overlay = Overlay::read(&PageReader::new(pid, None)?, &mappings, &snap)?;
        overlay_bytes = overlay.len();
        let c = child.insert(CowChild::fork(frozen.as_mut().expect("frozen"), &mappings)?);
        drop(frozen.take());
        frozen_for = Some(started.elapsed());
        c.check(&mut mappings)?;
        set_inherited(&mut snap, c.read_inherited(&mappings)?);
        (c.pid(), Some(overlay))
    } else {
        (pid, None)
    };
    snap.process.stopped = stopped;
    choose_regions(&mut snap, mappings, source)?;
    let desc = describe(&snap);
    let prepared = image_format::prepare(&desc)
        .map_err(|e| Error::sys("encoding the image", std::io::Error::other(format!("the image would be invalid: {e}"))))?;
    let total = snap.page_bytes();
    let show = !plan.quiet && std::io::stderr().is_terminal() && total > PROGRESS_MIN_BYTES;
    let mut reader = PageReader::new(source, show.then_some(total))?;
    if let Some(o) = overlay {
        // Read the fork through /proc/PID/mem (see there).
        reader = reader.with_overlay(o).through_proc_mem();
    }
    let mut fill_error = None;
    let fill = |addr, buf: &mut [u8]| {
        reader.fill(addr, buf).map_err(|e| {
            fill_error = Some(e);
            std::io::Error::other("reading target memory failed")
        })
    };
    let written = image_format::write_prepared_threaded(&prepared, sink.writer(), fill, crate::crc::update);
    reader.finish();
    let written = match (written, fill_error) {
        (_, Some(e)) => return Err(e),
        (Ok(n), None) => n,
        (Err(image_format::WriteError::Io(e)), None) => return Err(Error::output(sink.name(), e)),
        (Err(e), None) => return Err(Error::sys("writing the image", std::io::Error::other(e.to_string()))),
    };
    // Every page is read: a target that goes on running needs no more
    // waiting (for the output's flush, fsync and rename).
    if !plan.kill && !plan.leave_stopped && frozen.is_some() {
        repair.leave();
        drop(frozen.take());
        frozen_for = Some(started.elapsed());
    }
    let name = sink.name();
    sink.commit()?;
    if !plan.kill {
        repair.leave();
    }
    if let Some(mut f) = frozen.take() {
        if plan.kill {
            if let Err(e) = f.kill() {
                repair.leave();
                return Err(e);
            }
            repair.keep();
        } else if plan.leave_stopped {
            f.set_leave_stopped();
        }
        frozen_for = Some(started.elapsed());
    }
    let reap_for = match child.take() {
        Some(c) => c.finish()?,
        None => Duration::ZERO,
    };
    let frozen_for = frozen_for.unwrap_or_default();
    if !plan.quiet {
        let cow = if plan.cow {
            format!(
                " (copy-on-write: {overlay_bytes} bytes of shared memory and rseq area copied while frozen; {:.1} ms more to reap the snapshot fork)",
                reap_for.as_secs_f64() * 1000.0
            )
        } else {
            String::new()
        };
        eprintln!(
            "ckpt-writer: dumped pid {pid} ({}): {} threads, {} regions, {} pages, {} bytes to {name}; frozen {:.1} ms{cow}{}",
            String::from_utf8_lossy(&snap.process.comm),
            snap.threads.len(),
            snap.regions.len(),
            total / 4096,
            written,
            frozen_for.as_secs_f64() * 1000.0,
            if plan.kill { "; killed" } else { "" },
        );
        for note in &snap.fd_notes {
            eprintln!("ckpt-writer: {note}");
        }
    }
    Ok(())
}
