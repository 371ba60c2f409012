//! Established TCP connections carried with TCP_REPAIR through
//! ckpt-restore (`--tcp-established=repair`): test-programs/tcpconv talks
//! to a server this test runs itself, outside the image. The client is
//! dumped (and killed) with the server's greeting in its receive queue,
//! restored, and the conversation goes on: both byte streams are exactly
//! those of an uninterrupted run. A dump that lets the target go on
//! leaves the connection as it was; a restore without CAP_NET_ADMIN is
//! refused before the point of no return, naming the fd. Needs root
//! (ptrace, TCP_REPAIR).

mod common;

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use common::*;

const GREETING: usize = 50_000;
const ROUNDS: usize = 10;
const BLOCK: usize = 3000;

/// The test's server: what it received, or what went wrong.
type Server = JoinHandle<Result<Vec<u8>, String>>;

fn pattern(k: usize) -> u8 {
    (k * 7 + k / 251) as u8
}

/// The server's side: reads the client's hello, sends the greeting,
/// echoes each block + 1, reads "bye" and the end of file, closes. All it
/// received, or what went wrong.
fn serve(listener: TcpListener) -> Server {
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        let mut got = Vec::new();
        let take = |s: &mut TcpStream, n: usize, got: &mut Vec<u8>| -> Result<Vec<u8>, String> {
            let mut b = vec![0u8; n];
            s.read_exact(&mut b).map_err(|e| format!("server read of {n} bytes after {}: {e}", got.len()))?;
            got.extend_from_slice(&b);
            Ok(b)
        };
        take(&mut s, 13, &mut got)?;
        let greeting: Vec<u8> = (0..GREETING).map(pattern).collect();
        s.write_all(&greeting).map_err(|e| format!("greeting: {e}"))?;
        for _ in 0..ROUNDS {
            let block = take(&mut s, BLOCK, &mut got)?;
            let back: Vec<u8> = block.iter().map(|b| b.wrapping_add(1)).collect();
            s.write_all(&back).map_err(|e| format!("echo: {e}"))?;
        }
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).map_err(|e| format!("server reading to the end: {e}"))?;
        got.extend_from_slice(&rest);
        Ok(got)
    })
}

/// A server on 127.0.0.1 and tcpconv connected to it, held at its dump
/// point.
fn start() -> (Server, Child, BufReader<ChildStdout>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let server = serve(listener);
    // stderr /dev/null: the unprivileged restore below must meet the
    // connection, not a root-owned file the test's stderr may be.
    let (child, out, head) = held_at_with_stderr("tcpconv", 1, &[&port], Stdio::null());
    assert_eq!(head, "connected, greeting queued\nwaiting at 1\n");
    (server, child, out)
}

/// What the client printed and what the server received, uninterrupted.
fn uninterrupted() -> (String, Vec<u8>) {
    let (server, child, out) = start();
    let (text, status) = go(child, out);
    assert!(status.success() && text.ends_with("result ok\n"), "uninterrupted: {text}");
    (text, server.join().unwrap().expect("server, uninterrupted"))
}

#[test]
fn an_established_connection_goes_on_after_the_restore() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace, TCP_REPAIR)");
    let dir = scratch("tcp-repair");
    let (want_text, want_bytes) = uninterrupted();
    assert_eq!(want_bytes.len(), 13 + ROUNDS * BLOCK + 4);

    // Refused by default, the target going on untouched.
    let (server, child, out) = start();
    let image = dir.join("saved.ckpt");
    let (ok, err) = dump_with(child.id(), &image, &[]);
    assert!(!ok && err.contains("fd 3") && err.contains("--tcp-established=repair"), "{err}");
    assert!(!image.exists());
    let (text, status) = go(child, out);
    assert!(status.success(), "{text}");
    assert_eq!((text, server.join().unwrap().expect("server")), (want_text.clone(), want_bytes.clone()));

    // Dumped in repair mode without --kill: the target goes on as if
    // nothing happened (repair mode left without a window probe).
    let (server, child, out) = start();
    let (ok, err) = dump_with(child.id(), &image, &["--tcp-established=repair"]);
    assert!(ok, "{err}");
    assert!(err.contains("fd 3: a TCP connection from 127.0.0.1:") && err.contains("is carried with TCP_REPAIR"), "{err}");
    let (text, status) = go(child, out);
    assert!(status.success(), "{text}");
    assert_eq!((text, server.join().unwrap().expect("server")), (want_text.clone(), want_bytes.clone()));

    // Dumped and killed: the server keeps its end (the kill closed the
    // client's in repair mode, silently); restored, the conversation goes
    // on with the greeting still queued.
    let (server, mut child, out) = start();
    let (ok, err) = dump_with(child.id(), &image, &["-q", "--kill", "--tcp-established=repair"]);
    assert!(ok, "{err}");
    child.wait().unwrap();
    drop(out);
    let text = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&format!("carried with TCP_REPAIR: 0 bytes to send, {GREETING} to read, mss ")), "{text}");
    let mut restored = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let out = BufReader::new(restored.stdout.take().unwrap());
    let mut stderr = restored.stderr.take().unwrap();
    let (text, status) = go(restored, out);
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    assert!(status.success(), "restored: {status:?}, {text}, {err}");
    assert_eq!(text, want_text, "{err}");
    assert_eq!(server.join().unwrap().expect("server, restored"), want_bytes);

    // Without CAP_NET_ADMIN (an unprivileged user): refused before the
    // point of no return, naming the fd and the connection.
    let (server, mut child, out) = start();
    let (ok, err) = dump_with(child.id(), &image, &["-q", "--kill", "--tcp-established=repair"]);
    assert!(ok, "{err}");
    child.wait().unwrap();
    drop(out);
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&image, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run_restorer(&image).uid(65534).gid(65534).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("tcp-repair-not-permitted") && err.contains("fd 3: TCP connection 127.0.0.1:"), "{err}");
    // The server still has its end: nothing was sent by the refused restore.
    drop(server);
}

/// Both ends of a connection in one image, one of them on the port of a
/// listener of the same image (test-programs/sockserve "tcp": fds 9 and
/// 10, listener fd 3): carried with TCP_REPAIR, the connection is alive
/// after the restore, as uninterrupted.
#[test]
fn both_ends_of_a_connection_in_the_image_stay_connected() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace, TCP_REPAIR)");
    let dir = scratch("tcp-repair-pair");
    let d = dir.to_str().unwrap();
    let held = || {
        let (child, out, head) = held_at("sockserve", 1, &[d, "tcp"]);
        assert_eq!(head, "ready\nwaiting at 1\n");
        (child, out)
    };
    let (child, out) = held();
    let (want, status) = go(child, out);
    assert!(status.success() && want.contains("\ntcp connection alive\n"), "{want}");
    let image = dir.join("saved.ckpt");
    let (mut child, out) = held();
    let (ok, err) = dump_with(child.id(), &image, &["--kill", "--tcp-established=repair"]);
    assert!(ok, "{err}");
    child.wait().unwrap();
    drop(out);
    for fd in [9, 10] {
        assert!(err.contains(&format!("fd {fd}: a TCP connection from 127.0.0.1:")) && err.contains("is carried with TCP_REPAIR"), "{err}");
    }
    let mut restored = run_restorer(&image).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let out = BufReader::new(restored.stdout.take().unwrap());
    let (got, status) = go(restored, out);
    assert!(status.success(), "restored: {status:?}, {got}");
    assert_eq!(got, want);
}
