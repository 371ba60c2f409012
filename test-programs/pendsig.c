/* pendsig [--wait-at 1]: signals left pending across a checkpoint.
 *
 * Two threads block SIGUSR1, SIGUSR2, SIGCHLD, SIGRTMIN+2 and SIGRTMIN+5.
 * Then, while blocked: a child exits with status 7 (SIGCHLD, process
 * queue), kill(SIGUSR1) and sigqueue(SIGRTMIN+2) with values 101, 102, 103
 * (process queue), pthread_sigqueue(SIGRTMIN+5, 201 and 202) and
 * pthread_kill(SIGUSR2) to the worker, pthread_sigqueue(SIGRTMIN+5, 301)
 * and pthread_kill(SIGUSR2) to the main thread (their own queues). At wait
 * point 1 (dumped there) it prints what each thread has pending, then
 * each thread unblocks in turn (main first, then the worker) and every
 * delivery is logged with its siginfo: the standard signals once, the
 * real-time ones once per sigqueue with their values in order, the
 * thread-directed ones in the thread they were sent to, the senders' pid
 * and uid as at the start. Prints "pending main ...", "pending worker ...",
 * one "got ..." line per delivery, and "result OK"; exits 1 with a FAIL
 * line when any of it is off. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <linux/futex.h>

#define MAX_LOG 32

struct entry {
	int who, signo, code, value, pid_ok, uid_ok, status;
};

static struct entry log_[MAX_LOG];
static volatile int n_log;
static __thread int who; /* 0 main, 1 worker */
static pid_t orig_pid, child_pid;
static uid_t orig_uid;
static volatile int worker_ready, go;
static char worker_pending[128];

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (n_log == MAX_LOG)
		return;
	struct entry *e = &log_[n_log++];
	e->who = who;
	e->signo = sig;
	e->code = si->si_code;
	e->value = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
	e->pid_ok = si->si_pid == (sig == SIGCHLD ? child_pid : orig_pid);
	e->uid_ok = si->si_uid == orig_uid;
	e->status = sig == SIGCHLD ? si->si_status : -1;
}

static void futex_wait(volatile int *w, int v)
{
	while (*w == v)
		syscall(SYS_futex, w, FUTEX_WAIT, v, NULL, NULL, 0);
}

static void futex_wake(volatile int *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void pending_set(char *out, size_t len)
{
	sigset_t s;
	size_t n = 0;

	sigpending(&s);
	out[0] = 0;
	for (int i = 1; i <= 64 && n + 4 < len; i++)
		if (sigismember(&s, i))
			n += snprintf(out + n, len - n, " %d", i);
}

static sigset_t blocked;

static void *worker(void *arg)
{
	(void)arg;
	who = 1;
	worker_ready = 1;
	futex_wake(&worker_ready);
	futex_wait(&go, 0);
	pending_set(worker_pending, sizeof(worker_pending));
	pthread_sigmask(SIG_UNBLOCK, &blocked, NULL);
	return NULL;
}

static void fail(const char *what)
{
	printf("FAIL: %s\n", what);
	exit(1);
}

int main(int argc, char **argv)
{
	setup_common(&argc, &argv);
	int rt2 = SIGRTMIN + 2, rt5 = SIGRTMIN + 5;
	orig_pid = getpid();
	orig_uid = getuid();

	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	/* Every handler runs with every signal blocked, so deliveries do not
	 * nest and the log is in delivery order. */
	sigfillset(&sa.sa_mask);
	int sigs[] = { SIGUSR1, SIGUSR2, SIGCHLD, rt2, rt5 };
	sigemptyset(&blocked);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&blocked, sigs[i]);
		if (sigaction(sigs[i], &sa, NULL))
			fail("sigaction");
	}
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);

	pthread_t w;
	if (pthread_create(&w, NULL, worker, NULL))
		fail("pthread_create");
	futex_wait(&worker_ready, 0);

	child_pid = fork();
	if (child_pid == 0)
		_exit(7);
	if (child_pid < 0 || waitpid(child_pid, NULL, 0) != child_pid)
		fail("fork/waitpid");
	kill(getpid(), SIGUSR1);
	for (int v = 101; v <= 103; v++)
		if (sigqueue(getpid(), rt2, (union sigval){ .sival_int = v }))
			fail("sigqueue");
	for (int v = 201; v <= 202; v++)
		if (pthread_sigqueue(w, rt5, (union sigval){ .sival_int = v }))
			fail("pthread_sigqueue worker");
	pthread_kill(w, SIGUSR2);
	if (pthread_sigqueue(pthread_self(), rt5, (union sigval){ .sival_int = 301 }))
		fail("pthread_sigqueue main");
	pthread_kill(pthread_self(), SIGUSR2);
	printf("ready\n");

	wait_point(1);

	char main_pending[128];
	pending_set(main_pending, sizeof(main_pending));
	printf("pending main%s\n", main_pending);
	pthread_sigmask(SIG_UNBLOCK, &blocked, NULL);
	go = 1;
	futex_wake(&go);
	pthread_join(w, NULL);
	printf("pending worker%s\n", worker_pending);

	/* Own queue first (lowest number first), then the process queue. */
	const struct entry want[] = {
		{ 0, SIGUSR2, SI_TKILL, -1, 1, 1, -1 },
		{ 0, rt5, SI_QUEUE, 301, 1, 1, -1 },
		{ 0, SIGUSR1, SI_USER, -1, 1, 1, -1 },
		{ 0, SIGCHLD, CLD_EXITED, -1, 1, 1, 7 },
		{ 0, rt2, SI_QUEUE, 101, 1, 1, -1 },
		{ 0, rt2, SI_QUEUE, 102, 1, 1, -1 },
		{ 0, rt2, SI_QUEUE, 103, 1, 1, -1 },
		{ 1, SIGUSR2, SI_TKILL, -1, 1, 1, -1 },
		{ 1, rt5, SI_QUEUE, 201, 1, 1, -1 },
		{ 1, rt5, SI_QUEUE, 202, 1, 1, -1 },
	};
	int n_want = sizeof(want) / sizeof(want[0]), ok = n_log == n_want;
	for (int i = 0; i < n_log; i++) {
		const struct entry *e = &log_[i];
		printf("got %s %d code %d value %d pid %s uid %s status %d\n", e->who ? "worker" : "main", e->signo, e->code,
		       e->value, e->pid_ok ? "ok" : "WRONG", e->uid_ok ? "ok" : "WRONG", e->status);
		if (i < n_want && memcmp(e, &want[i], sizeof(*e)))
			ok = 0;
	}
	char left[128];
	pending_set(left, sizeof(left));
	if (left[0])
		printf("still pending%s\n", left);
	if (!ok || left[0])
		fail("deliveries differ from what was queued");
	printf("result OK\n");
	return 0;
}
