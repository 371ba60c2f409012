//! The plan builder against the stub's C header and a realistic image.

#[path = "../../../image-format/tests/common/mod.rs"]
mod common;

use image_format::{FdDisposition, FdKind, Image};
use restore_plan::*;
use std::process::Command;

fn word(plan: &[u8], byte_off: u64) -> u64 {
    let o = byte_off as usize;
    u64::from_le_bytes(plan[o..o + 8].try_into().unwrap())
}

fn cstr(plan: &[u8], byte_off: u64) -> &[u8] {
    let s = &plan[byte_off as usize..];
    &s[..s.iter().position(|&b| b == 0).unwrap()]
}

/// plan.h is the stub's truth; the C compiler reports its offsets.
#[test]
fn word_offsets_match_plan_h() {
    let dir = std::env::temp_dir().join(format!("plan-offsets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let header = concat!(env!("CARGO_MANIFEST_DIR"), "/../stub/plan.h");
    let mut c = format!("#include <stdio.h>\n#include <stddef.h>\n#include \"{header}\"\nint main(void) {{\n");
    let mut want = Vec::new();
    let mut field = |name: &str, expr: &str, v: usize| {
        c += &format!("printf(\"{name} %zu\\n\", (size_t)({expr}));\n");
        want.push(format!("{name} {v}"));
    };
    let h = [
        ("magic", head::MAGIC), ("nr_threads", head::NR_THREADS), ("vdso_base", head::VDSO_BASE),
        ("unmap_start", head::UNMAP_START), ("unmap_len", head::UNMAP_LEN),
        ("threads_left", head::THREADS_LEFT), ("error", head::ERROR), ("stub_start", head::STUB_START),
        ("stub_len", head::STUB_LEN), ("cwd_offset", head::CWD_OFFSET), ("comm_offset", head::COMM_OFFSET),
        ("umask", head::UMASK), ("personality", head::PERSONALITY), ("fds_offset", head::FDS_OFFSET),
        ("nr_fds", head::NR_FDS), ("close_from", head::CLOSE_FROM), ("ops_offset", head::OPS_OFFSET),
        ("nr_ops", head::NR_OPS), ("error_detail", head::ERROR_DETAIL), ("report_fd", head::REPORT_FD),
        ("report_min", head::REPORT_MIN), ("report_prefix_offset", head::REPORT_PREFIX_OFFSET),
        ("rlimits", head::RLIMITS), ("sigactions", head::SIGACTIONS),
        ("files_offset", head::FILES_OFFSET), ("nr_files", head::NR_FILES),
        ("links_offset", head::LINKS_OFFSET), ("nr_links", head::NR_LINKS),
        ("signals_offset", head::SIGNALS_OFFSET), ("nr_signals", head::NR_SIGNALS),
        ("timers_offset", head::TIMERS_OFFSET), ("nr_timers", head::NR_TIMERS), ("membarrier", head::MEMBARRIER), ("keep_tids", head::KEEP_TIDS),
        ("locks_offset", head::LOCKS_OFFSET), ("nr_locks", head::NR_LOCKS),
        ("tree_offset", head::TREE_OFFSET), ("deferred_offset", head::DEFERRED_OFFSET),
        ("nr_deferred", head::NR_DEFERRED), ("exe_offset", head::EXE_OFFSET), ("mm_map_offset", head::MM_MAP_OFFSET),
        ("pdeath_signal", head::PDEATH_SIGNAL), ("attr_flags", head::ATTR_FLAGS),
        ("advice_offset", head::ADVICE_OFFSET), ("nr_advice", head::NR_ADVICE), ("creds_offset", head::CREDS_OFFSET),
        ("threads", head::THREADS),
    ];
    for (n, w) in h {
        field(n, &format!("offsetof(struct chkpt_plan, {n})"), w * 8);
    }
    field("sizeof_plan", "sizeof(struct chkpt_plan)", head::THREADS * 8);
    let t = [
        ("sigmask", thread::SIGMASK), ("ss_sp", thread::SS_SP), ("ss_flags", thread::SS_FLAGS),
        ("ss_size", thread::SS_SIZE), ("clear_child_tid", thread::CLEAR_CHILD_TID),
        ("robust_head", thread::ROBUST_HEAD), ("robust_len", thread::ROBUST_LEN),
        ("rseq_addr", thread::RSEQ_ADDR), ("rseq_len", thread::RSEQ_LEN), ("rseq_sig", thread::RSEQ_SIG),
        ("tid_slot", thread::TID_SLOT), ("tid_old", thread::TID_OLD), ("xsave_offset", thread::XSAVE_OFFSET),
        ("xsave_len", thread::XSAVE_LEN), ("xfeatures", thread::XFEATURES), ("status", thread::STATUS),
        ("new_tid", thread::NEW_TID),
    ];
    for (n, w) in t {
        field(&format!("thread.{n}"), &format!("offsetof(struct chkpt_plan_thread, {n})"), w * 8);
    }
    field("sizeof_thread", "sizeof(struct chkpt_plan_thread)", thread::WORDS * 8);
    field("sizeof_fd", "sizeof(struct chkpt_plan_fd)", FD_WORDS * 8);
    field("sizeof_op", "sizeof(struct chkpt_plan_op)", OP_WORDS * 8);
    let f = [
        ("kind", file::KIND), ("flags", file::FLAGS), ("offset", file::OFFSET), ("path_offset", file::PATH_OFFSET),
        ("peer", file::PEER), ("data_offset", file::DATA_OFFSET), ("data_len", file::DATA_LEN),
        ("value", file::VALUE), ("temp", file::TEMP), ("kind_flags", file::KIND_FLAGS),
        ("value1", file::VALUE1), ("value2", file::VALUE2), ("value3", file::VALUE3), ("value4", file::VALUE4),
    ];
    for (n, w) in f {
        field(&format!("file.{n}"), &format!("offsetof(struct chkpt_plan_file, {n})"), w * 8);
    }
    field("sizeof_file", "sizeof(struct chkpt_plan_file)", FILE_WORDS * 8);
    field("sizeof_link", "sizeof(struct chkpt_plan_link)", LINK_WORDS * 8);
    field("file_open", "CHKPT_FILE_OPEN", file_kind::OPEN as usize);
    field("file_pipe", "CHKPT_FILE_PIPE", file_kind::PIPE as usize);
    field("file_dup", "CHKPT_FILE_DUP", file_kind::DUP as usize);
    field("file_eventfd", "CHKPT_FILE_EVENTFD", file_kind::EVENTFD as usize);
    field("file_signalfd", "CHKPT_FILE_SIGNALFD", file_kind::SIGNALFD as usize);
    field("file_epoll", "CHKPT_FILE_EPOLL", file_kind::EPOLL as usize);
    field("file_timerfd", "CHKPT_FILE_TIMERFD", file_kind::TIMERFD as usize);
    field("file_memfd", "CHKPT_FILE_MEMFD", file_kind::MEMFD as usize);
    field("file_unix_pair", "CHKPT_FILE_UNIX_PAIR", file_kind::UNIX_PAIR as usize);
    field("file_socket", "CHKPT_FILE_SOCKET", file_kind::SOCKET as usize);
    field("file_tcp_reset", "CHKPT_FILE_TCP_RESET", file_kind::TCP_RESET as usize);
    field("file_deleted", "CHKPT_FILE_DELETED", file_kind::DELETED as usize);
    field("file_inotify", "CHKPT_FILE_INOTIFY", file_kind::INOTIFY as usize);
    field("sizeof_epoll", "sizeof(struct chkpt_plan_epoll)", EPOLL_WORDS * 8);
    field("op.offset", "offsetof(struct chkpt_plan_op, offset)", 6 * 8);
    field("sizeof_signal", "sizeof(struct chkpt_plan_signal)", SIGNAL_WORDS * 8);
    field("signal.info", "offsetof(struct chkpt_plan_signal, info)", 2 * 8);
    field("signal_process", "CHKPT_SIGNAL_PROCESS == ~0ULL", usize::from(SIGNAL_PROCESS == !0));
    field("siginfo_words", "CHKPT_SIGINFO_WORDS * 8", image_format::v1::records::SIGINFO_LEN);
    field("sizeof_timer", "sizeof(struct chkpt_plan_timer)", TIMER_WORDS * 8);
    field("timer.remaining_ns", "offsetof(struct chkpt_plan_timer, remaining_ns)", 8 * 8);
    field("timer_posix", "CHKPT_TIMER_POSIX", image_format::TimerKind::Posix as usize);
    field("timer_prof", "CHKPT_TIMER_ITIMER_PROF", image_format::TimerKind::ItimerProf as usize);
    field("sizeof_lock", "sizeof(struct chkpt_plan_lock)", LOCK_WORDS * 8);
    field("lock.len", "offsetof(struct chkpt_plan_lock, len)", 4 * 8);
    field("sizeof_deferred", "sizeof(struct chkpt_plan_deferred)", DEFERRED_WORDS * 8);
    for (n, w) in [("addr", deferred::ADDR), ("len", deferred::LEN), ("prot", deferred::PROT), ("flags", deferred::FLAGS),
        ("fd", deferred::FD), ("offset", deferred::OFFSET), ("pages", deferred::PAGES), ("region", deferred::REGION)] {
        field(&format!("deferred.{n}"), &format!("offsetof(struct chkpt_plan_deferred, {n})"), w * 8);
    }
    field("sizeof_advice", "sizeof(struct chkpt_plan_advice)", ADVICE_WORDS * 8);
    field("sizeof_creds", "sizeof(struct chkpt_plan_creds)", creds::WORDS * 8);
    for (n, w) in [("uid", creds::UID), ("fsgid", creds::FSGID), ("cap_inheritable", creds::CAP_INHERITABLE),
        ("cap_permitted", creds::CAP_PERMITTED), ("cap_effective", creds::CAP_EFFECTIVE), ("cap_bounding", creds::CAP_BOUNDING),
        ("cap_ambient", creds::CAP_AMBIENT), ("ngroups", creds::NGROUPS), ("groups", creds::WORDS)] {
        field(&format!("creds.{n}"), &format!("offsetof(struct chkpt_plan_creds, {n})"), w * 8);
    }
    field("advice.region", "offsetof(struct chkpt_plan_advice, region)", 3 * 8);
    {
        use image_format::records::region_flags as rf;
        for (n, v) in [("LOCK", rf::LOCKED), ("DONTFORK", rf::DONTFORK), ("WIPEONFORK", rf::WIPEONFORK),
            ("DONTDUMP", rf::DONTDUMP), ("HUGEPAGE", rf::HUGEPAGE), ("NOHUGEPAGE", rf::NOHUGEPAGE),
            ("SEQUENTIAL", rf::SEQUENTIAL), ("RANDOM", rf::RANDOM)] {
            field(&format!("advise_{n}"), &format!("CHKPT_ADVISE_{n}"), v as usize);
        }
    }
    field("lock_flock", "CHKPT_LOCK_FLOCK", image_format::LockKind::Flock as usize);
    field("lock_posix", "CHKPT_LOCK_POSIX", image_format::LockKind::Posix as usize);
    field("lock_ofd", "CHKPT_LOCK_OFD", image_format::LockKind::Ofd as usize);
    field("nsig", "CHKPT_NSIG", NSIG);
    field("nrlimit", "CHKPT_NRLIMIT", NRLIMIT);
    field("mmap", "CHKPT_OP_MMAP", op_kind::MMAP as usize);
    field("pread", "CHKPT_OP_PREAD", op_kind::PREAD as usize);
    // Process trees (tree.rs).
    let tw = [
        ("index", tree_word::INDEX), ("nr_procs", tree_word::NR_PROCS), ("fd_base", tree_word::FD_BASE),
        ("image_fd", tree_word::IMAGE_FD), ("nr_objects", tree_word::NR_OBJECTS),
        ("files_offset", tree_word::FILES_OFFSET), ("children_offset", tree_word::CHILDREN_OFFSET),
        ("nr_children", tree_word::NR_CHILDREN), ("pdeath_signal", tree_word::PDEATH_SIGNAL),
        ("stopped", tree_word::STOPPED), ("set_pids", tree_word::SET_PIDS),
    ];
    for (n, w) in tw {
        field(&format!("tree.{n}"), &format!("offsetof(struct chkpt_plan_tree, {n})"), w * 8);
    }
    field("sizeof_tree", "sizeof(struct chkpt_plan_tree)", tree_word::WORDS * 8);
    let tc = [
        ("index", tree_child::INDEX), ("state", tree_child::STATE), ("exit_status", tree_child::EXIT_STATUS),
        ("setsid", tree_child::SETSID), ("pgid", tree_child::PGID), ("pid", tree_child::PID),
        ("want_pid", tree_child::WANT_PID),
    ];
    for (n, w) in tc {
        field(&format!("tree_child.{n}"), &format!("offsetof(struct chkpt_plan_tree_child, {n})"), w * 8);
    }
    field("sizeof_tree_child", "sizeof(struct chkpt_plan_tree_child)", tree_child::WORDS * 8);
    field("tree_zombie", "CHKPT_TREE_ZOMBIE", tree_state::ZOMBIE as usize);
    field("tree_stopped", "CHKPT_TREE_STOPPED", tree_state::STOPPED as usize);
    field("tree_control_fds", "CHKPT_TREE_CONTROL_FDS", TREE_CONTROL_FDS as usize);
    field("tree_pgid_inherit", "CHKPT_TREE_PGID_INHERIT == ~0ULL", usize::from(PGID_INHERIT == !0));
    field("tree_pgid_own", "CHKPT_TREE_PGID_OWN == ~1ULL", usize::from(PGID_OWN == !1));
    field("tree_marker", "sizeof(CHKPT_TREE_MARKER) - 1", TREE_MARKER.len());
    // The step list: plan.h's CHKPT_STEPS is Step, code for code, name for
    // name, and each C identifier is its name in capitals.
    c += "#define PRINT_STEP(code, id, name) printf(\"step %d %s %s\\n\", code, #id, name);\nCHKPT_STEPS(PRINT_STEP)\n";
    for s in Step::ALL {
        want.push(format!("step {} {} {}", *s as u32, s.name().to_uppercase().replace('-', "_"), s.name()));
    }
    c += "return 0;\n}\n";
    std::fs::write(dir.join("o.c"), c).unwrap();
    let cc = Command::new("cc").arg("-o").arg(dir.join("o")).arg(dir.join("o.c")).status().unwrap();
    assert!(cc.success());
    let out = Command::new(dir.join("o")).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let got: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(got, want);
    assert_eq!(PLAN_MAGIC.to_le_bytes(), *b"CKPTPLN1");
}

fn sample_image() -> Vec<u8> {
    let mut desc = common::sample();
    // The leader is not the first thread by TID, so the builder must reorder.
    desc.process.pid = 4243;
    desc.process.membarrier = 0x50; // PRIVATE_EXPEDITED and SYNC_CORE
    // glibc's &pthread->tid: aligned, in writable memory.
    for (i, t) in desc.threads.iter_mut().enumerate() {
        t.state.clear_child_tid = 0x7f00_0000_0990 + 0x100 * i as u64;
    }
    common::build(&desc)
}

#[test]
fn plan_holds_the_image_state() {
    let bytes = sample_image();
    let img = Image::parse_bytes(&bytes).unwrap();
    let ops = [Op { kind: op_kind::MUNMAP, addr: 0x1000, len: 0x2000, prot: 0, flags: 0, fd: KEEP, offset: 0 }];
    let lay = layout(&img, ops.len()).unwrap();
    assert_eq!(lay.len % PAGE, 0);
    let base = 0x7e00_0000_0000u64;
    let place = Placement { plan: base, stub: base + lay.len, stub_len: 2 * PAGE, vdso_base: 0x7fff_f7fb_d000 };
    let mut plan = vec![0xeeu8; lay.len as usize];
    write(&img, &lay, &place, &ops, &mut plan).unwrap();

    let h = |i: usize| word(&plan, (i * 8) as u64);
    assert_eq!(h(head::MAGIC), PLAN_MAGIC);
    assert_eq!(h(head::NR_THREADS), 2);
    assert_eq!(h(head::VDSO_BASE), 0x7fff_f7fb_d000);
    assert_eq!((h(head::UNMAP_START), h(head::UNMAP_LEN)), (base, lay.len + PAGE), "all but the final page");
    assert_eq!((h(head::STUB_START), h(head::STUB_LEN)), (base + lay.len, 2 * PAGE));
    assert_eq!(h(head::THREADS_LEFT), 0);
    assert_eq!(h(head::ERROR), 0);
    assert_eq!(h(head::UMASK), 0o022);
    assert_eq!(h(head::MEMBARRIER), 0x50);
    assert_eq!(h(head::CLOSE_FROM), 3);
    assert_eq!((h(head::ERROR_DETAIL), h(head::REPORT_FD)), (0, STDERR));
    assert_eq!(cstr(&plan, h(head::REPORT_PREFIX_OFFSET)), DEFAULT_REPORT_PREFIX);
    assert_eq!(cstr(&plan, h(head::CWD_OFFSET)), b"/home/user");
    assert_eq!(cstr(&plan, h(head::COMM_OFFSET)), b"sample");
    for (i, r) in img.process.rlimits.iter().enumerate() {
        assert_eq!((h(head::RLIMITS + 2 * i), h(head::RLIMITS + 2 * i + 1)), (r.cur, r.max));
    }
    for (i, sa) in img.sigactions().enumerate() {
        let w = head::SIGACTIONS + 4 * i;
        assert_eq!([h(w), h(w + 1), h(w + 2), h(w + 3)], [sa.handler, sa.flags, sa.restorer, sa.mask]);
    }
    // Memory steps, verbatim.
    let op = h(head::OPS_OFFSET);
    assert_eq!(h(head::NR_OPS), 1);
    assert_eq!((word(&plan, op), word(&plan, op + 8), word(&plan, op + 16)), (op_kind::MUNMAP, 0x1000, 0x2000));

    // Only the fds to reopen are in the plan, with their paths and flags.
    let reopen: Vec<_> = img.fds().filter(|f| f.disposition == FdDisposition::Reopen).collect();
    assert!(!reopen.is_empty() && reopen.len() < img.fd_count() as usize);
    // The stub's duplicate of stderr goes above every fd it reopens.
    let highest = reopen.iter().map(|f| u64::from(f.fd)).max().unwrap();
    assert_eq!(h(head::REPORT_MIN), (highest + 1).max(3));
    assert_eq!(h(head::NR_FDS), reopen.len() as u64);
    for (i, f) in reopen.iter().enumerate() {
        let rec = h(head::FDS_OFFSET) + (i * FD_WORDS * 8) as u64;
        assert_eq!(word(&plan, rec), u64::from(f.fd));
        assert_eq!(word(&plan, rec + 8), open_flags(f));
        assert_eq!(word(&plan, rec + 8) & 0o1700, 0o400, "no O_CREAT/O_EXCL/O_TRUNC, always O_NOCTTY");
        assert_eq!(word(&plan, rec + 8) & 0o2000000 != 0, f.cloexec);
        let want_off = if f.kind == FdKind::Regular { f.offset } else { KEEP };
        assert_eq!(word(&plan, rec + 16), want_off);
        assert_eq!(cstr(&plan, word(&plan, rec + 24)), img.string(f.path));
    }

    // Threads: the leader (TID 4243) first, every register and its XSAVE.
    let threads: Vec<_> = img.threads().collect();
    for (slot, t) in [(0usize, &threads[1]), (1, &threads[0])] {
        let base = ((head::THREADS + slot * thread::WORDS) * 8) as u64;
        let w = |k: usize| word(&plan, base + 8 * k as u64);
        for (k, v) in t.state.regs.to_array().into_iter().enumerate() {
            assert_eq!(w(thread::REGS + k), v, "thread slot {slot} reg {k}");
        }
        assert_eq!(w(thread::SIGMASK), t.state.sigmask);
        assert_eq!(w(thread::SS_FLAGS), u64::from(t.state.altstack.flags));
        assert_eq!(w(thread::CLEAR_CHILD_TID), t.state.clear_child_tid);
        // The sample's clear_child_tid lies in its writable anonymous region.
        assert_eq!((w(thread::TID_SLOT), w(thread::TID_OLD)), (t.state.clear_child_tid, u64::from(t.state.tid)));
        assert_eq!((w(thread::ROBUST_HEAD), w(thread::ROBUST_LEN)), (t.state.robust_list_head, t.state.robust_list_len));
        assert_eq!(
            (w(thread::RSEQ_ADDR), w(thread::RSEQ_LEN), w(thread::RSEQ_SIG)),
            (t.state.rseq.addr, u64::from(t.state.rseq.len), u64::from(t.state.rseq.sig))
        );
        assert_eq!(w(thread::XFEATURES), img.process.xcr0);
        let (xo, xl) = (w(thread::XSAVE_OFFSET), w(thread::XSAVE_LEN));
        assert_eq!(xo % 64, 0);
        assert_eq!(&plan[xo as usize..(xo + xl) as usize], t.xsave);
        assert_eq!(w(thread::STATUS), 0);
    }
    // The temporary stack lies above everything else.
    let last_xsave = word(&plan, ((head::THREADS + thread::WORDS + thread::XSAVE_OFFSET) * 8) as u64);
    assert!(lay.stack_top >= last_xsave + u64::from(img.process.xsave_size) + TEMP_STACK - 64);
    assert!(lay.stack_top < lay.len);
}

/// Pending signals go to the plan in image order, each with the plan slot
/// of its thread (the leader is slot 0 although it is not the first tid).
#[test]
fn plan_holds_the_pending_signals_with_their_threads_slots() {
    let mut desc = common::with_signals();
    desc.process.pid = desc.threads[1].state.tid;
    let other = desc.threads[0].state.tid;
    desc.pending_signals.push(image_format::PendingSignal {
        signo: 50,
        scope: image_format::SignalScope::Thread,
        tid: other,
        siginfo: common::siginfo(50, -1, 77),
    });
    desc.pending_signals.sort_by_key(|p| (p.scope as u32, p.tid));
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let (lay, plan) = planned(&img);
    let h = |i: usize| word(&plan, (i * 8) as u64);
    assert_eq!(h(head::NR_SIGNALS), 6);
    assert_eq!(h(head::SIGNALS_OFFSET), lay.signals);
    let got: Vec<(u64, u64, u64)> = (0..6)
        .map(|i| {
            let rec = lay.signals + (i * SIGNAL_WORDS * 8) as u64;
            (word(&plan, rec), word(&plan, rec + 8), word(&plan, rec + 16 + 24))
        })
        .collect();
    // Process queue, then the first tid's (slot 1), then the leader's (slot 0).
    assert_eq!(
        got,
        vec![(10, SIGNAL_PROCESS, 0), (40, SIGNAL_PROCESS, 7), (40, SIGNAL_PROCESS, 8), (50, 1, 77), (12, 0, 0), (35, 0, 9)]
    );
    let rec = lay.signals as usize;
    assert_eq!(&plan[rec + 16..rec + 64], &desc.pending_signals[0].siginfo);
}

/// Timers go to the plan in image order; a SIGEV_THREAD_ID timer names
/// its thread's plan slot.
#[test]
fn plan_holds_the_timers_with_their_threads_slots() {
    let mut desc = common::with_timers();
    desc.process.pid = desc.threads[1].state.tid;
    desc.timers[4].tid = desc.threads[0].state.tid;
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let (lay, plan) = planned(&img);
    let h = |i: usize| word(&plan, (i * 8) as u64);
    assert_eq!((h(head::NR_TIMERS), h(head::TIMERS_OFFSET)), (5, lay.timers));
    for (i, t) in desc.timers.iter().enumerate() {
        let rec = lay.timers + (i * TIMER_WORDS * 8) as u64;
        let w: Vec<u64> = (0..TIMER_WORDS).map(|k| word(&plan, rec + 8 * k as u64)).collect();
        let thread = if i == 4 { 1 } else { 0 };
        assert_eq!(
            w,
            vec![
                t.kind as u64,
                u64::from(t.id),
                u64::from(t.clock),
                u64::from(t.notify),
                u64::from(t.signo),
                thread,
                t.value,
                t.interval_ns,
                t.remaining_ns
            ],
            "timer {i}"
        );
    }
}

/// A clear_child_tid outside the image's writable memory is no TID slot:
/// the stub would fault reading it.
#[test]
fn a_tid_slot_outside_writable_memory_is_dropped() {
    let mut desc = common::sample();
    desc.threads[0].state.clear_child_tid = 0x5555_5555_4000; // the r-x text
    desc.threads[1].state.clear_child_tid = 0x0000_7000_0000_0000; // unmapped
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let lay = layout(&img, 0).unwrap();
    let place = Placement { plan: 0x10000, stub: 0x10000 + lay.len, stub_len: 2 * PAGE, vdso_base: 0 };
    let mut plan = vec![0u8; lay.len as usize];
    write(&img, &lay, &place, &[], &mut plan).unwrap();
    for slot in 0..2 {
        let base = ((head::THREADS + slot * thread::WORDS) * 8) as u64;
        assert_eq!(word(&plan, base + (thread::TID_SLOT * 8) as u64), 0, "thread slot {slot}");
        assert_ne!(word(&plan, base + (thread::CLEAR_CHILD_TID * 8) as u64), 0, "clear_child_tid itself stays");
    }
}

/// The userspace restorer names itself and the image on the failure line
/// (or asks for no line); a long prefix is cut, never overflows.
#[test]
fn the_failure_line_is_set_by_the_restorer() {
    let bytes = sample_image();
    let img = Image::parse_bytes(&bytes).unwrap();
    let lay = layout(&img, 0).unwrap();
    let place = Placement { plan: 0x10000, stub: 0x10000 + lay.len, stub_len: 2 * PAGE, vdso_base: 0 };
    let mut plan = vec![0u8; lay.len as usize];
    write(&img, &lay, &place, &[], &mut plan).unwrap();
    let comm = cstr(&plan, word(&plan, (head::COMM_OFFSET * 8) as u64)).to_vec();

    set_report(&mut plan, &lay, Some(STDERR), b"ckpt-restore: ./saved.ckpt: ").unwrap();
    assert_eq!(word(&plan, (head::REPORT_FD * 8) as u64), STDERR);
    assert_eq!(cstr(&plan, word(&plan, (head::REPORT_PREFIX_OFFSET * 8) as u64)), b"ckpt-restore: ./saved.ckpt: ");
    let long = vec![b'x'; 1000];
    set_report(&mut plan, &lay, None, &long).unwrap();
    assert_eq!(word(&plan, (head::REPORT_FD * 8) as u64), KEEP);
    assert_eq!(cstr(&plan, word(&plan, (head::REPORT_PREFIX_OFFSET * 8) as u64)), &long[..REPORT_PREFIX_MAX as usize - 1]);
    assert_eq!(cstr(&plan, word(&plan, (head::COMM_OFFSET * 8) as u64)), comm, "the next string is intact");
    assert_eq!(set_report(&mut plan[8..], &lay, None, b""), Err(PlanError::WrongBufferLength));
}

/// TIDs are the kernel's unless the restorer asks for the recorded ones
/// (it checked this process may choose them).
#[test]
fn threads_keep_their_tids_only_when_the_restorer_asks() {
    let bytes = sample_image();
    let img = Image::parse_bytes(&bytes).unwrap();
    let lay = layout(&img, 0).unwrap();
    let place = Placement { plan: 0x10000, stub: 0x10000 + lay.len, stub_len: 2 * PAGE, vdso_base: 0 };
    let mut plan = vec![0u8; lay.len as usize];
    write(&img, &lay, &place, &[], &mut plan).unwrap();
    assert_eq!(word(&plan, (head::KEEP_TIDS * 8) as u64), 0);
    set_keep_tids(&mut plan, &lay, true).unwrap();
    assert_eq!(word(&plan, (head::KEEP_TIDS * 8) as u64), 1);
    // Slots are leader first; each carries its thread's TID at dump.
    let mut in_plan: Vec<u64> = (0..lay.nr_threads as usize)
        .map(|i| word(&plan, ((head::THREADS + i * thread::WORDS + thread::TID_OLD) * 8) as u64))
        .collect();
    let mut recorded: Vec<u64> = img.threads().map(|t| u64::from(t.state.tid)).collect();
    assert_eq!(in_plan[0], u64::from(img.process.pid), "the leader's TID is the PID");
    in_plan.sort_unstable();
    recorded.sort_unstable();
    assert_eq!(in_plan, recorded);
    set_keep_tids(&mut plan, &lay, false).unwrap();
    assert_eq!(word(&plan, (head::KEEP_TIDS * 8) as u64), 0);
    assert_eq!(set_keep_tids(&mut plan[8..], &lay, true), Err(PlanError::WrongBufferLength));
}

#[test]
fn step_codes_and_names_round_trip() {
    for s in Step::ALL {
        assert_eq!(Step::from_code(*s as u64), Some(*s));
        assert_eq!(failed_step((*s as u64) << 32 | 17), Some((*s, 17)));
        assert!(s.name().bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{}", s.name());
    }
    assert_eq!(Step::ReopenFd.name(), "reopen-fd");
    assert_eq!(failed_step(0), None);
}

#[test]
fn bad_buffers_and_placements_are_refused() {
    let bytes = sample_image();
    let img = Image::parse_bytes(&bytes).unwrap();
    let lay = layout(&img, 0).unwrap();
    let place = Placement { plan: 0x10000, stub: 0x10000 + lay.len, stub_len: 2 * PAGE, vdso_base: 0 };
    let mut short = vec![0u8; lay.len as usize - 8];
    assert_eq!(write(&img, &lay, &place, &[], &mut short), Err(PlanError::WrongBufferLength));
    let mut plan = vec![0u8; lay.len as usize];
    let op = Op { kind: op_kind::CLOSE, addr: 0, len: 0, prot: 0, flags: 0, fd: 3, offset: 0 };
    assert_eq!(write(&img, &lay, &place, &[op], &mut plan), Err(PlanError::WrongBufferLength));
    for bad in [
        Placement { stub: place.stub + PAGE, ..place },
        Placement { stub_len: 0, ..place },
        Placement { stub_len: PAGE + 1, ..place },
    ] {
        assert_eq!(write(&img, &lay, &bad, &[], &mut plan), Err(PlanError::BadPlacement));
    }
    assert_eq!(PlanError::BadPlacement.name(), "plan-placement");
}

#[test]
fn an_fd_that_cannot_be_reopened_by_path_is_refused() {
    let mut desc = common::sample();
    let f = desc.fds.iter_mut().find(|f| f.disposition == FdDisposition::Reopen).unwrap();
    f.kind = FdKind::Pipe;
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    assert_eq!(layout(&img, 0), Err(PlanError::UnsupportedFd));
}

/// The kernel module compiles plan.rs with the kernel's rustc as a
/// submodule next to the format's v1 (as `fmt`): keep that building.
#[test]
fn plan_compiles_as_a_kernel_submodule() {
    const RUSTC: &str = "/usr/bin/rustc";
    test_support::skip_unless!(std::path::Path::new(RUSTC).exists(), "{RUSTC} (the kernel's rustc, Debian's rustc-web) is not installed");
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = std::env::temp_dir().join(format!("plan-kcompat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = format!(
        "#![no_std]\n#[allow(dead_code, unused_imports, unreachable_pub, missing_docs)]\n#[path = \"{root}/../../image-format/src/v1/mod.rs\"]\nmod image_format;\nuse image_format as fmt;\n#[path = \"{root}/src/plan.rs\"]\n#[allow(dead_code, missing_docs)]\nmod plan;\npub fn len() -> u64 {{ plan::PAGE }}\n"
    );
    std::fs::write(dir.join("k.rs"), src).unwrap();
    // v1 uses zerocopy: built by the same rustc, as the module does it.
    let zc = format!("{root}/../../build/zerocopy");
    let host = Command::new("bash")
        .args([&format!("{root}/../../image-format/kbuild/zerocopy-host.sh"), &zc, "--host-lib"])
        .env("RUSTC", RUSTC)
        .env("CARGO", env!("CARGO"))
        .output()
        .unwrap();
    assert!(host.status.success(), "{}", String::from_utf8_lossy(&host.stderr));
    let zerocopy = std::fs::read_to_string(format!("{zc}/host.flags")).unwrap();
    let out = Command::new(RUSTC)
        .args(zerocopy.split_whitespace())
        .args(["--edition", "2021", "--crate-type", "lib", "-C", "panic=abort", "-D", "warnings", "--out-dir"])
        .arg(&dir)
        .arg(dir.join("k.rs"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Every open file description once, with its path, pipe peer, size and
/// queued bytes; every fd that shares one as a link; the stub's duplicate
/// of stderr above all of them.
#[test]
fn shared_descriptions_are_planned_once_with_their_fds() {
    let bytes = common::build(&common::sample_files());
    let img = Image::parse_bytes(&bytes).unwrap();
    let lay = layout(&img, 0).unwrap();
    assert_eq!((lay.nr_files, lay.nr_links), (10, 11));
    let base = 0x7e00_0000_0000u64;
    let place = Placement { plan: base, stub: base + lay.len, stub_len: 2 * PAGE, vdso_base: 0 };
    let mut plan = vec![0xeeu8; lay.len as usize];
    write(&img, &lay, &place, &[], &mut plan).unwrap();
    let h = |i: usize| word(&plan, (i * 8) as u64);
    assert_eq!((h(head::NR_FILES), h(head::NR_LINKS)), (10, 11));
    assert_eq!(h(head::REPORT_MIN), 19, "above fd 18, the last shared fd");
    let f = |i: usize, k: usize| word(&plan, h(head::FILES_OFFSET) + ((i * FILE_WORDS + k) * 8) as u64);
    // The shared regular file: opened by path (close-on-exec for the stub's
    // own copy, never a controlling terminal), then moved to its offset.
    assert_eq!(f(0, file::KIND), file_kind::OPEN);
    assert_eq!(f(0, file::FLAGS), u64::from(0o2002 | oflag::NOCTTY | oflag::CLOEXEC));
    assert_eq!(f(0, file::OFFSET), 4096);
    assert_eq!(cstr(&plan, f(0, file::PATH_OFFSET)), b"/tmp/shared.txt");
    // Pipe 1: each end names the other; the read end has the bytes.
    assert_eq!((f(1, file::KIND), f(1, file::PEER), f(2, file::PEER)), (file_kind::PIPE, 2, 1));
    assert_eq!((f(1, file::VALUE), f(1, file::FLAGS), f(2, file::FLAGS)), (65536, 0, 0o4001));
    assert_eq!(f(1, file::DATA_LEN), 3);
    assert_eq!(&plan[f(1, file::DATA_OFFSET) as usize..][..3], b"abc");
    assert_eq!(f(2, file::DATA_LEN), 0);
    // Pipe 2's writer is gone.
    assert_eq!((f(3, file::PEER), f(3, file::DATA_LEN)), (KEEP, 2));
    assert_eq!(&plan[f(3, file::DATA_OFFSET) as usize..][..2], b"de");
    // The caller's fd 1, duplicated.
    assert_eq!((f(4, file::KIND), f(4, file::VALUE)), (file_kind::DUP, 1));
    // eventfd, signalfd, timerfd: their values; epoll: its list, aligned.
    assert_eq!((f(5, file::KIND), f(5, file::VALUE), f(5, file::KIND_FLAGS), f(5, file::FLAGS)), (file_kind::EVENTFD, 5, 1, 0o4002));
    assert_eq!((f(6, file::KIND), f(6, file::VALUE)), (file_kind::SIGNALFD, 1 << 9));
    assert_eq!(f(8, file::KIND), file_kind::TIMERFD);
    let timer = [file::VALUE, file::VALUE1, file::VALUE2, file::VALUE3, file::VALUE4].map(|k| f(8, k));
    assert_eq!(timer, [1, 1_500_000_000, 250_000_000, 3, 0]);
    assert_eq!((f(7, file::KIND), f(7, file::DATA_LEN)), (file_kind::EPOLL, 2));
    let e = f(7, file::DATA_OFFSET);
    assert_eq!(e % 8, 0);
    let entries: Vec<u64> = (0..8).map(|k| word(&plan, e + 8 * k)).collect();
    assert_eq!(entries, [10, 1 | (1 << 31), 0x1234, 0, 14, 1 | (1 << 30), 14, 0]);
    // memfd: name, contents, size, seals, position.
    assert_eq!((f(9, file::KIND), f(9, file::VALUE), f(9, file::VALUE1), f(9, file::OFFSET)), (file_kind::MEMFD, 14, 6, 3));
    assert_eq!(cstr(&plan, f(9, file::PATH_OFFSET)), b"ckpt-test");
    assert_eq!(&plan[f(9, file::DATA_OFFSET) as usize..][..14], b"memfd contents");
    assert!((0..10).all(|i| f(i, file::TEMP) == KEEP));
    let l = |i: usize, k: usize| word(&plan, h(head::LINKS_OFFSET) + ((i * LINK_WORDS + k) * 8) as u64);
    let links: Vec<[u64; 3]> = (0..11).map(|i| [l(i, 0), l(i, 1), l(i, 2)]).collect();
    assert_eq!(links, [[8, 0, 1], [9, 0, 0], [10, 1, 1], [11, 2, 0], [12, 3, 1], [13, 4, 0], [14, 5, 1], [15, 6, 0], [16, 7, 1], [17, 8, 0], [18, 9, 1]]);
}

/// File locks go to the plan in image order, one record each.
#[test]
fn plan_holds_the_locks() {
    let desc = common::with_locks();
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let (lay, plan) = planned(&img);
    let h = |i: usize| word(&plan, (i * 8) as u64);
    assert_eq!((h(head::NR_LOCKS), h(head::LOCKS_OFFSET)), (4, lay.locks));
    for (i, l) in desc.locks.iter().enumerate() {
        let rec = lay.locks + (i * LOCK_WORDS * 8) as u64;
        let w: Vec<u64> = (0..LOCK_WORDS).map(|k| word(&plan, rec + 8 * k as u64)).collect();
        assert_eq!(w, vec![u64::from(l.fd), l.kind as u64, u64::from(l.write), l.start, l.len], "lock {i}");
    }
}

/// Each thread's scheduling goes with its thread record (the leader's
/// first), its affinity mask as the CPU bitmap; oom_score_adj plus 1000 in
/// the header; without SCHED every thread keeps the caller's.
#[test]
fn plan_holds_each_threads_scheduling() {
    let desc = common::with_sched();
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let (_, plan) = planned(&img);
    let h = |i: usize| word(&plan, (i * 8) as u64);
    assert_eq!(h(head::OOM_SCORE_ADJ), 500);
    let t = |i: usize, k: usize| h(head::THREADS + i * thread::WORDS + k);
    let sched = |i: usize| [thread::SCHED_POLICY, thread::SCHED_FLAGS, thread::SCHED_NICE, thread::SCHED_PRIORITY, thread::IOPRIO, thread::AFFINITY_SET].map(|k| t(i, k));
    assert_eq!(sched(0), [3, 1, 5, 0, 2 << 13 | 2, 0]);
    assert_eq!(sched(1), [1, 0, u64::from((-3i32) as u32), 10, 1 << 13, 1]);
    assert_eq!((t(1, thread::AFFINITY), t(1, thread::AFFINITY + 15)), (0b101, 0));
    let bytes = common::build(&common::sample());
    let (_, plan) = planned(&Image::parse_bytes(&bytes).unwrap());
    let h = |i: usize| word(&plan, (i * 8) as u64);
    assert_eq!(h(head::OOM_SCORE_ADJ), KEEP);
    assert!((0..2).all(|i| h(head::THREADS + i * thread::WORDS + thread::SCHED_POLICY) == KEEP));
}

/// A socket's options go with its description, as setsockopt takes
/// them: an int (a buffer size halved), a struct linger, a struct timeval.
#[test]
fn plan_holds_each_sockets_options() {
    let desc = common::with_sockopts();
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let (_, plan) = planned(&img);
    let h = |i: usize| word(&plan, (i * 8) as u64);
    let f = |i: usize, k: usize| word(&plan, h(head::FILES_OFFSET) + ((i * FILE_WORDS + k) * 8) as u64);
    let opts = |i: usize| -> Vec<[u64; SOCKOPT_WORDS]> {
        (0..f(i, file::NR_SOCKOPTS) as usize)
            .map(|n| core::array::from_fn(|k| word(&plan, f(i, file::SOCKOPTS_OFFSET) + ((n * SOCKOPT_WORDS + k) * 8) as u64)))
            .collect()
    };
    assert_eq!(f(10, file::SOCKOPTS_OFFSET) % 8, 0);
    assert_eq!(
        opts(10),
        [[1, 8, 4, 212_992, 0], [1, 9, 4, 1, 0], [1, 13, 8, 1 | 5 << 32, 0], [1, 20, 16, 2, 500_000], [6, 1, 4, 1, 0], [6, 4, 4, 60, 0]]
    );
    assert_eq!(opts(11), [[1, 16, 4, 1, 0]]);
    assert_eq!(opts(12), [[1, 6, 4, 1, 0], [41, 16, 4, 7, 0], [41, 67, 4, 0x10, 0]]);
    // The others have none.
    assert!((0..10).chain([13]).all(|i| f(i, file::NR_SOCKOPTS) == 0));
}

/// Regions with per-mapping state get one advice record each, in image
/// order, with their advice bits; the others none.
#[test]
fn plan_holds_each_regions_advice() {
    use image_format::records::region_flags as rf;
    let mut desc = common::sample();
    desc.regions.retain(|r| r.kind != image_format::RegionKind::SysvShm);
    let heap = desc.regions.iter().position(|r| r.kind == image_format::RegionKind::Heap).unwrap();
    let stack = desc.regions.iter().position(|r| r.kind == image_format::RegionKind::Stack).unwrap();
    desc.regions[heap].flags = rf::LOCKED | rf::WIPEONFORK | rf::HUGEPAGE | rf::SEQUENTIAL;
    desc.regions[stack].flags = rf::DONTFORK | rf::DONTDUMP | rf::NOHUGEPAGE | rf::RANDOM;
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let (lay, plan) = planned(&img);
    let h = |i: usize| word(&plan, (i * 8) as u64);
    assert_eq!((h(head::NR_ADVICE), h(head::ADVICE_OFFSET)), (2, lay.advice));
    let rec = |n: u64| -> Vec<u64> { (0..ADVICE_WORDS).map(|k| word(&plan, lay.advice + n * 32 + 8 * k as u64)).collect() };
    let (hr, sr) = (&desc.regions[heap], &desc.regions[stack]);
    // The image's own bits (plan.h CHKPT_ADVISE_* are those values).
    let want_heap = u64::from(rf::LOCKED | rf::WIPEONFORK | rf::HUGEPAGE | rf::SEQUENTIAL);
    let want_stack = u64::from(rf::DONTFORK | rf::DONTDUMP | rf::NOHUGEPAGE | rf::RANDOM);
    assert_eq!(rec(0), vec![hr.start, hr.end - hr.start, want_heap, heap as u64]);
    assert_eq!(rec(1), vec![sr.start, sr.end - sr.start, want_stack, stack as u64]);
    // None: an empty list, as older plans had.
    let plain = common::build(&common::sample_files());
    let img = Image::parse_bytes(&plain).unwrap();
    assert_eq!(layout(&img, 0).unwrap().nr_advice, 0);
}

/// The image's credentials are in the plan, words then the groups (u32),
/// but the stub takes them on only once the restorer says so
/// (`set_creds`); an image without them has none to take.
#[test]
fn plan_holds_the_credentials_the_restorer_may_turn_on() {
    let mut desc = common::sample();
    desc.regions.retain(|r| r.kind != image_format::RegionKind::SysvShm);
    let c = image_format::v1::Creds { uid: 1000, euid: 1001, suid: 1002, fsuid: 1003, gid: 2000, egid: 2001, sgid: 2002, fsgid: 2003,
        cap_inheritable: 1 << 10, cap_permitted: 1 << 10 | 1 << 12, cap_effective: 1 << 12, cap_bounding: 0xffff, cap_ambient: 1 << 10 };
    desc.creds = Some(c);
    desc.groups = vec![24, 27, 1000];
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let (lay, mut plan) = planned(&img);
    let h = |plan: &[u8], i: usize| word(plan, (i * 8) as u64);
    assert_eq!(h(&plan, head::CREDS_OFFSET), 0, "off until the restorer says");
    set_creds(&mut plan, &img, &lay, true).unwrap();
    assert_eq!(h(&plan, head::CREDS_OFFSET), lay.creds);
    let w: Vec<u64> = (0..creds::WORDS).map(|k| word(&plan, lay.creds + 8 * k as u64)).collect();
    assert_eq!(w, vec![1000, 1001, 1002, 1003, 2000, 2001, 2002, 2003, 1 << 10, 1 << 10 | 1 << 12, 1 << 12, 0xffff, 1 << 10, 3]);
    let g = lay.creds as usize + creds::WORDS * 8;
    assert_eq!(plan[g..g + 12], [24u32, 27, 1000].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()[..]);
    set_creds(&mut plan, &img, &lay, false).unwrap();
    assert_eq!(h(&plan, head::CREDS_OFFSET), 0);
    let plain = common::build(&common::sample_files());
    let img = Image::parse_bytes(&plain).unwrap();
    let lay = layout(&img, 0).unwrap();
    let mut plan = vec![0u8; lay.len as usize];
    write(&img, &lay, &Placement { plan: 0x10_0000, stub: 0x10_0000 + lay.len, stub_len: 2 * PAGE, vdso_base: 0 }, &[], &mut plan).unwrap();
    set_creds(&mut plan, &img, &lay, true).unwrap();
    assert_eq!(h(&plan, head::CREDS_OFFSET), 0, "no credentials recorded: the caller's stay");
}

/// A MAP_SHARED mapping of a memfd the process holds (MAPS_FILE) is a
/// deferred region mapped from the lowest fd of its description, with its
/// prot, MAP_SHARED|MAP_FIXED and file offset, no pages; a tree region a
/// restorer defers (add_deferred) carries its pages; no more than the
/// layout has room for.
#[test]
fn deferred_regions_map_the_description_the_stub_creates() {
    use image_format::records::region_flags;
    let mut desc = common::sample_files();
    desc.regions[3].flags = region_flags::SHARED | region_flags::MAPS_FILE;
    desc.regions[3].file = 9; // the memfd, at fd 18
    desc.regions[3].runs.clear();
    desc.regions[3].file_offset = 0x2000;
    let bytes = common::build(&desc);
    let img = Image::parse_bytes(&bytes).unwrap();
    let (lay, mut plan) = planned(&img);
    let h = |i: usize| word(&plan, (i * 8) as u64);
    assert_eq!(h(head::NR_DEFERRED), 1);
    let r = img.regions().nth(3).unwrap();
    let d = |k: usize| word(&plan, h(head::DEFERRED_OFFSET) + 8 * k as u64);
    assert_eq!((d(deferred::ADDR), d(deferred::LEN), d(deferred::PROT)), (r.start, r.end - r.start, u64::from(r.prot)));
    assert_eq!((d(deferred::FLAGS), d(deferred::FD), d(deferred::OFFSET)), (0x11, 18, 0x2000));
    assert_eq!((d(deferred::PAGES), d(deferred::REGION)), (0, 3));
    // Room for exactly the MAPS_FILE regions (no TREE_REGIONS here).
    assert_eq!(add_deferred(&mut plan, &lay, &img, 4, 42), Err(PlanError::WrongBufferLength));
    assert_eq!(word(&plan, (head::NR_DEFERRED * 8) as u64), 1);
}

/// The layout and plan of `img` with no memory steps, placed at 1 MiB.
fn planned(img: &Image<'_>) -> (Layout, Vec<u8>) {
    let lay = layout(img, 0).unwrap();
    let place = Placement { plan: 0x10_0000, stub: 0x10_0000 + lay.len, stub_len: 2 * PAGE, vdso_base: 0 };
    let mut plan = vec![0u8; lay.len as usize];
    write(img, &lay, &place, &[], &mut plan).unwrap();
    (lay, plan)
}
