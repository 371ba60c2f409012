//! How the supervisor runs an image on the next start: the command its
//! child executes in place of CMD. In order:
//! 1. `--restorer PATH` if given: `PATH IMAGE`;
//! 2. the image itself, when the kernel can execute it: the module is
//!    loaded (/sys/module/binfmt_chkpt) or binfmt_misc has an enabled
//!    entry for the image magic whose interpreter exists;
//! 3. `ckpt-restore IMAGE`, ckpt-restore found next to ckpt-writer or on
//!    PATH;
//!
//! otherwise the start fails saying that nothing here can restore.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::binfmt_misc::DIR as BINFMT_DIR;
use crate::error::{Error, Result};

/// Whether an enabled binfmt_misc entry matches image_format::MAGIC with
/// an interpreter that exists.
fn binfmt_entry() -> Option<String> {
    let status = std::fs::read_to_string(Path::new(BINFMT_DIR).join("status")).ok()?;
    if status.trim() != "enabled" {
        return None;
    }
    let magic: String = image_format::MAGIC.iter().map(|b| format!("{b:02x}")).collect();
    for entry in std::fs::read_dir(BINFMT_DIR).ok()?.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        let enabled = text.lines().next() == Some("enabled");
        let ours = text.lines().any(|l| l.strip_prefix("magic ") == Some(magic.as_str()));
        let interp = text.lines().find_map(|l| l.strip_prefix("interpreter ")).map(PathBuf::from);
        if enabled && ours && interp.is_some_and(|p| p.exists()) {
            return Some(entry.file_name().to_string_lossy().into_owned());
        }
    }
    None
}

/// ckpt-restore next to this program, or on PATH.
fn ckpt_restore() -> Option<PathBuf> {
    let beside = std::env::current_exe().ok()?.with_file_name("ckpt-restore");
    if beside.is_file() {
        return Some(beside);
    }
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join("ckpt-restore")).find(|p| p.is_file())
}

/// The argv that restores `image`, and how, in words.
pub fn command(image: &Path, restorer: Option<&Path>) -> Result<(Vec<OsString>, String)> {
    if let Some(r) = restorer {
        return Ok((vec![r.into(), image.into()], format!("with {}", r.display())));
    }
    if Path::new("/sys/module/binfmt_chkpt").exists() {
        return Ok((vec![image.into()], "through the binfmt_chkpt module".into()));
    }
    if let Some(name) = binfmt_entry() {
        return Ok((vec![image.into()], format!("through binfmt_misc entry {name}")));
    }
    if let Some(r) = ckpt_restore() {
        return Ok((vec![r.clone().into(), image.into()], format!("with {}", r.display())));
    }
    Err(Error::Unsupported(format!(
        "nothing on this machine can restore {}: the binfmt_chkpt module is not loaded, binfmt_misc has no entry for checkpoint images, and no ckpt-restore is next to ckpt-writer or on PATH (install one, or pass --restorer)",
        image.display()
    )))
}
