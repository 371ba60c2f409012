// SPDX-License-Identifier: GPL-2.0
/*
 * Process trees (plan.h: struct chkpt_plan_tree; restorer/README.md): the
 * root's stub creates the objects the processes share (pipes, files,
 * socket pairs) at fixed fd numbers, every process's stub forks its direct
 * children in tree order, each child re-executes the image with the
 * selector argv so that a restorer (module or ckpt-restore) restores its
 * member into it, and nothing of any image runs until every process is
 * ready (the barrier).
 *
 * Runs after the point of no return, with raw syscalls like stub.c; a
 * failure names its step (CHKPT_STEPS 70-78).
 */
#include "plan.h"
#include "syscall.h"

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_fcntl 72
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_fork 57
#define SYS_exit_group 231
#define SYS_getpid 39
#define SYS_getppid 110
#define SYS_setpgid 109
#define SYS_setsid 112
#define SYS_prctl 157
#define SYS_tgkill 234
#define SYS_gettid 186
#define SYS_waitid 247
#define SYS_dup3 292
#define SYS_pipe2 293
#define SYS_prlimit64 302
#define SYS_execveat 322
#define SYS_execve 59
#define SYS_rt_sigtimedwait 128
#define SYS_close_range 436
#define SYS_clone3 435

#define O_CLOEXEC 02000000
#define F_DUPFD_CLOEXEC 1030
#define F_SETFD 2
#define AT_EMPTY_PATH 0x1000
#define PR_SET_PDEATHSIG 1
#define SIGKILL 9
#define SIGCHLD 17
#define SIGSTOP 19
#define SIG_UNBLOCK 1
#define P_PID 1
#define WEXITED 4
#define WNOWAIT 0x01000000
#define RLIMIT_CORE 4
#define EINTR 4
#define EAGAIN 11
#define EBADF 9
#define EPIPE 32

/* stub.c: records the failed step, writes the failure line, ends the process. */
void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));
/* fds.c: creates files[0..nr) (kind 0: none), each kept at a temporary fd. */
void chkpt_create_files(struct chkpt_plan *plan, struct chkpt_plan_file *files, u64 nr);

void chkpt_tree_objects(struct chkpt_plan *plan);

struct chkpt_plan_tree *chkpt_tree_of(struct chkpt_plan *plan)
{
	return plan->tree_offset ? (struct chkpt_plan_tree *)((char *)plan + plan->tree_offset) : 0;
}

static struct chkpt_plan_tree_child *children_of(struct chkpt_plan *plan, struct chkpt_plan_tree *t)
{
	return (struct chkpt_plan_tree_child *)((char *)plan + t->children_offset);
}

static void must(struct chkpt_plan *plan, long err, u64 step, u64 detail)
{
	if (err < 0)
		chkpt_fail(plan, step, detail, err);
}

/* `fd` moved to `to` (not close-on-exec unless asked), the original closed. */
static void move_fd(struct chkpt_plan *plan, long fd, u64 to, u64 cloexec, u64 step)
{
	if ((u64)fd != to) {
		must(plan, sys3(SYS_dup3, (u64)fd, to, cloexec ? O_CLOEXEC : 0), step, to);
		sys1(SYS_close, (u64)fd);
	}
}

/* The first fd above every tree fd (control fds and objects). */
static u64 tree_top(struct chkpt_plan_tree *t)
{
	return t->fd_base + 2 * t->nr_objects;
}

/* `fd` moved to `top` or above (close-on-exec), the original closed: a
 * new fd lands on the lowest free number, which may be a tree fd not yet
 * placed; parked above all of them, placing one never overwrites another. */
static long park(struct chkpt_plan *plan, long fd, u64 top, u64 step)
{
	long high;

	must(plan, fd, step, top);
	high = sys3(SYS_fcntl, (u64)fd, F_DUPFD_CLOEXEC, top);
	must(plan, high, step, top);
	sys1(SYS_close, (u64)fd);
	return high;
}

/*
 * The root, before the memory steps (which close the restorer's fd of the
 * image): the image at IMAGE_FD for the children's execveat, and the two
 * barrier pipes. Every process inherits the ready pipe's write end and the
 * go pipe's read end; the other two ends are the root's (close-on-exec).
 * The restorer chose fd_base above every fd it holds (its image, mapped
 * files, the failure line's fd), so nothing of its is overwritten here.
 */
void chkpt_tree_start(struct chkpt_plan *plan)
{
	struct chkpt_plan_tree *t = chkpt_tree_of(plan);
	int ready[2], go[2];
	long end[4];
	u64 base, top;

	if (!t || t->index != 0)
		return;
	base = t->fd_base;
	if (base < CHKPT_TREE_CONTROL_FDS || t->image_fd == ~0ULL)
		chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, 0, -22);
	top = tree_top(t);
	/* First the image, wherever its fd is (the module's lies where the
	 * lowest free number was): the moves below may land on it. */
	if (t->image_fd == CHKPT_TREE_IMAGE_FD(base))
		must(plan, sys3(SYS_fcntl, t->image_fd, F_SETFD, 0), CHKPT_STEP_TREE_CONTROL, CHKPT_TREE_IMAGE_FD(base));
	else
		must(plan, sys3(SYS_dup3, t->image_fd, CHKPT_TREE_IMAGE_FD(base), 0), CHKPT_STEP_TREE_CONTROL, CHKPT_TREE_IMAGE_FD(base));
	must(plan, sys2(SYS_pipe2, (u64)ready, O_CLOEXEC), CHKPT_STEP_TREE_CONTROL, 0);
	end[0] = park(plan, ready[0], top, CHKPT_STEP_TREE_CONTROL);
	end[1] = park(plan, ready[1], top, CHKPT_STEP_TREE_CONTROL);
	must(plan, sys2(SYS_pipe2, (u64)go, O_CLOEXEC), CHKPT_STEP_TREE_CONTROL, 0);
	end[2] = park(plan, go[0], top, CHKPT_STEP_TREE_CONTROL);
	end[3] = park(plan, go[1], top, CHKPT_STEP_TREE_CONTROL);
	move_fd(plan, end[0], CHKPT_TREE_READY_IN_FD(base), 1, CHKPT_STEP_TREE_CONTROL);
	move_fd(plan, end[1], CHKPT_TREE_READY_FD(base), 0, CHKPT_STEP_TREE_CONTROL);
	move_fd(plan, end[2], CHKPT_TREE_GO_FD(base), 0, CHKPT_STEP_TREE_CONTROL);
	move_fd(plan, end[3], CHKPT_TREE_GO_OUT_FD(base), 1, CHKPT_STEP_TREE_CONTROL);
	/* The objects too, before the memory steps: every process maps its
	 * shared memory from them. */
	chkpt_tree_objects(plan);
}

/* The highest fd process_setup may close: the tree's fds are above. */
u64 chkpt_tree_close_to(struct chkpt_plan *plan)
{
	struct chkpt_plan_tree *t = chkpt_tree_of(plan);

	return t ? t->fd_base - CHKPT_TREE_CONTROL_FDS - 1 : ~0ULL;
}

/*
 * The root: every tree object, created once with fds.c's creators from the
 * first referring process's records (shared memory: an empty memfd of its
 * size), put at fd_base + 2*object + (end == 2) (inherited by every child),
 * before the memory steps map shared memory from there and the root's own
 * fds take theirs from there (plan: kind DUP).
 */
void chkpt_tree_objects(struct chkpt_plan *plan)
{
	struct chkpt_plan_tree *t = chkpt_tree_of(plan);
	struct chkpt_plan_file *files;
	u64 i, nr, min;

	if (!t || t->index != 0 || !t->nr_objects)
		return;
	files = (struct chkpt_plan_file *)((char *)plan + t->files_offset);
	nr = 2 * t->nr_objects;
	/* fds.c keeps each new description at report_min or above: here
	 * above every slot (tree_top), so that no temporary sits on a slot
	 * another object is placed at; restored for the process's own fds. */
	min = plan->report_min;
	plan->report_min = tree_top(t);
	chkpt_create_files(plan, files, nr);
	plan->report_min = min;
	for (i = 0; i < nr; i++) {
		if (files[i].kind == 0 || files[i].temp == ~0ULL)
			continue;
		move_fd(plan, (long)files[i].temp, t->fd_base + i, 0, CHKPT_STEP_TREE_PLACE_OBJECT);
		files[i].temp = ~0ULL;
	}
}

static void put_num(char *p, u64 v)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = digits[--n];
	*p = 0;
}

/* A zombie's end: the recorded exit status, or death by the recorded
 * signal (its default action, unblocked, without a core). */
static void __attribute__((noreturn)) die_as(u64 status)
{
	u64 sig = status & 0x7f, mask;
	u64 dfl[4] = { 0, 0, 0, 0 };
	u64 nocore[2] = { 0, 0 };

	if (sig == 0)
		for (;;)
			sys1(SYS_exit_group, (status >> 8) & 0xff);
	sys4(SYS_prlimit64, 0, RLIMIT_CORE, (u64)nocore, 0);
	sys4(SYS_rt_sigaction, sig, (u64)dfl, 0, 8);
	mask = 1ULL << (sig - 1);
	sys4(SYS_rt_sigprocmask, SIG_UNBLOCK, (u64)&mask, 0, 8);
	sys3(SYS_tgkill, sys1(SYS_getpid, 0), sys1(SYS_gettid, 0), sig);
	for (;;)
		sys1(SYS_exit_group, 128 + sig); /* a signal whose default is not to end the process */
}

/* In the forked child: its session and group, then its image (or a
 * zombie's end). Never returns. */
static void __attribute__((noreturn)) child(struct chkpt_plan *plan, struct chkpt_plan_tree *t,
					   struct chkpt_plan_tree_child *c, long parent)
{
	struct chkpt_plan_tree_child *all = children_of(plan, t);
	u64 base = t->fd_base;
	char index[24], fdbase[24];
	char *argv[6];
	char *envp[1] = { 0 };
	char one = 1;
	long err;

	/* Dies with its parent while the tree is restored (plan: pdeath_signal
	 * replaces this once every process is ready). */
	sys2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
	if (sys1(SYS_getppid, 0) != parent)
		sys1(SYS_exit_group, 1);
	/* setsid makes it its own group's leader already (and a session
	 * leader may not call setpgid: EPERM). */
	if (c->setsid)
		must(plan, sys1(SYS_setsid, 0), CHKPT_STEP_TREE_GROUP, c->index);
	else if (c->pgid == CHKPT_TREE_PGID_OWN)
		must(plan, sys2(SYS_setpgid, 0, 0), CHKPT_STEP_TREE_GROUP, c->index);
	else if (c->pgid != CHKPT_TREE_PGID_INHERIT)
		must(plan, sys2(SYS_setpgid, 0, all[c->pgid].pid), CHKPT_STEP_TREE_GROUP, c->index);
	if (c->state == CHKPT_TREE_ZOMBIE) {
		/* Ready at once, then gone: its parent waits for its end before
		 * any of the parent's image runs (chkpt_tree_fork). */
		sys1(SYS_close, CHKPT_TREE_READY_IN_FD(base));
		sys1(SYS_close, CHKPT_TREE_GO_OUT_FD(base));
		err = sys3(SYS_write, CHKPT_TREE_READY_FD(base), (u64)&one, 1);
		must(plan, err == 1 ? 0 : (err < 0 ? err : -EPIPE), CHKPT_STEP_TREE_ZOMBIE, c->index);
		sys3(SYS_close_range, base - CHKPT_TREE_CONTROL_FDS, ~0U, 0);
		die_as(c->exit_status);
	}
	put_num(index, c->index);
	put_num(fdbase, base);
	if (t->restorer_offset) {
		/* ckpt-restore itself, which needs no binfmt_misc entry:
		 * RESTORER /proc/self/fd/IMAGE_FD MARKER INDEX FD_BASE (/proc,
		 * which ckpt-restore needs anyway; /dev/fd is not everywhere). */
		char *restorer = (char *)plan + t->restorer_offset;
		char image[40] = "/proc/self/fd/";

		put_num(image + 14, CHKPT_TREE_IMAGE_FD(base));
		argv[0] = restorer;
		argv[1] = image;
		argv[2] = CHKPT_TREE_MARKER;
		argv[3] = index;
		argv[4] = fdbase;
		argv[5] = 0;
		err = sys3(SYS_execve, (u64)restorer, (u64)argv, (u64)envp);
	} else {
		argv[0] = CHKPT_TREE_MARKER;
		argv[1] = CHKPT_TREE_MARKER;
		argv[2] = index;
		argv[3] = fdbase;
		argv[4] = 0;
		err = sys6(SYS_execveat, CHKPT_TREE_IMAGE_FD(base), (u64)"", (u64)argv, (u64)envp, AT_EMPTY_PATH, 0);
	}
	chkpt_fail(plan, CHKPT_STEP_TREE_EXEC, c->index, err);
}

/*
 * Forks the direct children in tree order (each sets its session and
 * group, the parent sets the group too, as shells do, so that a later
 * sibling finds it), then waits until each zombie among them has exited
 * (leaving it unreaped: WNOWAIT) and takes the SIGCHLDs that caused back
 * (every signal is blocked here): a pending SIGCHLD the process had at dump
 * is in its image and queued again later.
 */
void chkpt_tree_fork(struct chkpt_plan *plan)
{
	struct chkpt_plan_tree *t = chkpt_tree_of(plan);
	struct chkpt_plan_tree_child *c;
	u64 i, zombies = 0;
	long self, pid;

	if (!t || !t->nr_children)
		return;
	c = children_of(plan, t);
	self = sys1(SYS_getpid, 0);
	for (i = 0; i < t->nr_children; i++) {
		if (c[i].pgid != CHKPT_TREE_PGID_INHERIT && c[i].pgid != CHKPT_TREE_PGID_OWN && c[i].pgid >= i)
			chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, c[i].index, -22);
		if (t->set_pids) {
			/* PID-namespace mode: the pid it had (struct clone_args,
			 * stack 0: the child goes on on a copy of this one). */
			u64 tid = c[i].want_pid;
			u64 args[11] = { 0, 0, 0, 0, SIGCHLD, 0, 0, 0, (u64)&tid, 1, 0 };

			pid = sys2(SYS_clone3, (u64)args, sizeof(args));
			if (pid < 0)
				chkpt_fail(plan, CHKPT_STEP_TREE_SET_PID, c[i].want_pid, pid);
		} else {
			pid = sys0(SYS_fork);
			if (pid < 0)
				chkpt_fail(plan, CHKPT_STEP_TREE_FORK, c[i].index, pid);
		}
		if (pid == 0)
			child(plan, t, &c[i], self);
		c[i].pid = (u64)pid;
		/* Fails harmlessly once the child has set it or exec'd. */
		if (c[i].pgid == CHKPT_TREE_PGID_OWN && !c[i].setsid)
			sys2(SYS_setpgid, (u64)pid, (u64)pid);
		else if (c[i].pgid != CHKPT_TREE_PGID_INHERIT && c[i].pgid != CHKPT_TREE_PGID_OWN)
			sys2(SYS_setpgid, (u64)pid, c[c[i].pgid].pid);
		zombies += c[i].state == CHKPT_TREE_ZOMBIE;
	}
	for (i = 0; zombies && i < t->nr_children; i++) {
		unsigned char info[128];
		long err;

		if (c[i].state != CHKPT_TREE_ZOMBIE)
			continue;
		do
			err = sys6(SYS_waitid, P_PID, c[i].pid, (u64)info, WEXITED | WNOWAIT, 0, 0);
		while (err == -EINTR);
		must(plan, err, CHKPT_STEP_TREE_ZOMBIE, c[i].index);
	}
	if (zombies) {
		u64 set = 1ULL << (SIGCHLD - 1);
		long long zero[2] = { 0, 0 };

		while (sys4(SYS_rt_sigtimedwait, (u64)&set, 0, (u64)zero, 8) == SIGCHLD)
			;
	}
}

/*
 * The barrier, the last thing before any thread of the image runs. Every
 * process but the root writes one byte into the ready pipe and closes its
 * end, then waits for the go pipe's end of file. The root closes its own
 * write end, reads to end of file (every process has written or died:
 * each held the write end) and needs exactly nr_procs - 1 bytes; else it
 * fails, and the others die of their parent's death (PR_SET_PDEATHSIG).
 * Then it closes the go pipe's write end, which releases all. Each
 * process then closes every tree fd, sets its recorded parent-death
 * signal and, if it was stopped, stops itself.
 */
void chkpt_tree_ready(struct chkpt_plan *plan)
{
	struct chkpt_plan_tree *t = chkpt_tree_of(plan);
	u64 base, got = 0;
	char buf[256];
	long n;

	if (!t)
		return;
	base = t->fd_base;
	if (t->index == 0) {
		sys1(SYS_close, CHKPT_TREE_READY_FD(base));
		for (;;) {
			n = sys3(SYS_read, CHKPT_TREE_READY_IN_FD(base), (u64)buf, sizeof(buf));
			if (n == -EINTR)
				continue;
			if (n < 0)
				chkpt_fail(plan, CHKPT_STEP_TREE_BARRIER, got, n);
			if (n == 0)
				break;
			got += (u64)n;
		}
		if (got + 1 != t->nr_procs)
			chkpt_fail(plan, CHKPT_STEP_TREE_BARRIER, got, -EPIPE);
		sys1(SYS_close, CHKPT_TREE_GO_OUT_FD(base));
	} else {
		char one = 1;

		n = sys3(SYS_write, CHKPT_TREE_READY_FD(base), (u64)&one, 1);
		if (n != 1)
			chkpt_fail(plan, CHKPT_STEP_TREE_BARRIER, 0, n < 0 ? n : -EPIPE);
		sys1(SYS_close, CHKPT_TREE_READY_FD(base));
		for (;;) {
			n = sys3(SYS_read, CHKPT_TREE_GO_FD(base), (u64)buf, sizeof(buf));
			if (n == -EINTR)
				continue;
			if (n == 0)
				break;
			/* The root's go pipe carries no byte: anything else is
			 * a broken barrier. */
			chkpt_fail(plan, CHKPT_STEP_TREE_BARRIER, 0, n < 0 ? n : -EPIPE);
		}
	}
	sys3(SYS_close_range, base - CHKPT_TREE_CONTROL_FDS, ~0U, 0);
	must(plan, sys2(SYS_prctl, PR_SET_PDEATHSIG, t->pdeath_signal), CHKPT_STEP_TREE_PDEATH, t->pdeath_signal);
	if (t->stopped)
		must(plan, sys3(SYS_tgkill, sys1(SYS_getpid, 0), sys1(SYS_gettid, 0), SIGSTOP), CHKPT_STEP_TREE_STOP, 0);
}
