//! A running test program whose stdout lines are collected as they come,
//! so that a test waits for an event (a line), never for a timer.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use crate::paths::program;

/// How long a line may take before the program counts as hung.
const LINE_TIMEOUT: Duration = Duration::from_secs(60);

/// A running process (killed and reaped on drop) and the stdout lines it
/// printed so far.
pub struct Target {
    pub child: Child,
    lines: Receiver<String>,
    /// Every line read so far, in order.
    pub seen: Vec<String>,
}

impl Target {
    /// Starts `cmd` with stdin from /dev/null and stdout collected; stderr
    /// is the caller's choice (inherited unless it set one).
    pub fn spawn(mut cmd: Command) -> Target {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {:?}: {e}", cmd.get_program()));
        let out = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Target { child, lines: rx, seen: Vec::new() }
    }

    /// Starts test program `name` with `args`.
    pub fn program(name: &str, args: &[&str]) -> Target {
        let mut cmd = Command::new(program(name));
        cmd.args(args);
        Target::spawn(cmd)
    }

    /// Starts test program `name` and waits until it printed "ready".
    pub fn ready(name: &str, args: &[&str]) -> Target {
        let mut t = Target::program(name, args);
        t.wait_line("ready");
        t
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pids fit in i32")
    }

    /// Reads lines until one satisfies `found`; panics, showing the lines,
    /// if none came within LINE_TIMEOUT or the program closed its stdout.
    fn wait_for(&mut self, what: &str, found: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + LINE_TIMEOUT;
        while !self.seen.iter().any(|l| found(l)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(e) => panic!("no line {what} ({e}); got {:?}", self.seen),
            }
        }
    }

    /// Waits for a line equal to `want`.
    pub fn wait_line(&mut self, want: &str) {
        self.wait_for(&format!("{want:?}"), |l| l == want);
    }

    /// Waits for a line starting with `prefix`.
    pub fn wait_prefix(&mut self, prefix: &str) {
        self.wait_for(&format!("starting with {prefix:?}"), |l| l.starts_with(prefix));
    }

    /// The rest of the first line seen that starts with `key `.
    pub fn value(&self, key: &str) -> String {
        let prefix = format!("{key} ");
        self.seen.iter().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("no {key} line in {:?}", self.seen)).to_string()
    }

    /// Waits for the process to exit; returns its status and every stdout
    /// line it printed.
    pub fn finish(mut self) -> (ExitStatus, Vec<String>) {
        let status = self.child.wait().expect("waiting for the test program");
        // The reader ends at EOF; the wait only bounds a grandchild that
        // kept stdout open.
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(l);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
