//! ckpt-writer: dump a running process into an executable checkpoint
//! image, and inspect or verify such images. See README.md.

mod binfmt_misc;
mod capture;
mod cli;
mod core_file;
mod cow;
mod crc;
mod dirty;
mod dump;
mod encode;
mod error;
mod fds;
mod fds_anon;
mod fds_deleted;
mod fds_fdinfo;
mod fds_inotify;
mod fds_shared;
mod fds_sockets;
mod fds_sockopts;
mod sched;
mod seccomp;
mod fds_tcp_repair;
mod fds_fifo;
mod fds_pty;
mod fds_unix;
mod freeze;
mod inject;
mod inspect;
mod locks;
mod mapped_files;
mod inspect_tree;
mod memory;
mod migrate;
mod page_ranges;
mod plan;
mod process;
mod receive;
mod receive_image;
mod regs;
mod restored;
mod signals;
mod timers;
mod tree_dump;
mod tree_freeze;
mod tree_links;
mod snapshot;
mod supervise;
mod supervise_dir;
mod supervise_restore;
mod supervise_signals;
mod supervise_tree;
mod wait;
mod wire;
mod write;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let result = cli.into_plan().and_then(|plan| match plan {
        plan::Plan::Dump(p) => dump::run(&p),
        plan::Plan::Inspect { file, json } => {
            quiet_on_closed_pipe();
            inspect::inspect(&file, json)
        }
        plan::Plan::Verify { file } => {
            quiet_on_closed_pipe();
            inspect::verify(&file)
        }
        plan::Plan::ToCore { image, output, pid } => core_file::run(&image, &output, pid),
        plan::Plan::BinfmtMisc(action) => binfmt_misc::run(&action),
        plan::Plan::Migrate(p) => migrate::run(&p),
        plan::Plan::Receive(p) => receive::run(&p),
        plan::Plan::Run(p) => supervise::run(&p).map(|code| std::process::exit(code)),
    });
    if let Err(e) = result {
        eprintln!("ckpt-writer: {e}");
        std::process::exit(e.exit_code());
    }
}

/// `ckpt-writer inspect FILE | head` should end quietly, as C tools do,
/// instead of panicking on a closed stdout. Only for the read-only commands:
/// a dump that loses its pipe must still detach and report the error.
fn quiet_on_closed_pipe() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: restoring the default disposition installs no handler, so no
    // signal-safety rules apply; no other thread exists yet.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}
