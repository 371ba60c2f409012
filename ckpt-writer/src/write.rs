//! Where the image goes, and where its page bytes come from.
//!
//! A file output is written to `.NAME.tmp-PID` in the destination's
//! directory, fsynced, given mode 0755 (so `./saved.ckpt` runs) and then
//! renamed over NAME, so NAME is either absent or complete; the temporary
//! file is removed on every failure. `-` streams to standard output, and
//! so does a destination that exists and is not a regular file (a device
//! such as /dev/null, a named pipe): renaming over it would replace the
//! device node or FIFO itself.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use nix::errno::Errno;
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

use crate::cow::Overlay;
use crate::error::{Error, Result};
use crate::plan::Output;

/// Size of the write buffer in front of the output.
const BUF: usize = 1 << 20;

/// An open output.
pub struct Sink {
    out: BufWriter<Box<dyn Write + Send>>,
    /// Temporary and final path (file outputs only).
    file: Option<(PathBuf, PathBuf, File)>,
    /// Name for messages.
    name: String,
    committed: bool,
}

impl Sink {
    /// Opens the output before the target is touched, so an unwritable
    /// destination fails early.
    pub fn open(output: &Output) -> Result<Sink> {
        Sink::open_as(output, "")
    }

    /// `open` with `tag` appended to the temporary file's name, for a
    /// second temporary image of the same destination (migrate's receiver
    /// moves its pages to a second image when the layout changed).
    pub fn open_as(output: &Output, tag: &str) -> Result<Sink> {
        match output {
            Output::Stdout => {
                if io::stdout().is_terminal() {
                    return Err(Error::Usage("refusing to write an image to a terminal; redirect standard output".into()));
                }
                Ok(Sink { out: BufWriter::with_capacity(BUF, Box::new(io::stdout())), file: None, name: "standard output".into(), committed: false })
            }
            Output::File(dest) => {
                let name = dest.file_name().ok_or_else(|| Error::Usage(format!("{} is not a file name", dest.display())))?;
                let dir = match dest.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let shown = dest.display().to_string();
                match std::fs::metadata(dest) {
                    Ok(m) if m.is_dir() => return Err(Error::output(shown, io::Error::from(io::ErrorKind::IsADirectory))),
                    Ok(m) if !m.is_file() => {
                        let stream = OpenOptions::new().write(true).open(dest).map_err(|e| Error::output(&shown, e))?;
                        return Ok(Sink { out: BufWriter::with_capacity(BUF, Box::new(stream)), file: None, name: shown, committed: false });
                    }
                    _ => {}
                }
                let tmp = dir.join(format!(".{}.tmp-{}{tag}", name.to_string_lossy(), std::process::id()));
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(0o755)
                    .open(&tmp)
                    .map_err(|e| Error::output(dest.display().to_string(), e))?;
                let writer = file.try_clone().map_err(|e| Error::output(dest.display().to_string(), e))?;
                Ok(Sink {
                    out: BufWriter::with_capacity(BUF, Box::new(writer)),
                    file: Some((tmp, dest.clone(), file)),
                    name: shown,
                    committed: false,
                })
            }
        }
    }

    /// Name for messages.
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The writer the image is streamed into.
    pub fn writer(&mut self) -> &mut impl Write {
        &mut self.out
    }

    /// Whether the output is a file written under a temporary name.
    pub fn is_file(&self) -> bool {
        self.file.is_some()
    }

    /// Flushes what is buffered and names the temporary file, so that
    /// it can be read back before `commit` (migrate's receiver verifies).
    pub fn flushed_file(&mut self) -> Result<Option<PathBuf>> {
        let name = self.name();
        self.out.flush().map_err(|e| Error::output(&name, e))?;
        Ok(self.file.as_ref().map(|(tmp, _, _)| tmp.clone()))
    }

    /// The temporary file (file outputs only), for writing at offsets
    /// (migrate's receiver puts pages in place as they arrive).
    pub fn temp_file(&self) -> Option<&File> {
        self.file.as_ref().map(|(_, _, f)| f)
    }

    /// Flushes; for a file also fsyncs, sets mode 0755, renames into place
    /// and fsyncs the directory.
    pub fn commit(mut self) -> Result<()> {
        let name = self.name();
        self.out.flush().map_err(|e| Error::output(&name, e))?;
        if let Some((tmp, dest, file)) = &self.file {
            file.set_permissions(Permissions::from_mode(0o755)).map_err(|e| Error::output(&name, e))?;
            file.sync_all().map_err(|e| Error::output(&name, e))?;
            std::fs::rename(tmp, dest).map_err(|e| Error::output(&name, e))?;
            self.committed = true;
            let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let (false, Some((tmp, _, _))) = (self.committed, &self.file) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Reads the frozen target's memory for the image writer.
pub struct PageReader {
    pid: i32,
    mem: File,
    progress: Option<ProgressBar>,
    /// Bytes taken earlier that replace what `pid` holds (--cow, cow.rs).
    overlay: Option<Overlay>,
    /// Read everything through /proc/PID/mem (`through_proc_mem`).
    proc_mem: bool,
    /// The target's pagemap: which pages it shares with another process.
    pagemap: File,
}

impl PageReader {
    /// `show_progress_for`: total bytes when a progress bar is wanted.
    pub fn new(pid: i32, show_progress_for: Option<u64>) -> Result<PageReader> {
        let mem = File::open(format!("/proc/{pid}/mem"))
            .map_err(|_| Error::TargetGone { pid, during: "opening /proc/PID/mem".into() })?;
        let progress = show_progress_for.map(|total| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}") {
                bar.set_style(style);
            }
            bar
        });
        let pagemap = File::open(format!("/proc/{pid}/pagemap"))
            .map_err(|_| Error::TargetGone { pid, during: "opening /proc/PID/pagemap".into() })?;
        Ok(PageReader { pid, mem, progress, overlay: None, proc_mem: false, pagemap })
    }

    /// Lays `overlay` over every read.
    pub fn with_overlay(mut self, overlay: Overlay) -> PageReader {
        self.overlay = Some(overlay);
        self
    }

    /// Reads only through /proc/PID/mem, for a copy-on-write fork (cow.rs):
    /// process_vm_readv pins the pages it reads, and pinning a page that
    /// the fork still shares with the target makes the kernel copy it
    /// first (GUP "unshare"), so reading a fork that way copies all of its
    /// memory: twice the memory while the dump runs, and slower (1.2 GiB/s
    /// against 1.9 GiB/s through /proc/PID/mem on the development VM, 4 KiB
    /// pages). For memory of its own, process_vm_readv is the faster.
    pub fn through_proc_mem(mut self) -> PageReader {
        self.proc_mem = true;
        self
    }

    /// Fills `buf` with the target's memory at `addr`: process_vm_readv,
    /// and /proc/PID/mem for what it cannot read (pages without read
    /// permission), or /proc/PID/mem alone (`through_proc_mem`).
    pub fn fill(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let len = buf.len();
        let remote = [RemoteIoVec { base: addr as usize, len }];
        let done = match self.proc_mem || self.shares_anon_pages(addr, len) {
            true => 0,
            false => match process_vm_readv(Pid::from_raw(self.pid), &mut [io::IoSliceMut::new(buf)], &remote) {
                Ok(n) => n,
                Err(Errno::ESRCH) => return Err(self.gone()),
                Err(_) => 0,
            },
        };
        if done < len {
            self.mem.read_exact_at(&mut buf[done..], addr + done as u64).map_err(|e| {
                // End of file: the mm is gone (the target exited, perhaps
                // a zombie still); an unmapped address gives EIO instead.
                let gone = e.kind() == io::ErrorKind::UnexpectedEof || e.raw_os_error() == Some(libc::ESRCH);
                if std::path::Path::new(&format!("/proc/{}", self.pid)).exists() && !gone {
                    Error::sys(format!("reading memory of pid {} at {:#x}", self.pid, addr + done as u64), e)
                } else {
                    self.gone()
                }
            })?;
        }
        if let Some(o) = &self.overlay {
            o.apply(addr, buf);
        }
        if let Some(bar) = &self.progress {
            bar.inc(len as u64);
        }
        Ok(())
    }

    fn gone(&self) -> Error {
        Error::TargetGone { pid: self.pid, during: "reading its memory".into() }
    }

    /// Whether `addr..addr+len` holds an anonymous page the target shares
    /// with another process (a fork: present, not exclusively mapped, or
    /// swapped). process_vm_readv would pin it, and pinning a shared
    /// anonymous page makes the kernel give the target a copy of its own
    /// first (GUP unshare): a dump of a pre-fork server would double the
    /// memory its workers share with it. /proc/PID/mem reads without
    /// pinning. One pagemap read per chunk (2 KiB for 1 MiB); when it
    /// fails, the safe way.
    fn shares_anon_pages(&self, addr: u64, len: usize) -> bool {
        use procfs::process::{MemoryPageFlags as F, PageInfo};
        let pages = len.div_ceil(4096);
        let mut raw = vec![0u8; pages * 8];
        if self.pagemap.read_exact_at(&mut raw, addr / 4096 * 8).is_err() {
            return true;
        }
        raw.chunks_exact(8).map(|e| PageInfo::parse_info(u64::from_le_bytes(e.try_into().expect("8 bytes")))).any(|p| match p {
            PageInfo::SwapPage(_) => true,
            PageInfo::MemoryPage(f) => f.contains(F::PRESENT) && !f.contains(F::FILE) && !f.contains(F::MMAP_EXCLUSIVE),
        })
    }

    /// Removes the progress bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
    }
}
