//! ckpt-writer: dump a running process into an executable checkpoint
//! image, and inspect or verify such images. See README.md.

mod capture;
mod cli;
mod dump;
mod encode;
mod error;
mod fds;
mod freeze;
mod inject;
mod inspect;
mod memory;
mod plan;
mod process;
mod regs;
mod snapshot;
mod wait;
mod write;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let result = cli.into_plan().and_then(|plan| match plan {
        plan::Plan::Dump(p) => dump::run(&p),
        plan::Plan::Inspect { file, json } => inspect::inspect(&file, json),
        plan::Plan::Verify { file } => inspect::verify(&file),
    });
    if let Err(e) = result {
        eprintln!("ckpt-writer: {e}");
        std::process::exit(e.exit_code());
    }
}
