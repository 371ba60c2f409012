//! `ckpt-writer to-core IMAGE -o CORE`: an image as an ELF core file
//! (ET_CORE) that gdb opens like a kernel-written core: one PT_NOTE
//! (notes.rs), then PT_LOAD segments (segments.rs) with the stored pages.
//! The ELF and note headers come from the `object` crate's writer; page
//! data is copied run by run, each run's CRC32C checked on the way, so a
//! damaged image fails with the validator's error instead of producing a
//! core with wrong memory.

mod notes;
mod output;
mod segments;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use image_format::{FormatError, Image, ImageDesc};
use object::elf;
use object::write::elf::{FileHeader, ProgramHeader, Writer};
use object::write::StreamingBuffer;
use object::Endianness;

use crate::error::{Error, Result};
use crate::inspect::{load, Loaded};
use output::TempOutput;
use segments::{segments_of, Segment};

const PAGE: u64 = 4096;
/// Page data is copied in chunks of at most this size.
const CHUNK: u64 = 1 << 20;

/// A segment and its place in the core file.
struct Placed {
    seg: Segment,
    offset: u64,
}

/// Converts `image` into the core file `dest`.
pub fn run(image: &Path, dest: &Path, pid: Option<u32>) -> Result<()> {
    // The rename at the end would replace the image with its core.
    if let (Ok(a), Ok(b)) = (std::fs::metadata(image), std::fs::metadata(dest)) {
        use std::os::unix::fs::MetadataExt;
        if (a.dev(), a.ino()) == (b.dev(), b.ino()) {
            return Err(Error::Usage(format!("{} is the image itself", dest.display())));
        }
    }
    let loaded = select(image, load(image)?, pid)?;
    let img = loaded.image(image)?;
    let desc = ImageDesc::from_image(&img);
    let psargs = command_line(&img, &loaded.file, loaded.base, &desc);
    let notes = notes::build(&desc, &psargs);
    let mut placed: Vec<Placed> =
        desc.regions.iter().flat_map(segments_of).map(|seg| Placed { seg, offset: 0 }).collect();
    let (head, total) = headers(&notes, &mut placed)?;

    let out = TempOutput::create(dest)?;
    out.write_at(&head, 0)?;
    copy_pages(&img, &loaded, image, &placed, &out)?;
    out.commit(total)
}

/// Lays out the file (headers, notes, then each segment with data on a
/// page boundary), sets each segment's offset, and returns the bytes up to
/// the end of the notes with the file's total length.
fn headers(notes: &[u8], placed: &mut [Placed]) -> Result<(Vec<u8>, u64)> {
    let phnum = 1 + placed.len();
    let mut head = StreamingBuffer::new(Vec::new());
    let mut w = Writer::new(Endianness::Little, true, &mut head);
    w.reserve_file_header();
    w.reserve_program_headers(phnum as u32);
    // Beyond 65534 program headers the count goes into section header 0
    // (PN_XNUM), so that header must exist.
    let xnum = phnum >= elf::PN_XNUM as usize;
    if xnum {
        w.reserve_null_section_index();
        w.reserve_section_headers();
    }
    let notes_offset = w.reserve(notes.len() as u64, 4);
    for p in placed.iter_mut() {
        p.offset = if p.seg.has_data { w.reserve(p.seg.memsz, PAGE) } else { w.reserved_len() };
    }
    let total = w.reserved_len();
    let header = FileHeader { e_type: elf::ET_CORE, e_machine: elf::EM_X86_64, os_abi: elf::ELFOSABI_NONE, ..Default::default() };
    w.write_file_header(&header).map_err(|e| Error::sys("encoding the ELF header", std::io::Error::other(e.to_string())))?;
    w.write_align_program_headers();
    w.write_program_header(&ProgramHeader {
        p_type: elf::PT_NOTE,
        p_flags: elf::ProgramFlags(0),
        p_offset: notes_offset,
        p_vaddr: 0,
        p_paddr: 0,
        p_filesz: notes.len() as u64,
        p_memsz: 0,
        p_align: 4,
    });
    for p in placed.iter() {
        w.write_program_header(&ProgramHeader {
            p_type: elf::PT_LOAD,
            p_flags: pf(p.seg.prot),
            p_offset: p.offset,
            p_vaddr: p.seg.vaddr,
            p_paddr: 0,
            p_filesz: if p.seg.has_data { p.seg.memsz } else { 0 },
            p_memsz: p.seg.memsz,
            p_align: PAGE,
        });
    }
    if xnum {
        w.write_null_section_header();
    }
    w.pad_until(notes_offset);
    w.write(notes);
    drop(w);
    head.result().map_err(|e| Error::sys("encoding the core file", e))?;
    Ok((head.into_inner(), total))
}

/// PF_* flags of region `prot` bits (READ 1, WRITE 2, EXEC 4).
fn pf(prot: u32) -> elf::ProgramFlags {
    use image_format::records::prot as p;
    let bit = |b: u32, f: elf::ProgramFlags| if prot & b != 0 { f.0 } else { 0 };
    elf::ProgramFlags(bit(p::READ, elf::PF_R) | bit(p::WRITE, elf::PF_W) | bit(p::EXEC, elf::PF_X))
}

/// Copies every stored page to its segment, checking each run's CRC32C.
fn copy_pages(img: &Image<'_>, loaded: &Loaded, path: &Path, placed: &[Placed], out: &TempOutput) -> Result<()> {
    let (file, base) = (&loaded.file, loaded.base);
    let read_err = |e| Error::sys(format!("reading {}", path.display()), e);
    let mut buf = vec![0u8; CHUNK as usize];
    let mut index = 0u32;
    // Segments and runs both go up in address: one cursor finds each run's
    // segment in linear time.
    let mut segs = placed.iter().filter(|p| p.seg.has_data).peekable();
    for r in img.regions() {
        for run in img.page_runs(&r) {
            let addr = r.start + run.page_index * PAGE;
            while segs.next_if(|p| p.seg.vaddr + p.seg.memsz <= addr).is_some() {}
            let p = segs
                .peek()
                .filter(|p| p.seg.vaddr <= addr)
                .ok_or_else(|| Error::sys("placing page data", std::io::Error::other(format!("no segment holds {addr:#x}"))))?;
            let mut crc = image_format::Crc32c::new();
            let len = run.page_count * PAGE;
            let mut done = 0;
            while done < len {
                let n = (len - done).min(CHUNK) as usize;
                file.read_exact_at(&mut buf[..n], base + run.file_offset + done).map_err(read_err)?;
                crc.update(&buf[..n]);
                out.write_at(&buf[..n], p.offset + (addr - p.seg.vaddr) + done)?;
                done += n as u64;
            }
            if img.page_crc(index) != Some(crc.finish()) {
                return Err(Error::BadImage {
                    path: path.display().to_string(),
                    reason: format!("{} (stored page data does not match its checksum)", FormatError::PageChecksum.name()),
                });
            }
            index += 1;
        }
    }
    Ok(())
}

/// The command line for NT_PRPSINFO's pr_psargs, read from the stored
/// argument area (arg_start..arg_end) with the NULs between arguments as
/// spaces, as the kernel fills it; the comm when those pages are not
/// stored.
fn command_line(img: &Image<'_>, file: &File, base: u64, desc: &ImageDesc) -> Vec<u8> {
    let mm = &desc.process.mm;
    let len = mm.arg_end.saturating_sub(mm.arg_start).min(notes::PSARGS_MAX as u64);
    let mut args = Vec::with_capacity(len as usize);
    let mut addr = mm.arg_start;
    while (args.len() as u64) < len {
        let n = (len - args.len() as u64).min(PAGE - addr % PAGE);
        let Some(off) = file_offset_of(img, addr) else { break };
        let mut b = vec![0u8; n as usize];
        if file.read_exact_at(&mut b, base + off).is_err() {
            break;
        }
        args.extend_from_slice(&b);
        addr += n;
    }
    if args.is_empty() {
        return desc.process.comm.0.clone();
    }
    while args.last() == Some(&0) {
        args.pop();
    }
    args.iter().map(|&c| if c == 0 { b' ' } else { c }).collect()
}

/// Where the image stores the byte at `addr`, if it stores its page.
fn file_offset_of(img: &Image<'_>, addr: u64) -> Option<u64> {
    let r = img.regions().find(|r| r.start <= addr && addr < r.end)?;
    let page = (addr - r.start) / PAGE;
    let run = img.page_runs(&r).find(|run| run.page_index <= page && page < run.page_index + run.page_count)?;
    Some(run.file_offset + (page - run.page_index) * PAGE + addr % PAGE)
}

/// The image of process `pid` of a tree (default: the root, the file's
/// own image); a zombie has none, a single-process image has only its own.
fn select(path: &Path, root: Loaded, pid: Option<u32>) -> Result<Loaded> {
    let img = root.image(path)?;
    let Some(pid) = pid.filter(|&p| p != img.process.pid) else { return Ok(root) };
    let rec = img.tree_processes().find(|r| r.pid == pid).ok_or_else(|| {
        let pids: Vec<String> = img.tree_processes().map(|r| r.pid.to_string()).collect();
        let has = if pids.is_empty() { format!("only pid {}", img.process.pid) } else { format!("pids {}", pids.join(", ")) };
        Error::Usage(format!("{} has no process {pid}: it holds {has}", path.display()))
    })?;
    if rec.state == image_format::TreeState::Zombie {
        return Err(Error::Usage(format!("process {pid} of {} is a zombie: it has no memory or threads to write a core of", path.display())));
    }
    let file = root.file.try_clone().map_err(|e| Error::sys(format!("reading {}", path.display()), e))?;
    crate::inspect::load_at(path, file, Some(rec))
}
