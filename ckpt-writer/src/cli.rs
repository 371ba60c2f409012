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
        /// Established TCP connections (connected sockets, connections
        /// waiting in a listener's accept queue): refuse the dump, or
        /// record them reset (the restored program sees ECONNRESET) and
        /// drop the waiting ones, or carry connected ones alive with
        /// TCP_REPAIR (needs CAP_NET_ADMIN at dump and restore; one
        /// process, not with --cow). A unix stream socket connected to a
        /// socket outside the process is refused too, or with reset
        /// restored with its peer gone (end of file, then EPIPE).
        #[arg(long, value_enum, default_value = "refuse")]
        tcp_established: crate::fds_sockets::TcpEstablished,
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
    /// Live-migrate a process to `ckpt-writer receive`: memory is sent in
    /// rounds while it runs, then a short freeze sends its state and the
    /// last written pages; it is killed once the receiver holds the image.
    Migrate {
        /// Process to migrate.
        pid: i32,
        /// Receiver address, HOST:PORT.
        #[arg(long)]
        to: String,
        /// Leave the process stopped (SIGSTOP) instead of killing it.
        #[arg(long, conflicts_with = "leave_running")]
        leave_stopped: bool,
        /// Let the process run on instead of killing it (a copy, not a move).
        #[arg(long)]
        leave_running: bool,
        /// Record unsupported file descriptors as closed instead of failing.
        #[arg(long)]
        allow_unsupported: bool,
        /// At most this many rounds while the process runs.
        #[arg(long, default_value_t = 12)]
        max_rounds: u32,
        /// Freeze once a round finds at most this many written pages.
        #[arg(long, default_value_t = 256)]
        stop_below: u64,
        /// Seconds to wait for the receiver before giving up.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// Print the figures (rounds, pages, bytes, downtime) as one JSON line on stdout.
        #[arg(long)]
        json: bool,
        /// No summary line.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Receive a migration (`ckpt-writer migrate`) into an image file.
    Receive {
        /// [ADDR:]PORT to listen on (a bare port: every IPv4 address; 0: any free port).
        #[arg(long)]
        listen: String,
        /// Image file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Execute the image once the source is gone (in place of the receiver).
        #[arg(long)]
        run: bool,
        /// With --run: restore with this restorer (ckpt-restore) instead of executing the image.
        #[arg(long, requires = "run")]
        restorer: Option<PathBuf>,
        /// Bound on the image's stored pages and on the pages kept in memory (those of memory mapped after the tracking freeze), in MiB (default: half of RAM).
        #[arg(long)]
        max_memory_mib: Option<u64>,
        /// Seconds to wait for the sender before giving up.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// No summary line.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Run CMD under a checkpointing supervisor (batch jobs): its tree is
    /// dumped into DIR on a stop signal (then killed) or every interval
    /// (then runs on); started again with the same DIR, the newest image
    /// is restored instead of CMD. README: "Under a batch scheduler".
    Run {
        /// Directory of the job's images (created if missing).
        #[arg(long)]
        dir: PathBuf,
        /// Also checkpoint every DURATION (200ms, 30s, 10m, 1h) and run on.
        #[arg(long)]
        every: Option<String>,
        /// Signals that mean checkpoint and stop, sent to the supervisor or
        /// to any process of CMD's tree (comma-separated names or numbers).
        #[arg(long, default_value = "TERM")]
        on_signal: String,
        /// Exit status after a checkpoint-and-stop (Slurm: RequeueExit;
        /// HTCondor: checkpoint_exit_code).
        #[arg(long, default_value_t = 99, value_parser = clap::value_parser!(i32).range(0..=255))]
        checkpoint_exit_code: i32,
        /// Restore with this restorer (ckpt-restore) instead of the first
        /// that works here (module, binfmt_misc, ckpt-restore).
        #[arg(long)]
        restorer: Option<PathBuf>,
        /// Record unsupported file descriptors as closed instead of failing.
        #[arg(long)]
        allow_unsupported: bool,
        /// The command (ignored when DIR holds an image).
        #[arg(last = true, required = true)]
        cmd: Vec<std::ffi::OsString>,
    },
}

impl Cli {
    /// Checks the values clap cannot and builds the plan.
    pub fn into_plan(self) -> Result<Plan> {
        Ok(match self.command {
            Command::Dump { pid, output, kill, leave_stopped, allow_unsupported, quiet, cow, tcp_established, no_children } => {
                crate::fds_sockets::set_tcp_established(tcp_established);
                if cow && tcp_established == crate::fds_sockets::TcpEstablished::Repair {
                    return Err(Error::Usage("--tcp-established=repair cannot be used with --cow (the target runs on while its connections would be in repair mode)".into()));
                }
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
            Command::Migrate { pid, to, leave_stopped, leave_running, allow_unsupported, max_rounds, stop_below, timeout, json, quiet } => {
                if pid <= 0 || pid == std::process::id() as i32 {
                    return Err(Error::Usage(format!("cannot migrate pid {pid}")));
                }
                if timeout == 0 {
                    return Err(Error::Usage("--timeout must be at least 1 second".into()));
                }
                let after = match (leave_stopped, leave_running) {
                    (true, _) => crate::migrate::After::LeaveStopped,
                    (_, true) => crate::migrate::After::LeaveRunning,
                    _ => crate::migrate::After::Kill,
                };
                Plan::Migrate(crate::migrate::MigratePlan {
                    pid,
                    to,
                    after,
                    allow_unsupported,
                    quiet,
                    json,
                    max_rounds,
                    stop_below,
                    timeout: std::time::Duration::from_secs(timeout),
                })
            }
            Command::Receive { listen, output, run, restorer, max_memory_mib, timeout, quiet } => {
                if timeout == 0 {
                    return Err(Error::Usage("--timeout must be at least 1 second".into()));
                }
                let max_memory = match max_memory_mib {
                    Some(m) => m.checked_mul(1 << 20).ok_or_else(|| Error::Usage(format!("--max-memory-mib {m} is too large")))?,
                    None => half_of_ram(),
                };
                Plan::Receive(crate::receive::ReceivePlan {
                    listen,
                    output,
                    run,
                    restorer,
                    max_memory,
                    timeout: std::time::Duration::from_secs(timeout),
                    quiet,
                })
            }
            Command::Run { dir, every, on_signal, checkpoint_exit_code, restorer, allow_unsupported, cmd } => {
                Plan::Run(crate::supervise::RunPlan {
                    dir,
                    every: every.as_deref().map(crate::supervise_signals::parse_duration).transpose()?,
                    on_signal: crate::supervise_signals::parse_list(&on_signal)?,
                    checkpoint_exit_code,
                    restorer,
                    allow_unsupported,
                    cmd,
                })
            }
        })
    }
}

/// Half of the machine's RAM, the receiver's default memory bound.
fn half_of_ram() -> u64 {
    // SAFETY: sysconf only reads system configuration.
    let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    (pages.max(0) as u64).saturating_mul(size.max(0) as u64) / 2
}
