//! `ckpt-writer binfmt-misc register|unregister|status`: registers the
//! userspace restorer (`ckpt-restore`) with binfmt_misc, so that running an
//! image (`./saved.ckpt`) runs the restorer on it. See README.md.
//!
//! The entry matches the image magic at offset 0 and uses two flags:
//! * `O`: the kernel opens the image itself for the execve (execute
//!   permission suffices) and hands the restorer that fd (`AT_EXECFD`), so
//!   the restorer reads the very file that was executed, not whatever its
//!   path names a moment later, and an execute-only image (mode 0111)
//!   restores;
//! * `F`: the kernel opens the restorer once, at registration, so images
//!   also run inside containers and chroots that do not have it.
//!
//! The restorer's argv is then, from fs/binfmt_misc.c (no `P`): the
//! interpreter path as registered, the image's path as given to execve,
//! and the original argv[1..] (argv[0] is dropped). Never `C`: that would
//! give the restorer the credentials of the image file (setuid images).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::error::{Error, Result};

/// Where binfmt_misc is mounted.
pub const DIR: &str = "/proc/sys/fs/binfmt_misc";
/// The entry's default name.
pub const DEFAULT_NAME: &str = "binfmt_chkpt";
/// Where packages install the restorer.
pub const DEFAULT_RESTORER: &str = "/usr/libexec/ckpt-restore";

/// What `binfmt-misc` does.
#[derive(Subcommand, Debug)]
pub enum Action {
    /// Register the userspace restorer as the interpreter of checkpoint images.
    Register {
        /// The restorer (absolute path); default: ckpt-restore next to this
        /// program if there is one, else /usr/libexec/ckpt-restore.
        #[arg(long)]
        restorer: Option<PathBuf>,
        /// Name of the binfmt_misc entry.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// Remove the entry.
    Unregister {
        /// Name of the binfmt_misc entry.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
    /// Show whether binfmt_misc is mounted and enabled and what the entry holds.
    Status {
        /// Name of the binfmt_misc entry.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
    },
}

/// The line written to binfmt_misc's `register` file (and, as is, to a
/// systemd binfmt.d file): `:name:M::magic::interpreter:OF`, every magic
/// byte escaped as `\xHH` (binfmt_misc decodes them).
pub fn entry_line(name: &str, restorer: &Path) -> String {
    let magic: String = image_format::MAGIC.iter().map(|b| format!("\\x{b:02x}")).collect();
    format!(":{name}:M::{magic}::{}:{FLAGS}", restorer.display())
}

/// The entry's flags, as binfmt_misc also shows them (`flags: OF`).
pub const FLAGS: &str = "OF";

pub fn run(action: &Action) -> Result<()> {
    match action {
        Action::Register { restorer, name } => register(restorer.as_deref(), name),
        Action::Unregister { name } => unregister(name),
        Action::Status { name } => status(name),
    }
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() < 128
        && !matches!(name, "register" | "status" | "." | "..")
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.+".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!("invalid binfmt_misc entry name {name:?} (letters, digits, _ - . +)")))
    }
}

/// binfmt_misc must be mounted, and changing it needs root.
fn check_ready(changing: bool) -> Result<()> {
    if !Path::new(DIR).join("register").exists() {
        return Err(Error::Usage(format!(
            "binfmt_misc is not mounted at {DIR} (as root: mount -t binfmt_misc binfmt_misc {DIR})"
        )));
    }
    let euid = procfs::process::Process::myself().and_then(|p| p.status()).map(|s| s.euid);
    if changing && euid.map_or(true, |u| u != 0) {
        return Err(Error::Usage("registering with binfmt_misc needs root".into()));
    }
    Ok(())
}

fn default_restorer() -> PathBuf {
    let sibling = std::env::current_exe().ok().and_then(|p| Some(p.parent()?.join("ckpt-restore")));
    sibling.filter(|p| p.is_file()).unwrap_or_else(|| PathBuf::from(DEFAULT_RESTORER))
}

fn register(restorer: Option<&Path>, name: &str) -> Result<()> {
    check_name(name)?;
    check_ready(true)?;
    let restorer = restorer.map(Path::to_path_buf).unwrap_or_else(default_restorer);
    if !restorer.is_absolute() {
        return Err(Error::Usage(format!("the restorer path must be absolute: {}", restorer.display())));
    }
    let meta = fs::metadata(&restorer).map_err(|e| Error::sys(format!("restorer {}", restorer.display()), e))?;
    if !meta.is_file() || std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 == 0 {
        return Err(Error::Usage(format!("the restorer is not an executable file: {}", restorer.display())));
    }
    if has_interpreter(&restorer) {
        eprintln!(
            "warning: {} is dynamically linked: images will only run where its libraries exist (`make restorer` links it statically)",
            restorer.display()
        );
    }
    let entry = Path::new(DIR).join(name);
    if entry.exists() {
        return Err(Error::Usage(format!(
            "binfmt_misc entry {name:?} is already registered ({}); unregister it first",
            entry.display()
        )));
    }
    // One write: binfmt_misc parses each write(2) as a whole entry.
    let line = entry_line(name, &restorer);
    let mut f = OpenOptions::new()
        .write(true)
        .open(Path::new(DIR).join("register"))
        .map_err(|e| Error::sys(format!("{DIR}/register"), e))?;
    f.write_all(line.as_bytes()).map_err(|e| Error::sys(format!("registering {line:?}"), e))?;
    eprintln!("registered {} as the interpreter of checkpoint images ({})", restorer.display(), entry.display());
    Ok(())
}

/// Whether an x86-64 ELF file asks for a dynamic loader (PT_INTERP).
fn has_interpreter(path: &Path) -> bool {
    use std::os::unix::fs::FileExt;
    const PT_INTERP: u32 = 3;
    let Ok(f) = fs::File::open(path) else { return false };
    let mut eh = [0u8; 64];
    if f.read_exact_at(&mut eh, 0).is_err() || &eh[..4] != b"\x7fELF" || eh[4] != 2 {
        return false;
    }
    let phoff = u64::from_le_bytes(eh[0x20..0x28].try_into().unwrap_or_default());
    let phentsize = u64::from(u16::from_le_bytes([eh[0x36], eh[0x37]]));
    let phnum = u64::from(u16::from_le_bytes([eh[0x38], eh[0x39]]));
    (0..phnum).any(|i| {
        let mut t = [0u8; 4];
        f.read_exact_at(&mut t, phoff + i * phentsize).is_ok() && u32::from_le_bytes(t) == PT_INTERP
    })
}

fn unregister(name: &str) -> Result<()> {
    check_name(name)?;
    check_ready(true)?;
    let entry = Path::new(DIR).join(name);
    if !entry.exists() {
        return Err(Error::Usage(format!("binfmt_misc entry {name:?} is not registered")));
    }
    fs::write(&entry, "-1").map_err(|e| Error::sys(format!("removing {}", entry.display()), e))?;
    eprintln!("removed {}", entry.display());
    Ok(())
}

fn status(name: &str) -> Result<()> {
    check_name(name)?;
    check_ready(false)?;
    let global = fs::read_to_string(Path::new(DIR).join("status")).map_err(|e| Error::sys(format!("{DIR}/status"), e))?;
    println!("binfmt_misc: mounted at {DIR}, {}", global.trim());
    let entry = Path::new(DIR).join(name);
    match fs::read_to_string(&entry) {
        Ok(text) => {
            println!("entry {name}: registered");
            for line in text.lines() {
                println!("  {line}");
            }
            if !text.lines().any(|l| l.strip_prefix("flags: ").is_some_and(|f| f.contains('O'))) {
                println!("  note: registered without flag O: the restorer reopens the image by its path, and execute-only images do not run (unregister and register again)");
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => println!("entry {name}: not registered"),
        Err(e) => return Err(Error::sys(entry.display().to_string(), e)),
    }
    Ok(())
}
