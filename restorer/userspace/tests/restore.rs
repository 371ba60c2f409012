//! Real processes on this machine's kernel, dumped with ckpt-writer,
//! killed, and restored by running the image (binfmt_misc with the
//! userspace restorer, registered under a unique name and always removed)
//! or `ckpt-restore IMAGE`; each output compared with an uninterrupted run.
//! Needs root (binfmt_misc); says so and skips otherwise (fails with
//! CKPT_REQUIRE_ALL=1).

mod common;
mod held;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use held::{held, held_command, restored_held};

/// How the image is restored.
#[derive(Clone, Copy)]
enum Via {
    Binfmt,
    Direct,
    /// binfmt_misc, as on kernels that refuse PR_SET_MM_MAP: the
    /// restorer's own brk and mm fields stay (src/brk.rs).
    BinfmtNoMmMap,
}

fn restore_cmd(image: &Path, via: Via) -> std::process::Command {
    match via {
        Via::Binfmt => exec_image(image),
        Via::Direct => run_restorer(image),
        Via::BinfmtNoMmMap => {
            let mut cmd = exec_image(image);
            cmd.env("CKPT_RESTORE_NO_MM_MAP", "1");
            cmd
        }
    }
}

/// Starts `prog args`, dumps and kills it while it waits at step `at`,
/// restores it (stdin at end of file: it goes on at once), and checks the
/// joined output against a run of `prog base` (the same work without
/// sleeps). Returns the image.
fn roundtrip(test: &str, prog: &str, args: &[&str], base: &[&str], at: &str, via: Via) -> PathBuf {
    let dir = scratch(test);
    let want = baseline(prog, base);
    let (t, _gate) = held(prog, at, args);
    let image = dir.join("saved.ckpt");
    let mut all = dump_kill(t, &image);
    let (st, after) = Target::spawn(restore_cmd(&image, via)).finish();
    assert!(st.success(), "restored {prog} ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want, "{prog}: restored output differs from an uninterrupted run");
    image
}

#[test]
fn counter_through_binfmt_misc() {
    let _b = skip_unless!(binfmt_entry());
    roundtrip("counter", "counter", &["600", "2000"], &["600", "0"], "200", Via::Binfmt);
}

#[test]
fn counter_with_ckpt_restore_directly() {
    roundtrip("counter-direct", "counter", &["600", "2000"], &["600", "0"], "200", Via::Direct);
}

#[test]
fn same_image_twice() {
    let _b = skip_unless!(binfmt_entry());
    let image = roundtrip("twice", "counter", &["500", "2000"], &["500", "0"], "100", Via::Binfmt);
    // The first run's lines up to the dump are not repeated: compare the
    // second restore's lines with the tail of an uninterrupted run.
    let want = baseline("counter", &["500", "0"]);
    let (st, again) = Target::spawn(exec_image(&image)).finish();
    assert!(st.success());
    let again = deterministic(&again);
    assert!(!again.is_empty() && want.ends_with(&again), "second restore: {again:?}");
}

#[test]
fn malloc_after_restore_static() {
    let _b = skip_unless!(binfmt_entry());
    roundtrip("heapgrow", "heapgrow", &["600", "2000"], &["600", "0"], "100", Via::Binfmt);
}

#[test]
fn malloc_after_restore_dynamic() {
    let _b = skip_unless!(binfmt_entry());
    roundtrip("heapgrow-dyn", "heapgrow-dynamic", &["600", "2000"], &["600", "0"], "100", Via::Binfmt);
}

#[test]
fn malloc_after_restore_without_mm_map() {
    let _b = skip_unless!(binfmt_entry());
    roundtrip("heapgrow-dyn-nomm", "heapgrow-dynamic", &["600", "2000"], &["600", "0"], "100", Via::BinfmtNoMmMap);
    roundtrip("dynamic-nomm", "dynamic", &["800", "2000"], &["800", "0"], "200", Via::BinfmtNoMmMap);
}

#[test]
fn static_image_refused_where_pr_set_mm_map_is() {
    // A static program's break lies below the restorer's: without
    // PR_SET_MM_MAP its malloc would be lied to (src/brk.rs), so refused.
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("static-nomm");
    let (t, _gate) = held("heapgrow", "100", &["600", "2000"]);
    let image = dir.join("saved.ckpt");
    dump_kill(t, &image);
    let out = restore_cmd(&image, Via::BinfmtNoMmMap).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("brk-below-restorer"), "{stderr}");
}

/// /proc/PID/stat fields 26-28 (start_code, end_code, start_stack) and
/// 45-51 (start_data .. env_end) and the command line.
fn mm_fields(pid: i32) -> (Vec<String>, Vec<u8>) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the comm, which may hold spaces: field 3 is the first.
    let rest: Vec<String> = stat.rsplit_once(") ").unwrap().1.split(' ').map(String::from).collect();
    let pick = |n: usize| rest[n - 3].clone();
    let fields = [26, 27, 28, 45, 46, 47, 48, 49, 50, 51].into_iter().map(pick).collect();
    (fields, std::fs::read(format!("/proc/{pid}/cmdline")).unwrap())
}

#[test]
fn mm_layout_and_command_line_are_the_images() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("mm");
    let (t, _gate) = held("counter", "100,200", &["2000", "2000"]);
    let before = mm_fields(t.pid());
    let image = dir.join("saved.ckpt");
    dump_kill(t, &image);
    let (restored, _gate) = restored_held(exec_image(&image), "200");
    assert_eq!(mm_fields(restored.pid()), before, "PR_SET_MM_MAP applied the image's layout");
}

#[test]
fn eight_threads() {
    let _b = skip_unless!(binfmt_entry());
    roundtrip("threads8", "threads8", &["2000", "1000"], &["2000", "0"], "2", Via::Binfmt);
}

#[test]
fn registers_and_ymm() {
    let _b = skip_unless!(binfmt_entry());
    // Dumped inside the register loop: let past the wait point before
    // round 1, it cannot end before the one before round 5.
    let dir = scratch("regs");
    let want = baseline("regs", &["7", "6", "40000000"]);
    let (t, mut gate) = held("regs", "1,5", &["7", "6", "40000000"]);
    gate.pass();
    let image = dir.join("saved.ckpt");
    let mut all = dump_kill(t, &image);
    let (st, after) = Target::spawn(exec_image(&image)).finish();
    assert!(st.success(), "restored regs ended with {st:?}: {after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want, "regs: restored output differs from an uninterrupted run");
}

#[test]
fn dynamic_glibc() {
    let _b = skip_unless!(binfmt_entry());
    roundtrip("dynamic", "dynamic", &["800", "2000"], &["800", "0"], "200", Via::Binfmt);
    roundtrip("counter-dynamic", "counter-dynamic", &["800", "2000"], &["800", "0"], "200", Via::Binfmt);
}

#[test]
fn files_at_offsets() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("files");
    let (reference, run) = (dir.join("ref"), dir.join("run"));
    std::fs::create_dir_all(&reference).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    let want = baseline("files", &[reference.to_str().unwrap(), "600", "0"]);
    let (t, _gate) = held("files", "200", &[run.to_str().unwrap(), "600", "2000"]);
    let image = dir.join("saved.ckpt");
    let mut all = dump_kill(t, &image);
    let (st, after) = Target::spawn(exec_image(&image)).finish();
    assert!(st.success(), "{after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want);
    for f in ["output.txt", "append.log"] {
        assert_eq!(std::fs::read(reference.join(f)).unwrap(), std::fs::read(run.join(f)).unwrap(), "{f}");
    }
}

fn sigrtmin(pid: i32) {
    // SIGRTMIN is 34 from outside glibc (glibc keeps 32 and 33).
    let st = std::process::Command::new("kill").args(["-34", &pid.to_string()]).status().unwrap();
    assert!(st.success());
}

#[test]
fn signal_handlers_mask_altstack() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("signals");
    let (mut reference, mut gate) = held("signals", "200,500", &["1500", "2000"]);
    gate.pass();
    reference.wait_prefix("waiting at 500");
    (0..3).for_each(|_| sigrtmin(reference.pid()));
    gate.open();
    let (st, ref_lines) = reference.finish();
    assert!(st.success());
    let want = deterministic(&ref_lines);

    let (t, _gate) = held("signals", "200,500", &["1500", "2000"]);
    let image = dir.join("saved.ckpt");
    let mut all = dump_kill(t, &image);
    let (restored, mut gate) = restored_held(exec_image(&image), "500");
    (0..3).for_each(|_| sigrtmin(restored.pid()));
    gate.open();
    let (st, after) = restored.finish();
    assert!(st.success(), "{after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want);
    assert!(all.iter().any(|l| l == "rt_count 3"));
}

fn rss_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn bigmem_256_mib_with_holes_mapped_lazily() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("bigmem");
    let want = baseline("bigmem", &["256", "200", "0"]);
    let (t, _gate) = held("bigmem", "10,30", &["256", "200", "50000"]);
    let image = dir.join("saved.ckpt");
    let mut all = dump_kill(t, &image);
    let start = Instant::now();
    let (restored, mut gate) = restored_held(exec_image(&image), "30");
    eprintln!("bigmem: restored and 20 steps in {:?}", start.elapsed());
    let pid = restored.pid();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    assert!(maps.contains("saved.ckpt"), "stored pages are mapped from the image");
    let rss = rss_kib(pid);
    eprintln!("bigmem: resident 20 steps after restore: {rss} KiB");
    assert!(rss < 128 * 1024, "restore read the whole image: {rss} KiB resident");
    gate.open();
    let (st, after) = restored.finish();
    assert!(st.success());
    all.extend(after);
    assert_eq!(deterministic(&all), want);
}

#[test]
fn dump_of_a_restored_process_restored_after_first_image_deleted() {
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("again");
    let want = baseline("counter", &["1500", "0"]);
    let (t, _gate) = held("counter", "200,600", &["1500", "2000"]);
    let first = dir.join("first.ckpt");
    let mut all = dump_kill(t, &first);
    let (restored, _gate) = restored_held(exec_image(&first), "600");
    let second = dir.join("second.ckpt");
    all.extend(dump_kill(restored, &second));
    // Memory mapped from the first image is stored in the second, never
    // referenced by path.
    let inspect = std::process::Command::new(writer()).arg("inspect").arg(&second).output().unwrap();
    assert!(inspect.status.success());
    assert!(!String::from_utf8_lossy(&inspect.stdout).contains("first.ckpt"));
    std::fs::remove_file(&first).unwrap();
    let (st, after) = Target::spawn(exec_image(&second)).finish();
    assert!(st.success(), "{after:?}");
    all.extend(after);
    assert_eq!(deterministic(&all), want);
}

#[test]
fn restoring_256_mib_does_not_read_the_image() {
    // Not a benchmark (see `make bench-userspace`): restoring a 256 MiB
    // image must not read it, so it must take far less than reading it.
    let _b = skip_unless!(binfmt_entry());
    let dir = scratch("fast");
    let mut t = Target::program("bigmem", &["256", "100000", "50000"]);
    t.wait_prefix("step 2");
    let image = dir.join("saved.ckpt");
    dump_kill(t, &image);
    let start = Instant::now();
    let mut restored = Target::spawn(exec_image(&image));
    restored.wait_prefix("step");
    let took = start.elapsed();
    eprintln!("256 MiB image restored and stepping after {took:?}");
    assert!(took < Duration::from_secs(5));
}

fn status_lines(pid: i32) -> Vec<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .filter(|l| ["Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapAmb:"].iter().any(|k| l.starts_with(k)))
        .map(String::from)
        .collect()
}

#[test]
fn a_user_restores_with_exactly_their_own_credentials() {
    let _b = skip_unless!(binfmt_entry());
    // Under /tmp so that uid 1000 reaches the image, the program and the cwd.
    let dir = std::env::temp_dir().join(format!("ckpt-restore-user-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let prog = dir.join("counter");
    copy_program(&programs().join("counter"), &prog);
    let as_user = |cmd: &Path| {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid", "1000", "--regid", "1000", "--clear-groups", "--inh-caps=-all"]).arg(cmd).current_dir(&dir);
        c
    };
    let want = baseline("counter", &["600", "0"]);
    let mut user_counter = as_user(&prog);
    // Not the test's own stderr: that may be a root-owned log file (CI),
    // which the user could not reopen, and the restore is rightly refused.
    user_counter.args(["--wait-at", "200,400", "600", "2000"]).stderr(std::process::Stdio::null());
    let (t, _gate) = held_command(user_counter, "200");
    let image = dir.join("saved.ckpt");
    let mut all = dump_kill(t, &image);
    let (restored, mut gate) = restored_held(as_user(&PathBuf::from("./saved.ckpt")), "400");
    // setpriv exec'd the image: its pid is the restored process.
    let lines = status_lines(restored.pid());
    assert!(lines.contains(&"Uid:\t1000\t1000\t1000\t1000".to_string()), "{lines:?}");
    assert!(lines.contains(&"Gid:\t1000\t1000\t1000\t1000".to_string()), "{lines:?}");
    assert!(lines.contains(&"CapEff:\t0000000000000000".to_string()), "{lines:?}");
    assert!(lines.contains(&"CapPrm:\t0000000000000000".to_string()), "{lines:?}");
    gate.open();
    let (st, after) = restored.finish();
    assert!(st.success());
    all.extend(after);
    assert_eq!(deterministic(&all), want);
    let _ = std::fs::remove_dir_all(&dir);
}
