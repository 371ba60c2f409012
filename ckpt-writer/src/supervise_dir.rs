//! The supervisor's checkpoint directory (`ckpt-writer run --dir DIR`).
//!
//! Images are `DIR/ckpt-N.ckpt`, N counting up from 1 over the job's
//! life. A new one is written as `.ckpt-N.ckpt.tmp-PID` and renamed into
//! place once synced (write.rs's `Sink`), so a `ckpt-N.ckpt` is always
//! complete; only then are the older ones removed. At start, temporary
//! files left by a supervisor that was killed while writing are removed.
//! The newest image is the one restored; it is verified first, and if it
//! is damaged the start is refused naming it (an older image is not used
//! silently: that would rerun work whose effects outside the job, such as
//! output already written, cannot be undone). Any other `*.ckpt` file in
//! DIR is refused as foreign: the supervisor never runs a file it did not
//! write under its own name. Other files are left alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// An image of the directory.
pub struct Image {
    pub seq: u64,
    pub path: PathBuf,
}

/// `ckpt-N.ckpt` -> N.
fn seq_of(name: &str) -> Option<u64> {
    let n = name.strip_prefix("ckpt-")?.strip_suffix(".ckpt")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || (n.len() > 1 && n.starts_with('0')) {
        return None;
    }
    n.parse().ok()
}

/// The path of image N.
pub fn path_of(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("ckpt-{seq}.ckpt"))
}

/// Creates DIR if needed, removes stale temporary files, and lists the
/// images, oldest first. Refuses foreign `*.ckpt` files.
pub fn scan(dir: &Path) -> Result<Vec<Image>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::output(dir.display().to_string(), e))?;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::sys(format!("reading {}", dir.display()), e))?;
    let mut images = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::sys(format!("reading {}", dir.display()), e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(".ckpt-") && name.contains(".ckpt.tmp-") {
            std::fs::remove_file(&path).map_err(|e| Error::sys(format!("removing the unfinished image {}", path.display()), e))?;
            eprintln!("ckpt-writer run: removed {}, an image a previous run did not finish", path.display());
        } else if let Some(seq) = seq_of(&name) {
            images.push(Image { seq, path });
        } else if name.ends_with(".ckpt") {
            return Err(Error::BadImage {
                path: path.display().to_string(),
                reason: "not an image of this supervisor (it writes ckpt-N.ckpt); refusing to start with a foreign image in the checkpoint directory, move it away".into(),
            });
        }
    }
    images.sort_by_key(|i| i.seq);
    Ok(images)
}

/// Verifies `image` completely (`ckpt-writer verify`, page checksums
/// included), run as a separate command so that its report stays off
/// CMD's standard output.
pub fn verify(image: &Path) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| Error::sys("finding ckpt-writer itself", e))?;
    let out = Command::new(exe)
        .arg("verify")
        .arg(image)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::sys("running ckpt-writer verify", e))?;
    if out.status.success() {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why.trim().trim_start_matches("ckpt-writer: ");
    Err(Error::BadImage {
        path: image.display().to_string(),
        reason: format!("refusing to restore it: {why} (the supervisor never runs an image that does not verify; move it away to start over)"),
    })
}

/// Removes the images older than `keep`, once `keep` is complete.
pub fn remove_older(dir: &Path, keep: u64) {
    let Ok(images) = scan(dir) else { return };
    for old in images.iter().filter(|i| i.seq < keep) {
        if let Err(e) = std::fs::remove_file(&old.path) {
            eprintln!("ckpt-writer run: cannot remove the older image {}: {e}", old.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names_are_images() {
        assert_eq!(seq_of("ckpt-1.ckpt"), Some(1));
        assert_eq!(seq_of("ckpt-120.ckpt"), Some(120));
        assert_eq!(seq_of("ckpt-01.ckpt"), None);
        assert_eq!(seq_of("ckpt-.ckpt"), None);
        assert_eq!(seq_of("ckpt-1a.ckpt"), None);
        assert_eq!(seq_of("saved.ckpt"), None);
    }
}
