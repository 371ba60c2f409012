// SPDX-License-Identifier: GPL-2.0
/*
 * Pending signals: queued again inside the restored process, before any
 * of its threads runs and while each has every signal blocked, so none is
 * delivered early and each is delivered later with its recorded siginfo.
 *
 * The kernel lets a process queue a siginfo with any si_code (SI_USER,
 * SI_TKILL, kernel codes such as CLD_EXITED) only to itself: the check
 * in do_rt_sigqueueinfo / do_rt_tgsigqueueinfo compares the target with
 * the caller's own thread id. So the process queue's signals are queued
 * by the first thread, which is the thread-group leader (its tid is the
 * pid), with rt_sigqueueinfo(getpid()); each thread's own signals by that
 * thread with rt_tgsigqueueinfo(getpid(), gettid()). Within a queue the
 * plan's order is the image's, which is the dumped queue's order; the
 * kernel delivers queued instances of one real-time signal in the order
 * they were queued.
 */
#include "signals.h"

typedef unsigned long long u64;

#define SYS_getpid 39
#define SYS_gettid 186
#define SYS_rt_sigqueueinfo 129
#define SYS_rt_tgsigqueueinfo 297
#define SIGINFO_USER_WORDS 16 /* siginfo_t: 128 bytes; the tail the kernel does not keep is zero */

static long sys0(long nr)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
	return ret;
}

static long sys4(long nr, u64 a, u64 b, u64 c, u64 d)
{
	long ret;
	register u64 r10 __asm__("r10") = d;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
}

long chkpt_queue_signals(const struct chkpt_plan *plan, u64 index, u64 *signo)
{
	const struct chkpt_plan_signal *sigs =
		(const struct chkpt_plan_signal *)((const char *)plan + plan->signals_offset);
	u64 pid = (u64)sys0(SYS_getpid), tid = (u64)sys0(SYS_gettid);
	u64 i, k;

	for (i = 0; i < plan->nr_signals; i++) {
		const struct chkpt_plan_signal *s = &sigs[i];
		volatile u64 info[SIGINFO_USER_WORDS];
		long err;

		if (s->thread == CHKPT_SIGNAL_PROCESS ? index != 0 : s->thread != index)
			continue;
		for (k = 0; k < SIGINFO_USER_WORDS; k++)
			info[k] = k < CHKPT_SIGINFO_WORDS ? s->info[k] : 0;
		if (s->thread == CHKPT_SIGNAL_PROCESS)
			err = sys4(SYS_rt_sigqueueinfo, pid, s->signo, (u64)info, 0);
		else
			err = sys4(SYS_rt_tgsigqueueinfo, pid, tid, s->signo, (u64)info);
		if (err < 0) {
			*signo = s->signo;
			return err;
		}
	}
	return 0;
}
