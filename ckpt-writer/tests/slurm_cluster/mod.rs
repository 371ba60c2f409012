//! A one-node Slurm cluster on this machine for a test: Debian's
//! slurm-wlm (22.05) and munge, installed with apt if missing; munged,
//! slurmctld and slurmd started as root with everything (config, munge key
//! and socket, state, spool, logs, pid files) in a temporary directory,
//! on two free localhost ports. `Drop` cancels the jobs, stops the daemons
//! and removes the directory, pass or fail.
//!
//! Plugins chosen to need nothing else of the machine: proctrack/linuxproc
//! (processes found by parentage, no cgroups), task/none, select/cons_tres,
//! no accounting. The scheduler runs every second (sched_interval=1, not
//! 60): a requeued job whose BeginTime the test moved starts within a
//! second of it. RequeueExit=99 makes a job that exits with the
//! supervisor's checkpoint status pending again (README, "Under a batch
//! scheduler").
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long the cluster may take to come up, and a job to change state.
pub const DEADLINE: Duration = Duration::from_secs(120);

pub struct Cluster {
    pub dir: PathBuf,
    conf: PathBuf,
    munge_socket: PathBuf,
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Installs slurm-wlm and munge with apt unless present (`make deps` does too).
pub fn install() {
    let missing: Vec<&str> = ["slurm-wlm", "munge"].into_iter().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return;
    }
    eprintln!("slurm test: installing {missing:?}");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {}", missing.join(" ")))
        .output()
        .expect("running apt-get");
    assert!(out.status.success(), "apt-get install {missing:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// Two distinct free localhost ports (both held while the second is chosen).
fn free_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

/// Runs `cmd`, panics with its output if it fails.
pub fn must(cmd: &mut Command) -> String {
    let out: Output = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed ({}): {}{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `f` until it gives Some, at most `DEADLINE`; `what()` names the
/// event (and what was seen, read when the wait failed).
pub fn until<T>(what: impl Fn() -> String, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {}", what());
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Cluster {
    /// Writes the configuration and starts munged, slurmctld and slurmd;
    /// returns once `sinfo` shows the node idle.
    pub fn start(dir: &Path) -> Cluster {
        let _ = std::fs::remove_dir_all(dir);
        for d in ["state", "spool", "munge"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
        let munge = dir.join("munge");
        let mut key = vec![0u8; 1024];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut key).unwrap();
        let key_file = munge.join("munge.key");
        std::fs::write(&key_file, key).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o400)).unwrap();
        std::fs::set_permissions(&munge, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cluster = Cluster { dir: dir.to_path_buf(), conf: dir.join("slurm.conf"), munge_socket: munge.join("munge.sock") };
        let d = dir.display();
        let (ctld_port, slurmd_port) = free_ports();
        let conf = format!(
            "ClusterName=ckpt\nSlurmctldHost={host}(127.0.0.1)\nSlurmUser=root\nSlurmdUser=root\n\
             SlurmctldPort={}\nSlurmdPort={}\nAuthType=auth/munge\nAuthInfo=socket={}\nCredType=cred/munge\n\
             StateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\nSlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n\
             SchedulerType=sched/builtin\nSchedulerParameters=sched_interval=1\nJobCompType=jobcomp/none\nJobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\nMpiDefault=none\nReturnToService=2\nKillWait=30\nRequeueExit=99\n\
             NodeName={host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\nPartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            ctld_port,
            slurmd_port,
            cluster.munge_socket.display()
        );
        std::fs::write(&cluster.conf, conf).unwrap();
        must(Command::new("munged")
            .arg("--force")
            .arg(format!("--socket={}", cluster.munge_socket.display()))
            .arg(format!("--key-file={}", key_file.display()))
            .arg(format!("--log-file={}/munged.log", munge.display()))
            .arg(format!("--pid-file={}/munged.pid", munge.display()))
            .arg(format!("--seed-file={}/munged.seed", munge.display())));
        must(cluster.cmd("slurmctld").arg("-f").arg(&cluster.conf));
        must(cluster.cmd("slurmd").arg("-f").arg(&cluster.conf));
        until(|| format!("sinfo to show the node idle:\n{}", cluster.logs()), || {
            let out = cluster.cmd("sinfo").args(["-h", "-o", "%T"]).output().ok()?;
            (String::from_utf8_lossy(&out.stdout).trim() == "idle").then_some(())
        });
        cluster
    }

    /// A Slurm command for this cluster.
    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// `sbatch --parsable SCRIPT` -> the job id.
    pub fn submit(&self, script: &Path) -> String {
        must(self.cmd("sbatch").arg("--parsable").arg(script)).trim().to_string()
    }

    /// One field of `scontrol show job ID` (e.g. JobState, ExitCode, Restarts).
    pub fn field(&self, job: &str, name: &str) -> String {
        let text = must(self.cmd("scontrol").args(["show", "job", job]));
        let key = format!("{name}=");
        text.split_whitespace().find_map(|w| w.strip_prefix(&key)).unwrap_or_else(|| panic!("no {name} in {text}")).to_string()
    }

    /// Waits until the job's state is `state`.
    pub fn wait_state(&self, job: &str, state: &str) {
        until(|| format!("job {job} to be {state}: {}", must(self.cmd("scontrol").args(["show", "job", job]))), || (self.field(job, "JobState") == state).then_some(()));
    }

    /// Lifts the delay Slurm puts before a requeued job may start again
    /// (its BeginTime, two minutes ahead) so the test does not wait it out:
    /// once the job is pending for it and the node is idle (its previous
    /// run has completed there), BeginTime is moved to two seconds ahead
    /// (not less: slurmd refuses to launch a job within the second of its
    /// kill, "Job N already killed, do not launch batch job"). Returns once
    /// the job runs for the `restarts`th time (its previous run may still be
    /// RUNNING when this is called).
    pub fn release(&self, job: &str, restarts: u32) {
        // When BeginTime was last moved: slurmctld may set it again while
        // it finishes the requeue, so a job still waiting for it 4 s later
        // gets it moved again.
        let mut moved: Option<Instant> = None;
        until(
            || format!("job {job} to run again: {}\n{}", must(self.cmd("scontrol").args(["show", "job", job])), self.logs()),
            || match (self.field(job, "JobState").as_str(), self.field(job, "Reason").as_str()) {
                ("RUNNING" | "COMPLETED", _) if self.field(job, "Restarts") == restarts.to_string() => Some(()),
                ("PENDING", "BeginTime") if moved.is_none_or(|t| t.elapsed() > Duration::from_secs(4)) && self.node_idle() => {
                    must(self.cmd("scontrol").args(["update", &format!("jobid={job}"), "starttime=now+2"]));
                    moved = Some(Instant::now());
                    None
                }
                _ => None,
            },
        );
    }

    /// Whether the node is idle (no job running or completing).
    fn node_idle(&self) -> bool {
        must(self.cmd("sinfo").args(["-h", "-o", "%T"])).trim() == "idle"
    }

    /// The daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        ["slurmctld.log", "slurmd.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!("--- {f} (end):\n{}\n", lines[lines.len().saturating_sub(40)..].join("\n"))
            })
            .collect()
    }

    fn stop_daemon(pid_file: &Path) {
        let Some(pid) = std::fs::read_to_string(pid_file).ok().and_then(|s| s.trim().parse::<i32>().ok()) else { return };
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Jobs first (their processes are slurmstepd's, not the daemons'),
        // then the daemons.
        let _ = self.cmd("scancel").args(["--user", "root"]).output();
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            match self.cmd("squeue").args(["-h", "-t", "all", "-o", "%T"]).output() {
                Ok(o) if o.status.success() && !String::from_utf8_lossy(&o.stdout).lines().any(|l| ["RUNNING", "COMPLETING", "CONFIGURING"].contains(&l.trim())) => break,
                Ok(_) => std::thread::sleep(Duration::from_millis(50)),
                Err(_) => break,
            }
        }
        Self::stop_daemon(&self.dir.join("slurmd.pid"));
        Self::stop_daemon(&self.dir.join("slurmctld.pid"));
        Self::stop_daemon(&self.dir.join("munge/munged.pid"));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
