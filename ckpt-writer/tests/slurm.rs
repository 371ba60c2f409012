//! Issue 17 under a real Slurm (slurm_cluster/): a batch job runs a counter
//! under `ckpt-writer run`; it is preempted (`scontrol requeue`: Slurm
//! signals every process of the job at once) or warned (the signal
//! `--signal=B:USR1@N` sends to the batch shell, here sent at once with
//! `scancel --batch --signal=USR1`; the supervisor exits 99, which
//! RequeueExit=99 requeues), started again by Slurm, and must go on where
//! it stopped: the job's output is the uninterrupted run's, no step lost or
//! repeated, and the job ends COMPLETED with exit code 0. The figures of
//! every checkpoint and restore are printed (eprintln) for the record.

mod common;
mod slurm_cluster;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::*;
use slurm_cluster::{install, must, until, Cluster};

/// Steps and microseconds per step: about 8 s of work, a line every 100 steps.
const STEPS: &str = "30000";
const SLEEP_US: &str = "200";

/// The state of the job's processes (counter, ckpt-writer, ckpt-restore),
/// for failure messages.
fn processes() -> String {
    let mut out = String::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let p = e.path();
        let comm = read(&p.join("comm"));
        if ["counter", "ckpt-writer", "ckpt-restore"].contains(&comm.trim()) {
            let status = read(&p.join("status"));
            let keep: Vec<&str> = status.lines().filter(|l| ["State", "PPid", "TracerPid", "SigPnd", "ShdPnd", "SigBlk"].iter().any(|k| l.starts_with(k))).collect();
            out += &format!("\n{} {}: {} wchan {} syscall {}", p.display(), comm.trim(), keep.join(", "), read(&p.join("wchan")), read(&p.join("syscall")).trim());
        }
    }
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// A job of the cluster: its script, output, error and checkpoint dir.
struct Job<'a> {
    cluster: &'a Cluster,
    id: String,
    out: PathBuf,
    err: PathBuf,
    ckpt: PathBuf,
}

impl<'a> Job<'a> {
    fn submit(cluster: &'a Cluster, name: &str) -> Job<'a> {
        let d = cluster.dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        let (out, err, ckpt) = (d.join("job.out"), d.join("job.err"), d.join("ckpt"));
        let writer = test_support::tools::writer();
        let restorer = test_support::tools::restorer();
        let counter = programs().join("counter");
        let script = format!(
            "#!/bin/sh\n#SBATCH --requeue\n#SBATCH --open-mode=append\n#SBATCH --signal=B:USR1@60\n\
             #SBATCH --output={}\n#SBATCH --error={}\n\
             echo \"start $SLURM_RESTART_COUNT\" >&2\n\
             exec {} run --dir {} --on-signal TERM,USR1 --restorer {} -- {} {STEPS} {SLEEP_US}\n",
            out.display(),
            err.display(),
            writer.display(),
            ckpt.display(),
            restorer.display(),
            counter.display()
        );
        let path = d.join("job.sh");
        std::fs::write(&path, script).unwrap();
        let id = cluster.submit(&path);
        Job { cluster, id, out, err, ckpt }
    }

    /// Waits until the output has a line "step N ...".
    fn wait_step(&self, n: u32) {
        let want = format!("step {n} ");
        until(|| format!("job {} to print step {n}; err: {}", self.id, read(&self.err)), || read(&self.out).lines().any(|l| l.starts_with(&want)).then_some(()));
    }

    /// Waits for checkpoint `n` to be reported and the job to be pending
    /// again, releases it, and measures its restore: from the supervisor's
    /// "restoring" line to the output growing (polled every 10 ms; an upper
    /// bound, the counter prints every 100 steps).
    fn requeued(&self, n: u32) {
        let tag = format!("checkpoint {n} (");
        let line = until(|| format!("checkpoint {n} of job {}; err: {}", self.id, read(&self.err)), || {
            read(&self.err).lines().find(|l| l.contains(&tag)).map(String::from)
        });
        let frozen = read(&self.err).lines().filter(|l| l.contains("frozen")).nth(n as usize - 1).map(String::from).unwrap_or_default();
        eprintln!("slurm job {}: {line}\nslurm job {}: {frozen}", self.id, self.id);
        assert!(line.contains("job stopped"), "{line}");
        let size = read(&self.out).len();
        self.cluster.release(&self.id, n);
        let restoring = until(|| format!("restore {n} of job {} to start; err: {}\n{}", self.id, read(&self.err), self.cluster.logs()), || {
            read(&self.err).lines().filter(|l| l.contains("restoring")).nth(n as usize - 1).map(String::from)
        });
        let t = Instant::now();
        until(|| format!("output of job {} after restore {n}; err: {}; processes: {}", self.id, read(&self.err), processes()), || (read(&self.out).len() > size).then_some(()));
        eprintln!("slurm job {}: {restoring}; output again within {:.1} ms of that line", self.id, t.elapsed().as_secs_f64() * 1000.0);
    }

    /// Waits for the end: COMPLETED, exit code 0, output continuous.
    fn finished(&self, restarts: u32) {
        self.cluster.wait_state(&self.id, "COMPLETED");
        assert_eq!(self.cluster.field(&self.id, "ExitCode"), "0:0");
        assert_eq!(self.cluster.field(&self.id, "Restarts"), restarts.to_string());
        let lines: Vec<String> = read(&self.out).lines().map(String::from).collect();
        assert_eq!(deterministic(&lines), baseline("counter", &[STEPS, "0"]), "job {}'s output is not continuous; err: {}", self.id, read(&self.err));
        let left: Vec<_> = std::fs::read_dir(&self.ckpt).unwrap().collect();
        assert!(left.is_empty(), "a finished job left images: {left:?}");
    }
}

#[test]
fn jobs_requeued_by_slurm_resume_where_they_stopped() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (slurmd, ptrace)");
    install();
    // Built before the clock starts: the jobs' commands.
    let _ = (test_support::tools::writer(), programs());
    let cluster = Cluster::start(&scratch("slurm"));

    // Preempted once, without warning: SIGTERM to every process.
    let a = Job::submit(&cluster, "requeue-once");
    a.wait_step(5000);
    must(cluster.cmd("scontrol").args(["requeue", &a.id]));
    a.requeued(1);
    a.finished(1);

    // Warned (the supervisor alone gets USR1 and exits 99: RequeueExit),
    // then preempted without warning.
    let b = Job::submit(&cluster, "requeue-twice");
    b.wait_step(5000);
    must(cluster.cmd("scancel").args(["--batch", "--signal=USR1", &b.id]));
    b.requeued(1);
    b.wait_step(15000);
    must(cluster.cmd("scontrol").args(["requeue", &b.id]));
    b.requeued(2);
    b.finished(2);
}
