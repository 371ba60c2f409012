/* signals [--wait-at K,...] STEPS [SLEEP_US]: SIGUSR1 handler (SA_SIGINFO|SA_ONSTACK) that
 * must run on the alternate stack, SIGUSR2 handler (SA_RESTART), SIGPIPE
 * ignored, SIGHUP and SIGWINCH blocked. Every step raises both signals and
 * checks that handlers, mask and alternate stack are all still in place.
 * SIGRTMIN (sent by tests from outside) is counted. Prints "handler usr1
 * 0x..", "handler usr2 0x..", "altstack SP SIZE", "blocked MASK",
 * "ready", "step N", "rt_count N", "result HASH". */
#include "common.h"
#include <signal.h>
#include <string.h>

#define ALT_SIZE (64 * 1024)
static char altstack[ALT_SIZE] __attribute__((aligned(16)));
static volatile long usr1, usr2, off_stack, rt_count;

/* Counts queued real-time signals sent from outside (tests check none is
 * lost while the process is being dumped). */
static void on_rt(int sig)
{
	(void)sig;
	rt_count++;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char here;
	if (&here < altstack || &here >= altstack + ALT_SIZE)
		off_stack++;
	if (sig == SIGUSR1 && si->si_signo == SIGUSR1)
		usr1++;
}

static void on_usr2(int sig)
{
	if (sig == SIGUSR2)
		usr2++;
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	long steps = arg_or(argc, argv, 1, 1000), us = arg_or(argc, argv, 2, 1000);
	stack_t ss = { .ss_sp = altstack, .ss_size = ALT_SIZE, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL))
		FAIL("sigaltstack");
	struct sigaction a1 = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	sigemptyset(&a1.sa_mask);
	sigaddset(&a1.sa_mask, SIGUSR2);
	struct sigaction a2 = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	sigemptyset(&a2.sa_mask);
	struct sigaction rt = { .sa_handler = on_rt, .sa_flags = SA_RESTART };
	sigemptyset(&rt.sa_mask);
	if (sigaction(SIGRTMIN, &rt, NULL))
		FAIL("sigaction SIGRTMIN");
	struct sigaction ign = { .sa_handler = SIG_IGN };
	if (sigaction(SIGUSR1, &a1, NULL) || sigaction(SIGUSR2, &a2, NULL) || sigaction(SIGPIPE, &ign, NULL))
		FAIL("sigaction");
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, NULL);
	printf("handler usr1 %p\nhandler usr2 %p\n", (void *)on_usr1, (void *)on_usr2);
	printf("altstack %p %d\n", (void *)altstack, ALT_SIZE);
	printf("blocked 0x%llx\n", (1ULL << (SIGHUP - 1)) | (1ULL << (SIGWINCH - 1)));
	printf("ready\n");
	uint64_t sum = 0;
	for (long s = 0; s < steps; s++) {
		wait_point(s);
		raise(SIGUSR1);
		raise(SIGUSR2);
		if (usr1 != s + 1 || usr2 != s + 1 || off_stack)
			FAIL("step %ld: handlers ran %ld/%ld times, %ld off the alternate stack", s, usr1, usr2, off_stack);
		struct sigaction q;
		sigaction(SIGUSR1, NULL, &q);
		if (q.sa_sigaction != on_usr1 || !(q.sa_flags & SA_ONSTACK) || !(q.sa_flags & SA_SIGINFO) ||
		    !sigismember(&q.sa_mask, SIGUSR2))
			FAIL("step %ld: SIGUSR1 action changed", s);
		sigaction(SIGUSR2, NULL, &q);
		if (q.sa_handler != on_usr2 || !(q.sa_flags & SA_RESTART))
			FAIL("step %ld: SIGUSR2 action changed", s);
		sigaction(SIGPIPE, NULL, &q);
		if (q.sa_handler != SIG_IGN)
			FAIL("step %ld: SIGPIPE no longer ignored", s);
		sigset_t cur;
		sigprocmask(SIG_BLOCK, NULL, &cur);
		if (!sigismember(&cur, SIGHUP) || !sigismember(&cur, SIGWINCH) || sigismember(&cur, SIGUSR1))
			FAIL("step %ld: signal mask changed", s);
		stack_t now;
		sigaltstack(NULL, &now);
		if (now.ss_sp != altstack || now.ss_size != ALT_SIZE || now.ss_flags != 0)
			FAIL("step %ld: alternate stack changed", s);
		sum = mix64(sum, (uint64_t)usr1 * 3 + usr2);
		if (s % 100 == 0)
			printf("step %ld\n", s);
		sleep_us(us);
	}
	printf("rt_count %ld\n", rt_count);
	printf("result %016llx\n", (unsigned long long)sum);
	return 0;
}
