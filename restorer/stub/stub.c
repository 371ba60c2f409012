// SPDX-License-Identifier: GPL-2.0
/*
 * The restorer stub: user-mode code that runs inside the process being
 * restored, after a restorer (kernel module or userspace) has put its memory
 * back. It does what only the process itself can do: map the vdso, spawn the
 * image's threads, give each its TLS base, robust list, rseq area and cached
 * TID, and finally load every register, the XSAVE state, the signal mask and
 * the alternate signal stack at once through rt_sigreturn on a frame built
 * below each thread's own stack pointer (as the kernel does for a signal).
 *
 * Freestanding: no libc, no relocations, no static data. Everything comes
 * from the plan (plan.h).
 */
#include "plan.h"
#include "syscall.h"
#include "signals.h"
#include "locks.h"

typedef unsigned int u32;

#define SYS_munmap 11
#define SYS_rt_sigreturn 15
#define SYS_exit_group 231
#define SYS_arch_prctl 158
#define SYS_gettid 186
#define SYS_futex 202
#define SYS_set_tid_address 218
#define SYS_set_robust_list 273
#define SYS_rseq 334
#define SYS_rt_sigaction 13
#define SYS_open 2
#define SYS_lseek 8
#define SYS_mprotect 10
#define SYS_chdir 80
#define SYS_umask 95
#define SYS_personality 135
#define SYS_prctl 157
#define SYS_dup3 292
#define SYS_prlimit64 302
#define SYS_close 3
#define SYS_close_range 436
#define SYS_mmap 9
#define SYS_pread64 17
#define SYS_write 1
#define SYS_rt_sigprocmask 14
#define SYS_pause 34
#define SYS_getpid 39
#define SYS_fcntl 72
#define SYS_tgkill 234
#define SIGSEGV 11
#define SIG_UNBLOCK 1
#define F_DUPFD_CLOEXEC 1030
#define MAP_FIXED_NOREPLACE 0x100000
#define PR_SET_PDEATHSIG 1
#define PR_SET_DUMPABLE 4
#define PR_SET_NAME 15
#define PR_SET_CHILD_SUBREAPER 36
#define PR_SET_NO_NEW_PRIVS 38
#define PR_SET_THP_DISABLE 41
#define PR_GET_THP_DISABLE 42
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_CLOEXEC 02000000
#define O_RDONLY 0
#define PR_SET_MM 35
#define PR_SET_MM_MAP 14

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_MAP_VDSO_64 0x2003

#define CLONE_VM 0x100
#define CLONE_FS 0x200
#define CLONE_FILES 0x400
#define CLONE_SIGHAND 0x800
#define CLONE_THREAD 0x10000
#define CLONE_SYSVSEM 0x40000
#define CLONE_SETTLS 0x80000
#define CLONE_CHILD_CLEARTID 0x200000

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define SW_RESERVED_OFFSET 464 /* struct _fpx_sw_bytes inside the legacy FXSAVE area */
#define RED_ZONE 128

/* The x86-64 signal frame as rt_sigreturn reads it (uapi sigcontext/ucontext). */
struct sigcontext64 {
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 di, si, bp, bx, dx, ax, cx, sp, ip, flags;
	unsigned short cs, gs, fs, ss;
	u64 err, trapno, oldmask, cr2;
	u64 fpstate;
	u64 reserved1[8];
};

struct ucontext64 {
	u64 uc_flags;
	u64 uc_link;
	u64 ss_sp;
	u32 ss_flags;
	u32 pad;
	u64 ss_size;
	struct sigcontext64 mc;
	u64 sigmask;
};

struct fpx_sw_bytes {
	u32 magic1;
	u32 extended_size;
	u64 xfeatures;
	u32 xstate_size;
	u32 padding[7];
};

/* Implemented in entry.S. */
long chkpt_clone(u64 flags, u64 stack, u64 ctid, u64 tls, void (*fn)(void *), void *arg);

/* clone3(2)'s arguments, up to set_tid_size (CLONE_ARGS_SIZE_VER1). */
struct clone_args {
	u64 flags, pidfd, child_tid, parent_tid, exit_signal;
	u64 stack, stack_size, tls, set_tid, set_tid_size;
};
long chkpt_clone3(struct clone_args *args, u64 size, void (*fn)(void *), void *arg);
void chkpt_final_child(u64 frame_sp, u64 *threads_left, u32 *go) __attribute__((noreturn));
void chkpt_final_main(u64 unmap_start, u64 unmap_len, u64 frame_sp) __attribute__((noreturn));

/* The compiler may emit calls to these for struct copies. */
void *memcpy(void *dst, const void *src, unsigned long n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, unsigned long n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

/* ---- Failures after the point of no return (plan.h, CHKPT_STEPS) ---- */

static const char *step_name(u64 step)
{
	switch (step) {
#define CHKPT_STEP_NAME(code, id, name) case code: return name;
	CHKPT_STEPS(CHKPT_STEP_NAME)
#undef CHKPT_STEP_NAME
	}
	return "unknown-step";
}

/* What error_detail holds for a step, as the line names it. */
static const char *detail_label(u64 step)
{
	switch (step) {
	case CHKPT_STEP_UNMAP: case CHKPT_STEP_MAP_REGION: case CHKPT_STEP_MAP_PAGES: case CHKPT_STEP_COPY_PAGES: case CHKPT_STEP_PROTECT_REGION:
	case CHKPT_STEP_DEFERRED_PAGES: case CHKPT_STEP_MAP_DEFERRED: case CHKPT_STEP_MADVISE: case CHKPT_STEP_MLOCK:
		return "at 0x"; /* an address, in hex */
	case CHKPT_STEP_CLOSE_FD: case CHKPT_STEP_REOPEN_FD: case CHKPT_STEP_SEEK_FD:
	case CHKPT_STEP_PLACE_FD: case CHKPT_STEP_EPOLL_ADD:
		return "fd ";
	case CHKPT_STEP_OPEN_FILE: case CHKPT_STEP_CREATE_PIPE: case CHKPT_STEP_DUP_STDIO:
	case CHKPT_STEP_SET_FILE_FLAGS: case CHKPT_STEP_CREATE_EVENTFD: case CHKPT_STEP_CREATE_SIGNALFD:
	case CHKPT_STEP_CREATE_TIMERFD: case CHKPT_STEP_CREATE_EPOLL: case CHKPT_STEP_CREATE_MEMFD:
	case CHKPT_STEP_CREATE_UNIX_PAIR:
	case CHKPT_STEP_CREATE_SOCKET: case CHKPT_STEP_BIND_SOCKET: case CHKPT_STEP_LISTEN_SOCKET:
	case CHKPT_STEP_RESET_CONNECTION: case CHKPT_STEP_CREATE_DELETED_FILE: case CHKPT_STEP_INOTIFY_WATCH:
	case CHKPT_STEP_CREATE_PTY: case CHKPT_STEP_PTY_STATE: case CHKPT_STEP_OPEN_PTY_SLAVE:
		return "file ";
	case CHKPT_STEP_SIGACTION: case CHKPT_STEP_QUEUE_SIGNAL:
		return "signal ";
	case CHKPT_STEP_SET_FS_BASE: case CHKPT_STEP_SET_GS_BASE: case CHKPT_STEP_ROBUST_LIST:
	case CHKPT_STEP_RSEQ: case CHKPT_STEP_CLONE_THREAD:
		return "thread ";
	case CHKPT_STEP_SET_RLIMIT:
		return "resource ";
	case CHKPT_STEP_SET_UIDS: case CHKPT_STEP_SET_GIDS:
		return "id ";
	case CHKPT_STEP_SET_CAPABILITIES:
		return "capability ";
	case CHKPT_STEP_SET_GROUPS:
		return "groups ";
	case CHKPT_STEP_CREATE_TIMER: case CHKPT_STEP_SET_TIMER:
		return "timer ";
	case CHKPT_STEP_MEMBARRIER:
		return "command ";
	case CHKPT_STEP_TAKE_LOCK:
		return "fd ";
	case CHKPT_STEP_TREE_CONTROL: case CHKPT_STEP_TREE_PLACE_OBJECT:
		return "fd ";
	case CHKPT_STEP_TREE_FORK: case CHKPT_STEP_TREE_EXEC: case CHKPT_STEP_TREE_GROUP: case CHKPT_STEP_TREE_ZOMBIE:
		return "process ";
	case CHKPT_STEP_TREE_BARRIER:
		return "ready ";
	case CHKPT_STEP_TREE_PDEATH:
		return "signal ";
	case CHKPT_STEP_TREE_SET_PID:
		return "pid ";
	}
	return 0;
}

/* The errnos these steps meet; others are printed as a number only. */
static const char *errno_name(u64 e)
{
	switch (e) {
	case 1: return "EPERM";
	case 2: return "ENOENT";
	case 4: return "EINTR";
	case 5: return "EIO";
	case 6: return "ENXIO";
	case 9: return "EBADF";
	case 11: return "EAGAIN";
	case 12: return "ENOMEM";
	case 13: return "EACCES";
	case 14: return "EFAULT";
	case 16: return "EBUSY";
	case 17: return "EEXIST";
	case 19: return "ENODEV";
	case 20: return "ENOTDIR";
	case 21: return "EISDIR";
	case 22: return "EINVAL";
	case 23: return "ENFILE";
	case 24: return "EMFILE";
	case 26: return "ETXTBSY";
	case 27: return "EFBIG";
	case 29: return "ESPIPE";
	case 30: return "EROFS";
	case 32: return "EPIPE";
	case 36: return "ENAMETOOLONG";
	case 38: return "ENOSYS";
	case 40: return "ELOOP";
	case 75: return "EOVERFLOW";
	case 95: return "EOPNOTSUPP";
	}
	return 0;
}

/* Appends to a line buffer, never past its end. */
struct line {
	char *p, *end;
};

static void put(struct line *l, const char *s)
{
	while (*s && l->p < l->end)
		*l->p++ = *s++;
}

static void put_num(struct line *l, u64 v, u64 base)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && l->p < l->end)
		*l->p++ = digits[--n];
}

/* The one line: <prefix>restore failed ...: <step>[ <detail>]: errno <n> (<NAME>) */
static void report(struct chkpt_plan *plan, u64 step, u64 detail, u64 err)
{
	char buf[512];
	struct line l = { buf, buf + sizeof(buf) - 1 };
	const char *label = detail_label(step), *ename = errno_name(err);

	if (plan->report_fd == ~0ULL)
		return;
	if (plan->report_prefix_offset)
		put(&l, (const char *)plan + plan->report_prefix_offset);
	put(&l, "restore failed after the point of no return: ");
	put(&l, step_name(step));
	if (label) {
		put(&l, " ");
		put(&l, label);
		put_num(&l, detail, label[0] == 'a' ? 16 : 10);
	}
	put(&l, ": errno ");
	put_num(&l, err, 10);
	if (ename) {
		put(&l, " (");
		put(&l, ename);
		put(&l, ")");
	}
	*l.p++ = '\n';
	sys3(SYS_write, plan->report_fd, (u64)buf, (u64)(l.p - buf));
}

/*
 * A step failed after the point of no return: the caller's process image is
 * gone. Record the step in the plan (which a core dump holds), write the
 * one line, and end the process with SIGSEGV as the kernel ends an exec that
 * fails after its point of no return. Only the first failing thread does
 * this; another one waits to be killed with the rest.
 */
static void __attribute__((noreturn)) fail(struct chkpt_plan *plan, u64 step, u64 detail, long err)
{
	u64 none = 0, code = (step << 32) | (u32)(-err);
	struct chkpt_plan_sigaction dfl = { 0, 0, 0, 0 };
	u64 segv = 1ULL << (SIGSEGV - 1);

	if (!__atomic_compare_exchange_n(&plan->error, &none, code, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		for (;;)
			sys1(SYS_pause, 0);
	plan->error_detail = detail;
	report(plan, step, detail, (u64)-err);
	/* Default action (terminate with a core), unblocked: every signal is
	 * blocked here, and the image's handlers may be installed already. */
	sys4(SYS_rt_sigaction, SIGSEGV, (u64)&dfl, 0, 8);
	sys4(SYS_rt_sigprocmask, SIG_UNBLOCK, (u64)&segv, 0, 8);
	sys3(SYS_tgkill, sys1(SYS_getpid, 0), sys1(SYS_gettid, 0), SIGSEGV);
	for (;;)
		sys1(SYS_exit_group, 128 + SIGSEGV); /* not reached */
}

/*
 * Writes the rt_sigreturn frame for `t` below its own stack pointer (below the
 * red zone, the way signal delivery does) and returns the %rsp that
 * rt_sigreturn must see.
 */
static u64 build_frame(struct chkpt_plan *plan, struct chkpt_plan_thread *t)
{
	const u64 *r = t->regs;
	u64 top = (r[R_RSP] - RED_ZONE) & ~63ULL;
	u64 fp = (top - (t->xsave_len + 4)) & ~63ULL;
	unsigned char *fpstate = (unsigned char *)fp;
	struct fpx_sw_bytes *sw;
	struct ucontext64 *uc;
	u32 magic2 = FP_XSTATE_MAGIC2;

	memcpy(fpstate, (const unsigned char *)plan + t->xsave_offset, t->xsave_len);
	sw = (struct fpx_sw_bytes *)(fpstate + SW_RESERVED_OFFSET);
	memset(sw, 0, sizeof(*sw));
	sw->magic1 = FP_XSTATE_MAGIC1;
	sw->extended_size = (u32)t->xsave_len + 4;
	sw->xfeatures = t->xfeatures;
	sw->xstate_size = (u32)t->xsave_len;
	memcpy(fpstate + t->xsave_len, &magic2, 4);

	uc = (struct ucontext64 *)((fp - sizeof(*uc)) & ~15ULL);
	memset(uc, 0, sizeof(*uc));
	uc->uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	uc->ss_sp = t->ss_sp;
	uc->ss_flags = (u32)t->ss_flags;
	uc->ss_size = t->ss_size;
	uc->mc.r8 = r[R_R8];
	uc->mc.r9 = r[R_R9];
	uc->mc.r10 = r[R_R10];
	uc->mc.r11 = r[R_R11];
	uc->mc.r12 = r[R_R12];
	uc->mc.r13 = r[R_R13];
	uc->mc.r14 = r[R_R14];
	uc->mc.r15 = r[R_R15];
	uc->mc.di = r[R_RDI];
	uc->mc.si = r[R_RSI];
	uc->mc.bp = r[R_RBP];
	uc->mc.bx = r[R_RBX];
	uc->mc.dx = r[R_RDX];
	uc->mc.ax = r[R_RAX];
	uc->mc.cx = r[R_RCX];
	uc->mc.sp = r[R_RSP];
	uc->mc.ip = r[R_RIP];
	uc->mc.flags = r[R_EFLAGS];
	uc->mc.cs = (unsigned short)r[R_CS];
	uc->mc.ss = (unsigned short)r[R_SS];
	uc->mc.fpstate = fp;
	uc->sigmask = t->sigmask;
	return (u64)uc;
}

void chkpt_apply_sched(struct chkpt_plan *plan, struct chkpt_plan_thread *t, u64 index);
void chkpt_apply_oom(struct chkpt_plan *plan);
void chkpt_install_seccomp(struct chkpt_plan *plan);

/* Per-thread kernel state that only the thread itself can set. None of it
 * is inherited by a CLONE_VM|CLONE_THREAD child except gs_base, which is
 * therefore always set. */
static void thread_setup(struct chkpt_plan *plan, struct chkpt_plan_thread *t, u64 index)
{
	long err;

	if (t->robust_head) {
		err = sys2(SYS_set_robust_list, t->robust_head, t->robust_len);
		if (err < 0)
			fail(plan, CHKPT_STEP_ROBUST_LIST, index, err);
	}
	err = sys2(SYS_arch_prctl, ARCH_SET_GS, t->regs[R_GS_BASE]);
	if (err < 0)
		fail(plan, CHKPT_STEP_SET_GS_BASE, index, err);
	if (t->rseq_addr) {
		err = sys4(SYS_rseq, t->rseq_addr, t->rseq_len, 0, t->rseq_sig);
		if (err < 0)
			fail(plan, CHKPT_STEP_RSEQ, index, err);
	}
	/* glibc's struct pthread.tid holds the dumped TID; a word that does not
	 * (musl points clear_child_tid at a lock) is left alone. */
	if (t->tid_slot && *(volatile u32 *)t->tid_slot == (u32)t->tid_old)
		*(volatile u32 *)t->tid_slot = (u32)sys1(SYS_gettid, 0);
	chkpt_apply_sched(plan, t, index);
	t->status = CHKPT_ST_SETUP;
}

/* The userspace restorer's memory steps (plan.h); none from the module. */
static void run_ops(struct chkpt_plan *plan)
{
	const struct chkpt_plan_op *ops = (const struct chkpt_plan_op *)((const char *)plan + plan->ops_offset);
	u64 i, step, detail;
	long ret;

	for (i = 0; i < plan->nr_ops; i++) {
		const struct chkpt_plan_op *op = &ops[i];

		detail = op->addr;
		switch (op->kind) {
		case CHKPT_OP_MUNMAP:
			step = CHKPT_STEP_UNMAP;
			ret = sys2(SYS_munmap, op->addr, op->len);
			break;
		case CHKPT_OP_MMAP:
			/* A region goes where nothing is; its stored pages over it. */
			step = op->flags & MAP_FIXED_NOREPLACE ? CHKPT_STEP_MAP_REGION : CHKPT_STEP_MAP_PAGES;
			ret = sys6(SYS_mmap, op->addr, op->len, op->prot, op->flags, op->fd, op->offset);
			if (ret >= 0 && (u64)ret != op->addr)
				ret = -17; /* EEXIST: not where the image needs it */
			break;
		case CHKPT_OP_PREAD: {
			u64 done = 0;

			step = CHKPT_STEP_COPY_PAGES;
			ret = 0;
			while (done < op->len) {
				ret = sys4(SYS_pread64, op->fd, op->addr + done, op->len - done, op->offset + done);
				if (ret <= 0) {
					ret = ret ? ret : -5; /* EIO: the image shrank */
					break;
				}
				done += (u64)ret;
			}
			break;
		}
		case CHKPT_OP_MPROTECT:
			step = CHKPT_STEP_PROTECT_REGION;
			ret = sys3(SYS_mprotect, op->addr, op->len, op->prot);
			break;
		case CHKPT_OP_CLOSE:
			step = CHKPT_STEP_CLOSE_FD;
			detail = op->fd;
			ret = sys1(SYS_close, op->fd);
			break;
		default:
			step = CHKPT_STEP_PLAN_INVALID;
			detail = i;
			ret = -22;
		}
		if (ret < 0)
			fail(plan, step, detail, ret);
	}
}

/* fds.c's way to fail a step. */
void __attribute__((noreturn)) chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err)
{
	fail(plan, step, detail, err);
}

/* fds.c: the open file descriptions that fds share. */
void chkpt_restore_files(struct chkpt_plan *plan);

/* deferred.c: regions that map an object the stub creates. */
void chkpt_map_deferred(struct chkpt_plan *plan);
/* advice.c: per-mapping state, once every region is mapped. */
void chkpt_advise_regions(struct chkpt_plan *plan);
/* creds.c: the image's credentials, before the threads are cloned. */
void chkpt_set_creds(struct chkpt_plan *plan);

/* tree.c: process trees (plan.h, struct chkpt_plan_tree); each does
 * nothing in a plan without a tree. */
void chkpt_tree_start(struct chkpt_plan *plan);
u64 chkpt_tree_close_to(struct chkpt_plan *plan);
void chkpt_tree_fork(struct chkpt_plan *plan);
void chkpt_tree_ready(struct chkpt_plan *plan);

/* close_range(from, to) sparing `keep`, the failure line's fd (or ~0);
 * `to` is ~0 but in a tree, whose fds lie above (tree.c). */
static void close_all_from(u64 from, u64 keep, u64 to)
{
	if (to > ~0U)
		to = ~0U;
	if (from > to)
		return;
	if (keep < from || keep > to) {
		sys3(SYS_close_range, from, to, 0);
		return;
	}
	if (keep > from)
		sys3(SYS_close_range, from, keep - 1, 0);
	if (keep < to)
		sys3(SYS_close_range, keep + 1, to, 0);
}

/* Process-wide state that a process sets for itself with plain syscalls
 * (resource limits come last: apply_rlimits). */
/* /proc/PID/exe names the original program where the policy found the
 * caller may (CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN) and the old exe is
 * unmapped by now: PR_SET_MM_MAP with the program's fd and the image's
 * layout, which is already in place. The kernel's refusal (an LSM, the
 * program changed since the checks) leaves the link as it was:
 * documented, never a reason to fail a restore. */
static void set_exe_link(struct chkpt_plan *plan)
{
	char *map;
	long fd;

	if (!plan->exe_offset || !plan->mm_map_offset)
		return;
	fd = sys3(SYS_open, (u64)plan + plan->exe_offset, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	map = (char *)plan + plan->mm_map_offset;
	*(unsigned int *)(map + 100) = (unsigned int)fd; /* exe_fd */
	sys6(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, (u64)map, 104, 0, 0);
	sys1(SYS_close, (u64)fd);
}

static void process_setup(struct chkpt_plan *plan)
{
	const char *base = (const char *)plan;
	struct chkpt_plan_fd *fds = (struct chkpt_plan_fd *)(base + plan->fds_offset);
	u64 i;
	long err, fd;

	if (plan->cwd_offset) {
		err = sys1(SYS_chdir, (u64)(base + plan->cwd_offset));
		if (err < 0)
			fail(plan, CHKPT_STEP_CHDIR, 0, err);
	}
	if (plan->umask != CHKPT_KEEP)
		sys1(SYS_umask, plan->umask);
	if (plan->personality != CHKPT_KEEP) {
		err = sys1(SYS_personality, plan->personality);
		if (err < 0)
			fail(plan, CHKPT_STEP_PERSONALITY, 0, err);
	}
	if (plan->comm_offset)
		sys2(SYS_prctl, PR_SET_NAME, (u64)(base + plan->comm_offset));
	if (plan->close_from != ~0ULL)
		close_all_from(plan->close_from, plan->report_fd, chkpt_tree_close_to(plan));
	for (i = 0; i < plan->nr_fds; i++) {
		struct chkpt_plan_fd *f = &fds[i];
		u64 flags = f->flags & ~(u64)(O_CREAT | O_EXCL | O_TRUNC);

		fd = sys3(SYS_open, (u64)(base + f->path_offset), flags, 0);
		if (fd < 0)
			fail(plan, CHKPT_STEP_REOPEN_FD, f->fd, fd);
		if ((u64)fd != f->fd) {
			err = sys3(SYS_dup3, fd, f->fd, flags & O_CLOEXEC);
			if (err < 0)
				fail(plan, CHKPT_STEP_REOPEN_FD, f->fd, err);
			sys1(SYS_close, fd);
		}
		if (f->offset != ~0ULL) {
			err = sys3(SYS_lseek, f->fd, f->offset, 0);
			if (err < 0)
				fail(plan, CHKPT_STEP_SEEK_FD, f->fd, err);
		}
	}
	chkpt_restore_files(plan);
}

/*
 * The image's resource limits, last: the original process reached its
 * state with them in place, which is not true of the steps before (a
 * process may lower RLIMIT_NOFILE below an fd it holds, or RLIMIT_AS below
 * what the plan and the stub add).
 */
static void apply_rlimits(struct chkpt_plan *plan)
{
	struct chkpt_plan_rlimit now;
	u64 i;
	long err;

	for (i = 0; i < CHKPT_NRLIMIT; i++) {
		struct chkpt_plan_rlimit want = plan->rlimits[i];

		if (sys4(SYS_prlimit64, 0, i, 0, (u64)&now) < 0)
			continue;
		/* Never above the caller's hard limit: restoring grants nothing. */
		if (want.max > now.max)
			want.max = now.max;
		if (want.cur > want.max)
			want.cur = want.max;
		/* Most limits are the caller's already: one system call each. */
		if (want.cur == now.cur && want.max == now.max)
			continue;
		err = sys4(SYS_prlimit64, 0, i, (u64)&want, 0);
		if (err < 0)
			fail(plan, CHKPT_STEP_SET_RLIMIT, i, err);
	}
}

/*
 * A spawned thread's argument, on its own restored stack below the frame it
 * builds; `go` stays there, mapped, after the plan is gone: the thread waits
 * on it in the final page until the first thread lets every thread resume.
 */
struct child_arg {
	struct chkpt_plan *plan;
	u64 index;
	u32 go;
};

/* This thread's pending signals (and for the first, the process's), before
 * the resource limits: the original queued them under its own limits. */
static void queue_signals(struct chkpt_plan *plan, u64 index)
{
	u64 signo = 0;
	long err = chkpt_queue_signals(plan, index, &signo);

	if (err < 0)
		fail(plan, CHKPT_STEP_QUEUE_SIGNAL, signo, err);
}

/* The timers, after the pending signals (a timer that fires now queues
 * behind them) and once every thread knows its new tid. */
static void create_timers(struct chkpt_plan *plan)
{
	u64 step = 0, detail = 0;
	long err;

	plan->threads[0].new_tid = (u64)sys1(SYS_gettid, 0);
	err = chkpt_create_timers(plan, &step, &detail);
	if (err < 0)
		fail(plan, step, detail, err);
}

/* File locks, once every fd is in place (process_setup), before any
 * restored thread runs. */
static void take_locks(struct chkpt_plan *plan)
{
	u64 fd = 0;
	long err = chkpt_take_locks(plan, &fd);

	if (err < 0)
		fail(plan, CHKPT_STEP_TAKE_LOCK, fd, err);
}

/* The prctl attributes, once every other step of the process is done
 * (the tree's barrier aside): the subreaper mark, no_new_privs, the
 * parent-death signal of a process of no tree (a tree's processes die
 * with their parent until the barrier; tree.c sets theirs after it),
 * and "not dumpable" last, since /proc/self is root's from then on. */
static void apply_attrs(struct chkpt_plan *plan)
{
	long err;

	if (plan->attr_flags & 1) {
		err = sys2(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1);
		if (err < 0)
			fail(plan, CHKPT_STEP_PROCESS_ATTRS, PR_SET_CHILD_SUBREAPER, err);
	}
	if (plan->attr_flags & 2) {
		err = sys6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
		if (err < 0)
			fail(plan, CHKPT_STEP_PROCESS_ATTRS, PR_SET_NO_NEW_PRIVS, err);
	}
	/* Unlike the others this one survives execve: the caller's setting
	 * is replaced by the image's either way. */
	if ((u64)sys6(SYS_prctl, PR_GET_THP_DISABLE, 0, 0, 0, 0, 0) != !!(plan->attr_flags & 8)) {
		err = sys6(SYS_prctl, PR_SET_THP_DISABLE, !!(plan->attr_flags & 8), 0, 0, 0, 0);
		if (err < 0)
			fail(plan, CHKPT_STEP_PROCESS_ATTRS, PR_SET_THP_DISABLE, err);
	}
	if (plan->pdeath_signal && !plan->tree_offset) {
		err = sys2(SYS_prctl, PR_SET_PDEATHSIG, plan->pdeath_signal);
		if (err < 0)
			fail(plan, CHKPT_STEP_PROCESS_ATTRS, PR_SET_PDEATHSIG, err);
	}
	chkpt_apply_oom(plan);
	if (plan->attr_flags & 4) {
		err = sys2(SYS_prctl, PR_SET_DUMPABLE, 0);
		if (err < 0)
			fail(plan, CHKPT_STEP_PROCESS_ATTRS, PR_SET_DUMPABLE, err);
	}
}

/* membarrier registrations belong to the mm: once, by any thread. */
static void register_membarrier(struct chkpt_plan *plan)
{
	u64 cmd = 0;
	long err = chkpt_register_membarrier(plan, &cmd);

	if (err < 0)
		fail(plan, CHKPT_STEP_MEMBARRIER, cmd, err);
}

static struct child_arg *child_arg_of(struct chkpt_plan_thread *t)
{
	u64 frame_room = RED_ZONE + t->xsave_len + 4 + sizeof(struct ucontext64) + 256;
	u64 stack = (t->regs[R_RSP] - frame_room) & ~63ULL;

	return (struct child_arg *)(stack - sizeof(struct child_arg));
}

static void child_main(void *p)
{
	struct child_arg *arg = p;
	struct chkpt_plan *plan = arg->plan;
	struct chkpt_plan_thread *t = &plan->threads[arg->index];

	t->status = CHKPT_ST_STARTED;
	t->new_tid = (u64)sys1(SYS_gettid, 0);
	/* A clone starts with the comm of the thread that made it. Cannot
	 * fail for a NUL-terminated name (the plan pads it). */
	if (t->name[0])
		sys2(SYS_prctl, PR_SET_NAME, (u64)t->name);
	thread_setup(plan, t, arg->index);
	queue_signals(plan, arg->index);
	t->status = CHKPT_ST_FRAME;
	chkpt_final_child(build_frame(plan, t), &plan->threads_left, &arg->go);
}

void __attribute__((noreturn)) stub_main(struct chkpt_plan *plan)
{
	struct chkpt_plan_thread *main_thread = &plan->threads[0];
	u64 flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
		    CLONE_SYSVSEM | CLONE_SETTLS | CLONE_CHILD_CLEARTID;
	u64 i, frame;
	long err;

	if (plan->magic != CHKPT_PLAN_MAGIC || plan->nr_threads == 0)
		fail(plan, CHKPT_STEP_PLAN_INVALID, 0, -22);
	/* The caller's fd for the failure line, out of the way of every fd the
	 * restore closes or reopens (plan.h). F_DUPFD takes an int. */
	if (plan->report_fd != ~0ULL) {
		err = plan->report_min <= 0x7fffffff ? sys3(SYS_fcntl, plan->report_fd, F_DUPFD_CLOEXEC, plan->report_min) : -22;
		plan->report_fd = err < 0 ? ~0ULL : (u64)err;
	}
	main_thread->status = CHKPT_ST_STARTED;
	chkpt_tree_start(plan); /* the image's fd, before the memory steps close it */
	run_ops(plan);
	set_exe_link(plan);
	if (plan->stub_len) {
		/* No page of the process stays writable and executable. */
		err = sys3(SYS_mprotect, plan->stub_start, plan->stub_len, 1 | 4);
		if (err < 0)
			fail(plan, CHKPT_STEP_PROTECT_STUB, 0, err);
	}
	process_setup(plan);
	/* After the fds and tree objects it maps exist. */
	chkpt_map_deferred(plan);
	chkpt_advise_regions(plan);
	take_locks(plan);

	if (plan->vdso_base) {
		err = sys2(SYS_arch_prctl, ARCH_MAP_VDSO_64, plan->vdso_base);
		if (err < 0)
			fail(plan, CHKPT_STEP_MAP_VDSO, 0, err);
	}
	/* Children fork from a process with its fds and its vdso (the module
	 * compares the vdso of the task that executes the image with the
	 * image's), one thread, no timer. */
	chkpt_tree_fork(plan);

	/* Signals stay blocked (the restorer entered with all blocked) until
	 * each thread's rt_sigreturn installs its own mask. */
	for (i = 1; i <= CHKPT_NSIG; i++) {
		if (i == 9 || i == 19) /* SIGKILL, SIGSTOP */
			continue;
		err = sys4(SYS_rt_sigaction, i, (u64)&plan->sigactions[i - 1], 0, 8);
		if (err < 0)
			fail(plan, CHKPT_STEP_SIGACTION, i, err);
	}

	/* Credentials belong to each thread: taken on before the clones,
	 * which inherit them. */
	chkpt_set_creds(plan);

	/* The first thread's own state first: clones do not inherit it. */
	sys1(SYS_set_tid_address, main_thread->clear_child_tid); /* returns the TID */
	err = sys2(SYS_arch_prctl, ARCH_SET_FS, main_thread->regs[R_FS_BASE]);
	if (err < 0)
		fail(plan, CHKPT_STEP_SET_FS_BASE, 0, err);
	thread_setup(plan, main_thread, 0);

	plan->threads_left = plan->nr_threads - 1;
	for (i = 1; i < plan->nr_threads; i++) {
		struct chkpt_plan_thread *t = &plan->threads[i];
		struct child_arg *arg = child_arg_of(t);
		/* The child runs below its argument, on its own stack. */
		u64 stack = ((u64)arg - 64) & ~15ULL;

		arg->plan = plan;
		arg->index = i;
		arg->go = 0;
		if (plan->keep_tids) {
			/* The thread gets its TID at dump: the restorer checked
			 * that this process may choose TIDs in its PID namespace. */
			int tid = (int)t->tid_old;
			struct clone_args ca = {
				.flags = flags, .child_tid = t->clear_child_tid,
				.stack = stack - 64, .stack_size = 64, .tls = t->regs[R_FS_BASE],
				.set_tid = (u64)&tid, .set_tid_size = 1,
			};

			err = chkpt_clone3(&ca, sizeof(ca), child_main, arg);
		} else {
			err = chkpt_clone(flags, stack, t->clear_child_tid, t->regs[R_FS_BASE], child_main, arg);
		}
		if (err < 0)
			fail(plan, CHKPT_STEP_CLONE_THREAD, i, err);
	}

	/* Wait until every child has set itself up and built its frame. */
	for (;;) {
		u64 left = __atomic_load_n(&plan->threads_left, __ATOMIC_SEQ_CST);

		if (left == 0)
			break;
		sys4(SYS_futex, (u64)&plan->threads_left, FUTEX_WAIT, left, 0);
	}
	queue_signals(plan, 0);
	create_timers(plan);
	register_membarrier(plan);
	apply_rlimits(plan);
	frame = build_frame(plan, main_thread);
	main_thread->status = CHKPT_ST_FRAME;
	apply_attrs(plan);
	/* Every process of a tree is ready, or none resumes. */
	chkpt_tree_ready(plan);
	/* Stopped at dump: stopped again, every thread ready (a tree's
	 * member stops in chkpt_tree_ready). SIGCONT resumes it here. */
	if ((plan->attr_flags & 16) && !plan->tree_offset) {
		err = sys3(SYS_tgkill, sys1(SYS_getpid, 0), sys1(SYS_gettid, 0), 19 /* SIGSTOP */);
		if (err < 0)
			fail(plan, CHKPT_STEP_PROCESS_ATTRS, 19, err);
	}
	chkpt_install_seccomp(plan);

	/* Nothing can fail any more: the failure line's fd goes, then every
	 * thread resumes, the spawned ones first. */
	if (plan->report_fd != ~0ULL)
		sys1(SYS_close, plan->report_fd);
	for (i = 1; i < plan->nr_threads; i++) {
		struct child_arg *arg = child_arg_of(&plan->threads[i]);

		__atomic_store_n(&arg->go, 1, __ATOMIC_SEQ_CST);
		sys3(SYS_futex, (u64)&arg->go, FUTEX_WAKE, 0x7fffffff);
	}
	chkpt_final_main(plan->unmap_start, plan->unmap_len, frame);
}
