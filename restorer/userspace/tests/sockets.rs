//! Sockets through ckpt-restore: listening and bound sockets bound again
//! to their addresses with their options (test-programs/sockserve.c, which
//! checks each itself: a new connection accepted by each listener, a
//! datagram received by each bound socket), connected TCP sockets refused
//! or restored reset, connections waiting in an accept queue refused or
//! dropped, a taken address refused before the point of no return; and as
//! a user would: `python3 -m http.server` and a Node.js http server
//! answering requests after the restore. Needs root (ptrace).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

use common::*;

/// sockserve in `dir` (with "tcp": and a connection), held at its wait point.
fn sockserve(dir: &Path, tcp: bool) -> (Child, BufReader<ChildStdout>) {
    let dir = dir.to_str().unwrap();
    let args: &[&str] = if tcp { &[dir, "tcp"] } else { &[dir] };
    let (child, out, head) = held_at("sockserve", 1, args);
    assert_eq!(head, "ready\nwaiting at 1\n");
    (child, out)
}

/// Restores `image` with ckpt-restore, sends the go line: its output.
fn restore_and_go(image: &Path) -> (String, ExitStatus) {
    let mut child = run_restorer(image).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    go(child, out)
}

fn uninterrupted(dir: &Path, tcp: bool) -> String {
    let (child, out) = sockserve(dir, tcp);
    let (want, status) = go(child, out);
    assert!(status.success() && want.ends_with("result ok\n"), "uninterrupted: {want}");
    want
}

/// TCP (IPv4, IPv6) and unix (path, abstract) listeners and UDP and unix
/// datagram sockets keep their addresses, options and flags, and serve;
/// the unix socket files the killed process left are bound again.
#[test]
fn listeners_and_bound_sockets_are_bound_again_and_serve() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("sockets");
    let want = uninterrupted(&dir, false);
    let (mut child, _out) = sockserve(&dir, false);
    let image = dir.join("saved.ckpt");
    dump_child_kill(&mut child, &image);
    assert!(dir.join("srv.sock").exists(), "the killed server leaves its socket file");
    let (got, status) = restore_and_go(&image);
    assert!(status.success(), "restored: {status:?}, {got}");
    assert_eq!(got, want);
    let text = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let d = dir.display();
    for want in [
        "TCP socket bound to 127.0.0.1:".to_string(),
        ", listening, backlog 7, SO_REUSEADDR, nonblocking".into(),
        ", listening, backlog 5, SO_REUSEPORT, IPV6_V6ONLY".into(),
        format!("unix stream socket bound to {d}/srv.sock, listening, backlog 3"),
        "unix seqpacket socket bound to @binfmt_chkpt-sockserve-".into(),
        "UDP socket bound to 127.0.0.1:".into(),
        format!("unix datagram socket bound to {d}/dgram.sock"),
    ] {
        assert!(text.contains(&want), "no {want:?} in:\n{text}");
    }
}

/// A connected TCP socket is refused by default, naming the fd and both
/// addresses, and the target runs on with its connection alive; with
/// --tcp-established=reset both ends are restored reset (ECONNRESET).
#[test]
fn tcp_connections_are_refused_or_restored_reset() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("sockets-tcp");
    let want = uninterrupted(&dir, true);
    assert!(want.contains("\ntcp connection alive\n"), "{want}");
    let image = dir.join("saved.ckpt");
    let (child, out) = sockserve(&dir, true);
    let (ok, err) = dump_with(child.id(), &image, &["--kill"]);
    assert!(!ok && err.contains("fd 9 is a TCP connection from 127.0.0.1:") && err.contains("--tcp-established=reset"), "{err}");
    assert!(!image.exists());
    let (rest, status) = go(child, out);
    assert!(status.success(), "{rest}");
    assert_eq!(rest, want, "the refused dump changed nothing");

    let (mut child, _out) = sockserve(&dir, true);
    let (ok, err) = dump_with(child.id(), &image, &["--kill", "--tcp-established=reset"]);
    assert!(ok, "{err}");
    child.wait().unwrap();
    for fd in [9, 10] {
        assert!(err.contains(&format!("fd {fd}: a TCP connection from 127.0.0.1:")) && err.contains("is restored reset (ECONNRESET)"), "{err}");
    }
    let (got, status) = restore_and_go(&image);
    assert!(status.success(), "restored: {status:?}, {got}");
    assert_eq!(got, want.replace("tcp connection alive", "tcp connection reset"));
}

/// A connection waiting in a listener's accept queue is refused by
/// default, naming the fd; with --tcp-established=reset it is dropped
/// (said in the summary) and the listener serves new ones.
#[test]
fn connections_waiting_to_be_accepted_are_refused_or_dropped() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("sockets-backlog");
    let want = uninterrupted(&dir, false);
    let image = dir.join("saved.ckpt");
    let (mut child, _out) = sockserve(&dir, false);
    let waiting = std::os::unix::net::UnixStream::connect(dir.join("srv.sock")).unwrap();
    let (ok, err) = dump_with(child.id(), &image, &["--kill"]);
    assert!(!ok && err.contains("fd 5 is a unix stream listener on") && err.contains("1 connection(s) waiting to be accepted"), "{err}");
    let (ok, err) = dump_with(child.id(), &image, &["--kill", "--tcp-established=reset"]);
    assert!(ok && err.contains("fd 5: a unix stream listener on") && err.contains("they are dropped"), "{err}");
    child.wait().unwrap();
    drop(waiting);
    let (got, status) = restore_and_go(&image);
    assert!(status.success(), "restored: {status:?}, {got}");
    assert_eq!(got, want);
}

/// Restoring while the dumped server still holds its addresses is refused
/// before the point of no return, naming the fd and the address; the
/// caller is left as it was.
#[test]
fn a_taken_address_is_refused_naming_it() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("sockets-taken");
    let image = dir.join("saved.ckpt");
    let (child, out) = sockserve(&dir, false);
    let (ok, err) = dump_with(child.id(), &image, &[]);
    assert!(ok, "{err}");
    let res = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(5), "{err}");
    assert!(err.contains("fd 3: socket bound to 127.0.0.1:") && err.ends_with("(socket-address-in-use)\n"), "{err}");
    assert!(res.stdout.is_empty());
    let (rest, status) = go(child, out);
    assert!(status.success() && rest.ends_with("result ok\n"), "{rest}");
}

/// GET `path` from 127.0.0.1:`port`: the status (after the HTTP
/// version) and the body.
fn get(port: u16, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let line = reply.lines().next().unwrap_or_default();
    let status = line.split_once(' ').map_or(line, |(_, s)| s).to_string();
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A server started by `cmd` that prints its port in its first stdout
/// line (`port_of` finds it), answering GET `path` with `body` before it
/// is dumped and killed, and after ckpt-restore restored it.
fn serves_after_restore(name: &str, mut cmd: Command, port_of: impl Fn(&str) -> Option<u16>, path: &str, body: &str) {
    let dir = scratch(name);
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let port = port_of(&line).unwrap_or_else(|| panic!("no port in {line:?}"));
    let listening = socket_fds(child.id());
    assert_eq!(get(port, path), ("200 OK".into(), body.into()));
    // The server may still hold its end of that connection, closing: wait
    // until it has closed it (its sockets are as before the request), or
    // the dump meets a socket that neither listens nor is connected.
    while socket_fds(child.id()) != listening {
        std::thread::yield_now();
    }
    let image = dir.join("saved.ckpt");
    let (ok, err) = dump_with(child.id(), &image, &["--kill"]);
    assert!(ok, "{err}");
    child.wait().unwrap();
    drop(out);
    let mut restored = run_restorer(&image).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // The listener is bound again when the restored process has its fds
    // (the stub places them only once they are bound and listen): wait
    // for that, or for the restore to end.
    while !listening_again(restored.id(), port) {
        if let Some(status) = restored.try_wait().unwrap() {
            let mut err = String::new();
            restored.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the restore ended: {status:?}: {err}");
        }
        std::thread::yield_now();
    }
    let answers: Vec<_> = (0..3).map(|_| get(port, path)).collect();
    restored.kill().unwrap();
    restored.wait().unwrap();
    for answer in answers {
        assert_eq!(answer, ("200 OK".into(), body.into()));
    }
}

/// How many of process `pid`'s fds are sockets.
fn socket_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| {
        d.flatten().filter(|e| std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))).count()
    })
}

/// Whether process `pid` is the restored program with its listener in
/// place: its memory is the image's (no longer ckpt-restore's) and a
/// socket listens on 127.0.0.1:`port` again.
fn listening_again(pid: u32, port: u16) -> bool {
    let exe_restored = std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| !c.starts_with("ckpt-restore"));
    // /proc/net/tcp: "sl local_address rem_address st ...", the address
    // as hex IP:PORT, st 0A for LISTEN. Any socket of the process (a
    // server keeps socket pairs too) could be in place before the
    // listener, so the listener itself is looked for.
    let listening = std::fs::read_to_string("/proc/net/tcp").is_ok_and(|t| {
        t.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1].ends_with(&format!(":{port:04X}")) && f[3] == "0A"
        })
    });
    exe_restored && listening
}

/// `python3 -m http.server` keeps serving files after the restore.
#[test]
fn python_http_server_answers_after_restore() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let python = Path::new("/usr/bin/python3");
    skip_unless!(python.exists(), "no {}", python.display());
    let dir = scratch("sockets-python-files");
    std::fs::write(dir.join("hello.txt"), "hello from before the dump\n").unwrap();
    let mut cmd = Command::new(python);
    cmd.args(["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory"]).arg(&dir);
    // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
    let port_of = |l: &str| l.split(" port ").nth(1)?.split(' ').next()?.parse().ok();
    serves_after_restore("sockets-python", cmd, port_of, "/hello.txt", "hello from before the dump\n");
}

/// A Node.js http server (its listener in libuv's epoll) keeps answering.
#[test]
fn node_http_server_answers_after_restore() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let node = Path::new("/usr/bin/node");
    skip_unless!(node.exists(), "no {}", node.display());
    let script = r#"
let n = 0;
const srv = require('http').createServer((req, res) => { n++; res.end('node ' + req.url + '\n'); });
srv.listen(0, '127.0.0.1', () => console.log('port ' + srv.address().port));
"#;
    let mut cmd = Command::new(node);
    cmd.args(["-e", script]);
    let port_of = |l: &str| l.trim().strip_prefix("port ")?.parse().ok();
    serves_after_restore("sockets-node", cmd, port_of, "/x", "node /x\n");
}

/// `prog` (a test program that prints up to "ready", waits at 1, checks
/// itself and ends with "result OK"), held, dumped and killed, then
/// restored with ckpt-restore: `inspect` of its image shows each of
/// `shown`, and it prints what an uninterrupted run printed after "ready".
fn restored_as_uninterrupted(prog: &str, head: &str, shown: &[&str]) {
    let reference = Command::new(programs().join(prog)).stdin(Stdio::null()).output().unwrap();
    let want = String::from_utf8_lossy(&reference.stdout).into_owned();
    assert!(reference.status.success() && want.ends_with("result OK\n"), "uninterrupted: {want}");
    let dir = scratch(prog);
    let (mut child, _out, got_head) = held_at(prog, 1, &[]);
    assert_eq!(got_head, head);
    let image = dir.join("saved.ckpt");
    dump_child_kill(&mut child, &image);
    let text = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for line in shown {
        assert!(text.contains(line), "inspect lacks {line:?}: {text}");
    }
    let (got, status) = restore_and_go(&image);
    assert!(status.success(), "restored: {status:?}: {got}");
    assert_eq!(Some(got.as_str()), want.split_once("ready\n").map(|(_, rest)| rest));
}

/// A connected UDP socket (and the bound one it talks to, both in the
/// image) is bound to its address and connected to its peer again: the
/// same local address and peer, datagrams both ways, a stranger's datagram
/// filtered out (test-programs/udpconn.c checks each); `inspect` names
/// both addresses; output as uninterrupted.
#[test]
fn a_connected_udp_socket_keeps_its_address_and_peer() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    restored_as_uninterrupted("udpconn", "exchanged one and back one\nready\nwaiting at 1\n", &["UDP socket bound to 127.0.0.1:", ", connected to 127.0.0.1:"]);
}

/// Sockets created but never bound (TCP with SO_REUSEADDR, nonblocking
/// UDP, IPv6 TCP with IPV6_V6ONLY, unix stream and datagram) come back
/// unbound, of their family and type, with their options and flags, and
/// serve once bound or connected after the restore
/// (test-programs/unbound.c checks each); `inspect` says so; output as
/// uninterrupted.
#[test]
fn sockets_never_bound_come_back_unbound_with_their_options() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let shown = ["TCP socket, never bound, SO_REUSEADDR", "UDP socket, never bound, nonblocking", "TCP socket, never bound, IPV6_V6ONLY", "unix stream socket, never bound", "unix datagram socket, never bound"];
    restored_as_uninterrupted("unbound", "ready\nwaiting at 1\n", &shown);
}

/// A unix datagram socket connected to a server outside the process (as a
/// syslog client's is to /dev/log) is connected to the server's name
/// again: the server gets what the restored program sends, and the
/// program finds its socket unbound and connected to that name, as in an
/// uninterrupted run; `inspect` names the peer. With nobody bound there
/// any more, the restore is refused before the point of no return.
#[test]
fn a_datagram_socket_connected_outside_is_connected_again_by_name() {
    use std::os::unix::net::UnixDatagram;
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("logclient");
    let path = dir.join("log.sock");
    let server = UnixDatagram::bind(&path).unwrap();
    let recv = || {
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let reference = Command::new(programs().join("logclient")).arg(&path).stdin(Stdio::null()).output().unwrap();
    let want = String::from_utf8_lossy(&reference.stdout).into_owned();
    assert!(reference.status.success() && want.ends_with("result OK\n"), "uninterrupted: {want}");
    assert_eq!((recv(), recv()), ("before".to_string(), "after".to_string()));

    let (mut child, _out, head) = held_at("logclient", 1, &[path.to_str().unwrap()]);
    assert_eq!(head, "ready\nwaiting at 1\n");
    assert_eq!(recv(), "before");
    let image = dir.join("saved.ckpt");
    dump_child_kill(&mut child, &image);
    let text = Command::new(writer()).arg("inspect").arg(&image).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let shown = format!("unix datagram socket never bound, connected to {}", path.display());
    assert!(text.contains(&shown), "inspect lacks {shown:?}: {text}");
    let (got, status) = restore_and_go(&image);
    assert!(status.success(), "restored: {status:?}: {got}");
    assert_eq!(Some(got.as_str()), want.split_once("ready\n").map(|(_, rest)| rest));
    assert_eq!(recv(), "after", "the restored program's datagram reached the server");

    drop(server);
    std::fs::remove_file(&path).unwrap();
    let res = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success() && err.contains("fd 3") && err.ends_with("(socket-peer-unavailable)\n"), "{:?}: {err}", res.status);
    assert!(res.stdout.is_empty(), "nothing of the image ran");
}

/// A unix stream socket connected to a listener outside the process is a
/// connection the image cannot carry: refused by default, naming it and
/// the way out; with --tcp-established=reset restored with its peer gone
/// (end of file, then EPIPE), said by the dump.
#[test]
fn a_stream_socket_connected_outside_is_refused_or_restored_with_its_peer_gone() {
    use std::os::unix::net::{UnixDatagram, UnixListener};
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    let dir = scratch("logclient-stream");
    let (dpath, spath) = (dir.join("log.sock"), dir.join("srv.sock"));
    let _server = UnixDatagram::bind(&dpath).unwrap();
    let listener = UnixListener::bind(&spath).unwrap();
    let (mut child, _out, _) = held_at("logclient", 1, &[dpath.to_str().unwrap(), spath.to_str().unwrap()]);
    let (conn, _) = listener.accept().unwrap();
    let image = dir.join("saved.ckpt");
    let (ok, err) = dump_with(child.id(), &image, &["--kill"]);
    assert!(!ok && err.contains("outside the process") && err.contains("--tcp-established=reset"), "{err}");
    assert!(!image.exists(), "a refused dump leaves no image");
    let (ok, err) = dump_with(child.id(), &image, &["--kill", "--tcp-established=reset"]);
    assert!(ok && err.contains("restored with its peer gone"), "{err}");
    child.wait().unwrap();
    drop(conn);
    let (got, status) = restore_and_go(&image);
    assert!(status.success(), "restored: {status:?}: {got}");
    assert_eq!(
        got,
        "datagram: sent after the wait point\ndatagram: unbound, connected to the server's name\nstream: end of file\nstream: write Broken pipe\nresult OK\n"
    );
}

/// Netlink sockets come back: a raw NETLINK_ROUTE socket bound to the
/// same port and multicast groups, a datagram one never bound stays so,
/// and both answer a link dump (test-programs/netlinks.c); output as
/// uninterrupted. While the dumped process still holds the port, the
/// restore is refused before the point of no return.
#[test]
fn netlink_sockets_keep_their_port_and_groups() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    restored_as_uninterrupted("netlinks", "ready\nwaiting at 1\n", &["netlink (protocol 0) socket bound to netlink port", " groups 0x1", "netlink (protocol 0) socket, never bound"]);
    let dir = scratch("netlinks-taken");
    let image = dir.join("saved.ckpt");
    let (child, out, _) = held_at("netlinks", 1, &[]);
    let (ok, err) = dump_with(child.id(), &image, &[]);
    assert!(ok, "{err}");
    let res = run_restorer(&image).stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(!res.status.success() && err.contains("fd 3") && err.ends_with("(socket-address-in-use)\n"), "{:?}: {err}", res.status);
    let rest = go_ok(child, out);
    assert!(rest.ends_with("result OK\n"), "{rest}");
}

/// Socket options come back (test-programs/sockopts.c): a TCP listener's
/// (TCP_NODELAY, keepalive timing, SO_LINGER, a receive timeout, TOS and
/// TTL, TCP_DEFER_ACCEPT, TCP_FASTOPEN, ...), which a connection it
/// accepts after the restore inherits; a UDP socket's; an IPv6 one's; each
/// end of a unix pair its own (SO_PASSCRED: a message comes with
/// credentials). Every value as getsockopt reports it equals an
/// uninterrupted run's, and `inspect` lists them.
#[test]
fn socket_options_come_back() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace)");
    restored_as_uninterrupted(
        "sockopts",
        "ready\nwaiting at 1\n",
        &[
            "listening, backlog 8; options: IP_TOS 16, IP_TTL 17, SO_KEEPALIVE, SO_OOBINLINE",
            "SO_LINGER 3 s, SO_RCVTIMEO 2.500000 s, TCP_NODELAY, TCP_MAXSEG 1000, TCP_KEEPIDLE 77",
            "IP_MULTICAST_LOOP off, SO_BROADCAST, SO_SNDBUF 100000, SO_PRIORITY 3",
            "options: SO_PASSCRED, SO_SNDTIMEO 1.000000 s",
        ],
    );
}

/// An option only a privileged process may set again (SO_MARK) is not
/// recorded: the dump is refused naming the fd and the option, no image
/// is left, and the target runs on.
#[test]
fn a_socket_with_a_privileged_option_is_refused_at_dump() {
    skip_unless!(nix::unistd::geteuid().is_root(), "dumping needs root here (ptrace), and SO_MARK needs CAP_NET_ADMIN");
    let dir = scratch("sockopts-mark");
    let image = dir.join("saved.ckpt");
    let (child, out, head) = held_at("sockopts", 1, &["--mark"]);
    assert_eq!(head, "ready\nwaiting at 1\n");
    let (ok, err) = dump_with(child.id(), &image, &[]);
    assert!(!ok && err.contains("fd 4") && err.contains("SO_MARK is set (7)"), "{err}");
    assert!(!image.exists(), "a refused dump left an image");
    let rest = go_ok(child, out);
    assert!(rest.ends_with("result OK\n"), "{rest}");
}
