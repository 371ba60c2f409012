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
#include "syscall.h"
#include "signals.h"


#define SYS_getpid 39
#define SYS_gettid 186
#define SYS_rt_sigqueueinfo 129
#define SYS_rt_tgsigqueueinfo 297
#define SYS_setitimer 38
#define SYS_prctl 157
#define SYS_timer_create 222
#define SYS_timer_settime 223
#define SYS_timer_delete 226
#define SYS_membarrier 324
#define PR_TIMER_CREATE_RESTORE_IDS 77 /* Linux 6.15+ */
#define SIGEV_THREAD_ID 4
#define NSEC 1000000000ULL
/* Without PR_TIMER_CREATE_RESTORE_IDS, ids come one after the other: the
 * stub creates and deletes timers up to the id it needs, but not more than
 * this many in all, so a sparse id does not keep the process busy for
 * minutes (FORMAT.md, TIMERS). */
#define MAX_FILLER_TIMERS (1ULL << 20)
#define SIGINFO_USER_WORDS 16 /* siginfo_t: 128 bytes; the tail the kernel does not keep is zero */

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

/* struct sigevent (64 bytes) and struct itimerspec / itimerval. */
struct sigevent64 {
	u64 value;
	int signo, notify;
	int tid;
	int pad[11];
};

struct timespec64 {
	u64 sec, nsec;
};

static struct timespec64 ts(u64 ns)
{
	struct timespec64 t = { ns / NSEC, ns % NSEC };
	return t;
}

/* A timeval, never rounding a non-zero time down to zero (which would
 * disarm the timer or make it one-shot). */
static struct timespec64 tv(u64 ns)
{
	struct timespec64 t = { ns / NSEC, (ns % NSEC + 999) / 1000 };

	if (t.nsec == 1000000) {
		t.sec++;
		t.nsec = 0;
	}
	return t;
}

/* timer_create under id `want`, with the prctl where the kernel has it
 * (`explicit`), else by creating timers until the kernel hands out `want`
 * and deleting the ones before it. */
static long create_with_id(u64 clock, struct sigevent64 *sev, int want, int explicit, u64 *fillers)
{
	int id = want;
	long err;

	if (explicit) {
		err = sys3(SYS_timer_create, clock, (u64)sev, (u64)&id);
		return err < 0 ? err : id == want ? 0 : -17;
	}
	for (;;) {
		err = sys3(SYS_timer_create, clock, (u64)sev, (u64)&id);
		if (err < 0)
			return err;
		if (id == want)
			return 0;
		sys1(SYS_timer_delete, (u64)id);
		if (id > want || ++*fillers > MAX_FILLER_TIMERS)
			return -17; /* EEXIST: the id was handed out before */
	}
}

long chkpt_create_timers(const struct chkpt_plan *plan, u64 *step, u64 *detail)
{
	const struct chkpt_plan_timer *timers =
		(const struct chkpt_plan_timer *)((const char *)plan + plan->timers_offset);
	int explicit = 0, posix = 0;
	u64 i, fillers = 0;
	long err = 0;

	for (i = 0; i < plan->nr_timers; i++)
		posix |= timers[i].kind == CHKPT_TIMER_POSIX;
	if (posix)
		explicit = sys2(SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS, 1) == 0;
	for (i = 0; i < plan->nr_timers && err >= 0; i++) {
		const struct chkpt_plan_timer *t = &timers[i];

		*detail = t->kind == CHKPT_TIMER_POSIX ? t->id : t->kind;
		if (t->kind != CHKPT_TIMER_POSIX) {
			struct timespec64 itv[2] = { tv(t->interval_ns), tv(t->remaining_ns) };

			*step = CHKPT_STEP_SET_TIMER;
			err = sys3(SYS_setitimer, t->kind, (u64)itv, 0);
			continue;
		}
		struct sigevent64 sev = { t->value, (int)t->signo, (int)t->notify, 0, { 0 } };
		const struct chkpt_plan_thread *th = &plan->threads[t->thread < plan->nr_threads ? t->thread : 0];

		if (t->notify == SIGEV_THREAD_ID)
			sev.tid = (int)th->new_tid;
		*step = CHKPT_STEP_CREATE_TIMER;
		err = create_with_id(t->clock, &sev, (int)t->id, explicit, &fillers);
		if (err < 0 || !t->remaining_ns)
			continue;
		struct timespec64 its[2] = { ts(t->interval_ns), ts(t->remaining_ns) };

		*step = CHKPT_STEP_SET_TIMER;
		err = sys4(SYS_timer_settime, t->id, 0, (u64)its, 0);
	}
	if (explicit)
		sys2(SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS, 0);
	return err < 0 ? err : 0;
}

long chkpt_register_membarrier(const struct chkpt_plan *plan, u64 *cmd)
{
	u64 bit;
	long err;

	for (bit = 1; bit && bit <= plan->membarrier; bit <<= 1) {
		if (!(plan->membarrier & bit))
			continue;
		err = sys3(SYS_membarrier, bit, 0, 0);
		if (err < 0) {
			*cmd = bit;
			return err;
		}
	}
	return 0;
}
