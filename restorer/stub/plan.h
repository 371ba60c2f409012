/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The restore plan: what a restorer (the kernel module, or the userspace
 * restorer behind binfmt_misc) hands to the stub, in memory, at the address in
 * %rdi when it enters the stub. All fields are little-endian u64 at fixed
 * offsets; restorer/plan/src/plan.rs mirrors them and restorer/plan/tests/plan.rs
 * checks the offsets, the constants and the step list against this file.
 *
 * The plan lives in the "plan area", which the stub unmaps before the last
 * thread resumes, together with the stub's body. What stays is the stub's
 * final page (see entry.S).
 */
#ifndef CHKPT_PLAN_H
#define CHKPT_PLAN_H

#define CHKPT_PLAN_MAGIC 0x314e4c5054504b43ULL /* "CKPTPLN1" */

/* Indices into chkpt_plan_thread.regs: Linux's struct user_regs_struct order. */
enum {
	R_R15, R_R14, R_R13, R_R12, R_RBP, R_RBX, R_R11, R_R10, R_R9, R_R8,
	R_RAX, R_RCX, R_RDX, R_RSI, R_RDI, R_ORIG_RAX, R_RIP, R_CS, R_EFLAGS,
	R_RSP, R_SS, R_FS_BASE, R_GS_BASE, R_DS, R_ES, R_FS, R_GS, R_COUNT
};

struct chkpt_plan_thread {
	unsigned long long regs[R_COUNT];
	unsigned long long sigmask;         /* blocked signals, bit n-1 for signal n */
	unsigned long long ss_sp, ss_flags, ss_size; /* sigaltstack */
	unsigned long long clear_child_tid; /* set_tid_address / CLONE_CHILD_CLEARTID */
	unsigned long long robust_head, robust_len; /* 0: none */
	unsigned long long rseq_addr, rseq_len, rseq_sig; /* 0: not registered */
	unsigned long long tid_slot;        /* where the C library may cache this thread's TID; 0: none */
	unsigned long long tid_old;         /* the TID at dump: tid_slot is rewritten only if it holds this */
	unsigned long long xsave_offset;    /* from the plan's start; 64-byte aligned */
	unsigned long long xsave_len;       /* bytes of XSAVE area (standard format) */
	unsigned long long xfeatures;       /* XCR0 bits the area may hold */
	unsigned long long status;          /* written by the stub: how far it got (diagnostics) */
	unsigned long long new_tid;         /* written by the stub: the thread's tid in the restored process */
	unsigned long long name[2];         /* the thread's own name, NUL padded; 0: the process's comm */
	unsigned long long sched_policy;    /* sched_setattr (sched.c); ~0: the caller's scheduling is kept */
	unsigned long long sched_flags, sched_nice, sched_priority;
	unsigned long long ioprio;          /* ioprio_set; ~0 with sched_policy */
	unsigned long long affinity_set;    /* 1: affinity is a mask for sched_setaffinity */
	unsigned long long affinity[16];    /* CPUs 0..1023, bit n for CPU n */
};

/* One signal action, as rt_sigaction takes it (struct kernel_sigaction). */
struct chkpt_plan_sigaction {
	unsigned long long handler;         /* SIG_DFL 0, SIG_IGN 1, or an address */
	unsigned long long flags;
	unsigned long long restorer;
	unsigned long long mask;
};

#define CHKPT_NSIG 64
#define CHKPT_NRLIMIT 16
#define CHKPT_KEEP (~0ULL) /* "leave as the caller had it" for umask and personality */

/* One resource limit from the image; the stub never raises a hard limit. */
struct chkpt_plan_rlimit {
	unsigned long long cur, max;        /* RLIM_INFINITY is ~0 */
};

/* A file descriptor the stub reopens by path with the caller's credentials. */
struct chkpt_plan_fd {
	unsigned long long fd;
	unsigned long long flags;           /* open(2) flags; O_CREAT, O_EXCL, O_TRUNC never reach open */
	unsigned long long offset;          /* lseek(SEEK_SET) after opening; ~0 for none (not seekable) */
	unsigned long long path_offset;     /* NUL-terminated path, from the plan's start */
};

/*
 * An open file description the stub creates once (restorer/stub/fds.c) and
 * puts at every fd number a chkpt_plan_link names, so that the fds share
 * it as they did at dump (offset, status flags, the pipe).
 */
enum {
	CHKPT_FILE_OPEN = 1, /* open(path, flags), lseek(offset) unless ~0 */
	CHKPT_FILE_PIPE = 2, /* one end of a pipe: pipe2 creates it and its peer */
	CHKPT_FILE_DUP = 3,  /* dup of the caller's fd `value` (0-2) */
	CHKPT_FILE_EVENTFD = 4,  /* counter `value`; kind_flags 1: EFD_SEMAPHORE */
	CHKPT_FILE_SIGNALFD = 5, /* mask `value` */
	CHKPT_FILE_EPOLL = 6,    /* interest list: data_len entries of struct chkpt_plan_epoll at data_offset */
	CHKPT_FILE_TIMERFD = 7,  /* clock `value`; value1 left, value2 interval (ns), value3 ticks, value4 absolute */
				 /* expiry; kind_flags 1: absolute, 2: cancel on set */
	CHKPT_FILE_MEMFD = 8,    /* name at path_offset, contents at data_offset, size `value`, seals value1, */
				 /* position `offset` */
	CHKPT_FILE_UNIX_PAIR = 9, /* one end of a unix socket pair: socketpair creates it and its peer; */
				  /* type `value`, bytes queued for reading here at data_offset */
	CHKPT_FILE_SOCKET = 10,  /* family `value`, type value1, backlog value2, kind_flags socket_flags, */
				 /* its sockaddr (data_len bytes) at data_offset; CONNECTED (16): the */
				 /* local address (value3 bytes, maybe none), then the peer's; */
				 /* protocol value4 (netlink's, else 0) */
	CHKPT_FILE_TCP_RESET = 11, /* TCP socket of family `value`, connected over loopback and reset */
	CHKPT_FILE_DELETED = 12, /* O_TMPFILE in the directory at path_offset (else a memfd), contents at */
				 /* data_offset, mode value1, status flags `flags`, position `offset` */
	CHKPT_FILE_INOTIFY = 13, /* data_len watches at data_offset: wd, mask (u64 each), NUL-terminated path, */
				 /* the next 8-aligned */
	CHKPT_FILE_TCP_REPAIR = 14, /* TCP_REPAIR: family `value`, value1 seqs (send low, receive high 32 bits), */
				    /* value2 mss | snd_wscale << 16 | rcv_wscale << 24, value3 timestamp, value4 */
				    /* queue lengths (send low, receive high), kind_flags 1 SACK 2 timestamps 4 */
				    /* wscale; at data_offset local, peer sockaddr, tcp_repair_window, queues */
	CHKPT_FILE_FIFO = 15,       /* named FIFO at path_offset, access mode and O_NONBLOCK in `flags`, */
				    /* queued bytes at data_offset (written back if it is empty) */
	CHKPT_FILE_PTY_MASTER = 16, /* new pty pair from path_offset (/dev/ptmx), status `flags`, the slave's */
				    /* struct termios2 at data_offset, winsize `value`, kind_flags pty_flags; */
				    /* its value1 PTY_SLAVE records follow it (pty.c) */
	CHKPT_FILE_PTY_SLAVE = 17,  /* an open of the slave of the master at `peer`, status `flags` */
};

struct chkpt_plan_file {
	unsigned long long kind;
	unsigned long long flags;           /* OPEN: open(2) flags; PIPE: status flags (O_ACCMODE says which end) */
	unsigned long long offset;          /* OPEN: lseek(SEEK_SET) offset, ~0 for none */
	unsigned long long path_offset;     /* OPEN: NUL-terminated path, from the plan's start */
	unsigned long long peer;            /* PIPE: index of the other end, ~0 if it is gone (closed at restore) */
	unsigned long long data_offset;     /* PIPE: queued bytes, from the plan's start (read end) */
	unsigned long long data_len;
	unsigned long long value;           /* PIPE: pipe size; DUP: the caller's fd */
	unsigned long long temp;            /* the stub's: its fd for the description until placed, ~0 before */
	unsigned long long kind_flags;      /* the image's (pipe, eventfd, timerfd) */
	unsigned long long value1, value2, value3, value4; /* TIMERFD */
	unsigned long long sockopts_offset; /* a socket's struct chkpt_plan_sockopt, from the plan's start, */
	unsigned long long nr_sockopts;     /* set right after it is created (sockets.c) */
	unsigned long long owner;           /* F_OWNER_TID/PID/PGRP this process sets with its own tid, */
					    /* pid or group (F_SETOWN_EX); ~0: not this process's to set */
	unsigned long long owner_signal;    /* F_SETSIG; 0: SIGIO */
};

/* One seccomp filter: len struct sock_filter at code_offset. */
struct chkpt_plan_seccomp {
	unsigned long long flags;           /* SECCOMP_FILTER_FLAG_LOG, SPEC_ALLOW */
	unsigned long long len;
	unsigned long long code_offset;     /* from the plan's start */
};

/* setsockopt(fd, level, name, &value, len): len 4 (an int), 8 (struct
 * linger) or 16 (struct timeval) bytes of value[]. */
struct chkpt_plan_sockopt {
	unsigned long long level;
	unsigned long long name;
	unsigned long long len;
	unsigned long long value[2];
};

/* One entry of an epoll instance's interest list. */
struct chkpt_plan_epoll {
	unsigned long long fd;
	unsigned long long events;
	unsigned long long data;
	unsigned long long inherited;       /* fd is the caller's (0-2): left out if it cannot be watched */
};

/* fd `fd` refers to files[file]. */
struct chkpt_plan_link {
	unsigned long long fd;
	unsigned long long file;
	unsigned long long cloexec;         /* 0 or 1 */
};

/*
 * A signal pending at dump time, queued again by the stub before any
 * restored thread runs (signals.c): process-queue ones by the first thread
 * with rt_sigqueueinfo to its own pid, a thread's own by that thread with
 * rt_tgsigqueueinfo to itself, in array order (the image's queue order).
 */
#define CHKPT_SIGNAL_PROCESS (~0ULL)
#define CHKPT_SIGINFO_WORDS 6 /* struct kernel_siginfo: 48 bytes */

struct chkpt_plan_signal {
	unsigned long long signo;
	unsigned long long thread;          /* index in threads[], or CHKPT_SIGNAL_PROCESS */
	unsigned long long info[CHKPT_SIGINFO_WORDS];
};

/*
 * A timer the stub creates again after the pending signals, before any
 * restored thread runs (signals.c): itimers with setitimer, POSIX timers
 * with timer_create under the same id, then timer_settime. Times are
 * relative, in nanoseconds.
 */
enum {
	CHKPT_TIMER_ITIMER_REAL = 0,
	CHKPT_TIMER_ITIMER_VIRTUAL = 1,
	CHKPT_TIMER_ITIMER_PROF = 2,
	CHKPT_TIMER_POSIX = 3,
};

struct chkpt_plan_timer {
	unsigned long long kind;            /* CHKPT_TIMER_* */
	unsigned long long id;              /* POSIX timer id */
	unsigned long long clock;
	unsigned long long notify;          /* sigev_notify: 0 SIGNAL, 1 NONE, 4 THREAD_ID */
	unsigned long long signo;
	unsigned long long thread;          /* THREAD_ID: index in threads[] */
	unsigned long long value;           /* sigev_value */
	unsigned long long interval_ns;
	unsigned long long remaining_ns;    /* 0: disarmed */
};

/*
 * A file lock the stub takes again through fd once every fd is in place
 * (locks.c), without waiting: flock(LOCK_SH/LOCK_EX | LOCK_NB), or fcntl
 * F_SETLK / F_OFD_SETLK on [start, start + len) from SEEK_SET (len 0: to
 * the end of the file).
 */
enum {
	CHKPT_LOCK_FLOCK = 0,
	CHKPT_LOCK_POSIX = 1,
	CHKPT_LOCK_OFD = 2,
};

struct chkpt_plan_lock {
	unsigned long long fd;
	unsigned long long kind;            /* CHKPT_LOCK_* */
	unsigned long long write;           /* 1 exclusive, 0 shared */
	unsigned long long start;
	unsigned long long len;
};

/*
 * A memory step the stub runs before anything else. The kernel module maps
 * the image itself and passes only MPROTECT steps (a region its pages were
 * copied into through a writable mapping); the userspace restorer, which is the
 * process being replaced, has the stub unmap its old memory and map the
 * image's, because its own code is among what goes away.
 */
enum {
	CHKPT_OP_MUNMAP = 1, /* munmap(addr, len) */
	CHKPT_OP_MMAP = 2,   /* mmap(addr, len, prot, flags, fd, offset) must return addr */
	CHKPT_OP_PREAD = 3,  /* pread(fd, addr, len, offset) must read len bytes */
	CHKPT_OP_CLOSE = 4,  /* close(fd) */
	CHKPT_OP_MPROTECT = 5, /* mprotect(addr, len, prot): a region's own protection after its pages were copied in */
};

struct chkpt_plan_op {
	unsigned long long kind;
	unsigned long long addr, len;
	unsigned long long prot, flags;
	unsigned long long fd;              /* ~0 for none (anonymous mmap) */
	unsigned long long offset;
};

/*
 * A deferred region (deferred.c): one that maps an object the stub itself
 * creates (a memfd or deleted file the process holds, a tree's shared
 * memory). The restorer left [addr, addr + len) reserved (private
 * anonymous memory, holding the region's stored pages if `pages`); once
 * the fds and tree objects exist the stub writes those pages into the
 * object (pwrite at `offset`) and maps the object over the reservation:
 * mmap(addr, len, prot, flags | MAP_FIXED, fd, offset).
 */
struct chkpt_plan_deferred {
	unsigned long long addr, len;
	unsigned long long prot, flags;
	unsigned long long fd;
	unsigned long long offset;
	unsigned long long pages;           /* 1: the reservation holds pages the object must get */
	unsigned long long region;          /* index in the image's REGIONS (diagnostics) */
};

/*
 * Per-mapping state (advice.c) the stub sets again once every region,
 * deferred ones too, is mapped, before a tree forks or any thread runs:
 * madvise(2) for each advice bit, then mlock(2) (the restorer checked the
 * caller's RLIMIT_MEMLOCK). MADV_HUGEPAGE and MADV_NOHUGEPAGE are hints: a
 * kernel without transparent huge pages refuses them (EINVAL), and the
 * region is left without.
 */
#define CHKPT_ADVISE_LOCK       16   /* mlock */
#define CHKPT_ADVISE_DONTFORK   32   /* MADV_DONTFORK */
#define CHKPT_ADVISE_WIPEONFORK 64   /* MADV_WIPEONFORK */
#define CHKPT_ADVISE_DONTDUMP   128  /* MADV_DONTDUMP */
#define CHKPT_ADVISE_HUGEPAGE   256  /* MADV_HUGEPAGE */
#define CHKPT_ADVISE_NOHUGEPAGE 512  /* MADV_NOHUGEPAGE */
#define CHKPT_ADVISE_SEQUENTIAL 1024 /* MADV_SEQUENTIAL */
#define CHKPT_ADVISE_RANDOM     2048 /* MADV_RANDOM */

struct chkpt_plan_advice {
	unsigned long long addr, len;
	unsigned long long advice;          /* CHKPT_ADVISE_* bits: the image's REGIONS flags, as they are */
	unsigned long long region;          /* index in the image's REGIONS (diagnostics) */
};

/*
 * The image's credentials (creds.c), which the stub takes on as its last
 * step before the prctl attributes, where the restorer found the caller
 * may (root in the initial user namespace); ngroups gids (u32 each)
 * follow.
 */
struct chkpt_plan_creds {
	unsigned long long uid, euid, suid, fsuid;
	unsigned long long gid, egid, sgid, fsgid;
	unsigned long long cap_inheritable, cap_permitted, cap_effective, cap_bounding, cap_ambient;
	unsigned long long ngroups;
	unsigned int groups[];
};

struct chkpt_plan {
	unsigned long long magic;
	unsigned long long nr_threads;      /* >= 1; threads[0] is the thread that entered */
	unsigned long long vdso_base;       /* ARCH_MAP_VDSO_64 address (start of [vvar]); 0: none */
	unsigned long long unmap_start;     /* stub body and plan area, unmapped at the very end */
	unsigned long long unmap_len;
	unsigned long long threads_left;    /* futex word: threads that still need the plan */
	unsigned long long error;           /* first failing step: CHKPT_STEP_* << 32 | errno; 0: none */
	unsigned long long stub_start;      /* the stub's body and final page: mapped writable by the */
	unsigned long long stub_len;        /* restorer to copy it in; the stub makes them r-x first */
	unsigned long long cwd_offset;      /* NUL-terminated path from the plan's start; 0: keep */
	unsigned long long comm_offset;     /* NUL-terminated name; 0: keep */
	unsigned long long umask;           /* or CHKPT_KEEP */
	unsigned long long personality;     /* or CHKPT_KEEP */
	unsigned long long fds_offset;      /* array of struct chkpt_plan_fd from the plan's start */
	unsigned long long nr_fds;
	unsigned long long close_from;      /* close every fd >= this before reopening; ~0: close none */
	unsigned long long ops_offset;      /* array of struct chkpt_plan_op from the plan's start, */
	unsigned long long nr_ops;          /* run first, in order (userspace restorer); 0: none */
	unsigned long long error_detail;    /* written by the stub with error: the fd, address, signal, ... */
	unsigned long long report_fd;       /* the caller's fd for the failure line (2), or ~0: none; the */
					    /* stub replaces it by its own duplicate (see CHKPT_STEPS) */
	unsigned long long report_min;      /* that duplicate's lowest number: above every fd it reopens */
	unsigned long long report_prefix_offset; /* NUL-terminated start of the line; 0: none */
	struct chkpt_plan_rlimit rlimits[CHKPT_NRLIMIT]; /* applied within the caller's hard limits */
	struct chkpt_plan_sigaction sigactions[CHKPT_NSIG]; /* [n-1] for signal n */
	unsigned long long files_offset;    /* array of struct chkpt_plan_file from the plan's start */
	unsigned long long nr_files;
	unsigned long long links_offset;    /* array of struct chkpt_plan_link from the plan's start */
	unsigned long long nr_links;
	unsigned long long signals_offset;  /* array of struct chkpt_plan_signal from the plan's start */
	unsigned long long nr_signals;      /* the process queue's first, then each thread's */
	unsigned long long timers_offset;   /* array of struct chkpt_plan_timer from the plan's start */
	unsigned long long nr_timers;
	unsigned long long membarrier;      /* membarrier(2) REGISTER_* commands to issue, one bit each */
	unsigned long long keep_tids;       /* 1: each clone gets its TID at dump (clone3 set_tid; the */
					    /* restorer checked it may), 0: the kernel picks */
	unsigned long long locks_offset;    /* array of struct chkpt_plan_lock from the plan's start */
	unsigned long long nr_locks;
	unsigned long long tree_offset;     /* struct chkpt_plan_tree from the plan's start; 0: no tree */
	unsigned long long deferred_offset; /* array of struct chkpt_plan_deferred from the plan's start */
	unsigned long long nr_deferred;
	unsigned long long exe_offset;      /* NUL-terminated path of the original program, made */
					    /* /proc/PID/exe after the memory steps (PR_SET_MM_MAP with */
					    /* its fd, a failure ignored); 0: the link is kept */
	unsigned long long mm_map_offset;   /* struct prctl_mm_map of the image's values (auxv pointer */
					    /* absolute, exe_fd ~0), for that call */
	unsigned long long pdeath_signal;   /* PR_SET_PDEATHSIG (a process of no tree; tree.c sets a */
					    /* tree's own after its barrier); 0: none */
	unsigned long long attr_flags;      /* 1 PR_SET_CHILD_SUBREAPER, 2 PR_SET_NO_NEW_PRIVS, */
					    /* 4 PR_SET_DUMPABLE 0, 8 PR_SET_THP_DISABLE, 16 stop itself */
					    /* last (the image's PROCESS_ATTRS) */
	unsigned long long advice_offset;   /* array of struct chkpt_plan_advice from the plan's start */
	unsigned long long nr_advice;
	unsigned long long creds_offset;    /* struct chkpt_plan_creds taken on last (creds.c); 0: the */
					    /* caller's are kept */
	unsigned long long oom_score_adj;   /* written to /proc/self/oom_score_adj, plus 1000; ~0: the */
					    /* caller's is kept (sched.c) */
	unsigned long long seccomp_offset;  /* array of struct chkpt_plan_seccomp, oldest first; installed */
	unsigned long long nr_seccomp;      /* last (seccomp.c) */
	struct chkpt_plan_thread threads[];
};

/*
 * Process trees (issue 15, restorer/stub/tree.c): a process of a tree image
 * forks its direct children, each of which re-executes the image with the
 * selector argv (CHKPT_TREE_MARKER, CHKPT_TREE_MARKER, index, fd_base: the
 * marker twice, since binfmt_misc drops argv[0]). The fds from
 * fd_base - CHKPT_TREE_CONTROL_FDS up are the tree's: control fds below
 * fd_base, tree object `o` end `e` at fd_base + 2*o + (e == 2). Every fd
 * of the image, the stub's temporaries for them, the failure line's fd and
 * every fd the restorer holds lie below; the root's temporaries for the
 * tree's fds lie above the last object (tree.c: park).
 */
#define CHKPT_TREE_MARKER "ckpt-tree-member"
#define CHKPT_TREE_CONTROL_FDS 5
#define CHKPT_TREE_IMAGE_FD(base) ((base) - 1)  /* the image, for execveat; not close-on-exec */
#define CHKPT_TREE_READY_FD(base) ((base) - 2)  /* write end of the ready pipe; inherited */
#define CHKPT_TREE_GO_FD(base) ((base) - 3)     /* read end of the go pipe; inherited */
#define CHKPT_TREE_READY_IN_FD(base) ((base) - 4) /* root only, close-on-exec: ready pipe's read end */
#define CHKPT_TREE_GO_OUT_FD(base) ((base) - 5) /* root only, close-on-exec: go pipe's write end */

enum {
	CHKPT_TREE_RUNNING = 0,
	CHKPT_TREE_STOPPED = 1,
	CHKPT_TREE_ZOMBIE = 2,
};

#define CHKPT_TREE_PGID_INHERIT (~0ULL)     /* stays in its parent's process group */
#define CHKPT_TREE_PGID_OWN (~1ULL)         /* a group of its own (setpgid(0, 0)) */

/* A direct child the process forks, in tree order. */
struct chkpt_plan_tree_child {
	unsigned long long index;           /* in the root's TREE: the selector's index */
	unsigned long long state;           /* CHKPT_TREE_*: a zombie is forked and exits, never exec'd */
	unsigned long long exit_status;     /* a zombie's raw wait status */
	unsigned long long setsid;          /* 1: a session of its own */
	unsigned long long pgid;            /* CHKPT_TREE_PGID_*, or the slot in children[] (earlier) whose group it joins */
	unsigned long long pid;             /* written by the stub: its new pid */
	unsigned long long want_pid;        /* its pid at dump: with set_pids, created with it (clone3 set_tid) */
};

struct chkpt_plan_tree {
	unsigned long long index;           /* this process in TREE; 0: the root */
	unsigned long long nr_procs;        /* root: processes in the tree; the barrier wants nr_procs - 1 ready bytes */
	unsigned long long fd_base;
	unsigned long long image_fd;        /* root: the restorer's fd of the image, moved to IMAGE_FD; ~0 otherwise */
	unsigned long long nr_objects;      /* root: tree objects it creates */
	unsigned long long files_offset;    /* root: struct chkpt_plan_file[2 * nr_objects], [2*o + (end == 2)]; */
					    /* kind 0: that end is in no process */
	unsigned long long children_offset; /* struct chkpt_plan_tree_child[nr_children] */
	unsigned long long nr_children;
	unsigned long long pdeath_signal;   /* set once every process is ready; 0: none */
	unsigned long long stopped;         /* 1: stops itself (SIGSTOP) once every process is ready */
	unsigned long long set_pids;        /* 1: PID-namespace mode, children get their pids at dump */
	unsigned long long restorer_offset; /* NUL-terminated path children execute with the image's fd */
					    /* and the selector (ckpt-restore); 0: they execute the image */
};

/*
 * The steps after the point of no return, named once for the stub and both
 * restorers: restorer/plan/src/plan.rs declares the same list (`Step`) and
 * restorer/plan/tests/plan.rs checks that the two agree. Codes and names are
 * stable (logs and scripts match the names); X(code, identifier, name).
 *
 * When a step fails, the stub records it in `error` and `error_detail`,
 * writes one line to `report_fd`:
 *   <prefix>restore failed after the point of no return: <name>[ <detail>]: errno <n> (<ENAME>)
 * and ends the process with SIGSEGV, its default action restored and
 * unblocked (a core dump where they are enabled), as the kernel ends an
 * exec that fails after its point of no return. The caller's fds 0-2 may
 * be replaced by the image's, so at entry the stub duplicates report_fd
 * (close-on-exec, at report_min or above, which is above every fd it
 * reopens), spares the duplicate when it closes the caller's other fds, and
 * closes it just before any restored thread resumes.
 */
#define CHKPT_STEPS(X) \
	/* the stub */ \
	X(1, PLAN_INVALID, "plan-invalid") \
	X(2, UNMAP, "unmap") \
	X(3, MAP_REGION, "map-region") \
	X(4, MAP_PAGES, "map-pages") \
	X(5, COPY_PAGES, "copy-pages") \
	X(6, CLOSE_FD, "close-fd") \
	X(7, PROTECT_STUB, "protect-stub") \
	X(8, CHDIR, "chdir") \
	X(9, PERSONALITY, "personality") \
	X(10, REOPEN_FD, "reopen-fd") \
	X(11, SEEK_FD, "seek-fd") \
	X(12, MAP_VDSO, "map-vdso") \
	X(13, SIGACTION, "sigaction") \
	X(14, SET_FS_BASE, "set-fs-base") \
	X(15, SET_GS_BASE, "set-gs-base") \
	X(16, ROBUST_LIST, "robust-list") \
	X(17, RSEQ, "rseq") \
	X(18, CLONE_THREAD, "clone-thread") \
	X(19, SET_RLIMIT, "set-rlimit") \
	X(20, PROTECT_REGION, "protect-region") \
	X(26, QUEUE_SIGNAL, "queue-signal") \
	X(27, CREATE_TIMER, "create-timer") \
	X(28, SET_TIMER, "set-timer") \
	X(29, MEMBARRIER, "membarrier") \
	/* the kernel module's own, before it enters the stub */ \
	X(32, DROP_ARG_STACK, "drop-arg-stack") \
	X(33, ALLOCATE, "allocate") \
	X(34, MAP_PLAN, "map-plan") \
	X(35, MAP_STUB, "map-stub") \
	X(36, COPY_PLAN, "copy-plan") \
	X(37, COPY_STUB, "copy-stub") \
	X(38, INTERRUPTED_BY_FATAL_SIGNAL, "interrupted-by-fatal-signal") \
	/* restorer/stub/fds.c: open file descriptions */ \
	X(48, OPEN_FILE, "open-file") \
	X(49, CREATE_PIPE, "create-pipe") \
	X(50, DUP_STDIO, "dup-stdio") \
	X(51, SET_FILE_FLAGS, "set-file-flags") \
	X(52, PLACE_FD, "place-fd") \
	X(53, CREATE_EVENTFD, "create-eventfd") \
	X(54, CREATE_SIGNALFD, "create-signalfd") \
	X(55, CREATE_TIMERFD, "create-timerfd") \
	X(56, CREATE_EPOLL, "create-epoll") \
	X(57, EPOLL_ADD, "epoll-add") \
	X(58, CREATE_MEMFD, "create-memfd") \
	X(59, CREATE_UNIX_PAIR, "create-unix-pair") \
	/* restorer/stub/sockets.c */ \
	X(60, CREATE_SOCKET, "create-socket") \
	X(61, BIND_SOCKET, "bind-socket") \
	X(62, LISTEN_SOCKET, "listen-socket") \
	X(63, RESET_CONNECTION, "reset-connection") \
	X(64, CREATE_DELETED_FILE, "create-deleted-file") \
	X(65, INOTIFY_WATCH, "inotify-watch") \
	/* restorer/stub/tcp_repair.c */ \
	X(66, TCP_REPAIR_SOCKET, "tcp-repair-socket") \
	X(67, TCP_REPAIR_SEQUENCE, "tcp-repair-sequence") \
	X(68, TCP_REPAIR_CONNECT, "tcp-repair-connect") \
	X(69, TCP_REPAIR_QUEUES, "tcp-repair-queues") \
	/* restorer/stub/tree.c: process trees */ \
	X(70, TREE_CONTROL, "tree-control") \
	X(71, TREE_PLACE_OBJECT, "tree-place-object") \
	X(72, TREE_FORK, "tree-fork") \
	X(73, TREE_EXEC, "tree-exec") \
	X(74, TREE_GROUP, "tree-group") \
	X(75, TREE_BARRIER, "tree-barrier") \
	X(76, TREE_ZOMBIE, "tree-zombie") \
	X(77, TREE_PDEATH, "tree-pdeath") \
	X(78, TREE_STOP, "tree-stop") \
	X(79, TREE_SET_PID, "tree-set-pid") \
	/* restorer/stub/locks.c: process state */ \
	X(80, TAKE_LOCK, "take-lock") \
	/* restorer/stub/fifo.c */ \
	X(81, OPEN_FIFO, "open-fifo") \
	X(82, FIFO_QUEUE, "fifo-queue") \
	/* restorer/stub/sockets.c: a connected UDP socket */ \
	X(83, CONNECT_SOCKET, "connect-socket") \
	/* restorer/stub/pty.c */ \
	X(110, CREATE_PTY, "create-pty") \
	X(111, PTY_STATE, "pty-state") \
	X(112, OPEN_PTY_SLAVE, "open-pty-slave") \
	/* restorer/stub/deferred.c: regions mapping an object the stub creates */ \
	X(85, DEFERRED_PAGES, "deferred-pages") \
	X(86, MAP_DEFERRED, "map-deferred") \
	/* restorer/stub/stub.c: prctl attributes (detail: the PR_SET_* option) */ \
	X(87, PROCESS_ATTRS, "process-attrs") \
	/* restorer/stub/advice.c: per-mapping state (detail: the region's address) */ \
	X(88, MADVISE, "madvise") \
	X(89, MLOCK, "mlock") \
	/* restorer/stub/creds.c: credentials (detail: the id or capability) */ \
	X(90, SET_GROUPS, "set-groups") \
	X(91, SET_GIDS, "set-gids") \
	X(92, SET_UIDS, "set-uids") \
	X(93, SET_CAPABILITIES, "set-capabilities") \
	X(94, SET_SOCKET_OPTION, "set-socket-option") \
	X(95, SET_FILE_OWNER, "set-file-owner") \
	X(96, SCHED, "sched") \
	X(97, SECCOMP, "seccomp")

enum chkpt_step {
#define CHKPT_STEP_ENUM(code, id, name) CHKPT_STEP_##id = code,
	CHKPT_STEPS(CHKPT_STEP_ENUM)
#undef CHKPT_STEP_ENUM
};

/* chkpt_plan_thread.status values */
#define CHKPT_ST_STARTED 1
#define CHKPT_ST_SETUP   2
#define CHKPT_ST_FRAME   3

#endif
