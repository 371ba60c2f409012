//! `ckpt-writer migrate PID --to HOST:PORT`: pre-copy live migration to a
//! `ckpt-writer receive` (receive.rs) over one TCP connection (wire.rs).
//!
//! 1. A short freeze takes the state once, as a dump would, and starts the
//!    kernel's write tracking (dirty.rs); the state goes to the receiver
//!    as the provisional layout (LAYOUT): from it, the receiver writes
//!    every page to its place in the image file as it arrives
//!    (receive_image.rs), so that little is left to write at the end.
//! 2. Rounds, the target running: the pages written since the previous
//!    round (every stored page in the first) are read and sent. Rounds
//!    stop when a round's set is small (`--stop-below` pages), stops
//!    shrinking, or `--max-rounds` is reached.
//! 3. The final freeze: the pages not written since they were sent are
//!    noted, the tracking is torn down (the target's memory is as before
//!    it), the state is captured exactly as `dump` does, and the receiver
//!    gets the state and every stored page it lacks or holds stale (and
//!    all shared memory, which the tracking cannot see others write).
//! 4. The receiver finishes the image (READY): its header, metadata and
//!    checksum table, the pages being in place with their checksums
//!    computed as they came (when the final layout is not the provisional
//!    one, because memory was mapped or a page made present since step 1,
//!    it moved the pages to their final places on STATE). We say COMMIT;
//!    it renames it into place (DONE); only then is the source killed (or
//!    left stopped, or running: `--leave-stopped`, `--leave-running`).
//!
//! Any error before DONE (a broken connection included) releases the
//! target, running, and the receiver removes its temporary file: no
//! image. A connection lost after the receiver renamed the image but
//! before its DONE arrived leaves both (the receiver cannot know whether
//! its DONE was read); the source then reports the failure and runs on.
//!
//! Downtime is measured from the final freeze to DONE: the image is
//! complete and resumable at the receiver then.

use std::io::{BufReader, BufWriter};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::capture::{capture, choose_regions};
use crate::dirty::Tracker;
use crate::encode::describe;
use crate::error::{Error, Result};
use crate::freeze::{check_target, Frozen};
use crate::memory::{list_mappings, VmFlagsRead};
use crate::page_ranges::{intersection, merged, push_uncovered};
use crate::wire::{self, Kind, MAX_FRAME_PAGES, PAGE};
use crate::write::PageReader;

/// What becomes of the source once the receiver holds the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Kill = 0,
    LeaveStopped = 1,
    LeaveRunning = 2,
}

/// Everything `migrate` needs.
#[derive(Debug)]
pub struct MigratePlan {
    pub pid: i32,
    pub to: String,
    pub after: After,
    pub allow_unsupported: bool,
    pub quiet: bool,
    pub json: bool,
    pub max_rounds: u32,
    pub stop_below: u64,
    pub timeout: Duration,
}

#[derive(Default)]
struct Stats {
    rounds: u32,
    precopy_pages: u64,
    final_pages: u64,
    round_pages: Vec<u64>,
    track_freeze: Duration,
}

/// Sends pages and counts them.
struct Sender {
    out: BufWriter<TcpStream>,
    buf: Vec<u8>,
    bytes: u64,
}

impl Sender {
    /// Reads `start..end` from the target and sends it in PAGES frames.
    /// `strict`: a failed read is an error (frozen target); otherwise the
    /// chunk is skipped (a running target may have unmapped it; if it is
    /// still stored at the end, the final freeze sends it). Returns the
    /// pages sent and adds their ranges to `sent`.
    fn send_range(&mut self, reader: &PageReader, start: u64, end: u64, strict: bool, sent: &mut Vec<(u64, u64)>) -> Result<u64> {
        let mut addr = start;
        let mut pages = 0;
        while addr < end {
            let n = ((end - addr) / PAGE).min(MAX_FRAME_PAGES);
            let len = (n * PAGE) as usize;
            let chunk = &mut self.buf[..len];
            match reader.fill(addr, chunk) {
                Ok(()) => {
                    wire::write_frame(&mut self.out, Kind::Pages, &[&addr.to_le_bytes(), chunk])?;
                    self.bytes += 13 + len as u64;
                    sent.push((addr, addr + n * PAGE));
                    pages += n;
                }
                Err(e) if strict || matches!(e, Error::TargetGone { .. }) => return Err(e),
                Err(_) => {}
            }
            addr += n * PAGE;
        }
        Ok(pages)
    }
}

/// Runs a migration.
pub fn run(plan: &MigratePlan) -> Result<()> {
    let pid = plan.pid;
    check_target(pid)?;
    let stream = TcpStream::connect(&plan.to).map_err(|e| Error::Peer(format!("cannot connect to {}: {e}", plan.to)))?;
    let _ = stream.set_nodelay(true);
    stream.set_read_timeout(Some(plan.timeout)).map_err(|e| Error::sys("setting the socket timeout", e))?;
    stream.set_write_timeout(Some(plan.timeout)).map_err(|e| Error::sys("setting the socket timeout", e))?;
    let mut input = BufReader::new(stream.try_clone().map_err(|e| Error::sys("duplicating the socket", e))?);
    let mut s = Sender { out: BufWriter::with_capacity(1 << 20, stream), buf: vec![0u8; (MAX_FRAME_PAGES * PAGE) as usize], bytes: 0 };
    let result = migrate(plan, &mut s, &mut input);
    if let Err(e) = &result {
        // Tell the receiver why, so it does not only see a closed socket.
        wire::send_error(&mut s.out, e);
    }
    result
}

fn migrate(plan: &MigratePlan, s: &mut Sender, input: &mut BufReader<TcpStream>) -> Result<()> {
    let pid = plan.pid;
    let started = Instant::now();
    wire::write_frame(&mut s.out, Kind::Hello, &[&wire::hello()])?;
    let mut st = Stats::default();
    let mut sent: Vec<(u64, u64)> = Vec::new();

    // 1. Start tracking writes (not for a stop-and-copy migration,
    // `--max-rounds 0`, which takes the same path as a kernel without
    // tracking).
    let mut tracked = (0, 0);
    let tracker = if plan.max_rounds == 0 {
        Err("--max-rounds 0".to_string())
    } else {
        let t0 = Instant::now();
        let mut frozen = Frozen::freeze(pid)?;
        // The provisional layout: the state as a dump would take it now
        // (before the tracking exists), by which the receiver places every
        // page in its image file as it arrives.
        let (mut snap, mappings) = capture(&mut frozen, plan.allow_unsupported)?;
        choose_regions(&mut snap, mappings, pid)?;
        let layout = state_payload(&describe(&snap))?;
        let mappings = list_mappings(pid, VmFlagsRead::NotInherited)?;
        let t = Tracker::start(&mut frozen, &mappings)?;
        if let Ok(t) = &t {
            tracked = (t.registered, t.refused);
        }
        drop(frozen);
        st.track_freeze = t0.elapsed();
        wire::write_frame(&mut s.out, Kind::Layout, &[&layout])?;
        s.bytes += 5 + layout.len() as u64;
        t
    };
    let reader = PageReader::new(pid, None)?;

    // 2. Pre-copy rounds while the target runs.
    match &tracker {
        Ok(t) => {
            let mut previous = u64::MAX;
            while st.rounds < plan.max_rounds {
                let written = t.take_written()?;
                let pages: u64 = written.iter().map(|(a, b)| (b - a) / PAGE).sum();
                for &(a, b) in &written {
                    st.precopy_pages += s.send_range(&reader, a, b, false, &mut sent)?;
                }
                wire::write_frame(&mut s.out, Kind::Round, &[&st.rounds.to_le_bytes()])?;
                st.rounds += 1;
                st.round_pages.push(pages);
                if pages <= plan.stop_below || pages >= previous {
                    break;
                }
                previous = pages;
            }
        }
        Err(why) => {
            if !plan.quiet && plan.max_rounds > 0 {
                eprintln!("ckpt-writer: no write tracking ({why}); all memory is sent while the process is frozen");
            }
        }
    }

    // 3. The final freeze.
    let frozen_at = Instant::now();
    let mut frozen = Frozen::freeze(pid)?;
    let unwritten = match &tracker {
        Ok(t) => t.unwritten()?,
        Err(_) => Vec::new(),
    };
    // Unregisters every range: the memory is captured as it would be
    // without a migration.
    drop(tracker);
    let (mut snap, mappings) = capture(&mut frozen, plan.allow_unsupported)?;
    choose_regions(&mut snap, mappings, pid)?;
    let desc = describe(&snap);
    let state = state_payload(&desc)?;
    wire::write_frame(&mut s.out, Kind::State, &[&state])?;
    s.bytes += 5 + state.len() as u64;
    let captured = frozen_at.elapsed();
    // The receiver's copy of a page is current when it was sent and not
    // written since.
    let clean = intersection(&merged(sent), &merged(unwritten));
    // Stale or missing pages, gathered into ranges.
    let mut wanted: Vec<(u64, u64)> = Vec::new();
    for r in &snap.regions {
        for &(first, count) in &r.runs {
            let (start, end) = (r.start + first * PAGE, r.start + (first + count) * PAGE);
            if r.shared {
                push_uncovered(start, end, &[], &mut wanted);
            } else {
                push_uncovered(start, end, &clean, &mut wanted);
            }
        }
    }
    let mut none = Vec::new();
    for (a, b) in wanted {
        st.final_pages += s.send_range(&reader, a, b, true, &mut none)?;
    }
    wire::write_frame(&mut s.out, Kind::End, &[])?;
    wire::flush(&mut s.out)?;

    // 4. Two-step commit.
    let sent_at = Instant::now();
    let in_place = match expect(input, Kind::Ready)?[0] {
        0 => true,
        1 => false,
        x => return Err(wire::bad_peer(format!("unknown READY outcome {x}"))),
    };
    let receiver_wrote = sent_at.elapsed();
    let ready_at = Instant::now();
    wire::write_frame(&mut s.out, Kind::Commit, &[])?;
    wire::flush(&mut s.out)?;
    expect(input, Kind::Done)?;
    let committed = ready_at.elapsed();
    let downtime = frozen_at.elapsed();
    match plan.after {
        After::Kill => frozen.kill()?,
        After::LeaveStopped => frozen.set_leave_stopped(),
        After::LeaveRunning => {}
    }
    drop(frozen);
    let total = started.elapsed();
    // The receiver runs the image only after this: never two copies.
    wire::write_frame(&mut s.out, Kind::SourceDone, &[&[plan.after as u8]])?;
    wire::flush(&mut s.out)?;
    let pages = snap.page_bytes() / PAGE;
    if plan.json {
        let v = serde_json::json!({
            "pid": pid,
            "image_pages": pages,
            "rounds": st.rounds,
            "round_pages": st.round_pages,
            "precopy_pages": st.precopy_pages,
            "final_pages": st.final_pages,
            "bytes_sent": s.bytes,
            "tracking_freeze_ms": st.track_freeze.as_secs_f64() * 1e3,
            "tracked_mappings": tracked.0,
            "untracked_mappings": tracked.1,
            "downtime_ms": downtime.as_secs_f64() * 1e3,
            "final_capture_ms": captured.as_secs_f64() * 1e3,
            "final_send_ms": (sent_at - frozen_at - captured).as_secs_f64() * 1e3,
            "receiver_write_ms": receiver_wrote.as_secs_f64() * 1e3,
            "commit_ms": committed.as_secs_f64() * 1e3,
            "receiver_in_place": in_place,
            "total_ms": total.as_secs_f64() * 1e3,
        });
        println!("{v}");
    }
    if !plan.quiet {
        eprintln!(
            "ckpt-writer: migrated pid {pid} ({}) to {}: {pages} pages in the image; {} rounds sent {} pages while it ran, the final freeze {} pages; {} bytes sent; downtime {:.1} ms (the receiver {}), total {:.1} ms{}",
            String::from_utf8_lossy(&snap.process.comm),
            plan.to,
            st.rounds,
            st.precopy_pages,
            st.final_pages,
            s.bytes,
            downtime.as_secs_f64() * 1e3,
            if in_place { "wrote the pages in place" } else { "moved the pages: the layout changed" },
            total.as_secs_f64() * 1e3,
            match plan.after {
                After::Kill => "; killed",
                After::LeaveStopped => "; left stopped",
                After::LeaveRunning => "; left running",
            }
        );
        for note in &snap.fd_notes {
            eprintln!("ckpt-writer: {note}");
        }
    }
    Ok(())
}

/// Waits for `want` from the receiver and returns its payload; its
/// ERROR becomes ours.
fn expect(input: &mut BufReader<TcpStream>, want: Kind) -> Result<Vec<u8>> {
    let h = wire::read_header(input, &[want, Kind::Error])?;
    if h.kind == Kind::Error {
        return Err(wire::peer_error(input, h.len));
    }
    wire::read_payload(input, h.len)
}

/// The STATE payload: the image without page data (its runs emptied, so
/// it is small and valid on its own), then the runs (wire.rs).
pub fn state_payload(desc: &image_format::ImageDesc) -> Result<Vec<u8>> {
    let mut bare = desc.clone();
    let mut runs = Vec::new();
    for (i, r) in bare.regions.iter_mut().enumerate() {
        for run in r.runs.drain(..) {
            runs.push((i as u32, run.page_index, run.page_count));
        }
    }
    let mut image = Vec::new();
    image_format::write_image(&bare, &mut image, |_, _| Ok(()))
        .map_err(|e| Error::sys("encoding the process state", std::io::Error::other(e.to_string())))?;
    let mut out = Vec::with_capacity(8 + image.len() + runs.len() * wire::RUN_BYTES as usize);
    out.extend_from_slice(&(image.len() as u32).to_le_bytes());
    out.extend_from_slice(&image);
    out.extend_from_slice(&(runs.len() as u32).to_le_bytes());
    for (region, first, count) in runs {
        out.extend_from_slice(&region.to_le_bytes());
        out.extend_from_slice(&first.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
    }
    Ok(out)
}
