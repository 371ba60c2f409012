//! What the user asked for, validated: the only input of the commands.

use std::path::PathBuf;

/// One command to run.
#[derive(Debug)]
pub enum Plan {
    /// Dump a process.
    Dump(DumpPlan),
    /// Print an image's contents.
    Inspect { file: PathBuf, json: bool },
    /// Validate an image.
    Verify { file: PathBuf },
    /// Export an image as an ELF core file.
    ToCore { image: PathBuf, output: PathBuf, pid: Option<u32> },
    /// Register, unregister or show the binfmt_misc entry.
    BinfmtMisc(crate::binfmt_misc::Action),
    /// Pre-copy migration to a receiver.
    Migrate(crate::migrate::MigratePlan),
    /// Receive a migration into an image.
    Receive(crate::receive::ReceivePlan),
    /// Supervise a job (checkpoint on signals and intervals).
    Run(crate::supervise::RunPlan),
}

/// Where the image goes.
#[derive(Debug, Clone)]
pub enum Output {
    /// A file: written to a temporary name beside it, synced, renamed.
    File(PathBuf),
    /// Standard output, in one pass.
    Stdout,
}

/// Everything `dump` needs to know.
#[derive(Debug)]
pub struct DumpPlan {
    pub pid: i32,
    pub output: Output,
    pub kill: bool,
    pub leave_stopped: bool,
    pub allow_unsupported: bool,
    pub quiet: bool,
    /// Copy-on-write: freeze only while a fork is made (cow.rs).
    pub cow: bool,
    /// Dump the process alone, not its descendants (tree_dump.rs).
    pub no_children: bool,
}
