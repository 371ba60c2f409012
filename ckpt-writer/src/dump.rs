//! `ckpt-writer dump`: check, open the output, freeze, capture, write,
//! sync, then release (or kill) the target.

use std::io::IsTerminal;
use std::time::Instant;

use crate::capture::capture;
use crate::encode::describe;
use crate::error::{Error, Result};
use crate::freeze::{check_target, Frozen};
use crate::plan::DumpPlan;
use crate::write::{PageReader, Sink};

/// Dumps above this size get a progress bar (on a terminal).
const PROGRESS_MIN_BYTES: u64 = 256 << 20;

/// Runs a dump.
pub fn run(plan: &DumpPlan) -> Result<()> {
    let pid = plan.pid;
    check_target(pid)?;
    let mut sink = Sink::open(&plan.output)?;
    let started = Instant::now();
    let mut frozen = Frozen::freeze(pid)?;
    let snap = capture(&mut frozen, plan.allow_unsupported)?;
    let desc = describe(&snap);
    let prepared = image_format::prepare(&desc)
        .map_err(|e| Error::sys("encoding the image", std::io::Error::other(format!("the image would be invalid: {e}"))))?;
    let total = snap.page_bytes();
    let show = !plan.quiet && std::io::stderr().is_terminal() && total > PROGRESS_MIN_BYTES;
    let reader = PageReader::new(pid, show.then_some(total))?;
    let mut fill_error = None;
    let written = image_format::write_prepared(&prepared, sink.writer(), |addr, buf| {
        reader.fill(addr, buf).map_err(|e| {
            fill_error = Some(e);
            std::io::Error::other("reading target memory failed")
        })
    });
    reader.finish();
    let written = match (written, fill_error) {
        (_, Some(e)) => return Err(e),
        (Ok(n), None) => n,
        (Err(image_format::WriteError::Io(e)), None) => return Err(Error::output(sink.name(), e)),
        (Err(e), None) => return Err(Error::sys("writing the image", std::io::Error::other(e.to_string()))),
    };
    let name = sink.name();
    sink.commit()?;
    let frozen_for = started.elapsed();
    if plan.kill {
        frozen.kill()?;
    } else if plan.leave_stopped {
        frozen.set_leave_stopped();
    }
    drop(frozen);
    if !plan.quiet {
        eprintln!(
            "ckpt-writer: dumped pid {pid} ({}): {} threads, {} regions, {} pages, {} bytes to {name}; frozen {:.1} ms{}",
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
