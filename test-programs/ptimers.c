/* ptimers [--wait-at 1]: interval timers and POSIX timers across a
 * checkpoint.
 *
 * Before wait point 1 (dumped there): ITIMER_REAL 30 s one-shot,
 * ITIMER_VIRTUAL 30 s every 1 s, ITIMER_PROF 10 ms every 10 ms (SIGPROF
 * counted); POSIX timers A (CLOCK_MONOTONIC, SIGRTMIN+1, value 111, 30 s
 * every 2 s), B (CLOCK_REALTIME, SIGEV_NONE, 30 s), a timer created and
 * deleted (a gap in the ids), C (CLOCK_MONOTONIC, SIGEV_THREAD_ID to the
 * worker thread, SIGRTMIN+3, value 444, 30 s every 5 ms). Every timer
 * signal but SIGPROF is blocked in both threads.
 *
 * After it: every timer is still armed with its interval and at most the
 * time it had left before the wait point (none of them can expire in 30 s
 * of a test); the ids are the same and the gap's id is still invalid; A
 * rearmed to 1 ms delivers SIGRTMIN+1 with its value and id; C rearmed to
 * 1 ms every 5 ms delivers three SIGRTMIN+3 to the worker, each with its
 * value; ITIMER_PROF fires three times while the program burns CPU.
 * Prints one line per check and "result OK"; exits 1 with a FAIL line if
 * any is off. Nothing depends on a timer being slow: the only short
 * timers are the ones the program waits for. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#define S 1000000000LL

static volatile int prof_count;
static timer_t a, b, gap, c;
static int sig_a, sig_c;
static volatile int go, worker_done;
static int worker_ok;
static volatile int worker_tid;

static void fail(const char *what)
{
	printf("FAIL: %s\n", what);
	exit(1);
}

static void on_prof(int sig)
{
	(void)sig;
	prof_count++;
}

static long long ns(struct timespec t)
{
	return t.tv_sec * S + t.tv_nsec;
}

static long long tv_ns(struct timeval t)
{
	return t.tv_sec * S + t.tv_usec * 1000LL;
}

static int timer_number(timer_t t)
{
	return (int)(intptr_t)t;
}

static siginfo_t wait_signal(int sig)
{
	sigset_t s;
	siginfo_t si;

	sigemptyset(&s);
	sigaddset(&s, sig);
	while (sigwaitinfo(&s, &si) < 0)
		if (errno != EINTR)
			fail("sigwaitinfo");
	return si;
}

static void *worker(void *arg)
{
	(void)arg;
	__atomic_store_n(&worker_tid, (int)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &worker_tid, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
	while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &go, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0);
	worker_ok = 1;
	for (int i = 0; i < 3; i++) {
		siginfo_t si = wait_signal(sig_c);
		if (si.si_code != SI_TIMER || si.si_value.sival_int != 444 || si.si_timerid != timer_number(c))
			worker_ok = 0;
	}
	return NULL;
}

static timer_t make(clockid_t clock, int notify, int sig, int value, pid_t tid)
{
	struct sigevent sev = { 0 };
	timer_t t;

	sev.sigev_notify = notify;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_int = value;
	if (notify == SIGEV_THREAD_ID)
		sev._sigev_un._tid = tid;
	if (timer_create(clock, &sev, &t))
		fail("timer_create");
	return t;
}

static void arm(timer_t t, long long first, long long every)
{
	struct itimerspec its = { { every / S, every % S }, { first / S, first % S } };

	if (timer_settime(t, 0, &its, NULL))
		fail("timer_settime");
}

/* The timer is armed, with `interval`, and at most `before` left. */
static void still_armed(const char *name, timer_t t, long long interval, long long before)
{
	struct itimerspec its;

	if (timer_gettime(t, &its))
		fail(name);
	long long left = ns(its.it_value);
	printf("posix %s id %d armed %s interval %lld ms\n", name, timer_number(t),
	       left > 0 && left <= before ? "ok" : "WRONG", ns(its.it_interval) / 1000000);
	if (left <= 0 || left > before || ns(its.it_interval) != interval)
		fail(name);
}

/* As still_armed for an itimer; the kernel adds one tick (at most 10 ms)
 * to what a CPU-time itimer (VIRTUAL, PROF) is set to. */
static void itimer_armed(const char *name, int which, long long interval, long long before)
{
	struct itimerval v;

	if (which != ITIMER_REAL)
		before += S / 100;
	getitimer(which, &v);
	long long left = tv_ns(v.it_value);
	if (getenv("PTIMERS_DEBUG"))
		printf("debug %s left %lld\n", name, left);
	printf("itimer %s armed %s interval %lld ms\n", name, left > 0 && left <= before ? "ok" : "WRONG",
	       tv_ns(v.it_interval) / 1000000);
	if (left <= 0 || left > before || tv_ns(v.it_interval) != interval)
		fail(name);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	sig_a = SIGRTMIN + 1;
	sig_c = SIGRTMIN + 3;
	sigset_t blocked;
	sigemptyset(&blocked);
	sigaddset(&blocked, sig_a);
	sigaddset(&blocked, sig_c);
	sigaddset(&blocked, SIGALRM);
	sigaddset(&blocked, SIGVTALRM);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	signal(SIGPROF, on_prof);

	pthread_t w;
	if (pthread_create(&w, NULL, worker, NULL))
		fail("pthread_create");
	while (!__atomic_load_n(&worker_tid, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &worker_tid, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0);

	struct itimerval real = { { 0, 0 }, { 30, 0 } }, virt = { { 1, 0 }, { 30, 0 } }, prof = { { 0, 10000 }, { 0, 10000 } };
	setitimer(ITIMER_REAL, &real, NULL);
	setitimer(ITIMER_VIRTUAL, &virt, NULL);
	a = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, sig_a, 111, 0);
	b = make(CLOCK_REALTIME, SIGEV_NONE, 0, 0, 0);
	gap = make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0);
	timer_delete(gap);
	c = make(CLOCK_MONOTONIC, SIGEV_THREAD_ID, sig_c, 444, worker_tid);
	arm(a, 30 * S, 2 * S);
	arm(b, 30 * S, 0);
	arm(c, 30 * S, 5000000);
	printf("ready\n");
	printf("timer ids %d %d (%d deleted) %d\n", timer_number(a), timer_number(b), timer_number(gap), timer_number(c));

	wait_point(1);

	/* Every timer as it was: armed, its interval, no more time left than
	 * at the wait point (30 s minus what passed). */
	itimer_armed("real", ITIMER_REAL, 0, 30 * S);
	itimer_armed("virtual", ITIMER_VIRTUAL, S, 30 * S);
	still_armed("A", a, 2 * S, 30 * S);
	still_armed("B", b, 0, 30 * S);
	still_armed("C", c, 5000000, 30 * S);
	struct itimerspec its;
	printf("deleted id %d %s\n", timer_number(gap), timer_gettime(gap, &its) < 0 && errno == EINVAL ? "invalid" : "VALID");
	if (timer_gettime(gap, &its) == 0)
		fail("the deleted timer id exists");

	/* ITIMER_PROF: three expirations while the program runs. */
	setitimer(ITIMER_PROF, &prof, NULL);
	struct timespec start, now;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
	while (prof_count < 3) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
		if (ns(now) - ns(start) > 20 * S)
			fail("ITIMER_PROF did not fire three times in 20 s of CPU time");
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_PROF, &off, NULL);
	printf("itimer prof fired 3 times\n");

	/* A: rearmed, it fires with its value and id. */
	arm(a, 1000000, 0);
	siginfo_t si = wait_signal(sig_a);
	printf("posix A fired code %s value %d id %s\n", si.si_code == SI_TIMER ? "SI_TIMER" : "WRONG", si.si_value.sival_int,
	       si.si_timerid == timer_number(a) ? "same" : "WRONG");
	if (si.si_code != SI_TIMER || si.si_value.sival_int != 111 || si.si_timerid != timer_number(a))
		fail("timer A's signal");

	/* C: every 5 ms to the worker, which waits for three. */
	arm(c, 1000000, 5000000);
	__atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &go, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
	pthread_join(w, NULL);
	arm(c, 0, 0);
	printf("posix C fired 3 times in the worker: %s\n", worker_ok ? "ok" : "WRONG");
	if (!worker_ok)
		fail("timer C's signals");

	setitimer(ITIMER_REAL, &off, NULL);
	setitimer(ITIMER_VIRTUAL, &off, NULL);
	printf("result OK\n");
	return 0;
}
