//! Reading a guest's serial console: scenario results and kernel problems.

/// What one scenario printed and how it exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioResult {
    pub name: String,
    /// Exit status of the scenario script; `None` if it never finished.
    pub rc: Option<i32>,
    /// Every console line between its BEGIN and END markers (kernel lines included).
    pub output: String,
}

/// A whole guest run.
#[derive(Debug, Default)]
pub struct GuestLog {
    pub console: String,
    pub scenarios: Vec<ScenarioResult>,
    /// The guest printed its final marker (it was not killed or crashed).
    pub completed: bool,
    pub timed_out: bool,
    pub qemu_stderr: String,
}

const BEGIN: &str = "=== SCENARIO ";
const DONE: &str = "=== GUEST DONE";

/// Splits the console text into scenario results.
pub fn parse_console(text: &str) -> GuestLog {
    let mut log = GuestLog { console: text.to_owned(), ..GuestLog::default() };
    let mut current: Option<ScenarioResult> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(BEGIN) {
            if let Some(name) = rest.strip_suffix(" BEGIN") {
                if let Some(unfinished) = current.take() {
                    log.scenarios.push(unfinished);
                }
                current = Some(ScenarioResult { name: name.to_owned(), rc: None, output: String::new() });
                continue;
            }
            if let Some((name, rc)) = rest.split_once(" END rc=") {
                if let Some(mut s) = current.take() {
                    if s.name == name {
                        s.rc = rc.trim().parse().ok();
                    }
                    log.scenarios.push(s);
                }
                continue;
            }
        }
        if line.starts_with(DONE) {
            log.completed = true;
        }
        if let Some(s) = current.as_mut() {
            s.output.push_str(line);
            s.output.push('\n');
        }
    }
    if let Some(unfinished) = current.take() {
        log.scenarios.push(unfinished);
    }
    log
}

/// Kernel log lines that mean the kernel found a bug: any of them fails a run.
const PROBLEM_MARKERS: &[&str] = &[
    "BUG:",
    "Oops",
    "WARNING:",
    "Kernel panic",
    "KASAN",
    "possible circular locking",
    "possible recursive locking",
    "lockdep is turned off",
    "DEBUG_LOCKS_WARN_ON",
    "INFO: trying to register non-static key",
    "rcu_sched detected stall",
    "rcu_preempt detected stall",
    "RCU stall",
    "detected stalls on CPUs",
    "soft lockup",
    "blocked for more than",
    "unreferenced object",
    "kmemleak: leaks found",
    "general protection fault",
    "UBSAN",
];

/// A user process's fault, which the kernel logs but which is no kernel
/// problem: "traps: prog[pid] general protection fault ip:... sp:...".
/// (The kernel's own is "Oops: general protection fault, ...".)
fn user_fault(line: &str) -> bool {
    line.contains(" traps: ") && line.contains(" ip:") && !line.contains("Oops")
}

/// The console lines that report a kernel problem.
pub fn kernel_problems(console: &str) -> Vec<&str> {
    console
        .lines()
        .filter(|l| PROBLEM_MARKERS.iter().any(|m| l.contains(m)) && !user_fault(l))
        .collect()
}

impl GuestLog {
    /// The result of scenario `name`; panics with the console if it never ran.
    pub fn scenario(&self, name: &str) -> &ScenarioResult {
        self.scenarios
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("scenario {name} did not run; console:\n{}", self.console))
    }

    /// Panics (printing the whole console) unless `name` ran and exited 0.
    pub fn assert_passed(&self, name: &str) {
        let s = self.scenario(name);
        assert_eq!(s.rc, Some(0), "scenario {name} failed (rc {:?}); console:\n{}", s.rc, self.console);
    }

    /// Panics (printing the whole console) if the guest hung, crashed, or its
    /// kernel log reports any problem.
    pub fn assert_clean(&self) {
        assert!(!self.timed_out, "guest timed out; console:\n{}", self.console);
        assert!(self.completed, "guest did not finish (crash?); qemu: {}\nconsole:\n{}", self.qemu_stderr, self.console);
        let problems = kernel_problems(&self.console);
        assert!(problems.is_empty(), "kernel problems: {problems:#?}\nconsole:\n{}", self.console);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = "\
[    0.000000] Linux version 6.12.117
=== GUEST READY 6.12.117
=== SCENARIO first BEGIN
hello
[    1.234567] binfmt_chkpt: registered (image format v1)
=== SCENARIO first END rc=0
=== SCENARIO second BEGIN
oops no
=== SCENARIO second END rc=3
=== SCENARIO third BEGIN
partial
";

    #[test]
    fn scenarios_are_split_with_their_exit_codes() {
        let log = parse_console(FIXTURE);
        assert_eq!(log.scenarios.len(), 3);
        assert_eq!(log.scenario("first").rc, Some(0));
        assert!(log.scenario("first").output.contains("binfmt_chkpt: registered"));
        assert_eq!(log.scenario("second").rc, Some(3));
        assert_eq!(log.scenario("second").output, "oops no\n");
        assert_eq!(log.scenario("third").rc, None);
        assert!(!log.completed);
    }

    #[test]
    fn final_marker_marks_completion() {
        let log = parse_console("=== SCENARIO a BEGIN\n=== SCENARIO a END rc=0\n=== GUEST DONE\n");
        assert!(log.completed);
        log.assert_clean();
    }

    #[test]
    fn warnings_oopses_and_leaks_are_problems() {
        let text = "\
[    2.0] ------------[ cut here ]------------
[    2.1] WARNING: CPU: 0 PID: 57 at kmod/x.c:3 f+0x1/0x2
[    3.0] BUG: KASAN: slab-out-of-bounds in f+0x10/0x20
[    4.0] unreferenced object 0xffff888003f0 (size 64):
[    5.0] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar
[    5.1] rcu: \tRCU lockdep checking is enabled.
[    5.2] INFO: lockdep is turned off.
[    6.0] binfmt_chkpt: registered
";
        let problems = kernel_problems(text);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("WARNING:"));
        assert!(problems[1].contains("KASAN"));
        assert!(problems[2].contains("unreferenced object"));
        assert!(problems[3].contains("lockdep is turned off"));
    }

    #[test]
    #[should_panic(expected = "kernel problems")]
    fn a_clean_looking_run_with_a_warning_fails() {
        let log = parse_console("[ 1.0] WARNING: CPU: 0 PID: 1 at x\n=== GUEST DONE\n");
        log.assert_clean();
    }

    #[test]
    fn a_user_process_fault_is_not_a_kernel_problem() {
        let user = "[  188.220293] traps: signals[1386] general protection fault ip:7ffd369942f2 sp:7ffd36993f50 error:0";
        let kernel = "[   12.1] Oops: general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP KASAN";
        assert!(kernel_problems(user).is_empty());
        assert_eq!(kernel_problems(kernel), vec![kernel]);
    }
}
