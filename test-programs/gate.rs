//! The host tests' side of the test programs' wait points (common.h): a
//! program started with `--wait-at K,...` and its stdin from a `Gate`
//! stops at each step K until the test lets it go on. A test dumps it
//! there, where it cannot have finished, instead of racing its timer.
//! The test crates include this file with `#[path]`.
#![allow(dead_code)]

use std::io::{PipeReader, PipeWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The test's end of a program's stdin pipe.
pub struct Gate {
    /// Kept open so that the child can still take it when it is spawned.
    reader: PipeReader,
    writer: Option<PipeWriter>,
}

impl Gate {
    /// Makes `cmd` read its stdin from a new gate. The pipe becomes fd 0
    /// in the child just before exec, after the Command's own stdin set-up
    /// (a harness that sets stdin to /dev/null does not undo it).
    pub fn attach(cmd: &mut Command) -> Gate {
        let (reader, writer) = std::io::pipe().expect("creating a pipe");
        let fd = reader.as_raw_fd();
        // SAFETY: the closure runs in the forked child before exec and only
        // calls dup2, which is async-signal-safe; `fd` is open in the
        // parent (the Gate holds it) whenever the Command is spawned.
        unsafe {
            cmd.pre_exec(move || match libc::dup2(fd, 0) {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            });
        }
        Gate { reader, writer: Some(writer) }
    }

    /// Lets the program past one wait point.
    pub fn pass(&mut self) {
        self.writer.as_mut().expect("the gate is open already").write_all(b"x").expect("writing to the program's stdin");
    }

    /// Lets it past every further wait point (end of file on its stdin).
    pub fn open(&mut self) {
        self.writer = None;
    }
}
