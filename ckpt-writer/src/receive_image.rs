//! Where `receive` (receive.rs) puts the pages it is sent, and how it
//! finishes the image from them.
//!
//! The pages go into the temporary image file as they arrive, not at the
//! end: the source sends the state it took at the tracking freeze as a
//! provisional layout (LAYOUT, wire.rs), and `image_format::prepare` of
//! it gives the offset of the page data and of every stored run. A page
//! the layout stores is written (pwrite) straight to its place; a page it
//! does not store (memory mapped since) is kept in memory (`Store`). Each
//! page's CRC32C is computed when it arrives (crc.rs, the CPU's
//! instruction) and kept, 4 bytes a page, so the image is never read back
//! to checksum it: a run's checksum is combined from its pages'
//! (`image_format::crc32c_append_page`).
//!
//! At END, with the final state:
//! * in place: the final layout has the provisional page offset and runs
//!   (the process mapped nothing and touched no new page since the
//!   tracking freeze): every page is already where the image wants it,
//!   the final round's too, so only the header, the metadata and the tail
//!   (checksum table, trailer) are written;
//! * rewritten: the layout changed; a fresh temporary image is written
//!   beside the first, each page read from where it is (the first file or
//!   memory), exactly as the whole image was written before this design.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;

use image_format::{crc32c_append_page, Crc32c, ImageDesc, Prepared};

use crate::error::{Error, Result};
use crate::wire::{self, bad_peer, PAGE};
use crate::write::Sink;

const CHUNK_PAGES: usize = 256;

/// Pages by address, in memory (those no layout places).
pub struct Store {
    index: HashMap<u64, u32>,
    chunks: Vec<Vec<u8>>,
    max_pages: u64,
}

impl Store {
    pub fn new(max_pages: u64) -> Store {
        Store { index: HashMap::new(), chunks: Vec::new(), max_pages }
    }

    /// Reads one page from `r` as the page at `addr`.
    pub fn put_from(&mut self, addr: u64, r: &mut impl Read) -> Result<()> {
        let slot = match self.index.get(&addr) {
            Some(&s) => s as usize,
            None => {
                let s = self.index.len();
                if s as u64 >= self.max_pages {
                    return Err(bad_peer(format!(
                        "more than {} distinct pages kept in memory (--max-memory-mib {})",
                        self.max_pages,
                        (self.max_pages * PAGE) >> 20
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

    pub fn get(&self, addr: u64) -> Option<&[u8]> {
        let slot = *self.index.get(&addr)? as usize;
        let off = (slot % CHUNK_PAGES) * PAGE as usize;
        Some(&self.chunks[slot / CHUNK_PAGES][off..off + PAGE as usize])
    }
}

/// One stored run of the layout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Run {
    addr: u64,
    pages: u64,
    file_offset: u64,
    /// Index of its first page in `Layout::crcs`.
    first: usize,
}

/// The layout the temporary file follows, and what it holds.
struct Layout {
    pages_offset: u64,
    /// In address order (the validator keeps regions and runs sorted).
    runs: Vec<Run>,
    /// Per page of the layout: its CRC32C, and whether it was received.
    crcs: Vec<u32>,
    have: Vec<bool>,
}

impl Layout {
    fn new(p: &Prepared, max_pages: u64) -> Result<Layout> {
        let mut runs = Vec::with_capacity(p.runs.len());
        let mut first = 0u64;
        for (addr, r) in &p.runs {
            runs.push(Run { addr: *addr, pages: r.page_count, file_offset: r.file_offset, first: first as usize });
            first += r.page_count;
            if first > max_pages {
                return Err(bad_peer(format!(
                    "the image stores more than {max_pages} pages (--max-memory-mib {})",
                    (max_pages * PAGE) >> 20
                )));
            }
        }
        if !runs.windows(2).all(|w| w[0].addr + w[0].pages * PAGE <= w[1].addr) {
            return Err(bad_peer("the layout's page runs are not in address order"));
        }
        let n = first as usize;
        Ok(Layout { pages_offset: p.header.pages_offset, runs, crcs: vec![0; n], have: vec![false; n] })
    }

    /// The run holding `addr` and the page's index in it.
    fn locate(&self, addr: u64) -> Option<(Run, u64)> {
        let i = self.runs.partition_point(|r| r.addr + r.pages * PAGE <= addr);
        let r = *self.runs.get(i)?;
        (r.addr <= addr).then(|| (r, (addr - r.addr) / PAGE))
    }

    fn same_as(&self, p: &Prepared) -> bool {
        self.pages_offset == p.header.pages_offset
            && self.runs.len() == p.runs.len()
            && self.runs.iter().zip(&p.runs).all(|(a, (addr, b))| a.addr == *addr && a.pages == b.page_count && a.file_offset == b.file_offset)
    }
}

/// How the image was finished.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Finish {
    InPlace = 0,
    Rewritten = 1,
}

/// The pages received so far.
pub struct Received {
    /// The temporary image file (the sink's).
    file: File,
    name: String,
    layout: Option<Layout>,
    overflow: Store,
    max_pages: u64,
}

impl Received {
    /// `file`: the temporary image, written at offsets; `max_pages`: the
    /// most pages an image may store, and the most kept in memory.
    pub fn new(file: File, name: String, max_pages: u64) -> Received {
        Received { file, name, layout: None, overflow: Store::new(max_pages), max_pages }
    }

    pub fn has_layout(&self) -> bool {
        self.layout.is_some()
    }

    /// Lays the file out as `desc` says. Pages received before (kept in
    /// memory) that it stores are written to their place.
    pub fn set_layout(&mut self, desc: &ImageDesc) -> Result<()> {
        let p = prepare(desc)?;
        self.layout = Some(Layout::new(&p, self.max_pages)?);
        let early: Vec<u64> = self.overflow.index.keys().copied().collect();
        for addr in early {
            let page = self.overflow.get(addr).expect("listed").to_vec();
            self.put_placed(addr, &page)?;
        }
        Ok(())
    }

    /// Takes the whole pages of `data`, the memory at `addr`.
    pub fn put(&mut self, addr: u64, data: &[u8]) -> Result<()> {
        let n = data.len() as u64 / PAGE;
        let mut i = 0;
        while i < n {
            let a = addr + i * PAGE;
            let at = |k: u64| &data[(k * PAGE) as usize..];
            match self.layout.as_ref().and_then(|l| l.locate(a)) {
                Some((run, k)) => {
                    let m = (n - i).min(run.pages - k);
                    self.put_placed(a, &at(i)[..(m * PAGE) as usize])?;
                    i += m;
                }
                None => {
                    self.overflow.put_from(a, &mut &at(i)[..PAGE as usize])?;
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Writes `bytes` (pages of one run of the layout, from `addr`) to
    /// their place and notes their checksums.
    fn put_placed(&mut self, addr: u64, bytes: &[u8]) -> Result<()> {
        let l = self.layout.as_mut().expect("a layout");
        let (run, k) = l.locate(addr).expect("in the layout");
        for (j, page) in bytes.chunks(PAGE as usize).enumerate() {
            let mut c = Crc32c::new();
            crate::crc::update(&mut c, page);
            let slot = run.first + k as usize + j;
            l.crcs[slot] = c.finish();
            l.have[slot] = true;
        }
        self.file.write_all_at(bytes, run.file_offset + k * PAGE).map_err(|e| Error::output(&self.name, e))
    }

    /// Syncs the page data written so far (after each round, so that the
    /// sync before the rename, while the source is frozen, is small).
    pub fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| Error::output(&self.name, e))
    }

    /// Finishes the image of the final state `desc` in a temporary file:
    /// in the sink's file when the layout held, else in a fresh one that
    /// replaces `sink` (`output` names it). Returns the pages stored.
    pub fn finish(&self, desc: &ImageDesc, sink: &mut Option<Sink>, output: &crate::plan::Output) -> Result<(u64, Finish)> {
        let p = prepare(desc)?;
        match &self.layout {
            Some(l) if l.same_as(&p) => Ok((self.write_in_place(l, &p)?, Finish::InPlace)),
            _ => {
                let mut fresh = Sink::open_as(output, "-rewrite")?;
                let pages = self.write_fresh(&p, &mut fresh)?;
                // The first temporary file is removed with its sink.
                *sink = Some(fresh);
                Ok((pages, Finish::Rewritten))
            }
        }
    }

    /// Header, metadata and tail around the pages already in place.
    fn write_in_place(&self, l: &Layout, p: &Prepared) -> Result<u64> {
        if let Some(k) = l.have.iter().position(|h| !h) {
            let run = l.runs[l.runs.partition_point(|r| r.first + r.pages as usize <= k)];
            return Err(never_sent(run.addr + (k - run.first) as u64 * PAGE));
        }
        let mut run_crcs = Vec::with_capacity(l.runs.len() * 4);
        for r in &l.runs {
            let crc = l.crcs[r.first..r.first + r.pages as usize].iter().fold(0, |c, &page| crc32c_append_page(c, page));
            run_crcs.extend_from_slice(&crc.to_le_bytes());
        }
        let mut head = Vec::with_capacity(p.header.pages_offset as usize);
        head.extend_from_slice(&p.header_bytes);
        head.extend_from_slice(&p.metadata);
        head.resize(p.header.pages_offset as usize, 0);
        let io = |e| Error::output(&self.name, e);
        self.file.write_all_at(&head, 0).map_err(io)?;
        self.file.write_all_at(&image_format::tail_bytes(p, &run_crcs), p.header.tail_offset).map_err(io)?;
        self.file.set_len(p.header.file_len).map_err(io)?;
        Ok(l.have.len() as u64)
    }

    /// A whole image into `sink`, each page from the first file or memory.
    fn write_fresh(&self, p: &Prepared, sink: &mut Sink) -> Result<u64> {
        let mut missing = None;
        let mut pages = 0u64;
        let fill = |addr: u64, buf: &mut [u8]| -> std::io::Result<()> {
            let n = buf.len() as u64 / PAGE;
            let mut i = 0;
            while i < n {
                let a = addr + i * PAGE;
                let placed = self.layout.as_ref().and_then(|l| l.locate(a).map(|(run, k)| (l, run, k)));
                let dst = |from: u64, to: u64| (from * PAGE) as usize..(to * PAGE) as usize;
                if let Some((l, run, k)) = placed.filter(|(l, run, k)| l.have[run.first + *k as usize]) {
                    // The longest stretch of received pages of this run.
                    let mut m = 1;
                    while i + m < n && k + m < run.pages && l.have[run.first + (k + m) as usize] {
                        m += 1;
                    }
                    self.file.read_exact_at(&mut buf[dst(i, i + m)], run.file_offset + k * PAGE)?;
                    i += m;
                } else if let Some(page) = self.overflow.get(a) {
                    buf[dst(i, i + 1)].copy_from_slice(page);
                    i += 1;
                } else {
                    missing = Some(a);
                    return Err(std::io::Error::other("a page was never sent"));
                }
            }
            pages += n;
            Ok(())
        };
        let written = image_format::write_prepared_with(p, sink.writer(), fill, crate::crc::update);
        if let Some(a) = missing {
            return Err(never_sent(a));
        }
        written.map_err(|e| match e {
            image_format::WriteError::Io(e) => Error::output(sink.name(), e),
            e => Error::sys("writing the image", std::io::Error::other(e.to_string())),
        })?;
        Ok(pages)
    }
}

fn prepare(desc: &ImageDesc) -> Result<Prepared> {
    image_format::prepare(desc).map_err(|e| bad_peer(format!("the state makes an invalid image: {}", e.name())))
}

fn never_sent(addr: u64) -> Error {
    bad_peer(format!("the image stores the page at {addr:#x}, which was never sent"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_keeps_the_last_copy_and_a_bound() {
        let mut s = Store::new(2);
        s.put_from(0x1000, &mut &[1u8; 4096][..]).unwrap();
        s.put_from(0x1000, &mut &[2u8; 4096][..]).unwrap();
        s.put_from(0x3000, &mut &[3u8; 4096][..]).unwrap();
        assert_eq!(s.get(0x1000).unwrap()[0], 2);
        assert_eq!(s.get(0x3000).unwrap()[4095], 3);
        assert!(s.get(0x2000).is_none());
        let e = s.put_from(0x5000, &mut &[4u8; 4096][..]).unwrap_err().to_string();
        assert!(e.contains("more than 2 distinct pages"), "{e}");
    }
}
