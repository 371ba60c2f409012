//! The JVM as a user runs it: a Java program (launched from its source
//! file, as `java Jobs.java` does) with a thread pool, a scheduled timer,
//! a concurrent map and a garbage collection, dumped while its main thread
//! waits for stdin and restored by ckpt-restore and through binfmt_misc;
//! each restored run must print what an uninterrupted run prints. The JVM
//! brings what the small test programs do not: some twenty threads, its
//! SIGSEGV-based safepoints and null checks, a shared mapping of its
//! hsperfdata file, code it generated at run time. Needs root (ptrace).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use common::*;

const JOBS: &str = r#"
import java.io.*;
import java.util.*;
import java.util.concurrent.*;

public class Jobs {
    static long work(int n) {
        long s = 0;
        for (int i = 0; i < 300000; i++) s += (i ^ n) % 7;
        return s;
    }

    static long round(ExecutorService pool, int from, Map<Integer, Long> done) throws Exception {
        List<Future<Long>> fs = new ArrayList<>();
        for (int i = from; i < from + 8; i++) {
            final int n = i;
            fs.add(pool.submit(() -> { long r = work(n); done.put(n, r); return r; }));
        }
        long sum = 0;
        for (Future<Long> f : fs) sum += f.get();
        return sum;
    }

    public static void main(String[] args) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        Map<Integer, Long> done = new ConcurrentHashMap<>();
        StringBuilder garbage = new StringBuilder();
        for (int i = 0; i < 20000; i++) garbage.append(i % 10);
        System.out.println("before " + round(pool, 0, done) + " " + garbage.length());
        System.out.println("waiting at 1");
        System.out.flush();
        String go = new BufferedReader(new InputStreamReader(System.in)).readLine();
        CountDownLatch ticks = new CountDownLatch(3);
        ScheduledFuture<?> t = timer.scheduleAtFixedRate(ticks::countDown, 0, 5, TimeUnit.MILLISECONDS);
        long after = round(pool, 8, done);
        ticks.await();
        t.cancel(false);
        System.gc();
        long total = 0;
        for (long v : done.values()) total += v;
        System.out.println("after " + after + " ticks done, go " + go + ", " + done.size() + " jobs, total " + total);
        pool.shutdown();
        timer.shutdown();
        System.out.println("pool stopped " + pool.awaitTermination(10, TimeUnit.SECONDS));
    }
}
"#;

/// `java Jobs.java` in `dir`, with pipes on stdin and stdout, once it
/// printed its first line and "waiting at 1"; also that first line.
fn held(java: &Path, dir: &Path) -> (Child, BufReader<ChildStdout>, String) {
    let mut child = Command::new(java)
        .arg("Jobs.java")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn java");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut head = String::new();
    while !head.ends_with("waiting at 1\n") {
        let n = out.read_line(&mut head).unwrap();
        assert!(n > 0, "java ended before its wait point: {head:?}");
    }
    (child, out, head)
}

#[test]
fn a_java_program_with_threads_and_a_timer_goes_on() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let java = Path::new("/usr/bin/java");
    skip_unless!(java.exists(), "no {} (scripts/deps.sh installs default-jdk-headless)", java.display());
    let dir = scratch("jvm-jobs");
    std::fs::write(dir.join("Jobs.java"), JOBS).unwrap();

    let (child, out, head) = held(java, &dir);
    let want = go_ok(child, out);
    assert!(want.starts_with("after ") && want.contains("16 jobs") && want.ends_with("pool stopped true\n"), "{want}");

    let _entry = skip_unless!(binfmt_entry());
    for how in ["ckpt-restore", "binfmt_misc"] {
        let (mut child, _out, head_dumped) = held(java, &dir);
        assert_eq!(head_dumped, head, "the runs differ before the dump");
        let image = dir.join(format!("jobs-{how}.ckpt"));
        dump_child_kill(&mut child, &image);
        let mut cmd = if how == "ckpt-restore" { run_restorer(&image) } else { exec_image(&image) };
        let mut restored = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let out = BufReader::new(restored.stdout.take().unwrap());
        let (got, status) = go(restored, out);
        assert!(status.success(), "restored by {how}: {status:?}, stdout {got:?}");
        assert_eq!(got, want, "restored by {how}");
    }
}
