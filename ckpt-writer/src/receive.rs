//! `ckpt-writer receive --listen [ADDR:]PORT -o IMAGE [--run]`: the other
//! end of `migrate` (migrate.rs, protocol in wire.rs). Accepts one
//! connection, keeps the pages it is sent in memory (a later copy of a
//! page replaces the earlier one), and on END writes one ordinary image
//! from the STATE and those pages: to a temporary file beside IMAGE,
//! verified (validator and page checksums) before READY, renamed into
//! place on COMMIT, then DONE. On any error, or a connection lost before
//! COMMIT, the temporary file is removed: no image. With `--run`, once the
//! source says it is gone (or left stopped/running as asked), the image is
//! executed in place of the receiver (so it inherits its stdin, stdout and
//! stderr): by the kernel (binfmt_misc or the module), or by
//! `--restorer PATH` (ckpt-restore).

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image_format::v1::limits::USER_SPACE_END;
use image_format::{Image, ImageDesc, RunDesc};

use crate::error::{Error, Result};
use crate::plan::Output;
use crate::wire::{self, bad_peer, Kind, PAGE, RUN_BYTES};
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

const CHUNK_PAGES: usize = 256;

/// Received pages, by address.
struct Store {
    index: HashMap<u64, u32>,
    chunks: Vec<Vec<u8>>,
    max_pages: u64,
}

impl Store {
    /// Reads one page from `r` as the page at `addr`.
    fn put_from(&mut self, addr: u64, r: &mut impl Read) -> Result<()> {
        let slot = match self.index.get(&addr) {
            Some(&s) => s as usize,
            None => {
                let s = self.index.len();
                if s as u64 >= self.max_pages {
                    return Err(bad_peer(format!(
                        "more than {} distinct pages sent (--max-memory {} bytes)",
                        self.max_pages,
                        self.max_pages * PAGE
                    )));
                }
                if s.is_multiple_of(CHUNK_PAGES) {
                    self.chunks.push(vec![0u8; CHUNK_PAGES * PAGE as usize]);
                }
                self.index.insert(addr, s as u32);
                s
            }
        };
        let off = (slot % CHUNK_PAGES) * PAGE as usize;
        wire::read_exact(r, &mut self.chunks[slot / CHUNK_PAGES][off..off + PAGE as usize])
    }

    fn get(&self, addr: u64) -> Option<&[u8]> {
        let slot = *self.index.get(&addr)? as usize;
        let off = (slot % CHUNK_PAGES) * PAGE as usize;
        Some(&self.chunks[slot / CHUNK_PAGES][off..off + PAGE as usize])
    }
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
    let mut input = BufReader::with_capacity(1 << 20, stream.try_clone().map_err(|e| Error::sys("duplicating the socket", e))?);
    let mut out = BufWriter::new(stream);
    let started = Instant::now();
    let mut sink = Some(sink);
    let result = receive(plan, &mut sink, &mut input, &mut out);
    let (rounds, pages, source, (wrote, verified)) = match result {
        Ok(r) => r,
        Err(e) => {
            wire::send_error(&mut out, &e);
            linger(out);
            return Err(e);
        }
    };
    if !plan.quiet {
        eprintln!(
            "ckpt-writer: received an image from {peer}: {rounds} pre-copy rounds, {pages} pages stored; written to {} in {:.1} ms (of which verifying it {:.1} ms), {:.1} ms in all; the source was {source}",
            plan.output.display(),
            wrote.as_secs_f64() * 1e3,
            verified.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64() * 1e3
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

fn receive(
    plan: &ReceivePlan,
    sink: &mut Option<Sink>,
    input: &mut BufReader<TcpStream>,
    out: &mut BufWriter<TcpStream>,
) -> Result<(u32, u64, &'static str, (Duration, Duration))> {
    let h = wire::read_header(input, &[Kind::Hello])?;
    wire::check_hello(&wire::read_payload(input, h.len)?)?;
    let mut store = Store { index: HashMap::new(), chunks: Vec::new(), max_pages: plan.max_memory / PAGE };
    let mut rounds = 0u32;
    let mut desc: Option<ImageDesc> = None;
    loop {
        let allowed: &[Kind] = if desc.is_some() { &[Kind::Pages, Kind::End, Kind::Error] } else { &[Kind::Pages, Kind::Round, Kind::State, Kind::Error] };
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
                for i in 0..n {
                    store.put_from(addr + i * PAGE, input)?;
                }
            }
            Kind::Round => {
                let b = wire::read_payload(input, h.len)?;
                let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                if n != rounds {
                    return Err(bad_peer(format!("round {n} ended, expected round {rounds}")));
                }
                rounds += 1;
            }
            Kind::State => desc = Some(parse_state(&wire::read_payload(input, h.len)?)?),
            Kind::End => break,
            Kind::Error => return Err(wire::peer_error(input, h.len)),
            _ => unreachable!("read_header checks the kind"),
        }
    }
    let desc = desc.expect("END is allowed only after STATE");
    let t = Instant::now();
    let (pages, verified) = write_image(&desc, &store, sink.as_mut().expect("not committed yet"))?;
    let times = (t.elapsed(), verified);
    drop(store);
    wire::write_frame(out, Kind::Ready, &[])?;
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
    Ok((rounds, pages, source, times))
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

/// Writes the image into `sink` (not yet committed) and verifies it.
/// Returns the number of stored pages and how long the verification took.
fn write_image(desc: &ImageDesc, store: &Store, sink: &mut Sink) -> Result<(u64, Duration)> {
    let prepared = image_format::prepare(desc).map_err(|e| bad_peer(format!("the state makes an invalid image: {}", e.name())))?;
    let mut missing = None;
    let mut pages = 0u64;
    let fill = |addr: u64, buf: &mut [u8]| {
        for (i, page) in buf.chunks_mut(PAGE as usize).enumerate() {
            let a = addr + i as u64 * PAGE;
            match store.get(a) {
                Some(p) => page.copy_from_slice(p),
                None => {
                    missing = Some(a);
                    return Err(std::io::Error::other("a page was never sent"));
                }
            }
            pages += 1;
        }
        Ok(())
    };
    let written = image_format::write_prepared_with(&prepared, sink.writer(), fill, crate::crc::update);
    if let Some(a) = missing {
        return Err(bad_peer(format!("the image stores the page at {a:#x}, which was never sent")));
    }
    written.map_err(|e| match e {
        image_format::WriteError::Io(e) => Error::output(sink.name(), e),
        e => Error::sys("writing the image", std::io::Error::other(e.to_string())),
    })?;
    let tmp = sink.flushed_file()?.ok_or_else(|| Error::Usage("the output is not a file".into()))?;
    let t = Instant::now();
    verify(&tmp)?;
    Ok((pages, t.elapsed()))
}

/// Validator and page checksums, read back from the file written: what
/// `ckpt-writer verify` checks (image_format::verify_pages), with the
/// CPU's CRC32C instruction (crc.rs), since this runs while the source is
/// frozen.
fn verify(path: &Path) -> Result<()> {
    let loaded = crate::inspect::load(path)?;
    let img = loaded.image(path)?;
    let bad = |reason: &str| Error::BadImage { path: path.display().to_string(), reason: format!("{reason} (read back after writing)") };
    let mut buf = vec![0u8; image_format::v1::limits::WRITE_CHUNK];
    for (i, run) in img.all_page_runs().enumerate() {
        let mut crc = image_format::Crc32c::new();
        let (mut off, mut left) = (run.file_offset, run.page_count.saturating_mul(PAGE));
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            loaded.file.read_exact_at(&mut buf[..n], off).map_err(|e| Error::sys(format!("reading {} back", path.display()), e))?;
            crate::crc::update(&mut crc, &buf[..n]);
            off += n as u64;
            left -= n as u64;
        }
        if u32::try_from(i).ok().and_then(|i| img.page_crc(i)) != Some(crc.finish()) {
            return Err(bad("page-checksum"));
        }
    }
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
    fn the_store_keeps_the_last_copy_and_a_bound() {
        let mut s = Store { index: HashMap::new(), chunks: Vec::new(), max_pages: 2 };
        s.put_from(0x1000, &mut &[1u8; 4096][..]).unwrap();
        s.put_from(0x1000, &mut &[2u8; 4096][..]).unwrap();
        s.put_from(0x3000, &mut &[3u8; 4096][..]).unwrap();
        assert_eq!(s.get(0x1000).unwrap()[0], 2);
        assert_eq!(s.get(0x3000).unwrap()[4095], 3);
        assert!(s.get(0x2000).is_none());
        let e = s.put_from(0x5000, &mut &[4u8; 4096][..]).unwrap_err().to_string();
        assert!(e.contains("more than 2 distinct pages"), "{e}");
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
