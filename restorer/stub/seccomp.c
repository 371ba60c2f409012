// SPDX-License-Identifier: GPL-2.0
/*
 * The process's seccomp filters (FORMAT.md SECCOMP_FILTERS), installed
 * oldest first once every other step is done, on every thread at once
 * (SECCOMP_FILTER_FLAG_TSYNC; no thread has a filter yet). The restorer
 * checked that the caller may: the image's no_new_privs is set by then,
 * or the caller has CAP_SYS_ADMIN. What the stub still does afterwards
 * goes through the filters: closing its failure fd, waking the threads
 * (futex), unmapping itself and rt_sigreturn.
 */
#include "plan.h"
#include "syscall.h"

#define SYS_seccomp 317
#define SECCOMP_SET_MODE_FILTER 1
#define SECCOMP_FILTER_FLAG_TSYNC 1

void chkpt_fail(struct chkpt_plan *plan, u64 step, u64 detail, long err) __attribute__((noreturn));

struct sock_fprog {
	unsigned short len;
	const void *filter;
};

void chkpt_install_seccomp(struct chkpt_plan *plan)
{
	const struct chkpt_plan_seccomp *f = (const struct chkpt_plan_seccomp *)((const char *)plan + plan->seccomp_offset);
	u64 i;
	long err;

	for (i = 0; i < plan->nr_seccomp; i++) {
		struct sock_fprog prog = { (unsigned short)f[i].len, (const char *)plan + f[i].code_offset };

		if (f[i].len == 0 || f[i].len > 4096)
			chkpt_fail(plan, CHKPT_STEP_PLAN_INVALID, i, -22);
		err = sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f[i].flags | SECCOMP_FILTER_FLAG_TSYNC, (u64)&prog);
		/* TSYNC: a positive value is a thread that could not follow. */
		if (err != 0)
			chkpt_fail(plan, CHKPT_STEP_SECCOMP, i, err < 0 ? err : -16 /* EBUSY */);
	}
}
