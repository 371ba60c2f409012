//! ckpt-writer's own test helpers: running the binary under test, and
//! reading /proc independently of the code under test. The test programs,
//! the Target harness and the baselines are test-support's.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[allow(unused_imports)] // each test binary uses a part
pub use test_support::{baseline, deterministic, programs, scratch, skip_unless, Target};

/// The ckpt-writer binary under test.
pub fn ckpt() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ckpt-writer"))
}

/// Runs ckpt-writer with `args`.
pub fn run_ckpt(args: &[&str]) -> Output {
    ckpt().args(args).stdin(Stdio::null()).output().expect("running ckpt-writer")
}

/// Dumps `pid` into `file` with `extra` options; panics on failure.
pub fn dump(pid: i32, file: &Path, extra: &[&str]) {
    let mut args = vec!["dump".to_string(), pid.to_string(), "-o".into(), file.display().to_string(), "-q".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = ckpt().args(&args).output().unwrap();
    assert!(out.status.success(), "dump failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// `inspect --json` of an image.
pub fn inspect(file: &Path) -> Value {
    let out = run_ckpt(&["inspect", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "inspect failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("inspect --json output is JSON")
}

/// State letter of /proc/PID/stat.
pub fn proc_state(pid: i32) -> Option<char> {
    procfs::process::Process::new(pid).and_then(|p| p.stat()).ok().map(|s| s.state)
}

/// Asserts that process `pid` runs on after a dump let it go: running or
/// back asleep (just released, it may not have gone back to sleep yet),
/// never stopped, traced or gone.
pub fn assert_runs_on(pid: i32) {
    let state = proc_state(pid);
    assert!(matches!(state, Some('S' | 'R')), "pid {pid} runs on, not stopped: state {state:?}");
}

/// Waits until the process is in group stop ('T').
pub fn wait_stopped(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_state(pid) != Some('T') {
        assert!(Instant::now() < deadline, "pid {pid} did not stop: {:?}", proc_state(pid));
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends SIGCONT.
pub fn resume(pid: i32) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGCONT).unwrap();
}

/// One line of /proc/PID/maps as the tests see it.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct MapLine {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub path: String,
}

/// /proc/PID/maps without [vsyscall], read as raw text.
pub fn maps(pid: i32) -> Vec<MapLine> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    text.lines()
        .filter(|l| !l.ends_with("[vsyscall]"))
        .map(|l| {
            let f: Vec<&str> = l.splitn(6, ' ').collect();
            let (s, e) = f[0].split_once('-').unwrap();
            MapLine {
                start: u64::from_str_radix(s, 16).unwrap(),
                end: u64::from_str_radix(e, 16).unwrap(),
                perms: f[1].to_string(),
                path: f.get(5).map(|p| p.trim().to_string()).unwrap_or_default(),
            }
        })
        .collect()
}

/// Pages of a mapping that must be stored, computed from raw pagemap
/// entries: anonymous private: present or swapped; private file: present
/// and not file-backed (bit 61 clear) or swapped; [vdso]: all (kept for the
/// restorer to compare); [vvar] and shared file mappings: none; shared
/// anonymous: all.
pub fn expected_pages(pid: i32, m: &MapLine) -> u64 {
    use std::os::unix::fs::FileExt;
    let special = ["[vvar]", "[vvar_vclock]"].contains(&m.path.as_str());
    let shared = m.perms.as_bytes()[3] == b's';
    let pages = (m.end - m.start) / 4096;
    if m.path == "[vdso]" {
        return pages;
    }
    if special {
        return 0;
    }
    if shared {
        return if m.path.starts_with("/dev/zero") || m.path.starts_with("/SYSV") { pages } else { 0 };
    }
    let file = m.path.starts_with('/') && !m.path.ends_with("(deleted)");
    let f = std::fs::File::open(format!("/proc/{pid}/pagemap")).unwrap();
    let mut buf = vec![0u8; pages as usize * 8];
    f.read_exact_at(&mut buf, m.start / 4096 * 8).unwrap();
    buf.chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .filter(|e| {
            let present = e >> 63 & 1 == 1;
            let swapped = e >> 62 & 1 == 1;
            let file_page = e >> 61 & 1 == 1;
            swapped || (present && (!file || !file_page))
        })
        .count() as u64
}

/// Checks an image's regions against /proc/PID/maps and pagemap of the
/// (stopped) process.
pub fn check_regions_match(pid: i32, img: &Value) {
    let maps = maps(pid);
    let regions = img["regions"].as_array().unwrap();
    assert_eq!(regions.len(), maps.len(), "region count differs from /proc/{pid}/maps");
    for (r, m) in regions.iter().zip(&maps) {
        assert_eq!((r["start"].as_u64().unwrap(), r["end"].as_u64().unwrap()), (m.start, m.end), "{m:?}");
        assert_eq!(r["prot"].as_str().unwrap(), &m.perms[..3], "{m:?}");
        assert_eq!(r["shared"].as_bool().unwrap(), m.perms.as_bytes()[3] == b's', "{m:?}");
        if m.path.starts_with('/') && !m.path.ends_with("(deleted)") {
            assert_eq!(r["path"].as_str().unwrap(), m.path, "{m:?}");
        }
        let want = expected_pages(pid, m);
        assert_eq!(r["stored_pages"].as_u64().unwrap(), want, "stored pages of {m:?}");
    }
}

/// Registers of the thread `tid` in an image.
pub fn thread<'a>(img: &'a Value, tid: i32) -> &'a Value {
    img["threads"].as_array().unwrap().iter().find(|t| t["tid"] == tid).expect("thread in image")
}

/// Dumps with --leave-stopped, checks regions against /proc while the
/// process is stopped, resumes it, and returns the image JSON.
pub fn dump_stopped_and_check(t: &Target, file: &Path) -> Value {
    let pid = t.pid();
    dump(pid, file, &["--leave-stopped"]);
    wait_stopped(pid);
    let img = inspect(file);
    check_regions_match(pid, &img);
    resume(pid);
    img
}

/// Every region of an image with its stored pages (page index -> bytes),
/// the bytes of every thread's rseq area set to zero: the kernel keeps the
/// cpu and mm-cid fields there up to date whenever the thread returns to
/// user mode, so two dumps of a process that did not run may differ there.
#[allow(clippy::type_complexity)]
pub fn regions_of(file: &Path) -> std::collections::BTreeMap<u64, (String, std::collections::BTreeMap<u64, Vec<u8>>)> {
    use std::collections::BTreeMap;
    let bytes = std::fs::read(file).unwrap();
    let img = image_format::Image::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {}", file.display(), e.name()));
    let rseq: Vec<(u64, u64)> = img.threads().map(|t| (t.state.rseq.addr, u64::from(t.state.rseq.len))).collect();
    let mut out = BTreeMap::new();
    for r in img.regions() {
        let key = format!("{:#x}-{:#x} prot {} kind {:?} flags {} path {:?}", r.start, r.end, r.prot, r.kind, r.flags, String::from_utf8_lossy(img.string(r.path)));
        let mut pages = BTreeMap::new();
        for run in img.page_runs(&r) {
            for i in 0..run.page_count {
                let at = (run.file_offset + i * 4096) as usize;
                let mut page = bytes[at..at + 4096].to_vec();
                let addr = r.start + (run.page_index + i) * 4096;
                for &(a, len) in &rseq {
                    for b in a.max(addr)..(a + len).min(addr + 4096) {
                        page[(b - addr) as usize] = 0;
                    }
                }
                pages.insert(run.page_index + i, page);
            }
        }
        out.insert(r.start, (key, pages));
    }
    out
}
