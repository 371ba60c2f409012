//! `ckpt-writer receive --listen [ADDR:]PORT -o IMAGE [--run]`: the other
//! end of `migrate` (migrate.rs, protocol in wire.rs). Accepts one
//! connection and builds one ordinary image in a temporary file beside
//! IMAGE while the source still runs: the pages go to their place in that
//! file as they arrive, following the provisional layout the source sends
//! first, and their checksums are kept (receive_image.rs). On STATE (the
//! final state), the pages move to their final places if the layout
//! changed; the final round's pages go to their place as they come; on END
//! only header, metadata and checksum table are written, the metadata is
//! validated (the pages are not read back), then READY; it is synced and renamed
//! into place on COMMIT, then DONE. The page data is synced after each
//! round, so the sync on COMMIT, while the source is frozen, is small. On
//! any error, or a connection lost before COMMIT, the temporary files are
//! removed: no image. With `--run`, once the
//! source says it is gone (or left stopped/running as asked), the image is
//! executed in place of the receiver (so it inherits its stdin, stdout and
//! stderr): by the kernel (binfmt_misc or the module), or by
//! `--restorer PATH` (ckpt-restore).
//!
//! `--max-memory-mib` bounds what a peer can make the receiver hold: the
//! pages an image may store (4 bytes of checksum each in memory) and the
//! pages kept in memory (those the layout does not place).

use std::io::{BufReader, BufWriter, Read};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image_format::v1::limits::USER_SPACE_END;
use image_format::{Image, ImageDesc, RunDesc};

use crate::error::{Error, Result};
use crate::plan::Output;
use crate::receive_image::{Finish, Received};
use crate::wire::{self, bad_peer, Kind, MAX_FRAME_PAGES, PAGE, RUN_BYTES};
use crate::write::Sink;

/// Everything `receive` needs.
#[derive(Debug)]
pub struct ReceivePlan {
    pub listen: String,
    pub output: PathBuf,
    pub run: bool,
    pub restorer: Option<PathBuf>,
    pub max_memory: u64,
    pub timeout: Duration,
    pub quiet: bool,
}

/// `PORT` or `ADDR:PORT` (`[v6]:PORT`); a bare port listens on every
/// IPv4 address, as `nc -l PORT` does.
fn listen_address(s: &str) -> String {
    if s.parse::<u16>().is_ok() {
        format!("0.0.0.0:{s}")
    } else {
        s.to_string()
    }
}

/// Runs the receiver.
pub fn run(plan: &ReceivePlan) -> Result<()> {
    // The output is opened first, so an unwritable destination fails
    // before anyone connects.
    let sink = Sink::open(&Output::File(plan.output.clone()))?;
    if !sink.is_file() {
        return Err(Error::Usage(format!("{} is not a regular file; a received image is written to a file", plan.output.display())));
    }
    let addr = listen_address(&plan.listen);
    let listener = TcpListener::bind(&addr).map_err(|e| Error::sys(format!("listening on {addr}"), e))?;
    let local = listener.local_addr().map_err(|e| Error::sys("reading the listening address", e))?;
    // Tests and scripts wait for this line before starting the source.
    eprintln!("ckpt-writer: listening on {local}");
    let (stream, peer) = listener.accept().map_err(|e| Error::sys(format!("accepting on {local}"), e))?;
    drop(listener);
    stream.set_read_timeout(Some(plan.timeout)).map_err(|e| Error::sys("setting the socket timeout", e))?;
    stream.set_write_timeout(Some(plan.timeout)).map_err(|e| Error::sys("setting the socket timeout", e))?;
    let _ = stream.set_nodelay(true);
    // Small, so that the 1 MiB page payloads are mostly read straight into
    // their buffer (a read at least as long as the buffer bypasses it).
    let mut input = BufReader::with_capacity(64 << 10, stream.try_clone().map_err(|e| Error::sys("duplicating the socket", e))?);
    let mut out = BufWriter::new(stream);
    let started = Instant::now();
    let mut sink = Some(sink);
    let result = receive(plan, &mut sink, &mut input, &mut out);
    let got = match result {
        Ok(r) => r,
        Err(e) => {
            wire::send_error(&mut out, &e);
            linger(out);
            return Err(e);
        }
    };
    if !plan.quiet {
        eprintln!(
            "ckpt-writer: received an image from {peer}: {} pre-copy rounds, {} pages; {}, finished in {:.1} ms after END, {:.1} ms in all; the source was {}",
            got.rounds,
            got.pages,
            match got.finish {
                Finish::InPlace => "its pages written in place (the layout held)",
                Finish::Moved => "its pages moved to their final places (the layout changed since the tracking freeze)",
            },
            got.finished.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64() * 1e3,
            got.source
        );
    }
    if plan.run {
        return exec(plan);
    }
    Ok(())
}

/// After an ERROR: stop sending, then read and drop what the peer still
/// sends (at most 16 MiB, during at most a second), so that closing does not
/// reset the connection and destroy the ERROR before the peer reads it.
fn linger(out: BufWriter<TcpStream>) {
    let Ok(mut s) = out.into_inner() else { return };
    let _ = s.shutdown(std::net::Shutdown::Write);
    let until = Instant::now() + Duration::from_secs(1);
    let mut buf = vec![0u8; 64 << 10];
    let mut left = 16usize << 20;
    while left > 0 {
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() || s.set_read_timeout(Some(wait)).is_err() {
            return;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// What a migration brought.
struct Got {
    rounds: u32,
    pages: u64,
    finish: Finish,
    /// From END to READY.
    finished: Duration,
    source: &'static str,
}

fn receive(
    plan: &ReceivePlan,
    sink: &mut Option<Sink>,
    input: &mut BufReader<TcpStream>,
    out: &mut BufWriter<TcpStream>,
) -> Result<Got> {
    let h = wire::read_header(input, &[Kind::Hello])?;
    wire::check_hello(&wire::read_payload(input, h.len)?)?;
    let first = sink.as_ref().and_then(|s| s.temp_file()).expect("a file output (checked in run)");
    let file = first.try_clone().map_err(|e| Error::output(plan.output.display().to_string(), e))?;
    let mut recv = Received::new(file, plan.output.display().to_string(), plan.max_memory / PAGE);
    let mut buf = vec![0u8; (MAX_FRAME_PAGES * PAGE) as usize];
    let mut rounds = 0u32;
    let mut desc: Option<ImageDesc> = None; // the final state, once STATE came
    loop {
        let allowed: &[Kind] = if desc.is_some() {
            &[Kind::Pages, Kind::End, Kind::Error]
        } else if recv.has_layout() {
            &[Kind::Pages, Kind::Round, Kind::State, Kind::Error]
        } else {
            &[Kind::Pages, Kind::Round, Kind::Layout, Kind::State, Kind::Error]
        };
        let h = wire::read_header(input, allowed)?;
        match h.kind {
            Kind::Pages => {
                let mut a = [0u8; 8];
                wire::read_exact(input, &mut a)?;
                let addr = u64::from_le_bytes(a);
                let n = (u64::from(h.len) - 8) / PAGE;
                if addr % PAGE != 0 || addr.checked_add(n * PAGE).is_none_or(|end| end > USER_SPACE_END) {
                    return Err(bad_peer(format!("pages at {addr:#x} (+{n}) are not page-aligned user addresses")));
                }
                let data = &mut buf[..(n * PAGE) as usize];
                wire::read_exact(input, data)?;
                recv.put(addr, data)?;
            }
            Kind::Round => {
                let b = wire::read_payload(input, h.len)?;
                let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if n != rounds {
                    return Err(bad_peer(format!("round {n} ended, expected round {rounds}")));
                }
                rounds += 1;
                recv.sync()?;
            }
            Kind::Layout => recv.set_layout(&parse_state(&wire::read_payload(input, h.len)?)?)?,
            Kind::State => {
                let d = parse_state(&wire::read_payload(input, h.len)?)?;
                // The final layout places the final round's pages (and
                // those received so far, if it is not the provisional one).
                recv.last_state(&d, sink, &Output::File(plan.output.clone()))?;
                desc = Some(d);
            }
            Kind::End => break,
            Kind::Error => return Err(wire::peer_error(input, h.len)),
            _ => unreachable!("read_header checks the kind"),
        }
    }
    let t = Instant::now();
    let (pages, finish) = recv.finish()?;
    drop(recv);
    let tmp = sink.as_mut().expect("not committed yet").flushed_file()?.expect("a file output");
    validate(&tmp)?;
    let finished = t.elapsed();
    wire::write_frame(out, Kind::Ready, &[&[finish as u8]])?;
    wire::flush(out)?;
    let h = wire::read_header(input, &[Kind::Commit, Kind::Error])?;
    if h.kind == Kind::Error {
        return Err(wire::peer_error(input, h.len));
    }
    sink.take().expect("committed once").commit()?;
    wire::write_frame(out, Kind::Done, &[])?;
    wire::flush(out)?;
    let h = wire::read_header(input, &[Kind::SourceDone]).map_err(|e| {
        Error::Peer(format!("the image is in place at {}, but the source did not confirm its end ({e})", plan.output.display()))
    })?;
    let b = wire::read_payload(input, h.len)?;
    let source = match b[0] {
        0 => "killed",
        1 => "left stopped",
        2 => "left running",
        x => return Err(bad_peer(format!("unknown source outcome {x}"))),
    };
    Ok(Got { rounds, pages, finish, finished, source })
}

/// Decodes a STATE payload (wire.rs) into the image's description.
fn parse_state(b: &[u8]) -> Result<ImageDesc> {
    let take_u32 = |b: &[u8], at: usize| -> Result<u32> {
        b.get(at..at + 4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]])).ok_or_else(|| bad_peer("STATE frame truncated"))
    };
    let len = take_u32(b, 0)? as usize;
    if len as u32 > wire::MAX_STATE_IMAGE || 4 + len > b.len() {
        return Err(bad_peer(format!("STATE image length {len} does not fit its frame")));
    }
    let img = Image::parse_bytes(&b[4..4 + len]).map_err(|e| bad_peer(format!("STATE image refused: {}", e.name())))?;
    let mut desc = ImageDesc::from_image(&img);
    if desc.regions.iter().any(|r| !r.runs.is_empty()) {
        return Err(bad_peer("STATE image has stored pages of its own"));
    }
    let rest = &b[4 + len..];
    let count = take_u32(rest, 0)? as usize;
    if count as u32 > image_format::v1::limits::MAX_PAGE_RUNS || rest.len() != 4 + count * RUN_BYTES as usize {
        return Err(bad_peer(format!("STATE has {count} runs in {} bytes", rest.len() - 4)));
    }
    for r in rest[4..].chunks_exact(RUN_BYTES as usize) {
        let region = u32::from_le_bytes(r[0..4].try_into().expect("4 bytes")) as usize;
        let page_index = u64::from_le_bytes(r[4..12].try_into().expect("8 bytes"));
        let page_count = u64::from_le_bytes(r[12..20].try_into().expect("8 bytes"));
        let reg = desc.regions.get_mut(region).ok_or_else(|| bad_peer(format!("a run names region {region}, which does not exist")))?;
        reg.runs.push(RunDesc { page_index, page_count });
    }
    // The image's validator checks the runs (in their region, sorted, not
    // overlapping, not too many) when the image is prepared.
    Ok(desc)
}

/// What the receiver checks before READY: the image's header, metadata
/// and tail pass the validator (read back: a few pages). The pages are
/// not read back: their checksums were computed as they arrived.
fn validate(path: &Path) -> Result<()> {
    let loaded = crate::inspect::load(path)?;
    loaded.image(path)?;
    Ok(())
}

/// Replaces the receiver with the restored process.
fn exec(plan: &ReceivePlan) -> Result<()> {
    let image = std::path::absolute(&plan.output).map_err(|e| Error::sys("resolving the image path", e))?;
    let e = match &plan.restorer {
        Some(r) => std::process::Command::new(r).arg(&image).exec(),
        None => std::process::Command::new(&image).exec(),
    };
    let how = match &plan.restorer {
        Some(r) => format!("running {} {}", r.display(), image.display()),
        None => format!("executing {} (is binfmt_misc or the module set up? else pass --restorer)", image.display()),
    };
    Err(Error::sys(how, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_listens_everywhere() {
        assert_eq!(listen_address("7000"), "0.0.0.0:7000");
        assert_eq!(listen_address("127.0.0.1:7000"), "127.0.0.1:7000");
        assert_eq!(listen_address("[::1]:7000"), "[::1]:7000");
    }

    #[test]
    fn hostile_state_frames_are_refused_with_a_reason() {
        let refuse = |b: &[u8], want: &str| {
            let e = parse_state(b).unwrap_err().to_string();
            assert!(e.contains(want), "{e} lacks {want}");
        };
        refuse(&[1, 2], "truncated");
        refuse(&[0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0], "does not fit");
        refuse(&[8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0], "STATE image refused");
    }
}
