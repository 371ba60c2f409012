//! Shared test fixtures: a realistic sample process, page contents derived
//! from addresses, and helpers to build and patch images.
#![allow(dead_code)]

use image_format::v1::records::{self, prot, region_flags, SIGINFO_LEN};
use image_format::*;

/// XSAVE size of an AVX machine (legacy + header + YMM_Hi128).
pub const XSAVE_SIZE: u32 = 832;
/// XCR0 with x87, SSE, AVX.
pub const XCR0: u64 = 0x7;

/// Page byte for virtual address `addr`: depends on the address so a
/// misplaced page is detected.
pub fn page_byte(addr: u64) -> u8 {
    let x = addr.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (x >> 56) as u8 ^ (addr as u8)
}

/// Page callback for the writer.
pub fn fill(addr: u64, buf: &mut [u8]) -> std::io::Result<()> {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = page_byte(addr + i as u64);
    }
    Ok(())
}

/// A valid XSAVE area with the given xstate_bv.
pub fn xsave(len: u32, xstate_bv: u64, seed: u8) -> Vec<u8> {
    let mut x = vec![0u8; len as usize];
    for (i, b) in x.iter_mut().enumerate().take(512) {
        *b = (i as u8).wrapping_mul(seed);
    }
    x[24..28].copy_from_slice(&0x1f80u32.to_le_bytes()); // default MXCSR
    x[512..520].copy_from_slice(&xstate_bv.to_le_bytes());
    for b in x[520..576].iter_mut() {
        *b = 0;
    }
    for (i, b) in x.iter_mut().enumerate().skip(576) {
        *b = (i as u8) ^ seed;
    }
    x
}

/// Plausible user registers.
pub fn regs(seed: u64) -> Regs {
    let mut a = [0u64; 27];
    for (i, r) in a.iter_mut().enumerate() {
        *r = seed.wrapping_mul(1000).wrapping_add(i as u64);
    }
    let mut r = Regs::from_array(a);
    r.rip = 0x5555_5555_1000 + seed;
    r.rsp = 0x7ffd_0000_0000 - 8 * seed;
    r.cs = 0x33;
    r.ss = 0x2b;
    r.eflags = 0x246;
    r.fs_base = 0x7f00_0000_0000 + seed * 0x1000;
    r.gs_base = 0;
    r.ds = 0;
    r.es = 0;
    r.fs = 0;
    r.gs = 0;
    r
}

pub fn thread(tid: u32, seed: u8) -> ThreadDesc {
    let bv = 0x7;
    ThreadDesc {
        state: ThreadState {
            tid,
            regs: regs(seed as u64),
            sigmask: 1 << 13,
            altstack: AltStack {
                sp: 0,
                flags: 2,
                size: 0,
            },
            clear_child_tid: 0x7f00_0000_0990 + seed as u64,
            robust_list_head: 0x7f00_0000_09a0,
            robust_list_len: 24,
            rseq: Rseq {
                addr: 0x7f00_0000_0fe0,
                len: 32,
                sig: 0x5305_3053,
            },
            xstate_bv: bv,
            name: Default::default(),
        },
        xsave: Blob(xsave(XSAVE_SIZE, bv, seed)),
        name: Default::default(),
    }
}

fn file_id(n: u64) -> FileId {
    FileId {
        dev: 0x803,
        ino: 1000 + n,
        size: 4096 * 40 + n,
        mtime_sec: 1_700_000_000 + n as i64,
        mtime_nsec: 5,
    }
}

fn region(
    start: u64,
    pages: u64,
    p: u32,
    kind: RegionKind,
    path: &str,
    runs: &[(u64, u64)],
) -> RegionDesc {
    RegionDesc {
        start,
        end: start + pages * 4096,
        prot: p,
        kind,
        flags: 0,
        path: path.into(),
        file_offset: 0,
        file_id: if path.is_empty() {
            FileId::default()
        } else {
            file_id(start >> 12)
        },
        file: 0,
        runs: runs
            .iter()
            .map(|&(page_index, page_count)| RunDesc {
                page_index,
                page_count,
            })
            .collect(),
    }
}

/// A small but complete process: 2 threads, every region kind, fds of
/// every disposition.
pub fn sample() -> ImageDesc {
    let r = prot::READ;
    let rw = prot::READ | prot::WRITE;
    let rx = prot::READ | prot::EXEC;
    let mut shm = region(0x7f00_0100_0000, 4, rw, RegionKind::Anon, "", &[(0, 4)]);
    shm.flags = region_flags::SHARED | region_flags::SHARED_ANON;
    let mut text = region(
        0x5555_5555_4000,
        8,
        rx,
        RegionKind::File,
        "/usr/bin/sample",
        &[],
    );
    text.file_offset = 0x1000;
    let mut sysv = region(
        0x7f00_0200_0000,
        2,
        rw,
        RegionKind::SysvShm,
        "/SYSV0000abcd",
        &[(1, 1)],
    );
    sysv.flags = region_flags::SHARED;
    let mut sigactions = vec![SigAction::default(); 64];
    sigactions[1] = SigAction {
        handler: 0x5555_5555_6000,
        flags: 0x0400_0004,
        restorer: 0x7f00_0000_2000,
        mask: 0,
    };
    sigactions[12] = SigAction {
        handler: 1,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    let mut rlimits = [Rlimit {
        cur: u64::MAX,
        max: u64::MAX,
    }; 16];
    rlimits[7] = Rlimit {
        cur: 1024,
        max: 524_288,
    };
    ImageDesc {
        kernel_release: "6.12.0-test".into(),
        dump_time_sec: 1_750_000_000,
        dump_time_nsec: 123_456_789,
        process: ProcessDesc {
            pid: 4242,
            comm: "sample".into(),
            exe_path: "/usr/bin/sample".into(),
            exe_id: file_id(7),
            cwd: "/home/user".into(),
            umask: 0o022,
            personality: 0,
            xcr0: XCR0,
            xsave_size: XSAVE_SIZE,
            mm: MmLayout {
                start_code: 0x5555_5555_4000,
                end_code: 0x5555_5555_c000,
                start_data: 0x5555_5555_d000,
                end_data: 0x5555_5555_e000,
                start_brk: 0x5555_5556_0000,
                brk: 0x5555_5558_1000,
                start_stack: 0x7ffd_0000_0000 - 0x100,
                arg_start: 0x7ffd_0000_0000 - 0x80,
                arg_end: 0x7ffd_0000_0000 - 0x70,
                env_start: 0x7ffd_0000_0000 - 0x70,
                env_end: 0x7ffd_0000_0000 - 0x10,
            },
            rlimits,
            membarrier: 0,
            cwd_removed: false,
        },
        auxv: vec![
            AuxvEntry {
                key: 33,
                value: 0x7fff_f7fc_1000,
            },
            AuxvEntry {
                key: 6,
                value: 4096,
            },
            AuxvEntry {
                key: 25,
                value: 0x7ffd_0000_0000 - 0x200,
            },
        ],
        threads: vec![thread(4242, 1), thread(4243, 2)],
        sigactions,
        regions: vec![
            text,
            region(
                0x5555_5555_c000,
                3,
                rw,
                RegionKind::File,
                "/usr/bin/sample",
                &[(0, 1), (2, 1)],
            ),
            region(
                0x5555_5556_0000,
                33,
                rw,
                RegionKind::Heap,
                "",
                &[(0, 2), (5, 3)],
            ),
            region(0x7f00_0000_0000, 16, rw, RegionKind::Anon, "", &[(0, 16)]),
            shm,
            sysv,
            region(0x7ffc_fffd_0000, 48, rw, RegionKind::Stack, "", &[(40, 8)]),
            region(0x7fff_f7fb_d000, 2, r, RegionKind::Vvar, "", &[]),
            region(0x7fff_f7fb_f000, 2, r, RegionKind::VvarVclock, "", &[]),
            region(0x7fff_f7fc_1000, 2, rx, RegionKind::Vdso, "", &[(0, 2)]),
        ],
        fds: vec![
            FdDesc {
                fd: 0,
                kind: FdKind::Tty,
                disposition: FdDisposition::Inherit,
                open_flags: 2,
                offset: 0,
                path: "/dev/pts/0".into(),
                cloexec: false,
                file: 0,
            },
            FdDesc {
                fd: 1,
                kind: FdKind::Pipe,
                disposition: FdDisposition::Inherit,
                open_flags: 1,
                offset: 0,
                path: "".into(),
                cloexec: false,
                file: 0,
            },
            FdDesc {
                fd: 2,
                kind: FdKind::Tty,
                disposition: FdDisposition::Inherit,
                open_flags: 2,
                offset: 0,
                path: "/dev/pts/0".into(),
                cloexec: false,
                file: 0,
            },
            FdDesc {
                fd: 3,
                kind: FdKind::Regular,
                disposition: FdDisposition::Reopen,
                open_flags: 0o2002,
                offset: 77,
                path: "/tmp/log.txt".into(),
                cloexec: true,
                file: 0,
            },
            FdDesc {
                fd: 4,
                kind: FdKind::Directory,
                disposition: FdDisposition::Reopen,
                open_flags: 0o200000,
                offset: 0,
                path: "/home/user".into(),
                cloexec: true,
                file: 0,
            },
            FdDesc {
                fd: 7,
                kind: FdKind::Socket,
                disposition: FdDisposition::Closed,
                open_flags: 2,
                offset: 0,
                path: "".into(),
                cloexec: false,
                file: 0,
            },
        ],
        files: Vec::new(),
        pending_signals: Vec::new(),
        timers: Vec::new(),
        locks: Vec::new(),
        attrs: Default::default(),
        creds: None,
        groups: Vec::new(),
        sched: Vec::new(),
        seccomp: Vec::new(),
    }
}

/// `sample()` with file locks through fd 3 (reopened): a flock, two POSIX
/// ranges, one to the end of the file, and an OFD lock.
pub fn with_locks() -> ImageDesc {
    let mut d = sample();
    let lock = |kind, write, start, len| Lock { fd: 3, kind, write, start, len };
    d.locks = vec![
        lock(LockKind::Flock, 1, 0, 0),
        lock(LockKind::Posix, 0, 0, 100),
        lock(LockKind::Posix, 1, 4096, 0),
        lock(LockKind::Ofd, 1, 200, 1),
    ];
    d
}

/// A siginfo as the kernel keeps it: si_signo, si_errno, si_code, then
/// the sender's pid and uid and a value (sigqueue's layout).
pub fn siginfo(signo: u32, code: i32, value: u64) -> [u8; SIGINFO_LEN] {
    let mut b = [0u8; SIGINFO_LEN];
    b[0..4].copy_from_slice(&signo.to_le_bytes());
    b[8..12].copy_from_slice(&code.to_le_bytes());
    b[16..20].copy_from_slice(&4242u32.to_le_bytes());
    b[20..24].copy_from_slice(&1000u32.to_le_bytes());
    b[24..32].copy_from_slice(&value.to_le_bytes());
    b
}

/// `sample()` with signals pending in the process queue (a standard one
/// and a real-time one queued twice) and in the second thread's.
pub fn with_signals() -> ImageDesc {
    let mut d = sample();
    let tid = d.threads[1].state.tid;
    let sig = |signo, scope, tid, code, value| PendingSignal { signo, scope, tid, siginfo: siginfo(signo, code, value) };
    d.pending_signals = vec![
        sig(10, SignalScope::Process, 0, 0, 0),
        sig(40, SignalScope::Process, 0, -1, 7),
        sig(40, SignalScope::Process, 0, -1, 8),
        sig(12, SignalScope::Thread, tid, -6, 0),
        sig(35, SignalScope::Thread, tid, -1, 9),
    ];
    d
}

/// `sample()` with an armed ITIMER_REAL and ITIMER_PROF, and POSIX timers
/// of each notification (the SIGEV_THREAD_ID one aimed at the second
/// thread), ids with a gap.
pub fn with_timers() -> ImageDesc {
    let mut d = sample();
    let tid = d.threads[1].state.tid;
    let itimer = |kind, interval_ns, remaining_ns| Timer {
        kind,
        id: 0,
        clock: 0,
        notify: 0,
        signo: 0,
        tid: 0,
        value: 0,
        interval_ns,
        remaining_ns,
        overrun: 0,
    };
    let posix = |id, clock, notify, signo, tid, value| Timer {
        kind: TimerKind::Posix,
        id,
        clock,
        notify,
        signo,
        tid,
        value,
        interval_ns: 5_000_000,
        remaining_ns: 30_000_000_000,
        overrun: 2,
    };
    d.timers = vec![
        itimer(TimerKind::ItimerReal, 0, 30_000_000_000),
        itimer(TimerKind::ItimerProf, 10_000_000, 10_000_000),
        posix(0, 1, records::timer_notify::SIGNAL, 40, 0, 0x1234),
        posix(3, 0, records::timer_notify::NONE, 0, 0, 0),
        posix(4, 2, records::timer_notify::THREAD_ID, 34, tid, 0x7f00_0000_1000),
    ];
    d
}

/// An fd that shares the open file description FILES[`file`] (the
/// description has the flags, offset and path).
pub fn shared_fd(fd: u32, kind: FdKind, file: u32, cloexec: bool) -> FdDesc {
    FdDesc { fd, kind, disposition: FdDisposition::Shared, open_flags: 0, offset: 0, path: "".into(), cloexec, file }
}

/// `sample()` with open file descriptions: fds 8 and 9 share a regular
/// file (FILES 0); fds 10 and 11 are the read and write ends of pipe 1
/// (FILES 1, 2) with 3 queued bytes; fd 12 is a read end whose writer is
/// gone (FILES 3, pipe 2, 2 bytes); fd 13 duplicates the caller's fd 1
/// (FILES 4); fds 14-17 are an eventfd (count 5, semaphore, non-blocking),
/// a signalfd (SIGUSR1... bit 9), an epoll watching fds 10 (edge-triggered)
/// and 14 (one-shot), and a monotonic timerfd (1.5 s left, 250 ms
/// interval, 3 expirations unread) (FILES 5-8).
pub fn sample_files() -> ImageDesc {
    let mut d = sample();
    let shared = |fd: u32, file: u32, kind: FdKind| shared_fd(fd, kind, file, fd.is_multiple_of(2));
    d.fds.extend([
        shared(8, 0, FdKind::Regular),
        shared(9, 0, FdKind::Regular),
        shared(10, 1, FdKind::Pipe),
        shared(11, 2, FdKind::Pipe),
        shared(12, 3, FdKind::Pipe),
        shared(13, 4, FdKind::Pipe),
        shared(14, 5, FdKind::Other),
        shared(15, 6, FdKind::Other),
        shared(16, 7, FdKind::Other),
        shared(17, 8, FdKind::Other),
        shared(18, 9, FdKind::Other),
    ]);
    let mut reg = FileDesc::new(FileKind::Regular);
    reg.status_flags = 0o2002;
    reg.offset = 4096;
    reg.path = "/tmp/shared.txt".into();
    let pipe_end = |access: u32, pipe: u32, data: &[u8], flags: u32| {
        let mut f = FileDesc::new(FileKind::Pipe);
        f.status_flags = access | (0o4000 * access);
        f.pipe = pipe;
        f.kind_flags = flags;
        f.data = Blob(data.to_vec());
        f.values[0] = 65536;
        f
    };
    let mut stdio = FileDesc::new(FileKind::Stdio);
    stdio.values[0] = 1;
    let mut eventfd = FileDesc::new(FileKind::EventFd);
    eventfd.status_flags = 0o4002;
    eventfd.kind_flags = 1;
    eventfd.values[0] = 5;
    let mut signalfd = FileDesc::new(FileKind::SignalFd);
    signalfd.status_flags = 2;
    signalfd.values[0] = 1 << 9;
    let mut epoll = FileDesc::new(FileKind::Epoll);
    epoll.status_flags = 2;
    epoll.values[1] = 2;
    epoll.epoll = vec![
        image_format::EpollEntry { fd: 10, events: 1 | (1 << 31), data: 0x1234 },
        image_format::EpollEntry { fd: 14, events: 1 | (1 << 30), data: 14 },
    ];
    let mut timerfd = FileDesc::new(FileKind::TimerFd);
    timerfd.status_flags = 2;
    timerfd.values = [1, 1_500_000_000, 250_000_000, 3, 0];
    let mut memfd = FileDesc::new(FileKind::Memfd);
    memfd.status_flags = 0o100002;
    memfd.path = "ckpt-test".into();
    memfd.offset = 3;
    memfd.data = Blob(b"memfd contents".to_vec());
    memfd.values[0] = 14;
    memfd.values[1] = 2 | 4;
    d.files = vec![
        reg,
        pipe_end(0, 1, b"abc", 0),
        pipe_end(1, 1, b"", 0),
        pipe_end(0, 2, b"de", image_format::v1::records::pipe_flags::PEER_GONE),
        stdio,
        eventfd,
        signalfd,
        epoll,
        timerfd,
        memfd,
    ];
    d
}

/// `sample_files` with a unix stream socket pair at fds 19 and 20 (FILES
/// 10 and 11), bytes queued at both ends, one end nonblocking.
pub fn sample_unix_pair() -> ImageDesc {
    let mut d = sample_files();
    let end = |fd: u32, file: u32| shared_fd(fd, FdKind::Socket, file, false);
    d.fds.extend([end(19, 10), end(20, 11)]);
    for (flags, data) in [(0o2, &b"to a"[..]), (0o4002, &b"to b!"[..])] {
        let mut f = FileDesc::new(FileKind::UnixPair);
        f.status_flags = flags;
        f.pipe = 1;
        f.values[0] = image_format::v1::records::unix_pair_type::STREAM;
        f.data = Blob(data.to_vec());
        d.files.push(f);
    }
    d
}

/// A struct sockaddr_in for 127.0.0.1:`port`.
pub fn sockaddr_in(port: u16) -> Vec<u8> {
    let mut a = vec![2, 0];
    a.extend_from_slice(&port.to_be_bytes());
    a.extend_from_slice(&[127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    a
}

/// A struct sockaddr_in6 for [::1]:`port`.
pub fn sockaddr_in6(port: u16) -> Vec<u8> {
    let mut a = vec![10, 0];
    a.extend_from_slice(&port.to_be_bytes());
    a.extend_from_slice(&[0; 4]);
    a.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    a.extend_from_slice(&[0; 4]);
    a
}

/// `sample_files` with sockets at fds 19-22 (FILES 10-13): a TCP listener
/// on 127.0.0.1:8080 (SO_REUSEADDR, backlog 5, nonblocking), a unix
/// stream listener on /tmp/s, a UDP socket on [::1]:5353 (IPV6_V6ONLY),
/// a TCP connection recorded reset.
pub fn sample_sockets() -> ImageDesc {
    use image_format::v1::records::{socket_family, socket_flags, socket_type};
    let mut d = sample_files();
    for (i, fd) in (19..=22).enumerate() {
        d.fds.push(shared_fd(fd, FdKind::Socket, 10 + i as u32, false));
    }
    let mut tcp = FileDesc::new(FileKind::Socket);
    tcp.status_flags = 0o4002;
    tcp.values = [socket_family::INET, socket_type::STREAM, 5, 0, 0];
    tcp.kind_flags = socket_flags::LISTENING | socket_flags::REUSEADDR;
    tcp.data = Blob(sockaddr_in(8080));
    let mut unix = FileDesc::new(FileKind::Socket);
    unix.status_flags = 0o2;
    unix.values = [socket_family::UNIX, socket_type::STREAM, 128, 0, 0];
    unix.kind_flags = socket_flags::LISTENING;
    unix.data = Blob([&[1u8, 0][..], b"/tmp/s"].concat());
    let mut udp = FileDesc::new(FileKind::Socket);
    udp.status_flags = 0o2;
    udp.values = [socket_family::INET6, socket_type::DGRAM, 0, 0, 0];
    udp.kind_flags = socket_flags::V6ONLY;
    udp.data = Blob(sockaddr_in6(5353));
    let mut reset = FileDesc::new(FileKind::TcpReset);
    reset.status_flags = 0o2;
    reset.values[0] = socket_family::INET;
    reset.data = Blob([sockaddr_in(8080), sockaddr_in(40000)].concat());
    d.files.extend([tcp, unix, udp, reset]);
    d
}

/// `sample` with scheduling (SCHED): the first thread SCHED_BATCH at nice
/// 5, reset on fork, best-effort I/O 2; the second SCHED_FIFO 10 at nice
/// -3 on CPUs 0 and 2 with real-time I/O; oom_score_adj -500.
pub fn with_sched() -> ImageDesc {
    use image_format::v1::records::sched_flags::{AFFINITY, RESET_ON_FORK};
    use image_format::v1::Sched;
    let mut d = sample();
    d.attrs.oom_score_adj = (-500i32) as u32;
    let mut cpus = [0u8; 128];
    cpus[0] = 0b101;
    d.sched = vec![
        Sched { tid: 4242, policy: 3, flags: RESET_ON_FORK, nice: 5, priority: 0, ioprio: 2 << 13 | 2, affinity: [0; 128] },
        Sched { tid: 4243, policy: 1, flags: AFFINITY, nice: (-3i32) as u32, priority: 10, ioprio: 1 << 13, affinity: cpus },
    ];
    d
}

/// `sample` with two seccomp filters, oldest first: one that allows
/// everything (LOG), one that fails uname(2) with EPERM.
pub fn with_seccomp() -> ImageDesc {
    let insn = |code: u16, jt: u8, jf: u8, k: u32| {
        let mut b = [0u8; 8];
        b[..2].copy_from_slice(&code.to_le_bytes());
        b[2] = jt;
        b[3] = jf;
        b[4..].copy_from_slice(&k.to_le_bytes());
        b
    };
    let mut d = sample();
    d.attrs.flags |= image_format::v1::attr_flags::NO_NEW_PRIVS;
    d.seccomp = vec![
        image_format::SeccompDesc { flags: 2, code: vec![insn(0x06, 0, 0, 0x7fff_0000)] },
        image_format::SeccompDesc {
            flags: 0,
            code: vec![insn(0x20, 0, 0, 0), insn(0x15, 0, 1, 63), insn(0x06, 0, 0, 0x0005_0001), insn(0x06, 0, 0, 0x7fff_0000)],
        },
    ];
    d
}

/// `sample_sockets` with socket options (SOCKOPTS) on the TCP listener
/// (FILES 10), the unix listener (11) and the IPv6 UDP socket (12).
pub fn with_sockopts() -> ImageDesc {
    use image_format::v1::SockOpt;
    // `file` as a reader gives it back (the writer sets it from the index).
    let opt = |file, level, name, value| SockOpt { file, level, name, value };
    let mut d = sample_sockets();
    d.files[10].sockopts = vec![opt(10, 1, 8, 425_984), opt(10, 1, 9, 1), opt(10, 1, 13, 1 << 32 | 5), opt(10, 1, 20, 2_500_000), opt(10, 6, 1, 1), opt(10, 6, 4, 60)];
    d.files[11].sockopts = vec![opt(11, 1, 16, 1)];
    d.files[12].sockopts = vec![opt(12, 1, 6, 1), opt(12, 41, 16, 7), opt(12, 41, 67, 0x10)];
    d
}

/// `sample_files` with a deleted file at fd 19 (FILES 10): 5 bytes, mode
/// 0o640, read-write at offset 3.
pub fn sample_deleted() -> ImageDesc {
    let mut d = sample_files();
    d.fds.push(shared_fd(19, FdKind::Regular, 10, false));
    let mut f = FileDesc::new(FileKind::DeletedFile);
    f.status_flags = 0o100002;
    f.offset = 3;
    f.path = "/tmp/gone.txt".into();
    f.values = [5, 0o640, 0, 0, 0];
    f.data = Blob(b"hello".to_vec());
    d.files.push(f);
    d
}

/// One inotify watch entry as FILE_DATA holds it.
pub fn watch(wd: u32, mask: u32, path: &[u8]) -> Vec<u8> {
    [&wd.to_le_bytes()[..], &mask.to_le_bytes(), &(path.len() as u32).to_le_bytes(), path].concat()
}

/// `sample_files` with an inotify instance at fd 19 (FILES 10),
/// nonblocking, watching /tmp (wd 1, IN_CREATE) and /tmp/f (wd 2,
/// IN_MODIFY | IN_ONESHOT).
pub fn sample_inotify() -> ImageDesc {
    let mut d = sample_files();
    d.fds.push(shared_fd(19, FdKind::Other, 10, true));
    let mut f = FileDesc::new(FileKind::Inotify);
    f.status_flags = 0o4000;
    f.values[0] = 2;
    f.data = Blob([watch(1, 0x100, b"/tmp"), watch(2, 0x8000_0002, b"/tmp/f")].concat());
    d.files.push(f);
    d
}

pub fn build(desc: &ImageDesc) -> Vec<u8> {
    let mut out = Vec::new();
    let n = write_image(desc, &mut out, fill).expect("write_image");
    assert_eq!(n as usize, out.len());
    out
}

/// Error name of parsing `bytes` as a whole file ("ok" if accepted).
pub fn parse_result(bytes: &[u8]) -> &'static str {
    match Image::parse_bytes(bytes) {
        Ok(_) => "ok",
        Err(e) => e.name(),
    }
}

/// Writes `desc` without validation (hostile images) with `opts`.
pub fn build_with(desc: &ImageDesc, opts: &Options) -> Vec<u8> {
    let p = prepare_with(desc, opts).expect("prepare_with");
    let mut out = Vec::new();
    write_prepared(&p, &mut out, fill).expect("write_prepared");
    out
}

/// Writes `desc` without validation.
pub fn build_unchecked(desc: &ImageDesc) -> Vec<u8> {
    build_with(
        desc,
        &Options {
            validate: false,
            ..Options::default()
        },
    )
}

pub fn rd32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
pub fn rd64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}
pub fn wr32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}
pub fn wr64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// File offset of the section header of `kind` in the metadata.
pub fn section_at(b: &[u8], kind: u32) -> usize {
    let end = 256 + rd64(b, 48) as usize;
    let mut pos = 256;
    while pos < end {
        if rd32(b, pos) == kind {
            return pos;
        }
        pos += 32 + rd64(b, pos + 8) as usize;
    }
    panic!("no section {kind}");
}

/// File offset of record `index` of section `kind`.
pub fn record_at(b: &[u8], kind: u32, index: usize) -> usize {
    let s = section_at(b, kind);
    s + 32 + index * rd32(b, s + 20) as usize
}

/// Recomputes every CRC after a patch (image_format::reseal_checksums) so that only
/// the patched rule can fail. With `sections = false` the per-section CRCs
/// are left as they are.
pub fn reseal_with(b: &mut [u8], sections: bool) {
    image_format::reseal_checksums(b, sections)
}

pub fn reseal(b: &mut [u8]) {
    reseal_with(b, true)
}

/// Adds (delta > 0) or removes (delta < 0) whole pages at the end of the
/// page data and fixes the header/trailer lengths, leaving the runs as
/// they were.
pub fn resize_page_data(b: &mut Vec<u8>, delta_pages: i64) {
    let tail_off = rd64(b, 72) as usize;
    let tail = b[tail_off..].to_vec();
    let new_tail_off = (tail_off as i64 + delta_pages * 4096) as usize;
    b.resize(new_tail_off, 0);
    b.extend_from_slice(&tail);
    let d = delta_pages * 4096;
    let pages_len = (rd64(b, 64) as i64 + d) as u64;
    wr64(b, 64, pages_len);
    wr64(b, 72, new_tail_off as u64);
    let flen = b.len() as u64;
    wr64(b, 88, flen);
    let n = b.len();
    wr64(b, n - 64 + 8, flen);
    reseal(b);
}

/// Sets the u32 at `off` to `f(old)`.
pub fn upd32(b: &mut [u8], off: usize, f: impl FnOnce(u32) -> u32) {
    let v = f(rd32(b, off));
    wr32(b, off, v);
}

/// Sets the u64 at `off` to `f(old)`.
pub fn upd64(b: &mut [u8], off: usize, f: impl FnOnce(u64) -> u64) {
    let v = f(rd64(b, off));
    wr64(b, off, v);
}

/// A tree of four processes: the root (`sample_files`, pid P), a child
/// (P+1, its own group) sharing the root's regular file, the widowed pipe
/// read end and the shared anonymous region (whose pages only the root
/// stores), a zombie child (P+2, exit code 3) and a stopped grandchild
/// (P+3, in the child's group, `sample`).
pub fn sample_tree() -> Vec<TreeMemberDesc> {
    use image_format::v1::records::tree_flags;
    let root = sample_files();
    let pid = root.process.pid;
    let shm = root.regions.iter().position(|r| r.flags & region_flags::SHARED_ANON != 0).unwrap() as u32;
    let rec = |pid: u32, parent: u32, pgid: u32, state: TreeState| TreeProcess {
        pid,
        parent,
        pgid,
        sid: 100,
        state,
        exit_status: 0,
        pdeath_signal: 0,
        flags: if state == TreeState::Zombie { 0 } else { tree_flags::TIDS },
        image_offset: 0,
        image_len: 0,
    };
    let tf = |file: u32, object: u32, end: u32| TreeFile { file, object, end };
    let tr = |region: u32, object: u32| TreeRegion { region, object, end: 0 };
    let mut child = sample_files();
    child.process.pid = pid + 1;
    child.regions[shm as usize].runs.clear();
    let mut grandchild = sample();
    grandchild.process.pid = pid + 3;
    let mut zombie = rec(pid + 2, 0, pid, TreeState::Zombie);
    zombie.exit_status = 3 << 8;
    let mut root_rec = rec(pid, TREE_NO_PARENT, pid, TreeState::Running);
    root_rec.pdeath_signal = 0;
    let mut child_rec = rec(pid + 1, 0, pid + 1, TreeState::Running);
    child_rec.pdeath_signal = 15;
    vec![
        TreeMemberDesc { desc: Some(root), process: root_rec, files: vec![tf(0, 0, 0), tf(3, 1, 1)], regions: vec![tr(shm, 2)] },
        TreeMemberDesc { desc: Some(child), process: child_rec, files: vec![tf(0, 0, 0), tf(3, 1, 1)], regions: vec![tr(shm, 2)] },
        TreeMemberDesc { desc: None, process: zombie, files: vec![], regions: vec![] },
        TreeMemberDesc {
            desc: Some(grandchild),
            process: rec(pid + 3, 1, pid + 1, TreeState::Stopped),
            files: vec![],
            regions: vec![],
        },
    ]
}

/// Writes a tree, validated.
pub fn build_tree(members: &[TreeMemberDesc]) -> Vec<u8> {
    let mut out = Vec::new();
    let n = write_tree(members, &mut out, |_, addr, buf| fill(addr, buf)).expect("write_tree");
    assert_eq!(n as usize, out.len());
    out
}

/// Writes a tree without validation (hostile trees).
pub fn build_tree_unchecked(members: &[TreeMemberDesc]) -> Vec<u8> {
    let p = prepare_tree(members, &Options { validate: false, ..Options::default() }).expect("prepare_tree");
    let mut out = Vec::new();
    write_tree_prepared(&p, &mut out, |_, addr, buf| fill(addr, buf), Crc32c::update).expect("write_tree_prepared");
    out
}

/// Error name of reading `bytes` as a tree file ("ok" if accepted).
pub fn tree_result(bytes: &[u8]) -> &'static str {
    match parse_tree_bytes(bytes) {
        Ok(_) => "ok",
        Err(e) => e.name(),
    }
}

/// `sample_files` with a TCP connection carried with TCP_REPAIR at fd 19
/// (FILES 10): 127.0.0.1:40000 -> 127.0.0.1:8080, SACK, timestamps,
/// window scales 7 and 6, 3 bytes in the send queue, 2 in the receive
/// queue.
pub fn sample_tcp_repair() -> ImageDesc {
    use image_format::v1::records::{socket_family, tcp_repair_flags};
    use image_format::v1::tcp_repair::{values, write_data, TcpRepair};
    let mut d = sample_files();
    d.fds.push(shared_fd(19, FdKind::Socket, 10, false));
    let (local, peer) = (sockaddr_in(40000), sockaddr_in(8080));
    let c = TcpRepair {
        family: socket_family::INET,
        local: &local,
        peer: &peer,
        window: [1, 65483, 65483, 65483, 2],
        send_seq: 0xfffffff0,
        recv_seq: 12345,
        mss: 65483,
        snd_wscale: 7,
        rcv_wscale: 6,
        timestamp: 99,
        flags: tcp_repair_flags::KNOWN,
        send_queue: b"abc",
        recv_queue: b"xy",
    };
    let mut f = FileDesc::new(FileKind::TcpRepair);
    f.status_flags = 0o2;
    f.values = values(&c);
    f.kind_flags = c.flags;
    let mut data = Vec::new();
    write_data(&c, |b| data.extend_from_slice(b));
    f.data = Blob(data);
    d.files.push(f);
    d
}

/// `sample_files` with a named FIFO at fd 19 (FILES 10): /tmp/f.fifo,
/// its read end, nonblocking, 5 bytes queued.
pub fn sample_fifo() -> ImageDesc {
    let mut d = sample_files();
    d.fds.push(shared_fd(19, FdKind::Pipe, 10, false));
    let mut f = FileDesc::new(FileKind::Fifo);
    f.status_flags = 0o4000;
    f.path = "/tmp/f.fifo".into();
    f.data = Blob(b"queue".to_vec());
    d.files.push(f);
    d
}

/// The sample with every prctl attribute set (PROCESS_ATTRS) and its
/// second thread named.
pub fn with_attrs() -> ImageDesc {
    let mut d = sample();
    d.attrs = image_format::v1::ProcessAttrs { pdeath_signal: 64, flags: 7, oom_score_adj: 0 }; // the golden image's three flags
    d.threads[1].name = "worker-1".into();
    d
}

/// `with_attrs` with credentials: a service that dropped root to uid and
/// gid 1000 with two supplementary groups, keeping CAP_NET_BIND_SERVICE
/// (ambient too), CAP_SYS_MODULE out of its bounding set.
pub fn with_creds() -> ImageDesc {
    let mut d = with_attrs();
    let bind = 1 << 10;
    d.creds = Some(image_format::v1::Creds {
        uid: 1000, euid: 1000, suid: 1000, fsuid: 1000, gid: 1000, egid: 1000, sgid: 1000, fsgid: 1000,
        cap_inheritable: bind, cap_permitted: bind, cap_effective: bind, cap_bounding: ((1 << 41) - 1) & !(1 << 16), cap_ambient: bind,
    });
    d.groups = vec![27, 1000];
    d
}

/// struct termios2 of a raw-mode terminal (cfmakeraw of the defaults):
/// c_cflag CS8|CREAD|B38400, VMIN 1, 38400 baud, c_line 0.
pub fn raw_termios2() -> Vec<u8> {
    let mut t = vec![0u8; 44];
    t[8..12].copy_from_slice(&(0o60 | 0o200 | 0o17u32).to_le_bytes());
    t[17 + 6] = 1; // VMIN
    t[36..40].copy_from_slice(&38400u32.to_le_bytes());
    t[40..44].copy_from_slice(&38400u32.to_le_bytes());
    t
}

/// `sample_files` with terminals: fd 19 a pty master (FILES 10, pty 1,
/// raw termios, 24x80, packet mode, slave 7 at dump), fds 20 and 21 two
/// opens of its slave (FILES 11, 12; the first nonblocking), fd 22 the
/// caller's /dev/tty (FILES 13), fd 23 the caller's terminal on fd 1
/// opened again (FILES 14).
pub fn sample_pty() -> ImageDesc {
    let mut d = sample_files();
    for (fd, file) in [(19, 10), (20, 11), (21, 12), (22, 13), (23, 14)] {
        d.fds.push(shared_fd(fd, FdKind::Tty, file, false));
    }
    let mut master = FileDesc::new(FileKind::PtyMaster);
    master.status_flags = 0o100002;
    master.pipe = 1;
    master.kind_flags = records::pty_flags::PACKET;
    master.data = Blob(raw_termios2());
    master.values[0] = records::pty_winsize::pack([24, 80, 0, 0]);
    master.values[1] = 7;
    let mut slave = FileDesc::new(FileKind::PtySlave);
    slave.status_flags = 0o104002;
    slave.pipe = 1;
    let mut slave2 = slave.clone();
    slave2.status_flags = 0o100002;
    let mut tty = FileDesc::new(FileKind::Terminal);
    tty.status_flags = 0o100002;
    tty.kind_flags = records::terminal_flags::CONTROLLING;
    let mut again = FileDesc::new(FileKind::Terminal);
    again.status_flags = 0o100001;
    again.values[0] = 1;
    d.files.extend([master, slave, slave2, tty, again]);
    d
}
