//! `migrate` and `receive` over loopback: a process that keeps writing its
//! memory is migrated while it runs and restored from the received image
//! (it checks every page against what it wrote); a connection broken at
//! any point leaves the source running, untraced and unfrozen, and the
//! receiver no image; a hostile peer gets a clean error naming what was
//! wrong. Needs root (ptrace of a process that is not our child).

mod common;
mod held;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use common::*;
use held::held;

/// A receiver started on a free loopback port; its stderr lines come
/// through `lines` as they are printed.
struct Recv {
    child: Child,
    addr: String,
    lines: Receiver<String>,
}

fn receiver(image: &Path, extra: &[&str], stdout: Stdio) -> Recv {
    let mut child = ckpt()
        .args(["receive", "--listen", "127.0.0.1:0", "--timeout", "60", "-o"])
        .arg(image)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the receiver");
    let err = child.stderr.take().expect("piped");
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let first = lines.recv_timeout(Duration::from_secs(60)).expect("the receiver says where it listens");
    let addr = first.strip_prefix("ckpt-writer: listening on ").unwrap_or_else(|| panic!("receiver said {first:?}")).to_string();
    Recv { child, addr, lines }
}

impl Recv {
    /// Waits for it to exit; returns its exit status and its stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        (status, self.lines.iter().collect::<Vec<_>>().join("\n"))
    }
}

fn migrate(pid: i32, addr: &str, extra: &[&str]) -> std::process::Output {
    ckpt().args(["migrate", &pid.to_string(), "--to", addr, "--timeout", "60"]).args(extra).stdin(Stdio::null()).output().unwrap()
}

/// Files left in a scratch directory (a temporary image would show).
fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

/// The target runs on as before: not traced, not stopped, no userfaultfd
/// of ours left in its fd table.
fn untouched(pid: i32) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("TracerPid:\t0\n"), "still traced:\n{status}");
    assert_ne!(proc_state(pid), Some('T'), "left stopped");
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let link = std::fs::read_link(fd.unwrap().path()).unwrap();
        assert!(!link.to_string_lossy().contains("userfaultfd"), "fd {link:?} left in the target");
    }
}

#[test]
fn a_writing_process_is_migrated_and_run_by_the_receiver() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    let want = baseline("dirtier", &["32", "8"]);
    // Pre-copy, and stop-and-copy (no rounds, no tracking: the path a
    // kernel without userfaultfd write protection takes).
    for (mode, extra) in [("pre-copy", &[][..]), ("stop-and-copy", &["--max-rounds", "0"][..])] {
        let dir = scratch(&format!("migrate-run-{mode}"));
        let image = dir.join("moved.ckpt");
        let (mut target, _gate) = held("dirtier", "1", &["32", "8"]);
        target.wait_line("waiting at 1");
        let restorer = test_support::tools::restorer();
        let mut recv = receiver(&image, &["--run", "--restorer", restorer.to_str().unwrap()], Stdio::piped());
        let out = migrate(target.pid(), &recv.addr, &[&["--json"][..], extra].concat());
        assert!(out.status.success(), "{mode}: migrate failed: {}", String::from_utf8_lossy(&out.stderr));
        let figures: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
        let image_pages = figures["image_pages"].as_u64().unwrap();
        let final_pages = figures["final_pages"].as_u64().unwrap();
        if mode == "pre-copy" {
            // 32 MiB written at 8 MiB/s while it is sent: pre-copy sent
            // all of it at least once and the final freeze only a part.
            assert!(figures["rounds"].as_u64().unwrap() >= 1, "{figures}");
            assert!(figures["precopy_pages"].as_u64().unwrap() >= 8192, "{figures}");
            assert!(final_pages < image_pages / 2, "{figures}");
            assert_eq!(figures["untracked_mappings"].as_u64(), Some(0), "{figures}");
        } else {
            assert_eq!(figures["rounds"].as_u64(), Some(0), "{figures}");
            assert_eq!(final_pages, image_pages, "{figures}");
            // The final state is the only layout: every page in place.
            assert_eq!(figures["receiver_in_place"].as_bool(), Some(true), "{figures}");
        }
        // The source is killed once the receiver has the image.
        let (status, _) = target.finish();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "{mode}: source {status:?}");
        // The receiver became the restored process: its stdin is at end
        // of file, so it goes on from its wait point, stops its writer
        // and checks every page against the generations it recorded.
        let mut stdout = String::new();
        recv.child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        let (status, err) = recv.finish();
        assert!(status.success(), "{mode}: restored run failed: {stdout}\n{err}");
        let lines: Vec<String> = stdout.lines().map(String::from).collect();
        assert_eq!(lines.last(), want.last(), "{mode}: restored output {lines:?}, uninterrupted {want:?}");
        // The image stays, complete and valid.
        let v = run_ckpt(&["verify", image.to_str().unwrap()]);
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
        assert_eq!(files_in(&dir), vec!["moved.ckpt".to_string()]);
    }
}


/// A relay between migrate and the receiver that, once the LAYOUT frame
/// (the provisional layout, sent when the tracking freeze ended) went
/// through, says so on `layout` and relays nothing more until `go` says
/// so. Meanwhile migrate sends its first round, more than the socket
/// buffers hold (checked by the caller), so it blocks in that round: the
/// caller acts on the running target before the final freeze, without a
/// timer.
fn relay(to: String) -> (String, Receiver<()>, std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let (layout_tx, layout) = channel();
    let (go, go_rx) = channel::<()>();
    let h = std::thread::spawn(move || {
        let (src, _) = l.accept().unwrap();
        let dst = TcpStream::connect(&to).unwrap();
        let (mut back_r, mut back_w) = (dst.try_clone().unwrap(), src.try_clone().unwrap());
        let back = std::thread::spawn(move || {
            let _ = std::io::copy(&mut back_r, &mut back_w);
            let _ = back_w.shutdown(std::net::Shutdown::Write);
        });
        let mut r = BufReader::new(src);
        let mut w = dst;
        loop {
            let mut h = [0u8; 5];
            r.read_exact(&mut h).expect("a frame header from migrate");
            let mut p = vec![0u8; u32::from_le_bytes(h[1..].try_into().unwrap()) as usize];
            r.read_exact(&mut p).expect("a frame from migrate");
            w.write_all(&h).unwrap();
            w.write_all(&p).unwrap();
            if h[0] == 8 {
                break;
            }
        }
        layout_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        let _ = std::io::copy(&mut r, &mut w);
        let _ = w.shutdown(std::net::Shutdown::Write);
        back.join().unwrap();
    });
    (addr, layout, go, h)
}

/// The most a loopback connection holds unread: the sender's and the
/// receiver's socket buffers at their largest.
fn socket_buffers_max() -> u64 {
    let max = |f: &str| -> u64 {
        let t = std::fs::read_to_string(format!("/proc/sys/net/ipv4/{f}")).unwrap();
        t.split_whitespace().last().unwrap().parse().unwrap()
    };
    max("tcp_wmem") + max("tcp_rmem")
}

/// Checks what `relay` relies on: a first round of `mib` MiB does not fit
/// in the socket buffers and migrate's 1 MiB write buffer.
fn first_round_blocks(mib: u64) {
    let held = socket_buffers_max() + (2 << 20);
    assert!(held < mib << 20, "{held} bytes of buffers could hold a first round of {mib} MiB");
}

/// Migrates `target` (held at wait point 1) with `--leave-stopped`,
/// `between` running after the tracking freeze and before the final one;
/// checks which way the receiver finished the image, that it holds what a
/// dump of the stopped source holds, page by page, and that it resumes
/// as an uninterrupted run ends.
fn migrated_like_a_dump(
    name: &str,
    target: &mut test_support::Target,
    between: impl FnOnce(&mut test_support::Target),
    in_place: bool,
    want: &[String],
) {
    let dir = scratch(&format!("migrate-like-dump-{name}"));
    let image = dir.join("moved.ckpt");
    let recv = receiver(&image, &[], Stdio::null());
    let (addr, layout, go, relayed) = relay(recv.addr.clone());
    let pid = target.pid();
    let m = std::thread::spawn(move || migrate(pid, &addr, &["--json", "--leave-stopped"]));
    layout.recv().expect("the relay saw the LAYOUT");
    between(target);
    go.send(()).unwrap();
    let out = m.join().unwrap();
    relayed.join().unwrap();
    assert!(out.status.success(), "{name}: migrate failed: {}", String::from_utf8_lossy(&out.stderr));
    let (status, err) = recv.finish();
    assert!(status.success(), "{name}: receiver failed: {err}");
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(figures["receiver_in_place"].as_bool(), Some(in_place), "{name}: {figures}\n{err}");
    let said = if in_place { "its pages written in place" } else { "its pages moved to their final places (the layout changed" };
    assert!(err.contains(said), "{name}: the receiver does not say {said:?}: {err}");
    assert!(figures["rounds"].as_u64().unwrap() >= 1, "{name}: {figures}");
    // The source was left stopped in the state the image holds.
    wait_stopped(pid);
    let dumped = dir.join("dumped.ckpt");
    dump(pid, &dumped, &["--leave-stopped"]);
    let (a, b) = (regions_of(&image), regions_of(&dumped));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{name}: regions differ");
    for ((start, (ka, pa)), (_, (kb, pb))) in a.iter().zip(&b) {
        assert_eq!(ka, kb, "{name}: region {start:#x}");
        assert_eq!(pa.keys().collect::<Vec<_>>(), pb.keys().collect::<Vec<_>>(), "{name}: stored pages of {ka}");
        for (i, page) in pa {
            assert!(page == &pb[i], "{name}: page {i} of {ka} differs");
        }
    }
    // It resumes from the migrated image as an uninterrupted run ends
    // (stdin at end of file: on past every wait point).
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    let restorer = test_support::tools::restorer();
    let run = std::process::Command::new(restorer).arg(&image).stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{name}: restored run failed ({}): {stdout}{}", run.status, String::from_utf8_lossy(&run.stderr));
    assert_eq!(stdout.lines().last(), want.last().map(String::as_str), "{name}: restored {stdout}, uninterrupted {want:?}");
}

#[test]
fn the_image_is_written_in_place_when_the_layout_holds() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    first_round_blocks(128);
    let want = baseline("dirtier", &["128", "8"]);
    let (mut target, _gate) = held("dirtier", "1", &["128", "8"]);
    target.wait_line("waiting at 1");
    migrated_like_a_dump("dirtier", &mut target, |_| {}, true, &want);
}

#[test]
fn the_pages_move_when_memory_was_mapped_between_rounds() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    first_round_blocks(128);
    let want = baseline("growmap", &["128"]);
    let (mut target, mut gate) = held("growmap", "1,2", &["128"]);
    target.wait_line("waiting at 1");
    // After the tracking freeze, it maps 1 MiB more and waits again.
    let between = |t: &mut test_support::Target| {
        gate.pass();
        t.wait_line("mapped");
        t.wait_line("waiting at 2");
    };
    migrated_like_a_dump("growmap", &mut target, between, false, &want);
}

/// A fake receiver: reads the stream and breaks it at `cut`.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// Closes after this many bytes of the stream (pre-copy pages).
    AfterBytes(usize),
    /// Answers the END with an ERROR frame.
    ErrorAtEnd,
    /// Answers the END with READY, then closes once COMMIT came.
    CloseAfterCommit,
    /// Answers the HELLO with bytes that are no frame at all.
    Garbage,
}

fn fake_receiver(cut: Cut) -> (String, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let frame = |r: &mut BufReader<TcpStream>| -> (u8, Vec<u8>) {
            let mut h = [0u8; 5];
            r.read_exact(&mut h).unwrap();
            let mut p = vec![0u8; u32::from_le_bytes(h[1..].try_into().unwrap()) as usize];
            r.read_exact(&mut p).unwrap();
            (h[0], p)
        };
        match cut {
            Cut::AfterBytes(n) => {
                let mut buf = vec![0u8; n];
                r.read_exact(&mut buf).unwrap();
            }
            Cut::Garbage => {
                frame(&mut r);
                s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n").unwrap();
                let _ = std::io::copy(&mut r, &mut std::io::sink());
            }
            Cut::ErrorAtEnd | Cut::CloseAfterCommit => {
                while frame(&mut r).0 != 5 {}
                if let Cut::ErrorAtEnd = cut {
                    let msg = b"disk full (fake receiver)";
                    s.write_all(&[18]).unwrap();
                    s.write_all(&(msg.len() as u32).to_le_bytes()).unwrap();
                    s.write_all(msg).unwrap();
                    let _ = std::io::copy(&mut r, &mut std::io::sink());
                } else {
                    s.write_all(&[16, 1, 0, 0, 0, 0]).unwrap();
                    assert_eq!(frame(&mut r).0, 6, "COMMIT after READY");
                }
            }
        }
    });
    (addr, h)
}

#[test]
fn a_connection_broken_at_any_point_leaves_the_source_running() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    let want = baseline("dirtier", &["16", "40"]);
    for (cut, said) in [
        (Cut::AfterBytes(1 << 20), "connection"),
        (Cut::ErrorAtEnd, "disk full (fake receiver)"),
        (Cut::CloseAfterCommit, "connection closed"),
        (Cut::Garbage, "unknown frame kind 72"),
    ] {
        let (mut target, mut gate) = held("dirtier", "1", &["16", "40"]);
        target.wait_line("waiting at 1");
        let (addr, fake) = fake_receiver(cut);
        let out = migrate(target.pid(), &addr, &[]);
        fake.join().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(8), "{cut:?}: migrate: {err}");
        assert!(err.contains(said), "{cut:?}: {err} does not say {said:?}");
        untouched(target.pid());
        // Its memory is whole: it checks every page and ends as an
        // uninterrupted run does.
        gate.pass();
        let (status, lines) = target.finish();
        assert!(status.success(), "{cut:?}: {lines:?}");
        assert_eq!(lines.last(), want.last(), "{cut:?}");
    }
}

#[test]
fn a_source_that_dies_mid_stream_leaves_no_image() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    let dir = scratch("migrate-cut");
    let image = dir.join("never.ckpt");
    let (target, _gate) = held("dirtier", "1", &["64", "0"]);
    let recv = receiver(&image, &[], Stdio::null());
    let mut m = ckpt()
        .args(["migrate", &target.pid().to_string(), "--to", &recv.addr, "-q"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the receiver has taken some of the stream: its first
    // round is 64 MiB, far from done when the receiver's temporary image
    // holds 1 MiB of pages.
    wait_for_pages_in_temp(&dir, 1 << 20);
    m.kill().unwrap();
    m.wait().unwrap();
    let (status, err) = recv.finish();
    assert_eq!(status.code(), Some(8), "the receiver: {err}");
    assert!(err.contains("connection closed") || err.contains("connection failed"), "{err}");
    assert!(files_in(&dir).is_empty(), "left behind: {:?}", files_in(&dir));
    // The dead migrate's tracking went with it.
    untouched(target.pid());
}

/// A relay between migrate and the receiver that breaks both connections
/// once `n` bytes went from migrate to the receiver.
fn cutter(to: String, n: u64) -> (String, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = std::thread::spawn(move || {
        let (src, _) = l.accept().unwrap();
        let dst = TcpStream::connect(&to).unwrap();
        let mut r = src.try_clone().unwrap().take(n);
        let mut w = dst.try_clone().unwrap();
        assert_eq!(std::io::copy(&mut r, &mut w).unwrap(), n, "migrate sent less than {n} bytes");
        let _ = src.shutdown(std::net::Shutdown::Both);
        let _ = dst.shutdown(std::net::Shutdown::Both);
    });
    (addr, h)
}

#[test]
fn a_connection_broken_mid_rounds_leaves_no_image_and_the_source_running() {
    skip_unless!(nix::unistd::geteuid().is_root(), "needs root (ptrace)");
    let want = baseline("dirtier", &["64", "8"]);
    let dir = scratch("migrate-broken-mid-rounds");
    let image = dir.join("never.ckpt");
    let (mut target, mut gate) = held("dirtier", "1", &["64", "8"]);
    target.wait_line("waiting at 1");
    let recv = receiver(&image, &[], Stdio::null());
    // 16 MiB into the first round of 64 MiB: pages are in the receiver's
    // temporary image already.
    let (addr, cut) = cutter(recv.addr.clone(), 16 << 20);
    let out = migrate(target.pid(), &addr, &[]);
    cut.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "migrate: {err}");
    assert!(err.contains("connection"), "{err}");
    let (status, rerr) = recv.finish();
    assert_eq!(status.code(), Some(8), "the receiver: {rerr}");
    assert!(rerr.contains("connection"), "{rerr}");
    assert!(files_in(&dir).is_empty(), "left behind: {:?}", files_in(&dir));
    untouched(target.pid());
    gate.pass();
    let (status, lines) = target.finish();
    assert!(status.success(), "{lines:?}");
    assert_eq!(lines.last(), want.last());
}

/// Waits until the receiver has put at least `n` bytes of pages into its
/// temporary image in `dir` (allocated blocks: the file is sparse until
/// every page came): an event, not a timer.
fn wait_for_pages_in_temp(dir: &Path, n: u64) {
    use std::os::unix::fs::MetadataExt;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let held: u64 = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.blocks() * 512)
            .sum();
        if held >= n {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the receiver holds only {held} bytes of pages: {:?}", files_in(dir));
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

/// The protocol version this build speaks (wire.rs).
const VERSION: u32 = 2;

fn hello(version: u32) -> Vec<u8> {
    let mut p = b"CKPTMIGR".to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    p.extend_from_slice(&4096u32.to_le_bytes());
    frame(1, &p)
}

#[test]
fn a_hostile_sender_gets_a_clean_error_and_leaves_no_image() {
    let mut pages = 0x1001u64.to_le_bytes().to_vec();
    pages.extend_from_slice(&[0u8; 4096]);
    let mut high = 0x7fff_ffff_f000u64.to_le_bytes().to_vec();
    high.extend_from_slice(&[0u8; 4096 * 2]);
    let mut huge = vec![2u8];
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("http", b"GET / HTTP/1.0\r\n\r\n".to_vec(), "unknown frame kind 71"),
        ("version", hello(9), "protocol version 9"),
        ("pages first", frame(2, &pages), "unexpected Pages frame"),
        ("unaligned", [hello(VERSION), frame(2, &pages)].concat(), "not page-aligned"),
        ("past user space", [hello(VERSION), frame(2, &high)].concat(), "not page-aligned user addresses"),
        ("huge frame", [hello(VERSION), huge].concat(), "Pages frame of bad length 4294967295"),
        ("bad state", [hello(VERSION), frame(4, &[4, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0])].concat(), "STATE image refused"),
        ("bad layout", [hello(VERSION), frame(8, &[4, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0])].concat(), "STATE image refused"),
        ("end before state", [hello(VERSION), frame(5, &[])].concat(), "unexpected End frame"),
        ("round out of order", [hello(VERSION), frame(3, &5u32.to_le_bytes())].concat(), "round 5 ended, expected round 0"),
        ("cut mid-frame", [hello(VERSION), frame(2, &[0u8; 4104])[..2000].to_vec()].concat(), "connection closed"),
    ];
    for (name, bytes, said) in cases {
        let dir = scratch(&format!("migrate-hostile-{}", name.replace(' ', "-")));
        let recv = receiver(&dir.join("x.ckpt"), &[], Stdio::null());
        let mut s = TcpStream::connect(&recv.addr).unwrap();
        // The receiver may close before reading it all: a write error is
        // part of the outcome, not of the test.
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let (status, err) = recv.finish();
        assert_eq!(status.code(), Some(8), "{name}: {err}");
        assert!(err.contains(said), "{name}: {err} does not say {said:?}");
        // The peer is told why, in an ERROR frame.
        assert_eq!(answer.first(), Some(&18u8), "{name}: answer {answer:?}");
        assert!(files_in(&dir).is_empty(), "{name}: left {:?}", files_in(&dir));
    }
}
