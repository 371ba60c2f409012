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
//! On STATE (the final state, before the final round's pages):
//! * in place: the final layout has the provisional page offset and runs
//!   (the process mapped nothing and touched no new page since the
//!   tracking freeze): every page is already where the image wants it;
//! * moved: the layout changed; the pages received so far move to their
//!   final places in a fresh temporary image beside the first (in-kernel
//!   copies, reflinks where the file system shares blocks; the checksums
//!   carried over), which replaces it. This costs about one copy of the
//!   image on tmpfs or ext4, as the whole write did before this design.
//!
//! The final round's pages then go to their final place, and END writes
//! only the header, the metadata and the tail (checksum table, trailer).

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
    Moved = 1,
}

/// The pages received so far.
pub struct Received {
    /// The temporary image file (the sink's).
    file: File,
    name: String,
    layout: Option<Layout>,
    overflow: Store,
    max_pages: u64,
    /// The final state's image, once STATE came.
    last: Option<Prepared>,
    /// Whether STATE found the layout changed and the pages were moved.
    moved: bool,
}

impl Received {
    /// `file`: the temporary image, written at offsets; `max_pages`: the
    /// most pages an image may store, and the most kept in memory.
    pub fn new(file: File, name: String, max_pages: u64) -> Received {
        Received { file, name, layout: None, overflow: Store::new(max_pages), max_pages, last: None, moved: false }
    }

    pub fn has_layout(&self) -> bool {
        self.layout.is_some()
    }

    /// Lays the file out as `desc` says. Pages received before (kept in
    /// memory) that it stores are written to their place.
    pub fn set_layout(&mut self, desc: &ImageDesc) -> Result<()> {
        let p = prepare(desc)?;
        self.layout = Some(Layout::new(&p, self.max_pages)?);
        self.take_early_pages()
    }

    /// Puts the pages kept in memory that the layout stores in their place.
    fn take_early_pages(&mut self) -> Result<()> {
        let early: Vec<u64> = self.overflow.index.keys().copied().filter(|&a| self.layout.as_ref().is_some_and(|l| l.locate(a).is_some())).collect();
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

    /// Takes the final state (STATE), before the final round's pages.
    /// When its layout is not the provisional one, the pages received so
    /// far move to their final places in a fresh temporary image beside
    /// the first, which replaces `sink` (`output` names it; the first file
    /// goes with its sink): stretches of the first file by in-kernel copies
    /// (copy_file_range, which file systems that share blocks do without
    /// copying), pages kept in memory written, checksums carried over. The
    /// final round's pages then go in place too, and END only writes
    /// header, metadata and tail either way.
    pub fn last_state(&mut self, desc: &ImageDesc, sink: &mut Option<Sink>, output: &crate::plan::Output) -> Result<()> {
        let p = prepare(desc)?;
        match self.layout.take() {
            None => {
                self.layout = Some(Layout::new(&p, self.max_pages)?);
                self.take_early_pages()?;
            }
            Some(old) if old.same_as(&p) => self.layout = Some(old),
            Some(old) => {
                let fresh = Sink::open_as(output, "-moved")?;
                let file = fresh.temp_file().expect("a file output").try_clone().map_err(|e| Error::output(&self.name, e))?;
                let mut new = Layout::new(&p, self.max_pages)?;
                self.move_pages(&old, &file, &mut new)?;
                self.file = file;
                self.layout = Some(new);
                self.moved = true;
                *sink = Some(fresh);
            }
        }
        self.last = Some(p);
        Ok(())
    }

    /// Copies every page `old` holds in `self.file`, and every page kept in
    /// memory, that `new` stores to its place in `file`.
    fn move_pages(&self, old: &Layout, file: &File, new: &mut Layout) -> Result<()> {
        let io = |e| Error::output(&self.name, e);
        for run in new.runs.clone() {
            let mut k = 0;
            while k < run.pages {
                let a = run.addr + k * PAGE;
                let slot = run.first + k as usize;
                match old.locate(a).filter(|(r, j)| old.have[r.first + *j as usize]) {
                    Some((from, j)) => {
                        let mut m = 1;
                        while k + m < run.pages && j + m < from.pages && old.have[from.first + (j + m) as usize] {
                            m += 1;
                        }
                        copy_range(&self.file, from.file_offset + j * PAGE, file, run.file_offset + k * PAGE, m * PAGE).map_err(io)?;
                        let (src, n) = (from.first + j as usize, m as usize);
                        new.crcs[slot..slot + n].copy_from_slice(&old.crcs[src..src + n]);
                        new.have[slot..slot + n].fill(true);
                        k += m;
                    }
                    None => {
                        if let Some(page) = self.overflow.get(a) {
                            let mut c = Crc32c::new();
                            crate::crc::update(&mut c, page);
                            new.crcs[slot] = c.finish();
                            new.have[slot] = true;
                            file.write_all_at(page, run.file_offset + k * PAGE).map_err(io)?;
                        }
                        k += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Finishes the image of the final state (END) in its temporary file.
    /// Returns the pages stored and how the image came to be.
    pub fn finish(&self) -> Result<(u64, Finish)> {
        let p = self.last.as_ref().expect("END comes after STATE");
        let l = self.layout.as_ref().expect("STATE laid the file out");
        let pages = self.write_in_place(l, p)?;
        Ok((pages, if self.moved { Finish::Moved } else { Finish::InPlace }))
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
}

/// Copies `len` bytes from `from` at `at` to `to` at `to_at` in the
/// kernel; with read and write where the file system cannot.
fn copy_range(from: &File, at: u64, to: &File, to_at: u64, len: u64) -> std::io::Result<()> {
    let (mut off_in, mut off_out) = (at as i64, to_at as i64);
    let mut left = len as usize;
    while left > 0 {
        match nix::fcntl::copy_file_range(from, Some(&mut off_in), to, Some(&mut off_out), left) {
            Ok(0) => return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
            Ok(n) => left -= n,
            Err(nix::errno::Errno::EXDEV | nix::errno::Errno::ENOSYS | nix::errno::Errno::EOPNOTSUPP | nix::errno::Errno::EINVAL) => {
                let mut buf = vec![0u8; left];
                from.read_exact_at(&mut buf, off_in as u64)?;
                return to.write_all_at(&buf, off_out as u64);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
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
