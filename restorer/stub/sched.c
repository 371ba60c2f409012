// SPDX-License-Identifier: GPL-2.0
/*
 * A thread's scheduling and the process's oom_score_adj (FORMAT.md SCHED,
 * PROCESS_ATTRS), applied within what the caller may set, as rlimits are:
 * the kernel refuses a real-time policy, a nice value below the caller's
 * or a real-time I/O class to a caller without the privilege (or the
 * RLIMIT_NICE / RLIMIT_RTPRIO room) for it, and the thread then keeps the
 * caller's, at a nice value no better than the caller's own; an affinity
 * naming no CPU this machine has keeps the caller's too. Any other
 * failure fails the restore at step `sched`.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_sched_setaffinity 203
#define SYS_ioprio_set 251
#define SYS_sched_setattr 314
#define SYS_sched_getattr 315
#define IOPRIO_WHO_PROCESS 1
#define EPERM 1
#define EACCES 13
#define EINVAL 22
#define ENOSYS 38
#define O_WRONLY 1
#define O_CLOEXEC 02000000
#define SCHED_FIFO 1
#define SCHED_RR 2

void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));

struct sched_attr {
	unsigned int size, policy;
	unsigned long long flags;
	int nice;
	unsigned int priority;
	unsigned long long runtime, deadline, period;
};

static int refused(long err)
{
	return err == -EPERM || err == -EACCES;
}

void chkpt_apply_sched(struct chkpt_plan *plan, struct chkpt_plan_thread *t, u64 index)
{
	struct sched_attr a = { 0 }, now = { 0 };
	long err;

	if (t->sched_policy == ~0ULL)
		return;
	a.size = sizeof(a);
	a.policy = (unsigned int)t->sched_policy;
	a.flags = t->sched_flags;
	a.nice = (int)t->sched_nice;
	a.priority = (unsigned int)t->sched_priority;
	err = sys3(SYS_sched_setattr, 0, (u64)&a, 0);
	if (refused(err) && a.policy != SCHED_FIFO && a.policy != SCHED_RR) {
		/* A nice value better than the caller's: the caller's. */
		err = sys4(SYS_sched_getattr, 0, (u64)&now, sizeof(now), 0);
		if (err >= 0) {
			a.nice = a.nice < now.nice ? now.nice : a.nice;
			err = sys3(SYS_sched_setattr, 0, (u64)&a, 0);
		}
	}
	if (err < 0 && !refused(err))
		chkpt_fail(plan, CHKPT_STEP_SCHED, index, err);
	err = sys3(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, t->ioprio);
	/* A kernel without the block layer has no I/O priorities. */
	if (err < 0 && !refused(err) && err != -ENOSYS)
		chkpt_fail(plan, CHKPT_STEP_SCHED, index, err);
	if (t->affinity_set) {
		err = sys3(SYS_sched_setaffinity, 0, sizeof(t->affinity), (u64)t->affinity);
		if (err < 0 && err != -EINVAL)
			chkpt_fail(plan, CHKPT_STEP_SCHED, index, err);
	}
}

/* /proc/self/oom_score_adj: a value below the caller's needs
 * CAP_SYS_RESOURCE (EACCES keeps the caller's); without /proc it is kept. */
void chkpt_apply_oom(struct chkpt_plan *plan)
{
	static const char path[] = "/proc/self/oom_score_adj";
	char text[8];
	long v, fd, err, n = 0, i;
	char digits[8];

	if (plan->oom_score_adj == ~0ULL)
		return;
	v = (long)plan->oom_score_adj - 1000;
	if (v < 0) {
		text[n++] = '-';
		v = -v;
	}
	i = 0;
	do
		digits[i++] = (char)('0' + v % 10);
	while ((v /= 10) && i < 7);
	while (i)
		text[n++] = digits[--i];
	fd = sys3(SYS_open, (u64)path, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	err = sys3(SYS_write, fd, (u64)text, n);
	sys1(SYS_close, fd);
	if (err < 0 && !refused(err))
		chkpt_fail(plan, CHKPT_STEP_SCHED, plan->oom_score_adj, err);
}
