//! Command line syntax (clap derive). `Cli::into_plan` turns it into a
//! validated `Plan`; nothing else reads these structs.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::plan::{DumpPlan, Output, Plan};

/// Checkpoint a running process into an image that resumes it when executed.
#[derive(Parser, Debug)]
#[command(name = "ckpt-writer", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Freeze a process, write its image, let it continue (or kill it).
    Dump {
        /// Process to dump.
        pid: i32,
        /// Image file to write, or `-` for standard output.
        #[arg(short, long, default_value = "saved.ckpt")]
        output: String,
        /// Kill the process once the image is completely written and synced.
        #[arg(long, conflicts_with = "leave_stopped")]
        kill: bool,
        /// Leave the process stopped (SIGSTOP) after the dump instead of running.
        #[arg(long)]
        leave_stopped: bool,
        /// Record unsupported file descriptors as closed instead of failing.
        #[arg(long)]
        allow_unsupported: bool,
        /// No progress bar and no summary line.
        #[arg(short, long)]
        quiet: bool,
        /// Copy-on-write: stop the process only while its state is taken and
        /// it forks once; memory is read from the fork while it runs on.
        #[arg(long, conflicts_with_all = ["kill", "leave_stopped"])]
        cow: bool,
        /// Dump the process alone, without its children and their
        /// descendants (by default they are all dumped into one tree image).
        #[arg(long)]
        no_children: bool,
    },
    /// Show what an image holds.
    Inspect {
        /// Image file.
        file: PathBuf,
        /// Machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validate an image completely, page checksums included.
    Verify {
        /// Image file.
        file: PathBuf,
    },
    /// Export an image as an ELF core file for gdb (`gdb EXE CORE`).
    ToCore {
        /// Image file.
        image: PathBuf,
        /// Core file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Of a tree image: the process (its pid at dump) whose core to
        /// write; default the root.
        #[arg(long)]
        pid: Option<u32>,
    },
    /// Register the userspace restorer with binfmt_misc (or remove it, or show it).
    BinfmtMisc {
        #[command(subcommand)]
        action: crate::binfmt_misc::Action,
    },
}

impl Cli {
    /// Checks the values clap cannot and builds the plan.
    pub fn into_plan(self) -> Result<Plan> {
        Ok(match self.command {
            Command::Dump { pid, output, kill, leave_stopped, allow_unsupported, quiet, cow, no_children } => {
                if pid <= 0 {
                    return Err(Error::Usage(format!("pid must be a positive number, got {pid}")));
                }
                if pid == std::process::id() as i32 {
                    return Err(Error::Usage("ckpt-writer cannot dump itself".into()));
                }
                let output = match output.as_str() {
                    "-" => Output::Stdout,
                    "" => return Err(Error::Usage("output path is empty".into())),
                    p => Output::File(PathBuf::from(p)),
                };
                Plan::Dump(DumpPlan { pid, output, kill, leave_stopped, allow_unsupported, quiet, cow, no_children })
            }
            Command::Inspect { file, json } => Plan::Inspect { file, json },
            Command::Verify { file } => Plan::Verify { file },
            Command::ToCore { image, output, pid } => Plan::ToCore { image, output, pid },
            Command::BinfmtMisc { action } => Plan::BinfmtMisc(action),
        })
    }
}
