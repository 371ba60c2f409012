//! The core file is written to `.NAME.tmp-PID` beside NAME, fsynced and
//! renamed, so NAME is either complete or absent; the temporary file is
//! removed on every failure. Written with positioned writes, so what is
//! never written stays a hole of a sparse file.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A core file being written.
pub struct TempOutput {
    tmp: PathBuf,
    dest: PathBuf,
    file: File,
    committed: bool,
}

impl TempOutput {
    /// Creates the temporary file beside `dest`.
    pub fn create(dest: &Path) -> Result<TempOutput> {
        let err = |e| Error::output(dest.display().to_string(), e);
        let name = dest.file_name().ok_or_else(|| Error::Usage(format!("{} is not a file name", dest.display())))?;
        if dest.is_dir() {
            return Err(err(std::io::Error::from(std::io::ErrorKind::IsADirectory)));
        }
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(err)?;
        Ok(TempOutput { tmp, dest: dest.to_path_buf(), file, committed: false })
    }

    /// Writes `data` at `offset`.
    pub fn write_at(&self, data: &[u8], offset: u64) -> Result<()> {
        self.file.write_all_at(data, offset).map_err(|e| Error::output(self.dest.display().to_string(), e))
    }

    /// Sets the length (trailing holes included), syncs, renames into
    /// place and syncs the directory.
    pub fn commit(mut self, len: u64) -> Result<()> {
        let err = |e| Error::output(self.dest.display().to_string(), e);
        self.file.set_len(len).map_err(err)?;
        self.file.sync_all().map_err(err)?;
        std::fs::rename(&self.tmp, &self.dest).map_err(err)?;
        self.committed = true;
        let dir = self.dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
